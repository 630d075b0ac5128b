// The Runner owns the io_context, the signal handling and the retry loop around Sessions.
#include "pgcqrs/sidecar/app.hpp"
#include "pgcqrs/sidecar/backoff.hpp"

#include <hiredis/hiredis.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <ctime>
#include <iostream>
#include <pqxx/pqxx>
#include <map>

#include "pgcqrs/sidecar/failure.hpp"
#include "pgcqrs/sidecar/failure_run.hpp"
#include "pgcqrs/sidecar/http/server.hpp"
#include "pgcqrs/sidecar/pg_connect.hpp"
#include "pgcqrs/sidecar/progress_report.hpp"
#include "pgcqrs/sidecar/redis/deployment.hpp"
#include "pgcqrs/sidecar/session.hpp"
#include "pgcqrs/sidecar/verify/verify.hpp"
#include "pgcqrs/core/lsn.hpp"
#include "pgcqrs/sidecar/checkpoint.hpp"
#include "pgcqrs/sidecar/keys.hpp"

namespace pgcqrs::sidecar {
namespace {

namespace asio = boost::asio;

int64_t mono_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

std::optional<redis::Endpoint> endpoint_of(const Config& config) {
  auto parsed = redis_endpoint({config.redis, config.redis_user, config.redis_password, config.redis_tls}, read_file);
  if (!parsed.endpoint) spdlog::error("{}", parsed.error);
  return parsed.endpoint;
}

class Runner {
 public:
  Runner(const Config& config, const redis::Endpoint& ep) : config_(config), ep_(ep), signals_(io_, SIGINT, SIGTERM), retry_(io_) {
    metrics_.start_time_seconds =
        std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  }

  int run() {
    if (!config_.http.empty()) {
      try {
        http_ = std::make_unique<http::Server>(io_, config_.http, metrics_);
        spdlog::info("serving /metrics and /healthz on {}", config_.http);
      } catch (const std::exception& e) {
        spdlog::error("cannot serve HTTP on {}: {}", config_.http, e.what());
        return 2;
      }
    }
    wait_signal();
    asio::post(io_, [this] { start_session(); });
    io_.run();
    return exit_code_;
  }

 private:
  void wait_signal() {
    signals_.async_wait([this](const boost::system::error_code& ec, int sig) {
      if (ec) return;
      if (stopping_) {
        spdlog::warn("second signal: exiting at once; unconfirmed work replays on the next start");
        _exit(1);
      }
      stopping_ = true;
      spdlog::info("signal {}: finishing what is in flight", sig);
      retry_.cancel();
      if (session_)
        session_->stop();
      else
        io_.stop();
      wait_signal();
    });
  }

  void start_session() {
    if (stopping_) return io_.stop();
    session_ = Session::create(
        io_, config_, ep_, metrics_, acknowledged_, [this](const SessionEnd& end) { on_session_end(end); },
        [this] { on_streaming(); });
    session_->start();
  }

  void on_streaming() {
    if (auto r = failures_.on_streaming(mono_ms()))
      spdlog::info("recovered after {} failed attempt(s) in {:.1f} s: streaming again", r->attempts,
                   r->failing_ms / 1000.0);
  }

  void on_session_end(const SessionEnd& end) {
    session_.reset();
    if (end.clean || stopping_) {
      if (!end.clean) spdlog::warn("stopped after: {}", end.failure->what());
      exit_code_ = 0;
      http_.reset();
      io_.stop();
      return;
    }
    const Failure& failure = *end.failure;
    if (failure.permanent()) {
      spdlog::critical("{}", failure.what());
      exit_code_ = 2;
      http_.reset();
      io_.stop();
      return;
    }
    if (failure.server == Server::redis)
      ++metrics_.reconnects_redis;
    else
      ++metrics_.reconnects_pg;
    int64_t delay_ms = backoff_.next(end.streamed_ms);
    if (failures_.on_failure(failure.what(), mono_ms()) == FailureRun::Say::warning)
      spdlog::warn("{}; reconnecting in {} ms (retries that fail the same way are logged at debug level)",
                   failure.what(), delay_ms);
    else
      spdlog::debug("{}; attempt {} failed, reconnecting in {} ms", failure.what(), failures_.attempts(), delay_ms);
    retry_.expires_after(std::chrono::milliseconds(delay_ms));
    retry_.async_wait([this](const boost::system::error_code& ec) {
      if (ec) {
        if (stopping_) io_.stop();
        return;
      }
      start_session();
    });
  }

