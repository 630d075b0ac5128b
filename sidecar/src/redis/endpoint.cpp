// Redis URL parsing; percent-decoding for credentials.
#include "pgcqrs/sidecar/redis/endpoint.hpp"
#include "pgcqrs/sidecar/parse.hpp"

#include <cctype>

namespace pgcqrs::sidecar::redis {
namespace {

std::string percent_decode(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && std::isxdigit(static_cast<unsigned char>(s[i + 1])) &&
        std::isxdigit(static_cast<unsigned char>(s[i + 2]))) {
      out.push_back(static_cast<char>(std::stoi(s.substr(i + 1, 2), nullptr, 16)));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

}  // namespace

std::string Endpoint::redacted() const {
  std::string h = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  std::string s = is_unix ? "unix://" + path : (tls ? "rediss://" : "redis://") + h + ":" + std::to_string(port);
  if (db != 0) s += (is_unix ? "?db=" : "/") + std::to_string(db);
  if (!user.empty()) s += " (user " + user + ")";
  return s;
}

EndpointResult parse_endpoint(const std::string& url) {
  EndpointResult r;
  Endpoint e;
  if (!url.empty() && url[0] == '/') {
    e.is_unix = true;
    e.path = url;
    r.endpoint = e;
    return r;
  }
  if (url.rfind("unix://", 0) == 0) {
    e.is_unix = true;
    std::string rest = url.substr(7);
    auto q = rest.find('?');
    e.path = rest.substr(0, q);
    if (q != std::string::npos) {
      std::string query = rest.substr(q + 1);
      if (query.rfind("db=", 0) != 0 || !parse_int(query.substr(3), 0, 1 << 20, e.db)) {
        r.error = "Redis URL " + e.path + ": only ?db=N is understood after a socket path";
        return r;
      }
    }
    if (e.path.empty() || e.path[0] != '/') {
      r.error = "Redis unix:// URL needs an absolute socket path, e.g. unix:///run/redis/redis.sock";
      return r;
    }
    r.endpoint = e;
    return r;
  }
  e.tls = url.rfind("rediss://", 0) == 0;
  if (!e.tls && url.rfind("redis://", 0) != 0) {
    r.error = "Redis address must start with redis://, rediss:// (TLS) or unix:// or be a socket path";
    return r;
  }
  std::string rest = url.substr(e.tls ? 9 : 8);
  auto slash = rest.find('/');
  std::string authority = rest.substr(0, slash);
  if (slash != std::string::npos) {
    std::string dbs = rest.substr(slash + 1);
    if (!dbs.empty() && !parse_int(dbs, 0, 1 << 20, e.db)) {
      r.error = "Redis URL: database must be a number after the host";
      return r;
    }
  }
  auto at = authority.rfind('@');
  if (at != std::string::npos) {
    std::string cred = authority.substr(0, at);
    authority = authority.substr(at + 1);
    auto colon = cred.find(':');
    if (colon == std::string::npos) {
      e.user = percent_decode(cred);
    } else {
      e.user = percent_decode(cred.substr(0, colon));
      e.password = percent_decode(cred.substr(colon + 1));
    }
  }
  std::string host = authority;
  if (!host.empty() && host[0] == '[') {
    auto close = host.find(']');
    if (close == std::string::npos) {
      r.error = "Redis URL: unterminated [IPv6] host";
      return r;
    }
    e.host = host.substr(1, close - 1);
    std::string after = host.substr(close + 1);
    if (!after.empty()) {
      if (after[0] != ':' || !parse_int(after.substr(1), 1, 65535, e.port)) {
        r.error = "Redis URL: port must be 1-65535";
        return r;
      }
    }
  } else {
    auto colon = host.rfind(':');
    if (colon != std::string::npos) {
      if (!parse_int(host.substr(colon + 1), 1, 65535, e.port)) {
        r.error = "Redis URL: port must be 1-65535";
        return r;
      }
      host = host.substr(0, colon);
    }
    if (!host.empty()) e.host = host;
  }
  r.endpoint = e;
  return r;
}

}  // namespace pgcqrs::sidecar::redis
