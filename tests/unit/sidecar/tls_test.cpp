// TLS to Redis: which failures are permanent and what they say, the files a context refuses,
// and (against an in-process TLS server) a server that asks for a client certificate and
// hangs up. The e2e test redis_tls.sh covers the handshakes with a real Redis.
#include <gtest/gtest.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <unistd.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>
#include <cstdio>
#include <functional>
#include <thread>

#include "pgcqrs/sidecar/redis/sync_client.hpp"
#include "pgcqrs/sidecar/redis/tls.hpp"

using namespace pgcqrs::sidecar::redis;
using boost::system::error_code;
namespace asio = boost::asio;
using asio::ip::tcp;

namespace {

error_code ssl_error(int reason) {
  return error_code(static_cast<int>(ERR_PACK(ERR_LIB_SSL, 0, reason)), boost::asio::error::get_ssl_category());
}

Endpoint tls_endpoint() {
  auto ep = parse_endpoint("rediss://127.0.0.1:6380").endpoint.value();
  return ep;
}

// A self-signed certificate for 127.0.0.1 with its key, the certificate also in a PEM file
// (the client's --redis-tls-ca).
struct TestCertificate {
  TestCertificate() {
    key = EVP_EC_gen("P-256");
    cert = X509_new();
    X509_set_version(cert, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
    X509_gmtime_adj(X509_getm_notBefore(cert), -60);
    X509_gmtime_adj(X509_getm_notAfter(cert), 3600);
    X509_set_pubkey(cert, key);
    X509_NAME* name = X509_get_subject_name(cert);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("pgcqrs test"), -1,
                               -1, 0);
    X509_set_issuer_name(cert, name);
    X509_EXTENSION* san = X509V3_EXT_conf_nid(nullptr, nullptr, NID_subject_alt_name, "IP:127.0.0.1");
    X509_add_ext(cert, san, -1);
    X509_EXTENSION_free(san);
    X509_sign(cert, key, EVP_sha256());
    char path[] = "/tmp/pgcqrs-tls-test.XXXXXX";
    int fd = mkstemp(path);
    file = path;
    FILE* f = fdopen(fd, "w");
    PEM_write_X509(f, cert);
    fclose(f);
  }
  ~TestCertificate() {
    X509_free(cert);
    EVP_PKEY_free(key);
    std::remove(file.c_str());
  }
  EVP_PKEY* key = nullptr;
  X509* cert = nullptr;
  std::string file;
};

// A TLS server on loopback for one connection: it asks for a client certificate but accepts
// none, shakes hands, then runs `after` on the stream (in its own thread).
class CertificateAskingServer {
 public:
  using Tls = asio::ssl::stream<tcp::socket>;
  CertificateAskingServer(const TestCertificate& c, std::function<void(Tls&)> after)
      : ctx_(asio::ssl::context::tls_server), acceptor_(io_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)) {
    SSL_CTX_use_certificate(ctx_.native_handle(), c.cert);
    SSL_CTX_use_PrivateKey(ctx_.native_handle(), c.key);
    ctx_.set_verify_mode(asio::ssl::verify_peer);  // ask, without fail_if_no_peer_cert
    ctx_.set_verify_callback([](bool, asio::ssl::verify_context&) { return true; });
    thread_ = std::thread([this, after = std::move(after)] {
      try {
        Tls s(io_, ctx_);
        acceptor_.accept(s.next_layer());
        s.handshake(asio::ssl::stream_base::server);
        after(s);
      } catch (const std::exception& e) {
        error_ = e.what();
      }
    });
  }
  ~CertificateAskingServer() { thread_.join(); }
  unsigned short port() const { return acceptor_.local_endpoint().port(); }
  const std::string& error() const { return error_; }  // read after the client is done

  // Ends the connection with a reset, whatever either side has not read: no alert, no
  // close_notify, as a server's kernel does when it closes with the client's bytes unread.
  static void reset(Tls& s) {
    s.next_layer().set_option(asio::socket_base::linger(true, 0));
    s.next_layer().close();
  }

 private:
  asio::io_context io_;
  asio::ssl::context ctx_;
  tcp::acceptor acceptor_;
  std::thread thread_;
  std::string error_;
};

Endpoint endpoint_of(const CertificateAskingServer& server, const TestCertificate& c) {
  auto ep = parse_endpoint("rediss://127.0.0.1:" + std::to_string(server.port())).endpoint.value();
  ep.tls_files.ca_file = c.file;
  return ep;
}

}  // namespace

