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
  }
}

}  // namespace pgcqrs::sidecar
