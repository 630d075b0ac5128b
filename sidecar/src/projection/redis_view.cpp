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

bool RedisView::ask(Command read) {
  auto [it, fresh] = asked_.try_emplace(read, false);  // no copy of a read already asked
  if (fresh) {
    reads_.push_back(std::move(read));
  } else if (it->second) {
    // Answered, yet still not known: the batch would wait for a read it never sends.
    throw std::logic_error("projection: the reply to " + it->first[0] + " " + it->first[1] +
                           " did not tell what it needs (" + describe(it->first[1]) + ")");
  }
  return true;
}

std::string RedisView::describe(const std::string& key) const {
  auto entry = [](const Entry& e) -> std::string {
    switch (e.kind) {
      case Kind::Hash:
        return std::string("hash, ") + (e.hash.whole ? "whole" : "partial") +
               (e.hash.exists ? (*e.hash.exists ? ", exists" : ", absent") : "");
      case Kind::Zset:
        return "sorted set, " + (e.zset.known ? std::to_string(e.zset.top.size()) + " members known" : "unknown") +
               (e.zset.complete ? ", complete" : "");
      case Kind::Set:
        return std::string("set") + (e.set.complete ? ", complete" : "");
      case Kind::List:
        return "list";
      case Kind::Unknown:
        break;
    }
    return "unknown";
  };
  const Slot* s = find(key);
  if (!s) return "the view holds nothing of it";
  std::string out = "the view holds " + (s->known ? entry(s->base) : std::string("nothing")) + " from Redis";
  if (s->run == run_) out += "; this run made it " + entry(s->now);
  return out;
}

void RedisView::need(Command read) {
  ask(std::move(read));
  throw Missing{};
}

std::vector<Command> RedisView::take_reads() {
  std::vector<Command> out;
  out.swap(reads_);
  return out;
}

void RedisView::answered(const Command& read) {
  if (auto it = asked_.find(read); it != asked_.end()) it->second = true;
}

void RedisView::absorb(const Command& read, Reply reply) {
  check(read, reply);
  if (auto it = asked_.find(read); it != asked_.end()) it->second = true;
  const std::string& cmd = read[0];
  if (cmd != "HGETALL" && cmd != "ZREVRANGE") {
    fetched_[read] = std::move(reply);
    return;
  }
  Slot& s = slot(read[1]);
  if (!s.known) s.base = Entry{};
  Entry& e = s.base;
  if (cmd == "HGETALL") {
    e.kind = Kind::Hash;
    e.hash = HashState{};
    e.hash.whole = true;
    e.hash.fields.reserve(reply.elements.size() / 2);
    for (size_t i = 0; i + 1 < reply.elements.size(); i += 2)
      e.hash.fields.set(reply.elements[i].str, std::move(reply.elements[i + 1].str), false);
    e.hash.exists = !e.hash.fields.empty();
  } else {
    long n = std::atol(read[3].c_str());
    n = n < 0 ? -1 : n + 1;
    if (s.known && e.kind == Kind::Zset && e.zset.known && e.zset.complete) return;  // knows more already
    e.kind = Kind::Zset;
    e.zset = ZsetState{};
    e.zset.known = true;
    for (size_t i = 0; i + 1 < reply.elements.size(); i += 2)
      e.zset.top.push_back({parse_score(reply.elements[i + 1].str), std::move(reply.elements[i].str)});
    e.zset.complete = n < 0 || static_cast<long>(e.zset.top.size()) < n;
  }
  s.known = true;
}

const Reply& RedisView::fetch(const Command& read) {
  if (auto it = fetched_.find(read); it != fetched_.end()) return it->second;
  need(read);
}

