// Flag/environment parsing with errors that name the flag and the accepted values.
#include "pgcqrs/sidecar/config.hpp"
#include "pgcqrs/sidecar/keys.hpp"
#include "pgcqrs/sidecar/parse.hpp"

#include <sys/stat.h>

#include <cctype>
#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>

namespace pgcqrs::sidecar {
namespace {

bool parse_bool(const std::string& s, bool& out) {
  if (s == "1" || s == "true" || s == "yes" || s == "on") return out = true, true;
  if (s == "0" || s == "false" || s == "no" || s == "off") return out = false, true;
  return false;
}

}  // namespace

namespace {

const char* const kCommands =
    "  run      follow the slot into Redis (the daemon)\n"
    "  status   the slot, the Redis checkpoint and the lag; exit 1 if a server cannot be asked\n"
    "  verify   compare Redis with the write model and the read models' views (exit 0 same,\n"
    "           1 differences, 2 unreadable)\n"
    "  rebuild  ask for a rebuild: readers keep the read models until the new ones replace them\n"
    "  help [COMMAND]   this text, or one command's options\n";

const char* const kConnectionOptions =
    "  --pg CONNINFO              libpq connection string (env PGCQRS_PG; PG* variables apply)\n"
    "  --redis URL                redis://host:port[/db], rediss:// for TLS, unix:///path.sock or\n"
    "                             /path.sock (env PGCQRS_REDIS)\n"
    "  --redis-user USER          Redis ACL user (env PGCQRS_REDIS_USER)\n"
    "  --redis-password-file F    file holding the Redis password, mode 0600 or stricter\n"
    "                             (env PGCQRS_REDIS_PASSWORD_FILE; or env PGCQRS_REDIS_PASSWORD)\n"
    "  --redis-tls-ca FILE        rediss://: PEM CAs that sign Redis's certificate (default: the\n"
    "                             system's trusted CAs; env PGCQRS_REDIS_TLS_CA)\n"
    "  --redis-tls-cert FILE      rediss://: client certificate, for Redis's tls-auth-clients\n"
    "  --redis-tls-key FILE       its private key, mode 0600 or stricter\n"
    "  --redis-tls-server-name N  the name Redis's certificate must carry (default: the URL's host)\n"
    "  --slot NAME                replication slot (default pgcqrs; env PGCQRS_SLOT)\n"
    "  --key-prefix PREFIX        before every Redis key and the channel, for a Redis shared with\n"
    "                             other pipelines or applications (default none)\n"
    "  --log-level LEVEL          trace, debug, info, warn, error (default info)\n"
    "  --log-format FORMAT        text (default) or json: one object per line, on stderr\n";

const char* const kRunOptions =
    "  --http 127.0.0.1:PORT      serve /metrics and /healthz (env PGCQRS_HTTP)\n"
    "  --allow-eviction           accept a Redis maxmemory-policy that may evict keys\n"
    "  --heartbeat-interval SEC   idle WAL heartbeat period, 0 = off (default 10)\n"
    "  --status-interval-ms MS    standby status update period (default 1000)\n"
    "  --max-inflight N           Redis batches in flight before WAL reading pauses (default 64)\n"
    "  --chunk-events N           events per Redis batch (default 100; 800 on a Redis Cluster),\n"
    "                             and per chunk of a huge transaction (default 100)\n"
    "  --fanout-budget N          orders one Redis batch updates for a rename, a user's\n"
    "                             deletion or a TRUNCATE (default 1000)\n"
    "  --redis-reply-timeout SEC  reconnect to a Redis that leaves a call unanswered this long\n"
    "                             (default 120)\n";

const char* const kVerifyOptions =
    "  --verify-timeout SEC       how long to wait for the read model to catch up (default 60)\n";

bool is_command(const std::string& c) { return c == "run" || c == "status" || c == "verify" || c == "rebuild"; }

}  // namespace

std::string usage(const std::string& command) {
  if (command == "run")
    return std::string("usage: pgcqrs-sidecar run [options]\nFollows the slot into Redis until SIGTERM.\n") +
           kConnectionOptions + kRunOptions;
  if (command == "status")
    return std::string("usage: pgcqrs-sidecar status [options]\n"
                       "Prints the slot, the Redis checkpoint and the lag; exit 1 if a server cannot be asked\n"
                       "(it says why) or Redis has no checkpoint.\n") +
           kConnectionOptions;
  if (command == "verify")
    return std::string("usage: pgcqrs-sidecar verify [options]\n"
                       "Compares Redis with the write model: exit 0 same, 1 differences (the first 100 listed),\n"
                       "2 unreadable. --redis may name a node of a Redis Cluster: the whole cluster is read.\n") +
           kConnectionOptions + kVerifyOptions;
  if (command == "rebuild")
    return std::string("usage: pgcqrs-sidecar rebuild [options]\n"
                       "Asks for a rebuild of the read models: the running sidecar (or the next to start) copies\n"
                       "the write model into a new generation while readers keep the current one, then switches\n"
                       "them in one step. Exit 0 asked, 1 Redis holds no read models to rebuild, 2 unreachable.\n") +
           kConnectionOptions;
  return std::string("usage: pgcqrs-sidecar COMMAND [options]   (pgcqrs-sidecar --version)\n") + kCommands +
         "options of every command:\n" + kConnectionOptions + "options of run:\n" + kRunOptions +
         "options of verify:\n" + kVerifyOptions;
}

std::string version() { return std::string("pgcqrs-sidecar ") + PGCQRS_VERSION; }

std::optional<FileContent> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  struct stat st {};
  if (!in || ::stat(path.c_str(), &st) != 0) return std::nullopt;
  std::stringstream ss;
  ss << in.rdbuf();
  return FileContent{ss.str(), static_cast<unsigned>(st.st_mode & 07777)};
}

