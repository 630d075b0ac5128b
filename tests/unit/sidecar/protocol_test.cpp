// The replication sub-protocol codec, byte by byte.
#include <gtest/gtest.h>

#include "pgcqrs/sidecar/replication/protocol.hpp"

using namespace pgcqrs::sidecar::replication;

TEST(Protocol, DecodesXLogData) {
  std::string bytes = encode_xlog_data(0x16B374D848ULL, 0x16B374D900ULL, 123456789, "{\"type\":\"begin\"}");
  ASSERT_EQ(bytes.size(), 25u + 16u);
  EXPECT_EQ(bytes[0], 'w');
  EXPECT_EQ(static_cast<unsigned char>(bytes[4]), 0x16);  // big-endian: high bytes first
  auto m = decode_server_message(bytes);
  auto* x = std::get_if<XLogData>(&m);
  ASSERT_NE(x, nullptr);
  EXPECT_EQ(x->wal_start, 0x16B374D848ULL);
  EXPECT_EQ(x->wal_end, 0x16B374D900ULL);
  EXPECT_EQ(x->send_time, 123456789);
  EXPECT_EQ(x->data, "{\"type\":\"begin\"}");
}

TEST(Protocol, DecodesXLogDataWithEmptyPayload) {
  auto m = decode_server_message(encode_xlog_data(1, 2, 3, ""));
  ASSERT_TRUE(std::holds_alternative<XLogData>(m));
  EXPECT_TRUE(std::get<XLogData>(m).data.empty());
}

TEST(Protocol, DecodesKeepalive) {
  auto m = decode_server_message(encode_keepalive(0xABCDEF0123ULL, -5, true));
  auto* k = std::get_if<Keepalive>(&m);
  ASSERT_NE(k, nullptr);
  EXPECT_EQ(k->wal_end, 0xABCDEF0123ULL);
  EXPECT_EQ(k->send_time, -5);
  EXPECT_TRUE(k->reply_requested);
  auto quiet = decode_server_message(encode_keepalive(1, 1, false));
  EXPECT_FALSE(std::get<Keepalive>(quiet).reply_requested);
}

TEST(Protocol, RejectsTruncatedAndUnknownMessages) {
  EXPECT_TRUE(std::holds_alternative<DecodeError>(decode_server_message("")));
  std::string x = encode_xlog_data(1, 2, 3, "");
  EXPECT_TRUE(std::holds_alternative<DecodeError>(decode_server_message(x.substr(0, 24))));
  std::string k = encode_keepalive(1, 2, false);
  EXPECT_TRUE(std::holds_alternative<DecodeError>(decode_server_message(k.substr(0, 17))));
  EXPECT_TRUE(std::holds_alternative<DecodeError>(decode_server_message(k + "x")));
  auto unknown = decode_server_message("z1234");
  ASSERT_TRUE(std::holds_alternative<DecodeError>(unknown));
  EXPECT_NE(std::get<DecodeError>(unknown).message.find("0x7a"), std::string::npos);
}

TEST(Protocol, EncodesStatusUpdate) {
  std::string s = encode_status_update(0x0102030405060708ULL, 0x10, 0x20, 0x30, true);
  ASSERT_EQ(s.size(), 34u);
  EXPECT_EQ(s[0], 'r');
  EXPECT_EQ(s[1], 0x01);
  EXPECT_EQ(s[8], 0x08);
  EXPECT_EQ(s[16], 0x10);
  EXPECT_EQ(s[24], 0x20);
  EXPECT_EQ(s[32], 0x30);
  EXPECT_EQ(s[33], 1);
}

TEST(Protocol, ConvertsEpochs) {
  EXPECT_EQ(pg_micros_from_unix(946684800LL * 1000000LL), 0);
  EXPECT_EQ(unix_micros_from_pg(0), 946684800LL * 1000000LL);
}
