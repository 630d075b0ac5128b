// Consistent page reads and the checkpoint wait for pgcqrs-query.
#include "pgcqrs/sidecar/query/reader.hpp"

#include <hiredis/hiredis.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdlib>

#include "pgcqrs/core/lsn.hpp"
#include "pgcqrs/sidecar/checkpoint.hpp"
#include "pgcqrs/sidecar/projection/model_plan.hpp"

namespace pgcqrs::sidecar::query {
namespace {

using nlohmann::json;

// A page reads the ids from the index, then their hashes in one MULTI/EXEC, under a WATCH of
// the checkpoint, which every batch the sidecar writes moves: an EXEC that runs read one
// state, one that does not is tried again. (SORT ... GET cannot name hashes whose keys carry
// their bucket's tag.) No script: a reader cannot block Redis.
constexpr int kAttempts = 100;

constexpr int kLatestPage = 10;  // orders kept in user_latest:{id} (docs/read-models.md)

// A user_latest page as LRANGE returned it: each entry's JSON object as fields.
std::vector<Hash> entries_of(const std::string& key, const redisReply* page) {
  std::vector<Hash> out;
  for (size_t i = 0; i < page->elements; ++i) {
    json o = json::parse(redis::reply_string(page->element[i]), nullptr, false);
    if (!o.is_object()) throw redis::RedisError(key + " holds an entry that is not a JSON object");
    Hash h;
    for (const auto& [field, value] : o.items()) h[field] = value.is_string() ? value.get<std::string>() : value.dump();
    out.push_back(std::move(h));
  }
  return out;
}

Hash hash_of(const redisReply* r) {
  Hash h;
  for (size_t i = 0; i + 1 < r->elements; i += 2)
    h[redis::reply_string(r->element[i])] = redis::reply_string(r->element[i + 1]);
  return h;
}

}  // namespace

Reader::Reader(const redis::Endpoint& ep, Keys keys) : ep_(ep), keys_(std::move(keys)), client_(ep, 5000) {
  // A node of a cluster answers with its slot map; one Redis says cluster support is
  // disabled, and a reader may not ask at all (NOPERM): both are one Redis.
  auto shards = client_.command({"CLUSTER", "SHARDS"}, true);
  if (shards->type == REDIS_REPLY_ARRAY) cluster_ = std::make_unique<redis::ClusterClient>(ep, 5000);
}

uint64_t Reader::cluster_generation() {
  return generation_of(cluster_->command(keys_.checkpoint(), {"HGET", keys_.checkpoint(), checkpoint::field::generation},
                                         true)
                           .get());
}

template <typename T>
T Reader::on_cluster(const std::function<T(const Keys&)>& reads) {
  for (int attempt = 0; attempt < kAttempts; ++attempt) {
    const uint64_t before = cluster_generation();
    if (before != keys_.generation()) keys_ = keys_.at(before);
    T out = reads(keys_);
    // Generations only grow: the same one after the reads as before was read throughout.
    if (cluster_generation() == before) return out;
  }
  throw redis::RedisError("the read models' generation changed under " + std::to_string(kAttempts) + " reads in a row");
}

std::vector<Hash> Reader::cluster_hashes(const std::vector<std::string>& keys) {
  std::vector<std::pair<std::string, std::vector<std::string>>> reads;
  for (const auto& k : keys) reads.push_back({k, {"HGETALL", k}});
  std::vector<Hash> out;
  for (const auto& r : cluster_->pipeline(reads)) {
    if (r->type == REDIS_REPLY_ERROR)
      throw redis::RedisError("Redis HGETALL failed: " + redis::describe_reply_error(r.get()), redis::reply_error_code(r.get()));
    if (r->elements > 0) out.push_back(hash_of(r.get()));
  }
  return out;
}

uint64_t Reader::generation_of(const redisReply* r) const {
  if (r->type == REDIS_REPLY_NIL) return 0;  // names from before generations
  if (r->type == REDIS_REPLY_ERROR)
    throw redis::RedisError("Redis HGET " + keys_.checkpoint() + " failed: " + redis::describe_reply_error(r),
                            redis::reply_error_code(r));
  const std::string text = redis::reply_string(r);
  const auto g = checkpoint::parse_generation(text);
  if (!g) throw redis::RedisError(keys_.checkpoint() + " has a malformed generation: " + text);
  return *g;
}

// One command on the generation readers read: MULTI, the checkpoint's generation, the command
// on the keys of the generation last seen, EXEC. A switch between two reads shows as another
// generation in the same EXEC: the command runs again on the new one.
Reader::Current Reader::current(const std::function<std::vector<std::string>(const Keys&)>& argv_of) {
  for (int attempt = 0; attempt < kAttempts; ++attempt) {
    const auto argv = argv_of(keys_);
    client_.append({"MULTI"});
    client_.append({"HGET", keys_.checkpoint(), checkpoint::field::generation});
    client_.append(argv);
    client_.append({"EXEC"});
    auto multi = client_.read_reply();
    auto queued_gen = client_.read_reply();
    auto queued = client_.read_reply();
    auto exec = client_.read_reply();
    for (const auto* r : {multi.get(), queued_gen.get()})
      if (r->type == REDIS_REPLY_ERROR)
        throw redis::RedisError("Redis refused a read of " + keys_.checkpoint() + ": " + redis::describe_reply_error(r),
                                redis::reply_error_code(r));
    if (queued->type == REDIS_REPLY_ERROR) return {std::move(queued), nullptr};  // refused (NOPERM): the caller says
    if (exec->type != REDIS_REPLY_ARRAY || exec->elements != 2)
      throw redis::RedisError("Redis EXEC of " + argv[0] + " failed: " + redis::describe_reply_error(exec.get()),
                              redis::reply_error_code(exec.get()));
    const uint64_t g = generation_of(exec->element[0]);
    if (g == keys_.generation()) {
      const redisReply* reply = exec->element[1];
      return {std::move(exec), reply};
    }
    keys_ = keys_.at(g);  // switched since the last read: read the new generation
  }
  throw redis::RedisError("the read models' generation changed under " + std::to_string(kAttempts) + " reads in a row");
}

std::vector<Hash> Reader::page(const IndexReads& index_reads, const IdsOf& ids_of, const HashKeyOf& hash_key) {
  auto checked = [&](redis::ReplyPtr r, const std::string& what) {
    if (r->type == REDIS_REPLY_ERROR)
      throw redis::RedisError("Redis " + what + " failed: " + redis::describe_reply_error(r.get()),
                              redis::reply_error_code(r.get()));
    return r;
  };
  for (int attempt = 0; attempt < kAttempts; ++attempt) {
    // The checkpoint's generation and the index under the same WATCH: a switch, or any batch,
    // aborts the EXEC.
    const auto reads = index_reads(keys_);
    client_.append({"WATCH", keys_.checkpoint()});
    client_.append({"HGET", keys_.checkpoint(), checkpoint::field::generation});
    for (const auto& argv : reads) client_.append(argv);
    checked(client_.read_reply(), "WATCH");
    const uint64_t g = generation_of(checked(client_.read_reply(), "HGET " + keys_.checkpoint()).get());
    std::vector<redis::ReplyPtr> replies;
    for (const auto& argv : reads) replies.push_back(checked(client_.read_reply(), argv[0] + " " + argv[1]));
    if (g != keys_.generation()) {
      checked(client_.command({"UNWATCH"}), "UNWATCH");
      keys_ = keys_.at(g);
      continue;
    }
    const std::vector<std::string> ids = ids_of(replies);
    client_.append({"MULTI"});
    for (const auto& id : ids) client_.append({"HGETALL", hash_key(keys_, id)});
    client_.append({"EXEC"});
    checked(client_.read_reply(), "MULTI");
    for (size_t i = 0; i < ids.size(); ++i) checked(client_.read_reply(), "HGETALL");
    auto hashes = checked(client_.read_reply(), "EXEC");
    if (hashes->type != REDIS_REPLY_ARRAY) continue;  // the sidecar wrote meanwhile: read again
    std::vector<Hash> out;
    for (size_t i = 0; i < hashes->elements; ++i)
      if (hashes->element[i]->elements > 0) out.push_back(hash_of(hashes->element[i]));
    return out;
  }
  throw redis::RedisError("the read models changed under " + std::to_string(kAttempts) + " reads in a row");
}

std::vector<Hash> Reader::user_orders(int64_t user_id, int limit) {
  // Up to 10 orders: the pre-rendered page user_latest:{id}, one LRANGE.
  const std::string id = std::to_string(user_id);
  if (cluster_) {
    return on_cluster<std::vector<Hash>>([&](const Keys& k) {
      if (limit <= kLatestPage) {
        const std::string latest = k.user_latest(id);
        return entries_of(latest, cluster_->command(latest, {"LRANGE", latest, "0", std::to_string(limit - 1)}).get());
      }
      const std::string index = k.user_orders(id);
      auto ids = cluster_->command(index, {"ZREVRANGE", index, "0", std::to_string(limit - 1)});
      std::vector<std::string> keys;
      for (size_t i = 0; i < ids->elements; ++i) keys.push_back(k.order(redis::reply_string(ids->element[i])));
      return cluster_hashes(keys);
    });
  }
  if (limit <= kLatestPage) {
    auto got = current([&](const Keys& k) {
      return std::vector<std::string>{"LRANGE", k.user_latest(id), "0", std::to_string(limit - 1)};
    });
    const std::string latest = keys_.user_latest(id);
    const redisReply* reply = got.reply ? got.reply : got.owner.get();
    if (reply->type == REDIS_REPLY_ARRAY) return entries_of(latest, reply);
    if (redis::reply_string(reply).rfind("NOPERM", 0) != 0)
      throw redis::RedisError("LRANGE " + latest + ": " + redis::describe_reply_error(reply));
  }
  return page(
      [&](const Keys& k) {
        return std::vector<std::vector<std::string>>{{"ZREVRANGE", k.user_orders(id), "0", std::to_string(limit - 1)}};
      },
      [](const std::vector<redis::ReplyPtr>& replies) {
        std::vector<std::string> ids;
        for (size_t i = 0; i < replies[0]->elements; ++i) ids.push_back(redis::reply_string(replies[0]->element[i]));
        return ids;
      },
      [](const Keys& k, const std::string& order) { return k.order(order); });
}

std::vector<Hash> Reader::top_products(int limit) {
  return ranked([](const Keys& k, int b) { return k.top_products(b); },
                [](const Keys& k, const std::string& product) { return k.product(product); }, limit);
}

std::vector<Hash> Reader::ranked(const std::function<std::string(const Keys&, int)>& set_key, const HashKeyOf& hash_key,
                                 int limit) {
  // Each bucket's best `limit`, merged: the best `limit` of all are among them. Equal scores
  // go as ZREVRANGE orders them in one set, by member in reverse byte order.
  auto merge = [limit](const std::vector<redis::ReplyPtr>& replies) {
    std::vector<std::pair<double, std::string>> ranked;
    for (const auto& r : replies)
      for (size_t i = 0; i + 1 < r->elements; i += 2)
        ranked.emplace_back(std::strtod(redis::reply_string(r->element[i + 1]).c_str(), nullptr),
                            redis::reply_string(r->element[i]));
    std::sort(ranked.begin(), ranked.end(), [](const auto& a, const auto& b) {
      return a.first != b.first ? a.first > b.first : a.second > b.second;
    });
    std::vector<std::string> ids;
    for (size_t i = 0; i < ranked.size() && ids.size() < static_cast<size_t>(limit); ++i)
      ids.push_back(std::move(ranked[i].second));
    return ids;
  };
  if (cluster_) {
    return on_cluster<std::vector<Hash>>([&](const Keys& k) {
      std::vector<std::pair<std::string, std::vector<std::string>>> reads;
      for (int b = 0; b < Keys::kBuckets; ++b)
        reads.push_back({set_key(k, b), {"ZREVRANGE", set_key(k, b), "0", std::to_string(limit - 1), "WITHSCORES"}});
      std::vector<std::string> keys;
      for (const auto& id : merge(cluster_->pipeline(reads))) keys.push_back(hash_key(k, id));
      return cluster_hashes(keys);
    });
  }
  return page(
      [&](const Keys& k) {
        std::vector<std::vector<std::string>> reads;
        for (int b = 0; b < Keys::kBuckets; ++b)
          reads.push_back({"ZREVRANGE", set_key(k, b), "0", std::to_string(limit - 1), "WITHSCORES"});
        return reads;
      },
      merge, hash_key);
}

std::optional<Hash> Reader::order(int64_t order_id) {
  const std::string id = std::to_string(order_id);
  if (cluster_) {
    return on_cluster<std::optional<Hash>>([&](const Keys& k) -> std::optional<Hash> {
      auto hashes = cluster_hashes({k.order(id)});
      if (hashes.empty()) return std::nullopt;
      return std::move(hashes.front());
    });
  }
  auto got = current([&](const Keys& k) { return std::vector<std::string>{"HGETALL", k.order(id)}; });
  const redisReply* reply = got.reply ? got.reply : got.owner.get();
  if (reply->type == REDIS_REPLY_ERROR)
    throw redis::RedisError("Redis HGETALL " + keys_.order(id) + " failed: " + redis::describe_reply_error(reply),
                            redis::reply_error_code(reply));
  if (reply->elements == 0) return std::nullopt;
  return hash_of(reply);
}

std::string Reader::model_plan(const std::string& model) {
  auto plan_of = [&](const redisReply* reply) {
    if (reply->type == REDIS_REPLY_ERROR)
      throw redis::RedisError("Redis HGET " + keys_.registry() + " failed: " + redis::describe_reply_error(reply),
                              redis::reply_error_code(reply));
    if (reply->type != REDIS_REPLY_STRING) throw std::runtime_error("Redis holds no read model named " + model);
    return redis::reply_string(reply);
  };
  if (cluster_) {
    return on_cluster<std::string>([&](const Keys& k) {
      return plan_of(cluster_->command(k.registry(), {"HGET", k.registry(), model}).get());
    });
  }
  auto got = current([&](const Keys& k) { return std::vector<std::string>{"HGET", k.registry(), model}; });
  return plan_of(got.reply ? got.reply : got.owner.get());
}

std::vector<Hash> Reader::model_top(const std::string& model, int limit) {
  std::string error;
  const auto plan = projection::parse_plan(model, model_plan(model), error);
  if (!plan) throw std::runtime_error(error);
  if (plan->rank.empty())
    throw std::runtime_error("read model " + model + " has no rank (register it with one: docs/read-models.md)");
  return ranked([&](const Keys& k, int b) { return projection::rank_key(*plan, k.scope(), b); },
                [&](const Keys& k, const std::string& id) { return projection::model_key(*plan, k.scope(), id); }, limit);
}

std::optional<Hash> Reader::model_row(const std::string& model, const std::vector<std::string>& key) {
  const std::string json = model_plan(model);
  std::string error;
  const auto plan = projection::parse_plan(model, json, error);
  if (!plan) throw std::runtime_error(error);
  const auto& columns = plan->key_columns();
  if (key.size() != columns.size()) {
    std::string names;
    for (const auto& c : columns) names += (names.empty() ? "" : ", ") + c;
    throw std::runtime_error("read model " + model + " is keyed by " + std::to_string(columns.size()) +
                             " value(s) (" + names + "), not " + std::to_string(key.size()));
  }
  projection::RowValues values;
  for (size_t i = 0; i < key.size(); ++i) values.emplace_back(columns[i], key[i]);
  const std::string id = *projection::identity(values, columns);
  if (cluster_) {
    return on_cluster<std::optional<Hash>>([&](const Keys& k) -> std::optional<Hash> {
      auto hashes = cluster_hashes({projection::model_key(*plan, k.scope(), id)});
      if (hashes.empty()) return std::nullopt;
      return std::move(hashes.front());
    });
  }
  auto got = current([&](const Keys& k) {
    return std::vector<std::string>{"HGETALL", projection::model_key(*plan, k.scope(), id)};
  });
  const redisReply* reply = got.reply ? got.reply : got.owner.get();
  if (reply->type == REDIS_REPLY_ERROR)
    throw redis::RedisError("Redis HGETALL of read model " + model + " failed: " + redis::describe_reply_error(reply),
                            redis::reply_error_code(reply));
  if (reply->elements == 0) return std::nullopt;
  return hash_of(reply);
}

std::optional<uint64_t> Reader::checkpoint() {
  // One read of the whole hash (the reader's ACL allows HGETALL): a `dirty` mark means the read
  // models may hold part of a call and a rebuild is due, so they vouch for no position.
  auto reply = cluster_ ? cluster_->command(keys_.checkpoint(), {"HGETALL", keys_.checkpoint()})
                        : client_.command({"HGETALL", keys_.checkpoint()});
  std::optional<uint64_t> lsn;
  for (size_t i = 0; i + 1 < reply->elements; i += 2) {
    std::string field = redis::reply_string(reply->element[i]);
    if (field == checkpoint::field::dirty) return std::nullopt;
    if (field == checkpoint::field::lsn) lsn = parse_lsn(redis::reply_string(reply->element[i + 1]));
  }
  return lsn;
}

bool Reader::wait_for(uint64_t lsn, int timeout_ms) {
  using clock = std::chrono::steady_clock;
  auto deadline = clock::now() + std::chrono::milliseconds(timeout_ms);
  // Subscribe first, then read the checkpoint: an apply between the two is not missed.
  while (true) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now()).count();
    if (left <= 0) return checkpoint().value_or(0) >= lsn;
    redis::SyncClient sub(ep_, static_cast<int>(std::min<int64_t>(left, 1000)));
    sub.command({"SUBSCRIBE", keys_.channel()});
    if (checkpoint().value_or(0) >= lsn) return true;
    try {
      while (clock::now() < deadline) {
        auto msg = sub.read_reply();  // ["message", channel, lsn]
        if (msg->type == REDIS_REPLY_ARRAY && msg->elements == 3) {
          auto applied = parse_lsn(redis::reply_string(msg->element[2]));
          // The message says a call applied; the checkpoint says whether it left the models whole.
          if (applied && *applied >= lsn && checkpoint().value_or(0) >= lsn) return true;
        }
      }
    } catch (const redis::RedisError&) {
      // No message within the read timeout, after which the client is unusable
      // (sync_client.hpp): subscribe again, and look at the checkpoint again, until the
      // deadline.
    }
  }
}

}  // namespace pgcqrs::sidecar::query
