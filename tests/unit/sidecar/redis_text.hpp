// Redis in the projection's tests: replies built from text, the commands a commit wrote as
// text ("HSET k f v ..."), and a typed store's reads answered.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "pgcqrs/sidecar/projection/redis_view.hpp"
#include "pgcqrs/sidecar/projection/reply.hpp"
#include "pgcqrs/sidecar/redis/resp.hpp"

inline pgcqrs::sidecar::projection::Reply str(std::string s) {
  pgcqrs::sidecar::projection::Reply r;
  r.kind = pgcqrs::sidecar::projection::Reply::Kind::String;
  r.str = std::move(s);
  return r;
}
inline pgcqrs::sidecar::projection::Reply integer(int64_t v) {
  pgcqrs::sidecar::projection::Reply r;
  r.kind = pgcqrs::sidecar::projection::Reply::Kind::Integer;
  r.integer = v;
  return r;
}
// An array of strings: HGETALL's fields and values, ZREVRANGE's members and scores, ...
inline pgcqrs::sidecar::projection::Reply array(std::vector<std::string> items) {
  pgcqrs::sidecar::projection::Reply r;
  r.kind = pgcqrs::sidecar::projection::Reply::Kind::Array;
  for (auto& s : items) r.elements.push_back(str(std::move(s)));
  return r;
}
inline pgcqrs::sidecar::projection::Reply ok() {
  pgcqrs::sidecar::projection::Reply r;
  r.kind = pgcqrs::sidecar::projection::Reply::Kind::Status;
  r.str = "OK";
  return r;
}

// The commands of a RESP buffer as the projector writes them (arrays of bulk strings).
inline std::vector<std::string> resp_commands(const std::string& b) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < b.size()) {
    size_t eol = b.find("\r\n", i);
    const size_t n = std::stoul(b.substr(i + 1, eol - i - 1));
    i = eol + 2;
    std::string cmd;
    for (size_t k = 0; k < n; ++k) {
      eol = b.find("\r\n", i);
      const size_t len = std::stoul(b.substr(i + 1, eol - i - 1));
      i = eol + 2;
      if (k > 0) cmd += ' ';
      cmd += b.substr(i, len);
      i += len + 2;
    }
    out.push_back(cmd);
  }
  return out;
}

// The reads a typed store asked for through its view, each answered by the store in turn.
template <class Store>
void answer_store_reads(pgcqrs::sidecar::projection::RedisView& view, Store& store,
                        const std::vector<pgcqrs::sidecar::projection::Reply>& replies) {
  auto reads = view.take_reads();
  ASSERT_EQ(reads.size(), replies.size());
  for (size_t i = 0; i < reads.size(); ++i) {
    ASSERT_TRUE(store.owns(reads[i])) << reads[i][0] << " " << reads[i][1];
    store.absorb(reads[i], replies[i]);
  }
}

// What a typed store's commit writes, a command a string.
template <class Store>
std::vector<std::string> commit_as_text(Store& store) {
  pgcqrs::sidecar::redis::RespWriter out;
  store.commit(out);
  return resp_commands(out.buffer());
}
