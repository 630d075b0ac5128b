// JSON plugin messages -> Message, validated field by field against the event contract.
// A small strict reader takes the JSON apart in one pass and keeps only the members
// parse_message looks at (a DOM parse was most of the sidecar's CPU). It accepts and
// rejects exactly the inputs the nlohmann parser it replaced did.
#include "pgcqrs/sidecar/projection/event.hpp"

#include <algorithm>
#include <array>
#include <bit>
#include <charconv>
#include <cmath>
#include <cstring>
#include <list>

#include "pgcqrs/core/event_types.hpp"
#include "pgcqrs/core/json_number.hpp"
#include "pgcqrs/core/lsn.hpp"
#include "pgcqrs/core/timestamp.hpp"
#include "pgcqrs/core/utf8.hpp"

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

enum class Kind : uint8_t { Missing, Null, Bool, Int, Float, String, Array, Object };

struct Value {
  Kind kind = Kind::Missing;
  bool boolean = false;
  // A number above INT64_MAX (read as uint64 by nlohmann) wraps, as its get<int64_t>() did.
  int64_t integer = 0;
  std::string_view text;  // into the message, or into Doc::decoded if it had escapes
};

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

// ---- The reader ----

// A number without fraction or exponent was an int64 (if negative) or uint64 for
// nlohmann, and a double when it did not fit.
bool read_integer(const char* b, const char* e, bool negative, int64_t& out) {
  if (negative) return std::from_chars(b, e, out).ec == std::errc();
  uint64_t u = 0;
  if (std::from_chars(b, e, u).ec != std::errc()) return false;
  out = static_cast<int64_t>(u);
  return true;
}


// The bytes a string's scan stops at: its closing quote, an escape, a control character
// (refused) and any byte of a multi-byte UTF-8 sequence (checked); plain ASCII runs through.
constexpr std::array<bool, 256> kStringStop = [] {
  std::array<bool, 256> stop{};
  for (size_t c = 0; c < stop.size(); ++c) stop[c] = c < 0x20 || c == '"' || c == '\\' || c >= 0x80;
  return stop;
}();

// The high bit of each of the 8 bytes at p that kStringStop holds, all tested at once (the
// has-zero-byte and has-byte-below tests on a 64-bit word). A borrow only runs upwards, so
// the lowest bit set is exact; the ones above it may not be.
inline uint64_t stop_bits(const char* p) {
  constexpr uint64_t ones = 0x0101010101010101u, high = 0x8080808080808080u;
  uint64_t w;
  std::memcpy(&w, p, sizeof w);
  const uint64_t quote = w ^ (ones * '"'), backslash = w ^ (ones * '\\');
  return (((quote - ones) & ~quote) | ((backslash - ones) & ~backslash) | ((w - ones * 0x20) & ~w) | w) & high;
}

constexpr char closer(char open) { return open == '{' ? '}' : ']'; }

// Strict RFC 8259 reader over one message. Every function returns false on malformed
// input; the message then is "not valid JSON", whatever was read so far.
class Reader {
 public:
  Reader(std::string_view in, Doc& doc) : p_(in.data()), end_(in.data() + in.size()), doc_(doc) {}

  // The whole input: an optional UTF-8 BOM, then one JSON value.
  bool message() {
    if (p_ < end_ && static_cast<unsigned char>(*p_) == 0xEF) {
      if (end_ - p_ < 3 || p_[1] != '\xBB' || p_[2] != '\xBF') return false;
      p_ += 3;
    }
    ws();
    if (at('{')) {
      doc_.is_object = true;
      if (!top_object()) return false;
    } else if (!value(nullptr)) {
      return false;
    }
    ws();
    // nlohmann took a NUL byte for the end of input, so it never saw what follows one.
    return p_ == end_ || *p_ == '\0';
  }

 private:
  bool at(char c) const { return p_ < end_ && *p_ == c; }
  bool at_digit() const { return p_ < end_ && *p_ >= '0' && *p_ <= '9'; }
  void digits() {
    while (at_digit()) ++p_;
  }
  void ws() {
    while (p_ < end_ && (*p_ == ' ' || *p_ == '\t' || *p_ == '\n' || *p_ == '\r')) ++p_;
  }

  bool top_object() {
    return object([&](std::string_view key) {
      const K k = key_of(key);
      if (k == K::items && at('[')) return elements(doc_.items, doc_[k]);
      if (k == K::tables && at('[')) return elements(doc_.tables, doc_[k]);
      return value(k == K::count ? nullptr : &doc_[k]);
    });
  }

