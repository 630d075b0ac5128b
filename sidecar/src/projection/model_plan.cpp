// Plans of declarative read models (model_plan.hpp).
#include "pgcqrs/sidecar/projection/model_plan.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstdint>
#include <list>
#include <stdexcept>

#include "pgcqrs/core/decimal.hpp"
#include "pgcqrs/core/json_reader.hpp"
#include "pgcqrs/sidecar/keys.hpp"

namespace pgcqrs::sidecar::projection {

namespace {

using json::Kind;
using json::Reader;
using json::Value;

struct PlanReader {
  Reader& in;
  std::string& error;

  bool fail(std::string what) {
    if (error.empty()) error = std::move(what);
    return false;
  }
  bool text(std::string& out, std::string_view what) {
    Value v;
    if (!in.value(&v)) return false;
    if (v.kind != Kind::String) return fail(std::string(what) + " is not a string");
    out = std::string(v.text);
    return true;
  }
  bool integer(int& out, std::string_view what) {
    Value v;
    if (!in.value(&v)) return false;
    if (v.kind != Kind::Int || v.integer < 0 || v.integer > 1000) return fail(std::string(what) + " is not a small integer");
    out = static_cast<int>(v.integer);
    return true;
  }
  // The reader's object() and array() take the bracket at the cursor to be the right one.
  bool is(char bracket, std::string_view what) {
    in.ws();
    return in.at(bracket) || fail(std::string(what) + (bracket == '{' ? " is not an object" : " is not an array"));
  }
  bool strings(std::vector<std::string>& out, std::string_view what) {
    return is('[', what) && in.array([&] { return text(out.emplace_back(), what); });
  }
  bool table(ModelPlan::Table& t) {
    return is('{', "a table") && in.object([&](std::string_view m) {
      if (m == "table") return text(t.name, "a table's \"table\"");
      if (m == "key") return strings(t.key, "a table's \"key\"");
      if (m == "reads") return strings(t.reads, "a table's \"reads\"");
      if (m == "from") return strings(t.from, "a table's \"from\"");
      if (m == "parent") return strings(t.parent, "a table's \"parent\"");
      if (m == "via") return integer(t.via, "a table's \"via\"");
      if (m == "join") {
        std::string j;
        if (!text(j, "a table's \"join\"")) return false;
        if (j == "root") t.join = ModelPlan::Join::Root;
        else if (j == "left") t.join = ModelPlan::Join::Left;
        else if (j == "inner") t.join = ModelPlan::Join::Inner;
        else if (j == "nested") t.join = ModelPlan::Join::Nested;
        else return fail("a table's join is \"" + j + "\", which this sidecar does not know");
        return true;
      }
      return in.value(nullptr);
    });
  }
  bool column(ModelPlan::Column& c) {
    return is('{', "a column") && in.object([&](std::string_view m) {
      if (m == "name") return text(c.name, "a column's \"name\"");
      if (m == "column") return text(c.column, "a column's \"column\"");
      if (m == "table") return integer(c.table, "a column's \"table\"");
      if (m == "scale") return integer(c.scale, "a column's \"scale\"");
      if (m == "empty") {
        std::string e;
        if (!text(e, "a column's \"empty\"")) return false;
        if (e != "[]") return fail("a column's empty value is " + e + ", which this sidecar does not know");
        c.empty_array = true;
        return true;
      }
      if (m == "nested") {
        std::string n;
        if (!text(n, "a column's \"nested\"")) return false;
        if (n == "array") c.nested = ModelPlan::Column::Nested::Array;
        else if (n == "count") c.nested = ModelPlan::Column::Nested::Count;
        else if (n == "sum") c.nested = ModelPlan::Column::Nested::Sum;
        else if (n == "min") c.nested = ModelPlan::Column::Nested::Min;
        else if (n == "max") c.nested = ModelPlan::Column::Nested::Max;
        else return fail("a column's nested kind is \"" + n + "\", which this sidecar does not know");
        return true;
      }
      if (m == "fields")
        return is('[', "a column's \"fields\"") && in.array([&] {
          auto& f = c.fields.emplace_back();
          return is('{', "a field") && in.object([&](std::string_view k) {
            if (k == "key") return text(f.key, "a field's \"key\"");
            if (k == "column") return text(f.column, "a field's \"column\"");
            if (k == "json") {
              std::string j;
              if (!text(j, "a field's \"json\"")) return false;
              if (j == "number") f.json = ModelPlan::Column::Json::Number;
              else if (j == "string") f.json = ModelPlan::Column::Json::String;
              else if (j == "boolean") f.json = ModelPlan::Column::Json::Boolean;
              else return fail("a field's json is \"" + j + "\", which this sidecar does not know");
              return true;
            }
            return in.value(nullptr);
          });
        });
      if (m == "order")
        return is('[', "a column's \"order\"") && in.array([&] {
          auto& o = c.order.emplace_back();
          return is('{', "an order") && in.object([&](std::string_view k) {
            if (k == "column") return text(o.column, "an order's \"column\"");
            if (k == "desc") {
              Value v;
              if (!in.value(&v)) return false;
              if (v.kind != Kind::Bool) return fail("an order's \"desc\" is not a boolean");
              o.desc = v.boolean;
              return true;
            }
            return in.value(nullptr);
          });
        });
      if (m == "aggregate") {
        std::string a;
        if (!text(a, "a column's \"aggregate\"")) return false;
        if (a == "count") c.aggregate = ModelPlan::Column::Aggregate::Count;
        else if (a == "sum") c.aggregate = ModelPlan::Column::Aggregate::Sum;
        else return fail("a column's aggregate is \"" + a + "\", which this sidecar does not know");
        return true;
      }
      return in.value(nullptr);
    });
  }
  bool filter(ModelPlan::Filter& f) {
    return is('{', "a filter") && in.object([&](std::string_view m) {
      if (m == "column") return text(f.column, "a filter's \"column\"");
      if (m == "table") return integer(f.table, "a filter's \"table\"");
      if (m == "values") return strings(f.values, "a filter's \"values\"");
      if (m == "op") {
        std::string op;
        if (!text(op, "a filter's \"op\"")) return false;
        using Op = ModelPlan::Filter::Op;
        if (op == "=") f.op = Op::Eq;
        else if (op == "<>") f.op = Op::Ne;
        else if (op == "in") f.op = Op::In;
        else if (op == "not in") f.op = Op::NotIn;
        else if (op == "is null") f.op = Op::IsNull;
        else if (op == "is not null") f.op = Op::IsNotNull;
        else return fail("a filter's op is \"" + op + "\", which this sidecar does not know");
        return true;
      }
      return in.value(nullptr);
    });
  }
};

// What the plan's parts must agree on, and the key template cut into pieces.
std::string check(ModelPlan& p) {
  if (p.tables.empty() || p.tables[0].join != ModelPlan::Join::Root) return "its first table is not the root";
  for (size_t i = 0; i < p.tables.size(); ++i) {
    const auto& t = p.tables[i];
    if (t.name.empty() || t.key.empty()) return "table " + std::to_string(i) + " has no name or no key";
    for (const auto& k : t.key)
      if (std::find(t.reads.begin(), t.reads.end(), k) == t.reads.end())
        return "table " + t.name + " does not read its key column " + k;
    if (i == 0) continue;
    if (t.join == ModelPlan::Join::Nested) {
      if (t.via != 0 || t.parent.empty() || t.from.size() != t.parent.size())
        return "nested table " + t.name + " does not name its root row";
      for (const auto& c : t.parent)
        if (std::find(t.reads.begin(), t.reads.end(), c) == t.reads.end())
          return "nested table " + t.name + " does not read its column " + c;
      for (const auto& c : t.from)
        if (std::find(p.tables[0].reads.begin(), p.tables[0].reads.end(), c) == p.tables[0].reads.end())
          return "nested table " + t.name + " names the root by " + c + ", which the plan does not read";
      continue;
    }
    if (t.join == ModelPlan::Join::Root || t.via < 0 || static_cast<size_t>(t.via) >= i || t.from.size() != t.key.size())
      return "lookup " + t.name + " is not joined to a table before it";
    const auto& via = p.tables[static_cast<size_t>(t.via)];
    for (const auto& f : t.from)
      if (std::find(via.reads.begin(), via.reads.end(), f) == via.reads.end())
        return "lookup " + t.name + " is matched on " + via.name + "." + f + ", which the plan does not read";
  }
  using Aggregate = ModelPlan::Column::Aggregate;
  for (const auto& c : p.columns) {
    if (c.table < 0 || static_cast<size_t>(c.table) >= p.tables.size()) return "column " + c.name + " names no table";
    if (c.aggregate != Aggregate::None && !p.grouped()) return "column " + c.name + " aggregates in a model without groups";
    if (c.aggregate == Aggregate::None && p.grouped() &&
        std::find(p.group.begin(), p.group.end(), c.column) == p.group.end())
      return "column " + c.name + " is neither grouped by nor aggregated";
    using Nested = ModelPlan::Column::Nested;
    const bool nested_table = p.tables[static_cast<size_t>(c.table)].join == ModelPlan::Join::Nested;
    if (nested_table != (c.nested != Nested::None)) return "column " + c.name + " mixes nested and other rows";
    if (c.nested != Nested::None) {
      const auto& reads = p.tables[static_cast<size_t>(c.table)].reads;
      const auto read = [&](const std::string& col) { return std::find(reads.begin(), reads.end(), col) != reads.end(); };
      for (const auto& f : c.fields)
        if (!read(f.column)) return "column " + c.name + " nests " + f.column + ", which the plan does not read";
      for (const auto& o : c.order)
        if (!read(o.column)) return "column " + c.name + " is ordered by " + o.column + ", which the plan does not read";
      if (c.nested == Nested::Array && c.fields.empty()) return "column " + c.name + " nests no field";
      if ((c.nested == Nested::Sum || c.nested == Nested::Min || c.nested == Nested::Max) && !read(c.column))
        return "column " + c.name + " aggregates no column it reads";
      continue;
    }
    if (c.aggregate == Aggregate::Count && c.column.empty()) continue;  // count(*)
    if (c.aggregate == Aggregate::Sum && (c.column.empty() || c.scale < 0 || c.scale > 1000))
      return "column " + c.name + " sums no column";
    const auto& reads = p.tables[static_cast<size_t>(c.table)].reads;
    if (std::find(reads.begin(), reads.end(), c.column) == reads.end())
      return "column " + c.name + " is not read from its table";
  }
  if (!p.rank.empty() &&
      std::none_of(p.columns.begin(), p.columns.end(), [&](const auto& c) { return c.name == p.rank; }))
    return "its rank " + p.rank + " is not a column";
  if (p.grouped()) {
    if (p.tables.size() != 1) return "a grouped model has lookups";
    for (const auto& g : p.group)
      if (std::find(p.tables[0].reads.begin(), p.tables[0].reads.end(), g) == p.tables[0].reads.end())
        return "its group column " + g + " is not read from the root";
  }
  for (const auto& f : p.filters) {
    // On the root's rows, or on the child rows of a nested table (which then keeps copies).
    if (f.table < 0 || static_cast<size_t>(f.table) >= p.tables.size() ||
        (f.table > 0 && p.tables[static_cast<size_t>(f.table)].join != ModelPlan::Join::Nested))
      return "a filter is on neither the root nor nested rows";
    auto& table = p.tables[static_cast<size_t>(f.table)];
    if (std::find(table.reads.begin(), table.reads.end(), f.column) == table.reads.end())
      return "a filter's column " + f.column + " is not read from " + table.name;
    if (f.table > 0) table.copied = true;
  }
  // The key template: literal text and {column} placeholders naming the key's columns.
  std::string_view rest = p.key;
  bool any = false;
  while (!rest.empty()) {
    const size_t open = rest.find('{');
    ModelPlan::Piece piece;
    piece.literal = std::string(rest.substr(0, open));
    if (open == std::string_view::npos) {
      p.pieces.push_back(std::move(piece));
      break;
    }
    const size_t close = rest.find('}', open);
    if (close == std::string_view::npos) return "the key " + p.key + " has a { without its }";
    const std::string_view placeholder = rest.substr(open + 1, close - open - 1);
    const auto col = std::find_if(p.columns.begin(), p.columns.end(), [&](const auto& c) {
      return c.name == placeholder && c.aggregate == Aggregate::None;
    });
    if (col == p.columns.end() || col->table != 0) return "the key " + p.key + " names no column of the root";
    const auto& key = p.key_columns();
    const auto k = std::find(key.begin(), key.end(), col->column);
    if (k == key.end()) return "the key " + p.key + " names a column outside the model's key";
    piece.key = static_cast<int>(k - key.begin());
    p.pieces.push_back(std::move(piece));
    any = true;
    rest.remove_prefix(close + 1);
  }
  if (!any) return "the key " + p.key + " has no placeholder";
  return {};
}

void append_json_string(std::string& out, std::string_view s) {
  out += '"';
  for (const char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      static const char hex[] = "0123456789abcdef";
      out += "\\u00";
      out += hex[(c >> 4) & 0xf];
      out += hex[c & 0xf];
    } else {
      out += c;
    }
  }
  out += '"';
}

}  // namespace