std::string secret_file_problem(const std::string& path, unsigned mode, const std::string& what) {
  if ((mode & 077) == 0) return "";
  char octal[8];
  std::snprintf(octal, sizeof octal, "%04o", mode & 07777);
  return "the " + what + " " + path + " can be accessed by other users (mode " + octal + "): chmod 600 " + path;
}

redis::EndpointResult redis_endpoint(const RedisTarget& target, const ReadFile& read_file) {
  redis::EndpointResult r = redis::parse_endpoint(target.url);
  if (!r.endpoint) return r;
  redis::Endpoint& ep = *r.endpoint;
  if (!target.user.empty()) ep.user = target.user;
  if (!target.password.empty()) ep.password = target.password;
  const redis::Tls& tls = target.tls;
  auto refuse = [&](std::string error) {
    r.endpoint.reset();
    r.error = std::move(error);
    return r;
  };
  struct Option {
    const char* flag;
    const std::string& value;
    bool file;    // names a file that must be readable
    bool secret;  // ... by its owner only
  };
  const Option options[] = {{"--redis-tls-ca", tls.ca_file, true, false},
                            {"--redis-tls-cert", tls.cert_file, true, false},
                            {"--redis-tls-key", tls.key_file, true, true},
                            {"--redis-tls-server-name", tls.server_name, false, false}};
  for (const Option& o : options)
    if (!o.value.empty() && !ep.tls)
      return refuse(std::string(o.flag) + " needs a rediss:// URL in --redis (TLS); " + ep.redacted() + " is plain text");
  if (tls.cert_file.empty() != tls.key_file.empty())
    return refuse("--redis-tls-cert and --redis-tls-key go together: the client certificate and its private key");
  for (const Option& o : options) {
    if (o.value.empty() || !o.file) continue;
    auto content = read_file(o.value);
    if (!content) return refuse("cannot read " + o.value + " (" + o.flag + ")");
    if (auto problem = o.secret ? secret_file_problem(o.value, content->mode, "TLS key file") : ""; !problem.empty())
      return refuse(problem);
  }
  ep.tls_files = tls;
  return r;
}

bool holds_password(const std::string& s) {
  // URL forms: scheme://user:password@host...
  auto scheme = s.find("://");
  if (scheme != std::string::npos) {
    auto start = scheme + 3;
    auto end = s.find_first_of("/?", start);
    auto authority = s.substr(start, end == std::string::npos ? std::string::npos : end - start);
    auto at = authority.rfind('@');
    if (at != std::string::npos && authority.substr(0, at).find(':') != std::string::npos) return true;
    return s.find("password=", end == std::string::npos ? s.size() : end) != std::string::npos;
  }
  // key=value form: a password keyword at the start or after white space.
  for (auto at = s.find("password"); at != std::string::npos; at = s.find("password", at + 1)) {
    if (at > 0 && !std::isspace(static_cast<unsigned char>(s[at - 1]))) continue;
    auto eq = s.find_first_not_of(" \t", at + 8);
    if (eq != std::string::npos && s[eq] == '=') return true;
  }
  return false;
}

