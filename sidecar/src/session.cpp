// The session wires the sidecar's units for one run (docs/architecture.md, "Inside the
// sidecar"): the start-up on a worker thread (startup.hpp: Redis's settings, the verdict, a
// rebuild's copy), then on the loop the WalSource into the TransactionAssembler and the
// BatchApplier, applied batches into the LsnTracker and back as status updates, and the
// Heartbeat; one lifecycle Phase, and shutdown in order.
#include "pgcqrs/sidecar/session.hpp"

#include <hiredis/hiredis.h>
#include <spdlog/spdlog.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <atomic>
#include <cstdlib>
#include <chrono>
#include <optional>
#include <thread>

#include "pgcqrs/core/lsn.hpp"
#include "pgcqrs/core/timestamp.hpp"
#include "pgcqrs/sidecar/heartbeat.hpp"
#include "pgcqrs/sidecar/projection/event.hpp"
#include "pgcqrs/sidecar/batch_applier.hpp"
#include "pgcqrs/sidecar/checkpoint.hpp"
#include "pgcqrs/sidecar/projection/projector.hpp"
#include "pgcqrs/sidecar/projection/transaction_assembler.hpp"
#include "pgcqrs/sidecar/redis/async_client.hpp"
#include "pgcqrs/sidecar/redis/sync_client.hpp"  // hello_commands, describe_reply_error
#include "pgcqrs/sidecar/replication/lsn_tracker.hpp"
#include "pgcqrs/sidecar/replication/pg_handles.hpp"
#include "pgcqrs/sidecar/replication/protocol.hpp"
#include "pgcqrs/sidecar/replication/query_channel.hpp"
#include "pgcqrs/sidecar/replication/wal_source.hpp"
#include "pgcqrs/sidecar/sink/cluster_sink.hpp"
#include "pgcqrs/sidecar/sink/redis_sink.hpp"
#include "pgcqrs/sidecar/startup.hpp"

namespace pgcqrs::sidecar {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using replication::PgConnPtr;
using replication::PgResultPtr;

int64_t mono_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch()).count();
}
int64_t unix_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}
std::string now_iso() { return pgcqrs::format_timestamp(replication::pg_micros_from_unix(unix_us())); }

class SessionImpl : public Session, public std::enable_shared_from_this<SessionImpl> {
 public:
  SessionImpl(asio::io_context& io, const Config& config, const redis::Endpoint& ep, http::Metrics& metrics,
              cluster::FenceLedger& acknowledged, Done done, Streaming streaming)
      : io_(io), config_(config), ep_(ep), metrics_(metrics), acknowledged_(acknowledged), done_(std::move(done)),
        on_streaming_(std::move(streaming)), redis_(io),
        status_timer_(io), stop_timer_(io), wal_(std::make_shared<replication::WalSource>(io)), heartbeat_channel_(std::make_shared<replication::QueryChannel>(io)) {
    projection::AssemblerLimits limits;
    limits.max_events = static_cast<size_t>(huge_chunk_events(config));
    assembler_ = projection::TransactionAssembler(limits);
  }

  ~SessionImpl() override {
    if (worker_.joinable()) {
      if (worker_.get_id() == std::this_thread::get_id())
        worker_.detach();
      else
        worker_.join();
    }
    teardown();
  }

  // The blocking start-up (startup.hpp) runs on a worker thread, so the loop keeps serving
  // /metrics and signals meanwhile.
  void start() override {
    phase_ = Phase::starting;
    work_.emplace(io_.get_executor());
    auto self = shared_from_this();
    // The sinks that write it are gone until this start-up ends: the worker reads a copy.
    worker_ = std::thread([self, acknowledged = acknowledged_] {
      http::Metrics* metrics = &self->metrics_;  // the loop's to touch: said there, while a rebuild runs
      auto result = std::make_shared<StartupResult>(
          run_startup(self->config_, self->ep_, self->cancel_, acknowledged,
                      {[self, metrics] { asio::post(self->io_, [metrics] { metrics->checkpoint_dirty = true; }); },
                       [self, metrics](const snapshot::CopyProgress& p) {
                         asio::post(self->io_, [metrics, p] { metrics->copy = p; });
                       },
                       [self, metrics](std::optional<uint64_t> served, std::optional<uint64_t> copying) {
                         asio::post(self->io_, [metrics, served, copying] {
                           metrics->generation = served;
                           metrics->copy_generation = copying;
                         });
                       }}));
      asio::post(self->io_, [self, result] { self->after_startup(*result); });
    });
  }

