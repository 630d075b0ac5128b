#include "pgcqrs/sidecar/redis/cluster_client.hpp"

#include <hiredis/hiredis.h>

#include <algorithm>
#include <chrono>
#include <thread>

#include "pgcqrs/sidecar/redis/resp.hpp"

namespace pgcqrs::sidecar::redis {
namespace {

std::string address(const std::string& host, int port) { return host + ":" + std::to_string(port); }

// Errors the cluster answers while it changes, which a resend after a pause cures.
bool transient(std::string_view code) {
  return code == "TRYAGAIN" || code == "CLUSTERDOWN" || code == "LOADING" || code == "MASTERDOWN";
}

// A reply that says the cluster changed under the call (a redirect, or an error a resend after a
// pause cures): nothing of that call ran, and it is sent again alone.
bool cluster_changed(const redisReply* r) {
  return r->type == REDIS_REPLY_ERROR && (parse_redirect({r->str, r->len}) || transient(reply_error_code(r)));
}

// More redirects than this for one call is a loop (two nodes each naming the other).
constexpr int kMaxRedirects = 16;

}  // namespace

ClusterClient::ClusterClient(const Endpoint& seed, int timeout_ms, int retry_ms)
    : seed_(seed), timeout_ms_(timeout_ms), retry_ms_(retry_ms) {
  seed_.db = 0;  // a cluster has no other database
  refresh();
  if (size_t n = map_.unserved())
    throw RedisError("Redis Cluster at " + seed_.redacted() + " has " + std::to_string(n) +
                         " slots that no master serves (CLUSTER SHARDS)",
                     "CLUSTERDOWN");
}

ClusterClient::~ClusterClient() = default;

SyncClient& ClusterClient::connection(const std::string& host, int port) {
  auto& c = connections_[address(host, port)];
  if (!c) {
    Endpoint ep = seed_;
    ep.host = host;
    ep.port = port;
    c = std::make_unique<SyncClient>(ep, timeout_ms_);
  }
  return *c;
}

void ClusterClient::drop(const std::string& host, int port) { connections_.erase(address(host, port)); }

void ClusterClient::refresh() {
  std::string why = "no node answered";
  // The masters first, whose view is the newest; the seed last (it may be the one that failed).
  std::vector<std::pair<std::string, int>> nodes;
  for (const auto& m : map_.masters()) nodes.emplace_back(m.host, m.port);
  nodes.emplace_back(seed_.host, seed_.port);
  for (const auto& [host, port] : nodes) {
    try {
      auto r = connection(host, port).command({"CLUSTER", "SHARDS"}, true);
      auto parsed = SlotMap::from_shards(r.get(), seed_.tls);
      if (!parsed.map) {
        why = address(host, port) + ": " + (r->type == REDIS_REPLY_ERROR ? describe_reply_error(r.get()) : parsed.error);
        continue;
      }
      map_ = std::move(*parsed.map);
      ++counts_.refreshed;
      return;
    } catch (const RedisError& e) {
      if (e.handshake) throw;  // a password or a certificate the cluster refuses: no use asking another node
      drop(host, port);
      why = e.what();
    }
  }
  throw RedisError("Redis Cluster: cannot read the slot map (" + why + ")");
}

std::optional<std::vector<ReplyPtr>> ClusterClient::send(const std::string& host, int port, bool asking,
                                                         std::string_view resp, size_t commands, RedisError& lost) {
  try {
    SyncClient& c = connection(host, port);
    if (asking) c.append({"ASKING"});
    c.append_formatted(resp);
    if (asking) c.read_reply();  // OK
    std::vector<ReplyPtr> replies;
    replies.reserve(commands);
    for (size_t i = 0; i < commands; ++i) replies.push_back(c.read_reply());
    return replies;
  } catch (const RedisError& e) {
    if (e.handshake) throw;  // refused by this node as by any: no use asking another
    drop(host, port);        // lost: the master may be failing over
    lost = e;
    return std::nullopt;
  }
}

std::vector<ReplyPtr> ClusterClient::run(uint16_t slot, std::string_view resp, size_t commands) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(retry_ms_);
  std::chrono::milliseconds pause(50);
  std::optional<Redirect> ask;
  RedisError last("no master serves slot " + std::to_string(slot), "CLUSTERDOWN");
  int redirects = 0;
  while (true) {
    std::string host;
    int port = 0;
    if (ask) {
      host = ask->host, port = ask->port;
    } else if (const ClusterNode* m = map_.master(slot)) {
      host = m->host, port = m->port;
    }
    std::optional<std::vector<ReplyPtr>> replies;
    if (port != 0) replies = send(host, port, ask.has_value(), resp, commands, last);
    ask.reset();
    std::optional<Redirect> redirect;
    bool again = !replies;
    for (size_t i = 0; replies && i < replies->size() && !redirect && !again; ++i) {
      const redisReply* r = (*replies)[i].get();
      if (r->type != REDIS_REPLY_ERROR) continue;
      redirect = parse_redirect({r->str, r->len});
      std::string code = reply_error_code(r);
      if (transient(code)) {
        last = RedisError(describe_reply_error(r), code);
        again = true;
      }
    }
    if (replies && !redirect && !again) return std::move(*replies);
    if (redirect) {
      // A queued command of another slot is redirected on its own; Redis answers CROSSSLOT only
      // when the slots share a node.
      if (redirect->slot != slot)
        throw RedisError("Redis Cluster: a call on slot " + std::to_string(slot) + " has a key of slot " +
                             std::to_string(redirect->slot) + " (the keys of one call must share a slot)",
                         "CROSSSLOT");
      if (++redirects > kMaxRedirects)
        throw RedisError("Redis Cluster redirected slot " + std::to_string(slot) + " more than " +
                             std::to_string(kMaxRedirects) + " times, last to " +
                             address(redirect->host, redirect->port),
                         redirect->kind == Redirect::Kind::moved ? "MOVED" : "ASK");
      if (redirect->host.empty()) redirect->host = host;  // Redis knew no address: the node asked
      if (redirect->kind == Redirect::Kind::moved) {
        ++counts_.moved;
        map_.moved(redirect->slot, redirect->host, redirect->port);
      } else {
        ++counts_.asked;
        ask = std::move(redirect);
      }
      continue;
    }
    if (std::chrono::steady_clock::now() + pause > deadline)
      throw RedisError("Redis Cluster: slot " + std::to_string(slot) + " not served within " +
                           std::to_string(retry_ms_) + " ms: " + last.what(),
                       last.code);
    std::this_thread::sleep_for(pause);  // a backoff between attempts, not a wait for a condition
    pause = std::min(pause * 2, std::chrono::milliseconds(1000));
    ++counts_.retried;
    try {
      refresh();
    } catch (const RedisError& e) {
      if (e.handshake) throw;
      last = e;
    }
  }
}