TEST(Tls, RefusalsThatRetryingCannotCureArePermanent) {
  auto ep = tls_endpoint();
  for (int reason : {SSL_R_CERTIFICATE_VERIFY_FAILED, SSL_R_TLSV13_ALERT_CERTIFICATE_REQUIRED,
                     SSL_R_TLSV1_ALERT_UNKNOWN_CA, SSL_R_WRONG_VERSION_NUMBER}) {
    auto f = tls_failure(ep, ssl_error(reason), nullptr, false);
    EXPECT_TRUE(f.permanent) << f.message;
    EXPECT_EQ(f.message.rfind("Redis TLS at rediss://127.0.0.1:6380: ", 0), 0u) << f.message;
  }
  EXPECT_EQ(tls_failure(ep, ssl_error(SSL_R_TLSV13_ALERT_CERTIFICATE_REQUIRED), nullptr, false).message,
            "Redis TLS at rediss://127.0.0.1:6380: tlsv13 alert certificate required");
  EXPECT_EQ(tls_failure(ep, ssl_error(SSL_R_WRONG_VERSION_NUMBER), nullptr, false).message,
            "Redis TLS at rediss://127.0.0.1:6380: wrong version number (is this Redis's tls-port?)");
}

TEST(Tls, ALostConnectionIsRetried) {
  auto ep = tls_endpoint();
  auto eof = tls_failure(ep, ssl_error(SSL_R_UNEXPECTED_EOF_WHILE_READING), nullptr, false);
  EXPECT_FALSE(eof.permanent);
  EXPECT_EQ(eof.message, "Redis connection lost (TLS: unexpected eof while reading)");
  EXPECT_FALSE(tls_failure(ep, boost::asio::ssl::error::stream_truncated, nullptr, false).permanent);
  EXPECT_FALSE(tls_failure(ep, boost::asio::error::connection_reset, nullptr, false).permanent);
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

// TLS 1.3 finishes the client's handshake before the server judges its certificate, so a
// Redis with tls-auth-clients yes refuses a client without one after the handshake: its
// alert may be lost to the reset that follows. Having been asked for a certificate it did not
// have, and heard nothing since, the client says so, permanently (exit 2, not retries).
TEST(Tls, AResetAfterAnUnansweredCertificateRequestIsItsRefusal) {
  TestCertificate c;
  RedisError caught("");
  {
    CertificateAskingServer server(c, CertificateAskingServer::reset);
    try {
      SyncClient client(endpoint_of(server, c), 5000);
      client.command({"PING"});
      ADD_FAILURE() << "PING succeeded on a connection the server reset";
    } catch (const RedisError& e) {
      caught = e;
    }
  }
  EXPECT_EQ(caught.code, "TLS");
  EXPECT_TRUE(caught.handshake);
  std::string what = caught.what();
  EXPECT_EQ(what.rfind("Redis TLS at rediss://127.0.0.1:", 0), 0u) << what;
  EXPECT_NE(what.find(": certificate required: Redis asked for a client certificate, none was given, and it "
                      "closed the connection (Redis connection lost: "),
            std::string::npos)
      << what;
}

// Once the server has answered, a reset is a connection lost like any other, to be retried:
// a server that asks but does not require (tls-auth-clients optional) accepted the client.
TEST(Tls, AResetAfterTheServerAnsweredIsRetried) {
  TestCertificate c;
  RedisError caught("");
  std::string pong;
  {
    CertificateAskingServer server(c, [](CertificateAskingServer::Tls& s) {
      std::array<char, 64> buf{};
      s.read_some(asio::buffer(buf));
      asio::write(s, asio::buffer(std::string("+PONG\r\n")));
      s.read_some(asio::buffer(buf));
      CertificateAskingServer::reset(s);
    });
    try {
      SyncClient client(endpoint_of(server, c), 5000);
      pong = reply_string(client.command({"PING"}).get());
      client.command({"PING"});
      ADD_FAILURE() << "the second PING succeeded on a connection the server reset";
    } catch (const RedisError& e) {
      caught = e;
    }
    EXPECT_EQ(server.error(), "");
  }
  EXPECT_EQ(pong, "PONG");
  EXPECT_EQ(caught.code, "");
  EXPECT_FALSE(caught.handshake);
  EXPECT_EQ(std::string(caught.what()), "Redis connection lost: Connection reset by peer");
}
