// Plans of declarative read models: what the sidecar reads of them, and refuses.
#include "pgcqrs/sidecar/projection/model_plan.hpp"

#include <gtest/gtest.h>

using namespace pgcqrs::sidecar::projection;

namespace {

const char* kPlan =
    R"({"key":"line:{order}:{product}","tables":[)"
    R"({"key":["order_id","product_id"],"join":"root","reads":["order_id","product_id","qty","state"],"table":"public.lines"},)"
    R"({"key":["id"],"via":0,"from":["product_id"],"join":"left","reads":["id","name"],"table":"public.products"}],)"
    R"("columns":[{"name":"order","table":0,"column":"order_id"},{"name":"product","table":0,"column":"product_id"},)"
    R"({"name":"name","table":1,"column":"name"}],)"
    R"("filters":[{"op":"in","table":0,"column":"state","values":["a","b"]},{"op":"is not null","table":0,"column":"qty","values":[]}]})";

std::string refusal(const std::string& json) {
  std::string error;
  EXPECT_FALSE(parse_plan("m", json, error)) << json;
  return error;
}

}  // namespace

TEST(ModelPlan, ReadsTablesColumnsFiltersAndTheKeyTemplate) {
  std::string error;
  const auto p = parse_plan("lines", kPlan, error);
  ASSERT_TRUE(p) << error;
  ASSERT_EQ(p->tables.size(), 2u);
  EXPECT_EQ(p->tables[0].key, (std::vector<std::string>{"order_id", "product_id"}));
  EXPECT_EQ(p->tables[1].join, ModelPlan::Join::Left);
  EXPECT_EQ(p->tables[1].via, 0);
  EXPECT_EQ(p->tables[1].from, std::vector<std::string>{"product_id"});
  ASSERT_EQ(p->pieces.size(), 2u);  // literal text, then the key column it precedes
  EXPECT_EQ(p->pieces[0].literal, "line:");
  EXPECT_EQ(p->pieces[0].key, 0);
  EXPECT_EQ(p->pieces[1].literal, ":");
  EXPECT_EQ(p->pieces[1].key, 1);
  ASSERT_EQ(p->filters.size(), 2u);
  EXPECT_EQ(p->filters[0].op, ModelPlan::Filter::Op::In);
}

TEST(ModelPlan, FiltersFollowSqlOnNull) {
  std::string error;
  const auto p = parse_plan("lines", kPlan, error);
  ASSERT_TRUE(p) << error;
  EXPECT_TRUE(passes(*p, {{"state", "a"}, {"qty", "1"}}));
  EXPECT_FALSE(passes(*p, {{"state", "c"}, {"qty", "1"}}));
  EXPECT_FALSE(passes(*p, {{"state", std::nullopt}, {"qty", "1"}}));  // NULL IN (...) is not true
  EXPECT_FALSE(passes(*p, {{"state", "b"}, {"qty", std::nullopt}}));
  std::string not_in = kPlan;
  not_in.replace(not_in.find(R"("op":"in")"), 9, R"("op":"not in")");
  const auto q = parse_plan("lines", not_in, error);
  ASSERT_TRUE(q) << error;
  EXPECT_TRUE(passes(*q, {{"state", "c"}, {"qty", "1"}}));
  EXPECT_FALSE(passes(*q, {{"state", "a"}, {"qty", "1"}}));
  EXPECT_FALSE(passes(*q, {{"state", std::nullopt}, {"qty", "1"}}));  // NULL NOT IN (...) neither
}

TEST(ModelPlan, IdentitiesAreOneValueOrAJsonArrayAndNullHasNone) {
  const RowValues row{{"a", "7"}, {"b", "x\"y"}, {"n", std::nullopt}};
  EXPECT_EQ(identity(row, {"a"}), "7");
  EXPECT_EQ(identity(row, {"a", "b"}), R"(["7","x\"y"])");
  EXPECT_EQ(identity(row, {"n"}), std::nullopt);
  EXPECT_EQ(identity(row, {"a", "missing"}), std::nullopt);
  EXPECT_EQ(identity_values(R"(["7","x\"y"])", 2), (std::vector<std::string>{"7", "x\"y"}));
  EXPECT_EQ(identity_values("7", 1), std::vector<std::string>{"7"});
}

