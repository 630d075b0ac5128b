#include "pgcqrs/events.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

using namespace pgcqrs;

namespace {

// Options that keep the output free of volatile fields, as the regression tests do.
Options stable() {
  Options o;
  o.include_xid = false;
  o.include_lsn = false;
  o.include_timestamps = false;
  return o;
}

std::vector<std::string> drain(EventWriter& w) {
  std::vector<std::string> out;
  for (std::size_t i = 0; i < w.message_count(); ++i) out.emplace_back(w.message(i));
  w.clear();
  return out;
}

Value i(int64_t v) { return Value::integer(v); }
Value t(const char* v) { return Value::text(v); }
Value d(const char* v) { return Value::decimal(v); }

// An application message whose raw text is its own bytes (the plugin repairs and cuts it).
void app(EventWriter& w, std::string_view content) { w.app_message(content, Value::text(content)); }

// A text value as the plugin's row reader makes it: identity bytes, maybe cut or repaired.
Value stored(std::string_view sent, std::string_view identity, bool cut = false, uint64_t replaced = 0) {
  Value v = Value::text(sent);
  v.has_stored = true;
  v.stored = identity;
  v.cut = cut;
  v.replaced = replaced;
  if (cut) {
    v.stored_bytes = identity.size();
    v.sha256 = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
  }
  return v;
}

ItemRow item(int64_t order, int64_t product, int64_t qty, const char* price) {
  return {i(order), i(product), i(qty), d(price)};
}

}  // namespace

TEST(EventWriter, EmptyTransactionEmitsNothing) {
  EventWriter w(stable());
  w.begin({1, 0x100, 0});
  w.commit();
  EXPECT_FALSE(w.began());
  EXPECT_EQ(w.message_count(), 0u);
}

TEST(EventWriter, FramesEventsWithBeginCommitXidLsnSeq) {
  EventWriter w(Options{});
  w.begin({741, 0x1A2B3C4, 0});
  w.user_inserted({i(1), t("Ada"), t("ada@example.com"), Value::boolean(true), Value::timestamp(0)});
  w.user_deleted({i(2)});
  w.commit();
  EXPECT_EQ(drain(w), (std::vector<std::string>{
      R"({"type":"begin","v":1,"xid":741,"lsn":"0/1A2B3C4","commit_time":"2000-01-01T00:00:00.000000Z"})",
      R"({"type":"UserRegistered","xid":741,"lsn":"0/1A2B3C4","seq":0,"user_id":1,"name":"Ada","email":"ada@example.com","is_active":true,"created_at":"2000-01-01T00:00:00.000000Z"})",
      R"({"type":"UserDeleted","xid":741,"lsn":"0/1A2B3C4","seq":1,"user_id":2})",
      R"({"type":"commit","xid":741,"lsn":"0/1A2B3C4","events":2})"}));
}

TEST(EventWriter, OneUpdateChangingThreeThingsIsThreeEvents) {
  EventWriter w(stable());
  w.begin({});
  UserRow old_row{i(1), t("Ada"), t("a@x"), Value::boolean(true), Value::timestamp(5)};
  UserRow new_row{i(1), t("Ada L"), t("b@x"), Value::boolean(false), Value::timestamp(5)};
  w.user_updated(&old_row, new_row);
  w.commit();
  EXPECT_EQ(drain(w), (std::vector<std::string>{
      R"({"type":"begin","v":1})",
      R"({"type":"UserRenamed","seq":0,"user_id":1,"old_name":"Ada","name":"Ada L"})",
      R"({"type":"UserEmailChanged","seq":1,"user_id":1,"old_email":"a@x","email":"b@x"})",
      R"({"type":"UserDeactivated","seq":2,"user_id":1})",
      R"({"type":"commit","events":3})"}));
}

