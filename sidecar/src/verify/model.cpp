// The oracle's expected read models and the comparison (see model.hpp).
#include "pgcqrs/sidecar/verify/model.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <unordered_map>

#include "pgcqrs/core/decimal.hpp"
#include "pgcqrs/core/limits.hpp"
#include "pgcqrs/core/lsn.hpp"
#include "pgcqrs/core/utf8.hpp"
#include "pgcqrs/sidecar/checkpoint.hpp"

namespace pgcqrs::sidecar::verify {
namespace {

using nlohmann::json;

Decimal zero() { return *Decimal::parse("0.00"); }

Decimal dec(const std::string& text) {
  auto d = Decimal::parse(text);
  if (!d) throw std::runtime_error("verify: \"" + text + "\" is not a decimal");
  return *d;
}

Decimal add(const Decimal& a, const Decimal& b) {
  auto s = a.plus(b);
  if (!s) throw std::runtime_error("verify: decimal overflow");
  return *s;
}

Decimal mul(const Decimal& a, int64_t q) {
  auto s = a.times(q);
  if (!s) throw std::runtime_error("verify: decimal overflow");
  return *s;
}

KeyValue hash(std::map<std::string, std::string> fields) {
  KeyValue kv;
  kv.type = KeyValue::Type::Hash;
  kv.hash = std::move(fields);
  return kv;
}

const char* type_name(KeyValue::Type t) {
  switch (t) {
    case KeyValue::Type::Hash: return "hash";
    case KeyValue::Type::ZSet: return "sorted set";
    case KeyValue::Type::Set: return "set";
    case KeyValue::Type::List: return "list";
    default: return "other";
  }
}

// A key of layout 4 (docs/read-models.md): the family, the id's bucket (id mod 64) as a hash
// tag, the id. The oracle spells it out itself rather than asking the sidecar's Keys.
std::string tagged(const std::string& family, int64_t id) {
  return family + "{" + std::to_string(((id % 64) + 64) % 64) + "}:" + std::to_string(id);
}
std::string bucket_key(const std::string& family, int64_t id) {
  return family + "{" + std::to_string(((id % 64) + 64) % 64) + "}";
}

std::string quoted(const std::string& s) {
  std::string out = "\"";
  for (char c : s.size() > 200 ? s.substr(0, 200) + "..." : s) {
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  return out + "\"";
}

// Scores compare as numbers: Redis prints doubles its own way.
bool same_score(const std::string& a, const std::string& b) {
  if (a == b) return true;
  char* ea = nullptr;
  char* eb = nullptr;
  double x = std::strtod(a.c_str(), &ea), y = std::strtod(b.c_str(), &eb);
  if (*ea != '\0' || *eb != '\0') return false;
  // An infinite score equals only itself (the tolerance below would be infinite too).
  if (!std::isfinite(x) || !std::isfinite(y)) return x == y;
  return std::fabs(x - y) <= 1e-9 * std::max(1.0, std::fabs(x));
}

// JSON fields compare as parsed values, so key order and spacing do not matter.
bool same_json(const std::string& a, const std::string& b) {
  json x = json::parse(a, nullptr, false), y = json::parse(b, nullptr, false);
  if (x.is_discarded() || y.is_discarded()) return a == b;
  return x == y;
}

// Text as the plugin sends it (docs/events.md, "Limits and encodings"): valid UTF-8 cut at
// max_text_bytes, which is what the sidecar stores. Exact for the UTF8 and SQL_ASCII
// databases, whose text the oracle reads as stored.
std::string as_sent(const std::string& s) {
  std::string out(std::min(s.size() * 3, max_text_bytes), '\0');
  out.resize(utf8::copy_valid(s, out.data(), out.size()).written);
  return out;
}

}  // namespace

Model expected_model(const WriteModel& stored) {
  WriteModel wm = stored;
  for (auto& u : wm.users) {
    u.name = as_sent(u.name);
    u.email = as_sent(u.email);
  }
  for (auto& p : wm.products) p.name = as_sent(p.name);
  for (auto& o : wm.orders) o.status = as_sent(o.status);
  Model m;
  std::unordered_map<int64_t, const UserRow*> users;
  std::unordered_map<int64_t, const ProductRow*> products;
  std::unordered_map<int64_t, const OrderRow*> orders;
  for (const auto& u : wm.users) users[u.id] = &u;
  for (const auto& p : wm.products) products[p.id] = &p;
  for (const auto& o : wm.orders) orders[o.id] = &o;

  // Items per order, ordered by product id.
  std::map<int64_t, std::map<int64_t, const ItemRow*>> lines;
  for (const auto& i : wm.items) lines[i.order_id][i.product_id] = &i;

  struct Totals { Decimal money = zero(); int64_t units = 0; int64_t count = 0; };
  // Sorted-set order: +infinity first, then finite scores, then -infinity.
  struct Newest { int infinite; int64_t ms; std::string id; json entry; };
  std::map<int64_t, std::vector<Newest>> newest;  // user id -> orders, for user_latest
  std::unordered_map<int64_t, Totals> user_totals, product_totals;

  for (const auto& o : wm.orders) {
    const UserRow* u = users.count(o.user_id) ? users[o.user_id] : nullptr;
    json items = json::array();
    Decimal total = zero();
    bool counts = o.status != "cancelled";
    for (const auto& [pid, item] : lines[o.id]) {
      const ProductRow* p = products.count(pid) ? products[pid] : nullptr;
      Decimal line = mul(dec(item->unit_price), item->quantity);
      total = add(total, line);
      items.push_back({{"product_id", pid},
                       {"product_name", p ? json(p->name) : json(nullptr)},
                       {"quantity", item->quantity},
                       {"unit_price", add(dec(item->unit_price), zero()).to_string()},
                       {"line_total", add(line, zero()).to_string()}});
      auto& po = m[tagged("product_orders:", pid)];
      po.type = KeyValue::Type::Set;
      po.set.insert(std::to_string(o.id));
      if (counts) {
        auto& pt = product_totals[pid];
        pt.units += item->quantity;
        pt.money = add(pt.money, line);
      }
    }
    std::string id = std::to_string(o.id);
    m[tagged("order_details:", o.id)] = hash({{"order_id", id},
                                     {"user_id", std::to_string(o.user_id)},
                                     {"user_name", u ? u->name : ""},
                                     {"user_email", u ? u->email : ""},
                                     {"status", o.status},
                                     {"created_at", o.created_at},
                                     {"updated_at", o.updated_at},
                                     {"item_count", std::to_string(lines[o.id].size())},
                                     {"total", total.to_string()},
                                     {"items", items.dump()}});
    // An infinite created_at scores +inf or -inf, as its text says (docs/read-models.md).
    const int infinite = o.created_ms ? 0 : o.created_at.rfind('-', 0) == 0 ? -1 : 1;
    newest[o.user_id].push_back({infinite, o.created_ms.value_or(0), id,
                                 json{{"order_id", o.id},
                                      {"user_id", o.user_id},
                                      {"user_name", u ? u->name : ""},
                                      {"user_email", u ? u->email : ""},
                                      {"status", o.status},
                                      {"created_at", o.created_at},
                                      {"updated_at", o.updated_at},
                                      {"item_count", lines[o.id].size()},
                                      {"total", total.to_string()},
                                      {"items", items}}});
    auto& uo = m[tagged("user_orders:", o.user_id)];
    uo.type = KeyValue::Type::ZSet;
    uo.zset[id] = infinite == 0 ? std::to_string(*o.created_ms) : infinite > 0 ? "inf" : "-inf";
    auto& ut = user_totals[o.user_id];
    ut.count += 1;
    if (counts) ut.money = add(ut.money, total);
  }

  // user_latest:{id}: the 10 orders ZREVRANGE user_orders:{id} 0 9 lists (highest score
  // first, equal scores by member in reverse byte order), each as its JSON.
  for (auto& [uid, orders] : newest) {
    std::sort(orders.begin(), orders.end(), [](const Newest& a, const Newest& b) {
      if (a.infinite != b.infinite) return a.infinite > b.infinite;
      if (a.ms != b.ms) return a.ms > b.ms;
      return a.id > b.id;
    });
    KeyValue page{KeyValue::Type::List};
    for (size_t i = 0; i < orders.size() && i < 10; ++i) page.list.push_back(orders[i].entry.dump());
    m[tagged("user_latest:", uid)] = std::move(page);
  }

  for (const auto& u : wm.users) {
    std::string id = std::to_string(u.id);
    const Totals& t = user_totals[u.id];
    m[tagged("user:", u.id)] = hash({{"user_id", id},
                            {"name", u.name},
                            {"email", u.email},
                            {"is_active", u.is_active ? "true" : "false"},
                            {"order_count", std::to_string(t.count)},
                            {"lifetime_value", t.money.to_string()}});
    auto& all_users = m[bucket_key("pgcqrs:users:", u.id)];
    all_users.type = KeyValue::Type::Set;
    all_users.set.insert(id);
  }
  for (const auto& p : wm.products) {
    std::string id = std::to_string(p.id);
    const Totals& t = product_totals[p.id];
    m[tagged("product:", p.id)] = hash({{"product_id", id},
                               {"name", p.name},
                               {"price", add(dec(p.price), zero()).to_string()},
                               {"is_active", p.is_active ? "true" : "false"},
                               {"units_sold", std::to_string(t.units)},
                               {"revenue", t.money.to_string()}});
    auto& top = m[bucket_key("top_products:", p.id)];
    top.type = KeyValue::Type::ZSet;
    top.zset[id] = t.money.to_string();
    auto& all_products = m[bucket_key("pgcqrs:products:", p.id)];
    all_products.type = KeyValue::Type::Set;
    all_products.set.insert(id);
  }
  // Redis has no empty sets or sorted sets: a bucket with none has no key, as above.
  return m;
}

// order_items:{id} and pgcqrs:orders belonged to layout 1, the single top_products,
// pgcqrs:users and pgcqrs:products to layouts 1 to 3: still read-model keys (a rebuild deletes
// them), but none should exist.
bool is_read_model_key(const std::string& key) {
  static const char* prefixes[] = {"order_details:", "user_orders:",  "user_latest:",   "user:",
                                   "product:",       "order_items:",  "product_orders:", "top_products:",
                                   "pgcqrs:users:",  "pgcqrs:products:"};
  for (const char* p : prefixes) {
    std::string prefix(p);
    if (key.compare(0, prefix.size(), prefix) == 0) return true;
  }
  return key == "top_products" || key == "pgcqrs:users" || key == "pgcqrs:products" ||
         key == "pgcqrs:orders";
}

std::vector<std::string> compare(const Model& expected, const Model& actual, const CompareOptions& options) {
  std::vector<std::string> diffs;
  for (const auto& [key, want] : expected) {
    auto it = actual.find(key);
    if (it == actual.end()) {
      diffs.push_back(key + ": missing");
      continue;
    }
    const KeyValue& have = it->second;
    if (have.type != want.type) {
      diffs.push_back(key + ": expected a " + type_name(want.type) + ", found a " + type_name(have.type));
      continue;
    }
    switch (want.type) {
      case KeyValue::Type::Hash: {
        for (const auto& [field, value] : want.hash) {
          auto f = have.hash.find(field);
          if (f == have.hash.end()) {
            diffs.push_back(key + " field " + field + ": missing, expected " + quoted(value));
          } else if (f->second != value && !(!options.declared && field == "items" && same_json(f->second, value))) {
            diffs.push_back(key + " field " + field + ": expected " + quoted(value) + ", found " + quoted(f->second));
          }
        }
        for (const auto& [field, value] : have.hash) {
          if (want.hash.count(field)) continue;
          if (field == "lsn" && !options.declared) {
            auto lsn = parse_lsn(value);
            if (!lsn) {
              diffs.push_back(key + " field lsn: " + quoted(value) + " is not an LSN");
            } else if (options.checkpoint && *lsn > *options.checkpoint) {
              diffs.push_back(key + " field lsn: " + value + " is past the checkpoint " + format_lsn(*options.checkpoint));
            }
            continue;
          }
          diffs.push_back(key + " field " + field + ": should not exist (" + quoted(value) + ")");
        }
        if (!have.hash.count("lsn") && !options.declared)
          diffs.push_back(key + " field lsn: missing");
        break;
      }
      case KeyValue::Type::ZSet: {
        for (const auto& [member, score] : want.zset) {
          auto z = have.zset.find(member);
          if (z == have.zset.end()) {
            diffs.push_back(key + " member " + member + ": missing (score " + score + ")");
          } else if (!same_score(z->second, score)) {
            diffs.push_back(key + " member " + member + ": expected score " + score + ", found " + z->second);
          }
        }
        for (const auto& [member, score] : have.zset)
          if (!want.zset.count(member)) diffs.push_back(key + " member " + member + ": should not exist");
        break;
      }
      case KeyValue::Type::Set: {
        for (const auto& member : want.set)
          if (!have.set.count(member)) diffs.push_back(key + " member " + member + ": missing");
        for (const auto& member : have.set)
          if (!want.set.count(member)) diffs.push_back(key + " member " + member + ": should not exist");
        break;
      }
      case KeyValue::Type::List: {
        // Entries are order JSON; each one's lsn must be its order hash's.
        for (size_t i = 0; i < std::max(want.list.size(), have.list.size()); ++i) {
          std::string at = key + " entry " + std::to_string(i) + ": ";
          if (i >= have.list.size()) {
            diffs.push_back(at + "missing, expected " + want.list[i]);
            continue;
          }
          if (i >= want.list.size()) {
            diffs.push_back(at + "should not exist (" + have.list[i] + ")");
            continue;
          }
          json entry = json::parse(have.list[i], nullptr, false);
          std::string lsn;
          if (entry.is_object() && entry.contains("lsn") && entry["lsn"].is_string()) {
            lsn = entry["lsn"].get<std::string>();
            entry.erase("lsn");
          }
          if (entry != json::parse(want.list[i])) {
            diffs.push_back(at + "expected " + want.list[i] + ", found " + have.list[i]);
            continue;
          }
          auto order = actual.find(tagged("order_details:", entry.value("order_id", int64_t{0})));
          const std::string order_lsn = order == actual.end() ? "" : order->second.hash.count("lsn") ? order->second.hash.at("lsn") : "";
          const std::string& entry_lsn = lsn;
          if (entry_lsn != order_lsn)
            diffs.push_back(at + "lsn " + quoted(entry_lsn) + " is not its order's (" + quoted(order_lsn) + ")");
        }
        break;
      }
      case KeyValue::Type::Other: break;
    }
  }
  for (const auto& [key, have] : actual) {
    if (expected.count(key) || (!options.declared && !is_read_model_key(key))) continue;
    // A malformed id under a read-model prefix is as wrong as a stale one.
    diffs.push_back(key + (options.declared ? ": should not exist (no row of the view)" : ": should not exist"));
  }
  return diffs;
}

std::string checkpoint_unsettled(const Fields& checkpoint) {
  namespace F = checkpoint::field;
  if (checkpoint.count(F::dirty))
    return "marked dirty at " + checkpoint.at(F::dirty) + " (a projection call stopped midway; a rebuild follows)";
  for (const char* f : {F::partial_lsn, F::partial_seq, F::partial_cursor})
    if (checkpoint.count(f)) return std::string("a call series is under way (") + f + " " + checkpoint.at(f) + ")";
  if (checkpoint.count(F::rebuilding)) return "a rebuild into generation " + checkpoint.at(F::rebuilding) + " is under way";
  if (checkpoint.count(F::retired)) return "generation " + checkpoint.at(F::retired) + " is being deleted";
  if (checkpoint.count(F::rebuild)) return "a rebuild was asked for at " + checkpoint.at(F::rebuild);
  return "";
}

std::vector<std::string> check_checkpoint(const Fields& checkpoint, const std::set<std::string>& slots,
                                          const std::string& key) {
  std::vector<std::string> diffs;
  if (checkpoint.empty()) return {key + ": missing (no valid read model)"};
  auto lsn = checkpoint.find("lsn");
  if (lsn == checkpoint.end())
    diffs.push_back(key + " field lsn: missing");
  else if (!parse_lsn(lsn->second))
    diffs.push_back(key + " field lsn: " + quoted(lsn->second) + " is not an LSN");
  auto expect = [&](const std::string& field, const std::string& value) {
    auto f = checkpoint.find(field);
    if (f == checkpoint.end())
      diffs.push_back(key + " field " + field + ": missing, expected " + quoted(value));
    else if (f->second != value)
      diffs.push_back(key + " field " + field + ": expected " + quoted(value) + ", found " + quoted(f->second));
  };
  auto slot = checkpoint.find("slot");
  if (slot == checkpoint.end())
    diffs.push_back(key + " field slot: missing");
  else if (!slots.count(slot->second))
    diffs.push_back(key + " field slot: " + quoted(slot->second) + " is not a pgcqrs slot of this database");
  expect("layout", checkpoint::kLayout);
  if (!checkpoint.count("updated_at")) diffs.push_back(key + " field updated_at: missing");
  if (!checkpoint.count("commit_time")) diffs.push_back(key + " field commit_time: missing");
  if (checkpoint.count("dirty"))
    diffs.push_back(key + " field dirty: " + quoted(checkpoint.at("dirty")) +
                    ": a projection call stopped midway, the read models may hold part of a transaction");
  for (const char* f : {"partial_lsn", "partial_seq", "partial_cursor"})
    if (checkpoint.count(f))
      diffs.push_back(key + " field " + f + ": " + quoted(checkpoint.at(f)) + ": a transaction or fan-out is half applied");
  static const std::set<std::string> documented(checkpoint::kFields.begin(), checkpoint::kFields.end());
  for (const auto& [field, value] : checkpoint)
    if (!documented.count(field)) diffs.push_back(key + " field " + field + ": should not exist (" + quoted(value) + ")");
  return diffs;
}

}  // namespace pgcqrs::sidecar::verify
