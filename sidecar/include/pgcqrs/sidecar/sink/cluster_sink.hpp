// The sink for a Redis Cluster (sink.hpp): an asynchronous connection per master, each read
// sent to the master of its key's slot, and each batch applied in the three steps of
// cluster/intent.hpp: the intent, SET in the checkpoint's slot; once Redis has it, the slot
// transactions, each to its master, all at once; once every one is in, the finish. One
// operation at a time, in the order given: a read never overtakes the writes before it (they
// go to several connections, which keep no order between them), and the intent key holds one
// batch.
//
// A slot that moves while the sink writes (a reshard between the masters it started with) costs
// nothing: a command or a slot's transaction that the cluster refused with MOVED or ASK to one of
// those masters, or with TRYAGAIN, was not applied, and is sent again where the cluster says,
// after a pause for TRYAGAIN, for up to kRedirectFor. Nothing later is sent meanwhile (one
// operation at a time), so the resend overtakes nothing.
//
// Any other trouble (a connection lost, a redirect to a node the sink did not start with, the
// cluster down) ends the sink's use, with the reason: the session starts again, reads the new
// slot map, checks the fences against the failover ledger, and finishes the batch from its
// intent (cluster/recovery.hpp), whatever of it Redis has. A command that fails inside a slot's
// transaction is a partial write, as on one Redis.
//
// SCAN (TRUNCATE's walk over every order) answers for one node on a cluster: the sink walks
// the masters of the buckets' slots one after the other, checking CLUSTER NODES around each
// page (cluster/walk.hpp).
#pragma once

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "pgcqrs/sidecar/cluster/intent.hpp"
#include "pgcqrs/sidecar/cluster/walk.hpp"
#include "pgcqrs/sidecar/http/metrics.hpp"
#include "pgcqrs/sidecar/keys.hpp"
#include "pgcqrs/sidecar/redis/async_client.hpp"
#include "pgcqrs/sidecar/redis/endpoint.hpp"
#include "pgcqrs/sidecar/redis/slot_map.hpp"
#include "pgcqrs/sidecar/sink/sink.hpp"

namespace pgcqrs::sidecar::sink {

class ClusterSink : public Sink {
 public:
  // seed: the endpoint --redis names, whose credentials and TLS settings every master gets;
  // map: the slot map read at start; last_batch: the checkpoint's `batch` (0 if none);
  // acknowledged: where each slot's acknowledged batch is recorded, for the failover check of
  // the next start (it outlives the sink); resends: where the sink counts what it sent again.
  ClusterSink(boost::asio::io_context& io, redis::Endpoint seed, redis::SlotMap map, Keys keys, uint64_t last_batch,
              std::chrono::milliseconds reply_timeout, cluster::FenceLedger& acknowledged,
              http::ClusterResends& resends);
  ~ClusterSink() override;
  ClusterSink(const ClusterSink&) = delete;
  ClusterSink& operator=(const ClusterSink&) = delete;

  using Event = std::function<void(const std::string& error)>;
  // Connects to every master: ready("") once all are connected and have taken the hello
  // commands, ready(error) at the first failure; then broken(error) once, when the sink can no
  // longer be used (a connection lost, a redirect: see above).
  void connect(Event ready, Event broken);

  bool read(const std::vector<std::vector<std::string>>& commands, Replies done) override;
  bool write(const redis::RespWriter& writes, Done done) override;
  bool mark_dirty(const std::string& lsn, std::function<void()> done) override;
  void flush() override;
  void close() override;

  uint64_t last_batch() const { return last_batch_; }
  // How long a command or a slot's transaction is sent again while the cluster redirects or
  // refuses it for now: a slot migrates in far less, unless its migration has stopped.
  static constexpr std::chrono::seconds kRedirectFor{30};

 private:
  struct Master;
  struct Unit;
  // What a unit's sending ends with: the last reply (for a transaction, EXEC's) and the first
  // error among the replies before it; or nullptr and why the unit could not be delivered.
  using Answer = std::function<void(redisReply* reply, const std::string& queued, const std::string& undelivered)>;
  redis::AsyncClient* master_for(uint16_t slot);
  // The connection to a master the sink started with, by address; nullptr for any other node.
  redis::AsyncClient* master_at(const std::string& host, int port);
  // One command, or one slot's transaction, to its slot's master: sent again while the cluster
  // redirects it to a master the sink knows or answers TRYAGAIN (see above).
  // keep holds argv (or t) until the answer; what names the unit in messages ("" for a read).
  void send_command(uint16_t slot, const std::vector<std::string>& argv, std::shared_ptr<const void> keep,
                    std::string what, Answer answer);
  void send_transaction(const redis::SlotTransaction& t, std::shared_ptr<const void> keep, std::string what,
                        Answer answer);
  // Commands already in RESP, `replies` of them (a transaction's MULTI and EXEC counted), in
  // pieces that keep holds.
  void send_pieces(uint16_t slot, std::vector<std::string_view> pieces, size_t replies,
                   std::shared_ptr<const void> keep, std::string what, Answer answer);
  void start(std::shared_ptr<Unit> unit, std::shared_ptr<const void> keep, std::string what, Answer answer);
  void send(std::shared_ptr<Unit> unit);  // the caller flushes
  // The master of that node id, if the session started with it.
  redis::AsyncClient* master_by_id(const std::string& id);
  // CLUSTER NODES, parsed (cluster/walk.hpp); nullopt and why if it cannot be had.
  void read_layout(std::function<void(std::optional<cluster::Layout>, const std::string&)> done);
  // The projector's SCAN cursor MATCH pattern COUNT n: a page of the walk over the buckets'
  // masters, its cursor the walk's.
  void walk_page(const std::vector<std::string>& scan, std::function<void(projection::Reply, const std::string&)> done);
  // Whether the error, from the node at host:port, sends the unit again (and it is sent).
  bool resend(const std::shared_ptr<Unit>& unit, const std::string& error, const std::string& host, int port);
  // Operations wait in order; each calls done_op() when it has ended.
  void enqueue(std::function<void()> op);
  void done_op();
  // The sink is unusable from now on: every operation waiting or to come fails with why.
  void break_down(const std::string& why);
  // Whether an error reply means the cluster changed under the sink (a redirect, TRYAGAIN,
  // CLUSTERDOWN, LOADING, MASTERDOWN) rather than a refusal of the command.
  static bool cluster_changed(const std::string& error);

  void send_slots(std::shared_ptr<cluster::Intent> intent, Done done);
  void send_finish(std::shared_ptr<cluster::Intent> intent, Done done);

  boost::asio::io_context& io_;
  redis::Endpoint seed_;
  redis::SlotMap map_;
  const Keys keys_;
  uint64_t last_batch_;  // the last batch finished
  uint64_t next_batch_;  // the number the next write takes
  std::chrono::milliseconds reply_timeout_;
  std::vector<std::unique_ptr<Master>> masters_;  // as map_.masters() lists them
  std::deque<std::function<void()>> waiting_;
  bool busy_ = false;      // an operation is under way
  std::string broken_;     // why the sink is unusable ("" while it is not)
  Event on_broken_;
  bool closing_ = false;   // in the destructor: handlers that run now do nothing
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);  // false once destroyed: for posted handlers
  cluster::FenceLedger& ledger_;
  http::ClusterResends& resends_;
};

}  // namespace pgcqrs::sidecar::sink
