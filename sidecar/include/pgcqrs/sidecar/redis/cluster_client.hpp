// A blocking client for a Redis Cluster, for what SyncClient does on one Redis (start-up
// checks, copies, `verify`, the query client). One SyncClient per master; every command goes to
// the master of its key's slot. The cluster's answers while it changes are handled here:
// - MOVED: the slot has a new master; the map is corrected and the command sent there.
// - ASK: the slot is migrating and the key is already on the importing node; the command is
//   sent there once, after ASKING, and the map is left as it is.
// - TRYAGAIN (a multi-key command during a migration), CLUSTERDOWN, LOADING, a lost
//   connection (a master failing over): sent again after a backoff, with the map read again,
//   until retry_ms have passed; then the last error is thrown.
// A transaction's keys must share a slot: otherwise a RedisError with code CROSSSLOT is thrown.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pgcqrs/sidecar/redis/endpoint.hpp"
#include "pgcqrs/sidecar/redis/slot_map.hpp"
#include "pgcqrs/sidecar/redis/slot_split.hpp"
#include "pgcqrs/sidecar/redis/sync_client.hpp"

namespace pgcqrs::sidecar::redis {

class ClusterClient {
 public:
  // seed: any node of the cluster; its credentials, database 0 and TLS settings are used for
  // every node. Reads the slot map, and throws RedisError if no master serves some slot.
  ClusterClient(const Endpoint& seed, int timeout_ms, int retry_ms = 10000);
  ~ClusterClient();
  ClusterClient(const ClusterClient&) = delete;
  ClusterClient& operator=(const ClusterClient&) = delete;

  // argv on the master of key's slot. An error reply other than the cluster's throws unless
  // allow_error.
  ReplyPtr command(std::string_view key, const std::vector<std::string>& argv, bool allow_error = false);
  // MULTI, the commands and EXEC on the master of key's slot, sent together: EXEC's reply (one
  // reply per command). Every key of the commands must be in key's slot.
  ReplyPtr transaction(std::string_view key, const std::vector<std::vector<std::string>>& commands);
  // The same for one already in RESP, MULTI and EXEC included (split_by_slot's).
  ReplyPtr transaction(const SlotTransaction& t);
  // Transactions of distinct slots, written to their masters all at once: EXEC's reply of each,
  // in their order. One the cluster redirects or answers with a transient error is sent again
  // alone, as transaction(t) sends it; a refused one throws, as there.
  std::vector<ReplyPtr> transactions(const std::vector<SlotTransaction>& ts);
  // Many single-key commands (each with its key), pipelined to each master at once: the
  // replies in the order of the commands. One whose reply is a redirect or a transient error
  // is sent again alone, as command() sends it; read-only commands are what this is for.
  std::vector<ReplyPtr> pipeline(const std::vector<std::pair<std::string, std::vector<std::string>>>& commands);
  // argv on every master, for what each master answers of its own keys (SCAN, DBSIZE): the
  // replies in the order of slot_map().masters(). An error reply throws unless allow_error.
  std::vector<ReplyPtr> on_each_master(const std::vector<std::string>& argv, bool allow_error = false);

  // The keys matching pattern on every master (SCAN on each). A slot migrating meanwhile may
  // show a key twice or not at all.
  std::vector<std::string> scan(const std::string& pattern);

  // Reads CLUSTER SHARDS again, from a master or else the seed.
  void refresh();
  const SlotMap& slot_map() const { return map_; }

  // What the cluster made this client do, for tests and logs.
  struct Counts {
    int moved = 0, asked = 0, retried = 0, refreshed = 0;
  };
  const Counts& counts() const { return counts_; }

 private:
  // Sends one command, or one MULTI ... EXEC, in RESP (commands: how many replies it gets) to
  // slot's master and returns the replies, following redirects and retrying as above: nothing
  // of it ran when it is sent again.
  std::vector<ReplyPtr> run(uint16_t slot, std::string_view resp, size_t commands);
  // The replies of resp sent to host:port (after ASKING when asking), or nullopt with why in
  // lost when the connection failed (it is dropped).
  std::optional<std::vector<ReplyPtr>> send(const std::string& host, int port, bool asking, std::string_view resp,
                                            size_t commands, RedisError& lost);
  // EXEC's reply, or the error of the queued command that aborted it, thrown.
  static ReplyPtr exec_reply(std::vector<ReplyPtr> replies);
  SyncClient& connection(const std::string& host, int port);
  void drop(const std::string& host, int port);

  Endpoint seed_;
  int timeout_ms_, retry_ms_;
  SlotMap map_;
  std::map<std::string, std::unique_ptr<SyncClient>> connections_;  // by host:port
  Counts counts_;
};

}  // namespace pgcqrs::sidecar::redis
