// JSON plugin messages -> Message, validated field by field against the event contract.
// core's strict reader (json_reader.hpp), the one the plugin checks application messages
// with, takes the JSON apart in one pass; only the members parse_message looks at are kept
// (a DOM parse was most of the sidecar's CPU).
#include "pgcqrs/sidecar/projection/event.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <list>

#include "pgcqrs/core/event_types.hpp"
#include "pgcqrs/core/json_reader.hpp"
#include "pgcqrs/core/lsn.hpp"
#include "pgcqrs/core/timestamp.hpp"

namespace pgcqrs::sidecar::projection {
namespace {

// ---- What the reader keeps of a message ----

// The object keys parse_message reads; the reader validates and skips every other one.
enum class K : uint8_t {
  type, lsn, xid, v, commit_time, events, seq, app, reason, items, tables,
  user_id, name, email, is_active, product_id, price, order_id, status, created_at, updated_at,
  quantity, unit_price, to, truncated, count
};
constexpr std::array<std::string_view, static_cast<size_t>(K::count)> kKeyNames = {
    "type", "lsn", "xid", "v", "commit_time", "events", "seq", "app", "reason", "items", "tables",
    "user_id", "name", "email", "is_active", "product_id", "price", "order_id", "status", "created_at",
    "updated_at", "quantity", "unit_price", "to", "truncated"};

std::string_view key_name(K k) { return kKeyNames[static_cast<size_t>(k)]; }

// Every member of every message is looked up, so a name goes straight to the one key it
// can be: a slot per length, first and last byte, which no two names share.
constexpr size_t key_slot(std::string_view s) {
  return (s.size() + 8 * static_cast<unsigned char>(s.front()) + 2 * static_cast<unsigned char>(s.back())) & 63;
}
constexpr std::array<K, 64> kKeySlots = [] {
  std::array<K, 64> slots{};
  for (auto& k : slots) k = K::count;
  for (size_t i = 0; i < kKeyNames.size(); ++i) {
    K& slot = slots[key_slot(kKeyNames[i])];
    if (slot != K::count) throw "two key names share a slot: change key_slot";  // fails the build
    slot = static_cast<K>(i);
  }
  return slots;
}();

K key_of(std::string_view s) {
  if (s.empty()) return K::count;
  const K k = kKeySlots[key_slot(s)];
  return k != K::count && key_name(k) == s ? k : K::count;
}

using json::Kind;
using json::Value;

enum class F { Id, Int, Text, Money, Bool, Ts };

struct FieldSpec {
  K key;
  F kind;
};

// The fields of one OrderPlaced item, in token order; Element::item holds them in this order.
constexpr std::array<FieldSpec, 3> kItemFields = {{{K::product_id, F::Id}, {K::quantity, F::Int}, {K::unit_price, F::Money}}};

int item_slot(K k) {
  for (size_t i = 0; i < kItemFields.size(); ++i)
    if (kItemFields[i].key == k) return static_cast<int>(i);
  return -1;
}

// One element of "items" or "tables": its kind (and string), and an object's item fields.
struct Element {
  Value self;
  std::array<Value, kItemFields.size()> item;
};

struct Doc {
  bool is_object = false;
  std::array<Value, static_cast<size_t>(K::count)> top;  // a repeated key keeps its last value
  std::vector<Element> items, tables;                    // when top[items] / top[tables] is an Array
  std::list<std::string> decoded;                        // node-based: views into it stay valid
  Value& operator[](K k) { return top[static_cast<size_t>(k)]; }
  const Value& operator[](K k) const { return top[static_cast<size_t>(k)]; }
};

// ---- Reading a message ----

// One element of "items" or "tables" into out, its object members as OrderPlaced items.
bool elements(json::Reader& r, std::vector<Element>& out, Value& v) {
  v = Value{Kind::Array};
  out.clear();
  out.reserve(8);  // an order's items in one allocation, not three or four
  return r.array([&] {
    Element& e = out.emplace_back();
    if (!r.at('{')) return r.value(&e.self);
    e.self.kind = Kind::Object;
    return r.object([&](std::string_view key) {
      const int slot = item_slot(key_of(key));
      return r.value(slot < 0 ? nullptr : &e.item[static_cast<size_t>(slot)]);
    });
  });
}

// The whole message (core's strict reader), keeping only the members parse_message looks at.
// Two edge cases of the nlohmann parser it replaced are kept: a UTF-8 byte order mark may
// start the input, and a NUL byte ends it (whatever follows one is not read).
bool read_message(std::string_view in, Doc& doc) {
  if (!in.empty() && static_cast<unsigned char>(in[0]) == 0xEF) {
    if (in.size() < 3 || in[1] != '\xBB' || in[2] != '\xBF') return false;
    in.remove_prefix(3);
  }
  json::Reader r(in, doc.decoded);
  r.ws();
  if (r.at('{')) {
    doc.is_object = true;
    const bool read = r.object([&](std::string_view key) {
      const K k = key_of(key);
      if (k == K::items && r.at('[')) return elements(r, doc.items, doc[k]);
      if (k == K::tables && r.at('[')) return elements(r, doc.tables, doc[k]);
      return r.value(k == K::count ? nullptr : &doc[k]);
    });
    if (!read) return false;
  } else if (!r.value(nullptr)) {
    return false;
  }
  r.ws();
  return r.at_end() || r.at('\0');
}


// ---- The event contract ----

// `field "name" <what>`
std::string field_error(K key, std::string_view what, std::string_view value = {}) {
  std::string e = "field \"";
  e.append(key_name(key)).append("\" ").append(what).append(value);
  return e;
}

// Checks one field against its spec; number gets an Id or Int field's value, or a Money
// field's cents. Returns an error text, empty when the field is fine.
std::string check_field(const Value& v, const FieldSpec& f, int64_t& number) {
  if (v.kind == Kind::Missing) return std::string("missing field \"").append(key_name(f.key)).append("\"");
  switch (f.kind) {
    case F::Id:
    case F::Int:
      if (v.kind != Kind::Int) return field_error(f.key, "must be an integer");
      number = v.integer;
      return {};
    case F::Text:
      if (v.kind != Kind::String) return field_error(f.key, "must be a string");
      return {};
    case F::Bool:
      if (v.kind != Kind::Bool) return field_error(f.key, "must be a boolean");
      return {};
    case F::Money: {
      if (v.kind != Kind::String) return field_error(f.key, "must be a decimal string");
      auto cents = money_to_cents(v.text);
      if (!cents) return field_error(f.key, "is not a 2-decimal amount: ", v.text);
      number = *cents;
      return {};
    }
    case F::Ts:
      if (v.kind != Kind::String) return field_error(f.key, "must be a timestamp string");
      if (!pgcqrs::parse_timestamp(v.text)) return field_error(f.key, "is not an ISO-8601 UTC timestamp: ", v.text);
      return {};
  }
  return "unreachable";
}

// An event's fields, read in the contract's order: the first bad one's error is kept and
// the fields after it are not looked at, so the error names the first thing wrong.
class Fields {
 public:
  explicit Fields(const Doc& doc) : doc_(doc) {}

