// hiredis's reader with object functions that build replies in an arena (reply_reader.hpp).
#include "pgcqrs/sidecar/redis/reply_reader.hpp"

#include <hiredis/hiredis.h>
#include <hiredis/read.h>

#include <algorithm>
#include <cstring>
#include <new>

namespace pgcqrs::sidecar::redis {

namespace {

constexpr size_t kBlockSize = 64 * 1024;
constexpr size_t kKeptBytes = 8 * 1024 * 1024;  // a giant reply's blocks are not kept forever

ReplyArena& arena_of(const redisReadTask* t) { return *static_cast<ReplyArena*>(t->privdata); }

redisReply* make(const redisReadTask* t, int type) {
  auto* r = static_cast<redisReply*>(arena_of(t).alloc(sizeof(redisReply)));
  std::memset(r, 0, sizeof *r);
  r->type = type;
  if (t->parent) static_cast<redisReply*>(t->parent->obj)->element[t->idx] = r;
  return r;
}

void* create_string(const redisReadTask* t, char* str, size_t len) {
  redisReply* r = make(t, t->type);
  r->str = static_cast<char*>(arena_of(t).alloc(len + 1));
  std::memcpy(r->str, str, len);
  r->str[len] = '\0';
  r->len = len;
  return r;
}

void* create_array(const redisReadTask* t, int elements) {
  redisReply* r = make(t, REDIS_REPLY_ARRAY);
  if (elements > 0) {
    r->elements = static_cast<size_t>(elements);
    r->element = static_cast<redisReply**>(arena_of(t).alloc(r->elements * sizeof(redisReply*)));
    std::fill_n(r->element, r->elements, nullptr);
  }
  return r;
}

void* create_integer(const redisReadTask* t, long long value) {
  redisReply* r = make(t, REDIS_REPLY_INTEGER);
  r->integer = value;
  return r;
}

void* create_nil(const redisReadTask* t) { return make(t, REDIS_REPLY_NIL); }

void free_object(void*) {}  // the arena owns everything

redisReplyObjectFunctions arena_functions = {create_string, create_array, create_integer, create_nil, free_object};

}  // namespace

void* ReplyArena::alloc(size_t n) {
  n = (n + 15) & ~size_t{15};
  while (current_ < blocks_.size()) {
    Block& b = blocks_[current_];
    if (used_ + n <= b.size) {
      void* p = b.data.get() + used_;
      used_ += n;
      return p;
    }
    ++current_;
    used_ = 0;
  }
  size_t size = std::max(n, kBlockSize);
  blocks_.push_back(Block{std::make_unique<char[]>(size), size});
  current_ = blocks_.size() - 1;
  used_ = n;
  return blocks_.back().data.get();
}

void ReplyArena::reset() {
  size_t kept = 0, keep = 0;
  while (keep < blocks_.size() && (keep == 0 || kept + blocks_[keep].size <= kKeptBytes)) kept += blocks_[keep++].size;
  blocks_.erase(blocks_.begin() + static_cast<std::ptrdiff_t>(keep), blocks_.end());
  current_ = used_ = 0;
}

ReplyReader::ReplyReader() : reader_(redisReaderCreateWithFunctions(&arena_functions)) {
  if (!reader_) throw std::bad_alloc();
  reader_->privdata = &arena_;
  reader_->maxbuf = 0;  // keep the read buffer's memory when it empties
}

ReplyReader::~ReplyReader() { redisReaderFree(reader_); }

void ReplyReader::feed(const char* data, size_t n) {
  if (redisReaderFeed(reader_, data, n) != REDIS_OK && error_.empty()) error_ = "out of memory reading a reply";
}

redisReply* ReplyReader::next() {
  if (!error_.empty()) return nullptr;
  if (handed_out_) {
    arena_.reset();  // only between complete replies: a partial one lives in the arena
    handed_out_ = false;
  }
  void* reply = nullptr;
  if (redisReaderGetReply(reader_, &reply) != REDIS_OK) {
    error_ = reader_->errstr[0] ? reader_->errstr : "malformed reply";
    return nullptr;
  }
  handed_out_ = reply != nullptr;
  return static_cast<redisReply*>(reply);
}

}  // namespace pgcqrs::sidecar::redis
