// A Redis Cluster as the sink (cluster_sink.hpp).
#include "pgcqrs/sidecar/sink/cluster_sink.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <hiredis/hiredis.h>
#include <spdlog/spdlog.h>

#include "pgcqrs/sidecar/checkpoint.hpp"
#include "pgcqrs/sidecar/cluster/batch_plan.hpp"
#include "pgcqrs/sidecar/cluster/walk.hpp"
#include "pgcqrs/sidecar/redis/sync_client.hpp"  // hello_commands, describe_reply_error

namespace pgcqrs::sidecar::sink {

using projection::Reply;

struct ClusterSink::Master {
  redis::Endpoint ep;
  std::unique_ptr<redis::AsyncClient> client;
};

// A command or a slot's transaction on its way, with what its resends need.
struct ClusterSink::Unit {
  uint16_t slot = 0;
  const std::vector<std::string>* argv = nullptr;  // a command, or
  std::vector<std::string_view> pieces;            // commands in RESP, `replies` of them; held by `keep`
  size_t replies = 0;
  std::shared_ptr<const void> keep;
  std::string what;                                // "slot 7 of batch 12"; "" for a read
  std::optional<redis::Redirect> ask;            // the next send goes there, after ASKING
  int resends = 0;
  std::chrono::milliseconds pause{20};
  std::chrono::steady_clock::time_point deadline;
  std::unique_ptr<boost::asio::steady_timer> timer;
  Answer answer;
};

ClusterSink::ClusterSink(boost::asio::io_context& io, redis::Endpoint seed, redis::SlotMap map, Keys keys,
                         uint64_t last_batch, std::chrono::milliseconds reply_timeout,
                         cluster::FenceLedger& acknowledged, http::ClusterResends& resends)
    : io_(io),
      seed_(std::move(seed)),
      map_(std::move(map)),
      keys_(std::move(keys)),
      last_batch_(last_batch),
      next_batch_(last_batch + 1),
      reply_timeout_(reply_timeout),
      ledger_(acknowledged),
      resends_(resends) {}

ClusterSink::~ClusterSink() {
  close();
  *alive_ = false;
}

void ClusterSink::close() {
  closing_ = true;
  for (auto& m : masters_) m->client->close();  // their handlers see closing_
}

void ClusterSink::connect(Event ready, Event broken) {
  on_broken_ = std::move(broken);
  auto left = std::make_shared<size_t>(map_.masters().size());
  auto failed = std::make_shared<bool>(false);
  auto fail = [this, failed, ready](const std::string& error) {
    if (*failed) return;
    *failed = true;
    broken_ = error;
    ready(error);
  };
  for (const auto& node : map_.masters()) {
    auto m = std::make_unique<Master>();
    m->ep = seed_;
    m->ep.host = node.host;
    m->ep.port = node.port;
    m->ep.db = 0;  // a cluster has no other database
    m->client = std::make_unique<redis::AsyncClient>(io_);
    m->client->set_reply_timeout(reply_timeout_);
    redis::AsyncClient* client = m->client.get();
    const redis::Endpoint ep = m->ep;
    masters_.push_back(std::move(m));
    client->connect(
        ep,
        [this, client, ep, left, failed, fail, ready](const std::string& error) {
          if (closing_ || *failed) return;
          if (!error.empty()) return fail(error);
          auto hello = redis::hello_commands(ep);
          auto answers = std::make_shared<size_t>(hello.size());
          auto answered = [this, left, failed, ready] {
            if (closing_ || *failed) return;
            if (--*left == 0) ready("");
          };
          if (hello.empty()) return answered();
          for (const auto& cmd : hello)
            client->command(cmd, [this, ep, answers, answered, fail](redisReply* r) {
              if (closing_) return;
              if (!r || r->type == REDIS_REPLY_ERROR)
                return fail("Redis authentication failed at " + ep.redacted() + ": " + redis::describe_reply_error(r));
              if (--*answers == 0) answered();
            });
        },
        [this, ep](const std::string& error) {
          if (closing_) return;
          break_down("Redis Cluster master " + ep.redacted() + ": " + error);
        });
  }
  if (map_.masters().empty()) fail("Redis Cluster has no master");
}

redis::AsyncClient* ClusterSink::master_for(uint16_t slot) {
  const redis::ClusterNode* node = map_.master(slot);
  if (!node) return nullptr;
  const auto i = static_cast<size_t>(node - map_.masters().data());
  return i < masters_.size() && masters_[i]->client->connected() ? masters_[i]->client.get() : nullptr;
}

redis::AsyncClient* ClusterSink::master_at(const std::string& host, int port) {
  for (auto& m : masters_)
    if (m->ep.host == host && m->ep.port == port) return m->client->connected() ? m->client.get() : nullptr;
  return nullptr;
}

void ClusterSink::send_command(uint16_t slot, const std::vector<std::string>& argv, std::shared_ptr<const void> keep,
                               std::string what, Answer answer) {
  auto u = std::make_shared<Unit>();
  u->slot = slot;
  u->argv = &argv;
  start(std::move(u), std::move(keep), std::move(what), std::move(answer));
}

void ClusterSink::send_transaction(const redis::SlotTransaction& t, std::shared_ptr<const void> keep, std::string what,
                                   Answer answer) {
  send_pieces(t.slot, {t.resp}, t.commands + 2, std::move(keep), std::move(what), std::move(answer));
}

void ClusterSink::send_pieces(uint16_t slot, std::vector<std::string_view> pieces, size_t replies,
                              std::shared_ptr<const void> keep, std::string what, Answer answer) {
  auto u = std::make_shared<Unit>();
  u->slot = slot;
  u->pieces = std::move(pieces);
  u->replies = replies;
  start(std::move(u), std::move(keep), std::move(what), std::move(answer));
}

void ClusterSink::start(std::shared_ptr<Unit> u, std::shared_ptr<const void> keep, std::string what, Answer answer) {
  u->keep = std::move(keep);
  u->what = std::move(what);
  u->answer = std::move(answer);
  u->deadline = std::chrono::steady_clock::now() + kRedirectFor;
  send(std::move(u));
}

void ClusterSink::send(std::shared_ptr<Unit> u) {
  const bool asking = u->ask.has_value();
  std::string host;
  int port = 0;
  if (asking) {
    host = u->ask->host, port = u->ask->port;
  } else if (const redis::ClusterNode* node = map_.master(u->slot)) {
    host = node->host, port = node->port;
  }
  u->ask.reset();
  redis::AsyncClient* client = asking ? master_at(host, port) : master_for(u->slot);
  if (!client) return u->answer(nullptr, "", "Redis Cluster: no connected master serves slot " + std::to_string(u->slot));
  // ASKING holds for the next command, and through a MULTI until its EXEC.
  if (asking) client->command({"ASKING"}, [](redisReply*) {});
  auto handler = [this, u, client, host, port](redisReply* r) {
    if (closing_) return;
    if (!r)
      return u->answer(nullptr, "", "Redis Cluster connection lost with " +
                                        (u->what.empty() ? "a read of " + (*u->argv)[1] : u->what) + " in flight");
    std::string queued = u->replies > 1 ? client->queued_error() : std::string();
    if (r->type == REDIS_REPLY_ERROR && resend(u, queued.empty() ? std::string(r->str, r->len) : queued, host, port))
      return;
    u->answer(r, queued, "");
  };
  const bool sent = u->argv ? client->command(*u->argv, handler) : client->pipeline_pieces(u->pieces, u->keep, u->replies, handler);
  if (!sent) return u->answer(nullptr, "", "Redis Cluster: the master of slot " + std::to_string(u->slot) + " is not connected");
}

bool ClusterSink::resend(const std::shared_ptr<Unit>& u, const std::string& error, const std::string& host, int port) {
  std::optional<redis::Redirect> redirect = redis::parse_redirect(error);
  const bool again = error.rfind("TRYAGAIN", 0) == 0;
  if (!redirect && !again) return false;
  if (std::chrono::steady_clock::now() >= u->deadline) return false;  // the error ends the sink, as it says
  if (redirect) {
    if (redirect->slot != u->slot) return false;
    if (redirect->host.empty()) redirect->host = host;  // Redis knew no address: the node asked
    // A node the sink did not start with may be a replica promoted by a failover, which the
    // next start checks the fences of (cluster/recovery.hpp); a reshard between known masters
    // needs no such check.
    if (!master_at(redirect->host, redirect->port)) return false;
    if (redirect->kind == redis::Redirect::Kind::moved) {
      spdlog::info("Redis Cluster moved slot {} from {}:{} to {}:{}; {} goes there", u->slot, host, port,
                   redirect->host, redirect->port, u->what.empty() ? "a read of " + (*u->argv)[1] : u->what);
      map_.moved(u->slot, redirect->host, redirect->port);
      ++resends_.moved;
    } else {
      u->ask = std::move(redirect);
      ++resends_.ask;
    }
  } else {
    ++resends_.tryagain;
  }
  // A redirect is followed at once, the first times; TRYAGAIN (keys of the slot on both sides of
  // a migration) and redirects that go on are sent again after a pause.
  if (!again && ++u->resends <= 2) {
    send(u);
    flush();
    return true;
  }
  u->timer = std::make_unique<boost::asio::steady_timer>(io_, u->pause);
  u->pause = std::min(u->pause * 2, std::chrono::milliseconds(500));
  u->timer->async_wait([this, u, alive = alive_](const boost::system::error_code& ec) {
    if (ec || !*alive || closing_) return;
    send(u);
    flush();
  });
  return true;
}

bool ClusterSink::cluster_changed(const std::string& error) {
  if (redis::parse_redirect(error)) return true;
  for (const char* code : {"TRYAGAIN", "CLUSTERDOWN", "LOADING", "MASTERDOWN", "READONLY"})
    if (error.rfind(code, 0) == 0) return true;
  return false;
}

void ClusterSink::enqueue(std::function<void()> op) {
  waiting_.push_back(std::move(op));
  if (busy_) return;
  busy_ = true;
  auto next = std::move(waiting_.front());
  waiting_.pop_front();
  next();
}

// The next operation starts from the loop, never inside the handler of the one that ended:
// that handler goes on to tell the applier, which may end the session and the sink with it.
void ClusterSink::done_op() {
  busy_ = false;
  boost::asio::post(io_, [this, alive = alive_] {
    if (!*alive || busy_ || waiting_.empty()) return;
    busy_ = true;
    auto next = std::move(waiting_.front());
    waiting_.pop_front();
    next();
  });
}

void ClusterSink::break_down(const std::string& why) {
  if (!broken_.empty()) return;
  broken_ = why;
  boost::asio::post(io_, [this, alive = alive_] {
    if (*alive && on_broken_) on_broken_(broken_);
  });
}

bool ClusterSink::read(const std::vector<std::vector<std::string>>& commands, Replies done) {
  if (!broken_.empty()) return false;
  enqueue([this, held = std::make_shared<const std::vector<std::vector<std::string>>>(commands), done] {
    const auto& commands = *held;
    struct State {
      std::vector<Reply> replies;
      size_t left = 0;
      bool over = false;
    };
    auto st = std::make_shared<State>();
    st->replies.resize(commands.size());
    st->left = commands.size();
    auto end = [this, st, done](const std::string& error) {
      st->over = true;
      done_op();
      if (!error.empty()) {
        break_down(error);
        return done(nullptr, error);
      }
      done(&st->replies, "");
    };
    if (!broken_.empty()) return end(broken_);
    for (size_t i = 0; i < commands.size() && !st->over; ++i) {
      const auto& c = commands[i];
      if (c[0] == "WATCH") {  // no batch shares one slot with the checkpoint: the intent guards it
        st->replies[i].kind = Reply::Kind::Status;
        st->replies[i].str = "OK";
        --st->left;
        continue;
      }
      if (c[0] == "SCAN") {
        walk_page(c, [this, st, i, end](Reply page, const std::string& error) {
          if (st->over) return;
          if (!error.empty()) return end(error);
          st->replies[i] = std::move(page);
          if (--st->left == 0) end("");
        });
        continue;
      }
      if (c.size() < 2) return end("Redis Cluster: the projector's " + c[0] + " names no key");
      send_command(redis::key_slot(c[1]), c, held, "",
                   [this, st, i, end, &c](redisReply* r, const std::string&, const std::string& undelivered) {
                     if (st->over) return;
                     if (!r) return end(undelivered);
                     Reply reply = projection::copy_reply(*r);
                     if (reply.kind == Reply::Kind::Error && cluster_changed(reply.str))
                       return end("Redis Cluster changed under a read of " + c[1] + ": " + reply.str);
                     st->replies[i] = std::move(reply);
                     if (--st->left == 0) end("");
                   });
    }
    if (st->left == 0 && !st->over) end("");
    flush();
  });
  return true;
}

redis::AsyncClient* ClusterSink::master_by_id(const std::string& id) {
  for (size_t i = 0; i < masters_.size() && i < map_.masters().size(); ++i)
    if (map_.masters()[i].id == id) return masters_[i]->client->connected() ? masters_[i]->client.get() : nullptr;
  return nullptr;
}

void ClusterSink::read_layout(std::function<void(std::optional<cluster::Layout>, const std::string&)> done) {
  redis::AsyncClient* client = master_for(redis::key_slot(keys_.checkpoint()));
  if (!client) return done(std::nullopt, "Redis Cluster: no connected master serves the checkpoint's slot");
  client->command({"CLUSTER", "NODES"}, [this, done](redisReply* r) {
    if (closing_) return;
    if (!r) return done(std::nullopt, "Redis Cluster connection lost with CLUSTER NODES in flight");
    if (r->type != REDIS_REPLY_STRING)
      return done(std::nullopt, "Redis Cluster: CLUSTER NODES answered " + redis::describe_reply_error(r));
    done(cluster::parse_layout({r->str, r->len}), "");
  });
  client->flush();
}

void ClusterSink::walk_page(const std::vector<std::string>& scan, std::function<void(Reply, const std::string&)> done) {
  read_layout([this, scan, done](std::optional<cluster::Layout> before, const std::string& error) {
    if (!before) return done({}, error);
    const auto at = cluster::before_page(cluster::parse_walk_cursor(scan[1]), *before);
    if (!at) return done({}, "Redis Cluster: no master serves the slot of a bucket the walk has not done");
    redis::AsyncClient* client = master_by_id(at->master);
    if (!client)
      return done({}, "Redis Cluster: master " + at->master + " serves slots, and this session did not start with it");
    std::vector<std::string> page_scan = scan;
    page_scan[1] = at->cursor;
    client->command(page_scan, [this, at = *at, done](redisReply* r) {
      if (closing_) return;
      if (!r) return done({}, "Redis Cluster connection lost with a SCAN in flight");
      Reply page = projection::copy_reply(*r);
      if (page.kind != Reply::Kind::Array || page.elements.size() != 2) return done(std::move(page), "");
      read_layout([at, page = std::move(page), done](std::optional<cluster::Layout> after, const std::string& error) mutable {
        if (!after) return done({}, error);
        page.elements[0].str = cluster::format_walk_cursor(cluster::after_page(at, *after, page.elements[0].str));
        done(std::move(page), "");
      });
    });
    client->flush();
  });
}

bool ClusterSink::write(const redis::RespWriter& writes, Done done) {
  if (!broken_.empty()) return false;
  std::shared_ptr<cluster::Intent> intent;
  try {
    intent = std::make_shared<cluster::Intent>(cluster::plan_batch(writes.buffer(), writes.starts(), next_batch_, keys_));
  } catch (const std::invalid_argument& e) {
    done({Written::Kind::unexpected, e.what()});
    return true;
  }
  ++next_batch_;
  enqueue([this, intent, done] {
    if (!broken_.empty()) {
      done_op();
      return done({Written::Kind::lost, broken_});
    }
    const std::string key = cluster::intent_key(keys_.prefix(), keys_.checkpoint());
    struct Set {
      std::shared_ptr<cluster::Intent> intent;
      std::string frame;
    };
    auto set = std::make_shared<Set>(Set{intent, {}});
    auto pieces = cluster::set_intent_pieces(key, *intent, set->frame);
    send_pieces(redis::key_slot(key), std::move(pieces), 1, set, "the intent of batch " + std::to_string(intent->batch),
                 [this, intent, done, key](redisReply* r, const std::string&, const std::string& undelivered) {
                   std::string why = undelivered;
                   if (r && r->type == REDIS_REPLY_ERROR)
                     why = "Redis refused the intent " + key + ": " + redis::describe_reply_error(r);
                   if (!why.empty()) {
                     done_op();
                     break_down(why);
                     return done({Written::Kind::lost, why});
                   }
                   send_slots(intent, done);
                 });
    flush();
  });
  return true;
}

// Every slot's transaction at once, each to its master; the finish once all are in.
void ClusterSink::send_slots(std::shared_ptr<cluster::Intent> intent, Done done) {
  if (intent->transactions.empty()) return send_finish(intent, done);
  struct State {
    size_t left = 0;
    bool over = false;
  };
  auto st = std::make_shared<State>();
  st->left = intent->transactions.size();
  auto end = [this, st, done](Written result) {
    st->over = true;
    done_op();
    if (result.kind != Written::Kind::partial) break_down(result.error);
    done(result);
  };
  const std::string batch = "batch " + std::to_string(intent->batch);
  for (const auto& t : intent->transactions) {
    const std::string where = "slot " + std::to_string(t.slot) + " of " + batch;
    send_transaction(t, intent, where, [this, st, intent, end, done, slot = t.slot, where](
                                           redisReply* r, const std::string& queued, const std::string& undelivered) {
      if (st->over) return;
      if (!r) return end({Written::Kind::lost, undelivered});
      if (r->type == REDIS_REPLY_ERROR)
        return end({Written::Kind::lost, "Redis refused " + where + ": " +
                                             (queued.empty() ? redis::describe_reply_error(r) : queued) +
                                             "; the next start applies the batch from its intent"});
      if (r->type != REDIS_REPLY_ARRAY) return end({Written::Kind::unexpected, "unexpected reply to EXEC of " + where});
      for (size_t i = 0; i < r->elements; ++i)
        if (r->element[i]->type == REDIS_REPLY_ERROR)
          return end({Written::Kind::partial, redis::describe_reply_error(r->element[i]) + " (" + where + ")"});
      ledger_.acknowledged(slot, intent->batch);
      if (--st->left == 0) {
        st->over = true;
        send_finish(intent, done);
      }
    });
    if (st->over) return;  // a send failed at once: the end is said
  }
  flush();
}

void ClusterSink::send_finish(std::shared_ptr<cluster::Intent> intent, Done done) {
  const redis::SlotTransaction& f = intent->finish;
  auto end = [this, done](Written result) {
    done_op();
    if (result.kind != Written::Kind::applied) break_down(result.error);
    done(result);
  };
  const std::string where = "the finish of batch " + std::to_string(intent->batch);
  send_transaction(f, intent, where, [this, intent, end, where](redisReply* r, const std::string& queued,
                                                                 const std::string& undelivered) {
    if (!r) return end({Written::Kind::lost, undelivered});
    if (r->type == REDIS_REPLY_ERROR)
      return end({Written::Kind::lost,
                  "Redis refused " + where + ": " + (queued.empty() ? redis::describe_reply_error(r) : queued)});
    if (r->type != REDIS_REPLY_ARRAY) return end({Written::Kind::unexpected, "unexpected reply to EXEC of " + where});
    for (size_t i = 0; i < r->elements; ++i)
      if (r->element[i]->type == REDIS_REPLY_ERROR)
        return end({Written::Kind::partial, redis::describe_reply_error(r->element[i]) + " (" + where + ")"});
    last_batch_ = intent->batch;
    ledger_.acknowledged(intent->finish.slot, intent->batch);  // the checkpoint's `batch`
    end({Written::Kind::applied, ""});
  });
  flush();
}

bool ClusterSink::mark_dirty(const std::string& lsn, std::function<void()> done) {
  enqueue([this, lsn, done] {
    redis::AsyncClient* client = master_for(redis::key_slot(keys_.checkpoint()));
    if (!client) {
      done_op();
      return done();
    }
    client->command({"HSET", keys_.checkpoint(), checkpoint::field::dirty, lsn}, [this, done](redisReply*) {
      if (closing_) return;
      done_op();
      done();
    });
    client->flush();
  });
  return true;
}

void ClusterSink::flush() {
  for (auto& m : masters_)
    if (m->client->connected()) m->client->flush();
}

}  // namespace pgcqrs::sidecar::sink
