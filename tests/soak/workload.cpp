// pgcqrs-workload: a seeded random workload of concurrent writers doing everything the write
// model allows (and some of what it forbids, counting the clear errors), plus readers that
// check what must always hold inside one source transaction in Redis (torn reads).
// The same seed gives each writer the same sequence of choices.
#include <hiredis/hiredis.h>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "pgcqrs/core/decimal.hpp"
#include "pgcqrs/core/timestamp.hpp"
#include "pgcqrs/sidecar/redis/endpoint.hpp"
#include "pgcqrs/sidecar/redis/deployment.hpp"
#include "pgcqrs/sidecar/redis/sync_client.hpp"

namespace {

using Clock = std::chrono::steady_clock;

struct Settings {
  std::string pg;
  std::string redis;
  uint64_t seed = 1;
  int writers = 4;
  int readers = 1;
  long ops = 5000;          // per writer
  double duration_s = 0;    // if set, run until then instead of counting ops
  double rate = 0;          // ops per second per writer; 0: as fast as the database takes them
  int big_every = 2000;     // one transaction above logical_decoding_work_mem per this many ops
  int truncate_every = 0;   // 0: never
  // Readers: while this file exists, a Redis without read models is a fault the runner
  // caused (its data lost); any other time it is a gap that a rebuild left readers in.
  std::string gap_allowed_file;
};

// The wall-clock time as the event contract writes timestamps (UTC, ISO 8601), to match the
// sidecar's log.
std::string utc_now() {
  const auto us = std::chrono::duration_cast<std::chrono::microseconds>(
                      std::chrono::system_clock::now().time_since_epoch()).count();
  return pgcqrs::format_timestamp(us - pgcqrs::unix_to_pg_epoch_micros);
}

// Error classes the rules produce on purpose, the concurrency ones a retry handles, and
// those of a server restarted or a connection cut under the workload (fault injection).
bool expected_sqlstate(const std::string& s) {
  static const char* ok[] = {"23503", "23505", "23514", "CQ001", "CQ002", "CQ003", "CQ004",
                             "CQ005", "CQ006", "40P01", "40001", "55P03", "57P01", "57P02",
                             "57P03", "08000", "08003", "08006", "connection", "in_doubt"};
  for (const char* o : ok)
    if (s == o) return true;
  return false;
}

struct Stats {
  std::mutex mu;
  std::map<std::string, long> ops;
  std::map<std::string, long> errors;  // sqlstate -> count
  std::map<std::string, std::string> unexpected;
  long torn = 0, reads = 0, rebuilding = 0, gaps = 0;
  std::string first_gap, last_gap;  // UTC times of the gap reads, to find their cause in the logs
  std::vector<std::string> torn_examples;
  // Readers: Redis error replies by their first word (LOADING after a restart, BUSY during a
  // long projection call are what the faults cause; anything else fails the run), and lost
  // connections (Redis killed or restarted under the reader).
  std::map<std::string, long> redis_errors;
  std::map<std::string, std::string> unexpected_redis;
  long reader_reconnects = 0;

  void op(const std::string& kind) { std::lock_guard l(mu); ++ops[kind]; }
  void error(const std::string& kind, const std::string& state, const std::string& what) {
    std::lock_guard l(mu);
    ++errors[state];
    if (!expected_sqlstate(state)) unexpected[kind + " " + state] = what;
  }
};

std::atomic<int64_t> max_user{0}, max_product{0}, max_order{0};
std::atomic<bool> stop{false};

// The names of this run's two-phase transactions start with soak-SEED-.
std::string gid_seed_prefix(uint64_t seed) { return "soak-" + std::to_string(seed) + "-"; }

// A transaction left prepared by a cut connection or a restart holds its locks, and the slot's
// WAL, until someone ends it: commits those whose name starts with prefix (the write model
// decides what happened).
void commit_prepared(pqxx::connection& c, const std::string& prefix) {
  pqxx::nontransaction nt(c);
  for (auto row : nt.exec_params("SELECT gid FROM pg_prepared_xacts WHERE starts_with(gid, $1)", prefix))
    nt.exec0("COMMIT PREPARED " + nt.quote(row[0].as<std::string>()));
}

class Writer {
 public:
  Writer(const Settings& s, int index, Stats& stats)
      : s_(s), index_(index), stats_(stats), rng_(s.seed * 1000003 + index), conn_(std::make_unique<pqxx::connection>(s.pg)) {}

