// Key names under the configured prefix (keys.hpp).
#include "pgcqrs/sidecar/keys.hpp"

#include <charconv>

namespace pgcqrs::sidecar {

namespace {

// What follows the prefix in a generation's read-model keys.
std::string generation_infix(uint64_t generation) {
  return generation == 0 ? std::string() : "g" + std::to_string(generation) + ":";
}

// The read-model families, as they follow the prefix and the generation, and the single keys
// of older layouts. order_items: held the lines of layout 1; pgcqrs:orders indexed every order
// in layouts 1 and 2; top_products, pgcqrs:users and pgcqrs:products were one key each up to
// layout 3.
const char* const kFamilies[] = {"order_details:", "user_orders:",  "user_latest:",   "user:",
                                 "product:",       "order_items:",  "product_orders:", "top_products:",
                                 "pgcqrs:users:",  "pgcqrs:products:", "pgcqrs:m:"};
const char* const kSingles[] = {"top_products", "pgcqrs:users", "pgcqrs:products", "pgcqrs:orders", "pgcqrs:models"};

}  // namespace

int Keys::bucket_of(std::string_view id) {
  const bool negative = !id.empty() && id[0] == '-';
  if (negative) id.remove_prefix(1);
  if (id.empty() || id.find_first_not_of("0123456789") != std::string_view::npos) return 0;
  // 10^6 is a multiple of 64: the last six digits decide.
  if (id.size() > 6) id.remove_prefix(id.size() - 6);
  int low = 0;
  for (char c : id) low = low * 10 + (c - '0');
  const int b = low % kBuckets;
  return negative ? (kBuckets - b) % kBuckets : b;
}

Keys::Keys(std::string prefix, uint64_t generation)
    : prefix_(std::move(prefix)),
      generation_(generation),
      scope_(prefix_ + generation_infix(generation)),
      order_(prefix_ + generation_infix(generation) + "order_details:"),
      user_(prefix_ + generation_infix(generation) + "user:"),
      product_(prefix_ + generation_infix(generation) + "product:"),
      user_orders_(prefix_ + generation_infix(generation) + "user_orders:"),
      user_latest_(prefix_ + generation_infix(generation) + "user_latest:"),
      product_orders_(prefix_ + generation_infix(generation) + "product_orders:"),
      top_products_(prefix_ + generation_infix(generation) + "top_products:"),
      users_(prefix_ + generation_infix(generation) + "pgcqrs:users:"),
      products_(prefix_ + generation_infix(generation) + "pgcqrs:products:"),
      checkpoint_(prefix_ + "pgcqrs:checkpoint"),
      channel_(prefix_ + "pgcqrs:applied") {}

std::string Keys::tagged(const std::string& stem, int bucket) {
  char n[8];
  const auto end = std::to_chars(n, n + sizeof n, bucket).ptr;
  std::string key;
  key.reserve(stem.size() + static_cast<size_t>(end - n) + 2);
  key.append(stem).append(1, '{').append(n, end).append(1, '}');
  return key;
}

std::string Keys::join(const std::string& stem, std::string_view id) {
  std::string key = tagged(stem, bucket_of(id));
  key.reserve(key.size() + 1 + id.size());
  key.append(1, ':').append(id);
  return key;
}

std::string Keys::join(const std::string& stem, int64_t id) {
  char n[24];
  const auto end = std::to_chars(n, n + sizeof n, id).ptr;
  std::string key = tagged(stem, bucket_of(id));
  key.append(1, ':').append(n, end);
  return key;
}

std::optional<std::string_view> Keys::id_in(std::string_view stem, std::string_view key) {
  if (key.substr(0, stem.size()) != stem) return std::nullopt;
  key.remove_prefix(stem.size());
  const size_t close = key.find("}:");
  if (key.empty() || key[0] != '{' || close == std::string_view::npos) return std::nullopt;
  return key.substr(close + 2);
}

std::string Keys::pattern(std::string_view stem) const { return std::string(stem) + "*"; }

std::vector<std::string> Keys::rebuild_patterns() const {
  std::vector<std::string> out;
  for (const char* family : kFamilies) out.push_back(pattern(prefix_ + generation_infix(generation_) + family));
  return out;
}

std::vector<std::string> Keys::rebuild_singles() const {
  std::vector<std::string> out;
  for (const char* single : kSingles) out.push_back(prefix_ + generation_infix(generation_) + single);
  return out;
}

bool Keys::names_read_model(std::string_view key) const {
  if (key.substr(0, prefix_.size()) != prefix_) return false;
  key.remove_prefix(prefix_.size());
  if (key.size() > 2 && key[0] == 'g' && key[1] >= '0' && key[1] <= '9') {
    const size_t colon = key.find(':');
    if (colon != std::string_view::npos && key.substr(1, colon - 1).find_first_not_of("0123456789") == std::string_view::npos)
      key.remove_prefix(colon + 1);
  }
  for (std::string_view family : kFamilies)
    if (key.substr(0, family.size()) == family) return true;
  for (std::string_view single : kSingles)
    if (key == single) return true;
  return false;
}

std::string scan_literal(std::string_view text) {
  std::string out;
  for (const char c : text) {
    if (c == '*' || c == '?' || c == '[' || c == ']' || c == '\\') out += '\\';
    out += c;
  }
  return out;
}

std::string key_prefix_problem(std::string_view prefix) {
  if (prefix.size() > 64) return "--key-prefix is longer than 64 bytes";
  for (char ch : prefix) {
    const bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_' ||
                    ch == '.' || ch == ':' || ch == '-';
    if (!ok)
      return "--key-prefix \"" + std::string(prefix) + "\" holds '" + std::string(1, ch) +
             "': use letters, digits and _ . : - (no pattern characters, no braces)";
  }
  return "";
}

}  // namespace pgcqrs::sidecar
