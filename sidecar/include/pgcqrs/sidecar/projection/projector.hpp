// The projection: what each domain event changes in the Redis read models
// (docs/read-models.md), for a batch of transactions applied atomically with the checkpoint.
// Network-free: a batch runs against a RedisView; when the view lacks something, the step
// says what to read, and the batch runs again once the replies are in. Its writes go out as
// one MULTI/EXEC after a WATCH of pgcqrs:checkpoint, so a batch and the checkpoint move
// together, and a replay skips what the checkpoint says is applied.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "pgcqrs/sidecar/checkpoint.hpp"
#include "pgcqrs/sidecar/keys.hpp"
#include "pgcqrs/sidecar/projection/entity_hashes.hpp"
#include "pgcqrs/sidecar/projection/hash_store.hpp"
#include "pgcqrs/sidecar/projection/model_plan.hpp"
#include "pgcqrs/sidecar/projection/product_store.hpp"
#include "pgcqrs/sidecar/projection/redis_view.hpp"
#include "pgcqrs/sidecar/projection/transaction_assembler.hpp"

namespace pgcqrs::sidecar::projection {

inline constexpr const char* kLayout = checkpoint::kLayout;

// JSON string literal as the read models hold it ('/' escaped, other bytes >= 0x80 as they
// are): the format older layouts wrote through Redis's cjson, kept byte for byte.
std::string cjson_string(std::string_view s);
void append_cjson(std::string& out, std::string_view s);  // the same, appended

struct ProjectorContext {
  std::string slot;
  std::string now_iso;
  uint64_t floor = 0;       // confirmed to the slot: a checkpoint below it means Redis lost writes
  int fanout_budget = 1000;  // orders one batch updates for a rename; the rest in later batches
  std::optional<uint64_t> retiring;  // Mark: the generation readers read until this copy's switch
};

class Projector {
 public:
  explicit Projector(Keys keys = Keys{})
      : keys_(std::move(keys)), products_(keys_, view_), users_(keys_, view_), orders_(keys_, view_, kOrdersKept) {}
  // The stores refer to keys_ and view_: a Projector stays where it was made.
  Projector(const Projector&) = delete;
  Projector& operator=(const Projector&) = delete;
  enum class Mode {
    Transaction,  // checked against and advancing the checkpoint
    Snapshot,     // rows of the initial copy into wiped read models: no checkpoint yet
    Mark,         // sets the checkpoint at the end of the copy
  };
  struct Step {
    enum class Kind { Read, Write, Stop } kind = Kind::Read;
    std::vector<Command> reads;  // Read: send them (pipelined), then advance() with the replies
    redis::RespWriter writes;    // Write: MULTI ... EXEC; the EXEC reply says whether it ran
    std::string reason;          // Stop: nocheckpoint, behind or dirty
    std::string detail;          // Stop: the checkpoint's lsn or dirty mark
    std::vector<Command> checks;  // Write: EXISTS reads that must answer 0 (speculation)
  };
  // What the last written batch did.
  struct Outcome {
    uint64_t applied_transactions = 0, skipped_transactions = 0, applied_events = 0;
    bool more = false;  // a fan-out stopped at its budget: run the same calls again
  };

  Step start(std::vector<ScriptCall> calls, Mode mode, const ProjectorContext& ctx);
  Step advance(std::vector<Reply> replies, const ProjectorContext& ctx);
  const Outcome& outcome() const { return outcome_; }
  // A Write step's buffer once sent: the next batch writes into it. A fresh one each batch
  // cost page faults and heap churn, 5% of the drain's CPU.
  void recycle(redis::RespWriter writes) { spare_ = std::move(writes); }
  std::vector<ScriptCall> take_calls() { return std::move(calls_); }
  const std::vector<ScriptCall>& calls() const { return calls_; }
  // After a failed write or a lost connection: what the view knew may be wrong.
  void forget() {
    view_.forget();
    products_.forget();
    users_.forget();
    orders_.forget();
  }
  RedisView& view() { return view_; }
  HashStore<OrderHash>& orders() { return orders_; }

 private:
  struct Line {
    int64_t quantity = 0, cents = 0;
  };
  using Lines = std::map<int64_t, Line>;  // by product_id
  // One run of the batch over the view.
  struct Run {
    std::string lsn;                            // of the transaction being applied
    std::map<int64_t, std::string> dirty;       // order -> lsn: items and totals to render
    std::map<int64_t, Lines> lines;             // order -> its lines as this batch edits them
    std::set<std::string> pages;                // users whose user_latest is rendered again
    int fan_used = 0;
    std::optional<std::string> resume_cursor;   // where the current event's fan-out resumes
    std::optional<std::string> stopped_at;      // where this batch's fan-out stopped
    bool missing = false;
    // The declarative models as of this run's position (model_rules.cpp), read once per run.
    std::optional<std::vector<std::shared_ptr<const ModelPlan>>> models;
    std::set<std::string> frozen;  // models replaced in this run: left as they are
    // Model rows to render from what they read, once each, at the end of the run (or before
    // an event that changes the models themselves): an order and its items, one render.
    std::map<std::pair<std::string, std::string>, const ModelPlan*> to_refresh;  // (model, id)
    Outcome outcome;
  };

