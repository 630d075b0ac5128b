// Plugin messages -> tokens for the projection script, including malformed input.
#include <gtest/gtest.h>

#include "pgcqrs/sidecar/projection/event.hpp"

using namespace pgcqrs::sidecar::projection;

namespace {
std::vector<std::string> toks(std::initializer_list<const char*> l) { return {l.begin(), l.end()}; }
Message ok(const std::string& json) {
  auto r = parse_message(json);
  EXPECT_TRUE(r.message.has_value()) << r.error << " for " << json;
  return r.message.value_or(Message{});
}
std::string err(const std::string& json) {
  auto r = parse_message(json);
  EXPECT_FALSE(r.message.has_value()) << json;
  return r.error;
}
}  // namespace

TEST(Event, ParsesBeginAndCommit) {
  auto b = ok(R"({"type":"begin","v":1,"xid":741,"lsn":"0/1A2B3C4","commit_time":"2026-11-28T09:15:02.123456Z"})");
  EXPECT_EQ(b.kind, MessageKind::Begin);
  EXPECT_EQ(b.lsn, 0x1A2B3C4u);
  EXPECT_EQ(b.lsn_text, "0/1A2B3C4");
  EXPECT_EQ(b.xid, 741);
  EXPECT_EQ(b.commit_time, "2026-11-28T09:15:02.123456Z");
  auto c = ok(R"({"type":"commit","xid":741,"lsn":"0/1A2B3C4","events":1})");
  EXPECT_EQ(c.kind, MessageKind::Commit);
  EXPECT_EQ(c.events, 1);
}

TEST(Event, EncodesOrderPlacedWithItemsInCents) {
  auto m = ok(R"({"type":"OrderPlaced","xid":741,"lsn":"0/1A2B3C4","seq":0,"order_id":12,"user_id":1,)"
              R"("status":"pending","created_at":"2026-11-28T09:15:02.120001Z","updated_at":"2026-11-28T09:15:02.120001Z",)"
              R"("items":[{"product_id":2,"quantity":1,"unit_price":"5.00"},{"product_id":1,"quantity":2,"unit_price":"9.99"}],"total":"24.98"})");
  EXPECT_EQ(m.kind, MessageKind::Domain);
  EXPECT_EQ(m.seq, 0);
  // Lines sorted by product_id, each with its JSON tail; the total is summed from the lines.
  EXPECT_EQ(m.tokens, toks({"OrderPlaced", "0", "16", "12", "1", "pending", "2026-11-28T09:15:02.120001Z",
                            "2026-11-28T09:15:02.120001Z", "1795857302120", "24.98", "2",
                            "1", "2", "999", R"(,"quantity":2,"unit_price":"9.99","line_total":"19.98"})",
                            "2", "1", "500", R"(,"quantity":1,"unit_price":"5.00","line_total":"5.00"})"}));
}

TEST(Event, EncodesEveryDomainEvent) {
  EXPECT_EQ(ok(R"({"type":"UserRegistered","lsn":"0/1","seq":3,"user_id":7,"name":"Zoë \"Z\"","email":"z@x","is_active":true,"created_at":"2026-01-01T00:00:00.000000Z"})").tokens,
            toks({"UserRegistered", "3", "4", "7", "Zoë \"Z\"", "z@x", "true"}));
  EXPECT_EQ(ok(R"({"type":"UserRenamed","lsn":"0/1","seq":0,"user_id":7,"old_name":"a","name":"b"})").tokens,
            toks({"UserRenamed", "0", "2", "7", "b"}));
  EXPECT_EQ(ok(R"({"type":"UserDeactivated","lsn":"0/1","seq":0,"user_id":7})").tokens,
            toks({"UserDeactivated", "0", "1", "7"}));
  EXPECT_EQ(ok(R"({"type":"ProductAdded","lsn":"0/1","seq":0,"product_id":3,"name":"pen","price":"0.5","is_active":false})").tokens,
            toks({"ProductAdded", "0", "4", "3", "pen", "50", "false"}));
  EXPECT_EQ(ok(R"({"type":"ProductRepriced","lsn":"0/1","seq":0,"product_id":3,"old_price":"1.00","price":"12"})").tokens,
            toks({"ProductRepriced", "0", "2", "3", "1200"}));
  EXPECT_EQ(ok(R"({"type":"OrderItemChanged","lsn":"0/1","seq":1,"order_id":5,"product_id":3,"old_quantity":1,"quantity":4,"old_unit_price":"1.00","unit_price":"1.25"})").tokens,
            toks({"OrderItemChanged", "1", "4", "5", "3", "4", "125"}));
  EXPECT_EQ(ok(R"({"type":"OrderItemRemoved","lsn":"0/1","seq":1,"order_id":5,"product_id":3,"quantity":4,"unit_price":"1.25"})").tokens,
            toks({"OrderItemRemoved", "1", "2", "5", "3"}));
  EXPECT_EQ(ok(R"({"type":"OrderStatusChanged","lsn":"0/1","seq":0,"order_id":5,"user_id":1,"from":"pending","to":"cancelled","updated_at":"infinity"})").tokens,
            toks({"OrderStatusChanged", "0", "3", "5", "cancelled", "infinity"}));
  EXPECT_EQ(ok(R"({"type":"OrderDeleted","lsn":"0/1","seq":0,"order_id":5,"user_id":1,"status":"paid"})").tokens,
            toks({"OrderDeleted", "0", "1", "5"}));
  EXPECT_EQ(ok(R"({"type":"Truncated","lsn":"0/1","seq":0,"tables":["orders","order_items"]})").tokens,
            toks({"Truncated", "0", "3", "2", "orders", "order_items"}));
}

