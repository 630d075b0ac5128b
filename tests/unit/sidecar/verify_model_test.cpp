#include "pgcqrs/sidecar/verify/model.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "pgcqrs/core/limits.hpp"
#include "pgcqrs/core/lsn.hpp"

using namespace pgcqrs::sidecar::verify;

namespace {

WriteModel small() {
  WriteModel wm;
  wm.users = {{1, "Ada", "ada@example.com", true}, {2, "Bob", "bob@example.com", false}};
  wm.products = {{1, "Pen", "1.50", true}, {2, "Ink", "10.00", true}, {3, "Cap", "0.05", false}};
  wm.orders = {{7, 1, "paid", "2026-01-01T00:00:00.000001Z", "2026-01-01T00:00:01.000000Z", 1767225600000},
               {8, 1, "cancelled", "2026-01-02T00:00:00.000000Z", "2026-01-02T00:00:00.000000Z", 1767312000000}};
  wm.items = {{7, 2, 1, "9.99"}, {7, 1, 2, "1.50"}, {8, 1, 4, "1.50"}};
  return wm;
}

// Redis as a correct projection would leave it (lsn fields included).
Model correct() {
  Model m = expected_model(small());
  for (auto& [key, kv] : m) {
    if (kv.type == KeyValue::Type::Hash) kv.hash["lsn"] = "0/100";
    for (auto& e : kv.list) e.insert(e.size() - 1, R"(,"lsn":"0/100")");
  }
  return m;
}

CompareOptions at(const char* lsn) {
  CompareOptions o;
  o.checkpoint = pgcqrs::parse_lsn(lsn);
  return o;
}

}  // namespace

TEST(VerifyModel, DenormalizesOrdersWithTotalsAndSortedItems) {
  Model m = expected_model(small());
  const auto& o = m.at("order_details:{7}:7").hash;
  EXPECT_EQ(o.at("user_name"), "Ada");
  EXPECT_EQ(o.at("user_email"), "ada@example.com");
  EXPECT_EQ(o.at("item_count"), "2");
  EXPECT_EQ(o.at("total"), "12.99");
  EXPECT_EQ(o.at("items"),
            R"([{"line_total":"3.00","product_id":1,"product_name":"Pen","quantity":2,"unit_price":"1.50"},)"
            R"({"line_total":"9.99","product_id":2,"product_name":"Ink","quantity":1,"unit_price":"9.99"}])");
  EXPECT_EQ(m.at("user_orders:{1}:1").zset.at("7"), "1767225600000");
}

TEST(VerifyModel, CountersLeaveCancelledOrdersOut) {
  Model m = expected_model(small());
  EXPECT_EQ(m.at("user:{1}:1").hash.at("order_count"), "2");
  EXPECT_EQ(m.at("user:{1}:1").hash.at("lifetime_value"), "12.99");
  EXPECT_EQ(m.at("user:{2}:2").hash.at("lifetime_value"), "0.00");
  EXPECT_EQ(m.at("product:{1}:1").hash.at("units_sold"), "2");
  EXPECT_EQ(m.at("product:{1}:1").hash.at("revenue"), "3.00");
  EXPECT_EQ(m.at("product:{3}:3").hash.at("revenue"), "0.00");
  EXPECT_EQ(m.at("product:{3}:3").hash.at("is_active"), "false");
  EXPECT_EQ(m.at("top_products:{2}").zset.at("2"), "9.99");
  EXPECT_EQ(m.count("order_items:8"), 0u);  // layout 1 only
  EXPECT_EQ(m.count("user_orders:{2}:2"), 0u);  // no orders: no key
}

TEST(VerifyModel, CorrectReadModelHasNoDifferences) {
  EXPECT_TRUE(compare(expected_model(small()), correct(), at("0/100")).empty());
}

TEST(VerifyModel, ReportsEachDifferenceByKeyAndField) {
  Model actual = correct();
  actual["order_details:{7}:7"].hash["total"] = "12.98";
  actual["user:{1}:1"].hash.erase("email");
  actual["user:{1}:1"].hash["extra"] = "x";
  actual["order_details:{35}:99"] = actual["order_details:{7}:7"];
  actual.erase("product:{2}:2");
  actual["user_orders:{1}:1"].zset["7"] = "1";
  actual["top_products:{2}"].zset["42"] = "0";
  actual["pgcqrs:orders"].set.insert("99");  // a layout-1 key left behind
  actual["product:{1}:1"].hash["lsn"] = "0/200";
  actual["unrelated:app:key"] = KeyValue{};
  auto diffs = compare(expected_model(small()), actual, at("0/100"));
  EXPECT_EQ(diffs, (std::vector<std::string>{
      "order_details:{7}:7 field total: expected \"12.99\", found \"12.98\"",
      "product:{1}:1 field lsn: 0/200 is past the checkpoint 0/100",
      "product:{2}:2: missing",
      "top_products:{2} member 42: should not exist",
      "user:{1}:1 field email: missing, expected \"ada@example.com\"",
      "user:{1}:1 field extra: should not exist (\"x\")",
      "user_orders:{1}:1 member 7: expected score 1767225600000, found 1",
      "order_details:{35}:99: should not exist",
      "pgcqrs:orders: should not exist"}));
}

