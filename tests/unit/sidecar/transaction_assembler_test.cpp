// Transactions become projection calls: one per transaction, bounded chunks for huge ones.
#include <gtest/gtest.h>

#include "pgcqrs/sidecar/projection/transaction_assembler.hpp"

using namespace pgcqrs::sidecar::projection;

namespace {
Message parse(const std::string& json) {
  auto r = parse_message(json);
  EXPECT_TRUE(r.message) << r.error;
  return *r.message;
}
Message begin(const char* lsn) { return parse(std::string(R"({"type":"begin","v":1,"xid":1,"lsn":")") + lsn + R"(","commit_time":"2026-01-01T00:00:00.000000Z"})"); }
Message commit(const char* lsn, int events) {
  return parse(std::string(R"({"type":"commit","xid":1,"lsn":")") + lsn + R"(","events":)" + std::to_string(events) + "}");
}
Message user_deleted(const char* lsn, int seq) {
  return parse(std::string(R"({"type":"UserDeleted","xid":1,"lsn":")") + lsn + R"(","seq":)" + std::to_string(seq) + R"(,"user_id":)" + std::to_string(seq + 1) + "}");
}
Message renamed(const char* lsn, int seq, size_t name_bytes) {
  return parse(std::string(R"({"type":"UserRenamed","xid":1,"lsn":")") + lsn + R"(","seq":)" + std::to_string(seq) +
               R"(,"user_id":1,"name":")" + std::string(name_bytes, 'n') + "\"}");
}
Message app(const char* lsn, int seq) {
  return parse(std::string(R"({"type":"Ping","app":true,"lsn":")") + lsn + R"(","seq":)" + std::to_string(seq) + R"(,"payload":{"type":"Ping"}})");
}
}  // namespace

TEST(TransactionAssembler, OneCallPerTransaction) {
  TransactionAssembler a;
  std::vector<ScriptCall> out;
  EXPECT_EQ(a.feed(begin("0/10"), out), "");
  EXPECT_TRUE(a.in_transaction());
  EXPECT_EQ(a.feed(user_deleted("0/10", 0), out), "");
  EXPECT_EQ(a.feed(app("0/10", 1), out), "");
  EXPECT_EQ(a.feed(user_deleted("0/10", 2), out), "");
  EXPECT_TRUE(out.empty());
  EXPECT_EQ(a.feed(commit("0/10", 3), out), "");
  EXPECT_FALSE(a.in_transaction());
  ASSERT_EQ(out.size(), 1u);
  EXPECT_TRUE(out[0].final);
  EXPECT_EQ(out[0].lsn, 0x10u);
  EXPECT_EQ(out[0].commit_time, "2026-01-01T00:00:00.000000Z");
  EXPECT_EQ(out[0].events, (std::vector<DomainEvent>{{0, ev::UserDeleted{1}}, {2, ev::UserDeleted{3}}}));
}

TEST(TransactionAssembler, ApplicationOnlyTransactionStillMovesTheCheckpoint) {
  TransactionAssembler a;
  std::vector<ScriptCall> out;
  a.feed(begin("0/20"), out);
  a.feed(app("0/20", 0), out);
  EXPECT_EQ(a.feed(commit("0/20", 1), out), "");
  ASSERT_EQ(out.size(), 1u);
  EXPECT_TRUE(out[0].final);
  EXPECT_TRUE(out[0].events.empty());
}

TEST(TransactionAssembler, ChunksHugeTransactions) {
  TransactionAssembler a(AssemblerLimits{2, 1 << 20});
  std::vector<ScriptCall> out;
  a.feed(begin("0/30"), out);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(a.feed(user_deleted("0/30", i), out), "");
  EXPECT_EQ(out.size(), 2u);
  a.feed(commit("0/30", 5), out);
  ASSERT_EQ(out.size(), 3u);
  EXPECT_FALSE(out[0].final);
  EXPECT_FALSE(out[1].final);
  EXPECT_TRUE(out[2].final);
  EXPECT_EQ(out[0].events.front().seq, 0);
  EXPECT_EQ(out[1].events.front().seq, 2);
  EXPECT_EQ(out[2].events.front().seq, 4);
  for (const auto& c : out) EXPECT_EQ(c.lsn, 0x30u);
}

TEST(TransactionAssembler, RejectsBrokenFraming) {
  std::vector<ScriptCall> out;
  {
    TransactionAssembler a;
    EXPECT_NE(a.feed(user_deleted("0/1", 0), out).find("outside a transaction"), std::string::npos);
    EXPECT_NE(a.feed(commit("0/1", 0), out).find("outside a transaction"), std::string::npos);
  }
  {
    TransactionAssembler a;
    a.feed(begin("0/1"), out);
    EXPECT_NE(a.feed(begin("0/2"), out).find("inside the open transaction"), std::string::npos);
    EXPECT_NE(a.feed(user_deleted("0/2", 0), out).find("does not match"), std::string::npos);
    EXPECT_NE(a.feed(commit("0/1", 4), out).find("counts 4 events"), std::string::npos);
  }
}


TEST(TransactionAssembler, EveryChunkCarriesItsTransactionAndByteCount) {
  TransactionAssembler a(AssemblerLimits{2, 1 << 20});
  std::vector<ScriptCall> out;
  a.feed(begin("0/40"), out);
  for (int i = 0; i < 3; ++i) a.feed(user_deleted("0/40", i), out);
  a.feed(commit("0/40", 3), out);
  // The next transaction starts from nothing of the last one.
  a.feed(begin("0/50"), out);
  a.feed(user_deleted("0/50", 0), out);
  EXPECT_EQ(a.feed(commit("0/50", 1), out), "");
  ASSERT_EQ(out.size(), 3u);
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(out[i].lsn_text, "0/40");
    EXPECT_EQ(out[i].commit_time, "2026-01-01T00:00:00.000000Z");
  }
  EXPECT_EQ(out[0].events, (std::vector<DomainEvent>{{0, ev::UserDeleted{1}}, {1, ev::UserDeleted{2}}}));
  EXPECT_EQ(out[0].bytes, 2 * sizeof(DomainEvent));  // a UserDeleted holds no text
  EXPECT_EQ(out[1].events, (std::vector<DomainEvent>{{2, ev::UserDeleted{3}}}));
  EXPECT_EQ(out[1].bytes, sizeof(DomainEvent));
  EXPECT_EQ(out[2].lsn, 0x50u);
  EXPECT_EQ(out[2].lsn_text, "0/50");
  EXPECT_EQ(out[2].events, (std::vector<DomainEvent>{{0, ev::UserDeleted{1}}}));
  EXPECT_EQ(out[2].bytes, sizeof(DomainEvent));
}

// A chunk also ends at the event that takes it to the byte limit, texts counted.
TEST(TransactionAssembler, ChunksByTheEventsFootprint) {
  const size_t one = sizeof(DomainEvent) + 600;
  TransactionAssembler a(AssemblerLimits{500, 2 * one});
  std::vector<ScriptCall> out;
  a.feed(begin("0/60"), out);
  for (int i = 0; i < 3; ++i) a.feed(renamed("0/60", i, 600), out);
  EXPECT_EQ(a.feed(commit("0/60", 3), out), "");
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].events.size(), 2u);
  EXPECT_EQ(out[0].bytes, 2 * one);
  EXPECT_FALSE(out[0].final);
  EXPECT_EQ(out[1].events.size(), 1u);
  EXPECT_EQ(out[1].bytes, one);
  EXPECT_TRUE(out[1].final);
}