ReplyPtr ClusterClient::command(std::string_view key, const std::vector<std::string>& argv, bool allow_error) {
  std::string resp;
  append_command(resp, argv);
  auto replies = run(key_slot(key), resp, 1);
  ReplyPtr& r = replies.front();
  if (!allow_error && r->type == REDIS_REPLY_ERROR)
    throw RedisError("Redis " + argv[0] + " failed: " + describe_reply_error(r.get()), reply_error_code(r.get()));
  return std::move(r);
}

ReplyPtr ClusterClient::transaction(std::string_view key, const std::vector<std::vector<std::string>>& commands) {
  std::string resp;
  append_command(resp, {"MULTI"});
  for (const auto& c : commands) append_command(resp, c);
  append_command(resp, {"EXEC"});
  return exec_reply(run(key_slot(key), resp, commands.size() + 2));
}

ReplyPtr ClusterClient::transaction(const SlotTransaction& t) { return exec_reply(run(t.slot, t.resp, t.commands + 2)); }

ReplyPtr ClusterClient::exec_reply(std::vector<ReplyPtr> replies) {
  // A queued command's refusal (CROSSSLOT, OOM, NOPERM) is the reason EXEC aborted.
  for (size_t i = 1; i + 1 < replies.size(); ++i)
    if (replies[i]->type == REDIS_REPLY_ERROR)
      throw RedisError("Redis command " + std::to_string(i) + " of a MULTI failed: " + describe_reply_error(replies[i].get()),
                       reply_error_code(replies[i].get()));
  ReplyPtr& exec = replies.back();
  if (exec->type == REDIS_REPLY_ERROR)
    throw RedisError("Redis EXEC failed: " + describe_reply_error(exec.get()), reply_error_code(exec.get()));
  return std::move(exec);
}

