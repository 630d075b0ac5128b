// Replies parsed by hiredis's reply reader into redisReply trees built in a reused arena:
// once the arena has grown to the largest reply seen, parsing a reply allocates nothing.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

struct redisReader;
struct redisReply;

namespace pgcqrs::sidecar::redis {

// A bump allocator whose blocks are kept across reset().
class ReplyArena {
 public:
  void* alloc(size_t n);
  void reset();
  size_t blocks() const { return blocks_.size(); }

 private:
  struct Block {
    std::unique_ptr<char[]> data;
    size_t size;
  };
  std::vector<Block> blocks_;
  size_t current_ = 0, used_ = 0;
};

class ReplyReader {
 public:
  ReplyReader();
  ~ReplyReader();
  ReplyReader(const ReplyReader&) = delete;
  ReplyReader& operator=(const ReplyReader&) = delete;

  // Bytes as they came off the connection (any split).
  void feed(const char* data, size_t n);

  // The next complete reply, or nullptr when more bytes are needed or the bytes are not RESP
  // (error() then says why, and the connection is unusable). A reply stays valid until the
  // next call of next().
  redisReply* next();
  const std::string& error() const { return error_; }

  const ReplyArena& arena() const { return arena_; }

 private:
  redisReader* reader_;
  ReplyArena arena_;
  bool handed_out_ = false;  // the arena holds a complete reply the caller has seen
  std::string error_;
};

}  // namespace pgcqrs::sidecar::redis
