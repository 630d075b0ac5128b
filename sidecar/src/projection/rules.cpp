// The projection rules (projector.hpp): what each event changes in the read models and
// what it must read first; the key layout is docs/read-models.md's.
#include "pgcqrs/sidecar/projection/projector.hpp"

#include <algorithm>
#include <charconv>
#include <optional>
#include <stdexcept>
#include <variant>

#include "pgcqrs/core/money.hpp"
#include "pgcqrs/sidecar/projection/event.hpp"

namespace pgcqrs::sidecar::projection {

namespace {

constexpr long kPage = 10;  // orders on a user_latest page

// An item of an order's items JSON, a typical product name included: the items string is
// reserved for that many bytes per line.
constexpr size_t kItemBytes = 128;



using U = UserHash::Field;
using O = OrderHash::Field;

// An order item's JSON after its product name, `,"quantity":2,"unit_price":"9.99",
// "line_total":"19.98"}`: the one format of a placed order's items and of an order rendered
// again after its items changed.
void append_line_tail(std::string& out, int64_t quantity, int64_t unit_cents) {
  char n[24];
  out.append(",\"quantity\":").append(n, static_cast<size_t>(std::to_chars(n, n + sizeof n, quantity).ptr - n));
  out.append(",\"unit_price\":\"");
  append_money(out, unit_cents);
  out.append("\",\"line_total\":\"");
  append_money(out, quantity * unit_cents);
  out.append("\"}");
}

// An order's items JSON back into lines. Names are JSON strings, so a quote inside one is
// always escaped and cannot end it early.
std::map<int64_t, std::pair<int64_t, int64_t>> parse_items(std::string_view json) {
  std::map<int64_t, std::pair<int64_t, int64_t>> out;
  constexpr std::string_view kId = "{\"product_id\":", kName = ",\"product_name\":", kQty = ",\"quantity\":",
                             kPrice = ",\"unit_price\":\"";
  size_t at = 0;
  auto digits = [&](size_t& i) {
    size_t from = i;
    if (i < json.size() && json[i] == '-') ++i;
    while (i < json.size() && json[i] >= '0' && json[i] <= '9') ++i;
    return json.substr(from, i - from);
  };
  while ((at = json.find(kId, at)) != std::string_view::npos) {
    size_t i = at + kId.size();
    auto pid = digits(i);
    if (json.compare(i, kName.size(), kName) != 0) break;
    i += kName.size();
    if (i < json.size() && json[i] == '"') {
      for (++i; i < json.size() && json[i] != '"'; ++i)
        if (json[i] == '\\') ++i;
      ++i;
    } else {
      i += 4;  // null
    }
    if (json.compare(i, kQty.size(), kQty) != 0) break;
    i += kQty.size();
    auto q = digits(i);
    if (json.compare(i, kPrice.size(), kPrice) != 0) break;
    i += kPrice.size();
    size_t end = json.find('"', i);
    if (end == std::string_view::npos) break;
    auto cents = money_to_cents(json.substr(i, end - i));
    out[std::strtoll(std::string(pid).c_str(), nullptr, 10)] = {std::strtoll(std::string(q).c_str(), nullptr, 10),
                                                                 cents.value_or(0)};
    at = end;
  }
  return out;
}

}  // namespace

void append_cjson(std::string& out, std::string_view s) {
  static const char* hex = "0123456789abcdef";
  out += '"';
  size_t plain = 0;  // start of the bytes not yet appended, which need no escape
  for (size_t i = 0; i < s.size(); ++i) {
    const auto ch = static_cast<unsigned char>(s[i]);
    if (ch >= 0x20 && ch != '"' && ch != '\\' && ch != '/' && ch != 0x7f) continue;
    out.append(s.data() + plain, i - plain);
    plain = i + 1;
    switch (ch) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '/': out += "\\/"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        out += "\\u00";
        out += hex[ch >> 4];
        out += hex[ch & 15];
    }
  }
  out.append(s.data() + plain, s.size() - plain);
  out += '"';
}

std::string cjson_string(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 2);
  append_cjson(out, s);
  return out;
}

// ---- the rules --------------------------------------------------------------------------

Projector::Lines& Projector::lines(Run& r, int64_t order) {
  auto it = r.lines.find(order);
  if (it != r.lines.end()) return it->second;
  Lines l;
  if (const std::string* json = order_field(order, O::kItems))
    for (const auto& [pid, qc] : parse_items(*json)) l[pid] = {qc.first, qc.second};
  return r.lines.emplace(order, std::move(l)).first->second;
}

