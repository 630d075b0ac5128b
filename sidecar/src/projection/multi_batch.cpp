// The transaction projection: reads, then one MULTI/EXEC, for batches of order placements and
// status changes. It mirrors the script's OrderPlaced and OrderStatusChanged handlers
// (apply.lua) command for command; tests/e2e/apply_modes.sh holds the two to the same result.
#include "pgcqrs/sidecar/projection/multi_batch.hpp"

#include <cmath>
#include <cstdlib>
#include <optional>
#include <unordered_set>

#include "pgcqrs/sidecar/redis/resp.hpp"
#include "pgcqrs/timestamp.hpp"

namespace pgcqrs::sidecar::projection {
namespace {

const std::string kCheckpoint = "pgcqrs:checkpoint";
constexpr int64_t kPage = 10;

// Calls f(type, args, nargs) for each domain event of a call's tokens.
template <typename F>
void each_event(const ScriptCall& call, F&& f) {
  const auto& t = call.tokens;
  for (size_t i = 0; i + 2 < t.size();) {
    size_t n = std::strtoull(t[i + 2].c_str(), nullptr, 10);
    f(t[i], &t[i + 3], n);
    i += 3 + n;
  }
}

// Lua's tonumber(s) or 0, as an integer.
int64_t count_of(const Reply& r) {
  if (r.kind != Reply::Kind::String) return 0;
  char* end = nullptr;
  double v = std::strtod(r.str.c_str(), &end);
  if (end == r.str.c_str() || *end != '\0') return 0;
  return static_cast<int64_t>(v);
}
// The script's cents(): a money string as integer cents, 0 if absent or not a number.
int64_t cents_of(const Reply& r) {
  if (r.kind != Reply::Kind::String) return 0;
  char* end = nullptr;
  double v = std::strtod(r.str.c_str(), &end);
  if (end == r.str.c_str() || *end != '\0') return 0;
  return static_cast<int64_t>(std::floor(v * 100 + 0.5));
}
std::optional<std::string> str_of(const Reply& r) {
  if (r.kind == Reply::Kind::String) return r.str;
  return std::nullopt;
}
double score_of(const std::string& s) { return std::strtod(s.c_str(), nullptr); }

// The lines of an items JSON the projection wrote: product_id -> {quantity, unit cents}. A
// product name is a JSON string (its '"' escaped), so `,"quantity":` only follows the name.
void parse_items(const std::string& json, std::map<int64_t, std::pair<int64_t, int64_t>>& out) {
  static const std::string kPid = "\"product_id\":", kQty = ",\"quantity\":", kPrice = ",\"unit_price\":\"";
  size_t at = 0;
  while ((at = json.find(kPid, at)) != std::string::npos) {
    at += kPid.size();
    char* end = nullptr;
    int64_t pid = std::strtoll(json.c_str() + at, &end, 10);
    size_t q_at = json.find(kQty, at);
    if (q_at == std::string::npos) return;
    q_at += kQty.size();
    int64_t q = std::strtoll(json.c_str() + q_at, &end, 10);
    if (json.compare(static_cast<size_t>(end - json.c_str()), kPrice.size(), kPrice) != 0) return;
    size_t p_at = static_cast<size_t>(end - json.c_str()) + kPrice.size();
    size_t p_end = json.find('"', p_at);
    if (p_end == std::string::npos) return;
    auto c = money_to_cents(std::string_view(json).substr(p_at, p_end - p_at));
    out[pid] = {q, c.value_or(0)};
    at = p_end;
  }
}

}  // namespace

bool multi_eligible(const ScriptCall& call) {
  if (!call.final) return false;
  bool ok = true;
  each_event(call, [&](const std::string& type, const std::string*, size_t) {
    if (type != "OrderPlaced" && type != "OrderStatusChanged") ok = false;
  });
  return ok;
}

bool MultiCache::keep_past(const std::vector<ScriptCall>& calls) {
  if (lsn == 0 || calls.empty()) return false;
  bool ok = true;
  for (const auto& call : calls) {
    if (!call.final) return false;
    each_event(call, [&](const std::string& type, const std::string* a, size_t) {
      if (!ok) return;
      if (type == "UserRegistered" || type == "UserRenamed" || type == "UserEmailChanged" ||
          type == "UserDeactivated" || type == "UserReactivated")
        users.erase(a[0]);
      else if (type == "ProductAdded" || type == "ProductRepriced" || type == "ProductDeactivated" ||
               type == "ProductReactivated")
        products.erase(a[0]);
      else
        ok = false;
    });
    if (!ok) return false;
  }
  lsn = calls.back().lsn;
  return true;
}

MultiBatch::MultiBatch(std::vector<ScriptCall> calls, MultiCache* cache) : calls_(std::move(calls)), cache_(cache) {
  if (cache_) generation_ = cache_->generation;
}

void MultiBatch::update_cache() {
  if (!cache_ || cache_->generation != generation_) return;
  // Bounded (about 20 MB): past it, start over rather than track what is least used.
  if (cache_->users.size() + cache_->products.size() > 100000) cache_->clear();
  for (auto& [id, u] : out_users_) {
    // A page the script rendered again may have any length: read it next time.
    if (paged_users_.count(id)) u.has_page_info = false;
    cache_->users[id] = std::move(u);
  }
  for (auto& [id, p] : out_products_) cache_->products[id] = std::move(p);
  cache_->lsn = out_lsn_;
}

MultiBatch::Outcome MultiBatch::read_round(std::vector<Command> cmds) {
  ++round_;
  Outcome o;
  o.step = Step::Read;
  o.commands = std::move(cmds);
  return o;
}

void MultiBatch::read_user(const std::string& u, bool page_info, std::vector<Command>& cmds) {
  cmds.push_back({"HMGET", "user:" + u, "name", "email", "order_count", "lifetime_value"});
  expect_.emplace_back(Target::UserHash, u);
  if (!page_info) return;
  cmds.push_back({"ZREVRANGE", "user_orders:" + u, "0", "0", "WITHSCORES"});
  expect_.emplace_back(Target::UserTop, u);
  cmds.push_back({"LLEN", "user_latest:" + u});
  expect_.emplace_back(Target::UserPageLen, u);
}

void MultiBatch::read_product(const std::string& p, std::vector<Command>& cmds) {
  cmds.push_back({"HMGET", "product:" + p, "name", "units_sold", "revenue"});
  expect_.emplace_back(Target::ProductHash, p);
}

bool MultiBatch::from_cache(const std::string& u, bool page_info) {
  if (!cache_) return false;
  auto it = cache_->users.find(u);
  if (it == cache_->users.end() || (page_info && !it->second.has_page_info)) return false;
  users_[u] = it->second;
  used_cache_ = true;
  return true;
}

bool MultiBatch::from_cache_product(const std::string& p) {
  if (!cache_) return false;
  auto it = cache_->products.find(p);
  if (it == cache_->products.end()) return false;
  products_[p] = it->second;
  used_cache_ = true;
  return true;
}

std::vector<Command> MultiBatch::watch_checkpoint() {
  expect_.clear();
  expect_.emplace_back(Target::Watch, "");
  expect_.emplace_back(Target::Checkpoint, "");
  return {{"WATCH", kCheckpoint}, {"HMGET", kCheckpoint, "lsn", "partial_lsn", "partial_seq", "partial_cursor", "dirty"}};
}

std::optional<MultiBatch::Outcome> MultiBatch::check_checkpoint(const MultiContext& ctx, uint64_t& cp) const {
  if (!cp_seen_ || !cp_lsn_) return Outcome{Step::Stop, {}, "nocheckpoint"};
  auto parsed = pgcqrs::parse_lsn(*cp_lsn_);
  if (!parsed) return Outcome{Step::Fallback, {}, "malformed checkpoint"};
  cp = *parsed;
  if (ctx.floor > cp) return Outcome{Step::Stop, {}, "behind"};
  if (cp_dirty_) return Outcome{Step::Stop, {}, "dirty"};
  if (cp_partial_lsn_ || cp_partial_seq_ || cp_partial_cursor_)
    return Outcome{Step::Fallback, {}, "a transaction or fan-out is partly applied"};
  return std::nullopt;
}

MultiBatch::Outcome MultiBatch::start() {
  std::vector<Command> cmds = watch_checkpoint();
  // What the cache holds is taken from it when the replies are in (render()): by then every
  // batch sent before this one has updated it.
  auto cached_user = [&](const std::string& u) {
    if (!cache_) return false;
    auto it = cache_->users.find(u);
    return it != cache_->users.end() && it->second.has_page_info;
  };
  std::unordered_set<std::string> users, products, placed;
  Command exists{"EXISTS"};  // every new order at once: how many of them Redis already has
  for (const auto& call : calls_) {
    each_event(call, [&](const std::string& type, const std::string* a, size_t) {
      if (type == "OrderPlaced") {
        placed.insert(a[0]);
        if (users.insert(a[1]).second) {
          if (cached_user(a[1]))
            cached_users_.insert(a[1]);
          else
            read_user(a[1], true, cmds);
        }
        size_t n = std::strtoull(a[7].c_str(), nullptr, 10);
        for (size_t k = 0; k < n; ++k) {
          const std::string& pid = a[8 + 4 * k];
          if (!products.insert(pid).second) continue;
          if (cache_ && cache_->products.count(pid))
            cached_products_.insert(pid);
          else
            read_product(pid, cmds);
        }
        exists.push_back("order_details:" + a[0]);
      } else {
        if (a[1] == "cancelled") cancels_.insert(a[0]);
        if (!placed.count(a[0]) && status_changes_.insert(a[0]).second) {
          cmds.push_back({"HMGET", "order_details:" + a[0], "user_id", "status", "items"});
          expect_.emplace_back(Target::OrderHash, a[0]);
        }
      }
    });
  }
  if (exists.size() > 1) {
    cmds.push_back(std::move(exists));
    expect_.emplace_back(Target::OrdersExisting, "");
  }
  return read_round(std::move(cmds));
}

MultiBatch::Outcome MultiBatch::advance(const std::vector<Reply>& replies, const MultiContext& ctx) {
  if (replies.size() != expect_.size()) return {Step::Fallback, {}, "reply count mismatch"};
  for (size_t i = 0; i < replies.size(); ++i) {
    const Reply& r = replies[i];
    if (r.kind == Reply::Kind::Error) return {Step::Fallback, {}, "a read was refused: " + r.str};
    const std::string& id = expect_[i].second;
    auto field = [&](size_t k) -> const Reply& {
      static const Reply nil;
      return r.kind == Reply::Kind::Array && k < r.elements.size() ? r.elements[k] : nil;
    };
    switch (expect_[i].first) {
      case Target::Watch:
        break;
      case Target::Checkpoint:
        cp_seen_ = true;
        cp_lsn_ = str_of(field(0));
        cp_partial_lsn_ = str_of(field(1));
        cp_partial_seq_ = str_of(field(2));
        cp_partial_cursor_ = str_of(field(3));
        cp_dirty_ = str_of(field(4));
        break;
      case Target::UserHash: {
        User& u = users_[id];
        u.exists = field(0).kind == Reply::Kind::String;
        u.name = field(0).str;
        u.email = field(1).str;
        u.count = count_of(field(2));
        u.ltv = cents_of(field(3));
        break;
      }
      case Target::UserTop: {
        User& u = users_[id];
        u.has_page_info = true;
        if (r.kind == Reply::Kind::Array && r.elements.size() >= 2) {
          u.has_top = true;
          u.top_member = r.elements[0].str;
          u.top_score = score_of(r.elements[1].str);
        }
        break;
      }
      case Target::UserPageLen:
        users_[id].page_len = r.integer;
        break;
      case Target::ProductHash: {
        Product& p = products_[id];
        p.exists = field(0).kind == Reply::Kind::String;
        p.name = field(0).str;
        p.units = count_of(field(1));
        p.rev = cents_of(field(2));
        break;
      }
      case Target::OrdersExisting:
        orders_existing_ = r.integer;
        break;
      case Target::OrderHash: {
        Order& o = orders_[id];
        o.exists = field(0).kind == Reply::Kind::String;
        o.user = field(0).str;
        o.status = field(1).str;
        std::map<int64_t, std::pair<int64_t, int64_t>> lines;
        if (field(2).kind == Reply::Kind::String) parse_items(field(2).str, lines);
        for (const auto& [pid, qc] : lines) o.lines[pid] = Line{qc.first, qc.second};
        break;
      }
    }
  }
  expect_.clear();
  if (prerendered_) return confirm(ctx);
  return render(ctx);
}

MultiBatch::Outcome MultiBatch::render(const MultiContext& ctx) {
  uint64_t cp = 0;
  if (auto stop = check_checkpoint(ctx, cp)) return std::move(*stop);

  // Take what was not read from the cache; what it no longer holds is read after all.
  std::vector<Command> reload;
  for (const auto& u : cached_users_)
    if (!from_cache(u, true)) read_user(u, true, reload);
  for (const auto& p : cached_products_)
    if (!from_cache_product(p)) read_product(p, reload);
  cached_users_.clear();
  cached_products_.clear();
  // A status change into or out of `cancelled` moves its order's user and product counters:
  // those must be read too (conservatively: whatever the order's status on the way).
  for (const auto& [o, ord] : orders_) {
    if (!ord.exists || !status_changes_.count(o)) continue;
    if (ord.status != "cancelled" && !cancels_.count(o)) continue;
    if (!users_.count(ord.user) && !from_cache(ord.user, false)) read_user(ord.user, false, reload);
    for (const auto& [pid_num, line] : ord.lines) {
      std::string pid = std::to_string(pid_num);
      if (!products_.count(pid) && !from_cache_product(pid)) read_product(pid, reload);
    }
  }
  if (used_cache_ && cache_->lsn != cp) {
    cache_->clear();  // someone else moved the checkpoint: what the cache holds may be stale
    return {Step::Fallback, {}, "the checkpoint moved since the cache was filled"};
  }
  if (!reload.empty()) {
    if (round_ >= 3) return {Step::Fallback, {}, "reads still missing after three rounds"};
    return read_round(std::move(reload));
  }
  return walk(ctx, cp);
}

// The events in order, applied to users_, products_ and orders_ in place (it runs once), as
// MULTI ... EXEC. cp: the checkpoint the batch applies on top of.
MultiBatch::Outcome MultiBatch::walk(const MultiContext& ctx, uint64_t cp) {
  auto& users = users_;
  auto& products = products_;
  auto& orders = orders_;
  std::unordered_map<std::string, std::string> dirty_users, dirty_products;  // id -> lsn of the last change
  // (user, order): render the user's page again from the hashes at the end if the order is on
  // it then (the script's rank check): an order placed below the newest.
  std::vector<std::pair<std::string, std::string>> page_if;
  // (user, order): the order's status changed; its page entry, if it has one, is written again
  // at the end (the script's `entries` mode).
  std::vector<std::pair<std::string, std::string>> entry_if;
  // The page entries of orders placed newest, pushed after the walk: a later status change of
  // the same order in this batch updates its entry here instead of rendering the page again
  // (the script's render would produce the same entry, from the hash this batch writes).
  struct Push {
    // The entry is head, status, mid, updated_at, tail, lsn, then "}: the three that change.
    std::string user, head, status, mid, updated_at, tail, lsn;
  };
  std::vector<Push> pushes;
  std::unordered_map<std::string, size_t> pushed;  // order id -> its index in pushes
  bool missing = false;  // a counter the pre-pass did not load: cannot happen
  redis::RespWriter w;
  w.cmd("MULTI");
  std::string items, entry;                    // scratch, reused
  std::unordered_map<std::string, std::string> heads;  // product id -> its line's JSON up to the quantity
  uint64_t applied_tx = 0, skipped_tx = 0, applied_events = 0;
  const ScriptCall* done = nullptr;

  for (const auto& call : calls_) {
    if (call.lsn <= cp) {
      ++skipped_tx;
      continue;
    }
    const std::string& lsn = call.lsn_text;
    bool again = false, unread = false;
    each_event(call, [&](const std::string& type, const std::string* a, size_t) {
      ++applied_events;
      if (type == "OrderPlaced") {
        const std::string &o = a[0], &u = a[1], &status = a[2], &total = a[6], &n = a[7];
        if (orders_existing_ > 0 || orders[o].exists) {
          again = true;  // placed again (the script deletes the old one first)
          return;
        }
        bool counted = status != "cancelled";
        User& uc = users[u];
        Order& ord = orders[o];
        ord.exists = true;
        ord.user = u;
        ord.status = status;
        items.assign(1, '[');
        size_t lines = std::strtoull(n.c_str(), nullptr, 10);
        int64_t sum = 0;
        for (size_t k = 0; k < lines; ++k) {
          const std::string& pid = a[8 + 4 * k];
          int64_t q = std::strtoll(a[9 + 4 * k].c_str(), nullptr, 10);
          int64_t c = std::strtoll(a[10 + 4 * k].c_str(), nullptr, 10);
          Product& p = products[pid];
          auto head = heads.find(pid);
          if (head == heads.end())
            head = heads.emplace(pid, "{\"product_id\":" + pid + ",\"product_name\":" +
                                          (p.exists ? cjson_string(p.name) : "null")).first;
          if (k > 0) items += ',';
          items += head->second;
          items += a[11 + 4 * k];
          sum += q * c;
          w.cmd("SADD", redis::Cat{"product_orders:", pid}, o);
          if (counted && p.exists) {
            p.units += q;
            p.rev += q * c;
            dirty_products[pid] = lsn;
          }
          ord.lines[std::strtoll(pid.c_str(), nullptr, 10)] = Line{q, c};
        }
        items += ']';
        const std::string_view name = uc.exists ? std::string_view(uc.name) : "";
        const std::string_view email = uc.exists ? std::string_view(uc.email) : "";
        w.cmd("HSET", redis::Cat{"order_details:", o}, "order_id", o, "user_id", u, "user_name", name, "user_email",
              email, "status", status, "created_at", a[3], "updated_at", a[4], "item_count", n, "total", total,
              "items", items, "lsn", lsn);
        w.cmd("ZADD", redis::Cat{"user_orders:", u}, a[5], o);
        if (uc.exists) {
          uc.count += 1;
          uc.ltv += counted ? sum : 0;
          dirty_users[u] = lsn;
        }
        double score = score_of(a[5]);
        bool newest = !uc.has_top || score > uc.top_score || (score == uc.top_score && o > uc.top_member);
        if (!newest) {
          page_if.emplace_back(u, o);
          return;
        }
        uc.has_top = true;
        uc.top_member = o;
        uc.top_score = score;
        pushed[o] = pushes.size();
        Push& push = pushes.emplace_back();
        push.user = u;
        push.head.assign("{\"order_id\":").append(o).append(",\"user_id\":").append(u);
        push.head.append(",\"user_name\":").append(cjson_string(name));
        push.head.append(",\"user_email\":").append(cjson_string(email)).append(",\"status\":\"");
        push.status = status;
        push.mid.assign("\",\"created_at\":\"").append(a[3]).append("\",\"updated_at\":\"");
        push.updated_at = a[4];
        push.tail.assign("\",\"item_count\":").append(n).append(",\"total\":\"").append(total);
        push.tail.append("\",\"items\":").append(items).append(",\"lsn\":\"");
        push.lsn = lsn;
      } else {  // OrderStatusChanged: order_id to updated_at
        const std::string &o = a[0], &to = a[1];
        auto known = orders.find(o);
        if (known == orders.end()) {
          // Neither read nor placed by a transaction walked here: its placement is in this
          // batch but at or below the checkpoint (a replay), so Redis has the order and
          // start() did not read it. The script reads it.
          unread = true;
          return;
        }
        Order& ord = known->second;
        if (!ord.exists) return;  // not in Redis: the script ignores it too
        int sign = 0;
        if (ord.status != "cancelled" && to == "cancelled") sign = -1;
        if (ord.status == "cancelled" && to != "cancelled") sign = 1;
        if (sign != 0) {
          int64_t sum = 0;
          for (const auto& [pid_num, line] : ord.lines) {
            std::string pid = std::to_string(pid_num);
            sum += line.q * line.c;
            auto it = products.find(pid);
            if (it == products.end()) {
              missing = true;
              continue;
            }
            if (!it->second.exists) continue;
            it->second.units += sign * line.q;
            it->second.rev += sign * line.q * line.c;
            dirty_products[pid] = lsn;
          }
          auto it = users.find(ord.user);
          if (it == users.end()) {
            missing = true;
          } else if (it->second.exists) {
            it->second.ltv += sign * sum;
            dirty_users[ord.user] = lsn;
          }
        }
        ord.status = to;
        w.cmd("HSET", redis::Cat{"order_details:", o}, "status", to, "updated_at", a[2], "lsn", lsn);
        auto p = pushed.find(o);
        if (p == pushed.end()) {
          entry_if.emplace_back(ord.user, o);
        } else {
          Push& push = pushes[p->second];
          push.status = to;
          push.updated_at = a[2];
          push.lsn = lsn;
        }
      }
    });
    if (again) return {Step::Fallback, {}, "an order is placed again"};
    if (unread) return {Step::Fallback, {}, "a replayed order changes status"};
    ++applied_tx;
    done = &call;
  }

  if (missing) return {Step::Fallback, {}, "a counter was not read"};

  for (const Push& push : pushes) {
    entry.assign(push.head).append(push.status).append(push.mid).append(push.updated_at);
    entry.append(push.tail).append(push.lsn).append("\"}");
    w.cmd("LPUSH", redis::Cat{"user_latest:", push.user}, entry);
    User& uc = users[push.user];
    if (++uc.page_len > kPage) {
      w.cmd("LTRIM", redis::Cat{"user_latest:", push.user}, "0", kPage - 1);
      uc.page_len = kPage;
    }
  }

  if (!dirty_products.empty()) {
    std::vector<std::pair<std::string, const std::string*>> scores;  // revenue, product id
    for (const auto& [pid, at] : dirty_products) {
      const Product& p = products[pid];
      std::string rev = cents_to_money(p.rev);
      w.cmd("HSET", redis::Cat{"product:", pid}, "units_sold", p.units, "revenue", rev, "lsn", at);
      scores.emplace_back(std::move(rev), &pid);
    }
    w.begin(2 + 2 * scores.size());
    w.arg("ZADD");
    w.arg("top_products");
    for (const auto& [rev, pid] : scores) {
      w.arg(rev);
      w.arg(*pid);
    }
  }
  for (const auto& [u, at] : dirty_users) {
    const User& uc = users[u];
    w.cmd("HSET", redis::Cat{"user:", u}, "order_count", uc.count, "lifetime_value", cents_to_money(uc.ltv), "lsn", at);
  }
  // The script's page modes, after every write they read (entries first: a whole render of
  // the same page after them writes the same entries again).
  for (const auto* pairs : {&entry_if, &page_if}) {
    if (pairs->empty()) continue;
    w.begin(8 + 2 * pairs->size());
    for (const std::string& a : {std::string("EVALSHA"), ctx.sha, std::string("0"),
                                 std::string(pairs == &page_if ? "pages" : "entries"), ctx.slot, ctx.now_iso,
                                 ctx.floor_text, std::to_string(ctx.fanout_budget)})
      w.arg(a);
    for (const auto& [u, o] : *pairs) {
      w.arg(u);
      w.arg(o);
    }
  }
  if (done) {
    w.cmd("HSET", kCheckpoint, "lsn", done->lsn_text, "slot", ctx.slot, "updated_at", ctx.now_iso, "commit_time",
          done->commit_time);
    w.cmd("PUBLISH", "pgcqrs:applied", done->lsn_text);
  }
  w.cmd("EXEC");
  out_users_ = std::move(users_);
  out_products_ = std::move(products_);
  for (const auto& [u, o] : page_if) paged_users_.insert(u);
  for (const auto& [u, o] : entry_if) paged_users_.insert(u);  // `entries` may render a page whole
  out_lsn_ = done ? done->lsn : cp;
  applied_tx_ = applied_tx;
  skipped_tx_ = skipped_tx;
  applied_events_ = applied_events;
  // The batch after this one may be rendered before this one's EXEC has run: the cache
  // holds what this batch writes from now on (if the EXEC fails, the session ends).
  update_cache();
  Outcome out;
  out.step = Step::Write;
  out.starts = w.starts();
  out.resp = std::move(w.buffer());
  return out;
}

std::optional<MultiBatch::Outcome> MultiBatch::start_prerendered(const MultiContext& ctx) {
  if (!cache_ || cache_->lsn == 0) return std::nullopt;
  std::unordered_set<std::string> placed;
  std::vector<Command> exists_cmd{{"EXISTS"}};
  bool ok = true;
  for (const auto& call : calls_) {
    each_event(call, [&](const std::string& type, const std::string* a, size_t) {
      if (!ok) return;
      if (type != "OrderPlaced") {
        ok = placed.count(a[0]) > 0;  // a status change of an order this batch places
        return;
      }
      placed.insert(a[0]);
      exists_cmd[0].push_back("order_details:" + a[0]);
      ok = users_.count(a[1]) || from_cache(a[1], true);
      size_t n = std::strtoull(a[7].c_str(), nullptr, 10);
      for (size_t k = 0; ok && k < n; ++k) ok = products_.count(a[8 + 4 * k]) || from_cache_product(a[8 + 4 * k]);
    });
    if (!ok) break;
  }
  if (ok) {
    expected_cp_ = cache_->lsn;
    prerendered_ = walk(ctx, expected_cp_);
    ok = prerendered_->step == Step::Write;
  }
  if (!ok) {  // start over with reads
    users_.clear();
    products_.clear();
    orders_.clear();
    used_cache_ = false;
    prerendered_.reset();
    return std::nullopt;
  }
  std::vector<Command> cmds = watch_checkpoint();
  if (exists_cmd[0].size() > 1) {
    cmds.push_back(std::move(exists_cmd[0]));
    expect_.emplace_back(Target::OrdersExisting, "");
  }
  return read_round(std::move(cmds));
}

MultiBatch::Outcome MultiBatch::confirm(const MultiContext& ctx) {
  uint64_t cp = 0;
  auto stop = check_checkpoint(ctx, cp);
  if (stop || cp != expected_cp_ || orders_existing_ > 0) {
    cache_->clear();  // it holds this batch's writes, which will not happen
    if (stop && stop->step == Step::Stop) return std::move(*stop);
    return {Step::Fallback, {}, "Redis is not where the batch rendered from the cache expected it"};
  }
  return std::move(*prerendered_);
}

}  // namespace pgcqrs::sidecar::projection