TEST(EventWriter, UnchangedToastValueIsTakenFromTheOldImage) {
  EventWriter w(stable());
  w.begin({});
  std::string big(100000, 'n');
  UserRow old_row{i(1), t(big.c_str()), t("a@x"), Value::boolean(true), Value::timestamp(5)};
  UserRow new_row{i(1), Value::unchanged(), t("b@x"), Value::boolean(true), Value::timestamp(5)};
  w.user_updated(&old_row, new_row);
  w.commit();
  auto out = drain(w);
  ASSERT_EQ(out.size(), 3u);  // no UserRenamed: the name did not change
  EXPECT_EQ(out[1], R"({"type":"UserEmailChanged","seq":0,"user_id":1,"old_email":"a@x","email":"b@x"})");
}

TEST(EventWriter, UpdateThatChangesNothingEmitsNothing) {
  EventWriter w(stable());
  w.begin({});
  ProductRow p{i(3), t("W"), d("1.00"), Value::boolean(true)};
  w.product_updated(&p, p);
  OrderRow o{i(4), i(1), t("paid"), Value::timestamp(1), Value::timestamp(2)};
  w.order_updated(&o, o);
  w.commit();
  EXPECT_EQ(w.message_count(), 0u);
}

TEST(EventWriter, ProductEventsCarryExactMoney) {
  EventWriter w(stable());
  w.begin({});
  ProductRow old_row{i(3), t("W"), d("9.99"), Value::boolean(false)};
  ProductRow new_row{i(3), t("W2"), d("10.00"), Value::boolean(true)};
  w.product_updated(&old_row, new_row);
  w.commit();
  auto out = drain(w);
  ASSERT_EQ(out.size(), 5u);
  EXPECT_EQ(out[1], R"({"type":"ProductRenamed","seq":0,"product_id":3,"old_name":"W","name":"W2"})");
  EXPECT_EQ(out[2], R"({"type":"ProductRepriced","seq":1,"product_id":3,"old_price":"9.99","price":"10.00"})");
  EXPECT_EQ(out[3], R"({"type":"ProductReactivated","seq":2,"product_id":3})");
}

TEST(EventWriter, OrderPlacedFoldsTheItemsThatFollowIt) {
  EventWriter w(stable());
  w.begin({});
  w.order_inserted({i(12), i(1), t("pending"), Value::timestamp(0), Value::timestamp(0)});
  w.item_inserted(item(12, 1, 2, "9.99"));
  w.item_inserted(item(12, 2, 1, "5.00"));
  EXPECT_EQ(w.message_count(), 0u);  // still assembling
  w.item_inserted(item(99, 1, 1, "1.00"));  // another order: ends the fold
  w.commit();
  EXPECT_EQ(drain(w), (std::vector<std::string>{
      R"({"type":"begin","v":1})",
      R"({"type":"OrderPlaced","seq":0,"order_id":12,"user_id":1,"status":"pending","items":[{"product_id":1,"quantity":2,"unit_price":"9.99"},{"product_id":2,"quantity":1,"unit_price":"5.00"}],"total":"24.98"})",
      R"({"type":"OrderItemAdded","seq":1,"order_id":99,"product_id":1,"quantity":1,"unit_price":"1.00"})",
      R"({"type":"commit","events":2})"}));
}

TEST(EventWriter, OrderPlacedWithoutItemsHasZeroTotal) {
  EventWriter w(stable());
  w.begin({});
  w.order_inserted({i(5), i(1), t("pending"), Value::timestamp(0), Value::timestamp(0)});
  w.order_inserted({i(6), i(1), t("pending"), Value::timestamp(0), Value::timestamp(0)});
  w.commit();
  auto out = drain(w);
  ASSERT_EQ(out.size(), 4u);
  EXPECT_EQ(out[1], R"({"type":"OrderPlaced","seq":0,"order_id":5,"user_id":1,"status":"pending","items":[],"total":"0.00"})");
  EXPECT_EQ(out[2], R"({"type":"OrderPlaced","seq":1,"order_id":6,"user_id":1,"status":"pending","items":[],"total":"0.00"})");
}