  // A rule that asked for all it reads at once (the prefetches) and misses some of it: the run
  // only gathers reads from now on. A plain return, not the Missing a single read throws:
  // every event of a batch's first round comes here, and a throw costs thousands of
  // instructions.
  static void gather(Run& r) { r.missing = true; }

  // A decimal integer (an event's argument, a hash field; absent: 0).
  static int64_t to_int(const std::string& s);
  static int64_t to_int(const std::optional<std::string>& s);

  // The batch protocol (projector.cpp).
  std::vector<Command> take_checks();  // the view's and the stores' speculations to confirm
  void drop_assumptions();
  Step run(const ProjectorContext& ctx);
  Step run_snapshot(const ProjectorContext& ctx);
  void mark(const ProjectorContext& ctx, Step& step);
  void apply(Run& r, const EventBody& e);
  void apply(Run& r, const RowEvent& e);

  // The rules (rules.cpp): one per event type, and what they share.
  void on(Run& r, const ev::UserRegistered& e);
  void on(Run& r, const ev::UserRenamed& e);
  void on(Run& r, const ev::UserEmailChanged& e);
  void on(Run& r, const ev::UserDeactivated& e);
  void on(Run& r, const ev::UserReactivated& e);
  void on(Run& r, const ev::UserDeleted& e);
  void on(Run& r, const ev::ProductAdded& e);
  void on(Run& r, const ev::ProductRenamed& e);
  void on(Run& r, const ev::ProductRepriced& e);
  void on(Run& r, const ev::ProductDeactivated& e);
  void on(Run& r, const ev::ProductReactivated& e);
  void on(Run& r, const ev::ProductDeleted& e);
  void on(Run& r, const ev::OrderPlaced& e);
  void on(Run& r, const ev::OrderItemAdded& e);
  void on(Run& r, const ev::OrderItemChanged& e);
  void on(Run& r, const ev::OrderItemRemoved& e);
  void on(Run& r, const ev::OrderStatusChanged& e);
  void on(Run& r, const ev::OrderDeleted& e);
  void on(Run& r, const ev::Truncated& e);
  void set_item(Run& r, int64_t order_id, const OrderLine& line);
  // An order's field as Redis holds it (null: the order or the field is absent), and a change.
  const std::string* order_field(int64_t order, OrderHash::Field f) {
    const OrderHash* h = orders_.get(order, f);
    return h ? &h->text[f] : nullptr;
  }
  std::string& set_order_field(int64_t order, OrderHash::Field f) { return orders_.set(order, f).text[f]; }
  // An order's user and status ("" when absent), copied, as the rules write the same hash
  // after reading them; nullopt when the order does not exist.
  struct OrderOwner {
    std::string user, status;
  };
  std::optional<OrderOwner> owner_of(int64_t order);
  Lines& lines(Run& r, int64_t order);
  void product_add(Run& r, int64_t pid, int64_t dq, int64_t dc);
  void user_add(Run& r, const std::string& user, int64_t dcount, int64_t dcents);
  void contribution(Run& r, int64_t order, const std::string& user, int sign);
  void remove_item(Run& r, int64_t order, const std::string& user, const std::string& status, int64_t pid);
  void page_touch(Run& r, const std::string& user, int64_t order);
  void delete_order(Run& r, int64_t order);
  void render(Run& r, int64_t order, const std::string& at);
  void write_lines(int64_t order, const Lines& l, const std::string& at);
  void render_page(Run& r, const std::string& user);
  void set_user_field(Run& r, int64_t id, uint8_t field, std::string UserHash::*member, const std::string& value,
                      std::optional<OrderHash::Field> order_field);
  void set_product_field(Run& r, int64_t pid, ProductStore::Text field, const std::string& value);
  void fan_out_ranks(Run& r, const std::string& zset, const std::function<void(const std::string&)>& f);
  void fan_out_set(Run& r, const std::string& set, const std::function<void(const std::string&)>& f);
  void fan_out_orders(Run& r, std::string cursor, const std::function<void(int64_t)>& f);
  void page_through(Run& r, std::string cursor, const std::function<Command(const std::string&, int)>& read,
                    const std::function<void(const std::string&)>& f);
  void truncate(Run& r, const std::vector<std::string>& tables);

