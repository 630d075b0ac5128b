// The Redis that --redis names, as the blocking parts of pgcqrs use it (start-up, the copy,
// verify): one Redis, or a Redis Cluster when the node says cluster-enabled yes. Each command
// names its key, which routes it on a cluster and is ignored on one Redis; what spans the
// keyspace (SCAN, settings) goes to every master.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "pgcqrs/sidecar/redis/cluster_client.hpp"
#include "pgcqrs/sidecar/redis/endpoint.hpp"
#include "pgcqrs/sidecar/redis/resp.hpp"
#include "pgcqrs/sidecar/redis/sync_client.hpp"

namespace pgcqrs::sidecar::redis {

class Deployment {
 public:
  using Keyed = std::vector<std::pair<std::string, std::vector<std::string>>>;  // commands with their keys

  // Connects to ep and asks CONFIG GET cluster-enabled; a user that may not ask is taken to
  // be on one Redis. Throws RedisError as SyncClient and ClusterClient do.
  Deployment(const Endpoint& ep, int timeout_ms);

  bool cluster() const { return cluster_ != nullptr; }
  // The clients themselves: single() on one Redis (the copy's pipelined fast path), cluster()
  // on a cluster (its slot map, the intent's recovery).
  SyncClient* single() { return single_.get(); }
  ClusterClient* cluster_client() { return cluster_.get(); }

  ReplyPtr command(const std::string& key, const std::vector<std::string>& argv, bool allow_error = false);
  // Pipelined: the replies in the order of the commands.
  std::vector<ReplyPtr> pipeline(const Keyed& commands);
  // argv on every master (on one Redis: on it), for what each answers of itself.
  std::vector<ReplyPtr> on_each_master(const std::vector<std::string>& argv, bool allow_error = false);
  // The keys matching pattern, on every master.
  std::vector<std::string> scan(const std::string& pattern);
  // UNLINKs keys (on a cluster, each on its master); returns how many existed.
  uint64_t unlink(const std::vector<std::string>& keys);

 private:
  std::unique_ptr<SyncClient> single_;
  std::unique_ptr<ClusterClient> cluster_;
};

}  // namespace pgcqrs::sidecar::redis
