// A session's blocking start-up (startup.hpp).
#include "pgcqrs/sidecar/startup.hpp"

#include <hiredis/hiredis.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <memory>
#include <pqxx/pqxx>
#include <set>
#include <string>

#include "pgcqrs/core/lsn.hpp"
#include "pgcqrs/sidecar/checkpoint.hpp"
#include "pgcqrs/sidecar/keys.hpp"
#include "pgcqrs/sidecar/pg_connect.hpp"
#include "pgcqrs/sidecar/projection/projector.hpp"
#include "pgcqrs/sidecar/cluster/recovery.hpp"
#include "pgcqrs/sidecar/redis/deployment.hpp"
#include "pgcqrs/sidecar/redis_settings.hpp"
#include "pgcqrs/sidecar/replication/wal_source.hpp"
#include "pgcqrs/sidecar/snapshot/snapshot_copy.hpp"
#include "pgcqrs/sidecar/startup_decision.hpp"

namespace pgcqrs::sidecar {
namespace {

using replication::PgConnPtr;
using replication::PgResultPtr;

std::string quote_ident(const std::string& s) { return "\"" + s + "\""; }

// What the start-up checks find about Redis's settings is said once per process, not again
// on every reconnect. Sessions run their start-up one after another.
template <typename... Args>
void say_once(spdlog::level::level_enum level, spdlog::format_string_t<Args...> format, Args&&... args) {
  static std::set<std::string> said;
  std::string text = fmt::format(format, std::forward<Args>(args)...);
  if (said.insert(text).second) spdlog::log(level, "{}", text);
}

class Startup {
 public:
  Startup(const Config& config, const redis::Endpoint& ep, const std::atomic<bool>& cancel,
          const cluster::FenceLedger& acknowledged, const StartupHooks& hooks)
      : config_(config), keys_(config.key_prefix), ep_(ep), cancel_(cancel), acknowledged_(acknowledged), hooks_(hooks) {}

  void run(StartupResult& out) {
    redis::Deployment sync(ep_, 5000);  // one Redis or a Redis Cluster
    out.hold_ms = check_redis(sync);
    if (sync.cluster()) {
      finish_intent(sync);
      check_fences(sync);
    }

    namespace F = checkpoint::field;
    CheckpointFound checkpoint;
    std::optional<std::string> retired;
    {
      auto r = sync.command(keys_.checkpoint(), {"HMGET", keys_.checkpoint(), F::lsn, F::dirty, F::layout, F::generation,
                                                 F::rebuilding, F::rebuild, F::retired});
      auto field = [&](size_t i) -> std::optional<std::string> {
        if (r->element[i]->type != REDIS_REPLY_STRING) return std::nullopt;
        return redis::reply_string(r->element[i]);
      };
      checkpoint = {field(0), field(1), field(2), field(3), field(4), field(5)};
      retired = field(6);
    }

    query_conn_ = std::make_unique<PgConnection>(config_.pg);
    snapshot::extension_schema(*query_conn_);
    auto verdict = decide_startup(checkpoint, read_slot(), config_.slot, checkpoint::kLayout);
    if (verdict.action == StartupVerdict::Action::refuse) throw *verdict.failure;
    if (checkpoint.dirty && hooks_.dirty_found) hooks_.dirty_found();
    const bool copying = verdict.action != StartupVerdict::Action::resume;
    say_generations(verdict.serving ? std::optional(verdict.generation) : std::nullopt,
                    copying ? std::optional(verdict.copy_generation) : std::nullopt);
    // A switch whose deletion of the generation it left did not finish (the process stopped).
    if (retired && verdict.serving) retire(sync, *retired, verdict.generation);
    if (!verdict.explanation.empty())
      spdlog::log(verdict.asked ? spdlog::level::info : spdlog::level::err, "{}", verdict.explanation);

    out.replication = replication::connect_replication(config_.pg);
    if (!copying) {
      out.start_lsn = verdict.resume_lsn;
      out.generation = verdict.generation;
      spdlog::info("resuming slot {} from {} (Redis checkpoint {}{})", config_.slot, pgcqrs::format_lsn(out.start_lsn),
                   pgcqrs::format_lsn(verdict.checkpoint_lsn),
                   verdict.generation ? ", generation " + std::to_string(verdict.generation) : "");
    } else {
      out.rebuilt = true;
      out.start_lsn = rebuild(sync, verdict, out.replication.get());
      out.generation = verdict.copy_generation;
      say_generations(verdict.copy_generation, std::nullopt);
      if (verdict.serving) retire(sync, std::to_string(verdict.generation), verdict.copy_generation);
    }
    out.checkpoint = verdict.checkpoint_lsn;
    if (sync.cluster()) {
      auto r = sync.command(keys_.checkpoint(), {"HGET", keys_.checkpoint(), F::batch});
      out.cluster = ClusterStart{sync.cluster_client()->slot_map(),
                                 r->type == REDIS_REPLY_STRING ? cluster::parse_batch(redis::reply_string(r.get())).value_or(0) : 0};
    }
    replication::start_replication(out.replication.get(), config_.slot, out.start_lsn);
    query_conn_.reset();
    // The heartbeat's connection, handed to the loop as a non-blocking QueryChannel: a query
    // that hangs only delays the next one, and the server ends it after 5 s.
    out.heartbeat = pg_connect(config_.pg);
    PgResultPtr r(PQexec(out.heartbeat.get(), "SET statement_timeout = '5s'"));
    if (PQresultStatus(r.get()) != PGRES_COMMAND_OK)
      throw replication::command_failure("cannot set statement_timeout on the heartbeat connection", out.heartbeat.get(),
                                         r.get());
  }

