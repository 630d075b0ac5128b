// TLS to Redis: the client context an endpoint's files make, the checks a connection makes
// of the server's certificate, and its failures in words a user can act on. The stream
// (stream.hpp) is its only user.
#pragma once

#include <boost/asio/ssl/context.hpp>
#include <boost/system/error_code.hpp>
#include <memory>
#include <string>

#include "pgcqrs/sidecar/redis/endpoint.hpp"

typedef struct ssl_st SSL;

namespace pgcqrs::sidecar::redis {

// What went wrong on a connection: "" when nothing did. A permanent failure is one retrying
// cannot cure (a certificate that does not verify, a server that wants a client
// certificate, TLS to a port without it): RedisError code "TLS", whose fix failure.cpp names.
struct StreamFailure {
  std::string message;
  bool permanent = false;
  explicit operator bool() const { return !message.empty(); }
};

// A TLS 1.2+ client context verifying the server against tls.ca_file (or the system's CAs),
// presenting tls.cert_file and tls.key_file when set. Throws RedisError (permanent, code
// "TLS") naming the file it could not use.
std::shared_ptr<boost::asio::ssl::context> make_tls_context(const Endpoint& ep);

// Before the handshake: the name the certificate must carry (a DNS name or an IP address),
// also sent as SNI when it is a DNS name.
void expect_server_name(SSL* ssl, const std::string& name);

// A failed TLS operation, described (with the certificate check's verdict when that was the
// cause) and classified. ssl may be null once the connection is gone. heard: the server has
// sent application data on this connection; until it has, a connection lost after the server
// asked for a client certificate the context does not have is that certificate's refusal.
StreamFailure tls_failure(const Endpoint& ep, const boost::system::error_code& ec, SSL* ssl, bool heard);

}  // namespace pgcqrs::sidecar::redis
