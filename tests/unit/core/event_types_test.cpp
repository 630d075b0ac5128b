// The event contract's message names.
#include "pgcqrs/core/event_types.hpp"

#include <gtest/gtest.h>

#include <set>
#include <string_view>

using pgcqrs::EventType;

TEST(EventTypes, NamesAreTheContractsAndDistinct) {
  EXPECT_EQ(name(EventType::UserRegistered), "UserRegistered");
  EXPECT_EQ(name(EventType::ProductRepriced), "ProductRepriced");
  EXPECT_EQ(name(EventType::OrderPlaced), "OrderPlaced");
  EXPECT_EQ(name(EventType::OrderStatusChanged), "OrderStatusChanged");
  EXPECT_EQ(name(EventType::Truncated), "Truncated");
  std::set<std::string_view> seen(pgcqrs::domain_event_names.begin(), pgcqrs::domain_event_names.end());
  EXPECT_EQ(seen.size(), 19u);
}

TEST(EventTypes, NamesMapBackToTypes) {
  for (std::size_t i = 0; i < pgcqrs::domain_event_names.size(); ++i)
    EXPECT_EQ(pgcqrs::domain_event_type(pgcqrs::domain_event_names[i]), static_cast<EventType>(i));
  for (const char* other : {"", "begin", "commit", "InvalidMessage", "orderplaced", "OrderPlaced ", "Order", "X"})
    EXPECT_FALSE(pgcqrs::domain_event_type(other).has_value()) << other;
}

TEST(EventTypes, ReservesTheProtocolAndDomainNames) {
  for (const char* reserved : {"begin", "commit", "InvalidMessage", "UserRegistered", "OrderDeleted", "Truncated"})
    EXPECT_TRUE(pgcqrs::is_reserved_event_type(reserved)) << reserved;
  for (const char* free : {"", "Begin", "COMMIT", "invalidmessage", "OrderShipped", "Truncated\n"})
    EXPECT_FALSE(pgcqrs::is_reserved_event_type(free)) << free;
  EXPECT_FALSE(pgcqrs::is_reserved_event_type(std::string_view("begin\0", 6)));
}
