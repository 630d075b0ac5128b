// Big-endian framing of the replication sub-protocol messages (protocol-replication.html).
#include "pgcqrs/sidecar/replication/protocol.hpp"

namespace pgcqrs::sidecar::replication {
namespace {

uint64_t read_u64(std::string_view b, size_t at) {
  uint64_t v = 0;
  for (size_t i = 0; i < 8; ++i) v = (v << 8) | static_cast<unsigned char>(b[at + i]);
  return v;
}

void put_u64(std::string& out, uint64_t v) {
  for (int i = 7; i >= 0; --i) out.push_back(static_cast<char>((v >> (i * 8)) & 0xff));
}

}  // namespace

ServerMessage decode_server_message(std::string_view b) {
  if (b.empty()) return DecodeError{"empty CopyData message from the walsender"};
  switch (b[0]) {
    case 'w': {
      if (b.size() < 25)
        return DecodeError{"XLogData message too short: " + std::to_string(b.size()) + " bytes, need 25"};
      XLogData m;
      m.wal_start = read_u64(b, 1);
      m.wal_end = read_u64(b, 9);
      m.send_time = static_cast<int64_t>(read_u64(b, 17));
      m.data = b.substr(25);
      return m;
    }
    case 'k': {
      if (b.size() != 18)
        return DecodeError{"keepalive message must be 18 bytes, got " + std::to_string(b.size())};
      Keepalive m;
      m.wal_end = read_u64(b, 1);
      m.send_time = static_cast<int64_t>(read_u64(b, 9));
      m.reply_requested = b[17] != 0;
      return m;
    }
    default:
      return DecodeError{std::string("unknown replication message type byte 0x") +
                         "0123456789abcdef"[(static_cast<unsigned char>(b[0]) >> 4) & 0xf] +
                         "0123456789abcdef"[static_cast<unsigned char>(b[0]) & 0xf]};
  }
}

std::string encode_status_update(uint64_t written, uint64_t flushed, uint64_t applied,
                                 int64_t client_time, bool reply_requested) {
  std::string out;
  out.reserve(34);
  out.push_back('r');
  put_u64(out, written);
  put_u64(out, flushed);
  put_u64(out, applied);
  put_u64(out, static_cast<uint64_t>(client_time));
  out.push_back(reply_requested ? 1 : 0);
  return out;
}

std::string encode_xlog_data(uint64_t wal_start, uint64_t wal_end, int64_t send_time,
                             std::string_view data) {
  std::string out;
  out.push_back('w');
  put_u64(out, wal_start);
  put_u64(out, wal_end);
  put_u64(out, static_cast<uint64_t>(send_time));
  out.append(data);
  return out;
}

std::string encode_keepalive(uint64_t wal_end, int64_t send_time, bool reply_requested) {
  std::string out;
  out.push_back('k');
  put_u64(out, wal_end);
  put_u64(out, static_cast<uint64_t>(send_time));
  out.push_back(reply_requested ? 1 : 0);
  return out;
}

}  // namespace pgcqrs::sidecar::replication