  void stop() override {
    switch (phase_) {
      case Phase::starting:
        phase_ = Phase::start_cancelled;
        cancel_ = true;  // an initial copy stops at its next batch; after_prepare finishes
        spdlog::info("stopping: waiting for the start-up step in progress");
        return;
      case Phase::connecting:
        return finish_clean();  // nothing streamed yet: nothing to confirm
      case Phase::streaming:
        break;
      case Phase::start_cancelled:
      case Phase::stopping:
      case Phase::finished:
        return;
    }
    phase_ = Phase::stopping;
    flush_batch();
    spdlog::info("stopping: reading no more WAL, waiting for {} Redis call(s) in flight", inflight());
    wal_->stop_reading();
    stop_deadline_ms_ = mono_ms() + 10000;
    maybe_finish_stop();
  }

 private:
  void after_startup(StartupResult& r) {
    if (worker_.joinable()) worker_.join();
    work_.reset();
    if (r.rebuilt) {
      ++metrics_.rebuilds;
      acknowledged_ = cluster::FenceLedger();  // a copy numbers batches and fences anew
    }
    if (!r.failure) metrics_.checkpoint_dirty = false;  // resumed without the mark, or rebuilt
    if (phase_ == Phase::finished) return;
    bool cancelled = phase_ == Phase::start_cancelled;
    if (r.failure) return cancelled ? finish_clean() : fail(*r.failure);
    start_lsn_ = r.start_lsn;
    keys_ = Keys(config_.key_prefix, r.generation);
    tracker_ = replication::LsnTracker(start_lsn_, r.hold_ms);
    metrics_.checkpoint_lsn = std::max(r.checkpoint, start_lsn_);
    metrics_.confirmed_lsn = start_lsn_;
    if (cancelled) return finish_clean();  // nothing streamed yet: nothing to confirm
    phase_ = Phase::connecting;
    if (auto err = wal_->open(std::move(r.replication), wal_consumer()); !err.empty())
      return fail(Server::postgresql, err);
    if (auto err = heartbeat_channel_->open(std::move(r.heartbeat)); !err.empty()) return fail(Server::postgresql, err);
    if (r.cluster) return connect_cluster(std::move(*r.cluster));
    connect_redis_async();
  }

  // The handlers of a connection to Redis: connected, then `next` (an error fails the
  // session), and lost later (which fails it).
  using RedisEvent = std::function<void(const std::string&)>;
  RedisEvent redis_connected(void (SessionImpl::*next)()) {
    return [weak = weak_from_this(), next](const std::string& err) {
      auto self = weak.lock();
      if (!self || self->finished()) return;
      if (!err.empty()) return self->fail(Server::redis, err);
      ((*self).*next)();
    };
  }
  RedisEvent redis_lost() {
    return [weak = weak_from_this()](const std::string& err) {
      auto self = weak.lock();
      if (!self || self->finished()) return;
      self->fail(Server::redis, err);
    };
  }

  // ---- a Redis Cluster (async): a connection per master, in the sink ------------------------
  void connect_cluster(ClusterStart start) {
    auto cluster = std::make_unique<sink::ClusterSink>(io_, ep_, std::move(start.map), keys_, start.last_batch,
                                                       std::chrono::seconds(config_.redis_reply_timeout_s),
                                                       acknowledged_, metrics_.cluster_resends);
    sink::ClusterSink& s = *cluster;
    sink_ = std::move(cluster);
    cluster_ = true;
    s.connect(redis_connected(&SessionImpl::start_streaming), redis_lost());
  }

