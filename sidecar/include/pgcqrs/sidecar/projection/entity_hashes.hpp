// The fields of the read models' product, user and order_details hashes
// (docs/read-models.md) as HashStore keeps them: counts and amounts as integers (amounts in
// cents), the rest as Redis holds it. Each lists its fields in name order, the order a commit
// writes them.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "pgcqrs/sidecar/keys.hpp"
#include "pgcqrs/sidecar/redis/resp.hpp"

namespace pgcqrs::sidecar::projection {

struct ProductHash {
  enum Field : uint8_t { kIsActive, kLsn, kName, kPrice, kProductId, kRevenue, kUnitsSold, kCount };
  static constexpr std::array<std::string_view, kCount> kNames = {"is_active", "lsn",     "name",      "price",
                                                                  "product_id", "revenue", "units_sold"};
  static const std::string& stem(const Keys& keys) { return keys.product_stem(); }
  static std::string key(const Keys& keys, int64_t id) { return keys.product(id); }

  std::string is_active, lsn, name, price, product_id;
  int64_t revenue = 0, units_sold = 0;  // cents, units

  void parse(uint8_t field, std::string text);
  void format(uint8_t field, redis::RespWriter& out) const;
};

struct UserHash {
  enum Field : uint8_t { kEmail, kIsActive, kLifetimeValue, kLsn, kName, kOrderCount, kUserId, kCount };
  static constexpr std::array<std::string_view, kCount> kNames = {"email", "is_active",   "lifetime_value", "lsn",
                                                                  "name",  "order_count", "user_id"};
  static const std::string& stem(const Keys& keys) { return keys.user_stem(); }
  static std::string key(const Keys& keys, int64_t id) { return keys.user(id); }

  std::string email, is_active, lsn, name, user_id;
  int64_t lifetime_value = 0, order_count = 0;  // cents, orders

  void parse(uint8_t field, std::string text);
  void format(uint8_t field, redis::RespWriter& out) const;
};

// An order's fields as Redis holds them: its page entry copies them as they are.
struct OrderHash {
  enum Field : uint8_t {
    kCreatedAt, kItemCount, kItems, kLsn, kOrderId, kStatus, kTotal, kUpdatedAt, kUserEmail, kUserId, kUserName, kCount
  };
  static constexpr std::array<std::string_view, kCount> kNames = {
      "created_at", "item_count", "items",      "lsn",        "order_id", "status",
      "total",      "updated_at", "user_email", "user_id",    "user_name"};
  static const std::string& stem(const Keys& keys) { return keys.order_stem(); }
  static std::string key(const Keys& keys, int64_t id) { return keys.order(id); }

  std::array<std::string, kCount> text;

  void parse(uint8_t field, std::string t) { text[field] = std::move(t); }
  void format(uint8_t field, redis::RespWriter& out) const { out.arg(text[field]); }
};

}  // namespace pgcqrs::sidecar::projection
