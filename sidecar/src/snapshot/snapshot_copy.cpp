// Copy under an exported snapshot, in bounded batches (server-side cursors, pipelined calls).
#include "pgcqrs/sidecar/snapshot/snapshot_copy.hpp"

#include <hiredis/hiredis.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <exception>
#include <mutex>
#include <optional>
#include <set>
#include <thread>

#include "pgcqrs/sidecar/checkpoint.hpp"
#include "pgcqrs/sidecar/cluster/batch_plan.hpp"
#include "pgcqrs/sidecar/failure.hpp"
#include "pgcqrs/sidecar/projection/event.hpp"
#include "pgcqrs/sidecar/projection/model_plan.hpp"
#include "pgcqrs/sidecar/projection/projector.hpp"
#include "pgcqrs/sidecar/projection/reply.hpp"
#include "pgcqrs/sidecar/projection/transaction_assembler.hpp"
#include "pgcqrs/core/event_types.hpp"
#include "pgcqrs/core/lsn.hpp"
#include "pgcqrs/core/timestamp.hpp"

namespace pgcqrs::sidecar::snapshot {
namespace {

using projection::Message;
using projection::MessageKind;
using projection::ScriptCall;
using projection::EventBody;
using projection::OrderLine;
namespace ev = projection::ev;

constexpr int kFetch = 2000;
constexpr size_t kPipeline = 2048;  // write replies awaited at most (MULTI, QUEUED..., EXEC)

std::string now_iso() {
  auto us = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  return pgcqrs::format_timestamp(us - pgcqrs::unix_to_pg_epoch_micros);
}

// Sends the copy's calls through the projector, without a checkpoint (Snapshot mode). On one
// Redis, writes are pipelined and a call's reads wait for the replies to the writes before
// them. On a Redis Cluster, each call's writes go slot by slot (cluster/batch_plan.hpp), all
// slots' transactions at once, each fenced with the number the mark's finish gives the
// checkpoint; no intent: a copy cut short is made again from the start.
class Sender {
 public:
  Sender(redis::Deployment& r, const Keys& keys, const std::string& slot, std::optional<uint64_t> retiring,
         const std::atomic<bool>* cancel)
      : redis_(r), keys_(keys), slot_(slot), retiring_(retiring), cancel_(cancel), projector_(keys) {
    projector_.view().assume_empty();  // the generation was deleted just before the copy
    if (redis_.cluster()) {
      auto r = redis_.command(keys_.checkpoint(), {"HGET", keys_.checkpoint(), checkpoint::field::batch});
      batch_ = (r->type == REDIS_REPLY_STRING ? cluster::parse_batch(redis::reply_string(r.get())).value_or(0) : 0) + 1;
    }
  }
  void send(ScriptCall call, projection::Projector::Mode mode) {
    if (cancel_ && cancel_->load()) throw std::runtime_error("snapshot copy interrupted by shutdown; the next start copies again");
    projection::ProjectorContext ctx{slot_, now_iso(), 0, projection::kDefaultFanoutBudget, retiring_};
    std::vector<ScriptCall> calls;
    calls.push_back(std::move(call));
    auto step = projector_.start(std::move(calls), mode, ctx);
    while (step.kind == projection::Projector::Step::Kind::Read) {
      ++read_rounds_;
      step = projector_.advance(read(step.reads), ctx);
    }
    if (step.kind != projection::Projector::Step::Kind::Write)
      throw std::runtime_error("snapshot: the projection stopped (" + step.reason + ")");
    if (redis::SyncClient* single = redis_.single()) {
      single->append_formatted(step.writes.buffer());
      single->send();  // Redis runs these writes while the next call is projected
      outstanding_ += step.writes.starts().size();
      if (outstanding_ >= kPipeline) drain(kPipeline / 2);
    } else {
      const cluster::Intent plan = cluster::plan_batch(step.writes.buffer(), step.writes.starts(), batch_, keys_);
      for (const auto& r : redis_.cluster_client()->transactions(plan.transactions)) check(r.get());
      // The finish moves the checkpoint: only the mark's, which ends the copy.
      if (mode == projection::Projector::Mode::Mark) check(redis_.cluster_client()->transaction(plan.finish).get());
    }
    projector_.recycle(std::move(step.writes));  // the next call writes into the same buffer
    ++calls_;
  }
  void drain(size_t keep = 0) {
    redis::SyncClient* single = redis_.single();
    while (single && outstanding_ > keep) {
      auto r = single->read_reply();
      --outstanding_;
      if (r->type == REDIS_REPLY_ERROR)
        throw redis::RedisError("Redis rejected a snapshot write: " + redis::describe_reply_error(r.get()),
                                redis::reply_error_code(r.get()));
      if (r->type == REDIS_REPLY_NIL) throw redis::RedisError("Redis did not run a snapshot write (EXEC)");
      check(r.get());
    }
  }
  uint64_t calls() const { return calls_; }
  uint64_t read_rounds() const { return read_rounds_; }  // each waits for every write before it

