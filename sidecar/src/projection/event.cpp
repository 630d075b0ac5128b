// JSON plugin messages -> Message, validated field by field against the event contract.
#include "pgcqrs/sidecar/projection/event.hpp"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "pgcqrs/timestamp.hpp"

namespace pgcqrs::sidecar::projection {
namespace {

using nlohmann::json;

enum class F { Id, Int, Text, Money, Bool, Ts, TsScore };

struct FieldSpec {
  const char* name;
  F kind;
};

struct EventSpec {
  const char* type;
  std::vector<FieldSpec> fields;
};

// Argument order sent to the script for each domain event; OrderPlaced and Truncated have
// variable parts handled separately.
const std::vector<EventSpec>& specs() {
  static const std::vector<EventSpec> s = {
      {"UserRegistered", {{"user_id", F::Id}, {"name", F::Text}, {"email", F::Text}, {"is_active", F::Bool}}},
      {"UserRenamed", {{"user_id", F::Id}, {"name", F::Text}}},
      {"UserEmailChanged", {{"user_id", F::Id}, {"email", F::Text}}},
      {"UserDeactivated", {{"user_id", F::Id}}},
      {"UserReactivated", {{"user_id", F::Id}}},
      {"UserDeleted", {{"user_id", F::Id}}},
      {"ProductAdded", {{"product_id", F::Id}, {"name", F::Text}, {"price", F::Money}, {"is_active", F::Bool}}},
      {"ProductRenamed", {{"product_id", F::Id}, {"name", F::Text}}},
      {"ProductRepriced", {{"product_id", F::Id}, {"price", F::Money}}},
      {"ProductDeactivated", {{"product_id", F::Id}}},
      {"ProductReactivated", {{"product_id", F::Id}}},
      {"ProductDeleted", {{"product_id", F::Id}}},
      {"OrderPlaced", {{"order_id", F::Id}, {"user_id", F::Id}, {"status", F::Text}, {"created_at", F::Ts},
                       {"updated_at", F::Ts}, {"created_at", F::TsScore}}},
      {"OrderItemAdded", {{"order_id", F::Id}, {"product_id", F::Id}, {"quantity", F::Int}, {"unit_price", F::Money}}},
      {"OrderItemChanged", {{"order_id", F::Id}, {"product_id", F::Id}, {"quantity", F::Int}, {"unit_price", F::Money}}},
      {"OrderItemRemoved", {{"order_id", F::Id}, {"product_id", F::Id}}},
      {"OrderStatusChanged", {{"order_id", F::Id}, {"to", F::Text}, {"updated_at", F::Ts}}},
      {"OrderDeleted", {{"order_id", F::Id}}},
      {"Truncated", {}},
  };
  return s;
}

const EventSpec* find_spec(std::string_view type) {
  for (const auto& s : specs())
    if (type == s.type) return &s;
  return nullptr;
}

// Appends the token for one field or returns an error text.
std::string encode_field(const json& obj, const FieldSpec& f, std::vector<std::string>& out) {
  auto it = obj.find(f.name);
  if (it == obj.end()) return std::string("missing field \"") + f.name + "\"";
  const json& v = *it;
  switch (f.kind) {
    case F::Id:
    case F::Int:
      if (!v.is_number_integer()) return std::string("field \"") + f.name + "\" must be an integer";
      out.push_back(std::to_string(v.get<int64_t>()));
      return {};
    case F::Text:
      if (!v.is_string()) return std::string("field \"") + f.name + "\" must be a string";
      out.push_back(v.get<std::string>());
      return {};
    case F::Bool:
      if (!v.is_boolean()) return std::string("field \"") + f.name + "\" must be a boolean";
      out.push_back(v.get<bool>() ? "true" : "false");
      return {};
    case F::Money: {
      if (!v.is_string()) return std::string("field \"") + f.name + "\" must be a decimal string";
      auto cents = money_to_cents(v.get_ref<const std::string&>());
      if (!cents) return std::string("field \"") + f.name + "\" is not a 2-decimal amount: " + v.get<std::string>();
      out.push_back(std::to_string(*cents));
      return {};
    }
    case F::Ts:
    case F::TsScore: {
      if (!v.is_string()) return std::string("field \"") + f.name + "\" must be a timestamp string";
      auto score = timestamp_score(v.get_ref<const std::string&>());
      if (!score) return std::string("field \"") + f.name + "\" is not an ISO-8601 UTC timestamp: " + v.get<std::string>();
      out.push_back(f.kind == F::Ts ? v.get<std::string>() : *score);
      return {};
    }
  }
  return "unreachable";
}

std::string encode_domain(const json& obj, const EventSpec& spec, std::vector<std::string>& out) {
  for (const auto& f : spec.fields)
    if (auto e = encode_field(obj, f, out); !e.empty()) return e;
  if (std::string_view(spec.type) == "OrderPlaced") {
    auto it = obj.find("items");
    if (it == obj.end() || !it->is_array()) return "field \"items\" must be an array";
    static const FieldSpec item_fields[] = {{"product_id", F::Id}, {"quantity", F::Int}, {"unit_price", F::Money}};
    std::vector<OrderLine> lines;
    lines.reserve(it->size());
    std::vector<std::string> f;
    size_t i = 0;
    for (const auto& item : *it) {
      if (!item.is_object()) return "items[" + std::to_string(i) + "] must be an object";
      f.clear();
      for (const auto& spec_field : item_fields)
        if (auto e = encode_field(item, spec_field, f); !e.empty()) return "items[" + std::to_string(i) + "]: " + e;
      lines.push_back({std::stoll(f[0]), std::stoll(f[1]), std::stoll(f[2])});
      ++i;
    }
    append_order_lines(std::move(lines), out);
  } else if (std::string_view(spec.type) == "Truncated") {
    auto it = obj.find("tables");
    if (it == obj.end() || !it->is_array()) return "field \"tables\" must be an array";
    out.push_back(std::to_string(it->size()));
    for (const auto& t : *it) {
      if (!t.is_string()) return "field \"tables\" must hold strings";
      out.push_back(t.get<std::string>());
    }
  }
  return {};
}

int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

}  // namespace

std::optional<int64_t> money_to_cents(std::string_view t) {
  bool neg = false;
  size_t i = 0;
  if (!t.empty() && t[0] == '-') {
    neg = true;
    i = 1;
  }
  if (i >= t.size()) return std::nullopt;
  int64_t units = 0;
  size_t digits = 0;
  for (; i < t.size() && t[i] >= '0' && t[i] <= '9'; ++i, ++digits) {
    if (units > (INT64_MAX / 100 - 9) / 10) return std::nullopt;
    units = units * 10 + (t[i] - '0');
  }
  if (digits == 0) return std::nullopt;
  int64_t frac = 0;
  if (i < t.size()) {
    if (t[i] != '.') return std::nullopt;
    ++i;
    size_t fd = 0;
    for (; i < t.size() && t[i] >= '0' && t[i] <= '9'; ++i, ++fd) {
      if (fd >= 2) return std::nullopt;
      frac = frac * 10 + (t[i] - '0');
    }
    if (fd == 0 || i != t.size()) return std::nullopt;
    if (fd == 1) frac *= 10;
  }
  int64_t cents = units * 100 + frac;
  return neg ? -cents : cents;
}

void append_order_lines(std::vector<OrderLine> lines, std::vector<std::string>& out) {
  std::sort(lines.begin(), lines.end(), [](const OrderLine& a, const OrderLine& b) { return a.product_id < b.product_id; });
  int64_t total = 0;
  for (const auto& l : lines) total += l.quantity * l.unit_cents;
  out.push_back(cents_to_money(total));
  out.push_back(std::to_string(lines.size()));
  for (const auto& l : lines) {
    out.push_back(std::to_string(l.product_id));
    out.push_back(std::to_string(l.quantity));
    out.push_back(std::to_string(l.unit_cents));
    out.push_back(",\"quantity\":" + std::to_string(l.quantity) + ",\"unit_price\":\"" + cents_to_money(l.unit_cents) +
                  "\",\"line_total\":\"" + cents_to_money(l.quantity * l.unit_cents) + "\"}");
  }
}

std::string cents_to_money(int64_t cents) {
  bool neg = cents < 0;
  uint64_t a = neg ? 0 - static_cast<uint64_t>(cents) : static_cast<uint64_t>(cents);
  std::string frac = std::to_string(a % 100);
  if (frac.size() < 2) frac.insert(0, "0");
  return (neg ? "-" : "") + std::to_string(a / 100) + "." + frac;
}

std::optional<std::string> timestamp_score(std::string_view t) {
  if (t == "infinity") return std::string("+inf");
  if (t == "-infinity") return std::string("-inf");
  // YYYY-MM-DDTHH:MM:SS[.f{1,6}]Z (a year may have more than 4 digits)
  size_t i = 0;
  auto num = [&](size_t n, int64_t& out) {
    out = 0;
    for (size_t k = 0; k < n; ++k, ++i) {
      if (i >= t.size() || t[i] < '0' || t[i] > '9') return false;
      out = out * 10 + (t[i] - '0');
    }
    return true;
  };
  auto lit = [&](char c) {
    if (i >= t.size() || t[i] != c) return false;
    ++i;
    return true;
  };
  size_t year_digits = 0;
  while (year_digits < t.size() && t[year_digits] >= '0' && t[year_digits] <= '9') ++year_digits;
  if (year_digits < 4 || year_digits > 6) return std::nullopt;
  int64_t y, mo, d, h, mi, s;
  if (!num(year_digits, y) || !lit('-') || !num(2, mo) || !lit('-') || !num(2, d) || !lit('T') ||
      !num(2, h) || !lit(':') || !num(2, mi) || !lit(':') || !num(2, s))
    return std::nullopt;
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60) return std::nullopt;
  int64_t micros = 0;
  if (i < t.size() && t[i] == '.') {
    ++i;
    size_t n = 0;
    while (i < t.size() && t[i] >= '0' && t[i] <= '9' && n < 6) {
      micros = micros * 10 + (t[i] - '0');
      ++i;
      ++n;
    }
    if (n == 0) return std::nullopt;
    for (; n < 6; ++n) micros *= 10;
  }
  if (!lit('Z') || i != t.size()) return std::nullopt;
  int64_t days = days_from_civil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d));
  int64_t ms = ((days * 24 + h) * 60 + mi) * 60000 + s * 1000 + micros / 1000;
  return std::to_string(ms);
}

