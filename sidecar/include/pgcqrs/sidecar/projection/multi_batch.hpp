// The transaction projection (`--apply multi`): a batch of transactions that only place orders
// and change their status is rendered here, in C++, and sent to Redis as plain commands in one
// MULTI/EXEC, fenced by WATCH pgcqrs:checkpoint. What the commands need from Redis (users,
// products, the orders whose status changes, the checkpoint) is read first, in one or two
// pipelined rounds after the WATCH. Anything else (and any state the fast path does not
// handle: an unfinished fan-out, an order placed twice) goes to the projection script instead.
// Sans-I/O: the session sends the commands and hands back the replies. docs/read-models.md,
// "The projection call", states what it writes; it writes exactly what the script would.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <unordered_map>
#include <unordered_set>
#include <string>
#include <vector>

#include "pgcqrs/sidecar/projection/projector.hpp"
#include "pgcqrs/sidecar/projection/reply.hpp"
#include "pgcqrs/sidecar/projection/transaction_assembler.hpp"

namespace pgcqrs::sidecar::projection {

using Command = std::vector<std::string>;

// Whether one call may go through the transaction projection: a whole transaction whose
// domain events are only OrderPlaced and OrderStatusChanged (or none).
bool multi_eligible(const ScriptCall& call);


struct MultiContext {
  std::string sha;        // the projection script (its `pages` mode renders user_latest pages)
  std::string slot;
  std::string now_iso;
  uint64_t floor = 0;     // the position confirmed to the slot: a checkpoint below it is `behind`
  std::string floor_text;
  int fanout_budget = 1000;
};

struct MultiCache;

class MultiBatch {
 public:
  struct User {
    bool exists = false;
    std::string name, email;
    int64_t count = 0, ltv = 0;
    // user_orders top member and user_latest length (read only for users placing orders).
    bool has_page_info = false;
    bool has_top = false;
    std::string top_member;
    double top_score = 0;
    int64_t page_len = 0;
  };
  struct Product {
    bool exists = false;
    std::string name;
    int64_t units = 0, rev = 0;
  };

  enum class Step {
    Read,      // send `commands` (pipelined) and call advance() with their replies
    Write,     // send `commands` (MULTI ... EXEC); the EXEC reply says whether they ran
    Fallback,  // send UNWATCH, then the calls (take_calls()) to the projection script
    Stop,      // the checkpoint says stop: `reason` is the script's word (nocheckpoint, behind, dirty)
  };
  struct Outcome {
    Step step = Step::Read;
    std::vector<Command> commands;  // Read
    std::string reason;             // Fallback, Stop
    std::string resp;               // Write: the commands in RESP, one buffer
    std::vector<size_t> starts;     // Write: where each command starts in it
  };

  // cache: users and products as this sidecar last wrote them (may be null).
  MultiBatch(std::vector<ScriptCall> calls, MultiCache* cache);

  // The first round of reads, starting with the WATCH.
  Outcome start();
  // Or, when the cache holds everything the batch needs (its users and products; it changes
  // the status only of orders it places): the batch is rendered now, before any read, and
  // the returned reads only confirm the checkpoint and that its orders are new. This lets the
  // sidecar render a batch while Redis runs the previous one. nullopt: use start().
  std::optional<Outcome> start_prerendered(const MultiContext& ctx);
  // The replies to the last Read, in order.
  Outcome advance(const std::vector<Reply>& replies, const MultiContext& ctx);

  std::vector<ScriptCall> take_calls() { return std::move(calls_); }

  // After Write: what it applied.
  uint64_t applied_transactions() const { return applied_tx_; }
  uint64_t skipped_transactions() const { return skipped_tx_; }
  uint64_t applied_events() const { return applied_events_; }
  uint64_t final_lsn() const { return calls_.empty() ? 0 : calls_.back().lsn; }
  const std::string& final_commit_time() const { return calls_.back().commit_time; }

 private:
  struct Line {
    int64_t q = 0, c = 0;
  };
  struct Order {
    bool exists = false;
    std::string user, status;
    std::map<int64_t, Line> lines;
  };

  Outcome read_round(std::vector<Command> cmds);
  void read_user(const std::string& u, bool page_info, std::vector<Command>& cmds);
  void read_product(const std::string& p, std::vector<Command>& cmds);
  bool from_cache(const std::string& u, bool page_info);
  bool from_cache_product(const std::string& p);
  std::vector<Command> watch_checkpoint();  // the first reads of every batch
  // What the checkpoint read says, as the script would answer: nullopt to go on (cp set).
  std::optional<Outcome> check_checkpoint(const MultiContext& ctx, uint64_t& cp) const;
  Outcome render(const MultiContext& ctx);
  Outcome walk(const MultiContext& ctx, uint64_t cp);
  Outcome confirm(const MultiContext& ctx);
  void update_cache();  // the users and products as the batch leaves them

  std::vector<ScriptCall> calls_;
  MultiCache* cache_;
  uint64_t generation_ = 0;  // the cache's, when the batch started
  std::unordered_set<std::string> cached_users_, cached_products_;  // taken from the cache, not read
  std::unordered_set<std::string> status_changes_;  // orders read for a status change
  std::unordered_set<std::string> cancels_;         // orders some event cancels
  bool used_cache_ = false;
  // After render: the working copies, for update_cache().
  std::unordered_map<std::string, User> out_users_;
  std::unordered_map<std::string, Product> out_products_;
  std::unordered_set<std::string> paged_users_;  // pages the script may have rendered again
  uint64_t out_lsn_ = 0;
  int round_ = 0;
  std::optional<Outcome> prerendered_;  // start_prerendered(): the writes, awaiting confirm()
  uint64_t expected_cp_ = 0;            // the checkpoint they were rendered on top of
  // What each reply of the current round fills in.
  enum class Target { Watch, Checkpoint, UserHash, UserTop, UserPageLen, ProductHash, OrdersExisting, OrderHash };
  std::vector<std::pair<Target, std::string>> expect_;
  bool cp_seen_ = false;
  std::optional<std::string> cp_lsn_, cp_partial_lsn_, cp_partial_seq_, cp_partial_cursor_, cp_dirty_;
  std::unordered_map<std::string, User> users_;
  std::unordered_map<std::string, Product> products_;
  int64_t orders_existing_ = 0;  // of the orders this batch places, how many Redis has
  std::unordered_map<std::string, Order> orders_;
  uint64_t applied_tx_ = 0, skipped_tx_ = 0, applied_events_ = 0;
};

// Users and products as the transaction projection last wrote them, so that the next batch
// need not read them again. Valid only while nothing else writes the read models: the session
// narrows or clears it whenever it sends a script call, and a batch that finds the checkpoint
// elsewhere than where the cache left it clears it and goes to the script.
struct MultiCache {
  std::unordered_map<std::string, MultiBatch::User> users;
  std::unordered_map<std::string, MultiBatch::Product> products;
  uint64_t lsn = 0;         // the checkpoint the cached values belong to
  uint64_t generation = 0;  // bumped by clear(): a batch started before it does not update it
  void clear() {
    users.clear();
    products.clear();
    lsn = 0;
    ++generation;
  }
  // Before `calls` go to the script: drops the users and products their events write and moves
  // to their last LSN, when every event writes only its own user's or product's hash (a
  // registration, a rename or an email change with its orders and page, a reprice, ...).
  // false: some event reaches further (order events, deletions, a product renamed into
  // orders' items), or a call is part of a transaction: the caller clears the cache.
  bool keep_past(const std::vector<ScriptCall>& calls);
};

}  // namespace pgcqrs::sidecar::projection