 private:
  // Refuses settings that would lose read-model keys; returns the durability hold. On a
  // cluster every master is asked, and the strictest answer holds.
  int64_t check_redis(redis::Deployment& sync) {
    auto get = [&](const std::string& name) {
      std::vector<std::optional<std::string>> values;
      for (const auto& r : sync.on_each_master({"CONFIG", "GET", name}, true)) {
        // A permission error means "refused", NOAUTH a missing password; LOADING (a restart
        // reading its AOF) or BUSY (a script of the previous run still executing) pass: retry.
        std::string code = redis::reply_error_code(r.get());
        if (code == "NOAUTH")
          throw Failure(Server::redis, ErrorKind::permanent,
                        with_fix("Redis refused CONFIG GET " + name + ": " + redis::describe_reply_error(r.get()),
                                 redis_fix(code)));
        if (r->type == REDIS_REPLY_ERROR && code != "NOPERM")
          throw Failure(Server::redis, ErrorKind::transient,
                        "Redis cannot answer CONFIG GET " + name + " yet: " + redis::describe_reply_error(r.get()));
        if (r->type != REDIS_REPLY_ARRAY || r->elements < 2) values.emplace_back();
        else values.push_back(redis::reply_string(r->element[1]));
      }
      return values;
    };
    const auto policy = get("maxmemory-policy"), listpack = get("hash-max-listpack-value"),
               appendonly = get("appendonly"), appendfsync = get("appendfsync");
    int64_t hold_ms = 0;
    for (size_t m = 0; m < policy.size(); ++m) {
      auto verdict = judge_redis_settings({policy[m], listpack[m], appendonly[m], appendfsync[m]}, config_.allow_eviction);
      if (verdict.refusal) throw *verdict.refusal;
      for (const auto& note : verdict.notes)
        say_once(note.warning ? spdlog::level::warn : spdlog::level::info, "{}", note.text);
      hold_ms = std::max(hold_ms, verdict.hold_ms);
    }
    return hold_ms;
  }

  // Every fence against two things, once any intent is finished:
  // - the checkpoint's `batch`: a fence past it means a batch was applied to that slot whose
  //   intent is gone (the checkpoint's master failed over to a replica without it); the stream
  //   would apply that batch again over the slots that hold it. Not while a copy is under way:
  //   its fences carry the number its mark has not written yet.
  // - what earlier sessions of this process saw acknowledged (the checkpoint's slot by its
  //   `batch`): a fence behind means a failover lost batches.
  // Either way the read models are marked dirty, which rebuilds them.
  void check_fences(redis::Deployment& sync) {
    namespace F = checkpoint::field;
    auto cp = sync.command(keys_.checkpoint(), {"HMGET", keys_.checkpoint(), F::batch, F::rebuilding});
    const auto field = [&](size_t i) -> std::optional<std::string> {
      if (cp->type != REDIS_REPLY_ARRAY || cp->elements <= i || cp->element[i]->type != REDIS_REPLY_STRING)
        return std::nullopt;
      return redis::reply_string(cp->element[i]);
    };
    const std::optional<uint64_t> batch = field(0) ? cluster::parse_batch(*field(0)) : std::nullopt;
    const bool copying = field(1).has_value();

    redis::Deployment::Keyed reads;
    std::vector<uint16_t> slots;
    for (int b = 0; b < Keys::kBuckets; ++b) {
      const uint16_t slot = redis::key_slot(keys_.top_products(b));
      const std::string fence = redis::fence_key(keys_.prefix(), slot);
      reads.push_back({fence, {"HGET", fence, cluster::kFenceField}});
      slots.push_back(slot);
    }
    std::vector<std::pair<uint16_t, std::optional<uint64_t>>> fences;
    auto replies = sync.pipeline(reads);
    for (size_t i = 0; i < replies.size(); ++i)
      fences.emplace_back(slots[i], replies[i]->type == REDIS_REPLY_STRING
                                        ? cluster::parse_batch(redis::reply_string(replies[i].get()))
                                        : std::nullopt);
    std::string why;
    if (batch && !copying)
      for (const auto& [slot, fence] : fences)
        if (fence && *fence > *batch) {
          why = "slot " + std::to_string(slot) + " holds batch " + std::to_string(*fence) + ", past the checkpoint's " +
                std::to_string(*batch) + ": a batch was applied whose intent is lost (a failover of the checkpoint's "
                "master)";
          break;
        }
    if (why.empty()) {
      const uint16_t checkpoint_slot = redis::key_slot(keys_.checkpoint());
      if (acknowledged_.at(checkpoint_slot)) fences.emplace_back(checkpoint_slot, batch);
      const auto lost = acknowledged_.lost(fences);
      if (!lost.empty())
        why = "slot " + std::to_string(lost.front()) + " (and " + std::to_string(lost.size() - 1) +
              " more) lost batches its master had acknowledged: a failover promoted a replica without them";
    }
    if (why.empty()) return;
    spdlog::error("{}; marking the read models dirty", why);
    sync.command(keys_.checkpoint(), {"HSET", keys_.checkpoint(), F::dirty, "failover"});
  }

