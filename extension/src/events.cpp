// Domain events from row changes: which events a change means, and their JSON.
#include "pgcqrs/events.hpp"

#include "pgcqrs/app_message.hpp"
#include "pgcqrs/json.hpp"
#include "pgcqrs/core/event_types.hpp"
#include "pgcqrs/core/lsn.hpp"
#include "pgcqrs/core/timestamp.hpp"

namespace pgcqrs {
namespace {

bool same(const Value& a, const Value& b) {
  if (a.kind != b.kind) return false;
  switch (a.kind) {
    case Value::Kind::Int:
    case Value::Kind::Timestamp: return a.i == b.i;
    case Value::Kind::Bool: return a.b == b.b;
    case Value::Kind::Text:
      // Two values that differ only past the cut, or only in characters sent as U+FFFD,
      // are still different values.
      if (a.has_stored && b.has_stored) return a.stored == b.stored;
      return a.s == b.s && a.cut == b.cut && a.sha256 == b.sha256;
    case Value::Kind::Decimal: return a.s == b.s;
    default: return true;
  }
}

// The new image's value, with an untouched TOAST value taken from the old image.
const Value& current(const Value& new_v, const Value* old_v) {
  if (new_v.kind == Value::Kind::Unchanged && old_v) return *old_v;
  return new_v;
}

// Whether an UPDATE changed the column; without an old image every column counts as changed.
bool changed(const Value* old_v, const Value& new_v) {
  if (!old_v) return true;
  return !same(*old_v, current(new_v, old_v));
}

// The application's JSON without insignificant white space, so that each message stays on
// one line for line-oriented consumers. The input has already been validated.
std::string minify_json(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  bool in_string = false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (in_string) {
      out.push_back(c);
      if (c == '\\' && i + 1 < s.size()) {
        out.push_back(s[++i]);
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
      out.push_back(c);
    } else if (c != ' ' && c != '\t' && c != '\n' && c != '\r') {
      out.push_back(c);
    }
  }
  return out;
}

}  // namespace

void EventWriter::begin(const TxnInfo& txn) {
  txn_ = txn;
  began_ = false;
  seq_ = 0;
  pending_ = false;
  held_rows_.clear();
  // Every message of the transaction carries the same xid and LSN: render them once.
  txn_fields_.clear();
  if (options_.include_xid) {
    txn_fields_.append(",\"xid\":");
    json::append_int(txn_fields_, txn_.xid);
  }
  if (options_.include_lsn) {
    txn_fields_.append(",\"lsn\":");
    json::append_string(txn_fields_, format_lsn(txn_.commit_lsn));
  }
}

void EventWriter::ensure_begun() {
  if (began_) return;
  began_ = true;
  out_.append("{\"type\":\"begin\",\"v\":1");
  out_.append(txn_fields_);
  if (options_.include_timestamps) {
    json::append_key(out_, "commit_time");
    json::append_string(out_, format_timestamp(txn_.commit_time));
  }
  close_message();
}

void EventWriter::open_event(std::string_view type) {
  ensure_begun();
  put_head(type);
  put_seq();
}

void EventWriter::put_head(std::string_view type) {
  out_.append("{\"type\":");
  json::append_string(out_, type);
  out_.append(txn_fields_);
}

void EventWriter::put_seq() {
  json::append_key(out_, "seq");
  json::append_int(out_, static_cast<int64_t>(seq_++));
}

void EventWriter::close_message() {
  put_marks();
  out_.push_back('}');
  ends_.push_back(out_.size());
}

void EventWriter::put(std::string_view key, const Value& v) {
  if (v.kind == Value::Kind::Timestamp && !options_.include_timestamps) return;
  put_column(key, v, "");
}

void EventWriter::put_column(std::string_view name, const Value& v, std::string_view mark_prefix) {
  if (!out_.empty() && out_.back() != '{' && out_.back() != '[') out_.push_back(',');
  json::append_string(out_, name);
  out_.push_back(':');
  switch (v.kind) {
    case Value::Kind::Int: json::append_int(out_, v.i); break;
    case Value::Kind::Bool: out_.append(v.b ? "true" : "false"); break;
    case Value::Kind::Text:
    case Value::Kind::Decimal: json::append_string(out_, v.s); break;
    case Value::Kind::Timestamp: json::append_string(out_, format_timestamp(v.i)); break;
    default: out_.append("null");
  }
  if (v.kind != Value::Kind::Text) return;
  std::string key(mark_prefix);
  key.append(name);
  if (v.cut) {
    if (!truncated_.empty()) truncated_.push_back(',');
    json::append_string(truncated_, key);
    truncated_.append(":{\"bytes\":");
    json::append_int(truncated_, static_cast<int64_t>(v.stored_bytes));
    truncated_.append(",\"sha256\":");
    json::append_string(truncated_, v.sha256);
    truncated_.push_back('}');
  }
  if (v.replaced > 0) {
    if (!replaced_.empty()) replaced_.push_back(',');
    json::append_string(replaced_, key);
    replaced_.push_back(':');
    json::append_int(replaced_, static_cast<int64_t>(v.replaced));
  }
}

void EventWriter::put_marks() {
  if (!truncated_.empty()) {
    json::append_key(out_, "truncated");
    out_.push_back('{');
    out_.append(truncated_);
    out_.push_back('}');
    truncated_.clear();
  }
  if (!replaced_.empty()) {
    json::append_key(out_, "replaced");
    out_.push_back('{');
    out_.append(replaced_);
    out_.push_back('}');
    replaced_.clear();
  }
}

void EventWriter::put_diff_event(std::string_view type, std::string_view id_key, const Value& id,
                                 std::string_view old_key, const Value* old_v,
                                 std::string_view key, const Value& new_v) {
  open_event(type);
  put(id_key, id);
  put(old_key, old_v ? *old_v : Value::null());
  put(key, current(new_v, old_v));
  close_message();
}

// --- users -------------------------------------------------------------------------------

void EventWriter::user_inserted(const UserRow& row) {
  flush_pending_order();
  open_event(name(EventType::UserRegistered));
  put("user_id", row.id);
  put("name", row.name);
  put("email", row.email);
  put("is_active", row.is_active);
  put("created_at", row.created_at);
  close_message();
}

void EventWriter::user_updated(const UserRow* old_row, const UserRow& row) {
  flush_pending_order();
  const Value& id = row.id;
  if (changed(old_row ? &old_row->name : nullptr, row.name))
    put_diff_event(name(EventType::UserRenamed), "user_id", id, "old_name", old_row ? &old_row->name : nullptr,
                   "name", row.name);
  if (changed(old_row ? &old_row->email : nullptr, row.email))
    put_diff_event(name(EventType::UserEmailChanged), "user_id", id, "old_email",
                   old_row ? &old_row->email : nullptr, "email", row.email);
  if (changed(old_row ? &old_row->is_active : nullptr, row.is_active)) {
    bool active = row.is_active.kind == Value::Kind::Bool && row.is_active.b;
    open_event(active ? name(EventType::UserReactivated) : name(EventType::UserDeactivated));
    put("user_id", id);
    close_message();
  }
}

void EventWriter::user_deleted(const UserRow& old_row) {
  flush_pending_order();
  open_event(name(EventType::UserDeleted));
  put("user_id", old_row.id);
  close_message();
}

// --- products ----------------------------------------------------------------------------

void EventWriter::product_inserted(const ProductRow& row) {
  flush_pending_order();
  open_event(name(EventType::ProductAdded));
  put("product_id", row.id);
  put("name", row.name);
  put("price", row.price);
  put("is_active", row.is_active);
  close_message();
}

void EventWriter::product_updated(const ProductRow* old_row, const ProductRow& row) {
  flush_pending_order();
  const Value& id = row.id;
  if (changed(old_row ? &old_row->name : nullptr, row.name))
    put_diff_event(name(EventType::ProductRenamed), "product_id", id, "old_name",
                   old_row ? &old_row->name : nullptr, "name", row.name);
  if (changed(old_row ? &old_row->price : nullptr, row.price))
    put_diff_event(name(EventType::ProductRepriced), "product_id", id, "old_price",
                   old_row ? &old_row->price : nullptr, "price", row.price);
  if (changed(old_row ? &old_row->is_active : nullptr, row.is_active)) {
    bool active = row.is_active.kind == Value::Kind::Bool && row.is_active.b;
    open_event(active ? name(EventType::ProductReactivated) : name(EventType::ProductDeactivated));
    put("product_id", id);
    close_message();
  }
}

void EventWriter::product_deleted(const ProductRow& old_row) {
  flush_pending_order();
  open_event(name(EventType::ProductDeleted));
  put("product_id", old_row.id);
  close_message();
}

// --- orders ------------------------------------------------------------------------------

void EventWriter::order_inserted(const OrderRow& row) {
  flush_pending_order();
  // Held back until its items have arrived: they become part of OrderPlaced.
  std::string head = std::move(pending_head_);
  head.assign("{");
  std::swap(out_, head);  // render the fields with put() into the head buffer
  put("order_id", row.id);
  put("user_id", row.user_id);
  put("status", row.status);
  put("created_at", row.created_at);
  put("updated_at", row.updated_at);
  put_marks();  // a cut or repaired status: marked among the head's fields
  std::swap(out_, head);
  pending_head_ = std::move(head);
  pending_items_.clear();
  pending_count_ = 0;
  pending_total_ = *Decimal::parse("0.00");
  pending_total_valid_ = true;
  pending_order_id_ = row.id.kind == Value::Kind::Int ? row.id.i : 0;
  pending_ = true;
  if (row.id.kind != Value::Kind::Int) flush_pending_order();  // nothing can match it
}

void EventWriter::flush_pending_order() {
  if (!pending_) return;
  pending_ = false;
  open_event(name(EventType::OrderPlaced));
  out_.push_back(',');
  out_.append(pending_head_, 1, std::string::npos);
  json::append_key(out_, "items");
  out_.push_back('[');
  out_.append(pending_items_);
  out_.push_back(']');
  json::append_key(out_, "total");
  if (pending_total_valid_) {
    json::append_string(out_, pending_total_.to_string());
  } else {
    out_.append("null");
  }
  close_message();
  for (const auto& [head, rest] : held_rows_) {
    out_.append(head);
    put_seq();
    out_.append(rest);
    ends_.push_back(out_.size());
  }
  held_rows_.clear();
}

void EventWriter::order_updated(const OrderRow* old_row, const OrderRow& row) {
  flush_pending_order();
  if (!changed(old_row ? &old_row->status : nullptr, row.status)) return;
  open_event(name(EventType::OrderStatusChanged));
  put("order_id", row.id);
  put("user_id", current(row.user_id, old_row ? &old_row->user_id : nullptr));
  put("from", old_row ? old_row->status : Value::null());
  put("to", current(row.status, old_row ? &old_row->status : nullptr));
  put("updated_at", row.updated_at);
  close_message();
}

void EventWriter::order_deleted(const OrderRow& old_row) {
  flush_pending_order();
  open_event(name(EventType::OrderDeleted));
  put("order_id", old_row.id);
  put("user_id", old_row.user_id);
  put("status", old_row.status);
  close_message();
}

// --- order items -------------------------------------------------------------------------

void EventWriter::item_inserted(const ItemRow& row) {
  bool folds = pending_ && row.order_id.kind == Value::Kind::Int &&
               row.order_id.i == pending_order_id_;
  if (folds && pending_count_ < max_folded_items && pending_items_.size() < max_folded_bytes) {
    std::string& buf = pending_items_;  // put() renders into out_, so swap the buffer in
    if (pending_count_ > 0) buf.push_back(',');
    buf.push_back('{');
    std::swap(out_, buf);
    put("product_id", row.product_id);
    put("quantity", row.quantity);
    put("unit_price", row.unit_price);
    put_marks();
    std::swap(out_, buf);
    buf.push_back('}');
    ++pending_count_;
    if (pending_total_valid_) {
      std::optional<Decimal> line;
      if (row.unit_price.kind == Value::Kind::Decimal && row.quantity.kind == Value::Kind::Int)
        if (auto price = Decimal::parse(row.unit_price.s)) line = price->times(row.quantity.i);
      std::optional<Decimal> sum = line ? pending_total_.plus(*line) : std::nullopt;
      if (sum) {
        pending_total_ = *sum;
      } else {
        pending_total_valid_ = false;
      }
    }
    return;
  }
  flush_pending_order();
  open_event(name(EventType::OrderItemAdded));
  put("order_id", row.order_id);
  put("product_id", row.product_id);
  put("quantity", row.quantity);
  put("unit_price", row.unit_price);
  close_message();
}

void EventWriter::item_updated(const ItemRow* old_row, const ItemRow& row) {
  flush_pending_order();
  const Value* old_qty = old_row ? &old_row->quantity : nullptr;
  const Value* old_price = old_row ? &old_row->unit_price : nullptr;
  if (!changed(old_qty, row.quantity) && !changed(old_price, row.unit_price)) return;
  open_event(name(EventType::OrderItemChanged));
  put("order_id", row.order_id);
  put("product_id", row.product_id);
  put("old_quantity", old_qty ? *old_qty : Value::null());
  put("quantity", current(row.quantity, old_qty));
  put("old_unit_price", old_price ? *old_price : Value::null());
  put("unit_price", current(row.unit_price, old_price));
  close_message();
}

void EventWriter::item_deleted(const ItemRow& old_row) {
  flush_pending_order();
  open_event(name(EventType::OrderItemRemoved));
  put("order_id", old_row.order_id);
  put("product_id", old_row.product_id);
  put("quantity", old_row.quantity);
  put("unit_price", old_row.unit_price);
  close_message();
}

// --- truncate, application events, commit ------------------------------------------------

void EventWriter::truncated(bool users, bool products, bool orders, bool items) {
  flush_pending_order();
  open_event(name(EventType::Truncated));
  json::append_key(out_, "tables");
  out_.push_back('[');
  const char* sep = "";
  auto add = [&](bool on, const char* name) {
    if (!on) return;
    out_.append(sep);
    json::append_string(out_, name);
    sep = ",";
  };
  add(users, "users");
  add(products, "products");
  add(orders, "orders");
  add(items, "order_items");
  out_.push_back(']');
  close_message();
}

// --- rows of tables registered read models read ------------------------------------------

void EventWriter::row_changed(RowChange change, std::string_view table, const RowColumn* columns,
                              std::size_t count, bool has_old, bool write_model) {
  const std::string_view type =
      change == RowChange::Inserted ? row_inserted : change == RowChange::Updated ? row_updated : row_deleted;
  // Rendered as any event, in a buffer of its own, then split where its seq goes.
  const bool hold = write_model && pending_;
  std::string held;
  if (hold) {
    ensure_begun();
    std::swap(out_, held);
    put_head(type);
  } else {
    flush_pending_order();
    open_event(type);
  }
  const std::size_t seq_at = out_.size();
  json::append_key(out_, "table");
  json::append_string(out_, table);
  if (change != RowChange::Deleted) {
    // An untouched TOAST value: the old image's when it was logged, else listed as unchanged.
    std::string unchanged;
    json::append_key(out_, "row");
    out_.push_back('{');
    for (std::size_t i = 0; i < count; ++i) {
      const Value& old_v = columns[i].old_value;
      const Value& v = current(columns[i].value, has_old && old_v.kind != Value::Kind::Missing ? &old_v : nullptr);
      if (v.kind == Value::Kind::Unchanged || v.kind == Value::Kind::Missing) {
        if (v.kind == Value::Kind::Unchanged) {
          if (!unchanged.empty()) unchanged.push_back(',');
          json::append_string(unchanged, columns[i].name);
        }
        continue;
      }
      put_column(columns[i].name, v, "");
    }
    out_.push_back('}');
    if (!unchanged.empty()) {
      json::append_key(out_, "unchanged");
      out_.push_back('[');
      out_.append(unchanged);
      out_.push_back(']');
    }
  }
  if (change == RowChange::Deleted || has_old) {
    json::append_key(out_, "old");
    out_.push_back('{');
    for (std::size_t i = 0; i < count; ++i) {
      const Value& v = columns[i].old_value;
      if (v.kind != Value::Kind::Missing && v.kind != Value::Kind::Unchanged) put_column(columns[i].name, v, "old.");
    }
    out_.push_back('}');
  }
  if (!hold) return close_message();
  put_marks();
  out_.push_back('}');
  std::swap(out_, held);
  held_rows_.emplace_back(held.substr(0, seq_at), held.substr(seq_at));
}

void EventWriter::rows_truncated(const std::string_view* tables, std::size_t count) {
  flush_pending_order();
  open_event(pgcqrs::rows_truncated);
  json::append_key(out_, "tables");
  out_.push_back('[');
  for (std::size_t i = 0; i < count; ++i) {
    if (i > 0) out_.push_back(',');
    json::append_string(out_, tables[i]);
  }
  out_.push_back(']');
  close_message();
}

void EventWriter::read_model_registered(const ReadModelRow& row, bool replaced) {
  flush_pending_order();
  open_event(replaced ? pgcqrs::read_model_replaced : pgcqrs::read_model_registered);
  put("name", row.name);
  put("key", row.key);
  if (row.plan.kind == Value::Kind::Text && !row.plan.cut) {
    json::append_key(out_, "plan");
    out_.append(minify_json(row.plan.s));  // jsonb's text: valid JSON, on one line
  } else {
    put("plan", row.plan);  // never in practice: a plan of over 1 MiB arrives cut, as text
  }
  close_message();
}

void EventWriter::read_model_dropped(const Value& name) {
  flush_pending_order();
  open_event(pgcqrs::read_model_dropped);
  put("name", name);
  close_message();
}

void EventWriter::app_message(std::string_view content, const Value& raw) {
  flush_pending_order();
  AppMessageCheck check;
  if (content.size() > max_message_bytes) {
    check.reason = "payload is " + std::to_string(content.size()) + " bytes, over the limit of " +
                   std::to_string(max_message_bytes);
  } else {
    check = check_app_message(content);
  }
  if (check.valid) {
    open_event(check.type);
    json::append_key(out_, "app");
    out_.append("true");
    json::append_key(out_, "payload");
    out_.append(minify_json(content));
  } else {
    open_event(invalid_message);
    json::append_key(out_, "reason");
    json::append_string(out_, check.reason);
    put("raw", raw);
  }
  close_message();
}

void EventWriter::commit() {
  flush_pending_order();
  if (!began_) return;
  out_.append("{\"type\":\"commit\"");
  out_.append(txn_fields_);
  json::append_key(out_, "events");
  json::append_int(out_, static_cast<int64_t>(seq_));
  close_message();
}

}  // namespace pgcqrs
