// The names of the event contract's messages (docs/events.md): the domain events the plugin
// derives from row changes, and the protocol messages around them.
#pragma once
#include "pgcqrs/core/pure.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace pgcqrs {

enum class EventType : uint8_t {
  UserRegistered, UserRenamed, UserEmailChanged, UserDeactivated, UserReactivated, UserDeleted,
  ProductAdded, ProductRenamed, ProductRepriced, ProductDeactivated, ProductReactivated, ProductDeleted,
  OrderPlaced, OrderItemAdded, OrderItemChanged, OrderItemRemoved, OrderStatusChanged, OrderDeleted,
  Truncated,
};

// Every domain event's name, indexed by EventType.
inline constexpr std::array<std::string_view, 19> domain_event_names = {
    "UserRegistered", "UserRenamed", "UserEmailChanged", "UserDeactivated", "UserReactivated", "UserDeleted",
    "ProductAdded", "ProductRenamed", "ProductRepriced", "ProductDeactivated", "ProductReactivated", "ProductDeleted",
    "OrderPlaced", "OrderItemAdded", "OrderItemChanged", "OrderItemRemoved", "OrderStatusChanged", "OrderDeleted",
    "Truncated"};
static_assert(domain_event_names.size() == static_cast<std::size_t>(EventType::Truncated) + 1);

constexpr std::string_view name(EventType type) { return domain_event_names[static_cast<std::size_t>(type)]; }

// The domain event of that name; nullopt for anything else (application types included).
std::optional<EventType> domain_event_type(std::string_view name);

// The events of declarative read models: their rows and their registrations (docs/events.md,
// "Row events").
inline constexpr std::string_view row_inserted = "RowInserted";
inline constexpr std::string_view row_updated = "RowUpdated";
inline constexpr std::string_view row_deleted = "RowDeleted";
inline constexpr std::string_view rows_truncated = "RowsTruncated";
inline constexpr std::string_view read_model_registered = "ReadModelRegistered";
inline constexpr std::string_view read_model_replaced = "ReadModelReplaced";
inline constexpr std::string_view read_model_dropped = "ReadModelDropped";

// The messages that frame a transaction, and the plugin's report of a rejected message.
inline constexpr std::string_view begin_message = "begin";
inline constexpr std::string_view commit_message = "commit";
inline constexpr std::string_view invalid_message = "InvalidMessage";

// begin, commit, InvalidMessage, every domain and row event name: no application event may use one.
bool is_reserved_event_type(std::string_view type);

}  // namespace pgcqrs