  // ---- Redis (async) --------------------------------------------------------------------
  void connect_redis_async() {
    // A Redis that stopped answering (hung, partitioned) would stall the stream for good: the
    // sink ends the connection instead, and the next session resends (what did run is skipped).
    redis_.set_reply_timeout(std::chrono::seconds(config_.redis_reply_timeout_s));
    redis_.connect(ep_, redis_connected(&SessionImpl::on_redis_connected), redis_lost());
  }

  void on_redis_connected() {
    auto weak = weak_from_this();
    for (const auto& cmd : redis::hello_commands(ep_)) {
      redis_.command(cmd, [weak](redisReply* r) {
        auto self = weak.lock();
        if (!self || self->finished()) return;
        if (!r || r->type == REDIS_REPLY_ERROR)
          self->fail(Server::redis, "Redis authentication failed: " + redis::describe_reply_error(r));
      });
    }
    sink_ = std::make_unique<sink::RedisSink>(redis_, keys_);
    start_streaming();
  }

  void start_streaming() {
    auto weak = weak_from_this();
    make_applier();
    phase_ = Phase::streaming;
    streaming_since_ms_ = mono_ms();
    metrics_.streaming = true;
    heartbeat_.emplace(
        heartbeat_channel_, metrics_, config_.slot, static_cast<int64_t>(config_.heartbeat_interval_s) * 1000,
        mono_ms(),
        [weak = weak_from_this()] {
          if (auto self = weak.lock(); self && !self->finished()) self->server_stopping();
        },
        [weak = weak_from_this()](std::function<void(std::optional<Progress>)> done) {
          auto self = weak.lock();
          return self && !self->finished() && self->read_progress(std::move(done));
        });
    spdlog::info("streaming slot {} into Redis {} from {}", config_.slot, ep_.redacted(), pgcqrs::format_lsn(start_lsn_));
    if (on_streaming_) on_streaming_();
    arm_status_timer();
    wal_->read();
  }

  // ---- WAL in ----------------------------------------------------------------------------
  replication::WalSource::Consumer wal_consumer() {
    auto weak = weak_from_this();
    replication::WalSource::Consumer c;
    c.can_take = [weak] {
      auto self = weak.lock();  // backpressure: a Redis reply resumes the source (after_reply)
      return self && self->inflight() < static_cast<size_t>(self->config_.max_inflight) && !self->batch_full();
    };
    c.data = [weak](const replication::XLogData& x) {
      auto self = weak.lock();
      return self && !self->finished() && self->on_wal_data(x);
    };
    c.keepalive = [weak](const replication::Keepalive& k) {
      auto self = weak.lock();
      return self && !self->finished() && self->on_keepalive(k);
    };
    // Group commit: while a call is in flight the batch keeps growing (up to its size limits)
    // and goes when the last reply arrives, so a backlog is applied in full calls rather than
    // one per 16 kB burst; an idle pipeline sends at once.
    c.drained = [weak] {
      if (auto self = weak.lock(); self && !self->finished() && self->inflight() == 0) self->flush_batch();
    };
    c.failed = [weak](const Failure& f) {
      if (auto self = weak.lock(); self && !self->finished()) self->fail(f);
    };
    return c;
  }

  // Returns false when the session ended.
  bool on_keepalive(const replication::Keepalive& k) {
    server_wal_end_ = std::max(server_wal_end_, k.wal_end);
    keepalive_end_ = std::max(keepalive_end_, k.wal_end);
    metrics_.received_lsn = server_wal_end_;
    maybe_advance_idle(k.wal_end);
    if (k.reply_requested) send_status(false);
    return !finished();
  }

