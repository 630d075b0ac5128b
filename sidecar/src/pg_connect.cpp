// Opening PostgreSQL connections: libpq's asynchronous connect, so that the error messages
// carry the SQLSTATE (PQERRORS_VERBOSE) and the whole attempt has one deadline.
#include "pgcqrs/sidecar/pg_connect.hpp"

#include <libpq-fe.h>
#include <poll.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <new>

namespace pgcqrs::sidecar {
namespace {

bool is_sqlstate(std::string_view s) {
  if (s.size() != 5) return false;
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z'))) return false;
  return true;
}

// The seconds one attempt may take: connect_timeout as libpq reads it (the connection string,
// else PGCONNECT_TIMEOUT), else ours; 0 or less waits for ever, as in libpq.
int timeout_of(PGconn* conn, int default_s) {
  int seconds = default_s;
  PQconninfoOption* opts = PQconninfo(conn);
  for (PQconninfoOption* o = opts; o && o->keyword; ++o)
    if (std::string_view(o->keyword) == "connect_timeout" && o->val && *o->val) {
      seconds = std::atoi(o->val);
      if (seconds > 0 && seconds < 2) seconds = 2;
    }
  PQconninfoFree(opts);
  return seconds;
}

}  // namespace

bool tls_setup_error(std::string_view message) {
  // libpq's own words (fe-secure-openssl.c) for a certificate or key that cannot work as
  // configured; a TLS error from a broken connection ("SSL SYSCALL error") is not one.
  for (std::string_view words :
       {"certificate verify failed", "does not match host name", "root certificate file", "certificate file \"",
        "private key file", "certificate present, but not private key", "server does not support SSL",
        "alert unknown ca", "alert bad certificate", "alert certificate required", "alert certificate unknown"})
    if (message.find(words) != std::string_view::npos) return true;
  return false;
}

ConnectError parse_connect_error(std::string_view text) {
  ConnectError out;
  std::string kept;
  while (!text.empty()) {
    size_t end = text.find('\n');
    std::string line(text.substr(0, end));
    text = end == std::string_view::npos ? std::string_view() : text.substr(end + 1);
    if (line.rfind("LOCATION:", 0) == 0) continue;
    for (const char* severity : {"FATAL:  ", "ERROR:  ", "PANIC:  "}) {
      size_t at = line.find(severity);
      if (at == std::string::npos) continue;
      size_t code = at + std::string_view(severity).size();
      if (line.size() >= code + 7 && is_sqlstate(std::string_view(line).substr(code, 5)) &&
          line.compare(code + 5, 2, ": ") == 0) {
        out.sqlstate = line.substr(code, 5);
        line.erase(code, 7);
      }
    }
    kept += line;
    kept += '\n';
  }
  out.message = one_line(kept);
  return out;
}

Failure connect_failure(const ConnectError& e, bool options_invalid) {
  if (options_invalid)
    return Failure(Server::postgresql, ErrorKind::permanent,
                   "invalid PostgreSQL connection string: " + e.message +
                       ": fix --pg (PGCQRS_PG) or the PG* environment variables");
  if (e.sqlstate.empty() && tls_setup_error(e.message))
    return Failure(Server::postgresql, ErrorKind::permanent,
                   with_fix("PostgreSQL TLS: " + e.message,
                            "check sslmode, sslrootcert (the CA that signed the server's certificate), sslcert and "
                            "sslkey in --pg (docs/operations.md, TLS to PostgreSQL)"));
  if (e.sqlstate.empty())
    return Failure(Server::postgresql, ErrorKind::transient, "cannot reach PostgreSQL: " + e.message);
  ErrorKind kind = sqlstate_kind(e.sqlstate);
  if (kind == ErrorKind::transient)
    return Failure(Server::postgresql, kind,
                   "PostgreSQL refused the connection for now: " + e.message + " (SQLSTATE " + e.sqlstate + ")");
  return Failure(Server::postgresql, kind,
                 with_fix("PostgreSQL refused the connection: " + e.message + " (SQLSTATE " + e.sqlstate + ")",
                          sqlstate_fix(e.sqlstate)));
}

replication::PgConnPtr pg_connect(const std::string& conninfo, const PgParams& before, const PgParams& after,
                                  int default_timeout_s) {
  std::vector<const char*> keys, vals;
  for (const auto& [k, v] : before) keys.push_back(k.c_str()), vals.push_back(v.c_str());
  keys.push_back("dbname");
  vals.push_back(conninfo.c_str());
  for (const auto& [k, v] : after) keys.push_back(k.c_str()), vals.push_back(v.c_str());
  keys.push_back(nullptr);
  vals.push_back(nullptr);

  replication::PgConnPtr conn(PQconnectStartParams(keys.data(), vals.data(), 1));
  if (!conn) throw std::bad_alloc();
  PQsetErrorVerbosity(conn.get(), PQERRORS_VERBOSE);  // messages with their SQLSTATE
  if (PQstatus(conn.get()) == CONNECTION_BAD) {
    // Refused before any server answered: the options themselves, or a host that does not
    // resolve or refuses at once. libpq's ping tells them apart without a new attempt's wait.
    bool invalid = PQpingParams(keys.data(), vals.data(), 1) == PQPING_NO_ATTEMPT;
    throw connect_failure(parse_connect_error(PQerrorMessage(conn.get())), invalid);
  }
  const int timeout_s = timeout_of(conn.get(), default_timeout_s);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
  PostgresPollingStatusType state = PGRES_POLLING_WRITING;
  while (state != PGRES_POLLING_OK && state != PGRES_POLLING_FAILED) {
    pollfd p{PQsocket(conn.get()), static_cast<short>(state == PGRES_POLLING_READING ? POLLIN : POLLOUT), 0};
    int wait_ms = -1;
    if (timeout_s > 0) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0)
        throw Failure(Server::postgresql, ErrorKind::transient,
                      "cannot reach PostgreSQL: no answer within " + std::to_string(timeout_s) +
                          " s (connect_timeout)");
      wait_ms = static_cast<int>(left.count());
    }
    int n = ::poll(&p, 1, wait_ms);
    if (n < 0 && errno != EINTR)
      throw Failure(Server::postgresql, ErrorKind::transient, "cannot reach PostgreSQL: poll failed");
    if (n == 0) continue;  // the deadline check above ends it
    state = PQconnectPoll(conn.get());
  }
  if (state == PGRES_POLLING_FAILED) throw connect_failure(parse_connect_error(PQerrorMessage(conn.get())), false);
  PQsetErrorVerbosity(conn.get(), PQERRORS_DEFAULT);
  return conn;
}

PgConnectPolicy::handle PgConnectPolicy::do_startconnect(handle orig) {
  if (orig) return orig;
  return pg_connect(options()).release();
}

}  // namespace pgcqrs::sidecar
