// Command line and environment: every flag --name also reads PGCQRS_NAME (flag wins).
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "pgcqrs/sidecar/redis/endpoint.hpp"

namespace pgcqrs::sidecar {

struct Config {
  std::string command;  // "run", "status" or "verify"
  std::string pg;       // libpq connection string ("" = PG* environment variables)
  std::string redis = "redis://127.0.0.1:6379";
  std::string redis_user;
  std::string redis_password;  // never logged
  redis::Tls redis_tls;         // --redis-tls-ca, -cert, -key, -server-name (rediss:// only)
  std::string slot = "pgcqrs";
  std::string key_prefix;  // before every Redis key and the channel (keys.hpp); "" = none
  std::string http;  // "127.0.0.1:PORT" or empty for none
  bool allow_eviction = false;
  int heartbeat_interval_s = 10;    // 0 disables the idle heartbeat
  int status_interval_ms = 1000;    // standby status updates
  int max_inflight = 64;            // script calls awaiting Redis before WAL reading pauses
  int chunk_events = 0;             // --chunk-events; 0: not given (batch_events, huge_chunk_events)
  int fanout_budget = 1000;         // orders one batch updates for a rename
  int redis_reply_timeout_s = 120;  // a Redis that leaves a call unanswered this long is reconnected
  int verify_timeout_s = 60;        // verify: how long to wait for the read model to catch up
  std::string log_level = "info";   // trace, debug, info, warn, error
  std::string log_format = "text";  // text, or json: one JSON object per line
};

// Events per Redis batch: --chunk-events, or else 100 on one Redis, where readers wait while a
// batch's EXEC runs and 100 drained a backlog fastest, and 800 on a Redis Cluster, where a batch
// is cut into a transaction per hash slot it writes (up to 64, a bucket's each) and each costs
// Redis a fence: bigger batches amortize them, and each slot's transaction stays a 64th of the
// batch (docs/benchmarks.md, "The drain into a Redis Cluster").
inline constexpr int kBatchEvents = 100, kClusterBatchEvents = 800;
int batch_events(const Config& c, bool cluster);
// Events per chunk of a huge transaction: --chunk-events, or else 100.
int huge_chunk_events(const Config& c);

struct ConfigResult {
  std::optional<Config> config;
  std::string error;  // set when config is empty; "help" or "version" when those were asked for
  std::string help_command;           // with "help": the command whose help was asked for, or ""
  std::vector<std::string> warnings;  // for stderr: the configuration works but is unsafe
};

// A file as read from disk: its text and its permission bits.
struct FileContent {
  std::string text;
  unsigned mode = 0600;
};

using GetEnv = std::function<std::optional<std::string>(const std::string&)>;
using ReadFile = std::function<std::optional<FileContent>(const std::string&)>;

ConfigResult parse_config(const std::vector<std::string>& args, const GetEnv& env, const ReadFile& read_file);

// The file at path, or nullopt if it cannot be read.
std::optional<FileContent> read_file(const std::string& path);

// Why a file holding a secret must not be used ("" if it may): like libpq with ~/.pgpass and
// sslkey, a file that group or others can access is refused. what: "password file", ...
std::string secret_file_problem(const std::string& path, unsigned mode, const std::string& what = "password file");

// What both programs know about the Redis to connect to, from their flags and environment.
struct RedisTarget {
  std::string url;
  std::string user;      // overrides the URL's
  std::string password;  // overrides the URL's
  redis::Tls tls;
};

// The endpoint of a target: the URL with the user, password and TLS files applied. Refused,
// with the option named: TLS files without a rediss:// URL, a certificate without its key or
// a key without its certificate, a file that cannot be read, a key file others can read.
redis::EndpointResult redis_endpoint(const RedisTarget& target, const ReadFile& read_file);

// Whether a Redis URL or a libpq connection string carries a password: on a command line
// every local user can read it (ps, /proc/PID/cmdline).
bool holds_password(const std::string& redis_url_or_conninfo);

// "" for every command, or "run", "status", "verify".
std::string usage(const std::string& command = "");

std::string version();

}  // namespace pgcqrs::sidecar
