// Plugin messages -> typed events, including malformed input.
#include <gtest/gtest.h>

#include "pgcqrs/core/json_reader.hpp"
#include "pgcqrs/sidecar/projection/event.hpp"

using namespace pgcqrs::sidecar::projection;

namespace {
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

TEST(Event, DecodesOrderPlacedWithItemsInCents) {
  auto m = ok(R"({"type":"OrderPlaced","xid":741,"lsn":"0/1A2B3C4","seq":0,"order_id":12,"user_id":1,)"
              R"("status":"pending","created_at":"2026-11-28T09:15:02.120001Z","updated_at":"2026-11-28T09:15:02.120001Z",)"
              R"("items":[{"product_id":2,"quantity":1,"unit_price":"5.00"},{"product_id":1,"quantity":2,"unit_price":"9.99"}],"total":"24.98"})");
  EXPECT_EQ(m.kind, MessageKind::Domain);
  EXPECT_EQ(m.seq, 0);
  // Lines as sent, prices in cents; created_at also as its score. The total is not taken:
  // the read model sums the lines.
  EXPECT_EQ(m.event, (DomainEvent{0, ev::OrderPlaced{12, 1, "pending", "2026-11-28T09:15:02.120001Z",
                                                     "2026-11-28T09:15:02.120001Z", "1795857302120",
                                                     {{2, 1, 500}, {1, 2, 999}}}}));
}

TEST(Event, DecodesEveryDomainEvent) {
  EXPECT_EQ(ok(R"({"type":"UserRegistered","lsn":"0/1","seq":3,"user_id":7,"name":"Zoë \"Z\"","email":"z@x","is_active":true,"created_at":"2026-01-01T00:00:00.000000Z"})").event,
            (DomainEvent{3, ev::UserRegistered{7, "Zoë \"Z\"", "z@x", true}}));
  EXPECT_EQ(ok(R"({"type":"UserRenamed","lsn":"0/1","seq":0,"user_id":7,"old_name":"a","name":"b"})").event,
            (DomainEvent{0, ev::UserRenamed{7, "b"}}));
  EXPECT_EQ(ok(R"({"type":"UserDeactivated","lsn":"0/1","seq":0,"user_id":7})").event,
            (DomainEvent{0, ev::UserDeactivated{7}}));
  EXPECT_EQ(ok(R"({"type":"ProductAdded","lsn":"0/1","seq":0,"product_id":3,"name":"pen","price":"0.5","is_active":false})").event,
            (DomainEvent{0, ev::ProductAdded{3, "pen", 50, false}}));
  EXPECT_EQ(ok(R"({"type":"ProductRepriced","lsn":"0/1","seq":0,"product_id":3,"old_price":"1.00","price":"12"})").event,
            (DomainEvent{0, ev::ProductRepriced{3, 1200}}));
  EXPECT_EQ(ok(R"({"type":"OrderItemChanged","lsn":"0/1","seq":1,"order_id":5,"product_id":3,"old_quantity":1,"quantity":4,"old_unit_price":"1.00","unit_price":"1.25"})").event,
            (DomainEvent{1, ev::OrderItemChanged{5, {3, 4, 125}}}));
  EXPECT_EQ(ok(R"({"type":"OrderItemRemoved","lsn":"0/1","seq":1,"order_id":5,"product_id":3,"quantity":4,"unit_price":"1.25"})").event,
            (DomainEvent{1, ev::OrderItemRemoved{5, 3}}));
  EXPECT_EQ(ok(R"({"type":"OrderStatusChanged","lsn":"0/1","seq":0,"order_id":5,"user_id":1,"from":"pending","to":"cancelled","updated_at":"infinity"})").event,
            (DomainEvent{0, ev::OrderStatusChanged{5, "cancelled", "infinity"}}));
  EXPECT_EQ(ok(R"({"type":"OrderDeleted","lsn":"0/1","seq":0,"order_id":5,"user_id":1,"status":"paid"})").event,
            (DomainEvent{0, ev::OrderDeleted{5}}));
  EXPECT_EQ(ok(R"({"type":"Truncated","lsn":"0/1","seq":0,"tables":["orders","order_items"]})").event,
            (DomainEvent{0, ev::Truncated{{"orders", "order_items"}}}));
}