std::optional<ModelPlan> parse_plan(std::string_view name, std::string_view json, std::string& error) {
  error.clear();
  ModelPlan p;
  p.name = std::string(name);
  std::list<std::string> decoded;
  Reader in(json, decoded);
  PlanReader r{in, error};
  const bool ok = r.is('{', "the plan") && in.object([&](std::string_view m) {
    if (m == "key") return r.text(p.key, "\"key\"");
    if (m == "group") return r.strings(p.group, "\"group\"");
    if (m == "rank") return r.text(p.rank, "\"rank\"");
    if (m == "version") {
      Value v;
      if (!in.value(&v)) return false;
      if (v.kind != Kind::Int || v.integer < 1) return r.fail("\"version\" is not a positive integer");
      p.version = v.integer;
      return true;
    }
    if (m == "tables") return r.is('[', "\"tables\"") && in.array([&] { return r.table(p.tables.emplace_back()); });
    if (m == "columns") return r.is('[', "\"columns\"") && in.array([&] { return r.column(p.columns.emplace_back()); });
    if (m == "filters")
      return r.is('[', "\"filters\"") && in.array([&] { return r.filter(p.filters.emplace_back()); });
    return in.value(nullptr);
  });
  if (!ok) {
    if (error.empty()) error = std::string("malformed JSON: ") + (in.error() ? in.error() : "?");
  } else {
    error = check(p);
  }
  if (!error.empty()) {
    error = "read model " + std::string(name) + "'s plan: " + error;
    return std::nullopt;
  }
  for (const auto& c : p.columns)  // check() has seen every column's table exist
    if (c.nested != ModelPlan::Column::Nested::None && c.nested != ModelPlan::Column::Nested::Count)
      p.tables[static_cast<size_t>(c.table)].copied = true;
  return p;
}

