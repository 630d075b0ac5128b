// Key names under the configured prefix (keys.hpp).
#include "pgcqrs/sidecar/keys.hpp"

namespace pgcqrs::sidecar {

Keys::Keys(std::string prefix)
    : prefix_(std::move(prefix)),
      order_(prefix_ + "order_details:"),
      user_(prefix_ + "user:"),
      product_(prefix_ + "product:"),
      user_orders_(prefix_ + "user_orders:"),
      user_latest_(prefix_ + "user_latest:"),
      product_orders_(prefix_ + "product_orders:"),
      top_products_(prefix_ + "top_products"),
      users_(prefix_ + "pgcqrs:users"),
      products_(prefix_ + "pgcqrs:products"),
      checkpoint_(prefix_ + "pgcqrs:checkpoint"),
      channel_(prefix_ + "pgcqrs:applied") {}

std::string Keys::join(const std::string& stem, std::string_view id) {
  std::string key;
  key.reserve(stem.size() + id.size());
  key.append(stem).append(id);
  return key;
}

std::string Keys::pattern(std::string_view stem) const { return std::string(stem) + "*"; }

std::vector<std::string> Keys::rebuild_patterns() const {
  // order_items: held the lines of layout 1.
  return {pattern(order_),       pattern(user_orders_),     pattern(user_latest_), pattern(user_),
          pattern(product_),     pattern(prefix_ + "order_items:"), pattern(product_orders_)};
}

std::vector<std::string> Keys::rebuild_singles() const {
  // pgcqrs:orders indexed every order in layouts 1 and 2.
  return {top_products_, users_, products_, prefix_ + "pgcqrs:orders"};
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
