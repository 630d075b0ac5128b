#include "pgcqrs/sidecar/cluster/intent.hpp"

#include <charconv>

#include "pgcqrs/sidecar/redis/resp.hpp"

namespace pgcqrs::sidecar::cluster {
namespace {

constexpr std::string_view kMagic = "pgcqrs-intent 1\n";

bool read_number(std::string_view& in, char end, uint64_t& v) {
  auto [p, ec] = std::from_chars(in.data(), in.data() + in.size(), v);
  if (ec != std::errc() || p == in.data() || p == in.data() + in.size() || *p != end) return false;
  in.remove_prefix(static_cast<size_t>(p - in.data()) + 1);
  return true;
}

}  // namespace

std::optional<uint64_t> parse_batch(std::string_view text) {
  uint64_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return v;
}

std::string intent_key(std::string_view prefix, std::string_view checkpoint_key) {
  std::string key(prefix);
  key += "pgcqrs:intent:{";
  key += redis::slot_tag(redis::key_slot(checkpoint_key));
  key += '}';
  return key;
}

namespace {

// The format's one writer: the magic line, the batch's number and the count on a line each, then
// per transaction, and last for the finish, a line of its slot, its command count and its byte
// length, and its bytes. The lines are appended to `lines`; each transaction's bytes are handed
// to `bytes` at their place among them.
template <typename Bytes>
void write_intent(const Intent& intent, std::string& lines, Bytes&& bytes) {
  auto number = [&](uint64_t v, char end) {
    char tmp[24];
    char* p = std::to_chars(tmp, tmp + sizeof tmp - 1, v).ptr;
    *p++ = end;
    lines.append(tmp, static_cast<size_t>(p - tmp));
  };
  lines += kMagic;
  number(intent.batch, '\n');
  number(intent.transactions.size(), '\n');
  auto block = [&](const redis::SlotTransaction& t) {
    number(t.slot, ' ');
    number(t.commands, ' ');
    number(t.resp.size(), '\n');
    bytes(t.resp);
  };
  for (const auto& t : intent.transactions) block(t);
  block(intent.finish);
}

size_t encoded_size(const Intent& intent) {
  std::string lines;
  size_t bytes = 0;
  write_intent(intent, lines, [&](const std::string& b) { bytes += b.size(); });
  return lines.size() + bytes;
}

}  // namespace

std::string encode_intent(const Intent& intent) {
  std::string out;
  out.reserve(encoded_size(intent));
  write_intent(intent, out, [&](const std::string& bytes) { out += bytes; });
  return out;
}

std::vector<std::string_view> set_intent_pieces(std::string_view key, const Intent& intent, std::string& frame) {
  struct Span {
    size_t from, to;             // frame[from, to), then
    const std::string* bytes;  // a transaction's bytes, or none
  };
  std::vector<Span> spans;
  spans.reserve(intent.transactions.size() + 2);
  frame.clear();
  redis::append_header(frame, '*', 3);
  redis::append_bulk(frame, "SET");
  redis::append_bulk(frame, key);
  redis::append_header(frame, '$', encoded_size(intent));
  size_t from = 0;
  write_intent(intent, frame, [&](const std::string& bytes) {
    spans.push_back({from, frame.size(), &bytes});
    from = frame.size();
  });
  frame += "\r\n";
  spans.push_back({from, frame.size(), nullptr});
  std::vector<std::string_view> pieces;  // views of frame once it no longer grows
  pieces.reserve(2 * spans.size());
  for (const Span& s : spans) {
    pieces.emplace_back(frame.data() + s.from, s.to - s.from);
    if (s.bytes) pieces.emplace_back(*s.bytes);
  }
  return pieces;
}

Decoded decode_intent(std::string_view bytes) {
  auto fail = [&](const std::string& what) {
    return Decoded{std::nullopt, "the intent is unreadable: " + what};
  };
  if (!bytes.starts_with(kMagic)) return fail("it does not start with \"pgcqrs-intent 1\"");
  std::string_view in = bytes.substr(kMagic.size());
  Intent intent;
  if (!read_number(in, '\n', intent.batch)) return fail("no batch number on its second line");
  uint64_t count = 0;
  if (!read_number(in, '\n', count)) return fail("no transaction count on its third line");
  for (uint64_t i = 0; i <= count; ++i) {  // the transactions, then the finish
    std::string what = i < count ? "transaction " + std::to_string(i) : std::string("the finish");
    uint64_t slot = 0, commands = 0, length = 0;
    if (!read_number(in, ' ', slot) || !read_number(in, ' ', commands) || !read_number(in, '\n', length) ||
        slot >= redis::kSlotCount)
      return fail(what + " has no valid slot, command count and length");
    if (length > in.size()) return fail(what + " is cut short");
    redis::SlotTransaction t{static_cast<uint16_t>(slot), static_cast<size_t>(commands), std::string(in.substr(0, length))};
    (i < count ? intent.transactions.emplace_back() : intent.finish) = std::move(t);
    in.remove_prefix(length);
  }
  if (!in.empty()) return fail(std::to_string(in.size()) + " bytes after its finish");
  return Decoded{std::move(intent), {}};
}

Replay replay(const Intent& intent, const std::vector<std::optional<uint64_t>>& fences) {
  Replay r;
  for (size_t i = 0; i < intent.transactions.size(); ++i) {
    const std::optional<uint64_t>& f = i < fences.size() ? fences[i] : std::nullopt;
    if (!f || *f < intent.batch)
      r.apply.push_back(i);
    else if (*f > intent.batch)
      r.ahead.push_back(intent.transactions[i].slot);
  }
  return r;
}

void FenceLedger::acknowledged(uint16_t slot, uint64_t batch) {
  auto& a = acked_[slot];
  if (!a || *a < batch) a = batch;
}

std::optional<uint64_t> FenceLedger::at(uint16_t slot) const { return acked_[slot]; }

std::vector<uint16_t> FenceLedger::lost(const std::vector<std::pair<uint16_t, std::optional<uint64_t>>>& fences) const {
  std::vector<uint16_t> out;
  for (const auto& [slot, fence] : fences) {
    const auto& a = acked_[slot];
    if (a && (!fence || *fence < *a)) out.push_back(slot);
  }
  return out;
}

}  // namespace pgcqrs::sidecar::cluster