  void run() {
    try {
      run_ops();
    } catch (const std::exception& e) {
      stats_.error("writer", "exception", e.what());
    }
  }

 private:
  void run_ops() {
    const auto start = Clock::now();
    auto deadline = start + std::chrono::duration<double>(s_.duration_s);
    for (long n = 0; !stop; ++n) {
      if (s_.duration_s > 0 ? Clock::now() >= deadline : n >= s_.ops) break;
      if (s_.rate > 0)  // a pace, not a wait for a condition: op n starts n / rate seconds in
        std::this_thread::sleep_until(start + std::chrono::duration_cast<Clock::duration>(
                                                  std::chrono::duration<double>(static_cast<double>(n) / s_.rate)));
      if (s_.big_every > 0 && n % s_.big_every == s_.big_every / 2) {
        attempt("big_transaction", [&](pqxx::work& tx) { big_transaction(tx); });
      } else if (s_.truncate_every > 0 && index_ == 0 && n % s_.truncate_every == s_.truncate_every - 1) {
        attempt("truncate", [&](pqxx::work& tx) { tx.exec0("TRUNCATE order_items"); });
      } else {
        one_op();
      }
    }
  }

  int64_t pick(std::atomic<int64_t>& max) {
    int64_t m = max.load();
    return m <= 0 ? 1 : std::uniform_int_distribution<int64_t>(1, m)(rng_);
  }
  int roll(int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng_); }
  static void bump(std::atomic<int64_t>& max, int64_t v) {
    int64_t cur = max.load();
    while (v > cur && !max.compare_exchange_weak(cur, v)) {}
  }

  std::string odd_text(const char* base) {
    static const char* flavours[] = {"plain", "Zoë Ådne 日本語 ☕ 🙂", "O'Brien \"Bob\"", "tab\tnew\nline\r",
                                     "colon: {braces} [x]", "back\\slash", "\x01\x1f ctl"};
    std::string t = std::string(base) + " " + flavours[roll(7)] + " " + std::to_string(roll(100000));
    if (roll(3000) == 0) t += std::string(100 * 1024, 'L');  // stored out of line
    return t;
  }

  std::string items_json(int n) {
    std::string j = "[";
    std::vector<int64_t> seen;
    for (int i = 0; i < n; ++i) {
      int64_t p = pick(max_product);
      if (std::find(seen.begin(), seen.end(), p) != seen.end()) continue;
      seen.push_back(p);
      j += (j.size() > 1 ? "," : "") + std::string("{\"product_id\":") + std::to_string(p) +
           ",\"quantity\":" + std::to_string(1 + roll(5)) + "}";
    }
    return j + "]";
  }

  template <class Fn>
  void attempt(const std::string& kind, Fn&& fn) {
    stats_.op(kind);
    try {
      pqxx::work tx(*conn_);
      fn(tx);
      tx.commit();
    } catch (const pqxx::sql_error& e) {
      stats_.error(kind, e.sqlstate(), e.what());
    } catch (const pqxx::broken_connection& e) {
      stats_.error(kind, "connection", e.what());
      reconnect();
    } catch (const pqxx::in_doubt_error& e) {
      stats_.error(kind, "in_doubt", e.what());
      reconnect();
    } catch (const pqxx::failure& e) {
      // Any other libpq-level failure (a connection the server restart left unusable).
      stats_.error(kind, "connection", e.what());
      reconnect();
    }
  }

