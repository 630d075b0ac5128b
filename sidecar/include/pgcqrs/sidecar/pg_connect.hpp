// Every PostgreSQL connection the sidecar opens (the replication connection, a session's
// queries and snapshot copy, status, verify) goes through pg_connect: an attempt is bounded
// (10 s unless connect_timeout in the connection string or PGCONNECT_TIMEOUT says otherwise,
// URIs included) and a failed one is a Failure whose kind comes from the server's SQLSTATE.
#pragma once

#include <pqxx/pqxx>

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "pgcqrs/sidecar/failure.hpp"
#include "pgcqrs/sidecar/replication/pg_handles.hpp"

namespace pgcqrs::sidecar {

inline constexpr int kConnectTimeoutS = 10;

using PgParams = std::vector<std::pair<std::string, std::string>>;

// Opens a connection with conninfo (a key=value string or a URI; "" = the PG* variables).
// `before` are defaults the connection string may override, `after` override it;
// default_timeout_s applies unless connect_timeout is set. Throws Failure (Server::postgresql).
replication::PgConnPtr pg_connect(const std::string& conninfo, const PgParams& before = {},
                                  const PgParams& after = {}, int default_timeout_s = kConnectTimeoutS);

// A libpqxx connection opened by pg_connect.
class PgConnectPolicy : public pqxx::connectionpolicy {
 public:
  explicit PgConnectPolicy(const std::string& conninfo) : pqxx::connectionpolicy(conninfo) {}
  handle do_startconnect(handle orig) override;
};
using PgConnection = pqxx::basic_connection_base<PgConnectPolicy>;

// libpq's message for a failed attempt made with PQERRORS_VERBOSE: the SQLSTATE of the last
// server error in it ("" if the server never answered), and the message without the codes and
// LOCATION lines, on one line.
struct ConnectError {
  std::string message;
  std::string sqlstate;
};
ConnectError parse_connect_error(std::string_view verbose_message);

// Whether libpq's message for an attempt the server never answered says that TLS cannot
// work as configured (an untrusted or misnamed server certificate, a missing CA, certificate
// or key file, a server without TLS where sslmode requires it): trying again cannot help.
bool tls_setup_error(std::string_view message);

// The Failure for a failed attempt: options_invalid when libpq refused the connection
// string itself before contacting any server; a TLS setup error is permanent.
Failure connect_failure(const ConnectError& error, bool options_invalid);

}  // namespace pgcqrs::sidecar