void Projector::product_add(Run& r, int64_t pid, int64_t dq, int64_t dc) {
  if (products_.exists(pid)) products_.add_sales(pid, dq, dc, r.lsn);
}

void Projector::user_add(Run& r, const std::string& user, int64_t dcount, int64_t dcents) {
  const auto id = parse_id(user);
  if (!id || !users_.exists(*id)) return;
  // An absent field counts as 0.
  const UserHash* h = users_.get(*id, U::kOrderCount);
  const int64_t count = h ? h->order_count : 0;
  h = users_.get(*id, U::kLifetimeValue);
  const int64_t cents = h ? h->lifetime_value : 0;
  users_.set(*id, U::kOrderCount).order_count = count + dcount;
  users_.set(*id, U::kLifetimeValue).lifetime_value = cents + dcents;
  users_.set(*id, U::kLsn).lsn = r.lsn;
}

// Adds (1) or removes (-1) what an order that is not cancelled counts for: its items in the
// products' sales, its total in the user's lifetime value.
void Projector::contribution(Run& r, int64_t order, const std::string& user, int sign) {
  int64_t total = 0;
  for (const auto& [pid, l] : Lines(lines(r, order))) {
    product_add(r, pid, sign * l.quantity, sign * l.quantity * l.cents);
    total += l.quantity * l.cents;
  }
  user_add(r, user, 0, sign * total);
}

void Projector::remove_item(Run& r, int64_t order, const std::string& user, const std::string& status, int64_t pid) {
  Lines& l = lines(r, order);
  auto it = l.find(pid);
  if (it == l.end()) return;
  Line prev = it->second;
  l.erase(it);
  view_.srem(keys_.product_orders(std::to_string(pid)), std::to_string(order));
  if (status != "cancelled") {
    product_add(r, pid, -prev.quantity, -prev.quantity * prev.cents);
    user_add(r, user, 0, -prev.quantity * prev.cents);
  }
  r.dirty[order] = r.lsn;
}

void Projector::page_touch(Run& r, const std::string& user, int64_t order) {
  if (r.pages.count(user)) return;
  if (view_.zrevrank_below(keys_.user_orders(user), std::to_string(order), kPage) >= 0) r.pages.insert(user);
}

std::optional<Projector::OrderOwner> Projector::owner_of(int64_t order) {
  const std::string* user = order_field(order, O::kUserId);
  if (!user) return std::nullopt;
  const std::string* status = order_field(order, O::kStatus);
  return OrderOwner{*user, status ? *status : std::string()};
}

void Projector::delete_order(Run& r, int64_t order) {
  const auto owner = owner_of(order);
  if (!owner) return;
  const std::string& user = owner->user;
  const std::string o = std::to_string(order);
  page_touch(r, user, order);
  if (owner->status != "cancelled") contribution(r, order, user, -1);
  user_add(r, user, -1, 0);
  for (const auto& [pid, l] : lines(r, order)) view_.srem(keys_.product_orders(std::to_string(pid)), o);
  orders_.del(order);
  view_.zrem(keys_.user_orders(user), o);
  r.lines.erase(order);
  r.dirty.erase(order);
}

void Projector::append_item_head(std::string& out, int64_t pid) {
  const std::string* name = products_.exists(pid) ? products_.name(pid) : nullptr;
  char n[24];
  out.append("{\"product_id\":").append(n, static_cast<size_t>(std::to_chars(n, n + sizeof n, pid).ptr - n));
  out.append(",\"product_name\":");
  if (name)
    append_cjson(out, *name);
  else
    out.append("null");
}

void Projector::render(Run& r, int64_t order, const std::string& at) {
  const std::string* user = order_field(order, O::kUserId);
  if (!user) return;
  page_touch(r, *user, order);
  write_lines(order, lines(r, order), at);
}

// An order's fields that follow from its lines: the items JSON, the count and the total.
void Projector::write_lines(int64_t order, const Lines& l, const std::string& at) {
  std::string items;
  items.reserve(2 + l.size() * kItemBytes);
  items += '[';
  int64_t total = 0;
  for (const auto& [pid, line] : l) {
    if (items.size() > 1) items += ',';
    append_item_head(items, pid);
    append_line_tail(items, line.quantity, line.cents);
    total += line.quantity * line.cents;
  }
  items += ']';
  set_order_field(order, O::kItems) = std::move(items);
  set_order_field(order, O::kItemCount) = std::to_string(l.size());
  set_order_field(order, O::kTotal) = cents_to_money(total);
  set_order_field(order, O::kLsn) = at;
}

