// Blocking hiredis wrapper (RAII for the context and replies).
#include "pgcqrs/sidecar/redis/sync_client.hpp"

#include <hiredis/hiredis.h>
#include <sys/time.h>

namespace pgcqrs::sidecar::redis {

void ReplyDeleter::operator()(redisReply* r) const {
  if (r) freeReplyObject(r);
}

std::vector<std::vector<std::string>> hello_commands(const Endpoint& ep) {
  std::vector<std::vector<std::string>> out;
  if (!ep.password.empty()) {
    if (ep.user.empty())
      out.push_back({"AUTH", ep.password});
    else
      out.push_back({"AUTH", ep.user, ep.password});
  }
  if (ep.db != 0) out.push_back({"SELECT", std::to_string(ep.db)});
  return out;
}

std::string reply_string(const redisReply* r) {
  if (!r) return {};
  switch (r->type) {
    case REDIS_REPLY_STRING:
    case REDIS_REPLY_STATUS:
    case REDIS_REPLY_ERROR:
      return std::string(r->str, r->len);
    case REDIS_REPLY_INTEGER:
      return std::to_string(r->integer);
    default:
      return {};
  }
}

std::string describe_reply_error(const redisReply* r) {
  if (!r) return "no reply (connection lost)";
  if (r->type == REDIS_REPLY_ERROR) return std::string(r->str, r->len);
  return {};
}

std::string reply_error_code(const redisReply* r) {
  if (!r || r->type != REDIS_REPLY_ERROR) return {};
  std::string text(r->str, r->len);
  return text.substr(0, text.find(' '));
}

SyncClient::SyncClient(const Endpoint& ep, int timeout_ms) {
  timeval tv{timeout_ms / 1000, (timeout_ms % 1000) * 1000};
  c_ = ep.is_unix ? redisConnectUnixWithTimeout(ep.path.c_str(), tv) : redisConnectWithTimeout(ep.host.c_str(), ep.port, tv);
  if (!c_ || c_->err) {
    std::string err = c_ ? c_->errstr : "out of memory";
    if (c_) redisFree(c_);
    c_ = nullptr;
    throw RedisError("cannot connect to Redis at " + ep.redacted() + ": " + err);
  }
  redisSetTimeout(c_, tv);
  for (const auto& cmd : hello_commands(ep)) {
    auto r = command(cmd, true);
    if (r->type == REDIS_REPLY_ERROR) {
      std::string what = cmd[0] == "AUTH" ? "authentication" : "SELECT";
      throw RedisError("Redis " + what + " failed at " + ep.redacted() + ": " + describe_reply_error(r.get()),
                       reply_error_code(r.get()), true);
    }
  }
}

SyncClient::~SyncClient() {
  if (c_) redisFree(c_);
}

void SyncClient::append(const std::vector<std::string>& argv) {
  std::vector<const char*> ptrs;
  std::vector<size_t> lens;
  for (const auto& a : argv) {
    ptrs.push_back(a.data());
    lens.push_back(a.size());
  }
  if (redisAppendCommandArgv(c_, static_cast<int>(argv.size()), ptrs.data(), lens.data()) != REDIS_OK)
    throw RedisError(std::string("Redis command ") + argv[0] + " could not be queued: " + c_->errstr);
}

void SyncClient::append_formatted(const std::string& resp) {
  if (redisAppendFormattedCommand(c_, resp.data(), resp.size()) != REDIS_OK)
    throw RedisError(std::string("Redis commands could not be queued: ") + c_->errstr);
}

ReplyPtr SyncClient::read_reply() {
  void* reply = nullptr;
  if (redisGetReply(c_, &reply) != REDIS_OK || !reply)
    throw RedisError(std::string("Redis connection failed: ") + (c_->errstr[0] ? c_->errstr : "no reply"));
  return ReplyPtr(static_cast<redisReply*>(reply));
}

ReplyPtr SyncClient::command(const std::vector<std::string>& argv, bool allow_error) {
  append(argv);
  auto r = read_reply();
  if (!allow_error && r->type == REDIS_REPLY_ERROR)
    throw RedisError("Redis " + argv[0] + " failed: " + describe_reply_error(r.get()), reply_error_code(r.get()));
  return r;
}

}  // namespace pgcqrs::sidecar::redis