  // An array whose elements parse_message inspects, the objects among them as OrderPlaced items.
  bool elements(std::vector<Element>& out, Value& v) {
    v = Value{Kind::Array};
    out.clear();
    out.reserve(8);  // an order's items in one allocation, not three or four
    return array([&] {
      Element& e = out.emplace_back();
      if (!at('{')) return value(&e.self);
      e.self.kind = Kind::Object;
      return object([&](std::string_view key) {
        const int slot = item_slot(key_of(key));
        return value(slot < 0 ? nullptr : &e.item[static_cast<size_t>(slot)]);
      });
    });
  }

  // '{' ... '}', calling member(key) with the cursor on each member's value.
  template <class OnMember>
  bool object(OnMember&& member) {
    ++p_;
    ws();
    if (at('}')) return ++p_, true;
    while (true) {
      std::string_view key;
      if (!at('"') || !string(&key)) return false;
      ws();
      if (!at(':')) return false;
      ++p_;
      ws();
      if (!member(key)) return false;
      ws();
      if (at('}')) return ++p_, true;
      if (!at(',')) return false;
      ++p_;
      ws();
    }
  }

  // '[' ... ']', calling element() with the cursor on each element.
  template <class OnElement>
  bool array(OnElement&& element) {
    ++p_;
    ws();
    if (at(']')) return ++p_, true;
    while (true) {
      if (!element()) return false;
      ws();
      if (at(']')) return ++p_, true;
      if (!at(',')) return false;
      ++p_;
      ws();
    }
  }

  // Any value; v (if given) gets its kind and, for a scalar, its content.
  bool value(Value* v) {
    if (at('{') || at('[')) {
      if (v) *v = Value{at('{') ? Kind::Object : Kind::Array};
      return skip_nested();
    }
    Value scratch;
    return scalar(v ? *v : scratch, v != nullptr);
  }

  // A nested array or object nobody reads. An explicit stack instead of recursion keeps
  // any nesting depth from overflowing the call stack (nlohmann's parser had no limit).
  bool skip_nested() {
    std::string open;  // the unclosed brackets, innermost last
    Value scratch;
    while (true) {
      // At a value.
      if (at('{') || at('[')) {
        open.push_back(*p_++);
        ws();
        if (!at(closer(open.back()))) {
          if (open.back() == '{' && !member_key()) return false;
          continue;
        }
        ++p_;
        open.pop_back();
      } else if (!scalar(scratch, false)) {
        return false;
      }
      // After a value: close what ends here, then go on to the next member or element.
      while (true) {
        if (open.empty()) return true;
        ws();
        if (at(',')) {
          ++p_;
          ws();
          if (open.back() == '{' && !member_key()) return false;
          break;
        }
        if (!at(closer(open.back()))) return false;
        ++p_;
        open.pop_back();
      }
    }
  }

  // `"key" :` of a member nobody reads, leaving the cursor on its value.
  bool member_key() {
    if (!at('"') || !string(nullptr)) return false;
    ws();
    if (!at(':')) return false;
    ++p_;
    ws();
    return true;
  }

  bool scalar(Value& v, bool want_text) {
    v = Value{};
    if (p_ == end_) return false;
    switch (*p_) {
      case '"':
        v.kind = Kind::String;
        return string(want_text ? &v.text : nullptr);
      case 't':
        v = Value{Kind::Bool, true};
        return literal("true");
      case 'f':
        v = Value{Kind::Bool, false};
        return literal("false");
      case 'n':
        v.kind = Kind::Null;
        return literal("null");
      default:
        return number(v);
    }
  }

  bool literal(std::string_view word) {
    if (static_cast<size_t>(end_ - p_) < word.size() || std::string_view(p_, word.size()) != word) return false;
    p_ += word.size();
    return true;
  }

  // -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
  bool number(Value& v) {
    const char* start = p_;
    const bool negative = at('-');
    if (negative) ++p_;
    if (!at_digit()) return false;
    if (*p_++ != '0') digits();
    bool integral = true;
    if (at('.')) {
      ++p_;
      if (!at_digit()) return false;
      digits();
      integral = false;
    }
    if (at('e') || at('E')) {
      ++p_;
      if (at('+') || at('-')) ++p_;
      if (!at_digit()) return false;
      digits();
      integral = false;
    }
    if (integral && read_integer(start, p_, negative, v.integer)) {
      v.kind = Kind::Int;
      return true;
    }
    v.kind = Kind::Float;
    return json_number_is_finite(std::string_view(start, static_cast<size_t>(p_ - start)));
  }