  // A batch that a stop left between its intent and its finish, on a cluster: applied where
  // its fences are behind, then finished, before anything reads the checkpoint. An intent
  // that cannot be trusted marks the read models dirty, which rebuilds them.
  void finish_intent(redis::Deployment& sync) {
    auto r = cluster::finish_intent(*sync.cluster_client(), keys_.checkpoint(), keys_.prefix());
    if (!r.found) return;
    if (!r.error.empty()) {
      spdlog::error("the batch a stop left unfinished on the cluster cannot be finished ({}): marking the read models dirty",
                    r.error);
      sync.command(keys_.checkpoint(), {"HSET", keys_.checkpoint(), checkpoint::field::dirty, "intent"});
      return;
    }
    spdlog::info("finished batch {}, which a stop left between its slots: {} slot transactions applied again", r.batch,
                 r.applied);
  }

  // What pg_replication_slots says of the slot (the start-up decision's input).
  SlotFound read_slot() {
    SlotFound slot;
    pqxx::nontransaction tx(*query_conn_);
    auto r = tx.exec_params(
        "SELECT plugin, confirmed_flush_lsn::text, wal_status, active FROM pg_catalog.pg_replication_slots "
        "WHERE slot_name = $1 AND database = current_database()",
        config_.slot);
    auto text = [](const pqxx::field& f) -> std::optional<std::string> {
      if (f.is_null()) return std::nullopt;
      return f.as<std::string>();
    };
    if (!r.empty()) {
      slot.exists = true;
      slot.plugin = text(r[0][0]);
      slot.confirmed = text(r[0][1]);
      slot.wal_status = text(r[0][2]);
      slot.active = !r[0][3].is_null() && r[0][3].as<bool>();
      return slot;
    }
    auto other = tx.exec_params("SELECT database FROM pg_catalog.pg_replication_slots WHERE slot_name = $1",
                                config_.slot);
    if (!other.empty()) {
      slot.exists_elsewhere = true;
      slot.other_database = text(other[0][0]);
    }
    return slot;
  }

  void say_generations(std::optional<uint64_t> served, std::optional<uint64_t> copying) {
    if (hooks_.generations) hooks_.generations(served, copying);
  }

  // Deletes the read models of a generation readers left at a switch, then the mark that names
  // it. Never the generation they read now.
  void retire(redis::Deployment& sync, const std::string& retired, uint64_t served) {
    const auto g = checkpoint::parse_generation(retired);
    if (g && *g != served) {
      const auto t0 = std::chrono::steady_clock::now();
      const uint64_t deleted = snapshot::delete_generation(sync, keys_.at(*g));
      spdlog::info("deleted generation {} of the read models, which readers left: {} keys in {} ms", *g, deleted,
                   std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count());
    }
    sync.command(keys_.checkpoint(), {"HDEL", keys_.checkpoint(), checkpoint::field::retired});
  }