// One order of a user_latest page: its order_details fields as a JSON object, appended into
// one string (an entry is written for every order placed).
std::string Projector::format_page_entry(const PageFields& f) {
  std::string e;
  e.reserve(256 + f.items.size() + f.name.size() + f.email.size());  // the fixed text and the timestamps: under 256
  e.append("{\"order_id\":").append(f.order).append(",\"user_id\":").append(f.user).append(",\"user_name\":");
  append_cjson(e, f.name);
  e.append(",\"user_email\":");
  append_cjson(e, f.email);
  e.append(",\"status\":\"").append(f.status).append("\",\"created_at\":\"").append(f.created_at);
  e.append("\",\"updated_at\":\"").append(f.updated_at).append("\",\"item_count\":").append(f.item_count);
  e.append(",\"total\":\"").append(f.total).append("\",\"items\":").append(f.items);
  e.append(",\"lsn\":\"").append(f.lsn).append("\"}");
  return e;
}

// The page entry of an order as the view holds it.
std::string Projector::page_entry(int64_t order, const std::string& user) {
  auto f = [&](O field) -> std::string_view {
    const std::string* v = order_field(order, field);
    return v ? std::string_view(*v) : std::string_view();
  };
  const std::string o = std::to_string(order);
  return format_page_entry({o, user, f(O::kUserName), f(O::kUserEmail), f(O::kStatus), f(O::kCreatedAt),
                            f(O::kUpdatedAt), f(O::kItemCount), f(O::kTotal), f(O::kItems), f(O::kLsn)});
}

void Projector::render_page(Run& r, const std::string& user) {
  // A member that is not an order id names no order hash, so it shows nothing.
  std::vector<int64_t> top;
  for (const auto& m : view_.ztop(keys_.user_orders(user), kPage))
    if (const auto id = parse_id(m.member)) top.push_back(*id);
  bool unknown = false;
  for (const int64_t o : top) unknown |= orders_.prefetch(o);
  if (unknown) return gather(r);
  if (r.missing) return;  // a run that only gathers reads
  std::vector<std::string> entries;
  for (const int64_t o : top)
    if (order_field(o, O::kItems)) entries.push_back(page_entry(o, user));
  view_.lreplace(keys_.user_latest(user), std::move(entries));
}

void Projector::fan_out_ranks(Run& r, const std::string& zset, const std::function<void(const std::string&)>& f) {
  size_t start = r.resume_cursor ? static_cast<size_t>(to_int(*r.resume_cursor)) : 0;
  auto all = view_.zall_ascending(zset);
  for (;;) {
    int room = budget_ - r.fan_used;
    if (room <= 0) {
      r.stopped_at = std::to_string(start);
      return;
    }
    size_t end = std::min(all.size(), start + static_cast<size_t>(room));
    size_t taken = end > start ? end - start : 0;
    for (size_t i = start; i < end; ++i) f(all[i].member);
    r.fan_used += static_cast<int>(taken);
    start += taken;
    if (taken < static_cast<size_t>(room)) return;
  }
}

void Projector::fan_out_set(Run& r, const std::string& set, const std::function<void(const std::string&)>& f) {
  std::string cursor = r.resume_cursor.value_or("0");
  const auto* changes = view_.set_changes(set);
  if (!r.resume_cursor && changes) {
    // Members this batch added are not in Redis yet, so SSCAN cannot return them.
    for (const auto& [m, in] : *changes)
      if (in) {
        f(m);
        ++r.fan_used;
      }
  }
  if (view_.deleted_in_run(set)) return;  // what Redis holds of it is gone
  page_through(
      r, cursor, [&](const std::string& at, int room) { return Command{"SSCAN", set, at, "COUNT", std::to_string(room)}; },
      [&](const std::string& m) {
        if (changes) {
          auto c = changes->find(m);
          if (c != changes->end() && !c->second) return;  // this batch removed it
        }
        f(m);
      });
}