bool RedisView::prefetch_top(const std::string& key, long n) {
  if (empty_ && !find(key)) {
    Slot& s = slot(key);
    s.base = Entry{};
    s.base.kind = Kind::Zset;
    s.base.zset.known = s.base.zset.complete = true;
    s.known = true;
    return false;
  }
  auto enough = [n](const Entry* e) {
    return e && e->kind == Kind::Zset && e->zset.known && (e->zset.complete || static_cast<long>(e->zset.top.size()) >= n);
  };
  if (enough(known(key))) return false;
  // What Redis held would do, and this run removed members from it: a longer top would fall
  // short the same way, only the whole set tells what follows them.
  if (const Slot* s = find(key); s && s->known && enough(&s->base))
    return ask({"ZREVRANGE", key, "0", "-1", "WITHSCORES"});
  return ask({"ZREVRANGE", key, "0", std::to_string(std::max(n, kDefaultTop) - 1), "WITHSCORES"});
}

// ---- the batch --------------------------------------------------------------------------

void RedisView::begin_batch() {
  begin_run();
  fetched_.clear();
  asked_.clear();
  reads_.clear();
}

void RedisView::begin_run() {
  ++run_;  // every working copy is stale now
  work_order_.clear();
  publish_.clear();
}

void RedisView::forget() {
  empty_ = false;
  begin_batch();
  memo_ = nullptr;
  slots_.clear();
  index_.clear();
}


RedisView::Slot* RedisView::find(const std::string& key) const {
  if (memo_ && memo_->key == key) return memo_;
  if (index_.empty()) return nullptr;
  const size_t h = std::hash<std::string_view>{}(key), mask = index_.size() - 1;
  for (size_t i = h & mask;; i = (i + 1) & mask) {
    const IndexEntry& e = index_[i];
    if (!e.slot) return nullptr;
    if (e.hash == h && e.slot->key == key) return memo_ = e.slot;
  }
}

void RedisView::place(Slot* s) {
  const size_t h = std::hash<std::string_view>{}(s->key), mask = index_.size() - 1;
  size_t i = h & mask;
  while (index_[i].slot) i = (i + 1) & mask;
  index_[i] = {h, s};
}

void RedisView::reindex(size_t size) {
  index_.assign(size, IndexEntry{});
  for (const auto& s : slots_) place(s.get());
}

RedisView::Slot& RedisView::slot(const std::string& key) {
  if (Slot* s = find(key)) return *s;
  auto fresh = std::make_unique<Slot>();
  fresh->key = key;
  memo_ = fresh.get();
  slots_.push_back(std::move(fresh));
  if (slots_.size() * 2 > index_.size())
    reindex(std::max<size_t>(1024, index_.size() * 2));
  else
    place(memo_);
  return *memo_;
}

const RedisView::Entry* RedisView::known(const std::string& key) const {
  const Slot* s = find(key);
  if (!s) return nullptr;
  if (s->run == run_) return &s->now;
  if (s->known) return &s->base;
  return nullptr;
}

const RedisView::Slot* RedisView::working(const std::string& key) const {
  const Slot* s = find(key);
  return s && s->run == run_ ? s : nullptr;
}

RedisView::Slot& RedisView::work(const std::string& key, Kind kind) {
  Slot& s = slot(key);
  if (s.run != run_) {  // the key's first change in this run: a working copy of what is known
    s.run = run_;
    s.change.deleted = false;
    s.change.zset.clear();
    s.change.set.clear();
    s.change.list.clear();
    s.now = s.known ? s.base : Entry{};
    work_order_.push_back(&s);
  }
  if (s.now.kind == Kind::Unknown) s.now.kind = kind;
  return s;
}

// What the batch leaves of a key becomes what the next one knows.
void RedisView::settle(Slot& s) {
  Entry& now = s.now;
  s.run = 0;
  if (s.change.deleted || !s.change.zset.empty() || !s.change.set.empty() || !s.change.list.empty()) s.change = Change{};
  const bool keep = (now.kind == Kind::Hash && (now.hash.whole || now.hash.exists || !now.hash.fields.empty())) ||
                    (now.kind == Kind::Zset && now.zset.known);
  if (!keep) {
    if (s.known) s.base = Entry{};
    s.known = false;
    if (now.kind != Kind::List) now = Entry{};  // a list's working copy holds nothing
    return;
  }
  if (now.kind == Kind::Zset && now.zset.top.size() > 64) {
    now.zset.top.resize(64);
    now.zset.complete = false;
  }
  now.hash.fields.settle();
  s.base = std::move(now);  // leaves `now` empty
  s.known = true;
}

