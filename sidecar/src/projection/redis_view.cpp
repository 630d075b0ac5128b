// The projector's knowledge of Redis and a batch's working copy over it (redis_view.hpp).
#include "pgcqrs/sidecar/projection/redis_view.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <stdexcept>

namespace pgcqrs::sidecar::projection {

namespace {

constexpr long kDefaultTop = 11;  // a user_latest page and one more

void check(const Command& read, const Reply& r) {
  if (r.kind == Reply::Kind::Error)
    throw std::runtime_error("Redis refused " + read[0] + " " + (read.size() > 1 ? read[1] : "") + ": " + r.str);
}

}  // namespace

namespace {
// Adds a field to the names a batch changed, once.
void note(std::vector<std::string>& changed, std::string_view field) {
  for (const auto& f : changed)
    if (f == field) return;
  changed.emplace_back(field);
}
}  // namespace

double parse_score(std::string_view text) {
  std::string s(text);
  if (s == "inf" || s == "+inf") return HUGE_VAL;
  if (s == "-inf") return -HUGE_VAL;
  return std::strtod(s.c_str(), nullptr);
}

bool RedisView::before(const Scored& a, const Scored& b) {
  if (a.score != b.score) return a.score > b.score;
  return a.member > b.member;
}

// ---- reads ------------------------------------------------------------------------------

void RedisView::need(Command read) {
  auto [it, fresh] = asked_.emplace(read, false);
  if (fresh) {
    reads_.push_back(std::move(read));
  } else if (it->second) {
    // Answered, yet still not known: the view would ask forever.
    throw std::logic_error("projection: the reply to " + it->first[0] + " " + it->first[1] + " did not tell what it needs");
  }
  throw Missing{};
}

std::vector<Command> RedisView::take_reads() {
  std::vector<Command> out;
  out.swap(reads_);
  return out;
}

void RedisView::absorb(const Command& read, Reply reply) {
  check(read, reply);
  forget_memo();
  if (auto it = asked_.find(read); it != asked_.end()) it->second = true;
  const std::string& cmd = read[0];
  const std::string& key = read[1];
  if (cmd == "HGETALL") {
    Entry& e = base_[key];
    e.kind = Kind::Hash;
    e.hash = HashState{};
    e.hash.whole = true;
    e.hash.fields.reserve(reply.elements.size() / 2);
    for (size_t i = 0; i + 1 < reply.elements.size(); i += 2)
      e.hash.fields.set(reply.elements[i].str, std::move(reply.elements[i + 1].str));
    e.hash.exists = !e.hash.fields.empty();
  } else if (cmd == "EXISTS") {
    Entry& e = base_[key];
    if (e.kind == Kind::Hash && e.hash.whole) return;
    e.kind = Kind::Hash;
    e.hash.exists = reply.integer != 0;
    if (reply.integer == 0) {
      e.hash.whole = true;
      e.hash.fields.clear();
    }
  } else if (cmd == "ZREVRANGE") {
    long n = std::atol(read[3].c_str());
    n = n < 0 ? -1 : n + 1;
    Entry& e = base_[key];
    if (e.kind == Kind::Zset && e.zset.known && e.zset.complete) return;  // knows more already
    e.kind = Kind::Zset;
    e.zset = ZsetState{};
    e.zset.known = true;
    for (size_t i = 0; i + 1 < reply.elements.size(); i += 2)
      e.zset.top.push_back({parse_score(reply.elements[i + 1].str), std::move(reply.elements[i].str)});
    e.zset.complete = n < 0 || static_cast<long>(e.zset.top.size()) < n;
  } else if (cmd == "SMEMBERS") {
    Entry& e = base_[key];
    e.kind = Kind::Set;
    e.set = SetState{};
    e.set.complete = true;
    for (auto& m : reply.elements) e.set.members.emplace(std::move(m.str), true);
  } else {
    fetched_[read] = std::move(reply);
  }
}

const Reply& RedisView::fetch(const Command& read) {
  if (auto it = fetched_.find(read); it != fetched_.end()) return it->second;
  need(read);
}

bool RedisView::prefetch_hash(const std::string& key) {
  const Entry* e = known(key);
  if (e && e->kind == Kind::Hash && e->hash.whole) return false;
  if (asked_.emplace(Command{"HGETALL", key}, false).second) reads_.push_back({"HGETALL", key});
  return true;
}

bool RedisView::prefetch_exists(const std::string& key) {
  const Entry* e = known(key);
  if (e && e->kind == Kind::Hash && e->hash.exists) return false;
  if (speculating_) {
    assumed_absent_.emplace(key, false);
    return false;
  }
  if (asked_.emplace(Command{"EXISTS", key}, false).second) reads_.push_back({"EXISTS", key});
  return true;
}

bool RedisView::prefetch_top(const std::string& key, long n) {
  const Entry* e = known(key);
  if (e && e->kind == Kind::Zset && e->zset.known && (e->zset.complete || static_cast<long>(e->zset.top.size()) >= n))
    return false;
  Command read{"ZREVRANGE", key, "0", std::to_string(std::max(n, kDefaultTop) - 1), "WITHSCORES"};
  if (asked_.emplace(read, false).second) reads_.push_back(std::move(read));
  return true;
}

// ---- the batch --------------------------------------------------------------------------

std::vector<Command> RedisView::take_checks() {
  std::vector<Command> out;
  for (auto& [key, taken] : assumed_absent_)
    if (!taken) {
      taken = true;
      out.push_back({"EXISTS", key});
    }
  return out;
}

void RedisView::begin_batch() {
  begin_run();
  assumed_absent_.clear();
  fetched_.clear();
  asked_.clear();
  reads_.clear();
}

void RedisView::begin_run() {
  forget_memo();
  work_.clear();
  work_order_.clear();
  publish_.clear();
}

void RedisView::forget() {
  base_.clear();
  begin_batch();
}

void RedisView::forget_key(const std::string& key) {
  forget_memo();
  base_.erase(key);
}

RedisView::Entry RedisView::absent_hash() {
  Entry e;
  e.kind = Kind::Hash;
  e.hash.whole = true;
  e.hash.exists = false;
  return e;
}

const RedisView::Entry* RedisView::known(const std::string& key) const {
  if (memo_entry_ && key == memo_key_) return memo_entry_;
  if (auto it = work_.find(key); it != work_.end()) {
    memo_key_ = key;
    memo_work_ = nullptr;  // work() sets it
    return memo_entry_ = &it->second.now;
  }
  if (auto it = base_.find(key); it != base_.end()) {
    memo_key_ = key;
    memo_work_ = nullptr;
    return memo_entry_ = &it->second;
  }
  if (!assumed_absent_.empty() && assumed_absent_.count(key)) {
    static const Entry absent = absent_hash();
    return &absent;
  }
  return nullptr;
}

RedisView::Work& RedisView::work(const std::string& key, Kind kind) {
  if (memo_work_ && key == memo_key_) {  // a handler writes one field after another
    if (memo_work_->now.kind == Kind::Unknown) memo_work_->now.kind = kind;
    return *memo_work_;
  }
  auto it = work_.find(key);
  if (it == work_.end()) {
    it = work_.emplace(key, Work{}).first;
    if (auto b = base_.find(key); b != base_.end())
      it->second.now = b->second;
    else if (!assumed_absent_.empty() && assumed_absent_.count(key))
      it->second.now = absent_hash();
    it->second.change.order = work_order_.size();
    work_order_.push_back(key);
  }
  if (it->second.now.kind == Kind::Unknown) it->second.now.kind = kind;
  memo_key_ = key;
  memo_work_ = &it->second;
  memo_entry_ = &it->second.now;
  return it->second;
}

void RedisView::commit(redis::RespWriter& out) {
  for (const auto& key : work_order_) {
    Work& w = work_[key];
    Change& c = w.change;
    if (c.deleted) out.cmd("DEL", key);
    size_t sets = 0, dels = 0;
    std::sort(c.hash.begin(), c.hash.end());
    for (const auto& f : c.hash) (w.now.hash.fields.find(f)->has_value() ? sets : dels)++;
    if (sets > 0) {
      out.begin(2 + 2 * sets);
      out.arg("HSET");
      out.arg(key);
      for (const auto& f : c.hash)
        if (const auto& v = *w.now.hash.fields.find(f)) {
          out.arg(f);
          out.arg(*v);
        }
    }
    if (dels > 0) {
      out.begin(2 + dels);
      out.arg("HDEL");
      out.arg(key);
      for (const auto& f : c.hash)
        if (!w.now.hash.fields.find(f)->has_value()) out.arg(f);
    }
    size_t adds = 0, rems = 0;
    for (const auto& [m, s] : c.zset) (s ? adds : rems)++;
    if (rems > 0) {
      out.begin(2 + rems);
      out.arg("ZREM");
      out.arg(key);
      for (const auto& [m, s] : c.zset)
        if (!s) out.arg(m);
    }
    if (adds > 0) {
      out.begin(2 + 2 * adds);
      out.arg("ZADD");
      out.arg(key);
      for (const auto& [m, s] : c.zset)
        if (s) {
          out.arg(*s);
          out.arg(m);
        }
    }
    adds = rems = 0;
    for (const auto& [m, in] : c.set) (in ? adds : rems)++;
    if (rems > 0) {
      out.begin(2 + rems);
      out.arg("SREM");
      out.arg(key);
      for (const auto& [m, in] : c.set)
        if (!in) out.arg(m);
    }
    if (adds > 0) {
      out.begin(2 + adds);
      out.arg("SADD");
      out.arg(key);
      for (const auto& [m, in] : c.set)
        if (in) out.arg(m);
    }
    for (const auto& op : c.list) {
      if (op.op == ListOp::Op::Push) {
        out.cmd("LPUSH", key, op.entries[0]);
        out.cmd("LTRIM", key, "0", static_cast<int64_t>(op.keep - 1));
      } else {
        if (!c.deleted) out.cmd("DEL", key);
        if (!op.entries.empty()) {
          out.begin(2 + op.entries.size());
          out.arg("RPUSH");
          out.arg(key);
          for (const auto& e : op.entries) out.arg(e);
        }
      }
    }
  }
  for (const auto& [channel, message] : publish_) out.cmd("PUBLISH", channel, message);

  // What the batch leaves becomes what the next one knows.
  forget_memo();
  for (auto& [key, w] : work_) {
    Entry& now = w.now;
    bool keep = (now.kind == Kind::Hash && (now.hash.whole || now.hash.exists || !now.hash.fields.empty())) ||
                (now.kind == Kind::Zset && now.zset.known);
    if (!keep) {
      base_.erase(key);
      continue;
    }
    if (now.kind == Kind::Zset && now.zset.top.size() > 64) {
      now.zset.top.resize(64);
      now.zset.complete = false;
    }
    base_[key] = std::move(now);
  }
  if (base_.size() > key_limit_) {
    for (auto it = base_.begin(); it != base_.end();)
      it = it->first.rfind("order_details:", 0) == 0 ? base_.erase(it) : std::next(it);
    if (base_.size() > key_limit_) base_.clear();
  }
  begin_batch();
}

// ---- hashes -----------------------------------------------------------------------------

std::optional<std::map<std::string, std::string>> RedisView::known_hash(const std::string& key) const {
  const Entry* e = known(key);
  if (!e || e->kind != Kind::Hash || !e->hash.whole) return std::nullopt;
  std::map<std::string, std::string> out;
  for (const auto& [f, v] : e->hash.fields)
    if (v) out.emplace(f, *v);
  return out;
}

bool RedisView::exists(const std::string& key) {
  const Entry* e = known(key);
  if (e && e->kind == Kind::Hash) {
    if (e->hash.exists) return *e->hash.exists;
    for (const auto& [f, v] : e->hash.fields)
      if (v) return true;
  }
  need({"HGETALL", key});
}

std::optional<std::string> RedisView::hget(const std::string& key, std::string_view field) {
  const std::string* v = hget_ref(key, field);
  if (!v) return std::nullopt;
  return *v;
}

const std::string* RedisView::hget_ref(const std::string& key, std::string_view field) {
  const Entry* e = known(key);
  if (e && e->kind == Kind::Hash) {
    if (const auto* v = e->hash.fields.find(field)) return v->has_value() ? &**v : nullptr;
    if (e->hash.whole || (e->hash.exists && !*e->hash.exists)) return nullptr;
  }
  need({"HGETALL", key});
}

void RedisView::hset(const std::string& key, std::string_view field, std::string value) {
  Work& w = work(key, Kind::Hash);
  w.now.hash.fields.set(field, std::move(value));
  w.now.hash.exists = true;
  note(w.change.hash, field);
}

void RedisView::hdel(const std::string& key, std::string_view field) {
  Work& w = work(key, Kind::Hash);
  HashState& h = w.now.hash;
  h.fields.set(field, std::nullopt);
  note(w.change.hash, field);
  bool any = false;
  for (const auto& [f, v] : h.fields) any = any || v.has_value();
  if (any)
    h.exists = true;
  else if (h.whole)
    h.exists = false;
  else
    h.exists.reset();
}

void RedisView::del(const std::string& key) {
  auto kind = known(key) ? known(key)->kind : Kind::Unknown;
  Work& w = work(key, kind);
  Entry fresh;
  fresh.kind = w.now.kind;
  fresh.hash.whole = true;
  fresh.hash.exists = false;
  fresh.zset.known = fresh.zset.complete = true;
  fresh.set.complete = true;
  w.now = std::move(fresh);
  size_t order = w.change.order;
  w.change = Change{};
  w.change.order = order;
  w.change.deleted = true;
}

// ---- sorted sets ------------------------------------------------------------------------

void RedisView::zadd(const std::string& key, std::string score_text, const std::string& member) {
  Work& w = work(key, Kind::Zset);
  ZsetState& z = w.now.zset;
  if (z.known) {
    auto at = std::find_if(z.top.begin(), z.top.end(), [&](const Scored& s) { return s.member == member; });
    if (at != z.top.end()) z.top.erase(at);
    Scored s{parse_score(score_text), member};
    if (z.complete || (!z.top.empty() && before(s, z.top.back())))
      z.top.insert(std::upper_bound(z.top.begin(), z.top.end(), s, before), std::move(s));
    // else: it falls below what is known, where it stays unknown.
  }
  w.change.zset.insert_or_assign(member, std::move(score_text));
}

void RedisView::zrem(const std::string& key, const std::string& member) {
  Work& w = work(key, Kind::Zset);
  ZsetState& z = w.now.zset;
  if (z.known) {
    auto at = std::find_if(z.top.begin(), z.top.end(), [&](const Scored& s) { return s.member == member; });
    if (at != z.top.end()) z.top.erase(at);
  }
  w.change.zset.insert_or_assign(member, std::nullopt);
}

long RedisView::zrevrank_below(const std::string& key, const std::string& member, long limit) {
  const Entry* e = known(key);
  if (!e || e->kind != Kind::Zset || !e->zset.known)
    need({"ZREVRANGE", key, "0", std::to_string(std::max(limit + 1, kDefaultTop) - 1), "WITHSCORES"});
  const ZsetState& z = e->zset;
  for (size_t i = 0; i < z.top.size() && static_cast<long>(i) < limit; ++i)
    if (z.top[i].member == member) return static_cast<long>(i);
  if (z.complete || static_cast<long>(z.top.size()) >= limit) return -1;
  need({"ZREVRANGE", key, "0", "-1", "WITHSCORES"});
}

std::vector<RedisView::Scored> RedisView::ztop(const std::string& key, long n) {
  const Entry* e = known(key);
  if (!e || e->kind != Kind::Zset || !e->zset.known)
    need({"ZREVRANGE", key, "0", std::to_string(std::max(n + 1, kDefaultTop) - 1), "WITHSCORES"});
  const ZsetState& z = e->zset;
  if (!z.complete && static_cast<long>(z.top.size()) < n) need({"ZREVRANGE", key, "0", "-1", "WITHSCORES"});
  return {z.top.begin(), z.top.begin() + std::min<long>(n, static_cast<long>(z.top.size()))};
}

std::vector<RedisView::Scored> RedisView::zall_ascending(const std::string& key) {
  const Entry* e = known(key);
  if (!e || e->kind != Kind::Zset || !e->zset.complete) need({"ZREVRANGE", key, "0", "-1", "WITHSCORES"});
  return {e->zset.top.rbegin(), e->zset.top.rend()};
}

// ---- sets -------------------------------------------------------------------------------

void RedisView::sadd(const std::string& key, const std::string& member) {
  Work& w = work(key, Kind::Set);
  if (w.now.set.complete) w.now.set.members.insert_or_assign(member, true);
  w.change.set.insert_or_assign(member, true);
}

void RedisView::srem(const std::string& key, const std::string& member) {
  Work& w = work(key, Kind::Set);
  if (w.now.set.complete) w.now.set.members.erase(member);
  w.change.set.insert_or_assign(member, false);
}

std::vector<std::string> RedisView::smembers(const std::string& key) {
  const Entry* e = known(key);
  if (!e || e->kind != Kind::Set || !e->set.complete) {
    // The base set plus this run's changes.
    if (auto b = base_.find(key); b == base_.end() || !b->second.set.complete) need({"SMEMBERS", key});
    Entry now = base_[key];
    if (auto w = work_.find(key); w != work_.end()) {
      if (w->second.change.deleted) now.set.members.clear();
      for (const auto& [m, in] : w->second.change.set)
        if (in)
          now.set.members.insert_or_assign(m, true);
        else
          now.set.members.erase(m);
    }
    std::vector<std::string> out;
    for (const auto& [m, in] : now.set.members) out.push_back(m);
    return out;
  }
  std::vector<std::string> out;
  for (const auto& [m, in] : e->set.members) out.push_back(m);
  return out;
}

const std::map<std::string, bool>* RedisView::set_changes(const std::string& key) const {
  auto w = work_.find(key);
  return w == work_.end() ? nullptr : &w->second.change.set;
}

bool RedisView::deleted_in_run(const std::string& key) const {
  auto w = work_.find(key);
  return w != work_.end() && w->second.change.deleted;
}

bool RedisView::known_absent(const std::string& key) const {
  const Entry* e = known(key);
  return e && e->kind == Kind::Hash && e->hash.exists == false;
}

// ---- lists, channels --------------------------------------------------------------------

void RedisView::lpush_trim(const std::string& key, std::string entry, long keep) {
  Work& w = work(key, Kind::List);
  w.change.list.push_back({ListOp::Op::Push, {std::move(entry)}, keep});
}

void RedisView::lreplace(const std::string& key, std::vector<std::string> entries) {
  Work& w = work(key, Kind::List);
  w.change.list.clear();
  w.change.list.push_back({ListOp::Op::Replace, std::move(entries), 0});
}

void RedisView::publish(std::string channel, std::string message) {
  publish_.emplace_back(std::move(channel), std::move(message));
}

std::vector<std::string> RedisView::touched_hashes(std::string_view prefix) const {
  std::vector<std::string> out;
  for (const auto& key : work_order_) {
    if (key.compare(0, prefix.size(), prefix) != 0) continue;
    const Entry& e = work_.at(key).now;
    if (e.kind != Kind::Hash) continue;
    bool any = e.hash.exists.value_or(false);
    for (const auto& [f, v] : e.hash.fields) any = any || v.has_value();
    if (any) out.push_back(key);
  }
  return out;
}

}  // namespace pgcqrs::sidecar::projection