  int64_t id(K k) { return number(k, F::Id); }
  int64_t integer(K k) { return number(k, F::Int); }
  int64_t cents(K k) { return number(k, F::Money); }
  bool boolean(K k) { return check(k, F::Bool) && doc_[k].boolean; }
  std::string text(K k) { return check(k, F::Text) ? std::string(doc_[k].text) : std::string(); }
  std::string timestamp(K k) { return check(k, F::Ts) ? std::string(doc_[k].text) : std::string(); }
  // A timestamp field (checked before) as its sorted-set score.
  std::string score(K k) {
    if (!error_.empty()) return {};
    auto score = timestamp_score(doc_[k].text);
    if (!score) error_ = field_error(k, "is not an ISO-8601 UTC timestamp: ", doc_[k].text);
    return score.value_or("");
  }

  std::vector<OrderLine> items() {
    std::vector<OrderLine> lines;
    if (!error_.empty()) return lines;
    if (doc_[K::items].kind != Kind::Array) {
      error_ = "field \"items\" must be an array";
      return lines;
    }
    lines.reserve(doc_.items.size());
    for (size_t i = 0; i < doc_.items.size(); ++i) {
      const Element& e = doc_.items[i];
      if (e.self.kind != Kind::Object) {
        error_ = "items[" + std::to_string(i) + "] must be an object";
        return lines;
      }
      std::array<int64_t, kItemFields.size()> n{};  // product_id, quantity, unit cents
      for (size_t k = 0; k < kItemFields.size(); ++k)
        if (auto err = check_field(e.item[k], kItemFields[k], n[k]); !err.empty()) {
          error_ = "items[" + std::to_string(i) + "]: " + err;
          return lines;
        }
      lines.push_back({n[0], n[1], n[2]});
    }
    return lines;
  }