TEST(EventWriter, FoldIsBoundedAndTheRestArriveAsItemAdded) {
  EventWriter w(stable());
  w.begin({});
  w.order_inserted({i(1), i(1), t("pending"), Value::timestamp(0), Value::timestamp(0)});
  for (int64_t p = 1; p <= static_cast<int64_t>(EventWriter::max_folded_items) + 2; ++p)
    w.item_inserted(item(1, p, 1, "0.01"));
  w.commit();
  auto out = drain(w);
  ASSERT_EQ(out.size(), 5u);  // begin, OrderPlaced(1000 items), 2 x OrderItemAdded, commit
  EXPECT_NE(out[1].find(R"("total":"10.00"})"), std::string::npos);
  EXPECT_EQ(out[2], R"({"type":"OrderItemAdded","seq":1,"order_id":1,"product_id":1001,"quantity":1,"unit_price":"0.01"})");
  EXPECT_EQ(out[4], R"({"type":"commit","events":3})");
}

TEST(EventWriter, TotalIsNullWhenAPriceIsNotANumber) {
  EventWriter w(stable());
  w.begin({});
  w.order_inserted({i(1), i(1), t("pending"), Value::timestamp(0), Value::timestamp(0)});
  w.item_inserted(item(1, 1, 1, "NaN"));
  w.commit();
  EXPECT_NE(std::string(w.message(1)).find(R"("total":null})"), std::string::npos);
}

TEST(EventWriter, StatusChangeAndItemLifecycle) {
  EventWriter w(stable());
  w.begin({});
  OrderRow old_o{i(4), i(1), t("pending"), Value::timestamp(0), Value::timestamp(0)};
  OrderRow new_o{i(4), i(1), t("paid"), Value::timestamp(0), Value::timestamp(1000000)};
  ItemRow old_i = item(4, 2, 1, "5.00"), new_i = item(4, 2, 3, "5.00");
  w.item_updated(&old_i, new_i);
  w.item_deleted(new_i);
  w.order_updated(&old_o, new_o);
  w.order_deleted(new_o);
  w.commit();
  EXPECT_EQ(drain(w), (std::vector<std::string>{
      R"({"type":"begin","v":1})",
      R"({"type":"OrderItemChanged","seq":0,"order_id":4,"product_id":2,"old_quantity":1,"quantity":3,"old_unit_price":"5.00","unit_price":"5.00"})",
      R"({"type":"OrderItemRemoved","seq":1,"order_id":4,"product_id":2,"quantity":3,"unit_price":"5.00"})",
      R"({"type":"OrderStatusChanged","seq":2,"order_id":4,"user_id":1,"from":"pending","to":"paid"})",
      R"({"type":"OrderDeleted","seq":3,"order_id":4,"user_id":1,"status":"paid"})",
      R"({"type":"commit","events":4})"}));
}

TEST(EventWriter, MissingOldImageReportsEveryColumnAsChanged) {
  EventWriter w(stable());
  w.begin({});
  w.product_updated(nullptr, {i(3), t("W"), d("1.00"), Value::boolean(true)});
  w.commit();
  EXPECT_EQ(drain(w), (std::vector<std::string>{
      R"({"type":"begin","v":1})",
      R"({"type":"ProductRenamed","seq":0,"product_id":3,"old_name":null,"name":"W"})",
      R"({"type":"ProductRepriced","seq":1,"product_id":3,"old_price":null,"price":"1.00"})",
      R"({"type":"ProductReactivated","seq":2,"product_id":3})",
      R"({"type":"commit","events":3})"}));
}

TEST(EventWriter, TruncatedListsTablesInFixedOrder) {
  EventWriter w(stable());
  w.begin({});
  w.truncated(false, true, true, true);
  w.commit();
  EXPECT_EQ(std::string(w.message(1)),
            R"({"type":"Truncated","seq":0,"tables":["products","orders","order_items"]})");
}

