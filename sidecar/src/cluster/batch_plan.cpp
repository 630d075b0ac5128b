// A projector's batch cut for a cluster (batch_plan.hpp).
#include "pgcqrs/sidecar/cluster/batch_plan.hpp"

#include <stdexcept>
#include <string>

#include "pgcqrs/sidecar/redis/resp.hpp"

namespace pgcqrs::sidecar::cluster {
namespace {

constexpr std::string_view kPublish = "*3\r\n$7\r\nPUBLISH\r\n";  // PUBLISH channel message

}  // namespace

Intent plan_batch(std::string_view resp, const std::vector<size_t>& starts, uint64_t batch, const Keys& keys) {
  const size_t n = starts.size();
  auto end_of = [&](size_t c) { return c + 1 < n ? starts[c + 1] : resp.size(); };
  if (n < 2 || redis::command_argument(resp, starts[0], 0) != "MULTI" ||
      redis::command_argument(resp, starts[n - 1], 0) != "EXEC")
    throw std::invalid_argument("a batch to cut for a cluster is not MULTI, commands and EXEC");

  // The read models' commands, in their order, for split_slot_commands; the checkpoint's and the
  // PUBLISH aside, for the finish.
  std::string checkpoint, publish;
  std::vector<redis::SlotCommand> body;
  size_t checkpoint_commands = 0;
  body.reserve(n);
  for (size_t c = 1; c + 1 < n; ++c) {
    const std::string_view command = resp.substr(starts[c], end_of(c) - starts[c]);
    const std::string_view key = redis::command_argument(resp, starts[c], 1);  // one parse per command
    if (command.starts_with(kPublish)) {
      publish.append(command);
    } else if (key == keys.checkpoint()) {
      checkpoint.append(command);
      ++checkpoint_commands;
    } else {
      body.push_back({starts[c], end_of(c), redis::key_slot(key)});
    }
  }

  Intent intent;
  intent.batch = batch;
  const std::string number = std::to_string(batch);
  intent.transactions = redis::split_slot_commands(resp, body, keys.prefix(), {kFenceField, number});

  redis::SlotTransaction& f = intent.finish;
  f.slot = redis::key_slot(keys.checkpoint());
  redis::append_header(f.resp, '*', 1);
  redis::append_bulk(f.resp, "MULTI");
  f.resp += checkpoint;
  redis::append_header(f.resp, '*', 4);
  redis::append_bulk(f.resp, "HSET");
  redis::append_bulk(f.resp, keys.checkpoint());
  redis::append_bulk(f.resp, checkpoint::field::batch);
  redis::append_bulk(f.resp, number);
  redis::append_header(f.resp, '*', 2);
  redis::append_bulk(f.resp, "DEL");
  redis::append_bulk(f.resp, intent_key(keys.prefix(), keys.checkpoint()));
  f.resp += publish;
  redis::append_header(f.resp, '*', 1);
  redis::append_bulk(f.resp, "EXEC");
  f.commands = checkpoint_commands + 2 + (publish.empty() ? 0 : 1);
  return intent;
}

}  // namespace pgcqrs::sidecar::cluster