ConfigResult parse_config(const std::vector<std::string>& args, const GetEnv& env, const ReadFile& read_file) {
  ConfigResult r;
  Config c;
  std::map<std::string, std::string> values;
  static const std::vector<std::string> known = {
      "pg", "redis", "redis-user", "redis-password-file", "redis-tls-ca", "redis-tls-cert", "redis-tls-key",
      "redis-tls-server-name", "slot", "key-prefix", "http", "allow-eviction",
      "heartbeat-interval", "status-interval-ms", "max-inflight", "chunk-events", "fanout-budget", "apply", "log-level",
      "log-format", "redis-reply-timeout", "verify-timeout"};
  std::map<std::string, bool> from_flag;  // which values came from the command line
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
  if (c.command == "--version" || c.command == "-V") {
    r.error = "version";
    return r;
  }
  if (c.command == "--help" || c.command == "-h" || c.command == "help") {
    if (args.size() > 1 && !is_command(args[1])) {
      r.error = "help: unknown command \"" + args[1] + "\": use run, status, verify or rebuild";
      return r;
    }
    r.error = "help";
    if (args.size() > 1) r.help_command = args[1];
    return r;
  }
  if (!is_command(c.command)) {
    r.error = "unknown command \"" + c.command + "\": use run, status, verify or rebuild (pgcqrs-sidecar help)";
    return r;
  }
  for (i = 1; i < args.size(); ++i) {
    std::string a = args[i];
    if (a == "--help" || a == "-h") {
      r.error = "help";
      r.help_command = c.command;
      return r;
    }
    if (a.rfind("--", 0) != 0) {
      r.error = "unexpected argument \"" + a + "\": options start with -- (pgcqrs-sidecar help " + c.command + ")";
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
      r.error = "unknown option --" + name + ": pgcqrs-sidecar help " + c.command + " lists the options";
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
    from_flag[name] = true;
  }
  for (const auto& [name, v] : values) {
    bool ok = true;
    if (name == "pg") c.pg = v;
    else if (name == "redis") c.redis = v;
    else if (name == "redis-user") c.redis_user = v;
    else if (name == "redis-tls-ca") c.redis_tls.ca_file = v;
    else if (name == "redis-tls-cert") c.redis_tls.cert_file = v;
    else if (name == "redis-tls-key") c.redis_tls.key_file = v;
    else if (name == "redis-tls-server-name") c.redis_tls.server_name = v;
    else if (name == "slot") c.slot = v;
    else if (name == "key-prefix") c.key_prefix = v;
    else if (name == "http") c.http = v;
    else if (name == "log-level") {
      ok = v == "trace" || v == "debug" || v == "info" || v == "warn" || v == "error";
      c.log_level = v;
      if (!ok) {
        r.error = "invalid value for --log-level: \"" + v + "\" (use trace, debug, info, warn or error)";
        return r;
      }
    }
    else if (name == "log-format") {
      ok = v == "text" || v == "json";
      c.log_format = v;
    }
    else if (name == "allow-eviction") ok = parse_bool(v, c.allow_eviction);
    else if (name == "heartbeat-interval") ok = parse_int(v, 0, 86400, c.heartbeat_interval_s);
    else if (name == "status-interval-ms") ok = parse_int(v, 10, 600000, c.status_interval_ms);
    else if (name == "max-inflight") ok = parse_int(v, 1, 100000, c.max_inflight);
    else if (name == "chunk-events") ok = parse_int(v, 1, 1000000, c.chunk_events);
    else if (name == "fanout-budget") ok = parse_int(v, 1, 10000000, c.fanout_budget);
    else if (name == "redis-reply-timeout") ok = parse_int(v, 1, 86400, c.redis_reply_timeout_s);
    else if (name == "verify-timeout") ok = parse_int(v, 1, 86400, c.verify_timeout_s);
    else if (name == "redis-password-file") {
      auto content = read_file(v);
      if (!content) {
        r.error = "cannot read the Redis password file " + v;
        return r;
      }
      if (auto problem = secret_file_problem(v, content->mode); !problem.empty()) {
        r.error = problem;
        return r;
      }
      std::string pw = content->text;
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
  for (const char* name : {"pg", "redis"})
    if (from_flag[name] && holds_password(values[name]))
      r.warnings.push_back(std::string("--") + name + " holds a password, which other local users can read in the " +
                           "process list: use " + (std::string(name) == "pg" ? "PGPASSWORD or ~/.pgpass"
                                                                               : "--redis-password-file") +
                           " instead");
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
  if (auto problem = key_prefix_problem(c.key_prefix); !problem.empty()) {
    r.error = problem;
    return r;
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

int batch_events(const Config& c, bool cluster) {
  if (c.chunk_events > 0) return c.chunk_events;
  return cluster ? kClusterBatchEvents : kBatchEvents;
}

int huge_chunk_events(const Config& c) { return c.chunk_events > 0 ? c.chunk_events : kBatchEvents; }

}  // namespace pgcqrs::sidecar
