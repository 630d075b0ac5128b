#include "pgcqrs/sidecar/redis/slot_map.hpp"

#include <hiredis/hiredis.h>

#include <charconv>

namespace pgcqrs::sidecar::redis {
namespace {

// hiredis 0.14 (Debian 12's) speaks RESP2 only, where a map is a flat array of names and values.
bool is_map(const redisReply* r) { return r && r->type == REDIS_REPLY_ARRAY && r->elements % 2 == 0; }

std::string_view text(const redisReply* r) {
  if (r && (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS))
    return {r->str, r->len};
  return {};
}

// The value of field name in a map.
const redisReply* field(const redisReply* map, std::string_view name) {
  for (size_t i = 0; i + 1 < map->elements; i += 2)
    if (text(map->element[i]) == name) return map->element[i + 1];
  return nullptr;
}

std::optional<long long> integer(const redisReply* r) {
  if (!r) return std::nullopt;
  if (r->type == REDIS_REPLY_INTEGER) return r->integer;
  std::string_view t = text(r);
  long long v = 0;
  auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
  if (t.empty() || ec != std::errc() || end != t.data() + t.size()) return std::nullopt;
  return v;
}

bool parse_port(std::string_view s, int& port) {
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), port);
  return !s.empty() && ec == std::errc() && end == s.data() + s.size() && port > 0 && port < 65536;
}

}  // namespace

std::optional<Redirect> parse_redirect(std::string_view error) {
  Redirect r{};
  if (error.starts_with("MOVED "))
    r.kind = Redirect::Kind::moved, error.remove_prefix(6);
  else if (error.starts_with("ASK "))
    r.kind = Redirect::Kind::ask, error.remove_prefix(4);
  else
    return std::nullopt;
  size_t space = error.find(' ');
  if (space == std::string_view::npos) return std::nullopt;
  unsigned slot = 0;
  auto [end, ec] = std::from_chars(error.data(), error.data() + space, slot);
  if (ec != std::errc() || end != error.data() + space || slot >= kSlotCount) return std::nullopt;
  r.slot = static_cast<uint16_t>(slot);
  std::string_view address = error.substr(space + 1);
  size_t colon = address.rfind(':');  // an IPv6 address has colons of its own
  if (colon == std::string_view::npos || !parse_port(address.substr(colon + 1), r.port)) return std::nullopt;
  r.host = std::string(address.substr(0, colon));
  return r;
}

SlotMap::Result SlotMap::from_shards(const redisReply* reply, bool tls) {
  if (!reply || reply->type != REDIS_REPLY_ARRAY)
    return {std::nullopt, "CLUSTER SHARDS did not answer an array of shards"};
  SlotMap m;
  m.owner_.fill(-1);
  for (size_t s = 0; s < reply->elements; ++s) {
    const redisReply* shard = reply->element[s];
    std::string where = "CLUSTER SHARDS shard " + std::to_string(s);
    if (!is_map(shard)) return {std::nullopt, where + " is not a map"};
    const redisReply* slots = field(shard, "slots");
    const redisReply* nodes = field(shard, "nodes");
    if (!slots || slots->type != REDIS_REPLY_ARRAY || slots->elements % 2 != 0)
      return {std::nullopt, where + " has no list of slot ranges"};
    if (!nodes || nodes->type != REDIS_REPLY_ARRAY) return {std::nullopt, where + " has no list of nodes"};
    std::optional<ClusterNode> master;
    for (size_t n = 0; n < nodes->elements; ++n) {
      const redisReply* node = nodes->element[n];
      if (!is_map(node)) return {std::nullopt, where + " node " + std::to_string(n) + " is not a map"};
      if (text(field(node, "role")) != "master" || text(field(node, "health")) != "online") continue;
      ClusterNode c;
      c.id = std::string(text(field(node, "id")));
      c.host = std::string(text(field(node, "ip")));
      c.port = static_cast<int>(integer(field(node, tls ? "tls-port" : "port")).value_or(0));
      if (c.host.empty() || c.port <= 0 || c.port > 65535)
        return {std::nullopt, where + " names master " + c.id + " without an ip and " + (tls ? "tls-port" : "port")};
      master = std::move(c);
    }
    if (!master) continue;  // failed over, or not yet: no slot of it is served
    auto index = static_cast<int16_t>(m.masters_.size());
    for (size_t i = 0; i < slots->elements; i += 2) {
      auto first = integer(slots->element[i]), last = integer(slots->element[i + 1]);
      if (!first || !last || *first < 0 || *last >= kSlotCount || *first > *last)
        return {std::nullopt, where + " has a slot range out of 0-16383"};
      for (long long slot = *first; slot <= *last; ++slot) m.owner_[static_cast<size_t>(slot)] = index;
    }
    m.masters_.push_back(std::move(*master));
  }
  return {std::move(m), {}};
}

size_t SlotMap::unserved() const {
  size_t n = 0;
  for (int16_t i : owner_) n += i < 0;
  return n;
}

void SlotMap::moved(uint16_t slot, const std::string& host, int port) {
  for (size_t i = 0; i < masters_.size(); ++i) {
    const ClusterNode& c = masters_[i];
    if (c.host == host && c.port == port) {
      owner_[slot] = static_cast<int16_t>(i);
      return;
    }
  }
  owner_[slot] = static_cast<int16_t>(masters_.size());
  masters_.push_back(ClusterNode{{}, host, port});
}

}  // namespace pgcqrs::sidecar::redis