void RedisView::commit(redis::RespWriter& out) {
  std::vector<const Fields::Item*> changed;
  for (Slot* s : work_order_) {
    const std::string& key = s->key;
    Entry& now = s->now;
    Change& c = s->change;
    if (c.deleted) out.cmd("DEL", key);
    changed.clear();
    size_t sets = 0;
    for (const auto& it : now.hash.fields)
      if (it.changed) {
        changed.push_back(&it);
        sets += it.value.has_value();
      }
    std::sort(changed.begin(), changed.end(), [](const auto* a, const auto* b) { return a->name < b->name; });
    if (sets > 0) {
      out.begin(2 + 2 * sets);
      out.arg("HSET");
      out.arg(key);
      for (const auto* it : changed)
        if (it->value) {
          out.arg(it->name);
          out.arg(*it->value);
        }
    }
    if (changed.size() > sets) {
      out.begin(2 + changed.size() - sets);
      out.arg("HDEL");
      out.arg(key);
      for (const auto* it : changed)
        if (!it->value) out.arg(it->name);
    }
    size_t adds = 0, rems = 0;
    for (const auto& [m, v] : c.zset) (v ? adds : rems)++;
    if (rems > 0) {
      out.begin(2 + rems);
      out.arg("ZREM");
      out.arg(key);
      for (const auto& [m, v] : c.zset)
        if (!v) out.arg(m);
    }
    if (adds > 0) {
      out.begin(2 + 2 * adds);
      out.arg("ZADD");
      out.arg(key);
      for (const auto& [m, v] : c.zset)
        if (v) {
          out.arg(*v);
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
    settle(*s);
  }
  for (const auto& [channel, message] : publish_) out.cmd("PUBLISH", channel, message);

  begin_batch();
  if (slots_.size() > kKeyLimit) {
    memo_ = nullptr;
    // Lists are written blind: their slots tell the next batch nothing.
    slots_.erase(std::remove_if(slots_.begin(), slots_.end(), [](const auto& s) { return s->now.kind == Kind::List; }),
                 slots_.end());
    if (slots_.size() > kKeyLimit) {
      slots_.clear();
      empty_ = false;  // what it met and forgot may be in Redis
    }
    reindex(index_.size());
  }
}

// ---- hashes -----------------------------------------------------------------------------

std::optional<std::map<std::string, std::string>> RedisView::known_hash(const std::string& key) const {
  const Entry* e = known(key);
  if (!e || e->kind != Kind::Hash || !e->hash.whole) return std::nullopt;
  std::map<std::string, std::string> out;
  for (const auto& it : e->hash.fields)
    if (it.value) out.emplace(it.name, *it.value);
  return out;
}

std::optional<std::string> RedisView::hget(const std::string& key, std::string_view field) {
  const Entry* e = known(key);
  if (e && e->kind == Kind::Hash) {
    if (const auto* v = e->hash.fields.find(field)) return *v;
    if (e->hash.whole || (e->hash.exists && !*e->hash.exists)) return std::nullopt;
  }
  need({"HGETALL", key});
}

// Whether every field of the hash is known. A key this run deleted is whole, whatever kind it
// had: nothing of Redis's counts.
bool RedisView::whole_hash(const Entry* e) {
  return e && (e->kind == Kind::Hash || e->kind == Kind::Unknown) && e->hash.whole;
}

bool RedisView::prefetch_hash(const std::string& key) { return !whole_hash(known(key)) && ask({"HGETALL", key}); }

std::vector<std::pair<std::string, std::string>> RedisView::hgetall(const std::string& key) {
  const Entry* e = known(key);
  if (!whole_hash(e)) need({"HGETALL", key});
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& it : e->hash.fields)
    if (it.value) out.emplace_back(it.name, *it.value);
  return out;
}

void RedisView::hset(const std::string& key, std::string_view field, std::string value) {
  HashState& h = work(key, Kind::Hash).now.hash;
  h.fields.set(field, std::move(value), true);
  h.exists = true;
}

void RedisView::hdel(const std::string& key, std::string_view field) {
  HashState& h = work(key, Kind::Hash).now.hash;
  h.fields.set(field, std::nullopt, true);
  bool any = false;
  for (const auto& it : h.fields) any = any || it.value.has_value();
  if (any)
    h.exists = true;
  else if (h.whole)
    h.exists = false;
  else
    h.exists.reset();
}

void RedisView::del(const std::string& key) {
  const Entry* e = known(key);
  Slot& s = work(key, e ? e->kind : Kind::Unknown);
  Entry fresh;
  fresh.kind = s.now.kind;
  fresh.hash.whole = true;
  fresh.hash.exists = false;
  fresh.zset.known = fresh.zset.complete = true;
  fresh.set.complete = true;
  s.now = std::move(fresh);
  s.change = Change{};
  s.change.deleted = true;
}

// ---- sorted sets ------------------------------------------------------------------------

void RedisView::zadd(const std::string& key, std::string score_text, const std::string& member) {
  Slot& s = work(key, Kind::Zset);
  ZsetState& z = s.now.zset;
  if (z.known) {
    auto at = std::find_if(z.top.begin(), z.top.end(), [&](const Scored& m) { return m.member == member; });
    if (at != z.top.end()) z.top.erase(at);
    Scored m{parse_score(score_text), member};
    if (z.complete || (!z.top.empty() && before(m, z.top.back())))
      z.top.insert(std::upper_bound(z.top.begin(), z.top.end(), m, before), std::move(m));
    // else: it falls below what is known, where it stays unknown.
  }
  s.change.zset.insert_or_assign(member, std::move(score_text));
}

void RedisView::zrem(const std::string& key, const std::string& member) {
  Slot& s = work(key, Kind::Zset);
  ZsetState& z = s.now.zset;
  if (z.known) {
    auto at = std::find_if(z.top.begin(), z.top.end(), [&](const Scored& m) { return m.member == member; });
    if (at != z.top.end()) z.top.erase(at);
  }
  s.change.zset.insert_or_assign(member, std::nullopt);
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
  Slot& s = work(key, Kind::Set);
  if (s.now.set.complete) s.now.set.members.insert_or_assign(member, true);
  s.change.set.insert_or_assign(member, true);
}

void RedisView::srem(const std::string& key, const std::string& member) {
  Slot& s = work(key, Kind::Set);
  if (s.now.set.complete) s.now.set.members.erase(member);
  s.change.set.insert_or_assign(member, false);
}


std::vector<std::string> RedisView::changed_keys(std::string_view prefix) const {
  std::vector<std::string> out;
  for (const Slot* s : work_order_)
    if (s->run == run_ && s->key.compare(0, prefix.size(), prefix) == 0) out.push_back(s->key);
  return out;
}

const std::map<std::string, bool>* RedisView::set_changes(const std::string& key) const {
  const Slot* s = working(key);
  return s ? &s->change.set : nullptr;
}

bool RedisView::deleted_in_run(const std::string& key) const {
  const Slot* s = working(key);
  return s && s->change.deleted;
}


// ---- lists, channels --------------------------------------------------------------------

void RedisView::lpush_trim(const std::string& key, std::string entry, long keep) {
  Slot& s = work(key, Kind::List);
  s.change.list.push_back({ListOp::Op::Push, {std::move(entry)}, keep});
}

void RedisView::lreplace(const std::string& key, std::vector<std::string> entries) {
  Slot& s = work(key, Kind::List);
  s.change.list.clear();
  s.change.list.push_back({ListOp::Op::Replace, std::move(entries), 0});
}

void RedisView::publish(std::string channel, std::string message) {
  publish_.emplace_back(std::move(channel), std::move(message));
}


}  // namespace pgcqrs::sidecar::projection
