// The product and user hashes' fields from and into what Redis holds (entity_hashes.hpp).
// A count or an amount Redis holds that does not parse is taken as 0, as the view's rules
// always took it.
#include "pgcqrs/sidecar/projection/entity_hashes.hpp"

#include <cstdlib>

#include "pgcqrs/core/money.hpp"

namespace pgcqrs::sidecar::projection {

namespace {

int64_t count_of(const std::string& text) { return std::strtoll(text.c_str(), nullptr, 10); }
int64_t cents_of(const std::string& text) { return money_to_cents(text).value_or(0); }

}  // namespace

void ProductHash::parse(uint8_t field, std::string text) {
  switch (field) {
    case kIsActive: is_active = std::move(text); break;
    case kLsn: lsn = std::move(text); break;
    case kName: name = std::move(text); break;
    case kPrice: price = std::move(text); break;
    case kProductId: product_id = std::move(text); break;
    case kRevenue: revenue = cents_of(text); break;
    case kUnitsSold: units_sold = count_of(text); break;
  }
}

void ProductHash::format(uint8_t field, redis::RespWriter& out) const {
  switch (field) {
    case kIsActive: out.arg(is_active); break;
    case kLsn: out.arg(lsn); break;
    case kName: out.arg(name); break;
    case kPrice: out.arg(price); break;
    case kProductId: out.arg(product_id); break;
    case kRevenue: out.arg(cents_to_money(revenue)); break;
    case kUnitsSold: out.arg(std::to_string(units_sold)); break;
  }
}

void UserHash::parse(uint8_t field, std::string text) {
  switch (field) {
    case kEmail: email = std::move(text); break;
    case kIsActive: is_active = std::move(text); break;
    case kLifetimeValue: lifetime_value = cents_of(text); break;
    case kLsn: lsn = std::move(text); break;
    case kName: name = std::move(text); break;
    case kOrderCount: order_count = count_of(text); break;
    case kUserId: user_id = std::move(text); break;
  }
}

void UserHash::format(uint8_t field, redis::RespWriter& out) const {
  switch (field) {
    case kEmail: out.arg(email); break;
    case kIsActive: out.arg(is_active); break;
    case kLifetimeValue: out.arg(cents_to_money(lifetime_value)); break;
    case kLsn: out.arg(lsn); break;
    case kName: out.arg(name); break;
    case kOrderCount: out.arg(std::to_string(order_count)); break;
    case kUserId: out.arg(user_id); break;
  }
}

}  // namespace pgcqrs::sidecar::projection