TEST(VerifyModel, ItemsCompareAsJsonAndScoresAsNumbers) {
  Model actual = correct();
  actual["order_details:{7}:7"].hash["items"] =
      R"([ {"product_id":1,"product_name":"Pen","quantity":2,"unit_price":"1.50","line_total":"3.00"},)"
      R"( {"product_id":2,"product_name":"Ink","quantity":1,"unit_price":"9.99","line_total":"9.99"} ])";
  actual["top_products:{2}"].zset["2"] = "9.9900000000000002";
  EXPECT_TRUE(compare(expected_model(small()), actual, at("0/100")).empty());
}

TEST(VerifyModel, UserLatestHoldsTheNewestTenOrdersInSortedSetOrder) {
  WriteModel wm;
  wm.users = {{1, "Ada", "ada@example.com", true}};
  for (int64_t id = 1; id <= 12; ++id)
    wm.orders.push_back({id, 1, "pending", "2026-01-01T00:00:00.000000Z", "2026-01-01T00:00:00.000000Z",
                         1000 + (id == 10 ? 9 : id)});  // 9 and 10 tie: "9" > "10" as members
  Model m = expected_model(wm);
  const auto& page = m.at("user_latest:{1}:1");
  EXPECT_EQ(page.type, KeyValue::Type::List);
  std::vector<int64_t> ids;
  for (const auto& e : page.list) ids.push_back(nlohmann::json::parse(e).at("order_id").get<int64_t>());
  EXPECT_EQ(ids, (std::vector<int64_t>{12, 11, 9, 10, 8, 7, 6, 5, 4, 3}));
  EXPECT_EQ(page.list[0],
            R"({"created_at":"2026-01-01T00:00:00.000000Z","item_count":0,"items":[],"order_id":12,"status":"pending",)"
            R"("total":"0.00","updated_at":"2026-01-01T00:00:00.000000Z","user_email":"ada@example.com","user_id":1,)"
            R"("user_name":"Ada"})");

  Model actual = m;
  for (auto& [key, kv] : actual)
    if (kv.type == KeyValue::Type::Hash) kv.hash["lsn"] = "0/100";
  for (auto& e : actual["user_latest:{1}:1"].list) e.insert(e.size() - 1, R"(,"lsn":"0/100")");
  EXPECT_TRUE(compare(m, actual, at("0/100")).empty());
  actual["order_details:{12}:12"].hash["lsn"] = "0/F0";  // a page entry older than its order
  EXPECT_EQ(compare(m, actual, at("0/100")),
            (std::vector<std::string>{R"(user_latest:{1}:1 entry 0: lsn "0/100" is not its order's ("0/F0"))"}));
  actual["order_details:{12}:12"].hash["lsn"] = "0/100";
  std::swap(actual["user_latest:{1}:1"].list[2], actual["user_latest:{1}:1"].list[3]);
  actual["user_latest:{1}:1"].list.pop_back();
  auto diffs = compare(m, actual, at("0/100"));
  ASSERT_EQ(diffs.size(), 3u);
  EXPECT_EQ(diffs[0].rfind("user_latest:{1}:1 entry 2: expected ", 0), 0u) << diffs[0];
  EXPECT_EQ(diffs[2].rfind("user_latest:{1}:1 entry 9: missing", 0), 0u) << diffs[2];
}

TEST(VerifyModel, ExpectsTextAsThePluginSendsIt) {
  // Over the plugin's limit a name arrives cut to its first max_text_bytes (at a character
  // boundary); bytes that are not UTF-8 (a SQL_ASCII database) arrive as U+FFFD.
  WriteModel wm;
  std::string huge = std::string(pgcqrs::max_text_bytes - 1, 'a') + "\xE6\x97\xA5" + "tail";
  wm.users = {{1, huge, "x\x81y@example.com", true}};
  wm.products = {{1, std::string(pgcqrs::max_text_bytes, 'p') + "q", "1.00", true}};
  Model m = expected_model(wm);
  EXPECT_EQ(m.at("user:{1}:1").hash.at("name"), std::string(pgcqrs::max_text_bytes - 1, 'a'));
  EXPECT_EQ(m.at("user:{1}:1").hash.at("email"), "x\xEF\xBF\xBDy@example.com");
  EXPECT_EQ(m.at("product:{1}:1").hash.at("name"), std::string(pgcqrs::max_text_bytes, 'p'));
}

TEST(VerifyModel, DeclaredModelsCompareFieldsExactlyAndEveryStrayKey) {
  auto hash = [](std::map<std::string, std::string> fields) {
    KeyValue kv;
    kv.type = KeyValue::Type::Hash;
    kv.hash = std::move(fields);
    return kv;
  };
  const Model expected = {{"card:{1}:1", hash({{"id", "1"}, {"items", "[1, 2]"}})}};
  CompareOptions declared;
  declared.declared = true;
  EXPECT_EQ(compare(expected, expected, declared), std::vector<std::string>{});  // no lsn asked for
  const Model actual = {{"card:{1}:1", hash({{"id", "1"}, {"items", "[1,2]"}, {"lsn", "0/1"}})},
                        {"card:{2}:2", hash({{"id", "2"}})},
                        {"card:x", hash({{"id", "x"}})}};
  EXPECT_EQ(compare(expected, actual, declared),
            (std::vector<std::string>{"card:{1}:1 field items: expected \"[1, 2]\", found \"[1,2]\"",
                                      "card:{1}:1 field lsn: should not exist (\"0/1\")",
                                      "card:x: should not exist (no row of the view)",  // x sorts before {
                                      "card:{2}:2: should not exist (no row of the view)"}));
}
