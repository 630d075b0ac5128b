// Flag/environment parsing with errors that name the flag and the accepted values.
#include "pgcqrs/sidecar/config.hpp"
#include "pgcqrs/sidecar/parse.hpp"

#include <map>

namespace pgcqrs::sidecar {
namespace {

bool parse_bool(const std::string& s, bool& out) {
  if (s == "1" || s == "true" || s == "yes" || s == "on") return out = true, true;
  if (s == "0" || s == "false" || s == "no" || s == "off") return out = false, true;
  return false;
}

}  // namespace

std::string usage() {
  return "usage: pgcqrs-sidecar run|status|verify [options]\n"
         "  run: follow the slot into Redis; status: slot, checkpoint, lag;\n"
         "  verify: compare Redis with the write model (exit 0 same, 1 differences, 2 unreadable)\n"
         "  --pg CONNINFO              libpq connection string (env PGCQRS_PG; PG* variables apply)\n"
         "  --redis URL                redis://host:port[/db], unix:///path.sock or /path.sock (env PGCQRS_REDIS)\n"
         "  --redis-user USER          Redis ACL user (env PGCQRS_REDIS_USER)\n"
         "  --redis-password-file F    file holding the Redis password (env PGCQRS_REDIS_PASSWORD_FILE;\n"
         "                             or env PGCQRS_REDIS_PASSWORD)\n"
         "  --slot NAME                replication slot (default pgcqrs; env PGCQRS_SLOT)\n"
         "  --http 127.0.0.1:PORT      serve /metrics and /healthz (env PGCQRS_HTTP)\n"
         "  --allow-eviction           accept a Redis maxmemory-policy that may evict keys\n"
         "  --heartbeat-interval SEC   idle WAL heartbeat period, 0 = off (default 10)\n"
         "  --status-interval-ms MS    standby status update period (default 1000)\n"
         "  --max-inflight N           Redis calls in flight before WAL reading pauses (default 64)\n"
         "  --chunk-events N           events per Redis call: batches, huge transactions (default 100)\n"
         "  --fanout-budget N          orders one Redis call updates for a rename (default 1000)\n"
         "  --redis-reply-timeout SEC  reconnect to a Redis that leaves a call unanswered this long\n"
         "                             (default 120)\n"
         "  --verify-timeout SEC       verify: how long to wait for the read model to catch up (default 60)\n"
         "  --apply MODE               multi (default): batches that only place orders and change their\n"
         "                             status go to Redis as MULTI/EXEC, rendered here; script: every\n"
         "                             batch goes through the projection script\n"
         "  --log-level LEVEL          trace, debug, info, warn, error (default info)\n";
}

ConfigResult parse_config(const std::vector<std::string>& args, const GetEnv& env, const ReadFile& read_file) {
  ConfigResult r;
  Config c;
  std::map<std::string, std::string> values;
  static const std::vector<std::string> known = {
      "pg", "redis", "redis-user", "redis-password-file", "slot", "http", "allow-eviction",
      "heartbeat-interval", "status-interval-ms", "max-inflight", "chunk-events", "fanout-budget", "apply", "log-level",
      "redis-reply-timeout", "verify-timeout"};
  // Environment first, flags override.
  for (const auto& name : known) {
    std::string var = "PGCQRS_";
    for (char ch : name) var.push_back(ch == '-' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(ch))));
    if (auto v = env(var)) values[name] = *v;
  }
  size_t i = 0;
  if (args.empty()) {
    r.error = "missing command\n" + usage();
    return r;
  }
  c.command = args[0];
  if (c.command == "--help" || c.command == "-h" || c.command == "help") {
    r.error = "help";
    return r;
  }
  if (c.command != "run" && c.command != "status" && c.command != "verify") {
    r.error = "unknown command \"" + c.command + "\": use run, status or verify\n" + usage();
    return r;
  }
  for (i = 1; i < args.size(); ++i) {
    std::string a = args[i];
    if (a == "--help" || a == "-h") {
      r.error = "help";
      return r;
    }
    if (a.rfind("--", 0) != 0) {
      r.error = "unexpected argument \"" + a + "\"\n" + usage();
      return r;
    }
    std::string name = a.substr(2), value;
    auto eq = name.find('=');
    bool has_value = eq != std::string::npos;
    if (has_value) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
    }
    bool found = false;
    for (const auto& k : known) found = found || k == name;
    if (!found) {
      r.error = "unknown option --" + name + "\n" + usage();
      return r;
    }
    if (name == "allow-eviction" && !has_value) {
      value = "true";
    } else if (!has_value) {
      if (i + 1 >= args.size()) {
        r.error = "option --" + name + " needs a value";
        return r;
      }
      value = args[++i];
    }
    values[name] = value;
  }
  for (const auto& [name, v] : values) {
    bool ok = true;
    if (name == "pg") c.pg = v;
    else if (name == "redis") c.redis = v;
    else if (name == "redis-user") c.redis_user = v;
    else if (name == "slot") c.slot = v;
    else if (name == "http") c.http = v;
    else if (name == "log-level") c.log_level = v;
    else if (name == "allow-eviction") ok = parse_bool(v, c.allow_eviction);
    else if (name == "heartbeat-interval") ok = parse_int(v, 0, 86400, c.heartbeat_interval_s);
    else if (name == "status-interval-ms") ok = parse_int(v, 10, 600000, c.status_interval_ms);
    else if (name == "max-inflight") ok = parse_int(v, 1, 100000, c.max_inflight);
    else if (name == "chunk-events") ok = parse_int(v, 1, 1000000, c.chunk_events);
    else if (name == "fanout-budget") ok = parse_int(v, 1, 10000000, c.fanout_budget);
    else if (name == "redis-reply-timeout") ok = parse_int(v, 1, 86400, c.redis_reply_timeout_s);
    else if (name == "verify-timeout") ok = parse_int(v, 1, 86400, c.verify_timeout_s);
    else if (name == "apply") {
      ok = v == "script" || v == "multi";
      c.apply_mode = v;
    }
    else if (name == "redis-password-file") {
      auto content = read_file(v);
      if (!content) {
        r.error = "cannot read the Redis password file " + v;
        return r;
      }
      std::string pw = *content;
      while (!pw.empty() && (pw.back() == '\n' || pw.back() == '\r')) pw.pop_back();
      c.redis_password = pw;
    }
    if (!ok) {
      r.error = "invalid value for --" + name + ": \"" + v + "\"";
      return r;
    }
  }
  if (c.redis_password.empty())
    if (auto pw = env("PGCQRS_REDIS_PASSWORD")) c.redis_password = *pw;
  if (c.slot.empty() || c.slot.size() > 63) {
    r.error = "--slot must be 1 to 63 characters";
    return r;
  }
  for (char ch : c.slot) {
    if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_')) {
      r.error = "--slot \"" + c.slot + "\": slot names use lower-case letters, digits and underscores";
      return r;
    }
  }
  if (!c.http.empty()) {
    auto colon = c.http.rfind(':');
    int port = 0;
    if (colon == std::string::npos || !parse_int(c.http.substr(colon + 1), 0, 65535, port)) {
      r.error = "--http must be HOST:PORT, e.g. 127.0.0.1:9187";
      return r;
    }
    std::string host = c.http.substr(0, colon);
    if (host.rfind("127.", 0) != 0 && host != "[::1]" && host != "::1") {
      r.error = "--http " + c.http + ": /metrics and /healthz are served on a loopback address only (127.0.0.1:PORT)";
      return r;
    }
  }
  r.config = c;
  return r;
}

}  // namespace pgcqrs::sidecar
