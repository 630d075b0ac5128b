// TRUNCATE's walk over the buckets' masters (walk.hpp).
#include "pgcqrs/sidecar/cluster/walk.hpp"

#include <charconv>
#include <sstream>
#include <vector>

#include "pgcqrs/sidecar/redis/key_slot.hpp"

namespace pgcqrs::sidecar::cluster {
namespace {

// The slot of each bucket's tag: what `{b}` hashes to.
const std::vector<uint16_t>& bucket_slots() {
  static const std::vector<uint16_t> slots = [] {
    std::vector<uint16_t> s;
    for (int b = 0; b < 64; ++b) s.push_back(redis::key_slot("{" + std::to_string(b) + "}"));
    return s;
  }();
  return slots;
}

bool parse_number(std::string_view text, unsigned& out) {
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && end == text.data() + text.size();
}

bool parse_mask(std::string_view text, uint64_t& out) {
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out, 16);
  return !text.empty() && ec == std::errc() && end == text.data() + text.size();
}

std::string hex(uint64_t v) {
  char buf[17];
  return std::string(buf, std::to_chars(buf, buf + sizeof buf, v, 16).ptr);
}

}  // namespace

uint64_t Layout::held_by(const std::string& id) const {
  uint64_t held = 0;
  for (int b = 0; b < 64; ++b)
    if (!id.empty() && owner[b] == id) held |= uint64_t{1} << b;
  return held & ~migrating;
}

Layout parse_layout(std::string_view cluster_nodes) {
  // One line per node: id address flags master ping pong epoch link slot...; a master's slots
  // are "N" or "N-M", and "[N->-id]" or "[N-<-id]" while slot N migrates.
  Layout layout;
  const auto& slots = bucket_slots();
  std::istringstream in{std::string(cluster_nodes)};
  for (std::string line; std::getline(in, line);) {
    std::istringstream words(line);
    std::vector<std::string> w;
    for (std::string word; words >> word;) w.push_back(word);
    if (w.size() < 9 || ("," + w[2] + ",").find(",master,") == std::string::npos) continue;
    for (size_t i = 8; i < w.size(); ++i) {
      const std::string& range = w[i];
      unsigned first = 0, last = 0;
      if (range[0] == '[') {
        const size_t arrow = range.find('-', 1);
        if (arrow == std::string::npos || !parse_number(std::string_view(range).substr(1, arrow - 1), first)) continue;
        for (int b = 0; b < 64; ++b)
          if (slots[b] == first) layout.migrating |= uint64_t{1} << b;
        continue;
      }
      const size_t dash = range.find('-');
      if (dash == std::string::npos) {
        if (!parse_number(range, first)) continue;
        last = first;
      } else if (!parse_number(std::string_view(range).substr(0, dash), first) ||
                 !parse_number(std::string_view(range).substr(dash + 1), last)) {
        continue;
      }
      for (int b = 0; b < 64; ++b)
        if (slots[b] >= first && slots[b] <= last) layout.owner[b] = w[0];
    }
  }
  return layout;
}

WalkCursor parse_walk_cursor(std::string_view text) {
  // w<done>.<held>.<master>.<cursor>
  WalkCursor c;
  if (text.size() < 2 || text[0] != 'w') return {};
  std::vector<std::string_view> parts;
  text.remove_prefix(1);
  for (size_t at = 0;;) {
    const size_t dot = text.find('.', at);
    parts.push_back(text.substr(at, dot == std::string_view::npos ? std::string_view::npos : dot - at));
    if (dot == std::string_view::npos) break;
    at = dot + 1;
  }
  if (parts.size() != 4 || !parse_mask(parts[0], c.done) || !parse_mask(parts[1], c.held) ||
      parts[2].find_first_not_of("0123456789abcdef") != std::string_view::npos || parts[3].empty() ||
      parts[3].find_first_not_of("0123456789") != std::string_view::npos)
    return {};
  c.master = std::string(parts[2]);
  c.cursor = std::string(parts[3]);
  return c;
}

std::string format_walk_cursor(const WalkCursor& c) {
  if (c.done == kAllBuckets) return "0";
  return "w" + hex(c.done) + "." + hex(c.held) + "." + c.master + "." + c.cursor;
}

std::optional<WalkCursor> before_page(WalkCursor at, const Layout& now) {
  if (at.done == kAllBuckets) return std::nullopt;
  if (!at.master.empty()) {
    at.held &= now.held_by(at.master);
    if (at.held & ~at.done) return at;  // it still serves a bucket not done: go on
  }
  // The master of the first bucket not done and not migrating; while all that are left
  // migrate, the first one's master (a SCAN that finishes nothing: the walk waits so).
  int next = -1;
  for (int b = 0; b < 64 && next < 0; ++b)
    if (!(at.done >> b & 1) && !(now.migrating >> b & 1)) next = b;
  for (int b = 0; b < 64 && next < 0; ++b)
    if (!(at.done >> b & 1)) next = b;
  if (now.owner[next].empty()) return std::nullopt;
  at.master = now.owner[next];
  at.held = now.held_by(at.master);
  at.cursor = "0";
  return at;
}

WalkCursor after_page(WalkCursor at, const Layout& now, const std::string& next_cursor) {
  at.held &= now.held_by(at.master);
  if (next_cursor != "0") {
    at.cursor = next_cursor;
    return at;
  }
  at.done |= at.held;  // a whole SCAN of a master that served these throughout
  at.master.clear();
  at.held = 0;
  at.cursor = "0";
  return at;
}

}  // namespace pgcqrs::sidecar::cluster