  void reconnect() {
    for (int i = 0; i < 100 && !stop; ++i) {
      try {
        conn_ = std::make_unique<pqxx::connection>(s_.pg);
        commit_prepared(*conn_, gid_prefix());
        return;
      } catch (const std::exception&) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));  // server restarting
      }
    }
  }

  // An email no other writer or run uses: TAG SEED-WRITER-N @ DOMAIN.
  std::string fresh_email(const char* tag, const char* domain) {
    return tag + std::to_string(s_.seed) + "-" + std::to_string(index_) + "-" + std::to_string(++emails_) + "@" + domain;
  }

  // This writer's two-phase transaction names: soak-SEED-WRITER-N.
  std::string gid_prefix() const { return gid_seed_prefix(s_.seed) + std::to_string(index_) + "-"; }

  // place_order in a two-phase transaction: PREPARE TRANSACTION, then COMMIT PREPARED (or, one
  // time in four, ROLLBACK PREPARED, which must reach no read model).
  void prepared_order() {
    const std::string kind = "prepared_order";
    stats_.op(kind);
    const std::string gid = gid_prefix() + std::to_string(++prepared_);
    const bool commit = roll(4) != 0;
    try {
      pqxx::nontransaction nt(*conn_);
      nt.exec0("BEGIN");
      try {
        place(nt);
        nt.exec0("PREPARE TRANSACTION " + nt.quote(gid));
      } catch (const pqxx::sql_error& e) {
        stats_.error(kind, e.sqlstate(), e.what());
        nt.exec0("ROLLBACK");
        return;
      }
      nt.exec0((commit ? "COMMIT PREPARED " : "ROLLBACK PREPARED ") + nt.quote(gid));
    } catch (const pqxx::sql_error& e) {
      stats_.error(kind, e.sqlstate(), e.what());
    } catch (const pqxx::failure& e) {
      stats_.error(kind, "connection", e.what());
      reconnect();
    }
  }

  void place(pqxx::transaction_base& tx) {
    auto r = tx.exec_params1("SELECT place_order($1, $2::jsonb)", pick(max_user), items_json(1 + roll(4)));
    bump(max_order, r[0].as<int64_t>());
  }

  void big_transaction(pqxx::work& tx) {
    for (int i = 0; i < 300; ++i) place(tx);
  }

  void one_op() {
    int r = roll(100);
    if (r < 20) return attempt("place_order", [&](pqxx::work& tx) { place(tx); });
    if (r < 25) return attempt("order_by_sql", [&](pqxx::work& tx) {
      auto o = tx.exec_params1("INSERT INTO orders (user_id) VALUES ($1) RETURNING id", pick(max_user))[0].as<int64_t>();
      bump(max_order, o);
      for (int i = 0, n = 1 + roll(3); i < n; ++i) {
        tx.exec0("SAVEPOINT item");
        try {
          tx.exec_params0("INSERT INTO order_items (order_id, product_id, quantity) VALUES ($1, $2, $3)", o,
                          pick(max_product), 1 + roll(9));
          tx.exec0(roll(4) == 0 ? "ROLLBACK TO SAVEPOINT item" : "RELEASE SAVEPOINT item");
        } catch (const pqxx::sql_error& e) {
          stats_.error("order_by_sql item", e.sqlstate(), e.what());
          tx.exec0("ROLLBACK TO SAVEPOINT item");
        }
      }
    });
    if (r < 29) return attempt("add_item", [&](pqxx::work& tx) {
      tx.exec_params0("INSERT INTO order_items (order_id, product_id, quantity) VALUES ($1, $2, $3)",
                      pick(max_order), pick(max_product), 1 + roll(9));
    });
    if (r < 31) return attempt("merge_item", [&](pqxx::work& tx) {
      // MERGE: a line's quantity set if the order has the product, the line added if not.
      tx.exec_params0(
          "MERGE INTO order_items t USING (VALUES ($1::bigint, $2::bigint, $3::int)) AS s(o, p, q) "
          "ON t.order_id = s.o AND t.product_id = s.p "
          "WHEN MATCHED THEN UPDATE SET quantity = s.q "
          "WHEN NOT MATCHED THEN INSERT (order_id, product_id, quantity) VALUES (s.o, s.p, s.q)",
          pick(max_order), pick(max_product), 1 + roll(9));
    });
    if (r < 36) return attempt("change_item", [&](pqxx::work& tx) {
      tx.exec_params0(
          "UPDATE order_items SET quantity = $3 WHERE order_id = $1 AND product_id = "
          "(SELECT min(product_id) FROM order_items WHERE order_id = $1 AND product_id >= $2)",
          pick(max_order), pick(max_product), 1 + roll(9));
    });
    if (r < 39) return attempt("remove_item", [&](pqxx::work& tx) {
      tx.exec_params0("DELETE FROM order_items WHERE order_id = $1 AND product_id = "
                      "(SELECT min(product_id) FROM order_items WHERE order_id = $1)", pick(max_order));
    });
    if (r < 49) return attempt("advance_status", [&](pqxx::work& tx) {
      tx.exec_params0(
          "UPDATE orders SET status = CASE status WHEN 'pending' THEN 'paid' WHEN 'paid' THEN 'shipped' "
          "WHEN 'shipped' THEN 'delivered' ELSE status END WHERE id = $1", pick(max_order));
    });
    if (r < 52) return attempt("cancel", [&](pqxx::work& tx) {
      tx.exec_params0("UPDATE orders SET status = 'cancelled' WHERE id = $1 AND status IN ('pending', 'paid')",
                      pick(max_order));
    });
    if (r < 54) return attempt("forbidden_transition", [&](pqxx::work& tx) {
      tx.exec_params0("UPDATE orders SET status = 'pending' WHERE id = $1 AND status <> 'pending'", pick(max_order));
    });
    if (r < 57) return attempt("delete_order", [&](pqxx::work& tx) {
      tx.exec_params0("DELETE FROM orders WHERE id = $1", pick(max_order));
    });
    if (r < 60) return attempt("register_user", [&](pqxx::work& tx) {
      auto id = tx.exec_params1("INSERT INTO users (name, email) VALUES ($1, $2) RETURNING id", odd_text("user"),
                                fresh_email("w", "example.com"))[0].as<int64_t>();
      bump(max_user, id);
    });
    if (r < 62) return attempt("upsert_user", [&](pqxx::work& tx) {
      // INSERT ... ON CONFLICT: an existing user's email renames that user, a new one registers.
      auto id = tx.exec_params1(
          "INSERT INTO users (name, email) SELECT $2, coalesce((SELECT email FROM users WHERE id = $1), $3) "
          "ON CONFLICT (email) DO UPDATE SET name = EXCLUDED.name RETURNING id",
          pick(max_user), odd_text("upserted"), fresh_email("u", "example.com"))[0].as<int64_t>();
      bump(max_user, id);
    });
    if (r < 66) return attempt("rename_user", [&](pqxx::work& tx) {
      tx.exec_params0("UPDATE users SET name = $2 WHERE id = $1", pick(max_user), odd_text("renamed"));
    });
    if (r < 68) return attempt("change_email", [&](pqxx::work& tx) {
      tx.exec_params0("UPDATE users SET email = $2 WHERE id = $1", pick(max_user), fresh_email("e", "example.org"));
    });
    if (r < 71) return attempt("toggle_user", [&](pqxx::work& tx) {
      tx.exec_params0("UPDATE users SET is_active = $2 WHERE id = $1", pick(max_user), roll(10) < 7);
    });
    if (r < 72) return attempt("delete_user", [&](pqxx::work& tx) {
      tx.exec_params0("DELETE FROM users WHERE id = $1", pick(max_user));
    });
    if (r < 73) return attempt("add_product", [&](pqxx::work& tx) {
      auto id = tx.exec_params1("INSERT INTO products (name, price) VALUES ($1, $2::numeric / 100) RETURNING id",
                                odd_text("product"), roll(100000))[0].as<int64_t>();
      bump(max_product, id);
    });
    if (r < 74) return attempt("copy_products", [&](pqxx::work& tx) {
      // COPY FROM: a few products in one statement, names with tabs, newlines and backslashes.
      pqxx::stream_to copy(tx, "products", std::vector<std::string>{"name", "price"});
      for (int i = 0, n = 1 + roll(3); i < n; ++i) {
        std::string name = odd_text("copied");
        copy << std::make_tuple(name, std::to_string(roll(100000)) + "e-2");
      }
      copy.complete();
      bump(max_product, tx.exec1("SELECT max(id) FROM products")[0].as<int64_t>());
    });
    if (r < 77) return attempt("rename_product", [&](pqxx::work& tx) {
      tx.exec_params0("UPDATE products SET name = $2 WHERE id = $1", pick(max_product), odd_text("renamed"));
    });
    if (r < 81) return attempt("reprice_product", [&](pqxx::work& tx) {
      tx.exec_params0("UPDATE products SET price = $2::numeric / 100 WHERE id = $1", pick(max_product), roll(100000));
    });
    if (r < 84) return attempt("toggle_product", [&](pqxx::work& tx) {
      tx.exec_params0("UPDATE products SET is_active = $2 WHERE id = $1", pick(max_product), roll(10) < 7);
    });
    if (r < 85) return attempt("delete_product", [&](pqxx::work& tx) {
      tx.exec_params0("DELETE FROM products WHERE id = $1", pick(max_product));
    });
    if (r < 88) {
      // Work that is rolled back must never reach the read model.
      stats_.op("rolled_back");
      try {
        pqxx::work tx(*conn_);
        place(tx);
        tx.exec_params0("UPDATE users SET name = 'ROLLED BACK' WHERE id = $1", pick(max_user));
        tx.abort();
      } catch (const pqxx::sql_error& e) {
        stats_.error("rolled_back", e.sqlstate(), e.what());
      } catch (const pqxx::failure& e) {
        stats_.error("rolled_back", "connection", e.what());
        reconnect();
      }
      return;
    }
    if (r < 91) return attempt("savepoints", [&](pqxx::work& tx) {
      place(tx);
      tx.exec0("SAVEPOINT a");
      tx.exec_params0("UPDATE products SET name = 'SAVEPOINT ROLLED BACK' WHERE id = $1", pick(max_product));
      tx.exec0("ROLLBACK TO SAVEPOINT a");
      tx.exec_params0("UPDATE orders SET status = 'paid' WHERE id = $1 AND status = 'pending'", pick(max_order));
    });
    if (r < 93) return attempt("forbidden_immutable", [&](pqxx::work& tx) {
      tx.exec_params0("UPDATE orders SET user_id = user_id + 1 WHERE id = $1", pick(max_order));
    });
    if (r < 95) return attempt("forbidden_item_change", [&](pqxx::work& tx) {
      tx.exec_params0("UPDATE order_items SET quantity = quantity + 1 WHERE order_id = "
                      "(SELECT min(id) FROM orders WHERE status = 'delivered' AND id >= $1)", pick(max_order));
    });
    if (r < 97) return attempt("forbidden_place_order", [&](pqxx::work& tx) {
      tx.exec_params("SELECT place_order($1, '[{\"product_id\": 1, \"quantity\": 0}]')", pick(max_user));
    });
    if (r < 98) return attempt("app_messages", [&](pqxx::work& tx) {
      // Application events, good and malformed: they must change no read model.
      static const char* payloads[] = {R"({"type":"CartAbandoned","cart":1})", R"({"type":)", "not json",
                                       R"({"type":"OrderPlaced","order_id":1})", ""};
      tx.exec_params("SELECT pg_logical_emit_message(true, 'pgcqrs', $1)", std::string(payloads[roll(5)]));
      tx.exec_params0("UPDATE users SET name = $2 WHERE id = $1", pick(max_user), odd_text("messaged"));
    });
    if (r < 99) return prepared_order();
    return attempt("multi_order_transaction", [&](pqxx::work& tx) {
      for (int i = 0, n = 2 + roll(4); i < n; ++i) place(tx);
    });
  }

  const Settings& s_;
  int index_;
  Stats& stats_;
  std::mt19937_64 rng_;
  std::unique_ptr<pqxx::connection> conn_;  // replaced when the server restarts
  long emails_ = 0;
  long prepared_ = 0;
};