// Pages of a SCAN-like read from `cursor` until the budget is spent (r.stopped_at says
// where) or the scan ends; every member it returns counts against the budget.
void Projector::page_through(Run& r, std::string cursor, const std::function<Command(const std::string&, int)>& read,
                             const std::function<void(const std::string&)>& f) {
  do {
    int room = budget_ - r.fan_used;
    if (room <= 0) {
      r.stopped_at = cursor;
      return;
    }
    Command c = read(cursor, room);
    const Reply& page = view_.fetch(c);
    if (page.elements.size() != 2) throw std::runtime_error("unexpected " + c[0] + " reply");
    for (const auto& m : page.elements[1].elements) f(m.str);
    r.fan_used += static_cast<int>(page.elements[1].elements.size());
    cursor = page.elements[0].str;
  } while (cursor != "0");
}

void Projector::set_user_field(Run& r, int64_t id, uint8_t field, std::string UserHash::*member,
                               const std::string& value, std::optional<OrderHash::Field> order_field) {
  if (!users_.exists(id)) return;
  users_.set(id, field).*member = value;
  users_.set(id, U::kLsn).lsn = r.lsn;
  const std::string user = std::to_string(id);
  if (!order_field) return;
  fan_out_ranks(r, keys_.user_orders(user), [&](const std::string& member) {
    const auto o = parse_id(member);
    if (!o) return;  // names no order hash
    set_order_field(*o, *order_field) = value;
    set_order_field(*o, O::kLsn) = r.lsn;
    if (auto d = r.dirty.find(*o); d != r.dirty.end()) d->second = r.lsn;  // its render writes the newest
  });
  r.pages.insert(user);
}

void Projector::set_product_field(Run& r, int64_t pid, ProductStore::Text field, const std::string& value) {
  if (products_.exists(pid)) products_.set(pid, field, value, r.lsn);
}

// A chunk of every order: at the start (cursor "0") those this batch wrote, which Redis may
// not have yet, then what SCAN finds from `cursor` until the budget is spent, where it sets
// r.stopped_at (as fan_out_set does). SCAN returns every key present for the whole scan at
// least once, and the events that follow wait for the last chunk, so nothing is missed; an
// order met twice gets the same result.
void Projector::fan_out_orders(Run& r, std::string cursor, const std::function<void(int64_t)>& f) {
  const std::string& stem = keys_.order_stem();
  if (cursor == "0")
    for (const int64_t o : orders_.touched()) {
      f(o);
      ++r.fan_used;
    }
  page_through(
      r, std::move(cursor),
      [&](const std::string& at, int room) {
        return Command{"SCAN", at, "MATCH", keys_.pattern(stem), "COUNT", std::to_string(room)};
      },
      [&](const std::string& key) {
        if (const auto id = Keys::id_in(stem, key))
          if (const auto o = parse_id(*id)) f(*o);
      });
}

