// TLS to Redis without a server: which failures are permanent and what they say, and the
// files a context refuses (the e2e test redis_tls.sh covers the handshakes themselves).
#include <gtest/gtest.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include <boost/asio/ssl/error.hpp>

#include "pgcqrs/sidecar/redis/sync_client.hpp"
#include "pgcqrs/sidecar/redis/tls.hpp"

using namespace pgcqrs::sidecar::redis;
using boost::system::error_code;

namespace {

error_code ssl_error(int reason) {
  return error_code(static_cast<int>(ERR_PACK(ERR_LIB_SSL, 0, reason)), boost::asio::error::get_ssl_category());
}

Endpoint tls_endpoint() {
  auto ep = parse_endpoint("rediss://127.0.0.1:6380").endpoint.value();
  return ep;
}

}  // namespace

TEST(Tls, RefusalsThatRetryingCannotCureArePermanent) {
  auto ep = tls_endpoint();
  for (int reason : {SSL_R_CERTIFICATE_VERIFY_FAILED, SSL_R_TLSV13_ALERT_CERTIFICATE_REQUIRED,
                     SSL_R_TLSV1_ALERT_UNKNOWN_CA, SSL_R_WRONG_VERSION_NUMBER}) {
    auto f = tls_failure(ep, ssl_error(reason), nullptr);
    EXPECT_TRUE(f.permanent) << f.message;
    EXPECT_EQ(f.message.rfind("Redis TLS at rediss://127.0.0.1:6380: ", 0), 0u) << f.message;
  }
  EXPECT_EQ(tls_failure(ep, ssl_error(SSL_R_TLSV13_ALERT_CERTIFICATE_REQUIRED), nullptr).message,
            "Redis TLS at rediss://127.0.0.1:6380: tlsv13 alert certificate required");
  EXPECT_EQ(tls_failure(ep, ssl_error(SSL_R_WRONG_VERSION_NUMBER), nullptr).message,
            "Redis TLS at rediss://127.0.0.1:6380: wrong version number (is this Redis's tls-port?)");
}

TEST(Tls, ALostConnectionIsRetried) {
  auto ep = tls_endpoint();
  auto eof = tls_failure(ep, ssl_error(SSL_R_UNEXPECTED_EOF_WHILE_READING), nullptr);
  EXPECT_FALSE(eof.permanent);
  EXPECT_EQ(eof.message, "Redis connection lost (TLS: unexpected eof while reading)");
  EXPECT_FALSE(tls_failure(ep, boost::asio::ssl::error::stream_truncated, nullptr).permanent);
  EXPECT_FALSE(tls_failure(ep, boost::asio::error::connection_reset, nullptr).permanent);
}

TEST(Tls, AContextNamesTheFileItCannotUse) {
  auto ep = tls_endpoint();
  ep.tls_files.ca_file = "/nonexistent/ca.crt";
  try {
    make_tls_context(ep);
    FAIL() << "a missing CA file was accepted";
  } catch (const RedisError& e) {
    EXPECT_EQ(e.code, "TLS");
    EXPECT_TRUE(e.handshake);
    EXPECT_NE(std::string(e.what()).find("cannot load the CA file /nonexistent/ca.crt (--redis-tls-ca)"),
              std::string::npos)
        << e.what();
  }
  EXPECT_NE(make_tls_context(tls_endpoint()), nullptr);  // the system's CAs
}

TEST(Tls, TheServerNameDefaultsToTheHost) {
  auto ep = parse_endpoint("rediss://cache.example.com:6380/1").endpoint.value();
  EXPECT_TRUE(ep.tls);
  EXPECT_EQ(ep.port, 6380);
  EXPECT_EQ(ep.db, 1);
  EXPECT_EQ(ep.tls_name(), "cache.example.com");
  EXPECT_EQ(ep.redacted(), "rediss://cache.example.com:6380/1");
  ep.tls_files.server_name = "redis.internal";
  EXPECT_EQ(ep.tls_name(), "redis.internal");
  EXPECT_FALSE(parse_endpoint("redis://h").endpoint->tls);
}
