// The RESP formatter: the exact bytes Redis reads for argument vectors and RespWriter calls.
#include <gtest/gtest.h>

#include "pgcqrs/sidecar/redis/resp.hpp"

using namespace pgcqrs::sidecar::redis;

TEST(Resp, ArgumentVectorIsAnArrayOfBulkStrings) {
  std::string out;
  append_command(out, {"SET", "k", "value"});
  EXPECT_EQ(out, "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nvalue\r\n");
}

TEST(Resp, BinarySafeAndEmptyArguments) {
  std::string out;
  append_command(out, {"SET", std::string("a\0\r\nb", 5), ""});
  EXPECT_EQ(out, std::string("*3\r\n$3\r\nSET\r\n$5\r\na\0\r\nb\r\n$0\r\n\r\n", 30));
}

TEST(Resp, CommandsAppendToTheSameBuffer) {
  std::string out;
  append_command(out, {"PING"});
  append_command(out, {"GET", "key"});
  EXPECT_EQ(out, "*1\r\n$4\r\nPING\r\n*2\r\n$3\r\nGET\r\n$3\r\nkey\r\n");
}

TEST(Resp, LongArgumentsHaveMultiDigitLengths) {
  std::string out;
  append_command(out, {std::string(1234, 'x')});
  EXPECT_EQ(out, "*1\r\n$1234\r\n" + std::string(1234, 'x') + "\r\n");
}

TEST(Resp, WriterRecordsWhereEachCommandStarts) {
  RespWriter w;
  w.cmd("MULTI");
  w.cmd("HSET", Cat{"order:", "42"}, "n", int64_t{-7});
  w.begin(2);
  w.arg(std::string("DEL"));
  w.arg("k");
  EXPECT_EQ(w.buffer(),
            "*1\r\n$5\r\nMULTI\r\n"
            "*4\r\n$4\r\nHSET\r\n$8\r\norder:42\r\n$1\r\nn\r\n$2\r\n-7\r\n"
            "*2\r\n$3\r\nDEL\r\n$1\r\nk\r\n");
  EXPECT_EQ(w.starts(), (std::vector<size_t>{0, 15, 58}));
  EXPECT_EQ(w.commands(), 3u);
}

TEST(Resp, WriterAndArgumentVectorAgree) {
  RespWriter w;
  w.cmd("HSET", "user:1", "name", std::string("a\0b", 3));
  std::string out;
  append_command(out, {"HSET", "user:1", "name", std::string("a\0b", 3)});
  EXPECT_EQ(w.buffer(), out);
}

TEST(Resp, EveryArgumentLengthIsFramedTheSame) {
  // Short arguments are framed on the stack, long ones appended piece by piece: the bytes
  // must not show where one way ends and the other begins.
  std::string out = "prefix";
  std::string expected = "prefix";
  for (size_t n = 0; n <= 300; ++n) {
    const std::string a(n, static_cast<char>('a' + n % 26));
    append_bulk(out, a);
    expected += "$" + std::to_string(n) + "\r\n" + a + "\r\n";
  }
  EXPECT_EQ(out, expected);
}
