// The idle heartbeat and the slot watch (heartbeat.hpp) through the query channel.
#include "pgcqrs/sidecar/heartbeat.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace pgcqrs::sidecar {

namespace {
constexpr const char* kAdminShutdown = "57P01";
}

void Heartbeat::tick(int64_t now_ms, bool stopping) {
  if (stopping || channel_->busy()) return;
  http::Metrics* metrics = &metrics_;  // the Runner's: it outlives every session
  // A copy for the callbacks: the channel drops its completions once this heartbeat's session
  // closes it, and the session's callback holds the session weakly.
  auto server_stopping = on_server_stopping_;
  switch (schedule_.next(now_ms)) {
    case HeartbeatSchedule::Due::nothing:
      return;
    case HeartbeatSchedule::Due::heartbeat:
      if (channel_->run("SELECT pg_catalog.pg_logical_emit_message(false, 'pgcqrs-heartbeat', '')", {},
                        [metrics, server_stopping](const replication::QueryChannel::Result& r) {
                          if (r.sqlstate == kAdminShutdown && server_stopping) server_stopping();
                          if (!r.error.empty())
                            spdlog::warn("idle heartbeat failed: {}", r.error);
                          else
                            ++metrics->heartbeats;
                        }))
        schedule_.heartbeat_sent(now_ms);
      return;
    case HeartbeatSchedule::Due::slot_watch:
      // pg_replication_slots and pg_current_wal_lsn() are open to every role.
      if (channel_->run("SELECT pg_catalog.pg_wal_lsn_diff(pg_catalog.pg_current_wal_lsn(), restart_lsn)::bigint "
                        "FROM pg_catalog.pg_replication_slots WHERE slot_name = $1",
                        {slot_}, [metrics, slot = slot_, server_stopping](const replication::QueryChannel::Result& r) {
                          if (r.sqlstate == kAdminShutdown && server_stopping) server_stopping();
                          if (!r.error.empty()) {
                            spdlog::warn("cannot read the WAL retained by slot {}: {}", slot, r.error);
                            return;
                          }
                          if (r.row.empty() || !r.row[0])
                            metrics->slot_wal_retained_bytes.reset();
                          else
                            metrics->slot_wal_retained_bytes = static_cast<uint64_t>(std::max(0LL, std::stoll(*r.row[0])));
                        }))
        schedule_.slot_watched(now_ms);
      return;
    case HeartbeatSchedule::Due::report:
      report(now_ms);
      return;
  }
}

// Finds the table once, then writes the progress when it changed. A role without the rights
// docs/security.md grants gets one warning per distinct error, and the stream goes on.
void Heartbeat::report(int64_t now_ms) {
  schedule_.report_started(now_ms);
  if (!progress_) return;
  auto report = report_;
  auto channel = channel_;
  const std::string slot = slot_;
  auto failed = [report](const std::string& error) {
    if (error == report->failed) return;
    report->failed = error;
    spdlog::warn("cannot report the read models' progress to PostgreSQL (read_model_status): {}", error);
  };
  if (!report->table) {
    channel_->run(kFindProgressTable, {}, [report, failed](const replication::QueryChannel::Result& r) {
      if (!r.error.empty()) return failed(r.error);
      report->table = r.row.empty() || !r.row[0] ? std::string() : *r.row[0];
    });
    return;
  }
  if (report->table->empty()) return;  // extension 1.0: nowhere to report
  progress_([report, channel, slot, failed, now_ms](std::optional<Progress> p) {
    if (!p || channel->busy()) return;  // the next turn
    const auto& sent = report->sent;
    const bool models_moved = !sent || sent->generation != p->generation || sent->models != p->models;
    const bool lsn_moved = sent && sent->lsn != p->lsn;
    if (!models_moved && !(lsn_moved && now_ms - report->sent_ms >= HeartbeatSchedule::kPositionReportMs)) return;
    Progress now = *p;
    channel->run(progress_upsert(*report->table),
                 {slot, now.lsn, std::to_string(now.generation), models_json(now.models)},
                 [report, now, now_ms, failed](const replication::QueryChannel::Result& r) {
                   if (!r.error.empty()) return failed(r.error);
                   report->sent = now;
                   report->sent_ms = now_ms;
                   report->failed.clear();
                 });
  });
}

}  // namespace pgcqrs::sidecar