TEST(EventWriter, ApplicationEventsPassThroughOnOneLine) {
  EventWriter w(stable());
  w.begin({});
  app(w, "{ \"type\" : \"CartAbandoned\",\n \"note\": \"a b\\n\" }");
  app(w, "{\"type\":\"OrderPlaced\"}");
  app(w, "not json");
  w.commit();
  EXPECT_EQ(drain(w), (std::vector<std::string>{
      R"({"type":"begin","v":1})",
      R"({"type":"CartAbandoned","seq":0,"app":true,"payload":{"type":"CartAbandoned","note":"a b\n"}})",
      R"({"type":"InvalidMessage","seq":1,"reason":"payload \"type\" \"OrderPlaced\" is reserved for pgcqrs events","raw":"{\"type\":\"OrderPlaced\"}"})",
      R"({"type":"InvalidMessage","seq":2,"reason":"payload is not a JSON object","raw":"not json"})",
      R"({"type":"commit","events":3})"}));
}

TEST(EventWriter, WriterIsReusableAcrossTransactions) {
  EventWriter w(stable());
  for (int k = 0; k < 2; ++k) {
    w.begin({});
    w.order_inserted({i(1), i(1), t("pending"), Value::timestamp(0), Value::timestamp(0)});
    w.commit();
    auto out = drain(w);
    ASSERT_EQ(out.size(), 3u);
    EXPECT_EQ(out[1], R"({"type":"OrderPlaced","seq":0,"order_id":1,"user_id":1,"status":"pending","items":[],"total":"0.00"})");
  }
}

TEST(EventWriter, CutAndReplacedTextIsMarkedInItsObject) {
  EventWriter w(stable());
  w.begin({});
  w.user_inserted({i(1), stored("ab", "abcdef", true), stored("x\xEF\xBF\xBDy", "x\x81y", false, 1),
                   Value::boolean(true), Value::null()});
  w.commit();
  EXPECT_EQ(std::string(w.message(1)),
            R"({"type":"UserRegistered","seq":0,"user_id":1,"name":"ab","email":"x)" "\xEF\xBF\xBD" R"(y","is_active":true,"created_at":null,)"
            R"("truncated":{"name":{"bytes":6,"sha256":"00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"}},)"
            R"("replaced":{"email":1}})");
}

TEST(EventWriter, MarksOfAnOrderAndItsItemsStayInTheirObjects) {
  EventWriter w(stable());
  w.begin({});
  w.order_inserted({i(1), i(1), stored("p", "pending", true), Value::timestamp(0), Value::timestamp(0)});
  w.item_inserted({i(1), i(2), i(3), stored("1\xEF\xBF\xBD", "1\x81", false, 1)});
  w.commit();
  EXPECT_EQ(std::string(w.message(1)),
            R"({"type":"OrderPlaced","seq":0,"order_id":1,"user_id":1,"status":"p",)"
            R"("truncated":{"status":{"bytes":7,"sha256":"00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"}},)"
            R"("items":[{"product_id":2,"quantity":3,"unit_price":"1)" "\xEF\xBF\xBD" R"(","replaced":{"unit_price":1}}],"total":null})");
}

TEST(EventWriter, ValuesEqualUpToTheCutAreStillARename) {
  EventWriter w(stable());
  w.begin({});
  UserRow old_row{i(1), stored("ab", "abc", true), t("e"), Value::boolean(true), Value::null()};
  UserRow new_row{i(1), stored("ab", "abd", true), t("e"), Value::boolean(true), Value::null()};
  w.user_updated(&old_row, new_row);
  UserRow same_row{i(1), stored("ab", "abd", true), t("e"), Value::boolean(true), Value::null()};
  w.user_updated(&new_row, same_row);
  w.commit();
  auto out = drain(w);
  ASSERT_EQ(out.size(), 3u);  // begin, one UserRenamed, commit
  EXPECT_NE(out[1].find(R"("type":"UserRenamed")"), std::string::npos);
  EXPECT_NE(out[1].find(R"("truncated":{"old_name":{"bytes":3,)"), std::string::npos);
  EXPECT_NE(out[1].find(R"(,"name":{"bytes":3,)"), std::string::npos);
}