 private:
  std::vector<projection::Reply> read(const std::vector<projection::Command>& reads) {
    std::vector<projection::Reply> replies;
    replies.reserve(reads.size());
    if (redis::SyncClient* single = redis_.single()) {
      for (const auto& c : reads) single->append(c);
      drain();
      for (size_t i = 0; i < reads.size(); ++i) replies.push_back(projection::copy_reply(*single->read_reply()));
      return replies;
    }
    redis::Deployment::Keyed keyed;
    for (const auto& c : reads) keyed.push_back({c.size() > 1 ? c[1] : c[0], c});
    for (const auto& r : redis_.pipeline(keyed)) replies.push_back(projection::copy_reply(*r));
    return replies;
  }
  // An EXEC's replies: a command that failed in it is a write lost.
  static void check(const redisReply* r) {
    for (size_t i = 0; r->type == REDIS_REPLY_ARRAY && i < r->elements; ++i)
      if (r->element[i]->type == REDIS_REPLY_ERROR)
        throw redis::RedisError("Redis rejected a snapshot write: " + redis::describe_reply_error(r->element[i]),
                                redis::reply_error_code(r->element[i]));
  }

  redis::Deployment& redis_;
  const Keys keys_;
  const std::string& slot_;
  const std::optional<uint64_t> retiring_;
  const std::atomic<bool>* cancel_;
  projection::Projector projector_;
  size_t outstanding_ = 0;
  uint64_t batch_ = 0;  // on a cluster: the number of the copy's fences and of its mark
  uint64_t read_rounds_ = 0;
  uint64_t calls_ = 0;
};

// The batches of one cursor, fetched one ahead by a thread of their own, so that PostgreSQL
// makes the next batch while this one is projected: fetched in turn, the copy waited on
// PostgreSQL for about a seventh of its time. The transaction is the thread's alone from
// construction until next() has returned nothing or the fetcher is destroyed.
class Fetcher {
 public:
  Fetcher(pqxx::transaction_base& tx, std::string cursor) : tx_(tx), cursor_(std::move(cursor)) {
    thread_ = std::thread([this] { run(); });
  }
  ~Fetcher() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stop_ = true;
    }
    changed_.notify_all();
    thread_.join();  // at most the FETCH under way
  }
  Fetcher(const Fetcher&) = delete;
  Fetcher& operator=(const Fetcher&) = delete;

  // The next batch, nothing once the cursor is exhausted; rethrows what a FETCH threw.
  std::optional<pqxx::result> next() {
    std::unique_lock<std::mutex> lock(mutex_);
    changed_.wait(lock, [&] { return ready_.has_value() || done_; });
    if (ready_) {
      std::optional<pqxx::result> out = std::move(ready_);
      ready_.reset();
      changed_.notify_all();
      return out;
    }
    if (error_) std::rethrow_exception(error_);
    return std::nullopt;
  }

 private:
  void run() {
    try {
      for (bool last = false; !last;) {
        pqxx::result rows = tx_.exec("FETCH " + std::to_string(kFetch) + " FROM " + cursor_);
        last = rows.size() < static_cast<size_t>(kFetch);
        std::unique_lock<std::mutex> lock(mutex_);
        changed_.wait(lock, [&] { return !ready_ || stop_; });
        if (stop_) break;
        ready_ = std::move(rows);
        changed_.notify_all();
      }
    } catch (...) {
      std::lock_guard<std::mutex> lock(mutex_);
      error_ = std::current_exception();
    }
    std::lock_guard<std::mutex> lock(mutex_);
    done_ = true;
    changed_.notify_all();
  }