// Torn-read checks: one atomic Redis read per check (a read-only script), so what it sees is
// one state of the read model, of the generation readers read, which must be internally
// consistent. A Redis without pgcqrs:checkpoint holds no valid read model (its first copy is
// under way): nothing to check. Keys of layout 4: the family, the id's bucket (id mod 64) as a
// hash tag, the id (`order_details:{42}:42`).
const char* check_script = R"(
if redis.call('EXISTS', 'pgcqrs:checkpoint') == 0 then return {'rebuilding'} end
local g = redis.call('HGET', 'pgcqrs:checkpoint', 'generation')
local p = ''
if g and g ~= '0' then p = 'g' .. g .. ':' end
local function key(family, id) return p .. family .. '{' .. (tonumber(id) % 64) .. '}:' .. id end
local o = redis.call('HMGET', key('order_details:', ARGV[1]), 'item_count', 'total', 'items')
local listed = redis.call('ZRANGE', key('user_orders:', ARGV[2]), 0, -1)
local missing = {}
for _, id in ipairs(listed) do
  if redis.call('EXISTS', key('order_details:', id)) == 0 then missing[#missing + 1] = id end
end
return {o[1] or '', o[2] or '', o[3] or '', table.concat(missing, ',')}
)";

// What one torn-read check found: no read models (a first copy under way), or the problem of
// the state it read ("" when consistent).
struct Check {
  bool rebuilding = false;
  std::string problem;
};

