// The idle heartbeat and the slot's retained WAL, on the session's query connection and off
// the event loop's critical path (QueryChannel: non-blocking libpq).
// - Heartbeat: while no WAL data has come for a period, write a non-transactional logical
//   message, so that the slot (and the checkpoint) move on an idle database and PostgreSQL
//   does not keep WAL for us.
// - Slot watch: every few seconds, pg_current_wal_lsn() minus the slot's restart_lsn, the WAL
//   PostgreSQL keeps for it, exported as pgcqrs_slot_wal_retained_bytes.
// - Progress report: every few seconds, what Redis holds of the read models, written to
//   read_model_progress when the models changed, or the checkpoint did and the last report is
//   a minute old (progress_report.hpp).
// HeartbeatSchedule decides what is due (pure, unit-tested); Heartbeat runs it.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "pgcqrs/sidecar/http/metrics.hpp"
#include "pgcqrs/sidecar/progress_report.hpp"
#include "pgcqrs/sidecar/replication/query_channel.hpp"

namespace pgcqrs::sidecar {

class HeartbeatSchedule {
 public:
  static constexpr int64_t kSlotWatchMs = 5000;
  static constexpr int64_t kReportMs = 5000;
  // A report that only moves the checkpoint is written at most this often: each one writes
  // WAL, which moves the checkpoint again.
  static constexpr int64_t kPositionReportMs = 60000;
  enum class Due { nothing, heartbeat, slot_watch, report };

  // heartbeat_ms <= 0 disables the heartbeat; now_ms is when streaming started.
  HeartbeatSchedule(int64_t heartbeat_ms, int64_t now_ms)
      : heartbeat_ms_(heartbeat_ms), last_data_ms_(now_ms), last_heartbeat_ms_(now_ms) {}

  // The slot is watched at once, then every kSlotWatchMs; the progress is reported next, then
  // every kReportMs; the heartbeat takes every other turn. Those two first: a heartbeat as
  // often as the ticks (--heartbeat-interval 1, an idle database) would take every turn, and
  // it loses nothing by waiting one tick.
  Due next(int64_t now_ms) const {
    if (!watched_ || now_ms - last_watch_ms_ >= kSlotWatchMs) return Due::slot_watch;
    if (!reported_ || now_ms - last_report_ms_ >= kReportMs) return Due::report;
    if (heartbeat_ms_ > 0 && now_ms - last_data_ms_ >= heartbeat_ms_ && now_ms - last_heartbeat_ms_ >= heartbeat_ms_)
      return Due::heartbeat;
    return Due::nothing;
  }
  void data_seen(int64_t now_ms) { last_data_ms_ = now_ms; }
  void heartbeat_sent(int64_t now_ms) { last_heartbeat_ms_ = now_ms; }
  void slot_watched(int64_t now_ms) {
    watched_ = true;
    last_watch_ms_ = now_ms;
  }
  void report_started(int64_t now_ms) {
    reported_ = true;
    last_report_ms_ = now_ms;
  }

 private:
  int64_t heartbeat_ms_;
  int64_t last_data_ms_, last_heartbeat_ms_;
  bool watched_ = false;
  int64_t last_watch_ms_ = 0;
  bool reported_ = false;
  int64_t last_report_ms_ = 0;
};

class Heartbeat {
 public:
  // Reads what Redis holds of the read models and runs the callback with it (nullopt: nothing
  // to report, or Redis could not say); false when it cannot read now.
  using ProgressSource = std::function<bool(std::function<void(std::optional<Progress>)>)>;
  // on_server_stopping runs when the server ends the query connection because it shuts down
  // (SQLSTATE 57P01; pg_terminate_backend() says the same, so it is a hint, not a proof).
  Heartbeat(std::shared_ptr<replication::QueryChannel> channel, http::Metrics& metrics, std::string slot,
            int64_t heartbeat_ms, int64_t now_ms, std::function<void()> on_server_stopping,
            ProgressSource progress = {})
      : channel_(std::move(channel)),
        metrics_(metrics),
        slot_(std::move(slot)),
        schedule_(heartbeat_ms, now_ms),
        on_server_stopping_(std::move(on_server_stopping)),
        progress_(std::move(progress)),
        report_(std::make_shared<Report>()) {}

  void data_seen(int64_t now_ms) { schedule_.data_seen(now_ms); }
  // Called at every status tick: starts what is due unless a query is still under way (then
  // it stays due for the next tick). Nothing while the session stops.
  void tick(int64_t now_ms, bool stopping);

 private:
  std::shared_ptr<replication::QueryChannel> channel_;
  http::Metrics& metrics_;
  std::string slot_;
  HeartbeatSchedule schedule_;
  std::function<void()> on_server_stopping_;
  ProgressSource progress_;
  // Shared with the callbacks, which may run after a report was started.
  struct Report {
    std::optional<std::string> table;  // once found: "" when the extension has none (1.0)
    std::optional<Progress> sent;      // the last one written
    int64_t sent_ms = 0;               // and when
    std::string failed;                // the last error logged, logged once
  };
  std::shared_ptr<Report> report_;
  void report(int64_t now_ms);
};

}  // namespace pgcqrs::sidecar
