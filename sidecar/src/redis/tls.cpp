// TLS to Redis (tls.hpp): OpenSSL's own host and IP checks, so that a rejected certificate
// says why (X509_verify_cert_error_string) instead of only "certificate verify failed".
#include "pgcqrs/sidecar/redis/tls.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <boost/asio/ip/address.hpp>
#include <boost/asio/ssl/error.hpp>

#include "pgcqrs/sidecar/redis/sync_client.hpp"

namespace pgcqrs::sidecar::redis {

namespace ssl = boost::asio::ssl;
using boost::system::error_code;

namespace {

[[noreturn]] void refuse(const Endpoint& ep, const std::string& what, const error_code& ec) {
  throw RedisError("Redis TLS at " + ep.redacted() + ": " + what + ": " + ec.message(), "TLS", true);
}

bool is_ip(const std::string& name) {
  error_code ec;
  boost::asio::ip::make_address(name, ec);
  return !ec;
}

// Reasons that say the two ends cannot talk TLS as configured: the certificate check, an
// alert from the server (it refused our certificate, or wanted one), or a peer that does not
// speak TLS at all. Anything else (a reset, an end of stream) is a connection lost.
bool permanent_reason(int reason) {
  return reason == SSL_R_CERTIFICATE_VERIFY_FAILED || reason >= SSL_AD_REASON_OFFSET ||
         reason == SSL_R_WRONG_VERSION_NUMBER || reason == SSL_R_PACKET_LENGTH_TOO_LONG ||
         reason == SSL_R_HTTP_REQUEST || reason == SSL_R_UNSUPPORTED_PROTOCOL;
}

// Where a connection notes that the server asked for a client certificate and it had none to
// give: a server that requires one may then reset the connection before its alert is read.
int asked_index() {
  static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

int note_certificate_request(SSL* ssl, X509**, EVP_PKEY**) {
  SSL_set_ex_data(ssl, asked_index(), ssl);  // any non-null value
  return 0;                                   // send none
}

bool asked_for_missing_certificate(SSL* ssl) { return ssl && SSL_get_ex_data(ssl, asked_index()) != nullptr; }

StreamFailure describe(const Endpoint& ep, const error_code& ec, SSL* ssl) {
  if (ec == ssl::error::stream_truncated || ec == boost::asio::error::eof)
    return {"Redis connection closed (" + ec.message() + ")", false};
  if (ec.category() != boost::asio::error::get_ssl_category()) return {"Redis connection lost: " + ec.message(), false};
  static const bool strings = OPENSSL_init_ssl(OPENSSL_INIT_LOAD_SSL_STRINGS, nullptr);  // for the reason's text
  (void)strings;
  int reason = ERR_GET_REASON(static_cast<unsigned long>(ec.value()));
  const char* reason_text = ERR_reason_error_string(static_cast<unsigned long>(ec.value()));
  std::string text = reason_text ? reason_text : ec.message();
  if (reason == SSL_R_CERTIFICATE_VERIFY_FAILED && ssl) {
    long verdict = SSL_get_verify_result(ssl);
    if (verdict != X509_V_OK) text += std::string(": ") + X509_verify_cert_error_string(verdict);
    if (verdict == X509_V_ERR_HOSTNAME_MISMATCH || verdict == X509_V_ERR_IP_ADDRESS_MISMATCH)
      text += " (the certificate does not name " + ep.tls_name() + ")";
  } else if (reason == SSL_R_WRONG_VERSION_NUMBER || reason == SSL_R_PACKET_LENGTH_TOO_LONG) {
    text += " (is this Redis's tls-port?)";
  }
  if (!permanent_reason(reason)) return {"Redis connection lost (TLS: " + text + ")", false};
  return {"Redis TLS at " + ep.redacted() + ": " + text, true};
}

}  // namespace

std::shared_ptr<ssl::context> make_tls_context(const Endpoint& ep) {
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_client);
  SSL_CTX_set_min_proto_version(ctx->native_handle(), TLS1_2_VERSION);
  ctx->set_verify_mode(ssl::verify_peer);
  error_code ec;
  const Tls& t = ep.tls_files;
  if (t.ca_file.empty()) {
    if (ctx->set_default_verify_paths(ec); ec) refuse(ep, "cannot load the system's trusted CAs", ec);
  } else if (ctx->load_verify_file(t.ca_file, ec); ec) {
    refuse(ep, "cannot load the CA file " + t.ca_file + " (--redis-tls-ca)", ec);
  }
  if (!t.cert_file.empty()) {
    if (ctx->use_certificate_chain_file(t.cert_file, ec); ec)
      refuse(ep, "cannot load the client certificate " + t.cert_file + " (--redis-tls-cert)", ec);
    if (ctx->use_private_key_file(t.key_file, ssl::context::pem, ec); ec)
      refuse(ep, "cannot load the client key " + t.key_file + " (--redis-tls-key)", ec);
    if (SSL_CTX_check_private_key(ctx->native_handle()) != 1)
      throw RedisError("Redis TLS at " + ep.redacted() + ": the client key " + t.key_file +
                           " does not belong to the certificate " + t.cert_file,
                       "TLS", true);
  } else {
    SSL_CTX_set_client_cert_cb(ctx->native_handle(), note_certificate_request);
  }
  return ctx;
}

void expect_server_name(SSL* ssl, const std::string& name) {
  if (is_ip(name)) {
    X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), name.c_str());
    return;
  }
  SSL_set_tlsext_host_name(ssl, name.c_str());
  SSL_set1_host(ssl, name.c_str());
}

StreamFailure tls_failure(const Endpoint& ep, const error_code& ec, SSL* ssl, bool heard) {
  StreamFailure f = describe(ep, ec, ssl);
  // TLS 1.3 ends the client's handshake before the server has judged its certificate: a
  // server that requires one sends its alert and closes, and the reset that follows may reach
  // us first, on the first write or read. Nothing heard, and a request we could not answer,
  // says what the alert would have said.
  if (!f.permanent && !heard && asked_for_missing_certificate(ssl))
    return {"Redis TLS at " + ep.redacted() + ": certificate required: Redis asked for a client certificate, " +
                "none was given, and it closed the connection (" + f.message + ")",
            true};
  return f;
}

}  // namespace pgcqrs::sidecar::redis
