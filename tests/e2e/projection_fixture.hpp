// The projector against a real Redis (started by run_with_redis.sh), batch by batch as the
// sidecar drives it: reads round by round, then one MULTI/EXEC. Shared by the tests of the
// built-in models and of declarative ones.
#pragma once

#include <gtest/gtest.h>
#include <hiredis/hiredis.h>

#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "pgcqrs/core/lsn.hpp"
#include "pgcqrs/sidecar/projection/projector.hpp"
#include "pgcqrs/sidecar/redis/sync_client.hpp"
#include "plugin_messages.hpp"

namespace projection_fixture {

using namespace pgcqrs::sidecar;
using projection::Projector;
using projection::ScriptCall;

const char* kNow = "2026-01-01T00:00:00.000000Z";

// A read model's key in layout 4: the family, the id's bucket (id mod 64) as a hash tag, the
// id (`order_details:{42}:42`).
std::string tagged(const std::string& family, int64_t id) {
  return family + "{" + std::to_string(((id % 64) + 64) % 64) + "}:" + std::to_string(id);
}

class Projection : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* port = std::getenv("PGCQRS_REDIS_PORT");
    ASSERT_NE(port, nullptr) << "run through run_with_redis.sh";
    redis::Endpoint ep;
    ep.port = std::atoi(port);
    redis_ = std::make_unique<redis::SyncClient>(ep, 5000);
    redis_->command({"FLUSHALL"});
  }

  std::vector<ScriptCall> calls(const std::vector<std::string>& messages, size_t max_events = 500) {
    return calls_of(messages, max_events);
  }

  // One batch through the sidecar's projector (its view kept from the last batch): what it
  // did, in the words the checkpoint protocol uses: applied/more tx skipped events, a stop
  // (nocheckpoint, behind, dirty) with its detail, or error and the message. rounds_: how
  // many rounds of reads it took.
  std::vector<std::string> run(std::vector<ScriptCall> cs, const std::string& floor = "0/0", int budget = 1000) {
    projection::ProjectorContext ctx{"pgcqrs", kNow, *pgcqrs::parse_lsn(floor), budget};
    rounds_ = 0;
    try {
      auto step = projector_.start(std::move(cs), Projector::Mode::Transaction, ctx);
      while (step.kind == Projector::Step::Kind::Read) {
        ++rounds_;
        std::vector<projection::Reply> replies;
        for (const auto& c : step.reads) replies.push_back(projection::copy_reply(*redis_->command(c, true)));
        step = projector_.advance(std::move(replies), ctx);
      }
      if (step.kind == Projector::Step::Kind::Stop) {
        redis_->command({"UNWATCH"});
        return {step.reason, step.detail};
      }
      write(step.writes);
    } catch (const std::runtime_error& e) {
      redis_->command({"UNWATCH"});
      projector_.forget();
      return {"error", e.what()};
    }
    const auto& o = projector_.outcome();
    return {o.more ? "more" : "applied", std::to_string(o.applied_transactions), std::to_string(o.skipped_transactions),
            std::to_string(o.applied_events)};
  }

  void write(redis::RespWriter& w) {
    redis_->append_formatted(w.buffer());
    redis::ReplyPtr last;
    for (size_t i = 0; i < w.starts().size(); ++i) last = redis_->read_reply();
    ASSERT_EQ(last->type, REDIS_REPLY_ARRAY) << "EXEC did not run";
    for (size_t i = 0; i < last->elements; ++i)
      EXPECT_NE(last->element[i]->type, REDIS_REPLY_ERROR) << redis::reply_string(last->element[i]);
  }

  void mark(const std::string& lsn) {
    ScriptCall c;
    c.lsn_text = lsn;
    c.lsn = *pgcqrs::parse_lsn(lsn);
    c.final = true;
    Projector p;
    auto step = p.start({c}, Projector::Mode::Mark, {"pgcqrs", kNow, 0, 1000});
    write(step.writes);
  }

  std::string hget(const std::string& key, const std::string& field) {
    return redis::reply_string(redis_->command({"HGET", key, field}).get());
  }

  std::unique_ptr<redis::SyncClient> redis_;
  Projector projector_;
  int rounds_ = 0;
};

}  // namespace projection_fixture