ParseResult parse_message(std::string_view text) {
  ParseResult r;
  json obj = json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (obj.is_discarded()) {
    r.error = "message is not valid JSON";
    return r;
  }
  if (!obj.is_object()) {
    r.error = "message is not a JSON object";
    return r;
  }
  auto type_it = obj.find("type");
  if (type_it == obj.end() || !type_it->is_string()) {
    r.error = "message has no string \"type\"";
    return r;
  }
  Message m;
  m.type = type_it->get<std::string>();
  auto lsn_it = obj.find("lsn");
  if (lsn_it == obj.end() || !lsn_it->is_string()) {
    r.error = m.type + " message has no string \"lsn\" (the sidecar needs include-lsn)";
    return r;
  }
  m.lsn_text = lsn_it->get<std::string>();
  auto lsn = pgcqrs::parse_lsn(m.lsn_text);
  if (!lsn) {
    r.error = m.type + " message has a malformed lsn: " + m.lsn_text;
    return r;
  }
  m.lsn = *lsn;
  if (auto x = obj.find("xid"); x != obj.end() && x->is_number_integer()) m.xid = x->get<int64_t>();

  if (m.type == "begin") {
    m.kind = MessageKind::Begin;
    auto v = obj.find("v");
    if (v == obj.end() || !v->is_number_integer() || v->get<int64_t>() != 1) {
      r.error = "begin message has format version other than 1; this sidecar reads version 1";
      return r;
    }
    if (auto ct = obj.find("commit_time"); ct != obj.end() && ct->is_string()) m.commit_time = ct->get<std::string>();
    r.message = std::move(m);
    return r;
  }
  if (m.type == "commit") {
    m.kind = MessageKind::Commit;
    auto e = obj.find("events");
    if (e == obj.end() || !e->is_number_integer()) {
      r.error = "commit message has no integer \"events\"";
      return r;
    }
    m.events = e->get<int64_t>();
    r.message = std::move(m);
    return r;
  }
  auto seq_it = obj.find("seq");
  if (seq_it == obj.end() || !seq_it->is_number_integer() || seq_it->get<int64_t>() < 0) {
    r.error = m.type + " event has no non-negative integer \"seq\"";
    return r;
  }
  m.seq = seq_it->get<int64_t>();
  if (auto app = obj.find("app"); app != obj.end() && app->is_boolean() && app->get<bool>()) {
    m.kind = MessageKind::Application;
    r.message = std::move(m);
    return r;
  }
  if (m.type == "InvalidMessage") {
    m.kind = MessageKind::Invalid;
    if (auto reason = obj.find("reason"); reason != obj.end() && reason->is_string()) m.reason = reason->get<std::string>();
    r.message = std::move(m);
    return r;
  }
  const EventSpec* spec = find_spec(m.type);
  if (!spec) {
    m.kind = MessageKind::Unknown;
    r.message = std::move(m);
    return r;
  }
  m.kind = MessageKind::Domain;
  std::vector<std::string> args;
  if (auto e = encode_domain(obj, *spec, args); !e.empty()) {
    r.error = m.type + " event (lsn " + m.lsn_text + ", seq " + std::to_string(m.seq) + "): " + e;
    return r;
  }
  m.tokens.reserve(args.size() + 3);
  m.tokens.push_back(m.type);
  m.tokens.push_back(std::to_string(m.seq));
  m.tokens.push_back(std::to_string(args.size()));
  for (auto& a : args) m.tokens.push_back(std::move(a));
  r.message = std::move(m);
  return r;
}

}  // namespace pgcqrs::sidecar::projection
