// Where Redis is and who we are to it: parsed from a redis:// or rediss:// (TLS) URL, a unix://
// URL or a socket path; credentials may come from the environment or a file and are never
// printed.
#pragma once

#include <optional>
#include <string>

namespace pgcqrs::sidecar::redis {

// TLS to Redis (a rediss:// URL). The server's certificate is always verified, against the
// CA file or the system's trusted CAs, and must carry the server name. The files are read on
// every connect, so a certificate renewed on disk is used from the next reconnect on.
struct Tls {
  std::string ca_file;      // PEM CAs that may sign Redis's certificate; "" = the system's
  std::string cert_file;    // a client certificate (Redis's tls-auth-clients); "" = none
  std::string key_file;     // its private key
  std::string server_name;  // the name the certificate must carry, sent as SNI; "" = host
};

struct Endpoint {
  bool is_unix = false;
  bool tls = false;  // rediss://
  std::string host = "127.0.0.1";
  int port = 6379;
  std::string path;  // Unix socket
  int db = 0;
  std::string user;
  std::string password;
  Tls tls_files;

  // The name the server's certificate must carry.
  const std::string& tls_name() const { return tls_files.server_name.empty() ? host : tls_files.server_name; }
  // For logs: the address without credentials.
  std::string redacted() const;
};

struct EndpointResult {
  std::optional<Endpoint> endpoint;
  std::string error;
};

// redis://[user[:password]@]host[:port][/db], the same with rediss:// for TLS,
// unix:///path/to.sock[?db=N], /path/to.sock.
EndpointResult parse_endpoint(const std::string& url);

}  // namespace pgcqrs::sidecar::redis