std::string tagged(const std::string& family, int64_t id) {
  return family + "{" + std::to_string(id % 64) + "}:" + std::to_string(id);  // ids from 1
}

// An order's hash must agree with itself: its item count and total with its lines, each line's
// total with its price and quantity.
std::string order_problem(int64_t o, const std::string& count, const std::string& total, const std::string& items) {
  if (items.empty()) return "";
  auto j = nlohmann::json::parse(items, nullptr, false);
  auto sum = pgcqrs::Decimal::parse("0.00");
  bool lines_ok = j.is_array();
  if (lines_ok) {
    for (const auto& it : j) {
      auto price = pgcqrs::Decimal::parse(it.value("unit_price", ""));
      auto line = pgcqrs::Decimal::parse(it.value("line_total", ""));
      if (!price || !line || price->times(it.value("quantity", 0))->to_string() != line->to_string()) lines_ok = false;
      if (line && sum) sum = sum->plus(*line);
    }
  }
  if (!lines_ok || std::to_string(j.size()) != count || !sum || sum->to_string() != total)
    return tagged("order_details:", o) + " item_count " + count + " total " + total + " items " + items;
  return "";
}

// One Redis: the script above, one state of the whole read model.
Check check_one_redis(pgcqrs::sidecar::redis::SyncClient& r, int64_t o, int64_t u) {
  namespace redis = pgcqrs::sidecar::redis;
  auto reply = r.command({"EVAL", check_script, "0", std::to_string(o), std::to_string(u)}, true);
  if (reply->type == REDIS_REPLY_ERROR)
    throw redis::RedisError(redis::describe_reply_error(reply.get()), redis::reply_error_code(reply.get()));
  if (reply->type == REDIS_REPLY_ARRAY && reply->elements == 1 && redis::reply_string(reply->element[0]) == "rebuilding")
    return {true, ""};
  if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 4)
    throw std::runtime_error("the check script answered something else than 4 values");
  const std::string missing = redis::reply_string(reply->element[3]);
  if (!missing.empty()) return {false, tagged("user_orders:", u) + " lists missing orders " + missing};
  return {false, order_problem(o, redis::reply_string(reply->element[0]), redis::reply_string(reply->element[1]),
                               redis::reply_string(reply->element[2]))};
}