TEST(Event, ClassifiesApplicationInvalidModelAndUnknown) {
  auto app = ok(R"({"type":"CartAbandoned","xid":750,"lsn":"0/1A5C2B8","seq":3,"app":true,"payload":{"type":"CartAbandoned","cart":7}})");
  EXPECT_EQ(app.kind, MessageKind::Application);
  EXPECT_EQ(app.type, "CartAbandoned");
  auto inv = ok(R"({"type":"InvalidMessage","xid":750,"lsn":"0/1A5C2B8","seq":3,"reason":"payload is not valid JSON","raw":"{"})");
  EXPECT_EQ(inv.kind, MessageKind::Invalid);
  EXPECT_EQ(inv.reason, "payload is not valid JSON");
  EXPECT_EQ(ok(R"({"type":"SomethingNew","lsn":"0/1","seq":0})").kind, MessageKind::Unknown);
  auto row = ok(R"({"type":"RowUpdated","lsn":"0/1","seq":0,"table":"public.tickets","row":{"id":3}})");
  EXPECT_EQ(row.kind, MessageKind::Model);
  EXPECT_EQ(row.type, "RowUpdated");
  EXPECT_EQ(ok(R"({"type":"ReadModelDropped","lsn":"0/1","seq":0,"name":"cards"})").kind, MessageKind::Model);
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

// The whole error text of each field check, for top-level fields and for order items.
TEST(Event, FieldErrorsNameTheFieldAndWhatIsWrong) {
  const std::string order = R"({"type":"OrderPlaced","lsn":"0/1","seq":0,"order_id":1,"user_id":1,"status":"pending",)";
  const std::string at = R"("created_at":"2026-01-01T00:00:00Z","updated_at":"2026-01-01T00:00:00Z",)";
  const std::string prefix = "OrderPlaced event (lsn 0/1, seq 0): ";
  EXPECT_EQ(err(order + R"("created_at":1,"updated_at":"2026-01-01T00:00:00Z","items":[]})"),
            prefix + "field \"created_at\" must be a timestamp string");
  EXPECT_EQ(err(order + R"("created_at":"2026-01-01T00:00:00Z","updated_at":"x","items":[]})"),
            prefix + "field \"updated_at\" is not an ISO-8601 UTC timestamp: x");
  EXPECT_EQ(err(order + at + R"("items":[1]})"), prefix + "items[0] must be an object");
  EXPECT_EQ(err(order + at + R"("items":[{"product_id":1,"unit_price":"1.00"}]})"),
            prefix + "items[0]: missing field \"quantity\"");
  EXPECT_EQ(err(order + at + R"("items":[{"product_id":1,"quantity":1,"unit_price":1}]})"),
            prefix + "items[0]: field \"unit_price\" must be a decimal string");
  EXPECT_EQ(err(order + at + R"("items":[{"product_id":1,"quantity":1,"unit_price":"1.00"},{"product_id":2,"quantity":1,"unit_price":"1.555"}]})"),
            prefix + "items[1]: field \"unit_price\" is not a 2-decimal amount: 1.555");
  EXPECT_EQ(err(R"({"type":"UserRegistered","lsn":"0/1","seq":0,"user_id":7,"name":1,"email":"z@x","is_active":true})"),
            "UserRegistered event (lsn 0/1, seq 0): field \"name\" must be a string");
  EXPECT_EQ(err(R"({"type":"UserRegistered","lsn":"0/1","seq":0,"user_id":7,"name":"z","email":"z@x","is_active":"yes"})"),
            "UserRegistered event (lsn 0/1, seq 0): field \"is_active\" must be a boolean");
  EXPECT_EQ(ok(order + R"("created_at":"-infinity","updated_at":"infinity","items":[]})").event,
            (DomainEvent{0, ev::OrderPlaced{1, 1, "pending", "-infinity", "infinity", "-inf", {}}}));
}

namespace {
const std::string kUserDeleted = R"({"type":"UserDeleted","lsn":"0/1","seq":0,"user_id":1})";
// A UserRenamed message whose name is the given JSON text (escapes and all).
std::string renamed(const std::string& name_json) {
  return R"({"type":"UserRenamed","lsn":"0/1","seq":0,"user_id":7,"name":)" + name_json + "}";
}
std::string user_deleted_with(const std::string& member) {
  return R"({"type":"UserDeleted","lsn":"0/1","seq":0,"user_id":1,)" + member + "}";
}
}  // namespace

TEST(Event, DecodesStringEscapesAndSurrogatePairs) {
  EXPECT_EQ(ok(renamed(R"("q\" b\\ s\/ \b\f\n\r\t")")).event,
            (DomainEvent{0, ev::UserRenamed{7, "q\" b\\ s/ \b\f\n\r\t"}}));
  // \u escapes become UTF-8; a surrogate pair is one 4-byte character.
  EXPECT_EQ(ok(renamed(R"("Zo\u00eb \u20AC \ud83d\ude00 \uDBFF\uDFFF")")).event,
            (DomainEvent{0, ev::UserRenamed{7, "Zo\xC3\xAB \xE2\x82\xAC \xF0\x9F\x98\x80 \xF4\x8F\xBF\xBF"}}));
  EXPECT_EQ(ok(renamed(R"("a\u0000b")")).event, (DomainEvent{0, ev::UserRenamed{7, std::string("a\0b", 3)}}));
  // Raw UTF-8 passes through; keys are decoded before they are matched.
  EXPECT_EQ(ok(R"({"t\u0079pe":"UserRenamed","lsn":"0/1","seq":0,"user_id":7,"name":"Zoë"})").event,
            (DomainEvent{0, ev::UserRenamed{7, "Zoë"}}));
  EXPECT_EQ(ok(R"({"type":"Truncated","lsn":"0/1","seq":0,"tables":["us\u0065rs","\"x\""]})").event,
            (DomainEvent{0, ev::Truncated{{"users", "\"x\""}}}));
}

TEST(Event, SkipsUnknownNestedValues) {
  EXPECT_EQ(ok(user_deleted_with(R"("extra":{"a":[1,{"b":null,"c":[true,false]}],"user_id":99,"s":"}]"})")).event,
            (DomainEvent{0, ev::UserDeleted{1}}));
  EXPECT_EQ(ok(user_deleted_with(R"("extra":[[],{},[{}],-1.5e-3,"]"])")).event, (DomainEvent{0, ev::UserDeleted{1}}));
  // Unknown members of an item, and nested values in them, are skipped too.
  auto m = ok(R"({"type":"OrderPlaced","lsn":"0/1","seq":0,"order_id":1,"user_id":1,"status":"pending",)"
              R"("created_at":"2026-01-01T00:00:00Z","updated_at":"2026-01-01T00:00:00Z",)"
              R"("items":[{"note":{"product_id":5},"product_id":3,"tags":[1,[2]],"quantity":2,"unit_price":"1.50"}]})");
  EXPECT_EQ(std::get<ev::OrderPlaced>(m.event.body).lines, (std::vector<OrderLine>{{3, 2, 150}}));
}

