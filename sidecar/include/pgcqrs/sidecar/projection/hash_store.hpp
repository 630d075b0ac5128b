// What the projector knows of one kind of read-model hash (a product's, a user's) and what a
// run changes in them: typed and found by integer id, where RedisView holds any key as
// strings. It keeps RedisView's protocol (redis_view.hpp): an unknown hash is read with
// HGETALL, asked for through the view so that a round's reads go out together, and a read
// that is needed throws Missing; a run's changes go to a working copy that the commit writes
// and keeps as the next batch's knowledge; while the view speculates, a hash whose existence
// is asked for and unknown is taken to be absent, and take_checks() gives the EXISTS reads
// that must answer 0.
//
// E, the hash's fields: an enum of them in name order (the order the commit writes them), up
// to 16, with kCount after the last; kNames; stem(keys), what precedes the tag in the key;
// key(keys, id), the key; and
// parse(field, text) and format(field, out), from and into what Redis holds.
#pragma once

#include <charconv>
#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "pgcqrs/sidecar/keys.hpp"
#include "pgcqrs/sidecar/projection/redis_view.hpp"

namespace pgcqrs::sidecar::projection {

// An id as the read models write it in text (a key's end, a member of pgcqrs:users, an
// order's user_id): a decimal integer, digits after an optional minus sign (ids are bigint);
// nullopt for anything else.
inline std::optional<int64_t> parse_id(std::string_view text) {
  int64_t id = 0;
  const char* end = text.data() + text.size();
  auto [p, ec] = std::from_chars(text.data(), end, id);
  if (text.empty() || ec != std::errc() || p != end) return std::nullopt;
  return id;
}

template <class E>
class HashStore {
  using Mask = uint16_t;  // a field is a bit
  static_assert(E::kCount <= 16, "a field is a bit of the mask");

 public:
  // keys and view outlive the store (all belong to the projector). Past `limit` hashes after
  // a commit, it forgets them all.
  HashStore(const Keys& keys, RedisView& view, size_t limit = 50000) : keys_(keys), view_(view), limit_(limit) {}

  // ---- reads ----------------------------------------------------------------------------
  // Asks for the hash unless it is known whole; true while it is unknown.
  bool prefetch(int64_t id) {
    const State* s = known(id);
    if (s && s->whole) return false;
    return view_.ask({"HGETALL", key(id)});
  }
  // Asks whether it exists unless known (or, speculating, takes it to be absent).
  bool prefetch_exists(int64_t id) {
    const State* s = known(id);
    if (s && s->exists) return false;
    if (view_.speculating()) {
      Slot& sl = slot(id);
      if (!sl.assumed_absent) {
        sl.assumed_absent = true;
        assumed_.push_back(&sl);
      }
      return false;
    }
    return view_.ask({"EXISTS", key(id)});
  }
  std::vector<Command> take_checks() {
    std::vector<Command> out;
    for (Slot* s : assumed_)
      if (!s->check_taken) {
        s->check_taken = true;
        out.push_back({"EXISTS", key(s->id)});
      }
    return out;
  }
  void drop_assumptions() {
    for (Slot* s : assumed_) s->assumed_absent = s->check_taken = false;
    assumed_.clear();
  }
  // Whether a read is one this store asked for; absorb() takes its reply.
  bool owns(const Command& read) const {
    return read.size() == 2 && (read[0] == "HGETALL" || read[0] == "EXISTS") && id_of(read[1]).has_value();
  }
  void absorb(const Command& read, Reply reply) {
    if (reply.kind == Reply::Kind::Error)
      throw std::runtime_error("Redis refused " + read[0] + " " + read[1] + ": " + reply.str);
    view_.answered(read);
    Slot& sl = slot(*id_of(read[1]));
    if (!sl.known) sl.base = State{};
    State& s = sl.base;
    sl.known = true;
    if (read[0] == "EXISTS") {
      if (s.whole) return;  // knows more already
      if (reply.integer == 0) s = absent();
      else s.exists = true;
      return;
    }
    s = State{};
    s.whole = true;
    s.exists = !reply.elements.empty();
    for (size_t i = 0; i + 1 < reply.elements.size(); i += 2) {
      const std::string& name = reply.elements[i].str;
      for (uint8_t f = 0; f < E::kCount; ++f)
        if (name == E::kNames[f]) {
          s.e.parse(f, std::move(reply.elements[i + 1].str));
          s.known |= static_cast<Mask>(1u << f);
        }
      // A field the projector does not write is left in Redis as it is.
    }
  }

  // ---- state (each throws Missing, its read asked for, when it is not known) -------------
  bool exists(int64_t id) {
    const State* s = known(id);
    if (s && s->exists) return *s->exists;
    need(id);
  }
  // The hash if `field` is known; null when the hash or the field is absent.
  const E* get(int64_t id, uint8_t field) {
    const State* s = known(id);
    if (s && s->exists && !*s->exists) return nullptr;
    if (s && (s->known & (1u << field))) return &s->e;
    if (s && s->whole) return nullptr;
    need(id);
  }