  Config config_;
  redis::Endpoint ep_;
  asio::io_context io_;
  asio::signal_set signals_;
  asio::steady_timer retry_;
  http::Metrics metrics_;
  std::unique_ptr<http::Server> http_;
  // On a Redis Cluster, the batch each slot acknowledged, across sessions: a session that a
  // failover ended is followed by one that can tell whether the new master lost some.
  cluster::FenceLedger acknowledged_;
  std::shared_ptr<Session> session_;
  bool stopping_ = false;
  Backoff backoff_;
  FailureRun failures_;
  int exit_code_ = 0;
};

}  // namespace

int run(const Config& config) {
  auto ep = endpoint_of(config);
  if (!ep) return 2;
  spdlog::info("pgcqrs-sidecar: slot {}, Redis {}", config.slot, ep->redacted());
  Runner runner(config, *ep);
  return runner.run();
}

// What status prints for a server it could not ask: the cause, and for a permanent one the fix.
std::string cause_of(const std::exception& e) {
  if (auto* f = dynamic_cast<const Failure*>(&e)) return f->what();
  if (auto* r = dynamic_cast<const redis::RedisError*>(&e)) return failure_of(*r).what();
  if (auto* q = dynamic_cast<const pqxx::sql_error*>(&e)) return failure_of(*q).what();
  return one_line(e.what());
}

int status(const Config& config) {
  auto ep = endpoint_of(config);
  if (!ep) return 2;
  int rc = 0;
  std::optional<uint64_t> server_lsn, checkpoint;
  // The declarative read models (extension 1.1 on), by name: their versions.
  std::optional<std::map<std::string, int64_t>> registered;
  try {
    PgConnection conn(config.pg);
    pqxx::nontransaction tx(conn);
    server_lsn = pgcqrs::parse_lsn(tx.exec("SELECT pg_catalog.pg_current_wal_lsn()::text")[0][0].as<std::string>());
    // The table of extension 1.1 on, in the extension's schema (asked in two steps: a
    // to_regclass of a schema the role may not use is an error, not NULL).
    const auto schema = tx.exec(
        "SELECT pg_catalog.quote_ident(n.nspname) FROM pg_catalog.pg_extension e "
        "JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'pgcqrs'");
    if (!schema.empty()) {
      const std::string table = schema[0][0].as<std::string>() + ".read_models";
      if (tx.exec1("SELECT pg_catalog.to_regclass(" + tx.quote(table) + ") IS NOT NULL")[0].as<bool>()) {
        registered.emplace();
        for (const auto& row : tx.exec("SELECT name, version FROM " + table))
          (*registered)[row[0].as<std::string>()] = row[1].as<int64_t>();
      }
    }
    auto r = tx.exec_params(
        "SELECT plugin, CASE WHEN active THEN 'yes' ELSE 'no' END, confirmed_flush_lsn::text, restart_lsn::text, wal_status, "
        "pg_catalog.pg_wal_lsn_diff(pg_catalog.pg_current_wal_lsn(), restart_lsn)::bigint "
        "FROM pg_catalog.pg_replication_slots WHERE slot_name = $1",
        config.slot);
    std::cout << "server WAL:  " << pgcqrs::format_lsn(server_lsn.value_or(0)) << "\n";
    if (r.empty()) {
      std::cout << "slot:        " << config.slot << " does not exist\n";
      rc = 1;
    } else {
      auto txt = [&](int i) { return r[0][i].is_null() ? std::string("-") : r[0][i].as<std::string>(); };
      std::cout << "slot:        " << config.slot << " (plugin " << txt(0) << ", active " << txt(1) << ", wal_status "
                << txt(4) << ")\n"
                << "confirmed:   " << txt(2) << "\n"
                << "restart:     " << txt(3) << " (" << txt(5) << " bytes of WAL retained)\n";
    }
  } catch (const std::exception& e) {
    std::cout << "PostgreSQL:  " << cause_of(e) << "\n";
    rc = 1;
  }
  try {
    redis::Deployment sync(*ep, 5000);  // one Redis or a Redis Cluster
    const Keys keys(config.key_prefix);
    auto r = sync.command(keys.checkpoint(), {"HGETALL", keys.checkpoint()});
    std::map<std::string, std::string> f;
    for (size_t i = 0; i + 1 < r->elements; i += 2)
      f[redis::reply_string(r->element[i])] = redis::reply_string(r->element[i + 1]);
    namespace F = checkpoint::field;
    if (f.count(F::lsn) == 0) {
      std::cout << "checkpoint:  none (Redis " << ep->redacted() << " holds no read models"
                << (keys.prefix().empty() ? "" : " under key prefix " + keys.prefix()) << ")\n";
      rc = 1;
    } else {
      checkpoint = pgcqrs::parse_lsn(f[F::lsn]);
      std::cout << "checkpoint:  " << f[F::lsn] << " (slot " << f[F::slot] << ", updated " << f[F::updated_at] << ")\n";
      std::cout << "generation:  " << (f.count(F::generation) ? f[F::generation] : "0") << " (what readers read)";
      if (f.count(F::rebuilding)) std::cout << "; rebuilding generation " << f[F::rebuilding];
      if (f.count(F::rebuild)) std::cout << "; a rebuild was asked for at " << f[F::rebuild];
      if (f.count(F::retired)) std::cout << "; deleting generation " << f[F::retired];
      if (f.count(F::dirty)) std::cout << "; marked dirty at " << f[F::dirty] << " (a rebuild is due)";
      std::cout << "\n";
      // The declarative models readers find, of those registered: one that is not there yet
      // comes with the rebuild its registration asked for, and a replaced one's new version
      // with the rebuild its replacement asked for.
      const auto generation = checkpoint::parse_generation(f.count(F::generation) ? f[F::generation] : "0");
      const std::string registry = keys.at(generation.value_or(0)).registry();
      std::vector<std::pair<std::string, std::string>> plans;
      auto reply = sync.command(registry, {"HGETALL", registry});  // the documented ACL has no HKEYS
      for (size_t i = 0; reply->type == REDIS_REPLY_ARRAY && i + 1 < reply->elements; i += 2)
        plans.emplace_back(redis::reply_string(reply->element[i]), redis::reply_string(reply->element[i + 1]));
      const std::map<std::string, int64_t> in_redis = model_versions(plans);
      if (registered && (!registered->empty() || !in_redis.empty())) {
        std::string live, waiting, replaced;
        for (const auto& [name, version] : *registered) {
          auto held = in_redis.find(name);
          if (held == in_redis.end())
            waiting += name + " ";
          else if (held->second == version)
            live += name + " ";
          else
            replaced += name + " (version " + std::to_string(held->second) + " in Redis, " + std::to_string(version) +
                        " registered) ";
        }
        std::cout << "read models: " << (live.empty() ? "none " : live) << "(declarative, in Redis)";
        if (!waiting.empty()) std::cout << "; registered, not yet in Redis: " << waiting << "(a rebuild copies them)";
        if (!replaced.empty()) std::cout << "; replaced: " << replaced << "(a rebuild copies the new versions)";
        std::cout << "\n";
      }
    }
  } catch (const std::exception& e) {
    std::cout << "Redis:       " << cause_of(e) << "\n";
    rc = 1;
  }
  if (server_lsn && checkpoint)
    std::cout << "lag:         " << (*server_lsn > *checkpoint ? *server_lsn - *checkpoint : 0) << " bytes\n";
  return rc;
}

int ask_rebuild(const Config& config) {
  auto ep = endpoint_of(config);
  if (!ep) return 2;
  try {
    redis::Deployment sync(*ep, 5000);  // one Redis or a Redis Cluster
    const Keys keys(config.key_prefix);
    namespace F = checkpoint::field;
    // A checkpoint without lsn vouches for nothing: the next start copies anyway, and a
    // field written here would make a checkpoint out of nothing.
    auto has = sync.command(keys.checkpoint(), {"HMGET", keys.checkpoint(), F::lsn}, true);
    if (has->type != REDIS_REPLY_ARRAY)
      throw redis::RedisError("Redis HMGET " + keys.checkpoint() + " failed: " + redis::describe_reply_error(has.get()),
                              redis::reply_error_code(has.get()));
    if (has->elements != 1 || has->element[0]->type != REDIS_REPLY_STRING) {
      std::cout << "Redis " << ep->redacted() << " holds no read models"
                << (keys.prefix().empty() ? "" : " under key prefix " + keys.prefix())
                << " (no " << keys.checkpoint() << "): the sidecar copies the write model when it starts\n";
      return 1;
    }
    const auto now = std::chrono::system_clock::now();
    const auto t = std::chrono::system_clock::to_time_t(now);
    std::tm utc{};
    gmtime_r(&t, &utc);
    char at[32];
    std::strftime(at, sizeof at, "%Y-%m-%dT%H:%M:%SZ", &utc);
    auto r = sync.command(keys.checkpoint(), {"HSET", keys.checkpoint(), F::rebuild, at}, true);
    if (r->type == REDIS_REPLY_ERROR) throw redis::RedisError("Redis HSET " + keys.checkpoint() + " failed: " +
                                                              redis::describe_reply_error(r.get()),
                                                              redis::reply_error_code(r.get()));
    std::cout << "rebuild asked for at " << at << ": the running sidecar starts it with its next batch (at most a "
                 "heartbeat interval away), or the next sidecar to start does; readers keep the current read "
                 "models until the new ones replace them (pgcqrs-sidecar status shows the progress)\n";
    return 0;
  } catch (const std::exception& e) {
    std::cout << "Redis:       " << cause_of(e) << "\n";
    return 2;
  }
}

int run_verify(const Config& config) {
  auto ep = endpoint_of(config);
  if (!ep) return 2;
  verify::Options options;
  options.pg = config.pg;
  options.redis = *ep;
  options.timeout_s = config.verify_timeout_s;
  options.key_prefix = config.key_prefix;
  return verify::run(options);
}

}  // namespace pgcqrs::sidecar