// TRUNCATE reaches every order, user and product, so it goes in chunks like a fan-out, in
// phases: the orders (SCAN) and the users and the products, bucket by bucket (SSCAN of each
// bucket's set); the cursor the checkpoint keeps names the phase ("orders:17", "users5:0",
// "products63:12"). Deleted orders go last, so
// that between chunks every order an index lists still exists; emptied orders go first, so
// that the pages rendered in the users' phase show them empty.
void Projector::truncate(Run& r, const std::vector<std::string>& tables) {
  const std::set<std::string> t(tables.begin(), tables.end());
  const bool orders_gone = t.count("users") || t.count("orders");
  const bool items_gone = orders_gone || t.count("order_items");
  const bool users_gone = t.count("users") > 0, products_gone = t.count("products") > 0;

  std::vector<std::string> phases;
  if (items_gone && !orders_gone) phases.push_back("orders");
  for (const char* entity : {"users", "products"})
    if (items_gone || (entity[0] == 'u' ? users_gone : products_gone))
      for (int b = 0; b < Keys::kBuckets; ++b) phases.push_back(entity + std::to_string(b));
  if (orders_gone) phases.push_back("orders");

  size_t at = 0;
  std::string cursor = "0";
  if (r.resume_cursor) {
    size_t colon = r.resume_cursor->find(':');
    auto it = colon == std::string::npos ? phases.end()
                                         : std::find(phases.begin(), phases.end(), r.resume_cursor->substr(0, colon));
    if (it == phases.end())
      throw std::runtime_error("the checkpoint's TRUNCATE cursor " + *r.resume_cursor + " names no phase of it");
    at = static_cast<size_t>(it - phases.begin());
    cursor = r.resume_cursor->substr(colon + 1);
  }
  r.resume_cursor.reset();
  for (; at < phases.size(); ++at, cursor = "0") {
    const std::string& phase = phases[at];
    if (phase == "orders") {
      fan_out_orders(r, cursor, [&](int64_t o) {
        r.lines.erase(o);
        r.dirty.erase(o);
        if (orders_gone) {
          orders_.del(o);
          return;
        }
        // SCAN found it in Redis, where nobody else writes: it exists unless this batch
        // deleted it, so its fields are set without reading it.
        if (orders_.known_absent(o)) return;
        write_lines(o, r.lines[o] = {}, r.lsn);
      });
    } else {
      // fan_out_set resumes from r.resume_cursor and says where it stopped in r.stopped_at.
      if (cursor != "0") r.resume_cursor = cursor;
      const bool users_phase = phase.rfind("users", 0) == 0;
      const int bucket = std::stoi(phase.substr(users_phase ? 5 : 8));
      if (users_phase) {
        // A page rendered again reads up to 10 orders, yet counts as one: a chunk's cost is
        // mostly its rounds, and 10,000 hashes are still a bounded batch.
        fan_out_set(r, keys_.users(bucket), [&](const std::string& u) {
          if (const auto id = parse_id(u); !id) {
            // not a user id: no user hash is named after it
          } else if (users_gone) {
            users_.del(*id);
          } else {
            if (orders_gone) users_.set(*id, U::kOrderCount).order_count = 0;
            users_.set(*id, U::kLifetimeValue).lifetime_value = 0;
            users_.set(*id, U::kLsn).lsn = r.lsn;
          }
          if (orders_gone) {
            view_.del(keys_.user_orders(u));
            view_.del(keys_.user_latest(u));
            r.pages.erase(u);
          } else {
            r.pages.insert(u);
          }
        });
      } else {
        fan_out_set(r, keys_.products(bucket), [&](const std::string& p) {
          view_.del(keys_.product_orders(p));
          if (const auto id = parse_id(p); !id)
            return;  // not a product id: no product hash is named after it
          else if (products_gone)
            products_.del(*id);
          else
            products_.reset_sales(*id, r.lsn);
        });
      }
      r.resume_cursor.reset();
    }
    if (r.stopped_at) {
      r.stopped_at = phase + ":" + *r.stopped_at;
      return;
    }
  }
  for (int b = 0; b < Keys::kBuckets; ++b) {
    if (users_gone) view_.del(keys_.users(b));
    if (products_gone) view_.del(keys_.products(b));
  }
  if (products_gone) {
    products_.del_top();
  }
}

void Projector::apply(Run& r, const EventBody& e) {
  std::visit([&](const auto& event) { on(r, event); }, e);
}