TEST(ModelPlan, AnIntegerIdentityHasTheBucketOfTheBuiltInKeys) {
  EXPECT_EQ(identity_bucket("42"), 42);
  EXPECT_EQ(identity_bucket("100"), 36);
  EXPECT_EQ(identity_bucket("-1"), 63);
  EXPECT_EQ(identity_bucket("abc"), identity_bucket("abc"));
  EXPECT_LT(identity_bucket("abc"), 64);
  EXPECT_GE(identity_bucket("-"), 0);
}

TEST(ModelPlan, PlansThisSidecarCannotFollowAreRefusedByName) {
  EXPECT_EQ(refusal("[]"), "read model m's plan: the plan is not an object");
  EXPECT_EQ(refusal(R"({"tables":{}})"), "read model m's plan: \"tables\" is not an array");
  EXPECT_EQ(refusal(R"({"key":"x:{id}","tables":[]})"), "read model m's plan: its first table is not the root");
  EXPECT_EQ(refusal(R"({"key":"x:{id}","tables":[{"table":"public.t","join":"outer","key":["id"],"reads":["id"]}]})"),
            "read model m's plan: a table's join is \"outer\", which this sidecar does not know");
  const std::string root = R"({"table":"public.t","join":"root","key":["id"],"reads":["id","v"]})";
  const std::string cols = R"("columns":[{"name":"id","table":0,"column":"id"}])";
  EXPECT_EQ(refusal(R"({"key":"x:{v}","tables":[)" + root + "]," + cols + "}"),
            "read model m's plan: the key x:{v} names no column of the root");
  EXPECT_EQ(refusal(R"({"key":"x","tables":[)" + root + "]," + cols + "}"), "read model m's plan: the key x has no placeholder");
  EXPECT_EQ(refusal(R"({"key":"x:{id}","tables":[)" + root +
                    R"(,{"table":"public.u","join":"left","key":["id"],"reads":["id"],"via":0,"from":["w"]}],)" + cols + "}"),
            "read model m's plan: lookup public.u is matched on public.t.w, which the plan does not read");
  EXPECT_EQ(refusal(R"({"key":"x:{id}","tables":[)" + root + "]," + cols +
                    R"(,"filters":[{"op":"like","table":0,"column":"v","values":[]}]})"),
            "read model m's plan: a filter's op is \"like\", which this sidecar does not know");
}

TEST(ModelPlan, AGroupedPlanIsKeyedByItsGroup) {
  const std::string root = R"({"table":"public.v","join":"root","key":["id"],"reads":["id","kind","day","cost"]})";
  std::string error;
  const auto p = parse_plan("per_kind",
                            R"({"key":"per_kind:{kind}:{day}","group":["kind","day"],"tables":[)" + root +
                                R"(],"columns":[{"name":"kind","table":0,"column":"kind"},{"name":"day","table":0,"column":"day"},)"
                                R"({"name":"n","table":0,"aggregate":"count"},)"
                                R"({"name":"cost","table":0,"column":"cost","aggregate":"sum","scale":2}]})",
                            error);
  ASSERT_TRUE(p) << error;
  EXPECT_TRUE(p->grouped());
  EXPECT_EQ(p->key_columns(), (std::vector<std::string>{"kind", "day"}));
  EXPECT_EQ(p->columns[2].aggregate, ModelPlan::Column::Aggregate::Count);
  EXPECT_TRUE(p->columns[2].column.empty());
  EXPECT_EQ(p->columns[3].aggregate, ModelPlan::Column::Aggregate::Sum);
  EXPECT_EQ(p->columns[3].scale, 2);
  const std::string id = *identity({{"kind", "call"}, {"day", "3"}}, p->key_columns());
  EXPECT_EQ(id, R"(["call","3"])");
  EXPECT_EQ(model_key(*p, "g2:", id), "g2:per_kind:{" + std::to_string(identity_bucket(id)) + "}:call:3");

  const std::string cols = R"("columns":[{"name":"kind","table":0,"column":"kind"},)";
  EXPECT_EQ(refusal(R"({"key":"x:{kind}","group":["kind"],"tables":[)" + root + "]," + cols +
                    R"({"name":"c","table":0,"column":"cost","aggregate":"avg"}]})"),
            "read model m's plan: a column's aggregate is \"avg\", which this sidecar does not know");
  EXPECT_EQ(refusal(R"({"key":"x:{kind}","group":["kind"],"tables":[)" + root + "]," + cols +
                    R"({"name":"day","table":0,"column":"day"}]})"),
            "read model m's plan: column day is neither grouped by nor aggregated");
  EXPECT_EQ(refusal(R"({"key":"x:{id}","tables":[)" + root +
                    R"(],"columns":[{"name":"id","table":0,"column":"id"},{"name":"n","table":0,"aggregate":"count"}]})"),
            "read model m's plan: column n aggregates in a model without groups");
  EXPECT_EQ(refusal(R"({"key":"x:{kind}","group":["kind"],"tables":[)" + root +
                    R"(,{"table":"public.u","join":"left","key":["id"],"reads":["id"],"via":0,"from":["day"]}],)" + cols +
                    R"({"name":"n","table":0,"aggregate":"count"}]})"),
            "read model m's plan: a grouped model has lookups");
  EXPECT_EQ(refusal(R"({"key":"x:{id}","group":["kind"],"tables":[)" + root + "]," + cols +
                    R"({"name":"id","table":0,"column":"id","aggregate":"count"}]})"),
            "read model m's plan: the key x:{id} names no column of the root");
}