TEST(Event, OnlyExactMemberNamesAreRead) {
  // Same length, first and last byte as "user_id", or as "quantity" inside an item; and an empty name.
  EXPECT_EQ(err(R"({"type":"UserDeleted","lsn":"0/1","seq":0,"usxr_id":1,"":2})"),
            "UserDeleted event (lsn 0/1, seq 0): missing field \"user_id\"");
  EXPECT_EQ(err(R"({"type":"OrderPlaced","lsn":"0/1","seq":0,"order_id":1,"user_id":1,"status":"pending",)"
                R"("created_at":"2026-01-01T00:00:00Z","updated_at":"2026-01-01T00:00:00Z",)"
                R"("items":[{"product_id":1,"quantitY":1,"qxxxxxxy":1,"":1,"unit_price":"1.00"}]})"),
            "OrderPlaced event (lsn 0/1, seq 0): items[0]: missing field \"quantity\"");
  EXPECT_EQ(ok(R"({"type":"UserDeleted","lsn":"0/1","seq":0,"user_i":5,"user_idd":6,"user_id":7})").event,
            (DomainEvent{0, ev::UserDeleted{7}}));
}

// The plugin refuses an application message nested deeper than core's reader allows
// (json::Reader::kMaxDepth containers below the top-level object), so the sidecar reads the same.
TEST(Event, SkipsUnknownValuesNestedUpToTheLimitAndRefusesDeeperOnes) {
  const size_t limit = pgcqrs::json::Reader::kMaxDepth;
  EXPECT_EQ(ok(user_deleted_with(R"("deep":)" + std::string(limit, '[') + std::string(limit, ']'))).event,
            (DomainEvent{0, ev::UserDeleted{1}}));
  std::string objects;
  for (size_t i = 0; i < limit / 2; ++i) objects += R"({"a":[)";
  objects += "1";
  for (size_t i = 0; i < limit / 2; ++i) objects += "]}";
  EXPECT_EQ(ok(user_deleted_with(R"("deep":)" + objects)).event, (DomainEvent{0, ev::UserDeleted{1}}));
  EXPECT_EQ(err(user_deleted_with(R"("deep":)" + std::string(limit + 1, '[') + std::string(limit + 1, ']'))),
            "message is not valid JSON");
  // Far deeper than a recursive reader's stack would allow: refused, not a crash.
  const size_t depth = 200000;
  EXPECT_EQ(err(user_deleted_with(R"("deep":)" + std::string(depth, '[') + std::string(depth, ']'))),
            "message is not valid JSON");
  EXPECT_EQ(err(user_deleted_with(R"("deep":)" + std::string(limit, '[') + std::string(limit - 1, ']'))),
            "message is not valid JSON");
  EXPECT_EQ(err(user_deleted_with(R"("deep":)" + std::string(limit, '[') + std::string(limit, '}'))),
            "message is not valid JSON");
}