  std::vector<std::string> tables() {
    std::vector<std::string> out;
    if (!error_.empty()) return out;
    if (doc_[K::tables].kind != Kind::Array) {
      error_ = "field \"tables\" must be an array";
      return out;
    }
    out.reserve(doc_.tables.size());
    for (const auto& t : doc_.tables) {
      if (t.self.kind != Kind::String) {
        error_ = "field \"tables\" must hold strings";
        return out;
      }
      out.emplace_back(t.self.text);
    }
    return out;
  }

  std::string& error() { return error_; }

 private:
  bool check(K k, F kind) {
    int64_t unused = 0;
    if (error_.empty()) error_ = check_field(doc_[k], {k, kind}, unused);
    return error_.empty();
  }
  int64_t number(K k, F kind) {
    int64_t n = 0;
    if (error_.empty()) error_ = check_field(doc_[k], {k, kind}, n);
    return n;
  }

  const Doc& doc_;
  std::string error_;
};

// The event of that type the message holds; f.error() says what is wrong with it, if anything.
// Each event's fields in braces are read left to right, the contract's order.
EventBody decode(EventType type, Fields& f) {
  switch (type) {
    case EventType::UserRegistered:
      return ev::UserRegistered{f.id(K::user_id), f.text(K::name), f.text(K::email), f.boolean(K::is_active)};
    case EventType::UserRenamed: return ev::UserRenamed{f.id(K::user_id), f.text(K::name)};
    case EventType::UserEmailChanged: return ev::UserEmailChanged{f.id(K::user_id), f.text(K::email)};
    case EventType::UserDeactivated: return ev::UserDeactivated{f.id(K::user_id)};
    case EventType::UserReactivated: return ev::UserReactivated{f.id(K::user_id)};
    case EventType::UserDeleted: return ev::UserDeleted{f.id(K::user_id)};
    case EventType::ProductAdded:
      return ev::ProductAdded{f.id(K::product_id), f.text(K::name), f.cents(K::price), f.boolean(K::is_active)};
    case EventType::ProductRenamed: return ev::ProductRenamed{f.id(K::product_id), f.text(K::name)};
    case EventType::ProductRepriced: return ev::ProductRepriced{f.id(K::product_id), f.cents(K::price)};
    case EventType::ProductDeactivated: return ev::ProductDeactivated{f.id(K::product_id)};
    case EventType::ProductReactivated: return ev::ProductReactivated{f.id(K::product_id)};
    case EventType::ProductDeleted: return ev::ProductDeleted{f.id(K::product_id)};
    case EventType::OrderPlaced:
      return ev::OrderPlaced{f.id(K::order_id),         f.id(K::user_id),          f.text(K::status),
                             f.timestamp(K::created_at), f.timestamp(K::updated_at), f.score(K::created_at),
                             f.items()};
    case EventType::OrderItemAdded:
      return ev::OrderItemAdded{f.id(K::order_id), {f.id(K::product_id), f.integer(K::quantity), f.cents(K::unit_price)}};
    case EventType::OrderItemChanged:
      return ev::OrderItemChanged{f.id(K::order_id), {f.id(K::product_id), f.integer(K::quantity), f.cents(K::unit_price)}};
    case EventType::OrderItemRemoved: return ev::OrderItemRemoved{f.id(K::order_id), f.id(K::product_id)};
    case EventType::OrderStatusChanged:
      return ev::OrderStatusChanged{f.id(K::order_id), f.text(K::to), f.timestamp(K::updated_at)};
    case EventType::OrderDeleted: return ev::OrderDeleted{f.id(K::order_id)};
    case EventType::Truncated: return ev::Truncated{f.tables()};
  }
  f.error() = "unreachable";
  return {};
}

}  // namespace

std::optional<std::string> timestamp_score(std::string_view t) {
  const auto pg_micros = pgcqrs::parse_timestamp(t);
  if (!pg_micros) return std::nullopt;
  if (*pg_micros == timestamp_infinity) return std::string("+inf");
  if (*pg_micros == timestamp_minus_infinity) return std::string("-inf");
  // Milliseconds first: near 294276 AD, microseconds since 1970 would overflow 64 bits.
  // Floor, not truncation: 1969-12-31T23:59:59.9995Z is -1 ms, not 0.
  const int64_t pg_ms = *pg_micros / 1000 - (*pg_micros % 1000 < 0 ? 1 : 0);
  return std::to_string(pg_ms + unix_to_pg_epoch_micros / 1000);
}

namespace {

// The message a parsed object holds, or an error text.
std::string read_message(const Doc& doc, Message& m) {
  m.type = doc[K::type].text;
  if (doc[K::lsn].kind != Kind::String) return m.type + " message has no string \"lsn\" (the sidecar needs include-lsn)";
  m.lsn_text = doc[K::lsn].text;
  auto lsn = pgcqrs::parse_lsn(m.lsn_text);
  if (!lsn) return m.type + " message has a malformed lsn: " + m.lsn_text;
  m.lsn = *lsn;
  if (doc[K::xid].kind == Kind::Int) m.xid = doc[K::xid].integer;

  if (m.type == begin_message) {
    m.kind = MessageKind::Begin;
    if (doc[K::v].kind != Kind::Int || doc[K::v].integer != 1)
      return "begin message has format version other than 1; this sidecar reads version 1";
    if (doc[K::commit_time].kind == Kind::String) m.commit_time = doc[K::commit_time].text;
    return {};
  }
  if (m.type == commit_message) {
    m.kind = MessageKind::Commit;
    if (doc[K::events].kind != Kind::Int) return "commit message has no integer \"events\"";
    m.events = doc[K::events].integer;
    return {};
  }
  if (doc[K::seq].kind != Kind::Int || doc[K::seq].integer < 0)
    return m.type + " event has no non-negative integer \"seq\"";
  m.seq = doc[K::seq].integer;
  if (doc[K::app].kind == Kind::Bool && doc[K::app].boolean) {
    m.kind = MessageKind::Application;
    return {};
  }
  if (m.type == invalid_message) {
    m.kind = MessageKind::Invalid;
    if (doc[K::reason].kind == Kind::String) m.reason = doc[K::reason].text;
    return {};
  }
  if (m.type == row_inserted || m.type == row_updated || m.type == row_deleted || m.type == rows_truncated ||
      m.type == read_model_registered || m.type == read_model_replaced || m.type == read_model_dropped) {
    m.kind = MessageKind::Model;
    return {};
  }
  const auto type = domain_event_type(m.type);
  if (!type) {
    m.kind = MessageKind::Unknown;
    return {};
  }
  m.kind = MessageKind::Domain;
  m.cut = doc[K::truncated].kind == Kind::Object;
  Fields fields(doc);
  m.event.seq = m.seq;
  m.event.body = decode(*type, fields);
  if (!fields.error().empty())
    return m.type + " event (lsn " + m.lsn_text + ", seq " + std::to_string(m.seq) + "): " + fields.error();
  return {};
}

}  // namespace

ParseResult parse_message(std::string_view text) {
  ParseResult r;
  Doc doc;
  if (!read_message(text, doc)) {
    r.error = "message is not valid JSON";
    return r;
  }
  if (!doc.is_object) {
    r.error = "message is not a JSON object";
    return r;
  }
  if (doc[K::type].kind != Kind::String) {
    r.error = "message has no string \"type\"";
    return r;
  }
  // Built where it is returned rather than moved there, string by string, at the end.
  if (std::string e = read_message(doc, r.message.emplace()); !e.empty()) {
    r.message.reset();
    r.error = std::move(e);
    return r;
  }
  if (Message& m = *r.message; m.kind == MessageKind::Model) {
    if (std::string e = parse_row_event(text, m.type, m.row); !e.empty()) {
      r.error = m.type + " event (lsn " + m.lsn_text + ", seq " + std::to_string(m.seq) + "): " + e;
      r.message.reset();
      return r;
    }
    m.row.seq = m.seq;
  }
  return r;
}

}  // namespace pgcqrs::sidecar::projection