std::optional<std::string> identity(const RowValues& row, const std::vector<std::string>& columns) {
  if (columns.size() == 1) {
    const auto* v = find_value(row, columns[0]);
    if (!v || !*v) return std::nullopt;
    return **v;
  }
  std::string out = "[";
  for (size_t i = 0; i < columns.size(); ++i) {
    const auto* v = find_value(row, columns[i]);
    if (!v || !*v) return std::nullopt;
    if (i) out += ',';
    append_json_string(out, **v);
  }
  out += ']';
  return out;
}

std::vector<std::string> identity_values(std::string_view identity, size_t columns) {
  if (columns == 1) return {std::string(identity)};
  std::vector<std::string> out;
  std::list<std::string> decoded;
  Reader in(identity, decoded);
  in.array([&] {
    Value v;
    if (!in.value(&v)) return false;
    out.emplace_back(v.text);
    return true;
  });
  out.resize(columns);
  return out;
}

int identity_bucket(std::string_view identity) {
  const bool integer = !identity.empty() &&
                       identity.find_first_not_of("0123456789", identity[0] == '-' ? 1 : 0) == std::string_view::npos &&
                       identity != "-";
  if (integer) return Keys::bucket_of(identity);
  uint32_t h = 2166136261u;
  for (const char c : identity) h = (h ^ static_cast<unsigned char>(c)) * 16777619u;
  return static_cast<int>(h % Keys::kBuckets);
}

