// The kinds of failure: which errors of PostgreSQL and Redis retrying cannot cure, and the fix
// the log line names for them.
#include "pgcqrs/sidecar/failure.hpp"

#include <pqxx/except>

#include "pgcqrs/sidecar/redis/sync_client.hpp"

namespace pgcqrs::sidecar {

Failure::Failure(Server server, ErrorKind kind, std::string_view message)
    : std::runtime_error(one_line(message)), server(server), kind(kind) {}

Failure failure_of(const redis::RedisError& e) {
  ErrorKind kind = redis_error_kind(e.code, e.handshake);
  return Failure(Server::redis, kind, with_fix(e.what(), kind == ErrorKind::permanent ? redis_fix(e.code) : ""));
}

Failure failure_of(const pqxx::sql_error& e) {
  ErrorKind kind = sqlstate_kind(e.sqlstate());
  std::string message = "PostgreSQL: " + one_line(e.what());
  if (!e.sqlstate().empty()) message += " (SQLSTATE " + e.sqlstate() + ")";
  return Failure(Server::postgresql, kind, with_fix(message, kind == ErrorKind::permanent ? sqlstate_fix(e.sqlstate()) : ""));
}

std::string one_line(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  bool pending_space = false;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '\n' || c == '\r') {
      while (!out.empty() && (out.back() == ' ' || out.back() == '\t')) out.pop_back();
      while (i + 1 < text.size() && (text[i + 1] == ' ' || text[i + 1] == '\t')) ++i;
      pending_space = !out.empty();
      continue;
    }
    if (pending_space) {
      out.push_back(' ');
      pending_space = false;
    }
    out.push_back(c);
  }
  while (!out.empty() && (out.back() == ' ' || out.back() == '\t')) out.pop_back();
  return out;
}

std::string with_fix(std::string message, std::string_view fix) {
  if (fix.empty()) return message;
  while (!message.empty() && (message.back() == '.' || message.back() == ' ')) message.pop_back();
  return message + ": " + std::string(fix);
}

ErrorKind sqlstate_kind(std::string_view s) {
  if (s.size() != 5) return ErrorKind::transient;
  std::string_view cls = s.substr(0, 2);
  if (cls == "28" || s == "3D000" || s == "42501") return ErrorKind::permanent;
  if (s == "55000" || s == "53400" || s == "58P01" || s == "0A000") return ErrorKind::permanent;
  return ErrorKind::transient;
}

std::string sqlstate_fix(std::string_view s) {
  if (s == "28P01")
    return "check the password of the --pg role (PGPASSWORD, ~/.pgpass or the connection string)";
  if (s.substr(0, 2) == "28")
    return "check the user of --pg: the role must exist and a pg_hba.conf line must admit it to the database "
           "(docs/security.md)";
  if (s == "3D000") return "check dbname in --pg: the database where CREATE EXTENSION pgcqrs was run";
  if (s == "42501")
    return "grant the --pg role what docs/security.md lists (REPLICATION, CONNECT, SELECT on the write model)";
  if (s == "55000" || s == "0A000")
    return "check the server settings the sidecar needs (docs/operations.md, Deploy: wal_level = logical, ...)";
  if (s == "53400") return "free a replication slot or raise max_replication_slots";
  if (s == "58P01") return "install the pgcqrs extension's library on the server (make -f Makefile.pgxs install)";
  return "";
}

ErrorKind redis_error_kind(std::string_view code, bool handshake) {
  if (code == "WRONGPASS" || code == "NOAUTH" || code == "NOPERM") return ErrorKind::permanent;
  if (!handshake || code.empty() || code == "LOADING" || code == "BUSY" || code == "MASTERDOWN" || code == "TRYAGAIN")
    return ErrorKind::transient;
  return ErrorKind::permanent;
}

std::string redis_fix(std::string_view code) {
  if (code == "WRONGPASS")
    return "check --redis-user and the password (--redis-password-file, PGCQRS_REDIS_PASSWORD or the --redis URL)";
  if (code == "NOAUTH") return "this Redis needs a password: set --redis-password-file or PGCQRS_REDIS_PASSWORD";
  if (code == "NOPERM") return "give the sidecar's Redis user the ACL of docs/security.md";
  if (code == "TLS")
    return "check --redis-tls-ca (the CA that signed Redis's tls-cert-file), --redis-tls-server-name, and "
           "--redis-tls-cert with --redis-tls-key if Redis has tls-auth-clients (docs/operations.md, TLS to Redis)";
  return "";
}

}  // namespace pgcqrs::sidecar
