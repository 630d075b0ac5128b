// Which Redis Cluster master serves each hash slot, read from CLUSTER SHARDS and corrected by
// the MOVED redirects that a master answers for a slot it no longer serves. Sans-I/O: the
// caller sends CLUSTER SHARDS and hands the reply here.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pgcqrs/sidecar/redis/key_slot.hpp"

struct redisReply;

namespace pgcqrs::sidecar::redis {

// A master as the cluster announces it, and where to connect to it.
struct ClusterNode {
  std::string id;  // "" for a node learnt from a MOVED redirect only
  std::string host;
  int port = 0;  // its TLS port when the map was read for TLS

  bool operator==(const ClusterNode&) const = default;
};

// MOVED slot host:port (the slot's master is now there) or ASK slot host:port (send this one
// command there, after ASKING, while the slot migrates).
struct Redirect {
  enum class Kind { moved, ask } kind;
  uint16_t slot;
  std::string host;  // "" when Redis announced no address: the node the command went to
  int port;
};
// The redirect an error reply's text holds, if it is one.
std::optional<Redirect> parse_redirect(std::string_view error);

class SlotMap {
 public:
  // The masters and their slot ranges from a CLUSTER SHARDS reply, or an
  // error naming what was malformed. A shard without an online master serves no slot. With
  // tls, a master's address is its tls-port, else its port; a master without it is an error.
  struct Result;
  static Result from_shards(const redisReply* reply, bool tls);

  // The master serving slot, or nullptr when none does (the cluster is then down for it).
  const ClusterNode* master(uint16_t slot) const {
    int16_t i = owner_[slot];
    return i < 0 ? nullptr : &masters_[static_cast<size_t>(i)];
  }
  const ClusterNode* master_of(std::string_view key) const { return master(key_slot(key)); }
  const std::vector<ClusterNode>& masters() const { return masters_; }
  // Slots no master serves.
  size_t unserved() const;

  // A MOVED redirect: slot is served by host:port from now on (a node not yet known is added
  // with an empty id, until the next CLUSTER SHARDS names it).
  void moved(uint16_t slot, const std::string& host, int port);

 private:
  std::vector<ClusterNode> masters_;
  std::array<int16_t, kSlotCount> owner_{};
};

struct SlotMap::Result {
  std::optional<SlotMap> map;
  std::string error;
};

}  // namespace pgcqrs::sidecar::redis