std::string model_key(const ModelPlan& plan, std::string_view scope, const std::string& id) {
  const auto values = identity_values(id, plan.key_columns().size());
  std::string key(scope);
  bool tagged = false;
  for (const auto& p : plan.pieces) {
    key += p.literal;
    if (p.key < 0) continue;
    if (!tagged) key.append(1, '{').append(std::to_string(identity_bucket(id))).append("}:");
    tagged = true;
    key += values[static_cast<size_t>(p.key)];
  }
  return key;
}

std::string key_stem(const ModelPlan& plan) { return plan.pieces.at(0).literal + "{"; }

std::vector<ModelPlan> plans_of(const std::vector<std::pair<std::string, std::string>>& registry) {
  std::vector<ModelPlan> out;
  std::string error;
  for (const auto& [name, json] : registry)
    if (auto p = parse_plan(name, json, error)) out.push_back(std::move(*p));
  return out;
}

namespace {

// A JSON string as PostgreSQL's escape_json writes it.
void append_pg_json_string(std::string& out, std::string_view s) {
  out += '"';
  for (const char ch : s) {
    switch (ch) {
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      default:
        if (static_cast<unsigned char>(ch) < ' ') {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<int>(ch));
          out += buf;
        } else {
          out += ch;
        }
    }
  }
  out += '"';
}

}  // namespace