  pqxx::transaction_base& tx_;
  const std::string cursor_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::optional<pqxx::result> ready_;
  std::exception_ptr error_;
  bool done_ = false, stop_ = false;
  std::thread thread_;  // last: it starts once everything above is built
};

Message event(int64_t seq, EventBody body, uint64_t lsn, const std::string& lsn_text) {
  Message m;
  m.kind = MessageKind::Domain;
  m.event.seq = seq;
  m.event.body = std::move(body);
  m.type = name(m.event.type());
  m.lsn = lsn;
  m.lsn_text = lsn_text;
  m.seq = seq;
  return m;
}

int64_t cents_of(const std::string& money) {
  auto c = pgcqrs::money_to_cents(money);
  if (!c) throw std::runtime_error("snapshot: amount " + money + " is not a 2-decimal number");
  return *c;
}

}  // namespace

std::string instant_sql(const std::string& col) {
  return "CASE WHEN isfinite(" + col + ") THEN ((EXTRACT(epoch FROM " + col +
         ") - " + std::to_string(pgcqrs::unix_to_pg_epoch_micros / 1000000) +
         ") * 1000000)::int8::text ELSE " + col + "::text END";
}

std::string instant_text(const std::string& value) {
  if (value == "infinity" || value == "-infinity") return value;
  return pgcqrs::format_timestamp(std::stoll(value));
}

StreamColumns::StreamColumns(pqxx::transaction_base& tx, const std::string& relation,
                             const std::vector<std::string>& columns) {
  std::set<std::string> instants;  // its timestamptz columns, asked once
  for (const auto& row : tx.exec("SELECT attname FROM pg_catalog.pg_attribute WHERE attrelid = " + tx.quote(relation) +
                                 "::regclass AND atttypid = 'timestamptz'::regtype AND attnum > 0 AND NOT attisdropped"))
    instants.insert(row[0].as<std::string>());
  for (const auto& column : columns) {
    const std::string c = tx.quote_name(column);
    instants_.push_back(instants.count(column) > 0);
    select_ += (select_.empty() ? "" : ", ") +
               (instants_.back() ? instant_sql(c) : "CASE WHEN " + c + " IS NOT NULL THEN format('%s', " + c + ") END");
  }
}

std::optional<std::string> StreamColumns::text(const pqxx::row& row, size_t i) const {
  const auto& f = row[static_cast<int>(i)];
  if (f.is_null()) return std::nullopt;
  return instants_[i] ? instant_text(f.as<std::string>()) : f.as<std::string>();
}

std::string extension_schema(pqxx::connection_base& conn) {
  pqxx::nontransaction tx(conn);
  auto r = tx.exec(
      "SELECT n.nspname FROM pg_catalog.pg_extension e JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace "
      "WHERE e.extname = 'pgcqrs'");
  if (r.empty())
    throw Failure(Server::postgresql, ErrorKind::permanent,
                  "extension pgcqrs is not installed in database " + std::string(conn.dbname()) +
                      ": run CREATE EXTENSION pgcqrs there, or point --pg at the right database");
  return r[0][0].as<std::string>();
}

namespace {

// UNLINKs the keys named and those each pattern matches (SCAN, 1,000 at a time; on a cluster,
// on every master).
uint64_t delete_keys(redis::Deployment& redis, const std::vector<std::string>& singles,
                     const std::vector<std::string>& patterns) {
  uint64_t deleted = 0;
  for (const auto& s : singles) deleted += static_cast<uint64_t>(redis.command(s, {"UNLINK", s})->integer);
  for (const auto& pattern : patterns) {
    if (!redis.single()) {
      deleted += redis.unlink(redis.scan(pattern));
      continue;
    }
    std::string cursor = "0";
    do {
      auto r = redis.single()->command({"SCAN", cursor, "MATCH", pattern, "COUNT", "1000"});
      if (r->type != REDIS_REPLY_ARRAY || r->elements != 2) throw redis::RedisError("unexpected SCAN reply");
      cursor = redis::reply_string(r->element[0]);
      const redisReply* keys = r->element[1];
      std::vector<std::string> found;
      for (size_t i = 0; i < keys->elements; ++i) found.push_back(redis::reply_string(keys->element[i]));
      deleted += redis.unlink(found);
    } while (cursor != "0");
  }
  return deleted;
}

// A registry's fields (keys.hpp, registry()).
std::vector<std::pair<std::string, std::string>> registry_of(redis::Deployment& redis, const std::string& key) {
  auto r = redis.command(key, {"HGETALL", key});
  std::vector<std::pair<std::string, std::string>> out;
  if (r->type != REDIS_REPLY_ARRAY) return out;
  for (size_t i = 0; i + 1 < r->elements; i += 2)
    out.emplace_back(redis::reply_string(r->element[i]), redis::reply_string(r->element[i + 1]));
  return out;
}

}  // namespace

