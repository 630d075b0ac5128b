// One Redis or a Redis Cluster, blocking (deployment.hpp).
#include "pgcqrs/sidecar/redis/deployment.hpp"

#include <hiredis/hiredis.h>

namespace pgcqrs::sidecar::redis {

Deployment::Deployment(const Endpoint& ep, int timeout_ms) : single_(std::make_unique<SyncClient>(ep, timeout_ms)) {
  auto r = single_->command({"CONFIG", "GET", "cluster-enabled"}, true);  // refused: not a cluster we can tell
  if (r->type == REDIS_REPLY_ARRAY && r->elements == 2 && reply_string(r->element[1]) == "yes") {
    single_.reset();
    cluster_ = std::make_unique<ClusterClient>(ep, timeout_ms);
  }
}

ReplyPtr Deployment::command(const std::string& key, const std::vector<std::string>& argv, bool allow_error) {
  return cluster_ ? cluster_->command(key, argv, allow_error) : single_->command(argv, allow_error);
}

std::vector<ReplyPtr> Deployment::pipeline(const Keyed& commands) {
  if (cluster_) return cluster_->pipeline(commands);
  for (const auto& c : commands) single_->append(c.second);
  std::vector<ReplyPtr> replies;
  for (size_t i = 0; i < commands.size(); ++i) replies.push_back(single_->read_reply());
  return replies;
}

std::vector<ReplyPtr> Deployment::on_each_master(const std::vector<std::string>& argv, bool allow_error) {
  if (cluster_) return cluster_->on_each_master(argv, allow_error);
  std::vector<ReplyPtr> replies;
  replies.push_back(single_->command(argv, allow_error));
  return replies;
}

std::vector<std::string> Deployment::scan(const std::string& pattern) {
  if (cluster_) return cluster_->scan(pattern);
  std::vector<std::string> keys;
  std::string cursor = "0";
  do {
    auto reply = single_->command({"SCAN", cursor, "MATCH", pattern, "COUNT", "1000"});
    if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 2) throw RedisError("unexpected SCAN reply");
    cursor = reply_string(reply->element[0]);
    const redisReply* batch = reply->element[1];
    for (size_t i = 0; i < batch->elements; ++i) keys.push_back(reply_string(batch->element[i]));
  } while (cursor != "0");
  return keys;
}

uint64_t Deployment::unlink(const std::vector<std::string>& keys) {
  uint64_t n = 0;
  if (keys.empty()) return 0;
  if (!cluster_) {
    std::vector<std::string> argv{"UNLINK"};
    argv.insert(argv.end(), keys.begin(), keys.end());
    return static_cast<uint64_t>(single_->command(argv)->integer);
  }
  Keyed commands;
  for (const auto& k : keys) commands.push_back({k, {"UNLINK", k}});
  for (const auto& r : cluster_->pipeline(commands)) n += static_cast<uint64_t>(r->integer);
  return n;
}

}  // namespace pgcqrs::sidecar::redis
