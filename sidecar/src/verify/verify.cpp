// The oracle's I/O: one REPEATABLE READ snapshot of the write model, a SCAN of the read
// models (of one Redis, or of every master of a Redis Cluster), and the comparison of
// model.hpp.
#include "pgcqrs/sidecar/verify/verify.hpp"

#include <hiredis/hiredis.h>
#include <pqxx/pqxx>

#include <chrono>
#include <iostream>
#include <set>
#include <thread>

#include "pgcqrs/sidecar/checkpoint.hpp"
#include "pgcqrs/sidecar/failure.hpp"
#include "pgcqrs/sidecar/keys.hpp"
#include "pgcqrs/sidecar/pg_connect.hpp"
#include "pgcqrs/sidecar/projection/model_plan.hpp"
#include "pgcqrs/sidecar/redis/deployment.hpp"
#include "pgcqrs/sidecar/snapshot/snapshot_copy.hpp"
#include "pgcqrs/sidecar/verify/model.hpp"
#include "pgcqrs/core/lsn.hpp"

namespace pgcqrs::sidecar::verify {
namespace {

using Keyed = redis::Deployment::Keyed;

uint64_t lsn_or_throw(const std::string& text) {
  auto lsn = parse_lsn(text);
  if (!lsn) throw std::runtime_error("not an LSN: " + text);
  return *lsn;
}

// The checkpoint's fields (empty: none). Redis answers BUSY while a long projection call
// runs (a TRUNCATE or UserDeleted over many orders is one call) and LOADING while it reads its
// data after a restart: with `busy` given, that is "not yet" (*busy set), not an error.
Fields checkpoint_of(redis::Deployment& r, const Keys& keys, bool* busy = nullptr) {
  auto reply = r.command(keys.checkpoint(), {"HGETALL", keys.checkpoint()}, busy != nullptr);
  if (reply->type == REDIS_REPLY_ERROR) {
    std::string error = redis::reply_string(reply.get());
    if (error.rfind("BUSY", 0) != 0 && error.rfind("LOADING", 0) != 0)
      throw std::runtime_error("Redis HGETALL " + keys.checkpoint() + " failed: " + redis::describe_reply_error(reply.get()));
    *busy = true;
    return {};
  }
  Fields f;
  for (size_t i = 0; i + 1 < reply->elements; i += 2)
    f[redis::reply_string(reply->element[i])] = redis::reply_string(reply->element[i + 1]);
  return f;
}

std::optional<uint64_t> lsn_of(const Fields& checkpoint) {
  auto it = checkpoint.find("lsn");
  return it == checkpoint.end() ? std::nullopt : parse_lsn(it->second);
}

// A declarative read model (docs/read-models.md): its plan, and the hashes its view implies,
// named without the prefix and the generation.
struct Declared {
  projection::ModelPlan plan;
  Model expected;
};

// Every registered model's view, read in the write model's snapshot.
std::vector<Declared> read_declared(pqxx::transaction_base& tx, const std::string& s) {
  std::vector<Declared> out;
  if (!tx.exec1("SELECT to_regclass(" + tx.quote(s + "read_models") + ") IS NOT NULL")[0].as<bool>()) return out;  // extension 1.0
  for (const auto& m : tx.exec("SELECT name, view::text, plan::text FROM " + s + "read_models ORDER BY name")) {
    std::string error;
    auto plan = projection::parse_plan(m[0].as<std::string>(), m[2].as<std::string>(), error);
    if (!plan) throw std::runtime_error(error);
    // Each column as the model holds it, which is as the stream sends it; NULL: no field.
    std::vector<std::string> names;
    for (const auto& c : plan->columns) names.push_back(c.name);
    const snapshot::StreamColumns read(tx, m[1].as<std::string>(), names);
    // The model's key (the root's primary key, or the group), from the view's columns that
    // carry it.
    std::vector<std::string> key;
    for (const auto& k : plan->key_columns())
      for (const auto& c : plan->columns)
        if (c.table == 0 && c.column == k && c.aggregate == projection::ModelPlan::Column::Aggregate::None) {
          key.push_back(c.name);
          break;
        }
    Declared d{std::move(*plan), {}};
    for (const auto& row : tx.exec("SELECT " + read.select() + " FROM " + m[1].as<std::string>())) {
      projection::RowValues values;
      KeyValue kv;
      kv.type = KeyValue::Type::Hash;
      for (size_t i = 0; i < names.size(); ++i) {
        auto value = read.text(row, i);
        if (!value) continue;
        values.emplace_back(names[i], *value);
        kv.hash[names[i]] = std::move(*value);
      }
      const auto id = projection::identity(values, key);
      if (!id) throw std::runtime_error("read model " + d.plan.name + ": a row of its view has no key");
      if (const auto ranked = kv.hash.find(d.plan.rank); !d.plan.rank.empty() && ranked != kv.hash.end()) {
        if (const auto score = projection::rank_score(ranked->second)) {
          auto& set = d.expected[projection::rank_key(d.plan, "", projection::identity_bucket(*id))];
          set.type = KeyValue::Type::ZSet;
          set.zset[*id] = *score;
        }
      }
      d.expected[projection::model_key(d.plan, "", *id)] = std::move(kv);
    }
    out.push_back(std::move(d));
  }
  return out;
}

// The hashes of a declarative model in Redis, named without stem (the prefix and generation).
Model read_declared_hashes(redis::Deployment& r, const std::string& stem, const projection::ModelPlan& plan) {
  Model m;
  const auto keys = r.scan(scan_literal(stem + projection::key_stem(plan)) + "*");
  // A ranked model's sorted sets are named like its hashes, without the values after the bucket.
  std::set<std::string> ranks;
  if (!plan.rank.empty())
    for (int b = 0; b < Keys::kBuckets; ++b) ranks.insert(projection::rank_key(plan, stem, b));
  constexpr size_t batch = 500;
  for (size_t start = 0; start < keys.size(); start += batch) {
    Keyed reads;
    for (size_t i = start; i < std::min(keys.size(), start + batch); ++i) {
      if (ranks.count(keys[i]))
        reads.push_back({keys[i], {"ZRANGE", keys[i], "0", "-1", "WITHSCORES"}});
      else
        reads.push_back({keys[i], {"HGETALL", keys[i]}});
    }
    auto replies = r.pipeline(reads);
    for (size_t i = 0; i < replies.size(); ++i) {
      const auto& reply = replies[i];
      KeyValue kv;
      if (reply->type == REDIS_REPLY_ARRAY) {
        if (reply->elements == 0) continue;  // deleted between SCAN and now
        const bool ranked = ranks.count(keys[start + i]) > 0;
        kv.type = ranked ? KeyValue::Type::ZSet : KeyValue::Type::Hash;
        for (size_t k = 0; k + 1 < reply->elements; k += 2)
          (ranked ? kv.zset : kv.hash)[redis::reply_string(reply->element[k])] =
              redis::reply_string(reply->element[k + 1]);
      }
      m[keys[start + i].substr(stem.size())] = std::move(kv);
    }
  }
  return m;
}

WriteModel read_write_model(pqxx::connection_base& conn, std::vector<Declared>& declared) {
  WriteModel wm;
  pqxx::work tx(conn);
  tx.exec0("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY");
  auto schema_rows = tx.exec("SELECT quote_ident(extnamespace::regnamespace::text) FROM pg_extension WHERE extname = 'pgcqrs'");
  if (schema_rows.empty()) throw std::runtime_error("the pgcqrs extension is not installed in this database");
  std::string s = schema_rows[0][0].as<std::string>() + ".";
  // Timestamps as the contract prints them (snapshot_copy.hpp, instant_sql).
  const auto ts = snapshot::instant_sql;
  for (auto row : tx.exec("SELECT id, name, email, is_active FROM " + s + "users"))
    wm.users.push_back({row[0].as<int64_t>(), row[1].as<std::string>(), row[2].as<std::string>(), row[3].as<bool>()});
  for (auto row : tx.exec("SELECT id, name, price::text, is_active FROM " + s + "products"))
    wm.products.push_back({row[0].as<int64_t>(), row[1].as<std::string>(), row[2].as<std::string>(), row[3].as<bool>()});
  for (auto row : tx.exec("SELECT id, user_id, status, " + ts("created_at") + ", " + ts("updated_at") +
                          ", CASE WHEN isfinite(created_at) THEN floor(extract(epoch FROM created_at) * 1000)::bigint END"
                          " FROM " + s + "orders")) {
    OrderRow o{row[0].as<int64_t>(), row[1].as<int64_t>(), row[2].as<std::string>(),
               snapshot::instant_text(row[3].as<std::string>()), snapshot::instant_text(row[4].as<std::string>()),
               std::nullopt};
    if (!row[5].is_null()) o.created_ms = row[5].as<int64_t>();
    wm.orders.push_back(std::move(o));
  }
  for (auto row : tx.exec("SELECT order_id, product_id, quantity, unit_price::text FROM " + s + "order_items"))
    wm.items.push_back({row[0].as<int64_t>(), row[1].as<int64_t>(), row[2].as<int64_t>(), row[3].as<std::string>()});
  declared = read_declared(tx, s);
  tx.commit();
  return wm;
}

// The logical slots of this database that decode with pgcqrs: the checkpoint names one.
std::set<std::string> pgcqrs_slots(pqxx::connection_base& conn) {
  std::set<std::string> slots;
  pqxx::nontransaction tx(conn);
  for (auto row : tx.exec("SELECT slot_name FROM pg_catalog.pg_replication_slots "
                          "WHERE plugin = 'pgcqrs' AND database = current_database()"))
    slots.insert(row[0].as<std::string>());
  return slots;
}

// The read-model families as the layout names them (the oracle's own list, not the sidecar's).
constexpr const char* kPatterns[] = {"order_details:*", "user_orders:*",   "user_latest:*",      "user:*",
                                     "product:*",       "order_items:*",   "product_orders:*",   "top_products:*",
                                     "pgcqrs:users:*",  "pgcqrs:products:*", "top_products",     "pgcqrs:users",
                                     "pgcqrs:products", "pgcqrs:orders"};

// What follows the key prefix in the names of a generation's read models.
std::string generation_infix(const std::string& generation) {
  return generation == "0" ? std::string() : "g" + generation + ":";
}

// Read-model keys of generations readers do not read (left by a rebuild): their count, and
// one. One SCAN of the prefix, each name classified here.
std::pair<size_t, std::string> other_generations(redis::Deployment& r, const std::string& prefix,
                                                 const std::string& generation) {
  auto is_model = [](std::string_view name) {
    for (std::string_view p : kPatterns) {
      if (p.back() == '*' ? name.substr(0, p.size() - 1) == p.substr(0, p.size() - 1) : name == p) return true;
    }
    return false;
  };
  size_t n = 0;
  std::string one;
  for (const auto& key : r.scan(prefix + "*")) {
    std::string_view name(key);
    name.remove_prefix(prefix.size());
    std::string g = "0";
    if (name.size() > 2 && name[0] == 'g' && name[1] >= '0' && name[1] <= '9') {
      size_t colon = name.find(':');
      std::string_view digits = name.substr(1, colon == std::string_view::npos ? 0 : colon - 1);
      if (colon != std::string_view::npos && digits.find_first_not_of("0123456789") == std::string_view::npos) {
        g = std::string(digits);
        name.remove_prefix(colon + 1);
      }
    }
    if (g == generation || !is_model(name)) continue;
    if (n++ == 0) one = key;
  }
  return {n, one};
}

// The read model under a key stem (the prefix and the generation), its keys named without it,
// as the layout names them.
Model read_read_model(redis::Deployment& r, const std::string& prefix) {
  std::vector<std::string> keys;
  for (const char* pattern : kPatterns) {
    auto found = r.scan(prefix + pattern);  // the prefix has no pattern characters
    keys.insert(keys.end(), found.begin(), found.end());
  }
  Model m;
  constexpr size_t batch = 500;
  for (size_t start = 0; start < keys.size(); start += batch) {
    size_t end = std::min(keys.size(), start + batch);
    Keyed type_of;
    for (size_t i = start; i < end; ++i) type_of.push_back({keys[i], {"TYPE", keys[i]}});
    std::vector<std::string> types;
    for (const auto& reply : r.pipeline(type_of)) types.push_back(redis::reply_string(reply.get()));
    Keyed reads;
    for (size_t i = start; i < end; ++i) {
      const std::string& t = types[i - start];
      if (t == "hash") reads.push_back({keys[i], {"HGETALL", keys[i]}});
      else if (t == "zset") reads.push_back({keys[i], {"ZRANGE", keys[i], "0", "-1", "WITHSCORES"}});
      else if (t == "set") reads.push_back({keys[i], {"SMEMBERS", keys[i]}});
      else if (t == "list") reads.push_back({keys[i], {"LRANGE", keys[i], "0", "-1"}});
    }
    auto replies = r.pipeline(reads);
    size_t next = 0;
    for (size_t i = start; i < end; ++i) {
      const std::string& t = types[i - start];
      KeyValue kv;
      if (t == "none") continue;  // deleted between SCAN and now
      if (t != "hash" && t != "zset" && t != "set" && t != "list") {
        m[keys[i].substr(prefix.size())] = kv;
        continue;
      }
      redis::ReplyPtr reply = std::move(replies[next++]);
      if (t == "hash") {
        kv.type = KeyValue::Type::Hash;
        for (size_t k = 0; k + 1 < reply->elements; k += 2)
          kv.hash[redis::reply_string(reply->element[k])] = redis::reply_string(reply->element[k + 1]);
      } else if (t == "zset") {
        kv.type = KeyValue::Type::ZSet;
        for (size_t k = 0; k + 1 < reply->elements; k += 2)
          kv.zset[redis::reply_string(reply->element[k])] = redis::reply_string(reply->element[k + 1]);
      } else if (t == "list") {
        kv.type = KeyValue::Type::List;
        for (size_t k = 0; k < reply->elements; ++k) kv.list.push_back(redis::reply_string(reply->element[k]));
      } else {
        kv.type = KeyValue::Type::Set;
        for (size_t k = 0; k < reply->elements; ++k) kv.set.insert(redis::reply_string(reply->element[k]));
      }
      m[keys[i].substr(prefix.size())] = std::move(kv);
    }
  }
  return m;
}

}  // namespace

int run(const Options& options) {
  std::vector<std::string> diffs;
  size_t compared = 0;
  uint64_t target = 0, checkpoint = 0;
  try {
    PgConnection conn(options.pg);
    snapshot::extension_schema(conn);  // a database without it has nothing to wait for
    redis::Deployment r(options.redis, 10000);  // one Redis or a Redis Cluster
    const Keys keys(options.key_prefix);
    for (int attempt = 1; attempt <= options.attempts; ++attempt) {
      compared = 0;
      // Wait until Redis holds everything the write model had committed when we looked.
      target = lsn_or_throw(pqxx::nontransaction(conn).exec1("SELECT pg_current_wal_lsn()::text")[0].as<std::string>());
      auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(options.timeout_s);
      // Caught up: the checkpoint is at or past the target and vouches for the read models
      // (no dirty mark, no call series under way).
      Fields fields;
      std::optional<uint64_t> cp;
      std::string unsettled;
      bool busy = false;
      while (!(cp = lsn_of(fields = checkpoint_of(r, keys, &busy))) || *cp < target ||
             !(unsettled = checkpoint_unsettled(fields)).empty()) {
        if (std::chrono::steady_clock::now() > deadline) {
          std::cout << "verify: the read model has not caught up with " << format_lsn(target) << " within "
                    << options.timeout_s << " s (checkpoint "
                    << (cp ? format_lsn(*cp) : busy ? "unreadable, Redis busy" : "none")
                    << (unsettled.empty() ? "" : ", " + unsettled) << ")\n";
          return 1;
        }
        busy = false;
        unsettled.clear();
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
      checkpoint = *cp;
      // The generation readers read (docs/consistency.md): its keys follow the prefix and `gN:`.
      const std::string generation = fields.count("generation") ? fields.at("generation") : "0";
      const std::string stem = options.key_prefix + generation_infix(generation);
      std::vector<Declared> declared;
      WriteModel wm = read_write_model(conn, declared);
      Model expected = expected_model(wm);
      Model actual = read_read_model(r, stem);
      std::vector<std::string> model_diffs;
      for (const auto& d : declared) {
        CompareOptions declared;
        declared.declared = true;
        for (auto& diff : compare(d.expected, read_declared_hashes(r, stem, d.plan), declared))
          model_diffs.push_back("read model " + d.plan.name + ": " + stem + diff);
        compared += d.expected.size();
      }
      // Hashes may carry anything applied up to now; the checkpoint read now must still
      // vouch for what was read.
      Fields after = checkpoint_of(r, keys);
      CompareOptions co;
      co.checkpoint = lsn_of(after);
      diffs = compare(expected, actual, co);
      for (auto& d : diffs) d.insert(0, stem);  // each names its key first
      diffs.insert(diffs.end(), model_diffs.begin(), model_diffs.end());
      auto cp_diffs = check_checkpoint(after, pgcqrs_slots(conn), keys.checkpoint());
      const std::string after_generation = after.count("generation") ? after.at("generation") : "0";
      if (after_generation != generation)
        cp_diffs.push_back(keys.checkpoint() + " field generation: " + after_generation + " after the read of generation " +
                           generation + " (a rebuild switched meanwhile)");
      if (auto [n, one] = other_generations(r, options.key_prefix, generation); n > 0)
        cp_diffs.push_back(std::to_string(n) + " read-model keys of generations readers do not read, such as " + one +
                           " (a rebuild's deletion did not finish)");
      diffs.insert(diffs.begin(), cp_diffs.begin(), cp_diffs.end());
      compared += expected.size();
      if (diffs.empty()) break;
      // Differences can be writes that arrived between the two reads: look again.
      if (attempt < options.attempts)
        std::cout << "verify: " << diffs.size() << " differences on attempt " << attempt << ", reading again\n";
    }
  } catch (const redis::RedisError& e) {
    std::cout << "verify: could not read: " << failure_of(e).what() << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cout << "verify: could not read: " << one_line(e.what()) << "\n";
    return 2;
  }
  for (size_t i = 0; i < diffs.size() && static_cast<int>(i) < options.max_report; ++i) std::cout << diffs[i] << "\n";
  if (static_cast<int>(diffs.size()) > options.max_report)
    std::cout << "... and " << diffs.size() - options.max_report << " more\n";
  std::cout << "verify: " << compared << " keys expected, " << diffs.size() << " differences (write model at "
            << format_lsn(target) << ", checkpoint " << format_lsn(checkpoint) << ")\n";
  return diffs.empty() ? 0 : 1;
}

}  // namespace pgcqrs::sidecar::verify