TEST(Event, LastDuplicateKeyWins) {
  EXPECT_EQ(ok(R"({"type":"UserDeleted","lsn":"0/1","seq":0,"user_id":1,"user_id":2})").event,
            (DomainEvent{0, ev::UserDeleted{2}}));
  EXPECT_EQ(ok(R"({"type":"Nope","lsn":"0/1","seq":0,"user_id":"x","type":"UserDeleted","user_id":3})").event,
            (DomainEvent{0, ev::UserDeleted{3}}));
  EXPECT_NE(err(R"({"type":"UserDeleted","lsn":"0/1","seq":0,"user_id":1,"user_id":{}})").find("must be an integer"),
            std::string::npos);
  // A repeated "items" replaces the earlier list; a repeated item field replaces the earlier value.
  auto m = ok(R"({"type":"OrderPlaced","lsn":"0/1","seq":0,"order_id":1,"user_id":1,"status":"pending",)"
              R"("created_at":"2026-01-01T00:00:00Z","updated_at":"2026-01-01T00:00:00Z",)"
              R"("items":[{"product_id":1,"quantity":1,"unit_price":"1.00"},{"product_id":2}],)"
              R"("items":[{"product_id":4,"quantity":1,"unit_price":"1.00","quantity":3}]})");
  EXPECT_EQ(std::get<ev::OrderPlaced>(m.event.body).lines, (std::vector<OrderLine>{{4, 3, 100}}));
  EXPECT_EQ(err(R"({"type":"Truncated","lsn":"0/1","seq":0,"tables":["users"],"tables":"users"})"),
            "Truncated event (lsn 0/1, seq 0): field \"tables\" must be an array");
}

