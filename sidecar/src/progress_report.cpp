// What the sidecar reports of its read models (progress_report.hpp).
#include "pgcqrs/sidecar/progress_report.hpp"

#include "pgcqrs/sidecar/checkpoint.hpp"
#include "pgcqrs/sidecar/projection/model_plan.hpp"
#include "pgcqrs/sidecar/projection/projector.hpp"

namespace pgcqrs::sidecar {

std::map<std::string, int64_t> model_versions(const std::vector<std::pair<std::string, std::string>>& registry) {
  std::map<std::string, int64_t> versions;
  for (const auto& [name, json] : registry) {
    std::string error;
    const auto plan = projection::parse_plan(name, json, error);
    versions[name] = plan ? plan->version : 0;
  }
  return versions;
}

std::optional<Progress> progress_of(const std::map<std::string, std::string>& checkpoint,
                                    const std::vector<std::pair<std::string, std::string>>& registry) {
  namespace F = checkpoint::field;
  const auto lsn = checkpoint.find(F::lsn);
  if (lsn == checkpoint.end() || checkpoint.count(F::dirty) || checkpoint.count(F::rebuild)) return std::nullopt;
  const auto g = checkpoint.find(F::generation);
  const auto generation = g == checkpoint.end() ? std::optional<uint64_t>(0) : checkpoint::parse_generation(g->second);
  if (!generation) return std::nullopt;
  return Progress{lsn->second, *generation, model_versions(registry)};
}

std::string models_json(const std::map<std::string, int64_t>& models) {
  std::string out = "{";
  for (const auto& [name, version] : models) {
    if (out.size() > 1) out += ", ";
    projection::append_cjson(out, name);  // as Redis holds it: escaped
    out += ": " + std::to_string(version);
  }
  return out + "}";
}

std::string progress_upsert(const std::string& table) {
  return "INSERT INTO " + table +
         " AS p (slot, lsn, generation, models, reported_at) "
         "VALUES ($1, $2::pg_catalog.pg_lsn, $3::pg_catalog.int8, $4::pg_catalog.jsonb, pg_catalog.now()) "
         "ON CONFLICT (slot) DO UPDATE SET lsn = EXCLUDED.lsn, generation = EXCLUDED.generation, "
         "models = EXCLUDED.models, reported_at = EXCLUDED.reported_at";
}

}  // namespace pgcqrs::sidecar