TEST(EventWriter, MessagesOverTheLimitAreInvalidWithABoundedRaw) {
  EventWriter w(stable());
  w.begin({});
  std::string at_limit = "{\"type\":\"Big\",\"s\":\"" + std::string(max_message_bytes - 21, 'x') + "\"}";
  ASSERT_EQ(at_limit.size(), max_message_bytes);
  app(w, at_limit);
  std::string over = "{\"type\":\"Big\",\"s\":\"" + std::string(max_message_bytes - 20, 'x') + "\"}";
  w.app_message(over, stored(std::string_view(over).substr(0, 10), over, true));
  w.commit();
  auto out = drain(w);
  ASSERT_EQ(out.size(), 4u);
  EXPECT_EQ(out[1].substr(0, 43), R"({"type":"Big","seq":0,"app":true,"payload":)");
  EXPECT_EQ(out[2], R"({"type":"InvalidMessage","seq":1,"reason":"payload is 1048577 bytes, over the limit of 1048576",)"
                    R"("raw":"{\"type\":\"B",)"
                    R"("truncated":{"raw":{"bytes":1048577,"sha256":"00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"}}})");
}

TEST(EventWriter, OrderPlacedFoldsItemsUpToItsByteBudget) {
  EventWriter w(stable());
  w.begin({});
  w.order_inserted({i(1), i(1), t("pending"), Value::timestamp(0), Value::timestamp(0)});
  std::string big(300000, '7');
  for (int k = 0; k < 5; ++k) w.item_inserted({i(1), i(k), i(1), d(big.c_str())});
  w.commit();
  auto out = drain(w);
  // 4 items of ~300 kB reach the 1 MiB budget; the fifth arrives as OrderItemAdded.
  ASSERT_EQ(out.size(), 4u);
  EXPECT_NE(out[1].find(R"("type":"OrderPlaced")"), std::string::npos);
  EXPECT_NE(out[1].find(R"({"product_id":3,)"), std::string::npos);
  EXPECT_EQ(out[1].find(R"({"product_id":4,)"), std::string::npos);
  EXPECT_NE(out[2].find(R"("type":"OrderItemAdded","seq":1,"order_id":1,"product_id":4,)"), std::string::npos);
}

TEST(EventWriter, RowEventsCarryTheColumnsModelsRead) {
  EventWriter w(stable());
  w.begin({});
  RowColumn inserted[] = {{"id", i(3), {}}, {"the \"title\"", t("x"), {}}, {"at", Value::timestamp(0), {}},
                          {"note", Value::null(), {}}};
  w.row_changed(RowChange::Inserted, "public.tickets", inserted, 4, false);
  // An update without an old image: an untouched TOAST value is listed, not guessed.
  RowColumn updated[] = {{"id", i(3), {}}, {"body", Value::unchanged(), {}}, {"open", Value::boolean(false), {}}};
  w.row_changed(RowChange::Updated, "public.tickets", updated, 3, false);
  // A key change: the old image holds the key; a cut value's mark is keyed old.<name>.
  RowColumn moved[] = {{"id", i(4), i(3)}, {"title", t("y"), {}}, {"code", t("ab"), stored("ab", "abcdef", true)}};
  w.row_changed(RowChange::Updated, "public.tickets", moved, 3, true);
  RowColumn deleted[] = {{"id", {}, i(4)}, {"title", {}, {}}};
  w.row_changed(RowChange::Deleted, "public.tickets", deleted, 2, true);
  std::string_view tables[] = {"public.regions", "\"My\".notes"};
  w.rows_truncated(tables, 2);
  w.commit();
  EXPECT_EQ(drain(w), (std::vector<std::string>{
      R"({"type":"begin","v":1})",
      R"({"type":"RowInserted","seq":0,"table":"public.tickets","row":{"id":3,"the \"title\"":"x","at":"2000-01-01T00:00:00.000000Z","note":null}})",
      R"({"type":"RowUpdated","seq":1,"table":"public.tickets","row":{"id":3,"open":false},"unchanged":["body"]})",
      R"({"type":"RowUpdated","seq":2,"table":"public.tickets","row":{"id":4,"title":"y","code":"ab"},"old":{"id":3,"code":"ab"},)"
      R"("truncated":{"old.code":{"bytes":6,"sha256":"00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"}}})",
      R"({"type":"RowDeleted","seq":3,"table":"public.tickets","old":{"id":4}})",
      R"({"type":"RowsTruncated","seq":4,"tables":["public.regions","\"My\".notes"]})",
      R"({"type":"commit","events":5})"}));
}