uint64_t delete_generation(redis::Deployment& redis, const Keys& keys) {
  // The declarative models' hashes, named by their templates, which the registry holds.
  std::vector<std::string> patterns = keys.rebuild_patterns();
  for (const auto& plan : projection::plans_of(registry_of(redis, keys.registry())))
    patterns.push_back(scan_literal(keys.scope() + projection::key_stem(plan)) + "*");
  return delete_keys(redis, keys.rebuild_singles(), patterns);
}

uint64_t delete_every_generation(redis::Deployment& redis, const Keys& keys) {
  redis.command(keys.checkpoint(), {"DEL", keys.checkpoint()});
  // One pass over the prefix, each name told apart here: a pattern per family and generation
  // would make as many passes over the whole keyspace. A cluster's fences and intent go too:
  // they number batches from the checkpoint's count, which goes with it.
  const std::string fence_stem = keys.prefix() + "pgcqrs:fence:{", intent = cluster::intent_key(keys.prefix(), keys.checkpoint());
  // The declarative models' hashes, of every generation whose registry is left.
  std::vector<std::string> model_stems;
  const std::string registry = "pgcqrs:models";
  for (const auto& key : redis.scan(scan_literal(keys.prefix()) + "*" + registry)) {
    const std::string scope = key.substr(0, key.size() - registry.size());
    if (keys.names_read_model(key))
      for (const auto& plan : projection::plans_of(registry_of(redis, key)))
        model_stems.push_back(scope + projection::key_stem(plan));
  }
  auto ours = [&](const std::string& key) {
    if (keys.names_read_model(key) || key.rfind(fence_stem, 0) == 0 || key == intent) return true;
    for (const auto& stem : model_stems)
      if (key.rfind(stem, 0) == 0) return true;
    return false;
  };
  if (!redis.single()) {
    std::vector<std::string> found = redis.scan(keys.prefix() + "*");
    found.erase(std::remove_if(found.begin(), found.end(), [&](const std::string& k) { return !ours(k); }), found.end());
    return redis.unlink(found);
  }
  uint64_t deleted = 0;
  std::string cursor = "0";
  do {
    auto r = redis.single()->command({"SCAN", cursor, "MATCH", keys.prefix() + "*", "COUNT", "1000"});
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 2) throw redis::RedisError("unexpected SCAN reply");
    cursor = redis::reply_string(r->element[0]);
    std::vector<std::string> found;
    for (size_t i = 0; i < r->element[1]->elements; ++i) {
      std::string key = redis::reply_string(r->element[1]->element[i]);
      if (ours(key)) found.push_back(std::move(key));
    }
    deleted += redis.unlink(found);
  } while (cursor != "0");
  return deleted;
}

