// Declarative read models (docs/read-models.md): for each registered model, a hash per row
// of its root table that passes the filters and finds its inner lookups, kept from the row
// events of the tables the model reads, in the same batches as the built-in models.
//
// Beside the hashes, under `pgcqrs:m:<model>:` (keys.hpp, scope()):
//   r:{b}:<id>    a root row: the columns the model reads (`c.<column>`), and the identity
//                 of the row each lookup i matches (`l.<i>`); a refresh renders from it
//   t<i>:{b}:<id> a copy of the row of lookup i whose key is <id>
//   x<i>:{b}:<id> the root rows whose lookup i matches <id>: a fan-out's targets
//   c<i>:{b}:<id> a copy of the child row <id> of nested table i (the columns the model reads)
//   k<i>:{b}:<id> root row <id>'s children in nested table i: a hash, a field per child's id
// and, for a grouped model (GROUP BY: a hash per group, with counts and exact sums),
//   g:{b}:<group> a group's state: `rows`, and per aggregate i of a column `n.<i>` (values
//                 counted), `s.<i>` (their exact sum), `z.<i>` (NaNs among them)
// while each root row's r: hash also keeps its share: `g`, its group, and `a.<i>`, the value it
// adds to aggregate i.
// and the registry, `pgcqrs:models`: each model's plan, as the stream carried it, so that a
// restart knows the models registered before its checkpoint.
//
// A change to a looked-up row refreshes every root row that matches it, in chunks of the
// fan-out budget (the checkpoint keeps where a chunk stopped, as for a rename); each refresh
// computes the row again from its copy and the copies it joins, so a chunk met twice gives
// the same result.
#include <algorithm>
#include <map>
#include <stdexcept>

#include "pgcqrs/core/decimal.hpp"
#include "pgcqrs/sidecar/projection/projector.hpp"