  // Known to be absent (no read asked).
  bool known_absent(int64_t id) const {
    const State* s = known(id);
    return s && s->exists && !*s->exists;
  }
  // The ids of the hashes this run wrote and did not leave deleted, in the order first changed.
  std::vector<int64_t> touched() const {
    std::vector<int64_t> out;
    for (const Slot* sl : work_order_)
      if (sl->now.exists.value_or(false)) out.push_back(sl->id);
    return out;
  }

  // ---- changes ----------------------------------------------------------------------------
  // The run's copy of the hash, `field` marked as written (the hash then exists): the caller
  // assigns the field's member.
  E& set(int64_t id, uint8_t field) {
    Slot& sl = work(id);
    sl.now.known |= static_cast<Mask>(1u << field);
    sl.dirty |= static_cast<Mask>(1u << field);
    sl.now.exists = true;
    return sl.now.e;
  }
  void del(int64_t id) {
    Slot& sl = work(id);
    sl.now = absent();
    sl.dirty = 0;
    sl.deleted = true;
  }

  // ---- the batch (called with RedisView's of the same names) -----------------------------
  void begin_batch() {
    begin_run();
    drop_assumptions();
  }
  void begin_run() {
    ++run_;  // every working copy is stale now
    work_order_.clear();
  }
  // This run's changes (DEL, then HSET of the fields written), kept as knowledge after.
  void commit(redis::RespWriter& out) {
    for (Slot* sl : work_order_) {
      const std::string k = key(sl->id);
      if (sl->deleted) out.cmd("DEL", k);
      const State& s = sl->now;
      const Mask written = s.exists.value_or(false) ? sl->dirty : 0;
      if (written != 0) {
        out.begin(2 + 2 * static_cast<size_t>(__builtin_popcount(written)));
        out.arg("HSET");
        out.arg(k);
        for (uint8_t f = 0; f < E::kCount; ++f)
          if (written & (1u << f)) {
            out.arg(E::kNames[f]);
            s.e.format(f, out);
          }
      }
      sl->base = std::move(sl->now);  // `now` is made again from it at the next change
      sl->known = true;
      sl->run = 0;
    }
    begin_batch();
    if (slots_.size() > limit_) clear();
  }
  void forget() {
    begin_batch();
    clear();
  }
  // Between batches: what it knows of one hash, as if pruned.
  void forget(int64_t id) {
    memo_ = nullptr;
    slots_.erase(id);
  }

 private:
  struct State {
    E e;
    Mask known = 0;  // fields known, a bit each
    bool whole = false;  // every field known: one not known is absent
    std::optional<bool> exists;
  };
  struct Slot {
    int64_t id = 0;
    bool known = false;  // `base` is what Redis holds
    bool assumed_absent = false, check_taken = false;
    uint64_t run = 0;  // `now`, `dirty` and `deleted` belong to this run (else stale)
    State now, base;
    Mask dirty = 0;        // fields this run wrote
    bool deleted = false;  // DEL first
  };

  void clear() {
    memo_ = nullptr;
    slots_.clear();
  }
  static State absent() {
    State s;
    s.whole = true;
    s.exists = false;
    return s;
  }
  std::string key(int64_t id) const { return E::key(keys_, id); }
  std::optional<int64_t> id_of(const std::string& k) const {
    const auto id = Keys::id_in(E::stem(keys_), k);
    if (!id) return std::nullopt;
    const auto parsed = parse_id(*id);
    if (parsed && E::key(keys_, *parsed) != k) return std::nullopt;  // another bucket's tag, or another spelling
    return parsed;
  }
  [[noreturn]] void need(int64_t id) { view_.need({"HGETALL", key(id)}); }
  Slot* find(int64_t id) const {
    if (memo_ && memo_->id == id) return memo_;
    auto it = slots_.find(id);
    return it == slots_.end() ? nullptr : memo_ = it->second.get();
  }
  const State* known(int64_t id) const {
    static const State kAbsent = absent();
    const Slot* found = find(id);
    if (!found) return nullptr;
    const Slot& sl = *found;
    if (sl.run == run_) return &sl.now;
    if (sl.known) return &sl.base;
    if (sl.assumed_absent) return &kAbsent;
    return nullptr;
  }
  Slot& slot(int64_t id) {
    if (Slot* found = find(id)) return *found;
    auto& sl = slots_[id];
    sl = std::make_unique<Slot>();
    sl->id = id;
    return *(memo_ = sl.get());
  }
  Slot& work(int64_t id) {
    Slot& sl = slot(id);
    if (sl.run != run_) {  // its first change in this run: a working copy of what is known
      sl.run = run_;
      sl.dirty = 0;
      sl.deleted = false;
      sl.now = sl.known ? sl.base : sl.assumed_absent ? absent() : State{};
      work_order_.push_back(&sl);
    }
    return sl;
  }

  const Keys& keys_;
  RedisView& view_;
  std::unordered_map<int64_t, std::unique_ptr<Slot>> slots_;
  // The last hash looked up: a rule reads and writes one field after another of the same one.
  mutable Slot* memo_ = nullptr;
  uint64_t run_ = 1;
  std::vector<Slot*> work_order_;  // hashes this run changed, in the order first changed
  std::vector<Slot*> assumed_;
  const size_t limit_;
};

}  // namespace pgcqrs::sidecar::projection