  // Makes the slot anew and copies the write model under its snapshot into the next
  // generation; readers keep the one they read, if any, until the copy's last EXEC switches
  // them. Returns the slot's consistent point, where the stream starts.
  uint64_t rebuild(redis::Deployment& sync, const StartupVerdict& verdict, PGconn* repl) {
    const Keys target = keys_.at(verdict.copy_generation);
    if (verdict.serving) {
      spdlog::warn("rebuilding the read models ({}) into generation {}; readers keep generation {} until it is done",
                   verdict.reason, verdict.copy_generation, verdict.generation);
      // Said first, so that a stop anywhere below is told apart from lost data at the next start.
      sync.command(keys_.checkpoint(),
                   {"HSET", keys_.checkpoint(), checkpoint::field::rebuilding, std::to_string(verdict.copy_generation)});
      const uint64_t deleted = snapshot::delete_generation(sync, target);  // what a stopped rebuild left
      if (deleted) spdlog::info("deleted {} keys of generation {} that a stopped rebuild left", deleted, verdict.copy_generation);
    } else {
      spdlog::warn("rebuilding the read models ({}); readers have none until the copy is done", verdict.reason);
      const uint64_t deleted = snapshot::delete_every_generation(sync, keys_);
      spdlog::info("deleted {} read-model keys from Redis", deleted);
    }
    if (verdict.action == StartupVerdict::Action::rebuild) {
      pqxx::nontransaction tx(*query_conn_);
      tx.exec_params("SELECT pg_catalog.pg_drop_replication_slot($1)", config_.slot);
      spdlog::info("dropped replication slot {}", config_.slot);
    }
    std::string cmd = "CREATE_REPLICATION_SLOT " + quote_ident(config_.slot) + " LOGICAL pgcqrs (SNAPSHOT 'export')";
    PgResultPtr r(PQexec(repl, cmd.c_str()));
    if (PQresultStatus(r.get()) != PGRES_TUPLES_OK)
      throw replication::command_failure("cannot create replication slot " + config_.slot, repl, r.get());
    auto point = pgcqrs::parse_lsn(PQgetvalue(r.get(), 0, 1));
    std::string snapshot_name = PQgetvalue(r.get(), 0, 2);
    if (!point)
      throw Failure(Server::postgresql, ErrorKind::transient,
                    "CREATE_REPLICATION_SLOT returned a malformed consistent point");
    spdlog::info("created slot {} at consistent point {}, copying the write model under snapshot {}", config_.slot,
                 pgcqrs::format_lsn(*point), snapshot_name);
    auto t0 = std::chrono::steady_clock::now();
    // The replication connection stays idle (keeping the snapshot) until the copy is done.
    PgConnection copy_conn(config_.pg);
    // Progress on the log every 10 s (a copy of millions of orders takes minutes), and to
    // /metrics through the hook about once a second.
    auto logged = std::chrono::steady_clock::now();
    auto progress = [&](const snapshot::CopyProgress& p) {
      if (hooks_.copy_progress) hooks_.copy_progress(p);
      const auto now = std::chrono::steady_clock::now();
      if (p.running && p.seconds > 0 && now - logged >= std::chrono::seconds(10)) {
        logged = now;
        spdlog::info("copying the write model: {}", p.describe());
      }
    };
    auto stats = snapshot::copy_snapshot(copy_conn, snapshot_name, sync, target, config_.slot, *point,
                                         verdict.serving ? std::optional(verdict.generation) : std::nullopt,
                                         huge_chunk_events(config_), &cancel_, progress);
    spdlog::info("snapshot copied in {} ms: {} users, {} products, {} orders, {} items, {} declarative read "
                 "models over {} rows ({} Redis calls, {} read rounds); checkpoint {}, readers read generation {}",
                 std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count(),
                 stats.users, stats.products, stats.orders, stats.items, stats.models, stats.model_rows, stats.calls,
                 stats.read_rounds,
                 pgcqrs::format_lsn(*point), verdict.copy_generation);
    return *point;
  }

  const Config& config_;
  const Keys keys_;
  const redis::Endpoint& ep_;
  const std::atomic<bool>& cancel_;
  const cluster::FenceLedger& acknowledged_;
  const StartupHooks& hooks_;
  std::unique_ptr<PgConnection> query_conn_;  // the start-up's queries
};

}  // namespace

StartupResult run_startup(const Config& config, const redis::Endpoint& endpoint, const std::atomic<bool>& cancel,
                          const cluster::FenceLedger& acknowledged, const StartupHooks& hooks) {
  StartupResult result;
  try {
    Startup(config, endpoint, cancel, acknowledged, hooks).run(result);
    return result;
  } catch (const Failure& f) {
    result.failure = f;
  } catch (const redis::RedisError& e) {
    result.failure = failure_of(e);
  } catch (const pqxx::broken_connection& e) {
    result.failure =
        Failure(Server::postgresql, ErrorKind::transient, std::string("PostgreSQL connection failed: ") + e.what());
  } catch (const pqxx::sql_error& e) {
    result.failure = failure_of(e);
  } catch (const std::exception& e) {
    result.failure = Failure(Server::postgresql, ErrorKind::transient, e.what());
  }
  result.replication.reset();  // what a failed start-up opened is closed here, on its thread
  result.heartbeat.reset();
  return result;
}

}  // namespace pgcqrs::sidecar
