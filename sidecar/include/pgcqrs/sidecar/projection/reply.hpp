// A Redis reply as plain data, copied out of hiredis, so that the projection's logic can be
// driven (and tested) without a connection.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

struct redisReply;

namespace pgcqrs::sidecar::projection {

struct Reply {
  enum class Kind { Nil, String, Integer, Array, Error, Status };
  Kind kind = Kind::Nil;
  std::string str;  // String, Error, Status
  int64_t integer = 0;
  std::vector<Reply> elements;
};

Reply copy_reply(const redisReply& r);

}  // namespace pgcqrs::sidecar::projection