  // Returns false when the session ended.
  bool on_wal_data(const replication::XLogData& x) {
    if (heartbeat_) heartbeat_->data_seen(mono_ms());
    server_wal_end_ = std::max(server_wal_end_, x.wal_end);
    metrics_.received_lsn = server_wal_end_;
    tracker_.on_received(x.wal_start);
    // Transaction framing: one XLogData holds a transaction's messages, one per line (up to
    // about 1 MB of them, so backpressure may overshoot max_inflight by one frame's calls).
    // An empty frame or line is unreadable like any other bad message.
    std::string_view frame = x.data;
    for (;;) {
      size_t end = frame.find('\n');
      if (!handle_message(x.wal_start, frame.substr(0, end))) return false;
      if (end == std::string_view::npos) return !finished();
      frame = frame.substr(end + 1);
    }
  }

  // One message of the plugin; returns false when the session ended.
  bool handle_message(uint64_t wal_start, std::string_view text) {
    auto parsed = projection::parse_message(text);
    if (!parsed.message) {
      fail(Server::postgresql, ErrorKind::permanent,
           "unreadable message from the pgcqrs plugin at " + pgcqrs::format_lsn(wal_start) + ": " + parsed.error +
               ": " + std::string(text.substr(0, 300)));
      return false;
    }
    const auto& m = *parsed.message;
    switch (m.kind) {
      case projection::MessageKind::Application:
        metrics_.count_ignored(m.type);
        spdlog::debug("application event {} at {} (seq {}): no read model changes", m.type, m.lsn_text, m.seq);
        break;
      case projection::MessageKind::Invalid:
        metrics_.count_ignored("InvalidMessage");
        spdlog::warn("InvalidMessage at {} (seq {}): {}", m.lsn_text, m.seq, m.reason);
        break;
      case projection::MessageKind::Unknown:
        metrics_.count_ignored(m.type);
        spdlog::warn("event type {} at {} is unknown to this sidecar: ignored", m.type, m.lsn_text);
        break;
      case projection::MessageKind::Domain:
        if (m.cut)
          spdlog::warn("{} at {} (seq {}) has a text value over the plugin's 1 MiB limit: the read model "
                       "keeps its first 1 MiB (docs/events.md, Limits and encodings)", m.type, m.lsn_text, m.seq);
        break;
      default:
        break;
    }
    std::vector<projection::ScriptCall> calls;
    std::string err = assembler_.feed(std::move(*parsed.message), calls);
    if (!err.empty()) {
      fail(Server::postgresql, ErrorKind::permanent, "replication stream framing error: " + err);
      return false;
    }
    for (auto& c : calls) {
      applier_->add(std::move(c));
      if (batch_full()) flush_batch();
    }
    return !finished();
  }

  // Nothing in flight and the server is past us: move the checkpoint, then the slot, so an
  // idle or unrelated workload never makes PostgreSQL keep WAL for us.
  void maybe_advance_idle(uint64_t wal_end) {
    if (!applier_ || assembler_.in_transaction() || !applier_->idle() || wal_end <= tracker_.applied())
      return;
    projection::ScriptCall call;
    call.lsn = wal_end;
    call.lsn_text = pgcqrs::format_lsn(wal_end);
    call.final = true;
    applier_->add(std::move(call));
    flush_batch();
  }

  // ---- Redis out -------------------------------------------------------------------------
  size_t inflight() const { return applier_ ? applier_->inflight() : 0; }
  bool batch_full() const { return applier_ && applier_->full(); }
  void flush_batch() {
    if (applier_) applier_->flush();
  }

  projection::ProjectorContext context() const {
    return {config_.slot, now_iso(), tracker_.flushed(), config_.fanout_budget};
  }