void Projector::on(Run& r, const ev::OrderPlaced& e) {
  const int64_t id = e.order_id;
  const std::string o = std::to_string(id), u = std::to_string(e.user_id);
  const std::string okey = keys_.user_orders(u);
  // The items JSON lists the lines by product_id.
  std::vector<OrderLine> sorted;
  const std::vector<OrderLine>* lines = &e.lines;
  auto by_product = [](const OrderLine& a, const OrderLine& b) { return a.product_id < b.product_id; };
  if (!std::is_sorted(e.lines.begin(), e.lines.end(), by_product)) {
    sorted = e.lines;
    std::sort(sorted.begin(), sorted.end(), by_product);
    lines = &sorted;
  }
  std::vector<std::string> pids;
  pids.reserve(lines->size());
  for (const auto& l : *lines) pids.push_back(std::to_string(l.product_id));
  // Everything it reads, asked for at once.
  bool unknown = orders_.prefetch_exists(id);
  unknown |= users_.prefetch(e.user_id);
  unknown |= view_.prefetch_top(okey, kPage + 1);
  for (const auto& l : *lines) unknown |= products_.prefetch(l.product_id);
  if (unknown) return gather(r);
  // The run already misses something, so it only gathers reads and its writes are
  // dropped: the order's reads are asked for, its writes can wait for the next run.
  if (r.missing) return;
  if (orders_.exists(id)) delete_order(r, id);
  std::string name, email;
  if (users_.exists(e.user_id)) {
    if (const UserHash* h = users_.get(e.user_id, U::kName)) name = h->name;
    if (const UserHash* h = users_.get(e.user_id, U::kEmail)) email = h->email;
  }
  const bool counted = e.status != "cancelled";
  std::string items;
  items.reserve(2 + lines->size() * kItemBytes);  // grown once, not item by item
  items += '[';
  int64_t total = 0;
  for (size_t k = 0; k < lines->size(); ++k) {
    const OrderLine& l = (*lines)[k];
    if (k > 0) items += ',';
    append_item_head(items, l.product_id);
    append_line_tail(items, l.quantity, l.unit_cents);
    total += l.quantity * l.unit_cents;
    view_.sadd(keys_.product_orders(pids[k]), o);
    if (counted) product_add(r, l.product_id, l.quantity, l.quantity * l.unit_cents);
  }
  items += ']';
  const std::string item_count = std::to_string(lines->size()), total_text = cents_to_money(total);
  set_order_field(id, O::kOrderId) = o;
  set_order_field(id, O::kUserId) = u;
  set_order_field(id, O::kUserName) = name;
  set_order_field(id, O::kUserEmail) = email;
  set_order_field(id, O::kStatus) = e.status;
  set_order_field(id, O::kCreatedAt) = e.created_at;
  set_order_field(id, O::kUpdatedAt) = e.updated_at;
  set_order_field(id, O::kItemCount) = item_count;
  set_order_field(id, O::kTotal) = total_text;
  const std::string& items_text = set_order_field(id, O::kItems) = std::move(items);
  set_order_field(id, O::kLsn) = r.lsn;
  view_.zadd(okey, e.score, o);
  user_add(r, u, 1, counted ? total : 0);
  r.lines.erase(id);
  r.dirty.erase(id);
  if (!r.pages.count(u)) {
    long rank = view_.zrevrank_below(okey, o, kPage);
    if (rank == 0)  // from the values at hand: the fields were just written
      view_.lpush_trim(keys_.user_latest(u),
                       format_page_entry({o, u, name, email, e.status, e.created_at, e.updated_at, item_count,
                                          total_text, items_text, r.lsn}),
                       kPage);
    else if (rank > 0)
      r.pages.insert(u);  // placed with an older created_at: the page is rendered again
  }
}

void Projector::on(Run& r, const ev::OrderStatusChanged& e) {
  const int64_t o = e.order_id;
  const auto owner = owner_of(o);
  if (!owner) return;
  const std::string &user = owner->user, &from = owner->status;
  if (from != "cancelled" && e.to == "cancelled")
    contribution(r, o, user, -1);
  else if (from == "cancelled" && e.to != "cancelled")
    contribution(r, o, user, 1);
  set_order_field(o, O::kStatus) = e.to;
  set_order_field(o, O::kUpdatedAt) = e.updated_at;
  set_order_field(o, O::kLsn) = r.lsn;
  if (auto d = r.dirty.find(o); d != r.dirty.end()) d->second = r.lsn;
  page_touch(r, user, o);
}

void Projector::on(Run& r, const ev::OrderItemAdded& e) { set_item(r, e.order_id, e.line); }
void Projector::on(Run& r, const ev::OrderItemChanged& e) { set_item(r, e.order_id, e.line); }

// An order's line as it is now, added or changed.
void Projector::set_item(Run& r, int64_t order_id, const OrderLine& line) {
  const auto owner = owner_of(order_id);
  if (!owner) return;
  const std::string &user = owner->user, &status = owner->status;
  const int64_t q = line.quantity, c = line.unit_cents;
  remove_item(r, order_id, user, status, line.product_id);
  lines(r, order_id)[line.product_id] = {q, c};
  view_.sadd(keys_.product_orders(std::to_string(line.product_id)), std::to_string(order_id));
  if (status != "cancelled") {
    product_add(r, line.product_id, q, q * c);
    user_add(r, user, 0, q * c);
  }
  r.dirty[order_id] = r.lsn;
}

void Projector::on(Run& r, const ev::OrderItemRemoved& e) {
  if (const auto owner = owner_of(e.order_id)) remove_item(r, e.order_id, owner->user, owner->status, e.product_id);
}

void Projector::on(Run& r, const ev::OrderDeleted& e) { delete_order(r, e.order_id); }