TEST(ModelPlan, ARankedModelsSortedSetsAreNamedByItsStemAndBucket) {
  std::string error;
  const std::string root = R"({"table":"public.t","join":"root","key":["id"],"reads":["id","v"]})";
  const auto p = parse_plan("m", R"({"key":"card:{id}","rank":"v","tables":[)" + root +
                                     R"(],"columns":[{"name":"id","table":0,"column":"id"},{"name":"v","table":0,"column":"v"}]})",
                            error);
  ASSERT_TRUE(p) << error;
  EXPECT_EQ(p->rank, "v");
  EXPECT_EQ(rank_key(*p, "g3:", 17), "g3:card:{17}");
  EXPECT_EQ(model_key(*p, "g3:", "17"), "g3:card:{17}:17");
  EXPECT_EQ(rank_score("12.50"), "12.50");
  EXPECT_EQ(rank_score("-3"), "-3");
  EXPECT_EQ(rank_score("1e+100"), "1e+100");
  EXPECT_EQ(rank_score("Infinity"), "inf");
  EXPECT_EQ(rank_score("-Infinity"), "-inf");
  for (const char* none : {"NaN", "", "abc", "1.5x"}) EXPECT_FALSE(rank_score(none)) << none;
  EXPECT_EQ(refusal(R"({"key":"card:{id}","rank":"w","tables":[)" + root +
                    R"(],"columns":[{"name":"id","table":0,"column":"id"}]})"),
            "read model m's plan: its rank w is not a column");
}