  void make_applier() {
    auto weak = weak_from_this();
    BatchApplier::Events events;
    events.applied = [weak](const BatchApplier::Applied& a) {
      auto self = weak.lock();
      if (!self || self->finished()) return;
      if (a.final_lsn != 0) {
        self->tracker_.on_applied(a.final_lsn, mono_ms());
        if (!a.commit_time.empty()) self->last_applied_commit_time_ = a.commit_time;
      }
      self->after_reply();
    };
    events.refused = [weak](const std::string& verdict, const std::string& detail) {
      if (auto self = weak.lock(); self && !self->finished()) self->stop_for(verdict, detail);
    };
    events.failed = [weak](const std::string& error, bool fatal) {
      if (auto self = weak.lock(); self && !self->finished())
        self->fail(Server::redis, fatal ? ErrorKind::permanent : ErrorKind::transient, error);
    };
    BatchApplier::Limits limits;
    limits.events = static_cast<size_t>(batch_events(config_, cluster_));
    limits.inflight = static_cast<size_t>(config_.max_inflight);
    applier_ = std::make_shared<BatchApplier>(*sink_, metrics_, keys_, limits, std::move(events), [weak] {
      auto self = weak.lock();
      return self ? self->context() : projection::ProjectorContext{};
    });
  }

  // What the checkpoint's state means for the session (the script's words).
  void stop_for(const std::string& status, const std::string& detail) {
    if (status == "nocheckpoint") {
      spdlog::error("Redis lost {} while streaming (restarted without its data?): rebuilding", keys_.checkpoint());
      return fail(Server::redis, "Redis lost its data");
    }
    if (status == "dirty") {
      metrics_.checkpoint_dirty = true;
      spdlog::error("{} is marked dirty (a projection call stopped midway at {}): rebuilding", keys_.checkpoint(),
                    detail);
      return fail(Server::redis, "the read models may hold part of a projection call");
    }
    if (status == "rebuild") {
      spdlog::warn("a rebuild was asked for ({}): starting it; readers keep generation {} until it is done",
                   checkpoint::rebuild_cause(detail), keys_.generation());
      return fail(Server::redis, "a rebuild was asked for");
    }
    if (status == "generation") {
      spdlog::error("{} says readers read generation {}, not {}, which this sidecar writes (another sidecar on this "
                    "prefix?): starting again",
                    keys_.checkpoint(), detail, keys_.generation());
      return fail(Server::redis, "the read models' generation changed under the sidecar");
    }
    spdlog::error("Redis checkpoint {} is behind the confirmed position {}: it lost acknowledged writes; rebuilding",
                  detail, pgcqrs::format_lsn(tracker_.flushed()));
    fail(Server::redis, "Redis is behind the slot");
  }

  // After a batch is written: resume reading, send what accumulated meanwhile.
  void after_reply() {
    if (wal_->paused() && inflight() <= static_cast<size_t>(config_.max_inflight) / 2) wal_->resume();
    if (inflight() == 0) flush_batch();  // what accumulated meanwhile
    // A keepalive that came while batches were in flight could not move the checkpoint: do it
    // now, so a reader's token past unrelated WAL is reached without waiting for another one
    // (the walsender sends the next only after our next status update, a second later).
    if (inflight() == 0) maybe_advance_idle(keepalive_end_);
    if (phase_ == Phase::stopping) maybe_finish_stop();
  }

  // ---- status, heartbeat, lag ------------------------------------------------------------
  // What Redis holds of the read models, for read_model_progress: the checkpoint and the
  // registry of the generation this session writes (the one readers read while it streams).
  bool read_progress(std::function<void(std::optional<Progress>)> done) {
    if (!sink_) return false;
    const std::vector<std::vector<std::string>> reads = {{"HGETALL", keys_.checkpoint()}, {"HGETALL", keys_.registry()}};
    return sink_->read(reads, [done](std::vector<projection::Reply>* replies, const std::string&) {
      if (!replies || replies->size() != 2) return done(std::nullopt);
      auto fields = [](const projection::Reply& r) {
        std::vector<std::pair<std::string, std::string>> out;
        for (size_t i = 0; i + 1 < r.elements.size(); i += 2) out.emplace_back(r.elements[i].str, r.elements[i + 1].str);
        return out;
      };
      if ((*replies)[0].kind == projection::Reply::Kind::Error || (*replies)[1].kind == projection::Reply::Kind::Error)
        return done(std::nullopt);
      const auto cp = fields((*replies)[0]);
      done(progress_of(std::map<std::string, std::string>(cp.begin(), cp.end()), fields((*replies)[1])));
    });
  }

