// Transaction framing checks and chunking for the projection script.
#include "pgcqrs/sidecar/projection/transaction_assembler.hpp"

namespace pgcqrs::sidecar::projection {

std::string TransactionAssembler::feed(const Message& m, std::vector<ScriptCall>& out) {
  switch (m.kind) {
    case MessageKind::Begin:
      if (in_txn_) return "begin of " + m.lsn_text + " inside the open transaction " + current_.lsn_text;
      in_txn_ = true;
      current_ = ScriptCall{};
      current_.lsn = m.lsn;
      current_.lsn_text = m.lsn_text;
      current_.commit_time = m.commit_time;
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
      if (m.kind != MessageKind::Domain) return {};
      for (const auto& t : m.tokens) {
        current_.bytes += t.size();
        current_.tokens.push_back(t);
      }
      ++current_.events;
      if (current_.events >= limits_.max_events || current_.bytes >= limits_.max_bytes) flush(false, out);
      return {};
  }
}

void TransactionAssembler::flush(bool final, std::vector<ScriptCall>& out) {
  ScriptCall next;
  next.lsn = current_.lsn;
  next.lsn_text = current_.lsn_text;
  next.commit_time = current_.commit_time;
  current_.final = final;
  out.push_back(std::move(current_));
  current_ = std::move(next);
}

std::vector<std::string> script_argv(const std::string& sha, ScriptMode mode, const ScriptCall& call,
                                     const std::string& slot, const std::string& now_iso,
                                     const std::string& floor_lsn_text) {
  std::vector<std::string> argv;
  argv.reserve(call.tokens.size() + 10);
  argv.push_back("EVALSHA");
  argv.push_back(sha);
  argv.push_back("0");
  argv.push_back(mode == ScriptMode::Transaction ? "txn" : mode == ScriptMode::Snapshot ? "snap" : "mark");
  argv.push_back(call.lsn_text);
  argv.push_back(slot);
  argv.push_back(now_iso);
  argv.push_back(call.final ? "1" : "0");
  argv.push_back(floor_lsn_text);
  argv.push_back(call.commit_time);
  argv.insert(argv.end(), call.tokens.begin(), call.tokens.end());
  return argv;
}

}  // namespace pgcqrs::sidecar::projection