TEST(Event, NumbersWithFractionOrExponentAreNotIntegers) {
  EXPECT_EQ(err(R"({"type":"UserDeleted","lsn":"0/1","seq":0,"user_id":1.0})"),
            "UserDeleted event (lsn 0/1, seq 0): field \"user_id\" must be an integer");
  EXPECT_EQ(err(R"({"type":"UserDeleted","lsn":"0/1","seq":0,"user_id":1e2})"),
            "UserDeleted event (lsn 0/1, seq 0): field \"user_id\" must be an integer");
  EXPECT_EQ(err(R"({"type":"UserDeleted","lsn":"0/1","seq":0,"user_id":-2E-1})"),
            "UserDeleted event (lsn 0/1, seq 0): field \"user_id\" must be an integer");
  // Too big for 64 bits: a double, so not an integer either.
  EXPECT_EQ(err(R"({"type":"UserDeleted","lsn":"0/1","seq":0,"user_id":-9223372036854775809})"),
            "UserDeleted event (lsn 0/1, seq 0): field \"user_id\" must be an integer");
  EXPECT_EQ(err(R"({"type":"UserDeleted","lsn":"0/1","seq":0.0,"user_id":1})"),
            "UserDeleted event has no non-negative integer \"seq\"");
  EXPECT_EQ(err(R"({"type":"commit","lsn":"0/1","events":1.5})"), "commit message has no integer \"events\"");
  EXPECT_NE(err(R"({"type":"begin","lsn":"0/1","v":1.0})").find("version"), std::string::npos);
  EXPECT_EQ(err(R"({"type":"OrderItemAdded","lsn":"0/1","seq":2,"order_id":1,"product_id":1,"quantity":2.5,"unit_price":"1.00"})"),
            "OrderItemAdded event (lsn 0/1, seq 2): field \"quantity\" must be an integer");
  EXPECT_EQ(err(R"({"type":"OrderPlaced","lsn":"0/1","seq":0,"order_id":1,"user_id":1,"status":"pending","created_at":"2026-01-01T00:00:00Z","updated_at":"2026-01-01T00:00:00Z","items":[{"product_id":1,"quantity":1,"unit_price":"1.00"},{"product_id":2,"quantity":1e0,"unit_price":"1.00"}]})"),
            "OrderPlaced event (lsn 0/1, seq 0): items[1]: field \"quantity\" must be an integer");
  auto x = ok(R"({"type":"commit","lsn":"0/1","xid":1.5,"events":-0})");
  EXPECT_EQ(x.xid, -1);  // a non-integer xid is ignored
  EXPECT_EQ(x.events, 0);
  EXPECT_EQ(ok(R"({"type":"commit","lsn":"0/1","xid":-9223372036854775808,"events":9223372036854775807})").xid, INT64_MIN);
  // Parity with nlohmann: up to UINT64_MAX is an integer, and wraps when read as int64.
  EXPECT_EQ(ok(R"({"type":"UserDeleted","lsn":"0/1","seq":0,"user_id":18446744073709551615})").event,
            (DomainEvent{0, ev::UserDeleted{-1}}));
  EXPECT_EQ(err(R"({"type":"UserDeleted","lsn":"0/1","seq":0,"user_id":18446744073709551616})"),
            "UserDeleted event (lsn 0/1, seq 0): field \"user_id\" must be an integer");
}

