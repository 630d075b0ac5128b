// Replies parsed by hiredis's reader into the arena: every RESP type, replies split across
// reads, memory reused between replies, and bytes that are not RESP.
#include <gtest/gtest.h>
#include <hiredis/hiredis.h>

#include "pgcqrs/sidecar/redis/reply_reader.hpp"

using pgcqrs::sidecar::redis::ReplyReader;

namespace {
std::string text(const redisReply* r) { return std::string(r->str, r->len); }
}  // namespace

TEST(ReplyReader, EveryType) {
  ReplyReader reader;
  using namespace std::string_literals;
  std::string bytes = "+OK\r\n-ERR no\r\n:-42\r\n$-1\r\n$3\r\na\0b\r\n*-1\r\n*0\r\n"s;
  reader.feed(bytes.data(), bytes.size());
  redisReply* r = reader.next();
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->type, REDIS_REPLY_STATUS);
  EXPECT_EQ(text(r), "OK");
  r = reader.next();
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->type, REDIS_REPLY_ERROR);
  EXPECT_EQ(text(r), "ERR no");
  r = reader.next();
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->type, REDIS_REPLY_INTEGER);
  EXPECT_EQ(r->integer, -42);
  r = reader.next();
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->type, REDIS_REPLY_NIL);
  r = reader.next();
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->type, REDIS_REPLY_STRING);
  EXPECT_EQ(text(r), std::string("a\0b", 3));
  EXPECT_EQ(r->str[3], '\0');  // terminated, as hiredis's own replies are
  r = reader.next();
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->type, REDIS_REPLY_NIL);
  r = reader.next();
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->type, REDIS_REPLY_ARRAY);
  EXPECT_EQ(r->elements, 0u);
  EXPECT_EQ(reader.next(), nullptr);
  EXPECT_EQ(reader.error(), "");
}

TEST(ReplyReader, NestedArraysSplitAcrossReads) {
  ReplyReader reader;
  std::string bytes = "*3\r\n:1\r\n*2\r\n$1\r\nx\r\n$-1\r\n+QUEUED\r\n";
  for (size_t i = 0; i + 1 < bytes.size(); ++i) {  // one byte at a time: never complete early
    reader.feed(&bytes[i], 1);
    ASSERT_EQ(reader.next(), nullptr) << "at byte " << i;
  }
  reader.feed(&bytes.back(), 1);
  redisReply* r = reader.next();
  ASSERT_NE(r, nullptr);
  ASSERT_EQ(r->type, REDIS_REPLY_ARRAY);
  ASSERT_EQ(r->elements, 3u);
  EXPECT_EQ(r->element[0]->integer, 1);
  ASSERT_EQ(r->element[1]->type, REDIS_REPLY_ARRAY);
  ASSERT_EQ(r->element[1]->elements, 2u);
  EXPECT_EQ(text(r->element[1]->element[0]), "x");
  EXPECT_EQ(r->element[1]->element[1]->type, REDIS_REPLY_NIL);
  EXPECT_EQ(text(r->element[2]), "QUEUED");
}

TEST(ReplyReader, RepliesReuseTheArena) {
  ReplyReader reader;
  std::string one = "*2\r\n$5\r\nhello\r\n:7\r\n";
  reader.feed(one.data(), one.size());
  redisReply* first = reader.next();
  ASSERT_NE(first, nullptr);
  EXPECT_EQ(reader.next(), nullptr);
  reader.feed(one.data(), one.size());
  redisReply* second = reader.next();
  ASSERT_NE(second, nullptr);
  EXPECT_EQ(second, first);  // the same memory: nothing allocated for the second reply
  EXPECT_EQ(second->element[0], first->element[0]);
  EXPECT_EQ(text(second->element[0]), "hello");
  EXPECT_EQ(reader.arena().blocks(), 1u);
}

TEST(ReplyReader, AReplyLargerThanABlock) {
  ReplyReader reader;
  std::string big(200000, 'z');
  std::string bytes = "*2\r\n$200000\r\n" + big + "\r\n+OK\r\n";
  reader.feed(bytes.data(), bytes.size());
  redisReply* r = reader.next();
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(text(r->element[0]), big);
  EXPECT_EQ(text(r->element[1]), "OK");
}

TEST(ReplyReader, BytesThatAreNotResp) {
  ReplyReader reader;
  std::string bytes = "+OK\r\n?what\r\n";
  reader.feed(bytes.data(), bytes.size());
  ASSERT_NE(reader.next(), nullptr);
  EXPECT_EQ(reader.next(), nullptr);
  EXPECT_NE(reader.error(), "");
  EXPECT_EQ(reader.next(), nullptr);  // stays broken
}