TEST(Event, ClassifiesApplicationInvalidAndUnknown) {
  auto app = ok(R"({"type":"CartAbandoned","xid":750,"lsn":"0/1A5C2B8","seq":3,"app":true,"payload":{"type":"CartAbandoned","cart":7}})");
  EXPECT_EQ(app.kind, MessageKind::Application);
  EXPECT_TRUE(app.tokens.empty());
  auto inv = ok(R"({"type":"InvalidMessage","xid":750,"lsn":"0/1A5C2B8","seq":3,"reason":"payload is not valid JSON","raw":"{"})");
  EXPECT_EQ(inv.kind, MessageKind::Invalid);
  EXPECT_EQ(inv.reason, "payload is not valid JSON");
  EXPECT_EQ(ok(R"({"type":"SomethingNew","lsn":"0/1","seq":0})").kind, MessageKind::Unknown);
}

TEST(Event, RejectsMalformedInput) {
  EXPECT_EQ(err(""), "message is not valid JSON");
  EXPECT_EQ(err("{\"type\":"), "message is not valid JSON");
  EXPECT_EQ(err("[1,2]"), "message is not a JSON object");
  EXPECT_EQ(err("{\"lsn\":\"0/1\"}"), "message has no string \"type\"");
  EXPECT_NE(err(R"({"type":"begin","v":1})").find("no string \"lsn\""), std::string::npos);
  EXPECT_NE(err(R"({"type":"begin","v":1,"lsn":"zz"})").find("malformed lsn"), std::string::npos);
  EXPECT_NE(err(R"({"type":"begin","v":2,"lsn":"0/1"})").find("version"), std::string::npos);
  EXPECT_NE(err(R"({"type":"commit","lsn":"0/1"})").find("events"), std::string::npos);
  EXPECT_NE(err(R"({"type":"UserDeleted","lsn":"0/1","user_id":1})").find("seq"), std::string::npos);
  EXPECT_NE(err(R"({"type":"UserDeleted","lsn":"0/1","seq":0})").find("missing field \"user_id\""), std::string::npos);
  EXPECT_NE(err(R"({"type":"UserDeleted","lsn":"0/1","seq":0,"user_id":"1"})").find("must be an integer"), std::string::npos);
  EXPECT_NE(err(R"({"type":"ProductAdded","lsn":"0/1","seq":0,"product_id":1,"name":"x","price":1.5,"is_active":true})").find("decimal string"), std::string::npos);
  EXPECT_NE(err(R"({"type":"ProductAdded","lsn":"0/1","seq":0,"product_id":1,"name":"x","price":"1.555","is_active":true})").find("2-decimal"), std::string::npos);
  EXPECT_NE(err(R"({"type":"OrderPlaced","lsn":"0/1","seq":0,"order_id":1,"user_id":1,"status":"pending","created_at":"yesterday","updated_at":"x","items":[]})").find("ISO-8601"), std::string::npos);
  EXPECT_NE(err(R"({"type":"OrderPlaced","lsn":"0/1","seq":0,"order_id":1,"user_id":1,"status":"pending","created_at":"2026-01-01T00:00:00Z","updated_at":"2026-01-01T00:00:00Z","items":[{"product_id":1}]})").find("items[0]"), std::string::npos);
}

TEST(Money, ConvertsToAndFromCents) {
  EXPECT_EQ(money_to_cents("19.98"), 1998);
  EXPECT_EQ(money_to_cents("0"), 0);
  EXPECT_EQ(money_to_cents("7.5"), 750);
  EXPECT_EQ(money_to_cents("-0.05"), -5);
  EXPECT_EQ(money_to_cents("9999999999.99"), 999999999999);
  EXPECT_FALSE(money_to_cents(""));
  EXPECT_FALSE(money_to_cents("-"));
  EXPECT_FALSE(money_to_cents("1."));
  EXPECT_FALSE(money_to_cents(".5"));
  EXPECT_FALSE(money_to_cents("1.234"));
  EXPECT_FALSE(money_to_cents("NaN"));
  EXPECT_FALSE(money_to_cents("1e3"));
  EXPECT_EQ(cents_to_money(1998), "19.98");
  EXPECT_EQ(cents_to_money(5), "0.05");
  EXPECT_EQ(cents_to_money(-5), "-0.05");
  EXPECT_EQ(cents_to_money(0), "0.00");
}

TEST(Timestamp, ScoresInUnixMilliseconds) {
  EXPECT_EQ(timestamp_score("1970-01-01T00:00:00Z"), "0");
  EXPECT_EQ(timestamp_score("2000-01-01T00:00:00.000000Z"), "946684800000");
  EXPECT_EQ(timestamp_score("2026-11-28T09:15:02.123456Z"), "1795857302123");
  EXPECT_EQ(timestamp_score("1969-12-31T23:59:59.000000Z"), "-1000");
  EXPECT_EQ(timestamp_score("infinity"), "+inf");
  EXPECT_EQ(timestamp_score("-infinity"), "-inf");
  EXPECT_FALSE(timestamp_score("2026-11-28 09:15:02Z"));
  EXPECT_FALSE(timestamp_score("2026-13-28T09:15:02Z"));
  EXPECT_FALSE(timestamp_score("2026-11-28T09:15:02"));
  EXPECT_FALSE(timestamp_score("2026-11-28T09:15:02.Z"));
}