  // Declarative read models (model_rules.cpp): a hash per root row, copies of the rows it
  // looks up, and per lookup an index of the root rows that match each of its rows.
  using Plans = std::vector<std::shared_ptr<const ModelPlan>>;
  const Plans& models(Run& r);
  void model_registered(Run& r, const RowEvent& e);
  void model_replaced(Run& r, const RowEvent& e);
  void model_dropped(Run& r, const RowEvent& e);
  void models_truncated(Run& r, const RowEvent& e);
  void root_row(Run& r, const ModelPlan& m, const RowEvent& e);
  void lookup_row(Run& r, const ModelPlan& m, size_t t, const RowEvent& e);
  // A nested child row: its copy, its root row's list of children, and that row refreshed.
  void nested_row(Run& r, const ModelPlan& m, size_t t, const RowEvent& e);
  void refresh(const ModelPlan& m, const std::string& id);
  static void refresh_later(Run& r, const ModelPlan& m, const std::string& id) { r.to_refresh[{m.name, id}] = &m; }
  void refresh_pending(Run& r);
  // A grouped model: a root row's share in its group (its group and the values it adds), kept
  // in its r: hash, moved between groups as the row changes; a group's counts and sums.
  void regroup(const ModelPlan& m, const std::string& id);
  // A ranked model: the row's (group's) place in its bucket's sorted set, by the rank column's
  // value (null: none); every bucket's set at once (TRUNCATE, drop).
  void rank(const ModelPlan& m, const std::string& id, const std::string* value);
  // A row's (group's) hash, deleted before, written with these fields, and ranked by them.
  void write_row(const ModelPlan& m, const std::string& id, const std::map<std::string, std::string>& row);
  void unrank_all(const ModelPlan& m);
  void add_share(const ModelPlan& m, const std::string& group, const std::map<size_t, std::string>& values, int sign);
  void remove_root(const ModelPlan& m, const std::string& id);
  // Each root row the model keeps (by its identity), in chunks like a fan-out.
  void walk_rows(Run& r, const std::string& cursor, const ModelPlan& m,
                 const std::function<void(const std::string&)>& f);
  // A root row's hash and what is kept of it, where the indexes go separately (TRUNCATE, drop).
  void forget_row(const ModelPlan& m, const std::string& id);
  // SCAN of keys matching pattern, those this run changed first, in chunks like a fan-out.
  void walk_keys(Run& r, const std::string& cursor, const std::string& pattern,
                 const std::function<void(const std::string&)>& f);
  std::string model_key(const ModelPlan& m, const std::string& id) const;
  std::string model_stem(const ModelPlan& m) const;  // what the model keeps beside its hashes: pgcqrs:m:<name>:
  std::string model_part(const ModelPlan& m, std::string_view part, const std::string& id) const;
  void append_item_head(std::string& out, int64_t pid);  // an item's JSON up to its name
  std::string page_entry(int64_t order, const std::string& user);
  struct PageFields {  // an order_details hash's fields that its page entry shows
    std::string_view order, user, name, email, status, created_at, updated_at, item_count, total, items, lsn;
  };
  static std::string format_page_entry(const PageFields& f);

  Keys keys_;
  RedisView view_;
  ProductStore products_;      // the products' hashes and top_products, beside the view
  HashStore<UserHash> users_;  // the users' hashes, beside the view
  // The orders' hashes, beside the view. Fewer are kept than users and products: 50,000
  // took bench/copy.sh's peak RSS from 105 MB to 158 MB, 25,000 keeps it at 115 MB. A page
  // rendered again reads its user's last ten orders, so keeping fewer costs reads: 1.32,
  // 1.49 and 1.64 reads per order with 50,000, 25,000 and 10,000 (bench/projector_cpu).
  static constexpr size_t kOrdersKept = 25000;
  HashStore<OrderHash> orders_;
  std::vector<ScriptCall> calls_;
  // The plans read from the registry, by model name with the JSON they were parsed from.
  std::map<std::string, std::pair<std::string, std::shared_ptr<const ModelPlan>>> plans_;
  Mode mode_ = Mode::Transaction;
  std::string now_iso_;  // the batch's ProjectorContext::now_iso
  int budget_ = 1000;
  bool first_round_ = false;
  std::optional<std::map<std::string, std::string>> expected_cp_;  // the view's, at start
  std::optional<Step> speculative_;  // run on the view before the checkpoint was confirmed
  std::vector<Command> last_reads_;  // what the replies to advance() answer
  Outcome outcome_, run_outcome_, speculative_outcome_;
  redis::RespWriter spare_;
};

}  // namespace pgcqrs::sidecar::projection
