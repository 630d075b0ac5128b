// Parses one pgcqrs plugin message (docs/events.md) and, for domain events, decodes it into
// its typed event (domain_event.hpp). Malformed input yields an error naming the field,
// never an exception.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

// Amounts travel as cents (pgcqrs::money_to_cents, cents_to_money); the projection's
// sources call them through this header.
#include "pgcqrs/core/money.hpp"
#include "pgcqrs/sidecar/projection/domain_event.hpp"
#include "pgcqrs/sidecar/projection/row_event.hpp"

namespace pgcqrs::sidecar::projection {

// Model: an event of declarative read models, a registration or a row of a table they read
// (docs/events.md, "Row events").
enum class MessageKind { Begin, Commit, Domain, Application, Invalid, Model, Unknown };

struct Message {
  MessageKind kind = MessageKind::Unknown;
  std::string type;         // "begin", "commit", "OrderPlaced", the application type, ...
  uint64_t lsn = 0;         // commit LSN of the transaction
  std::string lsn_text;     // as sent, "0/1A2B3C4"
  int64_t xid = -1;
  int64_t seq = -1;         // events only
  int64_t events = -1;      // commit only
  std::string commit_time;  // begin only
  std::string reason;       // InvalidMessage only
  // Domain events: a text value was over the plugin's 1 MiB limit and arrives cut (its
  // "truncated" member, docs/events.md); the read model holds what arrived.
  bool cut = false;
  DomainEvent event;  // Domain only
  RowEvent row;       // Model only
};

struct ParseResult {
  std::optional<Message> message;
  std::string error;  // set when message is empty
};

ParseResult parse_message(std::string_view json);

// A timestamp of the event contract (pgcqrs::parse_timestamp) as its sorted-set score:
// "2026-11-28T09:15:02.123456Z" -> "1795864502123" (Unix ms, rounded down);
// "infinity" -> "+inf", "-infinity" -> "-inf"; nullopt if parse_timestamp refuses it.
std::optional<std::string> timestamp_score(std::string_view text);

}  // namespace pgcqrs::sidecar::projection