  void arm_status_timer() {
    status_timer_.expires_after(std::chrono::milliseconds(config_.status_interval_ms));
    auto weak = weak_from_this();
    status_timer_.async_wait([weak](const boost::system::error_code& ec) {
      auto self = weak.lock();
      if (!self || ec || self->finished()) return;
      self->on_status_tick();
    });
  }

  void on_status_tick() {
    tracker_.tick(mono_ms());
    send_status(false);
    if (finished()) return;
    update_lag();
    if (heartbeat_) heartbeat_->tick(mono_ms(), phase_ == Phase::stopping);
    if (phase_ == Phase::stopping) maybe_finish_stop();
    if (!finished()) arm_status_timer();
  }

  void update_lag() {
    uint64_t cp = tracker_.applied();
    bool behind = server_wal_end_ > cp && (assembler_.in_transaction() || inflight() > 0);
    metrics_.lag_seconds = 0;
    if (behind && !last_applied_commit_time_.empty()) {
      auto score = projection::timestamp_score(last_applied_commit_time_);
      if (score && (*score)[0] != '+' && (*score)[0] != '-')
        metrics_.lag_seconds = std::max(0.0, (unix_us() / 1000 - std::stoll(*score)) / 1000.0);
    }
    int64_t now = mono_ms();
    if (now - last_progress_log_ms_ >= 10000) {
      last_progress_log_ms_ = now;
      spdlog::info("checkpoint {} confirmed {} server {} lag {} bytes {:.1f} s, {} tx applied, {} in flight",
                   pgcqrs::format_lsn(cp), pgcqrs::format_lsn(tracker_.flushed()), pgcqrs::format_lsn(server_wal_end_),
                   server_wal_end_ > cp ? server_wal_end_ - cp : 0, metrics_.lag_seconds, metrics_.transactions_applied,
                   inflight());
    }
  }

  // A stopping walsender waits until its client confirms everything it sent, and it cannot
  // even send it all while the pipeline holds back (backpressure). The sidecar confirms only
  // what Redis holds, so a stalled Redis or a long fan-out would hold PostgreSQL's shutdown
  // until pg_ctl gives up. When the server ends the query connection the way a shutdown does,
  // the session ends instead: the walsender goes at once, the slot stays where Redis is, and
  // the next session goes on from there.
  void server_stopping() {
    fail(Server::postgresql, "PostgreSQL is shutting down (it ended the query connection, SQLSTATE 57P01): ending "
                             "the session so that it need not wait for Redis; slot " + config_.slot + " stays at " +
                             pgcqrs::format_lsn(tracker_.flushed()));
  }

  void send_status(bool reply_requested) {
    if (!wal_->connected() || finished()) return;
    uint64_t flushed = tracker_.flushed();
    wal_->send_status(std::max(tracker_.written(), flushed), flushed, flushed,
                      replication::pg_micros_from_unix(unix_us()), reply_requested);
    if (finished()) return;
    if (flushed != metrics_.confirmed_lsn) {
      metrics_.confirmed_lsn = flushed;
      spdlog::debug("confirmed {} to slot {}", pgcqrs::format_lsn(flushed), config_.slot);
    }
  }

  // ---- shutdown --------------------------------------------------------------------------
  void maybe_finish_stop() {
    if (finished()) return;
    int64_t now = mono_ms();
    tracker_.tick(now);
    bool drained = inflight() == 0 && tracker_.all_flushed();
    if (!drained && now < stop_deadline_ms_) {
      // Wake at the next due confirmation or shortly, whichever comes first.
      int64_t due = tracker_.next_due_ms();
      int64_t wait = due > now ? std::min<int64_t>(due - now, 100) : 100;
      stop_timer_.expires_after(std::chrono::milliseconds(wait));
      auto weak = weak_from_this();
      stop_timer_.async_wait([weak](const boost::system::error_code& ec) {
        auto self = weak.lock();
        if (!self || ec || self->finished()) return;
        self->maybe_finish_stop();
      });
      return;
    }
    if (!drained) spdlog::warn("stop deadline reached with {} Redis call(s) in flight; they replay on the next start",
                               inflight());
    send_status(false);
    if (finished()) return;
    wal_->end_copy();
    spdlog::info("stopped: confirmed {} to slot {}", pgcqrs::format_lsn(tracker_.flushed()), config_.slot);
    finish_clean();
  }