std::optional<std::string> nested_value(const ModelPlan::Column& column, std::vector<RowValues> children) {
  using Nested = ModelPlan::Column::Nested;
  using Json = ModelPlan::Column::Json;
  if (column.nested == Nested::Count) return std::to_string(children.size());
  if (column.nested == Nested::Sum) {
    std::optional<Decimal> sum;
    for (const auto& row : children) {
      const auto* v = find_value(row, column.column);
      if (!v || !*v) continue;
      const auto d = Decimal::parse(**v);
      const auto total = d ? Decimal(sum.value_or(Decimal())).plus(*d) : std::nullopt;
      if (!total) throw std::runtime_error("column " + column.name + ": " + **v + " is no decimal, or the sum passes 36 digits");
      sum = *total;
    }
    if (!sum) return std::nullopt;
    return sum->to_string();
  }
  if (column.nested == Nested::Min || column.nested == Nested::Max) {
    // Integers or numeric(p,s): one text per value, whichever row holds it.
    const std::string* best = nullptr;
    std::optional<Decimal> best_value;  // nullopt with best set: NaN
    for (const auto& row : children) {
      const auto* v = find_value(row, column.column);
      if (!v || !*v) continue;
      const std::string& text = **v;
      const auto d = text == "NaN" ? std::nullopt : Decimal::parse(text);
      if (text != "NaN" && !d) throw std::runtime_error("column " + column.name + ": " + text + " is no decimal");
      int cmp = 0;  // of this value against the best so far
      if (!best) cmp = column.nested == Nested::Min ? -1 : 1;
      else if (!d) cmp = best_value ? 1 : 0;  // NaN above every number
      else if (!best_value) cmp = -1;
      else if (const auto c = d->compare(*best_value)) cmp = *c;
      else throw std::runtime_error("column " + column.name + ": " + text + " and " + *best + " are not comparable");
      if (column.nested == Nested::Min ? cmp < 0 : cmp > 0) {
        best = &text;
        best_value = d;
      }
    }
    return best ? std::optional<std::string>(*best) : std::nullopt;
  }
  if (children.empty()) return column.empty_array ? std::optional<std::string>("[]") : std::nullopt;
  const auto number = [](const RowValues& row, const std::string& c) {
    const auto* v = find_value(row, c);
    return v && *v ? std::strtoll((*v)->c_str(), nullptr, 10) : 0LL;
  };
  std::sort(children.begin(), children.end(), [&](const RowValues& a, const RowValues& b) {
    for (const auto& o : column.order) {
      const long long x = number(a, o.column), y = number(b, o.column);
      if (x != y) return o.desc ? x > y : x < y;
    }
    return false;
  });
  // jsonb keeps an object's keys shorter first, then in byte order.
  std::vector<const ModelPlan::Column::Field*> fields;
  for (const auto& f : column.fields) fields.push_back(&f);
  std::sort(fields.begin(), fields.end(), [](const auto* a, const auto* b) {
    return a->key.size() != b->key.size() ? a->key.size() < b->key.size() : a->key < b->key;
  });
  std::string out = "[";
  for (size_t i = 0; i < children.size(); ++i) {
    out += i ? ", {" : "{";
    for (size_t f = 0; f < fields.size(); ++f) {
      if (f) out += ", ";
      append_pg_json_string(out, fields[f]->key);
      out += ": ";
      const auto* v = find_value(children[i], fields[f]->column);
      if (!v || !*v)
        out += "null";
      else if (fields[f]->json == Json::String)
        append_pg_json_string(out, **v);
      else if (fields[f]->json == Json::Boolean)
        out += **v == "t" ? "true" : "false";
      else
        out += **v;
    }
    out += '}';
  }
  return out + "]";
}

std::string rank_key(const ModelPlan& plan, std::string_view scope, int bucket) {
  return std::string(scope) + plan.pieces.at(0).literal + "{" + std::to_string(bucket) + "}";
}

std::optional<std::string> rank_score(std::string_view value) {
  if (value == "Infinity") return "inf";
  if (value == "-Infinity") return "-inf";
  const std::string text(value);
  char* end = nullptr;
  const double d = std::strtod(text.c_str(), &end);
  if (text.empty() || end != text.c_str() + text.size() || std::isnan(d) || std::isinf(d)) return std::nullopt;
  return text;
}

bool passes(const ModelPlan& plan, const RowValues& row, int table) {
  using Op = ModelPlan::Filter::Op;
  for (const auto& f : plan.filters) {
    if (f.table != table) continue;
    const auto* v = find_value(row, f.column);
    const bool null = !v || !*v;
    const auto in = [&] { return std::find(f.values.begin(), f.values.end(), **v) != f.values.end(); };
    bool ok = false;
    switch (f.op) {
      case Op::IsNull: ok = null; break;
      case Op::IsNotNull: ok = !null; break;
      // A comparison with NULL is not true: the row is not in the view.
      case Op::Eq:
      case Op::In: ok = !null && in(); break;
      case Op::Ne:
      case Op::NotIn: ok = !null && !in(); break;
    }
    if (!ok) return false;
  }
  return true;
}

}  // namespace pgcqrs::sidecar::projection
