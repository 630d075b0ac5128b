// What the projector knows of the Redis read models, and what a batch changes in them.
// Sans-I/O: reading a key the view does not know throws Missing after recording the read it
// needs (take_reads()); the caller runs those reads, hands the replies to absorb(), and the
// projector starts the batch again. Changes go to a working copy over that knowledge, which
// becomes the knowledge of the next batch once its writes are sent (commit()), so a hot
// user or product is read once, not once per batch. Only the sidecar writes the read models:
// a checkpoint that is not where the view left it makes the caller forget() everything.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "pgcqrs/sidecar/projection/reply.hpp"
#include "pgcqrs/sidecar/redis/resp.hpp"

namespace pgcqrs::sidecar::projection {

using Command = std::vector<std::string>;

// Thrown when a read is needed; the read is already recorded.
struct Missing {};

class RedisView {
 public:

  // A member of a sorted set, in Redis's order: by score, then by member bytes.
  struct Scored {
    double score = 0;
    std::string member;
  };

  // ---- reads ----------------------------------------------------------------------------
  // Records a read once per batch (returns true: what it reads is unknown until its reply),
  // or records it and throws Missing. Also for the typed stores beside the view
  // (product_store.hpp), whose reads go out with the view's.
  bool ask(Command read);
  [[noreturn]] void need(Command read);
  // A reply to a read asked for through ask() that a typed store took.
  void answered(const Command& read);
  // Reads recorded since the last call, deduplicated, in the order they were first needed.
  std::vector<Command> take_reads();
  // A reply to one of them (the knowledge is of Redis before the batch's writes).
  void absorb(const Command& read, Reply reply);
  // A one-off read whose reply is kept for the rest of the batch (SSCAN, SCAN pages).
  const Reply& fetch(const Command& read);
  // Asks for a sorted set's top without waiting for it, so that a handler gathers all it
  // needs in one round; returns whether it is still unknown (its read asked for, or pending).
  bool prefetch_top(const std::string& key, long n);
  // The same for every field of a hash (what hgetall() needs).
  bool prefetch_hash(const std::string& key);

  // Redis holds no key the view has not met (a copy into read models wiped just before it):
  // until the view forgets what it met, a sorted set it never met is taken to be empty
  // rather than read (each user's first order asked for its user_orders otherwise).
  void assume_empty() { empty_ = true; }

  // While speculating, the typed stores take a hash whose existence is asked for and unknown
  // to be absent, as a new order's is (hash_store.hpp).
  void set_speculating(bool on) { speculating_ = on; }
  bool speculating() const { return speculating_; }

  // ---- the batch ------------------------------------------------------------------------
  void begin_batch();  // drops the working copy and the one-off reads of the last batch
  void begin_run();    // drops the working copy: a run of the batch starts over
  // Appends the batch's writes (net, per key, in the order keys were first changed), then
  // keeps the working copy as knowledge for the next batch.
  void commit(redis::RespWriter& out);
  void forget();  // drops all knowledge (someone else moved the checkpoint, a new session)

  // A hash's fields, when the view knows all of them.
  std::optional<std::map<std::string, std::string>> known_hash(const std::string& key) const;
  // Hashes (the checkpoint; the read models' own are the typed stores'). Absent hash = no fields.
  std::optional<std::string> hget(const std::string& key, std::string_view field);
  // Every field of a hash as this run sees it (none: absent); asks for HGETALL and throws
  // Missing when the view does not know them all.
  std::vector<std::pair<std::string, std::string>> hgetall(const std::string& key);
  void hset(const std::string& key, std::string_view field, std::string value);
  void hdel(const std::string& key, std::string_view field);
  // Sorted sets (any key type: del() removes it).
  void zadd(const std::string& key, std::string score_text, const std::string& member);
  void zrem(const std::string& key, const std::string& member);
  // The member's rank from the top if it is below `limit`, else -1 (also when absent).
  long zrevrank_below(const std::string& key, const std::string& member, long limit);
  // The first n members from the top (fewer if the set is smaller).
  std::vector<Scored> ztop(const std::string& key, long n);
  // Every member, lowest first (ZRANGE 0 -1 order).
  std::vector<Scored> zall_ascending(const std::string& key);
  // Sets.
  void sadd(const std::string& key, const std::string& member);
  void srem(const std::string& key, const std::string& member);
  // This batch's own changes to a set: added (true) or removed (false) members.
  const std::map<std::string, bool>* set_changes(const std::string& key) const;
  // The keys this run changed whose names start with prefix: a walk's own writes, which a
  // SCAN of Redis cannot find yet.
  std::vector<std::string> changed_keys(std::string_view prefix) const;
  // Whether this run deleted the key (what Redis holds of it no longer counts).
  bool deleted_in_run(const std::string& key) const;
  // Lists (written blind: user_latest pages are rendered from the hashes and sorted sets).
  void lpush_trim(const std::string& key, std::string entry, long keep);
  void lreplace(const std::string& key, std::vector<std::string> entries);
  void publish(std::string channel, std::string message);
  void del(const std::string& key);