  // The session ends: stopped on request, or after a failure of one server, by its kind.
  void finish_clean() { finish(std::nullopt); }
  void fail(Server server, const std::string& error) { finish(Failure(server, ErrorKind::transient, error)); }
  void fail(Server server, ErrorKind kind, const std::string& error) { finish(Failure(server, kind, error)); }
  void fail(const Failure& failure) { finish(failure); }

  void finish(std::optional<Failure> failure) {
    if (finished()) return;
    phase_ = Phase::finished;
    metrics_.streaming = false;
    SessionEnd end{!failure, std::move(failure), streaming_since_ms_ != 0 ? mono_ms() - streaming_since_ms_ : 0};
    teardown();
    auto done = done_;
    asio::post(io_, [done, end] { done(end); });
  }

  void teardown() {
    status_timer_.cancel();
    stop_timer_.cancel();
    wal_->close();
    if (applier_) applier_->close();
    if (sink_) sink_->close();
    redis_.close();
    heartbeat_channel_->close();
  }

  asio::io_context& io_;
  Config config_;
  redis::Endpoint ep_;
  http::Metrics& metrics_;
  cluster::FenceLedger& acknowledged_;  // the App's: it outlives sessions
  bool cluster_ = false;                 // the sink is a Redis Cluster's
  Done done_;
  Streaming on_streaming_;
  redis::AsyncClient redis_;
  asio::steady_timer status_timer_, stop_timer_;
  std::shared_ptr<replication::WalSource> wal_;
  std::shared_ptr<replication::QueryChannel> heartbeat_channel_;
  std::optional<Heartbeat> heartbeat_;        // made when streaming starts
  Keys keys_;                                 // of the generation streamed into, once started
  projection::TransactionAssembler assembler_;
  std::unique_ptr<sink::Sink> sink_;        // once Redis is connected: the applier's
  std::shared_ptr<BatchApplier> applier_;  // made once Redis is connected
  replication::LsnTracker tracker_{0, 0};
  uint64_t start_lsn_ = 0;
  uint64_t server_wal_end_ = 0;
  // The newest keepalive's position: every transaction committed before it has been received.
  uint64_t keepalive_end_ = 0;
  std::string last_applied_commit_time_;
  int64_t streaming_since_ms_ = 0;
  int64_t last_progress_log_ms_ = 0, stop_deadline_ms_ = 0;
  // The session's one lifecycle state.
  enum class Phase {
    starting,         // the start-up runs on the worker thread
    start_cancelled,  // stop() came during the start-up: the session ends when it returns
    connecting,       // the start-up is done; Redis is being connected
    streaming,        // following the slot into Redis
    stopping,         // reading no more WAL: waiting (bounded) for Redis, then the last confirmation
    finished,
  };
  Phase phase_ = Phase::starting;
  bool finished() const { return phase_ == Phase::finished; }
  std::thread worker_;
  std::atomic<bool> cancel_{false};
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work_;
};

}  // namespace

std::shared_ptr<Session> Session::create(asio::io_context& io, const Config& config, const redis::Endpoint& endpoint,
                                         http::Metrics& metrics, cluster::FenceLedger& acknowledged, Done done,
                                         Streaming streaming) {
  return std::make_shared<SessionImpl>(io, config, endpoint, metrics, acknowledged, std::move(done),
                                       std::move(streaming));
}

}  // namespace pgcqrs::sidecar
