// What a domain event holds in memory (domain_event.hpp).
#include "pgcqrs/sidecar/projection/domain_event.hpp"

#include <type_traits>

namespace pgcqrs::sidecar::projection {

size_t footprint(const DomainEvent& e) {
  size_t n = sizeof e;
  std::visit(
      [&](const auto& b) {
        using T = std::decay_t<decltype(b)>;
        if constexpr (std::is_same_v<T, ev::UserRegistered>) n += b.name.size() + b.email.size();
        if constexpr (std::is_same_v<T, ev::UserRenamed> || std::is_same_v<T, ev::ProductAdded> ||
                      std::is_same_v<T, ev::ProductRenamed>)
          n += b.name.size();
        if constexpr (std::is_same_v<T, ev::UserEmailChanged>) n += b.email.size();
        if constexpr (std::is_same_v<T, ev::OrderPlaced>)
          n += b.status.size() + b.created_at.size() + b.updated_at.size() + b.score.size() +
               b.lines.size() * sizeof(OrderLine);
        if constexpr (std::is_same_v<T, ev::OrderStatusChanged>) n += b.to.size() + b.updated_at.size();
        if constexpr (std::is_same_v<T, ev::Truncated>)
          for (const auto& t : b.tables) n += sizeof t + t.size();
      },
      e.body);
  return n;
}

}  // namespace pgcqrs::sidecar::projection
