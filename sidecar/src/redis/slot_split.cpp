#include "pgcqrs/sidecar/redis/slot_split.hpp"

#include <array>
#include <charconv>
#include <stdexcept>

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
  std::vector<SlotCommand> commands(starts.size());
  for (size_t c = 0; c < starts.size(); ++c) {
    commands[c].start = starts[c];
    commands[c].end = c + 1 < starts.size() ? starts[c + 1] : resp.size();
    commands[c].slot = key_slot(command_argument(resp, starts[c], 1));
  }
  return split_slot_commands(resp, commands, prefix, fence);
}

// Two passes, so that each slot's bytes are reserved once and copied once: this runs on every
// batch, over all its bytes.
std::vector<SlotTransaction> split_slot_commands(std::string_view resp, const std::vector<SlotCommand>& commands,
                                                 std::string_view prefix, const std::vector<std::string>& fence) {
  static constexpr std::string_view kMulti = "*1\r\n$5\r\nMULTI\r\n", kExec = "*1\r\n$4\r\nEXEC\r\n";
  std::vector<int32_t> index(kSlotCount, -1);  // slot -> its transaction in out
  std::vector<SlotTransaction> out;
  std::vector<uint32_t> of(commands.size());  // command -> its transaction in out
  std::vector<size_t> bytes;
  for (size_t c = 0; c < commands.size(); ++c) {
    const uint16_t slot = commands[c].slot & (kSlotCount - 1);
    if (index[slot] < 0) {
      index[slot] = static_cast<int32_t>(out.size());
      out.push_back(SlotTransaction{slot, 0, {}});
      bytes.push_back(0);
    }
    of[c] = static_cast<uint32_t>(index[slot]);
    bytes[of[c]] += commands[c].end - commands[c].start;
    ++out[of[c]].commands;
  }
  for (size_t i = 0; i < out.size(); ++i) {
    out[i].resp.reserve(kMulti.size() + bytes[i] + 64 + prefix.size() + fence.size() * 32 + kExec.size());
    out[i].resp.append(kMulti);
  }
  for (size_t c = 0; c < commands.size(); ++c)
    out[of[c]].resp.append(resp.substr(commands[c].start, commands[c].end - commands[c].start));
  for (SlotTransaction& t : out) {
    if (!fence.empty()) {
      append_header(t.resp, '*', 2 + fence.size());
      append_bulk(t.resp, "HSET");
      append_bulk(t.resp, fence_key(prefix, t.slot));
      for (const auto& f : fence) append_bulk(t.resp, f);
      ++t.commands;
    }
    t.resp.append(kExec);
  }
  return out;
}

}  // namespace pgcqrs::sidecar::redis