TEST(Event, RejectsMalformedJson) {
  // Every proper prefix of a valid message is truncated JSON.
  for (size_t n = 0; n < kUserDeleted.size(); ++n)
    EXPECT_EQ(err(kUserDeleted.substr(0, n)), "message is not valid JSON") << kUserDeleted.substr(0, n);
  for (const std::string& bad : std::vector<std::string>{
           kUserDeleted + "x", kUserDeleted + "{}", kUserDeleted + ",", kUserDeleted + "]", "{} {}", "1 2",
           user_deleted_with(R"("x":01)"), user_deleted_with(R"("x":-01)"), user_deleted_with(R"("x":00)"),
           user_deleted_with(R"("x":1.)"), user_deleted_with(R"("x":.5)"), user_deleted_with(R"("x":+1)"),
           user_deleted_with(R"("x":-)"), user_deleted_with(R"("x":1e)"), user_deleted_with(R"("x":1e+)"),
           user_deleted_with(R"("x":1e999)"), user_deleted_with(R"("x":-1e400)"),  // overflow to infinity
           user_deleted_with(R"("x":tru)"), user_deleted_with(R"("x":nul)"), user_deleted_with(R"("x":True)"),
           user_deleted_with(R"("x":'s')"), user_deleted_with(R"("x":[1,])"), user_deleted_with(R"("x":{"a":1,})"),
           user_deleted_with(R"("x":{"a" 1})"), user_deleted_with(R"("x":{1:1})"), user_deleted_with(R"("x":[1 2])"),
           user_deleted_with(R"("x")"), user_deleted_with(R"("x":)"), R"({"type":"UserDeleted",})", R"({,})",
           renamed(R"("\x")"), renamed(R"("\'")"), renamed(R"("\u12")"), renamed(R"("\u12G4")"),
           renamed(R"("\ud83d")"), renamed(R"("\ude00")"), renamed(R"("\ud83d\u0041")"), renamed(R"("\ud83dx")"),
           renamed(R"("\ud83d\n")"), renamed("\"a\\\""),
           renamed("\"a\tb\""), renamed("\"a\nb\""), renamed("\"a\x01\""), renamed("\"a\x1f\""),
           renamed(std::string("\"a\0b\"", 5)),
           renamed("\"\xff\""), renamed("\"\x80\""), renamed("\"\xC0\xAF\""), renamed("\"\xC3\""),
           renamed("\"\xED\xA0\x80\""), renamed("\"\xF4\x90\x80\x80\""), renamed("\"\xE2\x82\""),
           std::string("{\"a\":1}\x01"), "\xEF\xBB{}", " \xEF\xBB\xBF{}", "{\"a\":1} /* c */", "// c\n{}"})
    EXPECT_EQ(err(bad), "message is not valid JSON") << bad;
}

TEST(Event, AcceptsWhitespaceWhereJsonAllowsIt) {
  EXPECT_EQ(ok(" \t\r\n{ \"type\" :\t\"Truncated\" ,\n\"lsn\"\r: \"0/1\" , \"seq\" : 0 , \"tables\" : [ \"users\" , \"orders\" ] ,"
               " \"x\" : { \"a\" : [ 1 , { } , [ ] ] } } \n")
                .event,
            (DomainEvent{0, ev::Truncated{{"users", "orders"}}}));
  EXPECT_EQ(err("{\"type\":\"UserDeleted\"\f}"), "message is not valid JSON");  // \f is not JSON whitespace
}

// Plain ASCII runs through a string faster than the bytes that need a check; each such byte
// is tried at every offset in a run, and at the start and end of the string.
TEST(Event, StringBytesAreCheckedAtAnyOffset) {
  struct Case {
    std::string json;     // as it stands in the message
    std::string decoded;  // empty: the message is not valid JSON
  };
  const std::vector<Case> cases = {
      {"\x7f", "\x7f"}, {"\xC3\xAB", "\xC3\xAB"}, {"\xE2\x82\xAC", "\xE2\x82\xAC"},
      {"\xF0\x9F\x98\x80", "\xF0\x9F\x98\x80"}, {"\\n", "\n"}, {"\\\"", "\""}, {"\\\\", "\\"},
      {"\\u00e9", "\xC3\xA9"}, {"\\ud83d\\ude00", "\xF0\x9F\x98\x80"},
      {std::string("\0", 1), ""}, {"\x01", ""}, {"\x1f", ""}, {"\t", ""}, {"\x80", ""}, {"\xff", ""},
      {"\xC3", ""}, {"\xC0\xAF", ""}, {"\xED\xA0\x80", ""}, {"\xF4\x90\x80\x80", ""}, {"\\x", ""}};
  for (const auto& c : cases)
    for (size_t before = 0; before <= 17; ++before)
      for (size_t after : {size_t{0}, size_t{1}, size_t{7}, size_t{8}, size_t{9}}) {
        const std::string name = std::string(before, 'a') + c.json + std::string(after, 'z');
        const auto r = parse_message(renamed("\"" + name + "\""));
        if (c.decoded.empty()) {
          EXPECT_EQ(r.error, "message is not valid JSON") << before << " " << after << " " << c.json;
        } else {
          ASSERT_TRUE(r.message) << r.error << " " << before << " " << after << " " << c.json;
          EXPECT_EQ(std::get<ev::UserRenamed>(r.message->event.body).name, std::string(before, 'a') + c.decoded + std::string(after, 'z'));
        }
      }
  // A string cut by the end of the input, wherever it ends.
  const std::string whole = renamed("\"" + std::string(40, 'a') + "\\n\xC3\xAB" + std::string(20, 'b') + "\"");
  for (size_t n = whole.size() - 70; n < whole.size(); ++n)
    EXPECT_EQ(err(whole.substr(0, n)), "message is not valid JSON") << n;
}

TEST(Event, KeepsTheReplacedParsersEdgeCases) {
  // A UTF-8 byte order mark may start the input.
  EXPECT_EQ(ok("\xEF\xBB\xBF" + kUserDeleted).event, (DomainEvent{0, ev::UserDeleted{1}}));
  // nlohmann read a NUL byte as the end of input, so whatever follows one after the message is ignored.
  EXPECT_EQ(ok(kUserDeleted + std::string(" \0garbage", 9)).event, (DomainEvent{0, ev::UserDeleted{1}}));
  EXPECT_EQ(err(std::string("\0", 1)), "message is not valid JSON");
  EXPECT_EQ(err("\"text\""), "message is not a JSON object");
  EXPECT_EQ(err("[1,{\"a\":[]}]"), "message is not a JSON object");
  EXPECT_EQ(err("null"), "message is not a JSON object");
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
  // Rounded down, also before 1970.
  EXPECT_EQ(timestamp_score("1969-12-31T23:59:59.999500Z"), "-1");
  EXPECT_EQ(timestamp_score("1970-01-01T00:00:00.000999Z"), "0");
  // Everything the plugin prints has a score: years before 1 and past 9999 too.
  EXPECT_EQ(timestamp_score("-4713-11-24T00:00:00.000000Z"), "-210866803200000");
  EXPECT_EQ(timestamp_score("294276-12-31T23:59:59.999999Z"), "9224318015999999");
  // Stricter than the sidecar's former reader: no calendar day that does not exist, no leap second.
  EXPECT_FALSE(timestamp_score("2026-02-30T00:00:00Z"));
  EXPECT_FALSE(timestamp_score("2026-11-28T23:59:60Z"));
}

TEST(Event, TakesCutAndReplacedValuesAsTheyArrive) {
  auto m = ok(R"({"type":"UserRegistered","xid":1,"lsn":"0/10","seq":0,"user_id":7,"name":"aa","email":"x)"
              "\xEF\xBF\xBD"
              R"(","is_active":true,"created_at":"2026-01-01T00:00:00.000000Z",)"
              R"("truncated":{"name":{"bytes":180000000,"sha256":"00ff"}},"replaced":{"email":1}})");
  EXPECT_EQ(m.kind, MessageKind::Domain);
  EXPECT_TRUE(m.cut);
  EXPECT_EQ(m.event, (DomainEvent{0, ev::UserRegistered{7, "aa", "x\xEF\xBF\xBD", true}}));
  auto plain = ok(R"({"type":"UserRenamed","lsn":"0/10","seq":1,"user_id":7,"old_name":"a","name":"b","replaced":{"name":1}})");
  EXPECT_FALSE(plain.cut);
  auto invalid = ok(R"({"type":"InvalidMessage","lsn":"0/10","seq":2,"reason":"payload is 180000000 bytes, over the limit of 1048576",)"
                    R"("raw":"x","truncated":{"raw":{"bytes":180000000,"sha256":"00ff"}}})");
  EXPECT_EQ(invalid.kind, MessageKind::Invalid);
  EXPECT_EQ(invalid.reason, "payload is 180000000 bytes, over the limit of 1048576");
}