// Rows of the write model that models read go beside its domain events: those written while
// an OrderPlaced is assembled follow it, in their order, and do not cut its items short.
TEST(EventWriter, WriteModelRowsFollowTheOrderPlacedBeingAssembled) {
  EventWriter w(stable());
  w.begin({});
  RowColumn order[] = {{"id", i(12), {}}, {"status", t("pending"), {}}};
  w.row_changed(RowChange::Inserted, "pgcqrs.orders", order, 2, false, true);  // nothing pending yet
  w.order_inserted({i(12), i(1), t("pending"), Value::timestamp(0), Value::timestamp(0)});
  RowColumn line1[] = {{"order_id", i(12), {}}, {"product_id", i(1), {}}};
  w.row_changed(RowChange::Inserted, "pgcqrs.order_items", line1, 2, false, true);
  w.item_inserted(item(12, 1, 2, "9.99"));
  RowColumn line2[] = {{"order_id", i(12), {}}, {"product_id", i(2), {}}};
  w.row_changed(RowChange::Inserted, "pgcqrs.order_items", line2, 2, false, true);
  w.item_inserted(item(12, 2, 1, "5.00"));
  EXPECT_EQ(w.message_count(), 2u);  // begin and the first row; the rest wait for the order
  RowColumn ticket[] = {{"id", i(3), {}}};
  w.row_changed(RowChange::Inserted, "public.tickets", ticket, 1, false);  // another table: ends the fold
  w.commit();
  EXPECT_EQ(drain(w), (std::vector<std::string>{
      R"({"type":"begin","v":1})",
      R"({"type":"RowInserted","seq":0,"table":"pgcqrs.orders","row":{"id":12,"status":"pending"}})",
      R"({"type":"OrderPlaced","seq":1,"order_id":12,"user_id":1,"status":"pending","items":[{"product_id":1,"quantity":2,"unit_price":"9.99"},{"product_id":2,"quantity":1,"unit_price":"5.00"}],"total":"24.98"})",
      R"({"type":"RowInserted","seq":2,"table":"pgcqrs.order_items","row":{"order_id":12,"product_id":1}})",
      R"({"type":"RowInserted","seq":3,"table":"pgcqrs.order_items","row":{"order_id":12,"product_id":2}})",
      R"({"type":"RowInserted","seq":4,"table":"public.tickets","row":{"id":3}})",
      R"({"type":"commit","events":5})"}));
}

TEST(EventWriter, ReadModelRegistrationsCarryTheirPlan) {
  EventWriter w(stable());
  w.begin({});
  w.read_model_registered({t("cards"), t("card:{id}"), t(R"({"key": "card:{id}", "tables": [{"key": ["id"]}]})")},
                          false);
  w.read_model_registered({t("cards"), t("c:{id}"), t(R"({"key": "c:{id}", "version": 2})")}, true);
  w.read_model_dropped(t("cards"));
  w.commit();
  EXPECT_EQ(drain(w), (std::vector<std::string>{
      R"({"type":"begin","v":1})",
      R"({"type":"ReadModelRegistered","seq":0,"name":"cards","key":"card:{id}","plan":{"key":"card:{id}","tables":[{"key":["id"]}]}})",
      R"({"type":"ReadModelReplaced","seq":1,"name":"cards","key":"c:{id}","plan":{"key":"c:{id}","version":2}})",
      R"({"type":"ReadModelDropped","seq":2,"name":"cards"})",
      R"({"type":"commit","events":3})"}));
}

TEST(EventWriter, RowEventNamesAreReservedForTheStream) {
  EventWriter w(stable());
  w.begin({});
  app(w, "{\"type\":\"RowInserted\"}");
  w.commit();
  EXPECT_EQ(std::string(w.message(1)),
            R"({"type":"InvalidMessage","seq":0,"reason":"payload \"type\" \"RowInserted\" is reserved for pgcqrs events","raw":"{\"type\":\"RowInserted\"}"})");
}