// A Redis Cluster: no call spans buckets, and buckets may differ by the batch under way
// (docs/scale-out.md), so each bucket is checked in itself: the order's hash, then in one
// transaction the user's bucket, where her hash's order count, her index of orders and her
// page (its 10 newest, in order) must agree.
Check check_cluster(pgcqrs::sidecar::redis::ClusterClient& c, int64_t o, int64_t u) {
  namespace redis = pgcqrs::sidecar::redis;
  auto cp = c.command("pgcqrs:checkpoint", {"HMGET", "pgcqrs:checkpoint", "lsn", "generation"});
  if (cp->type != REDIS_REPLY_ARRAY || cp->elements != 2) throw std::runtime_error("HMGET of the checkpoint: not 2 values");
  if (cp->element[0]->type == REDIS_REPLY_NIL) return {true, ""};
  const std::string g = redis::reply_string(cp->element[1]);
  const std::string p = g.empty() || g == "0" ? "" : "g" + g + ":";
  const std::string order = p + tagged("order_details:", o);
  auto h = c.command(order, {"HMGET", order, "item_count", "total", "items"});
  if (h->type != REDIS_REPLY_ARRAY || h->elements != 3) throw std::runtime_error("HMGET of an order: not 3 values");
  if (std::string problem = order_problem(o, redis::reply_string(h->element[0]), redis::reply_string(h->element[1]),
                                          redis::reply_string(h->element[2]));
      !problem.empty())
    return {false, problem};
  const std::string user = p + tagged("user:", u), index = p + tagged("user_orders:", u),
                    page = p + tagged("user_latest:", u);
  auto x = c.transaction(user, {{"HGET", user, "order_count"}, {"ZREVRANGE", index, "0", "9"}, {"ZCARD", index},
                                {"LRANGE", page, "0", "-1"}});
  if (x->type != REDIS_REPLY_ARRAY || x->elements != 4) throw std::runtime_error("EXEC of a user's bucket: not 4 replies");
  const std::string count = redis::reply_string(x->element[0]);
  const std::string cardinality = std::to_string(x->element[2]->integer);
  std::string newest, listed;
  for (size_t i = 0; i < x->element[1]->elements; ++i) newest += redis::reply_string(x->element[1]->element[i]) + ",";
  for (size_t i = 0; i < x->element[3]->elements; ++i) {
    auto j = nlohmann::json::parse(redis::reply_string(x->element[3]->element[i]), nullptr, false);
    listed += (j.is_object() && j.contains("order_id") ? j["order_id"].dump() : "?") + ",";
  }
  // A rebuild that switched generations meanwhile may be deleting what was read: read again.
  auto after = c.command("pgcqrs:checkpoint", {"HGET", "pgcqrs:checkpoint", "generation"});
  if (redis::reply_string(after.get()) != g) return check_cluster(c, o, u);
  if ((count.empty() ? "0" : count) != cardinality || newest != listed)
    return {false, user + " order_count " + (count.empty() ? "(none)" : count) + ", " + index + " holds " + cardinality +
                       " (newest " + newest + "), " + page + " lists " + listed};
  return {false, ""};
}

