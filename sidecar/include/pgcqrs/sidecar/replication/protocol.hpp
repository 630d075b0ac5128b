// The streaming replication CopyBoth sub-protocol as plain bytes: XLogData and primary
// keepalives in, standby status updates out. Sans-I/O: unit tests drive it byte by byte.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "pgcqrs/core/timestamp.hpp"

namespace pgcqrs::sidecar::replication {

// PostgreSQL timestamps count microseconds since 2000-01-01 00:00:00 UTC.
constexpr int64_t kPgEpochOffsetMicros = pgcqrs::unix_to_pg_epoch_micros;

struct XLogData {          // 'w'
  uint64_t wal_start = 0;  // start of the data in the WAL
  uint64_t wal_end = 0;    // the server's current end of WAL
  int64_t send_time = 0;   // server clock, PostgreSQL microseconds
  std::string_view data;   // the output plugin's message (points into the input buffer)
};

struct Keepalive {         // 'k'
  uint64_t wal_end = 0;
  int64_t send_time = 0;
  bool reply_requested = false;
};

struct DecodeError {
  std::string message;
};

using ServerMessage = std::variant<XLogData, Keepalive, DecodeError>;

// Decodes one CopyData payload sent by the walsender.
ServerMessage decode_server_message(std::string_view bytes);

// Encodes a standby status update ('r'): positions written, flushed and applied.
std::string encode_status_update(uint64_t written, uint64_t flushed, uint64_t applied,
                                 int64_t client_time_pg_micros, bool reply_requested);

// Encoders for the server side, for tests and tools.
std::string encode_xlog_data(uint64_t wal_start, uint64_t wal_end, int64_t send_time,
                             std::string_view data);
std::string encode_keepalive(uint64_t wal_end, int64_t send_time, bool reply_requested);

// Unix microseconds <-> PostgreSQL microseconds.
inline int64_t pg_micros_from_unix(int64_t unix_micros) { return unix_micros - kPgEpochOffsetMicros; }
inline int64_t unix_micros_from_pg(int64_t pg_micros) { return pg_micros + kPgEpochOffsetMicros; }

}  // namespace pgcqrs::sidecar::replication