TEST(Event, DecodesRowEventsWithTheirValuesAsText) {
  auto m = ok(R"({"type":"RowUpdated","xid":9,"lsn":"0/1","seq":4,"table":"public.tickets",)"
              R"("row":{"id":3,"score":-1.5e3,"ok":true,"no":false,"note":null,"title":"a\"b\u00e9"},)"
              R"("unchanged":["body"],"old":{"id":2}})");
  ASSERT_EQ(m.kind, MessageKind::Model);
  const RowEvent& e = m.row;
  EXPECT_EQ(e.kind, RowEvent::Kind::Updated);
  EXPECT_EQ(e.seq, 4);
  EXPECT_EQ(e.table, "public.tickets");
  EXPECT_EQ(e.row, (RowValues{{"id", "3"}, {"score", "-1.5e3"}, {"ok", "t"}, {"no", "f"}, {"note", std::nullopt},
                              {"title", "a\"b\xc3\xa9"}}));
  EXPECT_EQ(e.unchanged, std::vector<std::string>{"body"});
  ASSERT_TRUE(e.old);
  EXPECT_EQ(*e.old, (RowValues{{"id", "2"}}));

  auto reg = ok(R"({"type":"ReadModelRegistered","lsn":"0/1","seq":0,"name":"cards","key":"card:{id}","plan":{"key":"card:{id}", "tables":[]}})");
  EXPECT_EQ(reg.row.kind, RowEvent::Kind::Registered);
  EXPECT_EQ(reg.row.name, "cards");
  EXPECT_EQ(reg.row.plan, R"({"key":"card:{id}", "tables":[]})");  // as it arrived
  auto trunc = ok(R"({"type":"RowsTruncated","lsn":"0/1","seq":1,"tables":["public.a","public.b"]})");
  EXPECT_EQ(trunc.row.tables, (std::vector<std::string>{"public.a", "public.b"}));
}

TEST(Event, RowEventsWithoutWhatTheyNeedAreRefusedByName) {
  EXPECT_EQ(err(R"({"type":"RowInserted","lsn":"0/1","seq":2,"row":{"id":1}})"),
            "RowInserted event (lsn 0/1, seq 2): RowInserted has no \"table\" and \"row\"");
  EXPECT_EQ(err(R"({"type":"RowDeleted","lsn":"0/1","seq":0,"table":"public.t"})"),
            "RowDeleted event (lsn 0/1, seq 0): RowDeleted has no \"table\" and \"old\"");
  EXPECT_EQ(err(R"({"type":"RowInserted","lsn":"0/1","seq":0,"table":"public.t","row":{"id":[1]}})"),
            "RowInserted event (lsn 0/1, seq 0): a column's value is an object or an array");
  EXPECT_EQ(err(R"({"type":"ReadModelRegistered","lsn":"0/1","seq":0,"name":"m","plan":[]})"),
            "ReadModelRegistered event (lsn 0/1, seq 0): \"plan\" is not an object");
}
