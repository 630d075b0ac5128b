#include "pgcqrs/sidecar/redis/slot_split.hpp"

#include <array>
#include <charconv>
#include <stdexcept>
#include <unordered_map>

namespace pgcqrs::sidecar::redis {
namespace {

// Every slot's tag, found once: the decimal numbers below 2^20 cover all 16,384 slots.
struct SlotTags {
  SlotTags() {
    std::array<bool, kSlotCount> found{};
    size_t left = kSlotCount;
    for (uint32_t n = 0; left > 0; ++n) {
      char buf[12];
      auto end = std::to_chars(buf, buf + sizeof buf, n).ptr;
      std::string_view tag(buf, static_cast<size_t>(end - buf));
      uint16_t slot = key_slot(tag);
      if (found[slot]) continue;
      found[slot] = true;
      tags[slot] = std::string(tag);
      --left;
    }
  }
  std::array<std::string, kSlotCount> tags;
};

}  // namespace

std::string_view command_argument(std::string_view resp, size_t at, int n) {
  auto fail = [&] { throw std::invalid_argument("not a RESP command at offset " + std::to_string(at)); };
  auto number = [&](size_t& i, char kind) {
    if (i >= resp.size() || resp[i] != kind) fail();
    size_t v = 0;
    auto [end, ec] = std::from_chars(resp.data() + i + 1, resp.data() + resp.size(), v);
    if (ec != std::errc() || end + 1 >= resp.data() + resp.size() || end[0] != '\r' || end[1] != '\n') fail();
    i = static_cast<size_t>(end - resp.data()) + 2;
    return v;
  };
  size_t i = at;
  if (number(i, '*') <= static_cast<size_t>(n))
    throw std::invalid_argument("a command without a key at offset " + std::to_string(at));
  for (int k = 0;; ++k) {
    size_t len = number(i, '$');
    if (i + len + 2 > resp.size()) fail();
    if (k == n) return resp.substr(i, len);
    i += len + 2;
  }
}

std::string_view slot_tag(uint16_t slot) {
  static const SlotTags table;
  return table.tags[slot & (kSlotCount - 1)];
}

std::string fence_key(std::string_view prefix, uint16_t slot) {
  std::string key(prefix);
  key += "pgcqrs:fence:{";
  key += slot_tag(slot);
  key += '}';
  return key;
}

std::vector<SlotTransaction> split_by_slot(std::string_view resp, const std::vector<size_t>& starts,
                                           std::string_view prefix, const std::vector<std::string>& fence) {
  std::vector<SlotTransaction> out;
  std::unordered_map<uint16_t, size_t> index;  // slot -> its transaction in out
  for (size_t c = 0; c < starts.size(); ++c) {
    size_t end = c + 1 < starts.size() ? starts[c + 1] : resp.size();
    uint16_t slot = key_slot(command_argument(resp, starts[c], 1));
    auto [it, added] = index.try_emplace(slot, out.size());
    if (added) {
      out.push_back(SlotTransaction{slot, 0, {}});
      append_header(out.back().resp, '*', 1);
      append_bulk(out.back().resp, "MULTI");
    }
    SlotTransaction& t = out[it->second];
    t.resp.append(resp.substr(starts[c], end - starts[c]));
    ++t.commands;
  }
  for (SlotTransaction& t : out) {
    if (!fence.empty()) {
      append_header(t.resp, '*', 2 + fence.size());
      append_bulk(t.resp, "HSET");
      append_bulk(t.resp, fence_key(prefix, t.slot));
      for (const auto& f : fence) append_bulk(t.resp, f);
      ++t.commands;
    }
    append_header(t.resp, '*', 1);
    append_bulk(t.resp, "EXEC");
  }
  return out;
}

}  // namespace pgcqrs::sidecar::redis