void reader(const Settings& s, const pgcqrs::sidecar::redis::Endpoint& ep, int index, Stats& stats) {
  namespace redis = pgcqrs::sidecar::redis;
  std::mt19937_64 rng(s.seed * 7919 + index);
  std::optional<redis::Deployment> r;
  while (!stop) {
    try {
      if (!r) r.emplace(ep, 2000);
      int64_t o = std::uniform_int_distribution<int64_t>(1, std::max<int64_t>(1, max_order.load()))(rng);
      int64_t u = std::uniform_int_distribution<int64_t>(1, std::max<int64_t>(1, max_user.load()))(rng);
      auto gap_allowed = [&] { return !s.gap_allowed_file.empty() && std::filesystem::exists(s.gap_allowed_file); };
      const bool allowed_before = gap_allowed();  // the fault's window may open or close meanwhile
      Check check;
      try {
        check = r->cluster() ? check_cluster(*r->cluster_client(), o, u) : check_one_redis(*r->single(), o, u);
      } catch (const redis::RedisError& e) {
        if (e.code.empty()) throw;  // no reply: the connection (below)
        std::lock_guard l(stats.mu);
        ++stats.redis_errors[e.code];
        // What a restart (LOADING), a long call (BUSY) or, on a cluster, a failover or a slot
        // migrating cause; anything else fails the run.
        static const std::set<std::string> expected = {"LOADING", "BUSY", "CLUSTERDOWN", "MASTERDOWN", "TRYAGAIN"};
        if (!expected.count(e.code)) stats.unexpected_redis[e.code] = e.what();
        continue;
      }
      if (check.rebuilding) {
        const bool allowed = allowed_before || gap_allowed();
        std::lock_guard l(stats.mu);
        ++stats.rebuilding;
        if (!allowed) {
          ++stats.gaps;
          stats.last_gap = utc_now();
          if (stats.first_gap.empty()) stats.first_gap = stats.last_gap;
        }
        continue;
      }
      std::lock_guard l(stats.mu);
      ++stats.reads;
      if (!check.problem.empty()) {
        ++stats.torn;
        if (stats.torn_examples.size() < 5) stats.torn_examples.push_back(check.problem);
      }
    } catch (const redis::RedisError&) {
      // Redis killed, restarting or paused (a fault the caller injects): counted, read again.
      r.reset();
      {
        std::lock_guard l(stats.mu);
        ++stats.reader_reconnects;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    } catch (const std::exception& e) {
      std::lock_guard l(stats.mu);
      stats.unexpected_redis["exception"] = e.what();
      return;
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  Settings s;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i], v = argv[i + 1];
    if (k == "--pg") s.pg = v;
    else if (k == "--redis") s.redis = v;
    else if (k == "--seed") s.seed = std::stoull(v);
    else if (k == "--writers") s.writers = std::stoi(v);
    else if (k == "--readers") s.readers = std::stoi(v);
    else if (k == "--ops") s.ops = std::stol(v);
    else if (k == "--duration") s.duration_s = std::stod(v);
    else if (k == "--rate") s.rate = std::stod(v);
    else if (k == "--big-every") s.big_every = std::stoi(v);
    else if (k == "--truncate-every") s.truncate_every = std::stoi(v);
    else if (k == "--gap-allowed-file") s.gap_allowed_file = v;
    else {
      std::cerr << "pgcqrs-workload: unknown option " << k << "\n";
      return 2;
    }
  }
  std::optional<pgcqrs::sidecar::redis::Endpoint> endpoint;
  if (s.redis.empty()) {
    s.readers = 0;
  } else {
    auto parsed = pgcqrs::sidecar::redis::parse_endpoint(s.redis);
    if (!parsed.endpoint) {
      std::cerr << "pgcqrs-workload: --redis " << s.redis << ": " << parsed.error << "\n";
      return 2;
    }
    endpoint = *parsed.endpoint;
  }
  std::cout << "workload: seed " << s.seed << ", " << s.writers << " writers, " << s.readers << " readers" << std::endl;

  try {
    pqxx::connection c(s.pg);
    pqxx::work tx(c);
    // A small catalogue to start from, so the first orders have something to buy.
    tx.exec0("INSERT INTO users (name, email) SELECT 'seed user ' || g, 'seed-' || g || '-' || "
             "floor(random() * 1e9) || '@example.com' FROM generate_series(1, 20) g");
    tx.exec0("INSERT INTO products (name, price) SELECT 'seed product ' || g, g * 1.25 FROM generate_series(1, 20) g");
    auto r = tx.exec1("SELECT (SELECT max(id) FROM users), (SELECT max(id) FROM products), "
                      "(SELECT coalesce(max(id), 0) FROM orders)");
    max_user = r[0].as<int64_t>();
    max_product = r[1].as<int64_t>();
    max_order = r[2].as<int64_t>();
    tx.commit();
  } catch (const std::exception& e) {
    std::cerr << "pgcqrs-workload: cannot prepare the write model: " << e.what() << "\n";
    return 2;
  }

  Stats stats;
  std::vector<std::thread> threads;
  std::vector<std::thread> read_threads;
  for (int i = 0; i < s.readers; ++i) read_threads.emplace_back(reader, std::cref(s), std::cref(*endpoint), i, std::ref(stats));
  auto start = Clock::now();
  for (int i = 0; i < s.writers; ++i)
    threads.emplace_back([&, i] {
      try {
        Writer(s, i, stats).run();
      } catch (const std::exception& e) {
        stats.error("writer", "exception", e.what());
      }
    });
  for (auto& t : threads) t.join();
  double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  // A writer whose server was down when it stopped may have left a transaction prepared.
  for (int i = 0; i < 100; ++i) {
    try {
      pqxx::connection c(s.pg);
      commit_prepared(c, gid_seed_prefix(s.seed));
      break;
    } catch (const std::exception&) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));  // server restarting
    }
  }
  stop = true;
  for (auto& t : read_threads) t.join();

  long total = 0, errors = 0;
  for (auto& [k, n] : stats.ops) total += n;
  for (auto& [k, n] : stats.errors) errors += n;
  std::cout << "workload: " << total << " operations in " << seconds << " s, " << errors
            << " refused with a clear error, " << stats.reads << " torn-read checks, " << stats.torn << " torn ("
            << stats.rebuilding << " reads found a rebuild in progress)\n";
  // One line for the runner to check exactly: checks made, torn, rebuilding, reconnects, and
  // the reads that found no read model outside the runner's data-loss fault.
  std::cout << "reads: checked " << stats.reads << " torn " << stats.torn << " rebuilding " << stats.rebuilding
            << " reconnects " << stats.reader_reconnects << " gaps " << stats.gaps << "\n";
  if (stats.gaps > 0) std::cout << "gap reads: from " << stats.first_gap << " to " << stats.last_gap << "\n";
  for (auto& [k, n] : stats.redis_errors) std::cout << "  redis error " << k << " " << n << "\n";
  for (auto& [k, what] : stats.unexpected_redis) std::cout << "  UNEXPECTED redis " << k << ": " << what << "\n";
  for (auto& [k, n] : stats.ops) std::cout << "  op " << k << " " << n << "\n";
  for (auto& [k, n] : stats.errors) std::cout << "  error " << k << " " << n << "\n";
  for (auto& ex : stats.torn_examples) std::cout << "  TORN " << ex << "\n";
  for (auto& [k, what] : stats.unexpected) std::cout << "  UNEXPECTED " << k << ": " << what << "\n";
  if (!stats.unexpected.empty() || !stats.unexpected_redis.empty() || stats.torn > 0) {
    std::cout << "workload: FAILED; reproduce with --seed " << s.seed << "\n";
    return 1;
  }
  return 0;
}
