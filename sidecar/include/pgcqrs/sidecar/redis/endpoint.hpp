// Where Redis is and who we are to it: parsed from a redis:// URL, a unix:// URL or a socket
// path; credentials may come from the environment or a file and are never printed.
#pragma once

#include <optional>
#include <string>

namespace pgcqrs::sidecar::redis {

struct Endpoint {
  bool is_unix = false;
  std::string host = "127.0.0.1";
  int port = 6379;
  std::string path;  // Unix socket
  int db = 0;
  std::string user;
  std::string password;

  // For logs: the address without credentials.
  std::string redacted() const;
};

struct EndpointResult {
  std::optional<Endpoint> endpoint;
  std::string error;
};

// redis://[user[:password]@]host[:port][/db], unix:///path/to.sock[?db=N], /path/to.sock.
EndpointResult parse_endpoint(const std::string& url);

}  // namespace pgcqrs::sidecar::redis
