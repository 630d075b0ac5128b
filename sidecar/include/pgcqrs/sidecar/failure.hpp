// What went wrong, at which server, and whether trying again can help. A transient failure
// (a server down or restarting, Redis loading its data, the slot held by another consumer)
// is retried with backoff; a permanent one (a wrong password, a missing extension, a slot of
// another plugin) stops the sidecar with exit status 2 and one log line naming the fix.
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>

namespace pqxx {
class sql_error;
}

namespace pgcqrs::sidecar {

namespace redis {
struct RedisError;
}

enum class Server { postgresql, redis };
enum class ErrorKind { transient, permanent };

struct Failure : std::runtime_error {
  // The message is kept on one line (libpq ends its messages with a newline).
  Failure(Server server, ErrorKind kind, std::string_view message);
  Server server;
  ErrorKind kind;
  bool permanent() const { return kind == ErrorKind::permanent; }
};

// A Redis error or a failed PostgreSQL query as a Failure: its kind from Redis's error code or
// PostgreSQL's SQLSTATE, and for a permanent one the fix.
Failure failure_of(const redis::RedisError& error);
Failure failure_of(const pqxx::sql_error& error);

// text on one line: trailing white space gone, inner line breaks and the white space around
// them made one space.
std::string one_line(std::string_view text);

// message, then ": " and fix (if any), without a full stop in between.
std::string with_fix(std::string message, std::string_view fix);

// An SQLSTATE (PostgreSQL's error code) after which trying again cannot help: bad
// credentials or role (class 28), no such database (3D000), a missing privilege (42501), a
// server setting the sidecar needs (55000, 0A000, 53400), a missing library (58P01).
// Everything else (the server starting or stopping, too many connections, a lost
// connection, a slot in use or created by another consumer meanwhile) is transient.
ErrorKind sqlstate_kind(std::string_view sqlstate);

// What to do about a permanent SQLSTATE, as the end of a log line ("" if nothing to add).
std::string sqlstate_fix(std::string_view sqlstate);

// A Redis error reply's code (its first word) after which trying again cannot help:
// WRONGPASS, NOAUTH, NOPERM; during the handshake (TLS, AUTH, SELECT) any error but those of
// a Redis that is starting or busy (LOADING, BUSY, MASTERDOWN, TRYAGAIN).
ErrorKind redis_error_kind(std::string_view code, bool handshake);

// What to do about a permanent Redis error code ("" if nothing to add).
std::string redis_fix(std::string_view code);

}  // namespace pgcqrs::sidecar
