// The domain events of the event contract (docs/events.md) as the projector receives them:
// decoded once, ids, quantities and amounts as integers (amounts in cents), texts as they
// arrived. One struct per event type, holding only what the read models use.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "pgcqrs/core/event_types.hpp"

namespace pgcqrs::sidecar::projection {

// One line of an order.
struct OrderLine {
  int64_t product_id = 0;
  int64_t quantity = 0;
  int64_t unit_cents = 0;
  bool operator==(const OrderLine&) const = default;
};

namespace ev {

struct UserRegistered {
  static constexpr EventType type = EventType::UserRegistered;
  int64_t user_id = 0;
  std::string name, email;
  bool is_active = false;
  bool operator==(const UserRegistered&) const = default;
};
struct UserRenamed {
  static constexpr EventType type = EventType::UserRenamed;
  int64_t user_id = 0;
  std::string name;
  bool operator==(const UserRenamed&) const = default;
};
struct UserEmailChanged {
  static constexpr EventType type = EventType::UserEmailChanged;
  int64_t user_id = 0;
  std::string email;
  bool operator==(const UserEmailChanged&) const = default;
};
struct UserDeactivated {
  static constexpr EventType type = EventType::UserDeactivated;
  int64_t user_id = 0;
  bool operator==(const UserDeactivated&) const = default;
};
struct UserReactivated {
  static constexpr EventType type = EventType::UserReactivated;
  int64_t user_id = 0;
  bool operator==(const UserReactivated&) const = default;
};
struct UserDeleted {
  static constexpr EventType type = EventType::UserDeleted;
  int64_t user_id = 0;
  bool operator==(const UserDeleted&) const = default;
};
struct ProductAdded {
  static constexpr EventType type = EventType::ProductAdded;
  int64_t product_id = 0;
  std::string name;
  int64_t price_cents = 0;
  bool is_active = false;
  bool operator==(const ProductAdded&) const = default;
};
struct ProductRenamed {
  static constexpr EventType type = EventType::ProductRenamed;
  int64_t product_id = 0;
  std::string name;
  bool operator==(const ProductRenamed&) const = default;
};
struct ProductRepriced {
  static constexpr EventType type = EventType::ProductRepriced;
  int64_t product_id = 0;
  int64_t price_cents = 0;
  bool operator==(const ProductRepriced&) const = default;
};
struct ProductDeactivated {
  static constexpr EventType type = EventType::ProductDeactivated;
  int64_t product_id = 0;
  bool operator==(const ProductDeactivated&) const = default;
};
struct ProductReactivated {
  static constexpr EventType type = EventType::ProductReactivated;
  int64_t product_id = 0;
  bool operator==(const ProductReactivated&) const = default;
};
struct ProductDeleted {
  static constexpr EventType type = EventType::ProductDeleted;
  int64_t product_id = 0;
  bool operator==(const ProductDeleted&) const = default;
};
struct OrderPlaced {
  static constexpr EventType type = EventType::OrderPlaced;
  int64_t order_id = 0, user_id = 0;
  std::string status;
  std::string created_at, updated_at;  // ISO-8601 UTC, as sent
  std::string score;                   // created_at as its sorted-set score (timestamp_score)
  std::vector<OrderLine> lines;        // in any order; the items JSON lists them by product_id
  bool operator==(const OrderPlaced&) const = default;
};
struct OrderItemAdded {
  static constexpr EventType type = EventType::OrderItemAdded;
  int64_t order_id = 0;
  OrderLine line;
  bool operator==(const OrderItemAdded&) const = default;
};
struct OrderItemChanged {
  static constexpr EventType type = EventType::OrderItemChanged;
  int64_t order_id = 0;
  OrderLine line;  // the line as it is now
  bool operator==(const OrderItemChanged&) const = default;
};
struct OrderItemRemoved {
  static constexpr EventType type = EventType::OrderItemRemoved;
  int64_t order_id = 0, product_id = 0;
  bool operator==(const OrderItemRemoved&) const = default;
};
struct OrderStatusChanged {
  static constexpr EventType type = EventType::OrderStatusChanged;
  int64_t order_id = 0;
  std::string to;          // the new status
  std::string updated_at;  // ISO-8601 UTC, as sent
  bool operator==(const OrderStatusChanged&) const = default;
};
struct OrderDeleted {
  static constexpr EventType type = EventType::OrderDeleted;
  int64_t order_id = 0;
  bool operator==(const OrderDeleted&) const = default;
};
struct Truncated {
  static constexpr EventType type = EventType::Truncated;
  std::vector<std::string> tables;  // as sent: "users", "orders", ...
  bool operator==(const Truncated&) const = default;
};

}  // namespace ev

// The alternatives in EventType's order, so that index() is the type (checked below).
using EventBody =
    std::variant<ev::UserRegistered, ev::UserRenamed, ev::UserEmailChanged, ev::UserDeactivated, ev::UserReactivated,
                 ev::UserDeleted, ev::ProductAdded, ev::ProductRenamed, ev::ProductRepriced, ev::ProductDeactivated,
                 ev::ProductReactivated, ev::ProductDeleted, ev::OrderPlaced, ev::OrderItemAdded, ev::OrderItemChanged,
                 ev::OrderItemRemoved, ev::OrderStatusChanged, ev::OrderDeleted, ev::Truncated>;

namespace detail {
template <size_t... I>
constexpr bool in_event_type_order(std::index_sequence<I...>) {
  return ((std::variant_alternative_t<I, EventBody>::type == static_cast<EventType>(I)) && ...);
}
}  // namespace detail
static_assert(std::variant_size_v<EventBody> == domain_event_names.size());
static_assert(detail::in_event_type_order(std::make_index_sequence<std::variant_size_v<EventBody>>{}));

struct DomainEvent {
  int64_t seq = 0;  // within its transaction, counting application events too
  EventBody body;
  EventType type() const { return static_cast<EventType>(body.index()); }
  bool operator==(const DomainEvent&) const = default;
};

// What an event holds in memory, its texts included: the measure of a batch's size.
size_t footprint(const DomainEvent& e);

}  // namespace pgcqrs::sidecar::projection