CopyStats copy_snapshot(pqxx::connection_base& conn, const std::string& snapshot_name, redis::Deployment& redis,
                        const Keys& keys, const std::string& slot, uint64_t consistent_point,
                        std::optional<uint64_t> retiring, int chunk_events,
                        const std::atomic<bool>* cancel, const ProgressFn& progress) {
  CopyStats stats;
  const std::string schema = extension_schema(conn);
  pqxx::nontransaction tx(conn);
  const std::string s = tx.quote_name(schema);
  tx.exec("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY");
  tx.exec("SET TRANSACTION SNAPSHOT " + tx.quote(snapshot_name));

  // Progress: the rows under the snapshot, counted first (a scan of each table, small beside
  // the copy), then reported about once a second.
  CopyProgress done;
  const auto t0 = std::chrono::steady_clock::now();
  auto last_report = t0;
  auto report = [&](bool force) {
    if (!progress) return;
    const auto now = std::chrono::steady_clock::now();
    if (!force && now - last_report < std::chrono::seconds(1)) return;
    last_report = now;
    done.copied = {stats.users, stats.products, stats.orders};
    done.seconds = std::chrono::duration<double>(now - t0).count();
    progress(done);
  };
  if (progress) {
    auto counts = tx.exec1("SELECT (SELECT count(*) FROM " + s + ".users), (SELECT count(*) FROM " + s +
                           ".products), (SELECT count(*) FROM " + s + ".orders)");
    for (size_t i = 0; i < done.expected.size(); ++i) done.expected[i] = counts[static_cast<int>(i)].as<uint64_t>();
    done.running = true;
    report(true);
  }

  const std::string lsn_text = pgcqrs::format_lsn(consistent_point);
  projection::AssemblerLimits limits;
  limits.max_events = static_cast<size_t>(chunk_events);
  projection::TransactionAssembler assembler(limits);
  Sender sender(redis, keys, slot, retiring, cancel);
  std::vector<ScriptCall> calls;
  int64_t seq = 0;

  auto feed = [&](Message&& m) {  // moved on: an event's texts are not copied
    std::string err = assembler.feed(std::move(m), calls);
    if (!err.empty()) throw std::runtime_error("snapshot framing: " + err);
    for (auto& c : calls) sender.send(std::move(c), projection::Projector::Mode::Snapshot);
    if (!calls.empty()) report(false);
    calls.clear();
  };
  Message begin;
  begin.kind = MessageKind::Begin;
  begin.lsn = consistent_point;
  begin.lsn_text = lsn_text;
  feed(std::move(begin));

  auto scan = [&](const std::string& name, const std::string& query, const std::function<void(const pqxx::row&)>& each) {
    tx.exec("DECLARE " + name + " NO SCROLL CURSOR FOR " + query);
    {
      Fetcher batches(tx, name);
      while (auto rows = batches.next())
        for (const auto& row : *rows) each(row);
    }
    tx.exec("CLOSE " + name);
  };

  scan("pgcqrs_products", "SELECT id, name, price::text, is_active FROM " + s + ".products ORDER BY id",
       [&](const pqxx::row& r) {
         feed(event(seq++,
                    ev::ProductAdded{r[0].as<int64_t>(), r[1].as<std::string>(), cents_of(r[2].as<std::string>()),
                                     r[3].as<bool>()},
                    consistent_point, lsn_text));
         ++stats.products;
       });

  // Each user, then her orders with their items, one order at a time: a user's keys are
  // written and read by her orders while the view still holds them, whatever the number of
  // users (in order id order, past the view's size every order read its user's keys back from
  // Redis, waiting for every write before it). An order's first chunk_events items ride in
  // its OrderPlaced, the rest follow as OrderItemAdded so every call stays bounded.
  std::string cur_user, cur_order;
  std::optional<ev::OrderPlaced> placed;  // the order being read, its lines so far
  auto flush_order = [&] {
    if (cur_order.empty() || !placed) return;
    feed(event(seq++, std::move(*placed), consistent_point, lsn_text));
    placed.reset();
    ++stats.orders;
  };
  scan("pgcqrs_users_orders",
       "SELECT u.id, u.name, u.email, u.is_active, o.id, o.status, " + instant_sql("o.created_at") + ", " +
           instant_sql("o.updated_at") + ", i.product_id, i.quantity, i.unit_price::text FROM " + s + ".users u LEFT JOIN " +
           s + ".orders o ON o.user_id = u.id LEFT JOIN " + s +
           ".order_items i ON i.order_id = o.id ORDER BY u.id, o.id, i.product_id",
       [&](const pqxx::row& r) {
         std::string uid = r[0].as<std::string>();
         if (uid != cur_user) {
           flush_order();
           cur_order.clear();
           cur_user = uid;
           feed(event(seq++, ev::UserRegistered{r[0].as<int64_t>(), r[1].as<std::string>(), r[2].as<std::string>(), r[3].as<bool>()},
                      consistent_point, lsn_text));
           ++stats.users;
         }
         if (r[4].is_null()) return;  // a user without orders
         std::string oid = r[4].as<std::string>();
         if (oid != cur_order) {
           flush_order();
           cur_order = oid;
           std::string created = instant_text(r[6].as<std::string>());
           auto score = projection::timestamp_score(created);
           if (!score) throw std::runtime_error("snapshot: order " + oid + " has an unreadable created_at " + created);
           placed = ev::OrderPlaced{r[4].as<int64_t>(), r[0].as<int64_t>(), r[5].as<std::string>(), created,
                                    instant_text(r[7].as<std::string>()), *score, {}};
         }
         if (r[8].is_null()) return;
         ++stats.items;
         const OrderLine line{r[8].as<int64_t>(), r[9].as<int64_t>(), cents_of(r[10].as<std::string>())};
         if (placed && placed->lines.size() < static_cast<size_t>(chunk_events)) {
           placed->lines.push_back(line);
         } else {
           if (placed) flush_order();
           cur_order = oid;  // flush_order above cleared only the pending event
           feed(event(seq++, ev::OrderItemAdded{r[4].as<int64_t>(), line}, consistent_point, lsn_text));
         }
       });
  flush_order();

  // Declarative read models (extension 1.1 on): every model's plan, then the rows of the
  // tables they read, once per table with the columns any of them reads, as the stream sends
  // a row; the tables no model is rooted in first, so that a root row finds its lookups
  // copied. Values as the stream's (docs/events.md, "Row events"): timestamptz in the
  // contract's UTC form, every other type as its output function prints it.
  auto emit = [&](projection::RowEvent&& e) {
    Message m;
    m.kind = MessageKind::Model;
    m.type = std::string(projection::type_name(e.kind));
    m.lsn = consistent_point;
    m.lsn_text = lsn_text;
    m.seq = e.seq = seq++;
    m.row = std::move(e);
    feed(std::move(m));
  };
  if (tx.exec1("SELECT to_regclass(" + tx.quote(s + ".read_models") + ") IS NOT NULL")[0].as<bool>()) {
    std::vector<std::pair<std::string, std::vector<std::string>>> tables;  // name -> columns read, roots last
    std::set<std::string> roots;
    for (const auto& model : tx.exec("SELECT name, plan::text FROM " + s + ".read_models ORDER BY name")) {
      projection::RowEvent registered;
      registered.kind = projection::RowEvent::Kind::Registered;
      registered.name = model[0].as<std::string>();
      registered.plan = model[1].as<std::string>();
      std::string error;
      const auto plan = projection::parse_plan(registered.name, registered.plan, error);
      if (!plan) throw std::runtime_error("snapshot: " + error);
      emit(std::move(registered));
      ++stats.models;
      roots.insert(plan->tables[0].name);
      for (const auto& t : plan->tables) {
        auto it = std::find_if(tables.begin(), tables.end(), [&](const auto& e) { return e.first == t.name; });
        if (it == tables.end()) it = tables.insert(tables.end(), {t.name, {}});
        for (const auto& c : t.reads)
          if (std::find(it->second.begin(), it->second.end(), c) == it->second.end()) it->second.push_back(c);
      }
    }
    std::stable_partition(tables.begin(), tables.end(), [&](const auto& t) { return !roots.count(t.first); });
    for (const auto& [table, columns] : tables) {
      const StreamColumns read(tx, table, columns);
      scan("pgcqrs_model_rows", "SELECT " + read.select() + " FROM " + table, [&](const pqxx::row& r) {
        projection::RowEvent row;
        row.kind = projection::RowEvent::Kind::Inserted;
        row.table = table;
        for (size_t c = 0; c < columns.size(); ++c) row.row.emplace_back(columns[c], read.text(r, c));
        emit(std::move(row));
        ++stats.model_rows;
      });
    }
  }
  tx.exec("COMMIT");

  Message commit;
  commit.kind = MessageKind::Commit;
  commit.lsn = consistent_point;
  commit.lsn_text = lsn_text;
  commit.events = seq;
  feed(std::move(commit));
  sender.drain();

  // The copy is complete: only now does Redis get a checkpoint.
  ScriptCall mark;
  mark.lsn = consistent_point;
  mark.lsn_text = lsn_text;
  mark.final = true;
  sender.send(std::move(mark), projection::Projector::Mode::Mark);
  sender.drain();
  stats.calls = sender.calls();
  stats.read_rounds = sender.read_rounds();
  done.running = false;
  report(true);
  return stats;
}

}  // namespace pgcqrs::sidecar::snapshot