  // Moves the cursor to the next byte kStringStop holds, or to the end: a word at a time
  // where a whole word is left (the first stop byte is the lowest bit set, little-endian).
  void skip_plain() {
    if constexpr (std::endian::native == std::endian::little) {
      for (; end_ - p_ >= 8; p_ += 8)
        if (const uint64_t bits = stop_bits(p_)) {
          p_ += std::countr_zero(bits) / 8;
          return;
        }
    }
    while (p_ < end_ && !kStringStop[static_cast<unsigned char>(*p_)]) ++p_;
  }

  // A string at its opening quote. Its text, if wanted, is a view of the message, or of a
  // decoded copy in doc_.decoded once an escape turns up.
  bool string(std::string_view* text) {
    const char* start = ++p_;
    const char* pending = start;  // bytes not yet appended to copy
    std::string* copy = nullptr;
    while (true) {
      skip_plain();
      if (p_ == end_) return false;
      const auto c = static_cast<unsigned char>(*p_);
      if (c == '"') {
        if (text && copy) *text = copy->append(pending, p_);
        if (text && !copy) *text = std::string_view(start, static_cast<size_t>(p_ - start));
        ++p_;
        return true;
      }
      if (c == '\\') {
        if (text && !copy) copy = &doc_.decoded.emplace_back();
        if (copy) copy->append(pending, p_);
        if (!escape(copy)) return false;
        pending = p_;
      } else if (c < 0x20) {
        return false;  // control characters must be escaped
      } else if (!utf8()) {
        return false;
      }
    }
  }

  // A backslash escape, appended decoded to out (if given).
  bool escape(std::string* out) {
    ++p_;
    if (p_ == end_) return false;
    char c = *p_++;
    switch (c) {
      case '"': case '\\': case '/': break;
      case 'b': c = '\b'; break;
      case 'f': c = '\f'; break;
      case 'n': c = '\n'; break;
      case 'r': c = '\r'; break;
      case 't': c = '\t'; break;
      case 'u': return unicode_escape(out);
      default: return false;
    }
    if (out) out->push_back(c);
    return true;
  }

  // \uXXXX after the 'u'; a UTF-16 surrogate pair makes one code point, a lone surrogate is an error.
  bool unicode_escape(std::string* out) {
    uint32_t cp = 0;
    if (!hex4(cp) || (cp >= 0xDC00 && cp <= 0xDFFF)) return false;
    if (cp >= 0xD800 && cp <= 0xDBFF) {
      uint32_t low = 0;
      if (end_ - p_ < 2 || p_[0] != '\\' || p_[1] != 'u') return false;
      p_ += 2;
      if (!hex4(low) || low < 0xDC00 || low > 0xDFFF) return false;
      cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
    }
    if (out) pgcqrs::utf8::append(*out, cp);
    return true;
  }

  bool hex4(uint32_t& cp) {
    if (end_ - p_ < 4) return false;
    for (int i = 0; i < 4; ++i, ++p_) {
      const char c = *p_;
      uint32_t d;
      if (c >= '0' && c <= '9') d = static_cast<uint32_t>(c - '0');
      else if (c >= 'a' && c <= 'f') d = static_cast<uint32_t>(c - 'a' + 10);
      else if (c >= 'A' && c <= 'F') d = static_cast<uint32_t>(c - 'A' + 10);
      else return false;
      cp = cp << 4 | d;
    }
    return true;
  }

  // One multi-byte UTF-8 sequence, well-formed per RFC 3629 (no overlong forms, surrogates
  // or code points above U+10FFFF), as nlohmann required inside strings.
  bool utf8() {
    const auto lead = static_cast<unsigned char>(*p_++);
    unsigned char lo = 0x80, hi = 0xBF;  // range of the first continuation byte
    int continuations = 0;
    if (lead >= 0xC2 && lead <= 0xDF) {
      continuations = 1;
    } else if (lead >= 0xE0 && lead <= 0xEF) {
      continuations = 2;
      if (lead == 0xE0) lo = 0xA0;
      if (lead == 0xED) hi = 0x9F;
    } else if (lead >= 0xF0 && lead <= 0xF4) {
      continuations = 3;
      if (lead == 0xF0) lo = 0x90;
      if (lead == 0xF4) hi = 0x8F;
    } else {
      return false;
    }
    for (int i = 0; i < continuations; ++i, lo = 0x80, hi = 0xBF) {
      if (p_ == end_) return false;
      const auto c = static_cast<unsigned char>(*p_++);
      if (c < lo || c > hi) return false;
    }
    return true;
  }

  const char* p_;
  const char* end_;
  Doc& doc_;
};

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
  if (!Reader(text, doc).message()) {
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
  }
  return r;
}

}  // namespace pgcqrs::sidecar::projection