TEST(ModelPlan, NestedRowsRenderAsPostgresJsonbPrintsThem) {
  ModelPlan::Column c;
  c.name = "notes";
  c.nested = ModelPlan::Column::Nested::Array;
  using Json = ModelPlan::Column::Json;
  c.fields = {{"body", "body", Json::String}, {"id", "id", Json::Number}, {"ok", "ok", Json::Boolean},
              {"pos", "pos", Json::Number}};
  c.order = {{"pos", true}, {"id", false}};
  std::vector<RowValues> rows = {
      {{"id", "3"}, {"pos", "1"}, {"body", "a \"q\"\n\\ é\x01"}, {"ok", "t"}},
      {{"id", "1"}, {"pos", "2"}, {"body", std::nullopt}, {"ok", "f"}},
      {{"id", "2"}, {"pos", "1"}, {"body", "b"}, {"ok", std::nullopt}},
  };
  // Keys shorter first, then in byte order; ORDER BY pos DESC, id.
  EXPECT_EQ(nested_value(c, rows),
            R"([{"id": 1, "ok": false, "pos": 2, "body": null}, )"
            R"({"id": 2, "ok": null, "pos": 1, "body": "b"}, )"
            R"({"id": 3, "ok": true, "pos": 1, "body": "a \"q\"\n\\ é\u0001"}])");
  EXPECT_EQ(nested_value(c, {}), std::nullopt);
  c.empty_array = true;
  EXPECT_EQ(nested_value(c, {}), "[]");
  ModelPlan::Column count;
  count.nested = ModelPlan::Column::Nested::Count;
  EXPECT_EQ(nested_value(count, rows), "3");
  EXPECT_EQ(nested_value(count, {}), "0");
  ModelPlan::Column sum;
  sum.nested = ModelPlan::Column::Nested::Sum;
  sum.column = "cost";
  EXPECT_EQ(nested_value(sum, {{{"cost", "1.50"}}, {{"cost", std::nullopt}}, {{"cost", "-0.25"}}}), "1.25");
  EXPECT_EQ(nested_value(sum, {{{"cost", std::nullopt}}}), std::nullopt);
  ModelPlan::Column low = sum, high = sum;
  low.nested = ModelPlan::Column::Nested::Min;
  high.nested = ModelPlan::Column::Nested::Max;
  const std::vector<RowValues> costs = {{{"cost", "1.50"}}, {{"cost", std::nullopt}}, {{"cost", "-0.25"}}, {{"cost", "10.00"}}};
  EXPECT_EQ(nested_value(low, costs), "-0.25");
  EXPECT_EQ(nested_value(high, costs), "10.00");
  EXPECT_EQ(nested_value(low, {{{"cost", std::nullopt}}}), std::nullopt);
  EXPECT_EQ(nested_value(high, {}), std::nullopt);
  // NaN sorts above every number, as in PostgreSQL.
  const std::vector<RowValues> with_nan = {{{"cost", "NaN"}}, {{"cost", "2.00"}}};
  EXPECT_EQ(nested_value(high, with_nan), "NaN");
  EXPECT_EQ(nested_value(low, with_nan), "2.00");
  EXPECT_EQ(nested_value(low, {{{"cost", "NaN"}}}), "NaN");
}

TEST(ModelPlan, AFilterOnNestedRowsTestsTheChildRowsAndKeepsTheirCopies) {
  const std::string tables =
      R"("tables":[{"table":"public.t","join":"root","key":["id"],"reads":["id"]},)"
      R"({"table":"public.n","join":"nested","key":["id"],"reads":["done","id","t_id"],"via":0,"parent":["t_id"],"from":["id"]}])";
  const std::string cols = R"("columns":[{"name":"id","table":0,"column":"id"},{"name":"open","table":1,"nested":"count"}])";
  std::string error;
  const auto plan = parse_plan(
      "m", R"({"key":"x:{id}",)" + tables + "," + cols + R"(,"filters":[{"op":"=","table":1,"column":"done","values":["f"]}]})",
      error);
  ASSERT_TRUE(plan) << error;
  EXPECT_TRUE(plan->tables[1].copied);  // counted, yet each child's done is needed
  EXPECT_TRUE(passes(*plan, {{"id", "1"}}));  // the root has no filter
  EXPECT_TRUE(passes(*plan, {{"id", "7"}, {"done", "f"}}, 1));
  EXPECT_FALSE(passes(*plan, {{"id", "7"}, {"done", "t"}}, 1));
  EXPECT_FALSE(passes(*plan, {{"id", "7"}, {"done", std::nullopt}}, 1));
  EXPECT_EQ(refusal(R"({"key":"x:{id}",)" + tables + "," + cols +
                    R"(,"filters":[{"op":"=","table":1,"column":"pos","values":["1"]}]})"),
            "read model m's plan: a filter's column pos is not read from public.n");
  EXPECT_EQ(refusal(R"({"key":"x:{id}",)" + tables + "," + cols +
                    R"(,"filters":[{"op":"=","table":2,"column":"done","values":["f"]}]})"),
            "read model m's plan: a filter is on neither the root nor nested rows");
}
