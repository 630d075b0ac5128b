// TRUNCATE's walk over every master (walk.hpp).
#include "pgcqrs/sidecar/cluster/walk.hpp"

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <sstream>

namespace pgcqrs::sidecar::cluster {

std::optional<Layout> parse_layout(std::string_view cluster_nodes) {
  // One line per node: id address flags master ping pong epoch link slot... A master's line
  // with its slots, "[slot->-id]" and "[slot-<-id]" for a migration, is what decides where a
  // key is; replicas, addresses and timings are not.
  std::vector<std::string> lines;
  Layout layout;
  std::istringstream in{std::string(cluster_nodes)};
  for (std::string line; std::getline(in, line);) {
    std::istringstream words(line);
    std::vector<std::string> w;
    for (std::string word; words >> word;) w.push_back(word);
    if (w.size() < 8) continue;
    const std::string& flags = w[2];
    const bool master = ("," + flags + ",").find(",master,") != std::string::npos;
    if (!master) continue;
    std::string kept = w[0];
    for (size_t i = 8; i < w.size(); ++i) kept += " " + w[i];
    if (w.size() > 8) layout.masters.push_back(w[0]);  // keys live only where slots are (or arrive)
    lines.push_back(std::move(kept));
  }
  if (layout.masters.empty()) return std::nullopt;
  std::sort(lines.begin(), lines.end());
  std::sort(layout.masters.begin(), layout.masters.end());
  // FNV-1a: the same digest in any build, since the checkpoint keeps it across versions.
  uint64_t h = 14695981039346656037ull;
  for (const auto& l : lines)
    for (unsigned char ch : l + "\n") h = (h ^ ch) * 1099511628211ull;
  char hex[17];
  auto end = std::to_chars(hex, hex + sizeof hex, h, 16).ptr;
  layout.digest.assign(hex, end);
  return layout;
}

std::optional<WalkCursor> parse_walk_cursor(std::string_view text) {
  if (text.size() < 2 || text[0] != 'c') return std::nullopt;
  const size_t dot1 = text.find('.'), dot2 = dot1 == std::string_view::npos ? dot1 : text.find('.', dot1 + 1);
  if (dot2 == std::string_view::npos || dot1 == 1) return std::nullopt;
  WalkCursor c;
  c.digest = std::string(text.substr(1, dot1 - 1));
  const std::string_view index = text.substr(dot1 + 1, dot2 - dot1 - 1);
  auto [end, ec] = std::from_chars(index.data(), index.data() + index.size(), c.master);
  if (ec != std::errc() || end != index.data() + index.size()) return std::nullopt;
  c.cursor = std::string(text.substr(dot2 + 1));
  if (c.cursor.empty() || c.cursor.find_first_not_of("0123456789") != std::string::npos) return std::nullopt;
  return c;
}

std::string format_walk_cursor(const WalkCursor& c) {
  return "c" + c.digest + "." + std::to_string(c.master) + "." + c.cursor;
}

}  // namespace pgcqrs::sidecar::cluster