namespace pgcqrs::sidecar::projection {

namespace {

constexpr std::string_view kColumn = "c.";
constexpr std::string_view kLink = "l.";
constexpr std::string_view kShare = "a.";
constexpr const char* kGroup = "g";

bool starts_with(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }

std::string part(char kind, size_t table) { return std::string(1, kind) + std::to_string(table); }

RowValues as_row(std::vector<std::pair<std::string, std::string>> fields) {
  RowValues row;
  row.reserve(fields.size());
  for (auto& [name, value] : fields) row.emplace_back(std::move(name), std::move(value));
  return row;
}

// A looked-up or nested row's key before (was) and after (now) a change: the same for an
// UPDATE that did not change it, none before an INSERT or after a DELETE.
struct Keyed {
  std::optional<std::string> was, now;
};
Keyed keys_of(const RowEvent& e, const std::vector<std::string>& key) {
  Keyed k;
  if (e.kind != RowEvent::Kind::Deleted) k.now = identity(e.row, key);
  if (e.kind == RowEvent::Kind::Deleted || (e.kind == RowEvent::Kind::Updated && e.old))
    k.was = identity(*e.old, key);
  else if (e.kind == RowEvent::Kind::Updated)
    k.was = k.now;
  return k;
}

// The columns a copy keeps of a changed row: the event's, and the prior copy's for those an
// UPDATE left in TOAST storage.
RowValues copy_of(const RowEvent& e, const std::vector<std::string>& reads,
                  const std::vector<std::pair<std::string, std::string>>& prior) {
  RowValues copy;
  for (const auto& column : reads) {
    const auto* v = find_value(e.row, column);
    if (v && *v) {
      copy.emplace_back(column, **v);
    } else if (!v && std::find(e.unchanged.begin(), e.unchanged.end(), column) != e.unchanged.end()) {
      for (const auto& [f, value] : prior)
        if (f == column) copy.emplace_back(column, value);
    }
  }
  return copy;
}

// Every UPDATE is streamed: one that changed nothing the model reads leaves the copy as it was.
bool same_copy(const std::vector<std::pair<std::string, std::string>>& prior, const RowValues& copy) {
  std::map<std::string, std::string> before(prior.begin(), prior.end()), after;
  for (const auto& [c, v] : copy) after.emplace(c, *v);
  return before == after;
}

// A grouped model's root row: its share in its group, as its r: hash keeps it (nullopt: it is
// in no group), or as its columns make it.
struct Share {
  std::string group;
  std::map<size_t, std::string> values;  // aggregate (index in the plan's columns) -> the value it adds
  bool operator==(const Share& o) const { return group == o.group && values == o.values; }
};

std::optional<Share> stored_share(const std::vector<std::pair<std::string, std::string>>& fields) {
  std::optional<Share> s;
  for (const auto& [f, v] : fields)
    if (f == kGroup) s.emplace().group = v;
  if (!s) return s;
  for (const auto& [f, v] : fields)
    if (starts_with(f, kShare)) s->values[std::strtoul(f.c_str() + kShare.size(), nullptr, 10)] = v;
  return s;
}

std::optional<Share> share_of(const ModelPlan& m, const RowValues& root) {
  if (!passes(m, root)) return std::nullopt;
  auto group = identity(root, m.group);
  if (!group) return std::nullopt;  // a NULL group column: the analysis refuses what allows one
  Share s{std::move(*group), {}};
  for (size_t i = 0; i < m.columns.size(); ++i) {
    const auto& c = m.columns[i];
    if (c.aggregate == ModelPlan::Column::Aggregate::None || c.column.empty()) continue;
    const auto* v = find_value(root, c.column);
    if (v && *v) s.values[i] = **v;
  }
  return s;
}

// A resumed fan-out's cursor, "<a>|<rest>": whether it names `a`, and the rest.
bool resumes(const std::optional<std::string>& cursor, std::string_view a, std::string& rest) {
  if (!cursor || cursor->size() <= a.size() || cursor->compare(0, a.size(), a) != 0 || (*cursor)[a.size()] != '|')
    return false;
  rest = cursor->substr(a.size() + 1);
  return true;
}

// "<phase>:<cursor>" -> the phase's index in phases and the cursor.
std::pair<size_t, std::string> phase_of(const std::string& cursor, const std::vector<std::string>& phases) {
  const size_t colon = cursor.find(':');
  const auto it = colon == std::string::npos ? phases.end()
                                             : std::find(phases.begin(), phases.end(), cursor.substr(0, colon));
  if (it == phases.end()) throw std::runtime_error("the checkpoint's read-model cursor " + cursor + " names no phase");
  return {static_cast<size_t>(it - phases.begin()), cursor.substr(colon + 1)};
}

}  // namespace

std::string Projector::model_stem(const ModelPlan& m) const { return keys_.scope() + "pgcqrs:m:" + m.name + ":"; }

std::string Projector::model_part(const ModelPlan& m, std::string_view kind, const std::string& id) const {
  std::string key = model_stem(m);
  key.append(kind).append(":{");
  key.append(std::to_string(identity_bucket(id))).append("}:").append(id);
  return key;
}

std::string Projector::model_key(const ModelPlan& m, const std::string& id) const {
  return projection::model_key(m, keys_.scope(), id);
}

const Projector::Plans& Projector::models(Run& r) {
  if (r.models) return *r.models;
  Plans plans;
  for (auto& [name, json] : view_.hgetall(keys_.registry())) {
    if (r.frozen.count(name)) continue;  // replaced in this run
    auto& cached = plans_[name];
    if (!cached.second || cached.first != json) {
      std::string error;
      auto plan = parse_plan(name, json, error);
      if (!plan) throw std::runtime_error(error);
      cached = {json, std::make_shared<const ModelPlan>(std::move(*plan))};
    }
    plans.push_back(cached.second);
  }
  // By name, whatever order Redis lists the registry in: a resumed fan-out skips the models
  // before the one it stopped in, which must be the ones done before it stopped.
  std::sort(plans.begin(), plans.end(), [](const auto& a, const auto& b) { return a->name < b->name; });
  r.models = std::move(plans);
  return *r.models;
}

void Projector::apply(Run& r, const RowEvent& e) {
  if (e.kind == RowEvent::Kind::Registered || e.kind == RowEvent::Kind::Replaced ||
      e.kind == RowEvent::Kind::Dropped || e.kind == RowEvent::Kind::Truncated)
    refresh_pending(r);  // rendered under the models and the rows they were changed under
  switch (e.kind) {
    case RowEvent::Kind::Registered: return model_registered(r, e);
    case RowEvent::Kind::Replaced: return model_replaced(r, e);
    case RowEvent::Kind::Dropped: return model_dropped(r, e);
    case RowEvent::Kind::Truncated: return models_truncated(r, e);
    default: break;
  }
  // A resumed fan-out names the model and the lookup it stopped in: those before it are done.
  std::optional<std::string> resume = std::move(r.resume_cursor);
  r.resume_cursor.reset();
  for (const auto& m : models(r)) {
    for (size_t t = 0; t < m->tables.size(); ++t) {
      if (m->tables[t].name != e.table) continue;
      const std::string here = m->name + "|" + std::to_string(t);
      if (resume) {
        std::string rest;
        if (!resumes(resume, here, rest)) continue;
        r.resume_cursor = std::move(rest);
        resume.reset();
      }
      if (t == 0)
        root_row(r, *m, e);
      else if (m->tables[t].join == ModelPlan::Join::Nested)
        nested_row(r, *m, t, e);
      else
        lookup_row(r, *m, t, e);
      r.resume_cursor.reset();
      if (r.stopped_at) {
        r.stopped_at = here + "|" + *r.stopped_at;
        return;
      }
    }
  }
  if (resume) throw std::runtime_error("the checkpoint's read-model cursor " + *resume + " names no model of " + e.table);
}

void Projector::model_registered(Run& r, const RowEvent& e) {
  std::string error;
  if (!parse_plan(e.name, e.plan, error)) throw std::runtime_error(error);
  view_.hset(keys_.registry(), e.name, e.plan);
  r.models.reset();
  // Registered while the stream runs, the model has none of the rows written before: a
  // rebuild copies them, with everything else, into a generation readers switch to once it is
  // complete. Asked for with this batch's checkpoint, so that a crash cannot lose the asking.
  if (mode_ == Mode::Transaction)
    view_.hset(keys_.checkpoint(), checkpoint::field::rebuild,
               now_iso_ + std::string(checkpoint::kRebuildForModel) + e.name);
}

void Projector::model_replaced(Run& r, const RowEvent& e) {
  std::string error;
  if (!parse_plan(e.name, e.plan, error)) throw std::runtime_error(error);
  // Readers keep the old definition, as of this event, until a rebuild has copied the new one
  // into the next generation and switches them to it in one step. The registry keeps the old
  // plan, which the deletion of this generation after the switch reads; the rest of the run
  // leaves the model alone, as the stream now carries the new plan's columns. The next batch
  // finds the rebuild asked for and writes nothing here.
  r.frozen.insert(e.name);
  r.models.reset();
  if (mode_ == Mode::Transaction)
    view_.hset(keys_.checkpoint(), checkpoint::field::rebuild,
               now_iso_ + std::string(checkpoint::kRebuildForModel) + e.name + std::string(checkpoint::kReplaced));
}

void Projector::model_dropped(Run& r, const RowEvent& e) {
  const ModelPlan* m = nullptr;
  for (const auto& p : models(r))
    if (p->name == e.name) m = p.get();
  if (!m) return;  // registered before this sidecar's copy: it holds nothing of it
  // Its hashes (found from its rows; a grouped model's by their names), then everything kept
  // beside them, then its ranking and its plan.
  const std::vector<std::string> phases = m->grouped() ? std::vector<std::string>{"hashes", "keys"}
                                                       : std::vector<std::string>{"rows", "keys"};
  const std::string stem = model_stem(*m);
  size_t at = 0;
  std::string cursor = "0";
  if (r.resume_cursor) std::tie(at, cursor) = phase_of(*r.resume_cursor, phases);
  r.resume_cursor.reset();
  for (; at < phases.size(); ++at, cursor = "0") {
    if (phases[at] == "rows") {
      walk_rows(r, cursor, *m, [&](const std::string& id) { forget_row(*m, id); });
    } else if (phases[at] == "hashes") {
      walk_keys(r, cursor, keys_.scope() + key_stem(*m) + "*", [&](const std::string& key) { view_.del(key); });
    } else {
      walk_keys(r, cursor, stem + "*", [&](const std::string& key) { view_.del(key); });
    }
    if (r.stopped_at) {
      r.stopped_at = phases[at] + ":" + *r.stopped_at;
      return;
    }
  }
  unrank_all(*m);  // 64 keys at most: no chunks
  view_.hdel(keys_.registry(), e.name);
  r.models.reset();
}

void Projector::models_truncated(Run& r, const RowEvent& e) {
  std::optional<std::string> resume = std::move(r.resume_cursor);
  r.resume_cursor.reset();
  const auto gone = [&](const std::string& table) {
    return std::find(e.tables.begin(), e.tables.end(), table) != e.tables.end();
  };
  for (const auto& plan : models(r)) {
    const ModelPlan& m = *plan;
    // The copies of the lookups truncated; then, with the root, every row and index, or else
    // a refresh of every row.
    std::vector<std::string> phases;
    for (size_t t = 1; t < m.tables.size(); ++t) {
      if (!gone(m.tables[t].name)) continue;
      if (m.tables[t].join == ModelPlan::Join::Nested) {
        phases.push_back(part('c', t));  // the copies of the child rows, then each row's list
        phases.push_back(part('k', t));
      } else {
        phases.push_back(part('t', t));
      }
    }
    if (gone(m.tables[0].name) && m.grouped()) {
      phases = {"r", "g", "hashes"};  // the rows' shares, the groups' states, the groups
    } else if (gone(m.tables[0].name)) {
      phases.push_back("r");
      phases.push_back("x");
    } else if (!phases.empty()) {
      phases.push_back("refresh");
    }
    if (phases.empty()) continue;
    size_t at = 0;
    std::string cursor = "0";
    if (resume) {
      std::string rest;
      if (!resumes(resume, m.name, rest)) continue;
      std::tie(at, cursor) = phase_of(rest, phases);
      resume.reset();
    }
    const std::string stem = model_stem(m);
    for (; at < phases.size(); ++at, cursor = "0") {
      const std::string& phase = phases[at];
      if (phase == "r") {
        walk_rows(r, cursor, m, [&](const std::string& id) { forget_row(m, id); });
      } else if (phase == "hashes") {
        walk_keys(r, cursor, keys_.scope() + key_stem(m) + "*", [&](const std::string& key) { view_.del(key); });
      } else if (phase == "refresh") {
        walk_rows(r, cursor, m, [&](const std::string& id) { refresh_later(r, m, id); });
      } else {
        // "x" every index, "t<i>" the copies of lookup i, "g" the groups' states, "c<i>" and
        // "k<i>" nested table i's copies and lists
        walk_keys(r, cursor, stem + phase + (phase == "x" ? "*" : ":*"), [&](const std::string& key) { view_.del(key); });
      }
      if (r.stopped_at) {
        r.stopped_at = m.name + "|" + phase + ":" + *r.stopped_at;
        return;
      }
    }
    if (gone(m.tables[0].name)) unrank_all(m);  // 64 keys at most: no chunks
  }
  if (resume) throw std::runtime_error("the checkpoint's read-model cursor " + *resume + " names no model truncated");
}

void Projector::root_row(Run& r, const ModelPlan& m, const RowEvent& e) {
  const auto& key = m.tables[0].key;
  if (e.kind == RowEvent::Kind::Deleted) {
    if (const auto id = identity(*e.old, key)) remove_root(m, *id);
    return;
  }
  const auto id = identity(e.row, key);
  if (!id) throw std::runtime_error(std::string(type_name(e.kind)) + " of " + e.table + " carries no primary key");
  // The row as it was, for the columns an UPDATE left in TOAST storage: under its old key
  // when the key changed. A row inserted is new.
  std::optional<std::string> was;
  if (e.kind == RowEvent::Kind::Updated) was = e.old ? identity(*e.old, key) : id;
  std::vector<std::pair<std::string, std::string>> prior;
  if (was) prior = view_.hgetall(model_part(m, "r", *was));
  const auto prior_value = [&](const std::string& column) -> std::optional<std::string> {
    for (const auto& [f, v] : prior)
      if (f.size() == kColumn.size() + column.size() && starts_with(f, kColumn) && f.compare(kColumn.size(), column.size(), column) == 0)
        return v;
    return std::nullopt;
  };
  const std::string shadow = model_part(m, "r", *id);
  const bool moved = !was || *was != *id;
  if (moved) {
    if (was) remove_root(m, *was);
    view_.del(shadow);  // a new row: no lookup matched yet
  }
  for (const auto& column : m.tables[0].reads) {
    const std::string field = std::string(kColumn) + column;
    const auto* v = find_value(e.row, column);
    std::optional<std::string> value;
    if (v)
      value = *v;
    else if (std::find(e.unchanged.begin(), e.unchanged.end(), column) != e.unchanged.end())
      value = prior_value(column);
    if (value)
      view_.hset(shadow, field, std::move(*value));
    else if (!moved)
      view_.hdel(shadow, field);
  }
  if (m.grouped())
    regroup(m, *id);
  else
    refresh_later(r, m, *id);
}

void Projector::remove_root(const ModelPlan& m, const std::string& id) {
  const std::string shadow = model_part(m, "r", id);
  if (m.grouped()) {
    if (const auto was = stored_share(view_.hgetall(shadow))) add_share(m, was->group, was->values, -1);
    view_.del(shadow);
    return;
  }
  for (const auto& [field, value] : view_.hgetall(shadow))
    if (starts_with(field, kLink)) view_.srem(model_part(m, "x" + field.substr(kLink.size()), value), id);
  view_.del(shadow);
  view_.del(model_key(m, id));
  rank(m, id, nullptr);
}

void Projector::lookup_row(Run& r, const ModelPlan& m, size_t t, const RowEvent& e) {
  const auto& table = m.tables[t];
  const auto [was, now] = keys_of(e, table.key);
  // The rows that matched the old key, then those that match the new one.
  std::vector<std::string> phases, indexes;
  if (was && was != now) {
    phases.push_back("old");
    indexes.push_back(model_part(m, part('x', t), *was));
  }
  if (now) {
    phases.push_back("new");
    indexes.push_back(model_part(m, part('x', t), *now));
  }
  size_t at = 0;
  std::string cursor = "0";
  if (r.resume_cursor) {
    // The copy was written with the chunk that stopped.
    std::tie(at, cursor) = phase_of(*r.resume_cursor, phases);
    r.resume_cursor.reset();
  } else {
    std::vector<std::pair<std::string, std::string>> prior;
    if (was) prior = view_.hgetall(model_part(m, part('t', t), *was));
    RowValues copy = copy_of(e, table.reads, prior);
    if (was && was != now) view_.del(model_part(m, part('t', t), *was));
    if (now) {
      if (was == now && same_copy(prior, copy)) return;
      const std::string key = model_part(m, part('t', t), *now);
      view_.del(key);
      for (auto& [c, v] : copy) view_.hset(key, c, std::move(*v));
    }
  }
  for (; at < phases.size(); ++at, cursor = "0") {
    if (cursor != "0") r.resume_cursor = cursor;
    fan_out_set(r, indexes[at], [&](const std::string& id) { refresh_later(r, m, id); });
    r.resume_cursor.reset();
    if (r.stopped_at) {
      r.stopped_at = phases[at] + ":" + *r.stopped_at;
      return;
    }
  }
}

void Projector::nested_row(Run& r, const ModelPlan& m, size_t t, const RowEvent& e) {
  const auto& table = m.tables[t];
  const auto [was, now] = keys_of(e, table.key);
  std::vector<std::pair<std::string, std::string>> prior;
  if (was) prior = view_.hgetall(model_part(m, part('c', t), *was));
  RowValues copy = copy_of(e, table.reads, prior);
  // The root row it named, and the one it names: the child's parent columns, valued as the
  // root's key (one type, the analysis checked).
  const auto parent_of = [&](const RowValues& row) -> std::optional<std::string> {
    RowValues as_root;
    for (size_t k = 0; k < table.parent.size(); ++k)
      if (const auto* v = find_value(row, table.parent[k])) as_root.emplace_back(table.from[k], *v);
    return identity(as_root, m.tables[0].key);
  };
  const std::optional<std::string> from = prior.empty() ? std::nullopt : parent_of(as_row(prior));
  const std::optional<std::string> to = now ? parent_of(copy) : std::nullopt;
  if (now && was == now && same_copy(prior, copy)) return;
  if (was) view_.del(model_part(m, part('c', t), *was));
  if (was && from) view_.hdel(model_part(m, part('k', t), *from), *was);
  if (now) {
    const std::string key = model_part(m, part('c', t), *now);
    view_.del(key);  // the copy is whole: no read of what Redis held
    for (auto& [c, v] : copy) view_.hset(key, c, std::move(*v));
    if (to) view_.hset(model_part(m, part('k', t), *to), *now, "1");
  }
  if (from) refresh_later(r, m, *from);
  if (to && to != from) refresh_later(r, m, *to);
}

void Projector::refresh_pending(Run& r) {
  auto pending = std::move(r.to_refresh);
  r.to_refresh.clear();
  for (const auto& [at, m] : pending) {
    try {
      refresh(*m, at.second);
    } catch (const Missing&) {
      r.missing = true;  // the other rows' reads go in the same round
    }
  }
}

// What a row reads, it asks for a level at a time (the row and its children's lists, then its
// lookups, a join's depth after the other, then the children), each level in one round: a
// read per round would replay the whole batch for each.
void Projector::refresh(const ModelPlan& m, const std::string& id) {
  const std::string shadow = model_part(m, "r", id);
  const size_t n = m.tables.size();
  bool unknown = false;
  for (size_t t = 1; t < n; ++t)
    if (m.tables[t].join == ModelPlan::Join::Nested) unknown = view_.prefetch_hash(model_part(m, part('k', t), id)) || unknown;
  if (view_.prefetch_hash(shadow)) throw Missing{};
  const auto fields = view_.hgetall(shadow);
  if (fields.empty()) return;  // not a row (an index left with a member it no longer has)
  std::vector<std::optional<RowValues>> rows(n);
  std::vector<std::optional<std::string>> links(n), linked(n);
  RowValues root;
  for (const auto& [field, value] : fields) {
    if (starts_with(field, kColumn)) {
      root.emplace_back(field.substr(kColumn.size()), value);
    } else if (starts_with(field, kLink)) {
      const size_t i = std::strtoul(field.c_str() + kLink.size(), nullptr, 10);
      if (i > 0 && i < n) linked[i] = value;
    }
  }
  rows[0] = std::move(root);
  // Each lookup's row, found from the row it is looked up from (joins nest to the left).
  for (size_t i = 1; i < n; ++i) {
    if (m.tables[i].join == ModelPlan::Join::Nested) continue;
    const auto& parent = rows[static_cast<size_t>(m.tables[i].via)];
    if (!parent) continue;  // or not known yet
    links[i] = identity(*parent, m.tables[i].from);
    if (!links[i]) continue;
    const std::string copy_key = model_part(m, part('t', i), *links[i]);
    if (view_.prefetch_hash(copy_key)) {
      unknown = true;
      continue;
    }
    auto copy = view_.hgetall(copy_key);
    if (!copy.empty()) rows[i] = as_row(std::move(copy));
  }
  if (unknown) throw Missing{};
  // A nested table that only counts needs its list, not each child's copy.
  for (size_t t = 1; t < n; ++t) {
    if (!m.tables[t].copied) continue;
    for (const auto& [child, _] : view_.hgetall(model_part(m, part('k', t), id)))
      unknown = view_.prefetch_hash(model_part(m, part('c', t), child)) || unknown;
  }
  if (unknown) throw Missing{};
  for (size_t i = 1; i < n; ++i) {
    if (m.tables[i].join == ModelPlan::Join::Nested || links[i] == linked[i]) continue;
    if (linked[i]) view_.srem(model_part(m, part('x', i), *linked[i]), id);
    const std::string field = std::string(kLink) + std::to_string(i);
    if (links[i]) {
      view_.sadd(model_part(m, part('x', i), *links[i]), id);
      view_.hset(shadow, field, *links[i]);
    } else {
      view_.hdel(shadow, field);
    }
  }
  view_.del(model_key(m, id));
  const auto in_view = [&] {
    if (!passes(m, *rows[0])) return false;
    for (size_t i = 1; i < n; ++i)
      if (m.tables[i].join == ModelPlan::Join::Inner && !rows[i]) return false;
    return true;
  };
  if (!in_view()) return rank(m, id, nullptr);
  std::map<std::string, std::string> row;             // the model's hash
  std::map<size_t, std::vector<RowValues>> children;  // of each nested table, read once
  for (const auto& c : m.columns) {
    if (c.nested != ModelPlan::Column::Nested::None) {
      const size_t t = static_cast<size_t>(c.table);
      if (!children.count(t)) {
        auto& rows_of = children[t];
        for (const auto& [child, _] : view_.hgetall(model_part(m, part('k', t), id))) {
          if (!m.tables[t].copied) {
            rows_of.emplace_back();  // counted only
            continue;
          }
          auto copy = view_.hgetall(model_part(m, part('c', t), child));
          if (copy.empty()) continue;
          RowValues row = as_row(std::move(copy));
          if (passes(m, row, static_cast<int>(t))) rows_of.push_back(std::move(row));
        }
      }
      if (auto v = nested_value(c, children[t])) row[c.name] = std::move(*v);
      continue;
    }
    const auto& from = rows[static_cast<size_t>(c.table)];
    if (!from) continue;
    const auto* v = find_value(*from, c.column);
    if (v && *v) row[c.name] = **v;
  }
  write_row(m, id, row);
}

void Projector::write_row(const ModelPlan& m, const std::string& id, const std::map<std::string, std::string>& row) {
  const std::string key = model_key(m, id);
  for (const auto& [field, value] : row) view_.hset(key, field, value);
  const auto ranked = row.find(m.rank);
  rank(m, id, ranked == row.end() ? nullptr : &ranked->second);
}

void Projector::rank(const ModelPlan& m, const std::string& id, const std::string* value) {
  if (m.rank.empty()) return;
  const std::string key = rank_key(m, keys_.scope(), identity_bucket(id));
  const auto score = value ? rank_score(*value) : std::nullopt;
  if (score)
    view_.zadd(key, *score, id);
  else
    view_.zrem(key, id);
}

void Projector::unrank_all(const ModelPlan& m) {
  if (m.rank.empty()) return;
  for (int b = 0; b < Keys::kBuckets; ++b) view_.del(rank_key(m, keys_.scope(), b));
}

void Projector::regroup(const ModelPlan& m, const std::string& id) {
  const std::string shadow = model_part(m, "r", id);
  const auto fields = view_.hgetall(shadow);
  if (fields.empty()) return;
  RowValues root;
  for (const auto& [field, value] : fields)
    if (starts_with(field, kColumn)) root.emplace_back(field.substr(kColumn.size()), value);
  const auto was = stored_share(fields);
  const auto now = share_of(m, root);
  if (was == now) return;  // an UPDATE of nothing the model reads, or that moves no value
  if (was) {
    add_share(m, was->group, was->values, -1);
    view_.hdel(shadow, kGroup);
    for (const auto& [i, v] : was->values) view_.hdel(shadow, std::string(kShare) + std::to_string(i));
  }
  if (now) {
    add_share(m, now->group, now->values, +1);
    view_.hset(shadow, kGroup, now->group);
    for (const auto& [i, v] : now->values) view_.hset(shadow, std::string(kShare) + std::to_string(i), v);
  }
}

void Projector::add_share(const ModelPlan& m, const std::string& group, const std::map<size_t, std::string>& values,
                          int sign) {
  using Aggregate = ModelPlan::Column::Aggregate;
  const std::string state = model_part(m, "g", group);
  std::map<std::string, std::string> st;
  for (auto& [f, v] : view_.hgetall(state)) st.emplace(std::move(f), std::move(v));
  const auto fail = [&](const std::string& what) {
    return std::runtime_error("read model " + m.name + ", group " + group + ": " + what);
  };
  const auto decimal = [&](const std::string& field) {
    const auto it = st.find(field);
    if (it == st.end()) return Decimal();
    const auto v = Decimal::parse(it->second);
    if (!v) throw fail(state + " holds " + field + " = " + it->second);
    return *v;
  };
  const auto number = [&](const std::string& field) {
    const auto v = decimal(field).scaled(0);
    if (!v) throw fail(state + " holds " + field + " = " + st[field]);
    return *v;
  };
  const int64_t rows = number("rows") + sign;
  if (rows < 0) throw fail("a row left a group that did not count it");
  view_.del(model_key(m, group));
  if (rows == 0) {
    view_.del(state);
    return rank(m, group, nullptr);
  }
  std::map<std::string, std::string> row;  // the group's hash
  view_.hset(state, "rows", std::to_string(rows));
  const auto values_of_group = identity_values(group, m.group.size());
  for (size_t i = 0; i < m.columns.size(); ++i) {
    const auto& c = m.columns[i];
    if (c.aggregate == Aggregate::None) {
      const auto g = std::find(m.group.begin(), m.group.end(), c.column);
      row[c.name] = values_of_group[static_cast<size_t>(g - m.group.begin())];
      continue;
    }
    if (c.column.empty()) {  // count(*)
      row[c.name] = std::to_string(rows);
      continue;
    }
    const std::string idx = std::to_string(i);
    int64_t n = number("n." + idx), nans = number("z." + idx);
    Decimal sum = decimal("s." + idx);
    if (const auto it = values.find(i); it != values.end()) {
      n += sign;
      if (c.aggregate == Aggregate::Sum) {
        // numeric(p,s) prints s decimals, so the sum has the scale of its values, as in PostgreSQL.
        const auto v = it->second == "NaN" ? std::nullopt : Decimal::parse(it->second);
        const auto moved = v ? v->times(sign) : std::nullopt;
        const auto total = moved ? sum.plus(*moved) : std::nullopt;
        if (it->second == "NaN")
          nans += sign;
        else if (total)
          sum = *total;
        else
          throw fail("column " + c.column + "'s value " + it->second + " is no decimal, or the sum passes 36 digits");
      }
      if (n < 0 || nans < 0) throw fail("a value left a group that did not count it");
      view_.hset(state, "n." + idx, std::to_string(n));
      if (c.aggregate == Aggregate::Sum) {
        view_.hset(state, "s." + idx, sum.to_string());
        view_.hset(state, "z." + idx, std::to_string(nans));
      }
    }
    // As PostgreSQL computes it: count() of no value is 0; sum() of none is NULL, with a NaN NaN.
    if (c.aggregate == Aggregate::Count)
      row[c.name] = std::to_string(n);
    else if (n > 0)
      row[c.name] = nans > 0 ? "NaN" : sum.to_string();
  }
  write_row(m, group, row);
}

void Projector::walk_rows(Run& r, const std::string& cursor, const ModelPlan& m,
                          const std::function<void(const std::string&)>& f) {
  const std::string stem = model_stem(m) + "r:";
  walk_keys(r, cursor, stem + "*", [&](const std::string& key) {
    if (const auto id = Keys::id_in(stem, key)) f(std::string(*id));
  });
}

void Projector::forget_row(const ModelPlan& m, const std::string& id) {
  if (!m.grouped()) view_.del(model_key(m, id));  // a group's hash goes by its own walk
  view_.del(model_part(m, "r", id));
}

void Projector::walk_keys(Run& r, const std::string& cursor, const std::string& pattern,
                          const std::function<void(const std::string&)>& f) {
  if (cursor == "0") {
    // Keys this run wrote, which Redis may not have yet; SCAN finds the rest.
    const std::string_view stem = std::string_view(pattern).substr(0, pattern.size() - 1);
    for (const auto& key : view_.changed_keys(stem)) {
      f(key);
      ++r.fan_used;
    }
  }
  page_through(
      r, cursor,
      [&](const std::string& at, int room) {
        return Command{"SCAN", at, "MATCH", pattern, "COUNT", std::to_string(room)};
      },
      f);
}

}  // namespace pgcqrs::sidecar::projection
