// What a sidecar reports to PostgreSQL of its read models: its Redis checkpoint, the
// generation readers read and the version of each declarative model they find there, the row
// of its slot in read_model_progress, which read_model_status sets beside the registry
// (docs/read-models.md, "A model's state"). Pure: the session reads Redis and runs the SQL.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace pgcqrs::sidecar {

struct Progress {
  std::string lsn;          // the checkpoint
  uint64_t generation = 0;  // what readers read
  std::map<std::string, int64_t> models;  // name -> the version readers find
  bool operator==(const Progress& o) const = default;
};

// The versions of the models a registry holds (its fields: name, plan); a plan that does not
// parse counts as version 0.
std::map<std::string, int64_t> model_versions(const std::vector<std::pair<std::string, std::string>>& registry);

// The progress the checkpoint's fields and the registry of the generation readers read say;
// nullopt when there is none to report: no checkpoint, or one marked dirty or asking for a
// rebuild (what readers read is about to be replaced: a model registered while streaming is
// in the registry before the rebuild has copied its rows).
std::optional<Progress> progress_of(const std::map<std::string, std::string>& checkpoint,
                                    const std::vector<std::pair<std::string, std::string>>& registry);

// The models as the table's jsonb column takes them: {"name": version, ...}.
std::string models_json(const std::map<std::string, int64_t>& models);

// The query that finds the table (quoted schema.read_model_progress; no row before extension
// 1.1, which has none), and the upsert of a slot's row: $1 slot, $2 lsn, $3 generation, $4
// models. Not to_regclass(): PostgreSQL may try it on every schema, pg_toast's too, which
// the sidecar's role may not use.
inline constexpr const char* kFindProgressTable =
    "SELECT pg_catalog.quote_ident(n.nspname) || '.read_model_progress' FROM pg_catalog.pg_extension e "
    "JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'pgcqrs' AND e.extversion <> '1.0'";
std::string progress_upsert(const std::string& table);

}  // namespace pgcqrs::sidecar
