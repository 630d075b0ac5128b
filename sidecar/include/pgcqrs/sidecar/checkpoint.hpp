// pgcqrs:checkpoint, the hash that says how far the read models hold the stream
// (docs/read-models.md, "The checkpoint"): its fields and the layout version (its key and
// channel, under the key prefix, are Keys's). The units that read or write it (the
// projector, the dirty mark, the start-up, the copy, the readers, status and verify) name
// them from here.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace pgcqrs::sidecar::checkpoint {

// The version of the key layout the projector writes, recorded in `layout` at the end of a
// copy. Read models of another layout are rebuilt at start.
inline constexpr const char* kLayout = "4";

namespace field {
inline constexpr const char* lsn = "lsn";                  // the last transaction applied
inline constexpr const char* slot = "slot";
inline constexpr const char* layout = "layout";
inline constexpr const char* updated_at = "updated_at";
inline constexpr const char* commit_time = "commit_time";
inline constexpr const char* dirty = "dirty";              // a batch stopped midway: rebuild
inline constexpr const char* partial_lsn = "partial_lsn";  // a transaction applied in parts
inline constexpr const char* partial_seq = "partial_seq";
inline constexpr const char* partial_cursor = "partial_cursor";  // where a fan-out resumes
// The generation of read models that readers read (keys.hpp; absent: 0). The fields above
// describe it.
inline constexpr const char* generation = "generation";
inline constexpr const char* rebuilding = "rebuilding";  // the generation a rebuild is copying
inline constexpr const char* retired = "retired";        // the generation being deleted after a switch
// A rebuild is asked for: the time `pgcqrs-sidecar rebuild` asked, or that time followed by
// kRebuildForModel and the model whose registration asked, or by kRebuildForModel, the model
// and kReplaced when its replacement asked (rebuild_cause() says which).
inline constexpr const char* rebuild = "rebuild";
// On a Redis Cluster only: the number of the last batch finished (cluster/intent.hpp).
inline constexpr const char* batch = "batch";
}  // namespace field

inline constexpr std::string_view kRebuildForModel = ", when read model ";
inline constexpr std::string_view kReplaced = " was replaced";

// Who asked for the rebuild a `rebuild` field holds, for the log: "pgcqrs-sidecar rebuild, at
// TIME", "read model NAME registered at TIME" or "read model NAME replaced at TIME".
inline std::string rebuild_cause(std::string_view value) {
  const size_t at = value.find(kRebuildForModel);
  if (at == std::string_view::npos) return "pgcqrs-sidecar rebuild, at " + std::string(value);
  std::string_view model = value.substr(at + kRebuildForModel.size());
  const std::string_view time = value.substr(0, at);
  const char* what = " registered at ";
  if (model.size() > kReplaced.size() && model.substr(model.size() - kReplaced.size()) == kReplaced) {
    model.remove_suffix(kReplaced.size());
    what = " replaced at ";
  }
  return "read model " + std::string(model) + what + std::string(time);
}

// A generation as the fields `generation`, `rebuilding` and `retired` hold it: decimal digits
// (at most 18, so that the next one fits too); nullopt for anything else.
inline std::optional<uint64_t> parse_generation(std::string_view text) {
  if (text.empty() || text.size() > 18) return std::nullopt;
  uint64_t g = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    g = g * 10 + static_cast<uint64_t>(c - '0');
  }
  return g;
}

// Every field it may hold.
inline constexpr std::array<const char*, 14> kFields = {
    field::lsn,         field::slot,        field::layout,         field::updated_at, field::commit_time,
    field::dirty,       field::partial_lsn, field::partial_seq,    field::partial_cursor, field::generation,
    field::rebuilding,  field::retired,     field::rebuild,        field::batch};

}  // namespace pgcqrs::sidecar::checkpoint