std::vector<ReplyPtr> ClusterClient::transactions(const std::vector<SlotTransaction>& ts) {
  // Every master's transactions are written before any reply is read: one round trip in all.
  std::map<const ClusterNode*, std::vector<size_t>> groups;
  for (size_t i = 0; i < ts.size(); ++i)
    if (const ClusterNode* m = map_.master(ts[i].slot)) groups[m].push_back(i);
  std::vector<std::pair<const ClusterNode*, SyncClient*>> sent;
  for (const auto& [m, indexes] : groups) {
    try {
      SyncClient& c = connection(m->host, m->port);
      for (size_t i : indexes) c.append_formatted(ts[i].resp);
      c.send();
      sent.emplace_back(m, &c);
    } catch (const RedisError& e) {
      if (e.handshake) throw;
      drop(m->host, m->port);
    }
  }
  // Every reply is read before any is judged, so that no connection is left with replies owed.
  std::vector<std::optional<std::vector<ReplyPtr>>> answered(ts.size());
  for (const auto& [m, c] : sent) {
    try {
      for (size_t i : groups[m]) {
        std::vector<ReplyPtr> replies;
        replies.reserve(ts[i].commands + 2);
        for (size_t k = 0; k < ts[i].commands + 2; ++k) replies.push_back(c->read_reply());
        answered[i] = std::move(replies);
      }
    } catch (const RedisError& e) {
      if (e.handshake) throw;
      drop(m->host, m->port);  // the transactions not answered are sent again alone
    }
  }
  std::vector<ReplyPtr> out(ts.size());
  for (size_t i = 0; i < ts.size(); ++i) {
    auto& a = answered[i];
    const bool again =
        !a || std::any_of(a->begin(), a->end(), [](const ReplyPtr& r) { return cluster_changed(r.get()); });
    out[i] = again ? transaction(ts[i]) : exec_reply(std::move(*a));
  }
  return out;
}

std::vector<ReplyPtr> ClusterClient::pipeline(
    const std::vector<std::pair<std::string, std::vector<std::string>>>& commands) {
  std::vector<ReplyPtr> replies(commands.size());
  // Grouped by the master the map names; each group is one round trip. A slot no master
  // serves is left out: sent alone below, with its retries.
  std::map<const ClusterNode*, std::vector<size_t>> groups;
  for (size_t i = 0; i < commands.size(); ++i)
    if (const ClusterNode* m = map_.master(key_slot(commands[i].first))) groups[m].push_back(i);
  for (const auto& [m, indexes] : groups) {
    std::string resp;
    for (size_t i : indexes) append_command(resp, commands[i].second);
    RedisError lost("");
    auto got = send(m->host, m->port, false, resp, indexes.size(), lost);
    if (!got) continue;
    for (size_t k = 0; k < indexes.size(); ++k) replies[indexes[k]] = std::move((*got)[k]);
  }
  for (size_t i = 0; i < commands.size(); ++i) {
    if (!replies[i] || cluster_changed(replies[i].get()))
      replies[i] = command(commands[i].first, commands[i].second, true);
  }
  return replies;
}

std::vector<std::string> ClusterClient::scan(const std::string& pattern) {
  std::vector<std::string> keys;
  for (const auto& m : map_.masters()) {
    std::string cursor = "0";
    do {
      auto r = connection(m.host, m.port).command({"SCAN", cursor, "MATCH", pattern, "COUNT", "1000"});
      if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 || r->element[1]->type != REDIS_REPLY_ARRAY)
        throw RedisError("Redis SCAN at " + address(m.host, m.port) + " did not answer a cursor and keys");
      cursor = reply_string(r->element[0]);
      for (size_t i = 0; i < r->element[1]->elements; ++i) keys.push_back(reply_string(r->element[1]->element[i]));
    } while (cursor != "0");
  }
  return keys;
}

std::vector<ReplyPtr> ClusterClient::on_each_master(const std::vector<std::string>& argv, bool allow_error) {
  std::vector<ReplyPtr> replies;
  for (const auto& m : map_.masters()) {
    auto r = connection(m.host, m.port).command(argv, true);
    if (r->type == REDIS_REPLY_ERROR && !allow_error)
      throw RedisError("Redis " + argv[0] + " failed at " + address(m.host, m.port) + ": " + describe_reply_error(r.get()),
                       reply_error_code(r.get()));
    replies.push_back(std::move(r));
  }
  return replies;
}

}  // namespace pgcqrs::sidecar::redis
