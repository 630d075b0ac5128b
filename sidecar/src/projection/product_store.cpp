// The products' hashes and top_products, typed (product_store.hpp).
#include "pgcqrs/sidecar/projection/product_store.hpp"

#include <charconv>
#include <cstdlib>
#include <stdexcept>
#include <string_view>

#include "pgcqrs/core/money.hpp"

namespace pgcqrs::sidecar::projection {

namespace {

constexpr std::string_view kNames[] = {"is_active", "lsn", "name", "price", "product_id", "revenue", "units_sold"};

}  // namespace

// ---- reads ------------------------------------------------------------------------------

const ProductStore::Product* ProductStore::known(int64_t id) const {
  static const Product absent = [] {
    Product p;
    p.whole = true;
    p.exists = false;
    return p;
  }();
  auto it = slots_.find(id);
  if (it == slots_.end()) return nullptr;
  const Slot& s = *it->second;
  if (s.run == run_) return &s.now;
  if (s.known) return &s.base;
  if (s.assumed_absent) return &absent;
  return nullptr;
}

bool ProductStore::prefetch(int64_t id) {
  const Product* p = known(id);
  if (p && p->whole) return false;
  return view_.ask({"HGETALL", keys_.product(std::to_string(id))});
}

bool ProductStore::prefetch_exists(int64_t id) {
  const Product* p = known(id);
  if (p && p->exists) return false;
  if (view_.speculating()) {
    Slot& s = slot(id);
    if (!s.assumed_absent) {
      s.assumed_absent = true;
      assumed_.push_back(&s);
    }
    return false;
  }
  return view_.ask({"EXISTS", keys_.product(std::to_string(id))});
}

std::vector<Command> ProductStore::take_checks() {
  std::vector<Command> out;
  for (Slot* s : assumed_)
    if (!s->check_taken) {
      s->check_taken = true;
      out.push_back({"EXISTS", keys_.product(std::to_string(s->id))});
    }
  return out;
}

void ProductStore::drop_assumptions() {
  for (Slot* s : assumed_) s->assumed_absent = s->check_taken = false;
  assumed_.clear();
}

std::optional<int64_t> ProductStore::id_of(const std::string& key) const {
  const std::string stem = keys_.product("");
  if (key.size() <= stem.size() || key.compare(0, stem.size(), stem) != 0) return std::nullopt;
  int64_t id = 0;
  const char* end = key.data() + key.size();
  auto [p, ec] = std::from_chars(key.data() + stem.size(), end, id);
  if (ec != std::errc() || p != end) return std::nullopt;
  return id;
}

bool ProductStore::owns(const Command& read) const {
  return read.size() == 2 && (read[0] == "HGETALL" || read[0] == "EXISTS") && id_of(read[1]).has_value();
}

void ProductStore::absorb(const Command& read, Reply reply) {
  if (reply.kind == Reply::Kind::Error)
    throw std::runtime_error("Redis refused " + read[0] + " " + read[1] + ": " + reply.str);
  view_.answered(read);
  Slot& s = slot(*id_of(read[1]));
  if (!s.known) s.base = Product{};
  Product& p = s.base;
  if (read[0] == "EXISTS") {
    if (s.known && p.whole) return;  // knows more already
    p.exists = reply.integer != 0;
    if (reply.integer == 0) {
      p = Product{};
      p.whole = true;
      p.exists = false;
    }
    s.known = true;
    return;
  }
  p = Product{};
  p.whole = true;
  for (size_t i = 0; i + 1 < reply.elements.size(); i += 2) {
    const std::string& f = reply.elements[i].str;
    std::string& v = reply.elements[i + 1].str;
    Field field = kFields;
    for (uint8_t k = 0; k < kFields; ++k)
      if (f == kNames[k]) field = static_cast<Field>(k);
    switch (field) {
      case kIsActive: p.is_active = std::move(v); break;
      case kLsn: p.lsn = std::move(v); break;
      case kName: p.name = std::move(v); break;
      case kPrice: p.price = std::move(v); break;
      case kProductId: p.product_id = std::move(v); break;
      case kRevenue: p.revenue = money_to_cents(v).value_or(0); break;
      case kUnitsSold: p.units_sold = std::strtoll(v.c_str(), nullptr, 10); break;
      case kFields: continue;  // a field the projector does not write: left as it is
    }
    p.known |= static_cast<uint8_t>(1u << field);
  }
  p.exists = !reply.elements.empty();
  s.known = true;
}

// ---- state ------------------------------------------------------------------------------

bool ProductStore::exists(int64_t id) {
  const Product* p = known(id);
  if (p && p->exists) return *p->exists;
  need(id);
}

const std::string* ProductStore::name(int64_t id) {
  const Product* p = known(id);
  if (p && p->exists && !*p->exists) return nullptr;
  if (p && p->has(kName)) return &p->name;
  if (p && p->whole) return nullptr;
  need(id);
}

// ---- changes ----------------------------------------------------------------------------

ProductStore::Slot& ProductStore::slot(int64_t id) {
  auto& s = slots_[id];
  if (!s) {
    s = std::make_unique<Slot>();
    s->id = id;
  }
  return *s;
}

ProductStore::Slot& ProductStore::work(int64_t id) {
  Slot& s = slot(id);
  if (s.run != run_) {  // its first change in this run: a working copy of what is known
    s.run = run_;
    s.dirty = 0;
    s.deleted = false;
    if (s.known) {
      s.now = s.base;
    } else {
      s.now = Product{};
      if (s.assumed_absent) {
        s.now.whole = true;
        s.now.exists = false;
      }
    }
    work_order_.push_back(&s);
  }
  return s;
}

void ProductStore::add(int64_t id, const std::string& name, const std::string& price, bool is_active,
                       const std::string& lsn) {
  const bool fresh = !exists(id);
  Slot& s = work(id);
  Product& p = s.now;
  p.product_id = std::to_string(id);
  set_field(p, s, kProductId);
  p.name = name;
  set_field(p, s, kName);
  p.price = price;
  set_field(p, s, kPrice);
  p.is_active = is_active ? "true" : "false";
  set_field(p, s, kIsActive);
  p.lsn = lsn;
  set_field(p, s, kLsn);
  if (fresh) {
    p.units_sold = 0;
    set_field(p, s, kUnitsSold);
    p.revenue = 0;
    set_field(p, s, kRevenue);
    top_.insert_or_assign(id, 0);
  }
}

void ProductStore::add_sales(int64_t id, int64_t units, int64_t cents, const std::string& lsn) {
  const Product* k = known(id);
  if (!k || !k->has(kUnitsSold) || !k->has(kRevenue)) {
    // Absent fields count as 0, as in a hash read whole.
    if (!k || !k->whole) need(id);
  }
  Slot& s = work(id);
  Product& p = s.now;
  p.units_sold = (p.has(kUnitsSold) ? p.units_sold : 0) + units;
  set_field(p, s, kUnitsSold);
  p.revenue = (p.has(kRevenue) ? p.revenue : 0) + cents;
  set_field(p, s, kRevenue);
  p.lsn = lsn;
  set_field(p, s, kLsn);
  top_.insert_or_assign(id, p.revenue);
}

void ProductStore::set(int64_t id, Text field, const std::string& value, const std::string& lsn) {
  Slot& s = work(id);
  Product& p = s.now;
  switch (field) {
    case Text::Name:
      p.name = value;
      set_field(p, s, kName);
      break;
    case Text::Price:
      p.price = value;
      set_field(p, s, kPrice);
      break;
    case Text::IsActive:
      p.is_active = value;
      set_field(p, s, kIsActive);
      break;
  }
  p.lsn = lsn;
  set_field(p, s, kLsn);
}

void ProductStore::reset_sales(int64_t id, const std::string& lsn) {
  Slot& s = work(id);
  Product& p = s.now;
  p.units_sold = 0;
  set_field(p, s, kUnitsSold);
  p.revenue = 0;
  set_field(p, s, kRevenue);
  p.lsn = lsn;
  set_field(p, s, kLsn);
  top_.insert_or_assign(id, 0);
}

void ProductStore::del(int64_t id) {
  Slot& s = work(id);
  s.now = Product{};
  s.now.whole = true;
  s.now.exists = false;
  s.dirty = 0;
  s.deleted = true;
  top_.insert_or_assign(id, std::nullopt);
}

void ProductStore::del_top() {
  top_deleted_ = true;
  top_.clear();
}

// ---- the batch --------------------------------------------------------------------------

void ProductStore::begin_batch() {
  begin_run();
  drop_assumptions();
}

void ProductStore::begin_run() {
  ++run_;  // every working copy is stale now
  work_order_.clear();
  top_deleted_ = false;
  top_.clear();
}

void ProductStore::commit(redis::RespWriter& out) {
  for (Slot* s : work_order_) {
    const std::string key = keys_.product(std::to_string(s->id));
    if (s->deleted) out.cmd("DEL", key);
    const Product& p = s->now;
    const uint8_t written = p.exists.value_or(false) ? s->dirty : 0;
    if (written != 0) {
      out.begin(2 + 2 * static_cast<size_t>(__builtin_popcount(written)));
      out.arg("HSET");
      out.arg(key);
      for (uint8_t f = 0; f < kFields; ++f) {
        if (!(written & (1u << f))) continue;
        out.arg(kNames[f]);
        switch (static_cast<Field>(f)) {
          case kIsActive: out.arg(p.is_active); break;
          case kLsn: out.arg(p.lsn); break;
          case kName: out.arg(p.name); break;
          case kPrice: out.arg(p.price); break;
          case kProductId: out.arg(p.product_id); break;
          case kRevenue: out.arg(cents_to_money(p.revenue)); break;
          case kUnitsSold: out.arg(std::to_string(p.units_sold)); break;
          case kFields: break;
        }
      }
    }
    // What the batch leaves becomes what the next one knows.
    s->base = p;
    s->known = true;
    s->run = 0;
  }
  if (top_deleted_) out.cmd("DEL", keys_.top_products());
  size_t adds = 0, rems = 0;
  for (const auto& [id, cents] : top_) (cents ? adds : rems)++;
  if (rems > 0) {
    out.begin(2 + rems);
    out.arg("ZREM");
    out.arg(keys_.top_products());
    for (const auto& [id, cents] : top_)
      if (!cents) out.arg(std::to_string(id));
  }
  if (adds > 0) {
    out.begin(2 + 2 * adds);
    out.arg("ZADD");
    out.arg(keys_.top_products());
    for (const auto& [id, cents] : top_)
      if (cents) {
        out.arg(cents_to_money(*cents));
        out.arg(std::to_string(id));
      }
  }
  begin_batch();
  if (slots_.size() > kLimit) slots_.clear();
}

void ProductStore::forget() {
  begin_batch();
  slots_.clear();
}

}  // namespace pgcqrs::sidecar::projection