void Projector::on(Run& r, const ev::UserRegistered& e) {
  const int64_t id = e.user_id;
  if (users_.prefetch_exists(id)) return gather(r);
  const bool fresh = !users_.exists(id);
  users_.set(id, U::kUserId).user_id = std::to_string(id);
  users_.set(id, U::kName).name = e.name;
  users_.set(id, U::kEmail).email = e.email;
  users_.set(id, U::kIsActive).is_active = e.is_active ? "true" : "false";
  users_.set(id, U::kLsn).lsn = r.lsn;
  if (fresh) {
    users_.set(id, U::kOrderCount).order_count = 0;
    users_.set(id, U::kLifetimeValue).lifetime_value = 0;
  }
  view_.sadd(keys_.users(Keys::bucket_of(id)), std::to_string(id));
}

void Projector::on(Run& r, const ev::UserRenamed& e) {
  set_user_field(r, e.user_id, U::kName, &UserHash::name, e.name, O::kUserName);
}
void Projector::on(Run& r, const ev::UserEmailChanged& e) {
  set_user_field(r, e.user_id, U::kEmail, &UserHash::email, e.email, O::kUserEmail);
}
void Projector::on(Run& r, const ev::UserDeactivated& e) {
  set_user_field(r, e.user_id, U::kIsActive, &UserHash::is_active, "false", std::nullopt);
}
void Projector::on(Run& r, const ev::UserReactivated& e) {
  set_user_field(r, e.user_id, U::kIsActive, &UserHash::is_active, "true", std::nullopt);
}

void Projector::on(Run& r, const ev::UserDeleted& e) {
  const std::string u = std::to_string(e.user_id);
  // Its orders go in chunks of the budget, the oldest left first: a chunk removes what it
  // takes from user_orders, so the next one starts again at the front.
  auto orders = view_.zall_ascending(keys_.user_orders(u));
  size_t take = std::min(orders.size(), static_cast<size_t>(std::max(budget_ - r.fan_used, 0)));
  std::vector<int64_t> ids;  // a member that is not an order id names no order hash
  for (size_t k = 0; k < take; ++k)
    if (const auto id = parse_id(orders[k].member)) ids.push_back(*id);
  bool unknown = false;
  for (const int64_t o : ids) unknown |= orders_.prefetch(o);
  if (unknown) return gather(r);
  for (const int64_t o : ids) delete_order(r, o);
  r.fan_used += static_cast<int>(take);
  if (take < orders.size()) {
    r.stopped_at = "0";
    return;
  }
  users_.del(e.user_id);
  view_.del(keys_.user_orders(u));
  view_.del(keys_.user_latest(u));
  r.pages.erase(u);
  view_.srem(keys_.users(Keys::bucket_of(u)), u);
}

void Projector::on(Run& r, const ev::ProductAdded& e) {
  if (products_.prefetch_exists(e.product_id)) return gather(r);
  products_.add(e.product_id, e.name, cents_to_money(e.price_cents), e.is_active, r.lsn);
  view_.sadd(keys_.products(Keys::bucket_of(e.product_id)), std::to_string(e.product_id));
}

void Projector::on(Run& r, const ev::ProductRenamed& e) {
  if (!products_.exists(e.product_id)) return;
  set_product_field(r, e.product_id, ProductStore::Text::Name, e.name);
  fan_out_set(r, keys_.product_orders(std::to_string(e.product_id)), [&](const std::string& member) {
    if (const auto o = parse_id(member)) r.dirty[*o] = r.lsn;  // else names no order hash
  });
}
void Projector::on(Run& r, const ev::ProductRepriced& e) {
  set_product_field(r, e.product_id, ProductStore::Text::Price, cents_to_money(e.price_cents));
}
void Projector::on(Run& r, const ev::ProductDeactivated& e) {
  set_product_field(r, e.product_id, ProductStore::Text::IsActive, "false");
}
void Projector::on(Run& r, const ev::ProductReactivated& e) {
  set_product_field(r, e.product_id, ProductStore::Text::IsActive, "true");
}

void Projector::on(Run&, const ev::ProductDeleted& e) {
  const std::string p = std::to_string(e.product_id);
  products_.del(e.product_id);
  view_.del(keys_.product_orders(p));
  view_.srem(keys_.products(Keys::bucket_of(p)), p);
}

void Projector::on(Run& r, const ev::Truncated& e) { truncate(r, e.tables); }

}  // namespace pgcqrs::sidecar::projection
