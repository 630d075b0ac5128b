// Renders decoded row changes as the domain events of docs/events.md. Pure C++: the
// PostgreSQL zone hands it plain values and copies the finished messages out.
#pragma once
#include "pgcqrs/core/pure.hpp"

#include "pgcqrs/core/decimal.hpp"
#include "pgcqrs/core/limits.hpp"
#include "pgcqrs/options.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace pgcqrs {

// One column value of a row image, as plain data borrowed from the caller.
struct Value {
  enum class Kind : uint8_t {
    Missing,    // column absent (dropped) or the row image was not logged
    Null,
    Int,        // i
    Bool,       // b
    Text,       // s: raw bytes, escaped on output
    Decimal,    // s: numeric text such as "19.98"
    Timestamp,  // i: PostgreSQL microseconds since 2000-01-01 UTC
    Unchanged,  // a TOASTed value an UPDATE did not touch: equal to the old image's value
  };
  Kind kind = Kind::Missing;
  bool b = false;
  int64_t i = 0;
  std::string_view s;  // Text: valid UTF-8 of at most max_text_bytes, as it is sent

  // Text only, set by the plugin's row reader (docs/events.md, "Limits and encodings").
  bool has_stored = false;
  std::string_view stored;    // the value as stored (database encoding): what equality compares
  bool cut = false;           // s is a prefix: the value was longer than max_text_bytes
  uint64_t stored_bytes = 0;  // when cut: the stored value's length in bytes
  std::string_view sha256;    // when cut: hex SHA-256 of the stored bytes
  uint64_t replaced = 0;      // characters sent as U+FFFD (no UTF-8 equivalent, or invalid)

  static Value null() { return {Kind::Null}; }
  static Value integer(int64_t v) { return {Kind::Int, false, v}; }
  static Value boolean(bool v) { return {Kind::Bool, v}; }
  static Value text(std::string_view v) { return {Kind::Text, false, 0, v}; }
  static Value decimal(std::string_view v) { return {Kind::Decimal, false, 0, v}; }
  static Value timestamp(int64_t v) { return {Kind::Timestamp, false, v}; }
  static Value unchanged() { return {Kind::Unchanged}; }
};

struct UserRow { Value id, name, email, is_active, created_at; };
struct ProductRow { Value id, name, price, is_active; };
struct OrderRow { Value id, user_id, status, created_at, updated_at; };
struct ItemRow { Value order_id, product_id, quantity, unit_price; };
struct ReadModelRow { Value name, key, plan; };  // plan: the jsonb's text

// A column of a table a registered read model reads (docs/events.md, "Row events").
struct RowColumn {
  std::string_view name;
  Value value;      // the new image's (insert, update)
  Value old_value;  // the old image's (update, delete); Missing where it holds none
};

enum class RowChange : uint8_t { Inserted, Updated, Deleted };

struct TxnInfo {
  uint32_t xid = 0;
  uint64_t commit_lsn = 0;      // end of the commit record
  int64_t commit_time = 0;      // PostgreSQL microseconds
};

class EventWriter {
 public:
  static constexpr std::size_t max_folded_items = 1000;

  explicit EventWriter(Options options) : options_(options) {}

  void begin(const TxnInfo& txn);

  void user_inserted(const UserRow& row);
  void user_updated(const UserRow* old_row, const UserRow& new_row);
  void user_deleted(const UserRow& old_row);
  void product_inserted(const ProductRow& row);
  void product_updated(const ProductRow* old_row, const ProductRow& new_row);
  void product_deleted(const ProductRow& old_row);
  void order_inserted(const OrderRow& row);
  void order_updated(const OrderRow* old_row, const OrderRow& new_row);
  void order_deleted(const OrderRow& old_row);
  void item_inserted(const ItemRow& row);
  void item_updated(const ItemRow* old_row, const ItemRow& new_row);
  void item_deleted(const ItemRow& old_row);
  void truncated(bool users, bool products, bool orders, bool items);
  // A row of a table that registered read models read: the columns they read. has_old says
  // whether the old image was logged (an update's only when a key column changed; its key
  // columns, or all of them with REPLICA IDENTITY FULL). A row of the write model
  // (write_model) waits behind an OrderPlaced being assembled, whose items are still to come:
  // it follows that event rather than cut it short.
  void row_changed(RowChange change, std::string_view table, const RowColumn* columns, std::size_t count,
                   bool has_old, bool write_model = false);
  // TRUNCATE of tables that registered read models read, by their qualified names.
  void rows_truncated(const std::string_view* tables, std::size_t count);
  // A declarative read model registered (its row of read_models) or dropped (its name).
  // A model registered (an INSERT into read_models) or replaced (an UPDATE of it).
  void read_model_registered(const ReadModelRow& row, bool replaced);
  void read_model_dropped(const Value& name);
  // content: the message as sent; raw: the same bytes as text (valid UTF-8, cut to
  // max_text_bytes, with its marks), which an InvalidMessage carries.
  void app_message(std::string_view content, const Value& raw);

  // Ends the transaction: flushes a pending OrderPlaced and, if anything was emitted,
  // the commit message (always the last message out).
  void commit();

  // Whether the current transaction has emitted anything (begin included).
  bool began() const { return began_; }

  // Finished messages since the last clear(), in order.
  std::size_t message_count() const { return ends_.size(); }
  std::string_view message(std::size_t i) const {
    std::size_t start = i == 0 ? 0 : ends_[i - 1];
    return std::string_view(out_).substr(start, ends_[i] - start);
  }
  void clear() noexcept {
    out_.clear();
    ends_.clear();
  }

 private:
  void open_event(std::string_view type);  // writes begin if needed, opens the object
  void put_head(std::string_view type);    // the object's type and transaction fields
  void put_seq();                          // then its seq, the next one
  void close_message();
  void put(std::string_view key, const Value& v);
  void put_marks();  // the truncated/replaced members of the object being written
  // A member "name": value of a row object; marks go under mark_prefix + name.
  void put_column(std::string_view name, const Value& v, std::string_view mark_prefix);
  void put_diff_event(std::string_view type, std::string_view id_key, const Value& id,
                      std::string_view old_key, const Value* old_v, std::string_view key,
                      const Value& new_v);
  void flush_pending_order();
  void ensure_begun();  // the begin message, once, before the transaction's first event

  Options options_;
  TxnInfo txn_;
  std::string txn_fields_;  // ,"xid":N,"lsn":"X/Y" as the options ask, for every message
  bool began_ = false;
  uint64_t seq_ = 0;
  std::string out_;
  std::vector<std::size_t> ends_;
  std::string truncated_;  // "key":{"bytes":N,"sha256":"..."},... of the object being written
  std::string replaced_;   // "key":N,... of the object being written

  // The OrderPlaced being assembled while its items arrive.
  bool pending_ = false;
  int64_t pending_order_id_ = 0;
  std::string pending_head_;   // the event's fields up to (not including) "items"
  std::string pending_items_;  // the items array's elements, comma-separated
  std::size_t pending_count_ = 0;
  Decimal pending_total_;
  bool pending_total_valid_ = true;
  // Row events of the write model written while that OrderPlaced is assembled, without
  // their seq (given when they follow it): each one's text before "seq" and after it.
  std::vector<std::pair<std::string, std::string>> held_rows_;
};

}  // namespace pgcqrs
