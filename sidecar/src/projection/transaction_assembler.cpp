// Transaction framing checks and chunking for the projector.
#include "pgcqrs/sidecar/projection/transaction_assembler.hpp"

namespace pgcqrs::sidecar::projection {

std::string TransactionAssembler::feed(Message m, std::vector<ScriptCall>& out) {
  switch (m.kind) {
    case MessageKind::Begin:
      if (in_txn_) return "begin of " + m.lsn_text + " inside the open transaction " + current_.lsn_text;
      in_txn_ = true;
      current_ = ScriptCall{};
      current_.lsn = m.lsn;
      current_.lsn_text = std::move(m.lsn_text);
      current_.commit_time = std::move(m.commit_time);
      events_seen_ = 0;
      return {};
    case MessageKind::Commit:
      if (!in_txn_) return "commit of " + m.lsn_text + " outside a transaction";
      if (m.lsn != current_.lsn) return "commit lsn " + m.lsn_text + " does not match begin lsn " + current_.lsn_text;
      if (m.events != events_seen_)
        return "commit of " + m.lsn_text + " counts " + std::to_string(m.events) + " events, received " +
               std::to_string(events_seen_);
      flush(true, out);
      in_txn_ = false;
      return {};
    default:
      if (!in_txn_) return m.type + " event at " + m.lsn_text + " outside a transaction";
      if (m.lsn != current_.lsn) return m.type + " event lsn " + m.lsn_text + " does not match its transaction " + current_.lsn_text;
      ++events_seen_;
      if (m.kind == MessageKind::Domain) {
        current_.bytes += footprint(m.event);
        current_.events.push_back(std::move(m.event));
      } else if (m.kind == MessageKind::Model) {
        current_.bytes += footprint(m.row);
        current_.rows.push_back(std::move(m.row));
      } else {
        return {};
      }
      if (current_.events.size() + current_.rows.size() >= limits_.max_events || current_.bytes >= limits_.max_bytes)
        flush(false, out);
      return {};
  }
}

void TransactionAssembler::flush(bool final, std::vector<ScriptCall>& out) {
  current_.final = final;
  if (final) {  // the next begin starts afresh: nothing to carry over
    out.push_back(std::move(current_));
    current_ = ScriptCall{};
    return;
  }
  ScriptCall next;
  next.lsn = current_.lsn;
  next.lsn_text = current_.lsn_text;
  next.commit_time = current_.commit_time;
  out.push_back(std::move(current_));
  current_ = std::move(next);
}

void count_event_types(const ScriptCall& call, std::vector<std::pair<std::string, uint64_t>>& types) {
  auto count = [&](std::string_view type) {
    auto it = types.begin();
    while (it != types.end() && it->first != type) ++it;
    if (it == types.end())
      types.emplace_back(type, 1);
    else
      ++it->second;
  };
  for (const auto& e : call.events) count(name(e.type()));
  for (const auto& e : call.rows) count(type_name(e.kind));
}

}  // namespace pgcqrs::sidecar::projection