 private:
  // A hash's fields as far as known (nullopt: known absent), each marked when this run
  // changed it. A read-model hash has at most a dozen, so a vector searched in order costs
  // less than a tree.
  class Fields {
   public:
    struct Item {
      std::string name;
      std::optional<std::string> value;
      bool changed = false;
    };
    const std::optional<std::string>* find(std::string_view f) const {
      for (const auto& it : items_)
        if (it.name == f) return &it.value;
      return nullptr;
    }
    void set(std::string_view f, std::optional<std::string> v, bool changed) {
      for (auto& it : items_)
        if (it.name == f) {
          it.value = std::move(v);
          it.changed = it.changed || changed;
          return;
        }
      if (items_.empty()) items_.reserve(12);  // an order's hash has 11 fields
      items_.push_back(Item{std::string(f), std::move(v), changed});
    }
    void settle() {
      for (auto& it : items_) it.changed = false;
    }
    bool empty() const { return items_.empty(); }
    void clear() { items_.clear(); }
    void reserve(size_t n) { items_.reserve(n); }
    std::vector<Item>::const_iterator begin() const { return items_.begin(); }
    std::vector<Item>::const_iterator end() const { return items_.end(); }

   private:
    std::vector<Item> items_;
  };
  struct HashState {
    bool whole = false;                    // every field is known (an absent one is absent)
    std::optional<bool> exists;            // when known
    Fields fields;
  };
  struct ZsetState {
    bool known = false;     // `top` holds the first top.size() members exactly
    bool complete = false;  // and nothing else
    std::vector<Scored> top;  // highest first
  };
  struct SetState {
    bool complete = false;
    std::map<std::string, bool> members;  // complete: those with true are the set
  };
  enum class Kind { Unknown, Hash, Zset, Set, List };
  struct Entry {
    Kind kind = Kind::Unknown;
    HashState hash;
    ZsetState zset;
    SetState set;
  };
  struct ListOp {
    enum class Op { Push, Replace } op;
    std::vector<std::string> entries;
    long keep = 0;
  };
  // What a run changes in a key besides hash fields (those are marked in its Fields).
  struct Change {
    bool deleted = false;  // DEL first
    std::map<std::string, std::optional<std::string>> zset;  // ZADD score text, nullopt: ZREM
    std::map<std::string, bool> set;                          // SADD true, SREM false
    std::vector<ListOp> list;
  };
  // Everything the view holds of one key: what Redis has (as of the last batch) and the
  // current run's working copy, found with one lookup. What a run and its commit use comes
  // first: a batch touches a thousand slots, and the drain's time goes to fetching them.
  struct Slot {
    std::string key;
    bool known = false;           // `base` is what Redis holds
    uint64_t run = 0;             // `now` and `change` belong to this run (else stale)
    Entry now;
    Change change;
    Entry base;
  };

  std::string describe(const std::string& key) const;  // what the view holds of a key, for errors
  Slot* find(const std::string& key) const;
  Slot& slot(const std::string& key);
  Slot& work(const std::string& key, Kind kind);
  void settle(Slot& s);
  const Entry* known(const std::string& key) const;
  static bool whole_hash(const Entry* e);
  const Slot* working(const std::string& key) const;  // the key's slot if this run changed it
  static bool before(const Scored& a, const Scored& b);  // a sorts above b (ZREVRANGE order)

  // The slots, and an index over them by key: open addressing with linear probing, at most
  // half full, each entry a key's hash and its slot. A lookup then costs one or two cache
  // misses; a node-based map cost four or five, the drain's largest cost.
  struct IndexEntry {
    size_t hash = 0;
    Slot* slot = nullptr;
  };
  std::vector<std::unique_ptr<Slot>> slots_;
  std::vector<IndexEntry> index_;
  void place(Slot* s);  // into the index, which has room
  void reindex(size_t size);
  uint64_t run_ = 1;
  std::vector<Slot*> work_order_;  // keys this run changed, in the order first changed
  std::vector<std::pair<std::string, std::string>> publish_;
  std::map<Command, Reply> fetched_;  // one-off reads of this batch
  std::vector<Command> reads_;
  std::map<Command, bool> asked_;  // true once answered
  bool speculating_ = false;
  bool empty_ = false;  // assume_empty(), until the view forgets
  // The last key looked up: a handler reads and writes one hash field after another.
  mutable Slot* memo_ = nullptr;
  static constexpr size_t kKeyLimit = 50000;  // keys kept between batches; lists go first
};

// Parses a score as Redis prints it ("12.5", "inf", "-inf").
double parse_score(std::string_view text);

}  // namespace pgcqrs::sidecar::projection
