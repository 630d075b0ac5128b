// Declarative read models through the projector against a real Redis: random row changes
// of three tables (a root, a LEFT lookup, an INNER lookup of that lookup), the model in
// Redis compared after every batch with the view computed here from the same rows. Fan-outs
// run with budgets of 1 to 4, so that most stop and resume; some batches are lost before
// their EXEC and sent again, as after a crash.
#include <cmath>
#include <map>
#include <optional>
#include <random>
#include <set>

#include "projection_fixture.hpp"

using namespace projection_fixture;

namespace {

// The view this plan describes:
//   SELECT t.id, t.status, t.title, c.name AS customer, o.label AS org
//     FROM tickets t LEFT JOIN customers c ON c.id = t.customer_id JOIN orgs o ON o.id = c.org_id
//    WHERE t.status <> 'spam'
const char* kPlan =
    R"({"key":"card:{id}","tables":[)"
    R"({"key":["id"],"join":"root","reads":["id","customer_id","status","title"],"table":"public.tickets","key_index":"tickets_pkey"},)"
    R"({"key":["id"],"via":0,"from":["customer_id"],"join":"left","reads":["id","name","org_id"],"table":"public.customers","key_index":"customers_pkey"},)"
    R"({"key":["id"],"via":1,"from":["org_id"],"join":"inner","reads":["id","label"],"table":"public.orgs","key_index":"orgs_pkey"}],)"
    R"("columns":[{"name":"id","type":"bigint","table":0,"column":"id"},{"name":"status","type":"text","table":0,"column":"status"},)"
    R"({"name":"title","type":"text","table":0,"column":"title"},{"name":"customer","type":"text","table":1,"column":"name"},)"
    R"({"name":"org","type":"text","table":2,"column":"label"}],)"
    R"("filters":[{"op":"<>","table":0,"column":"status","values":["spam"]}]})";

using Row = std::map<std::string, std::optional<std::string>>;  // column -> value (nullopt: NULL)
using Table = std::map<int64_t, Row>;                            // by id

std::string json_value(const std::optional<std::string>& v, bool number) {
  if (!v) return "null";
  return number ? *v : "\"" + *v + "\"";
}

std::string json_row(const Row& row) {
  std::string out = "{";
  for (const auto& [c, v] : row) {
    if (out.size() > 1) out += ',';
    const bool number = c == "id" || c == "customer_id" || c == "org_id";
    out += "\"" + c + "\":" + json_value(v, number);
  }
  return out + "}";
}

class Models : public Projection {
 protected:
  // One transaction of events (their JSON fields after seq); its LSN is the next one.
  std::vector<std::string> txn(const std::vector<std::pair<std::string, std::string>>& events) {
    lsn_ += 0x100;
    const std::string lsn = pgcqrs::format_lsn(lsn_);
    std::vector<std::string> m{begin(lsn)};
    int seq = 0;
    for (const auto& [type, fields] : events) m.push_back(ev(lsn, seq++, type, fields));
    m.push_back(commit(lsn, seq));
    return m;
  }

  // What the view holds: key -> hash.
  std::map<std::string, std::map<std::string, std::string>> expected() const {
    std::map<std::string, std::map<std::string, std::string>> out;
    for (const auto& [id, t] : tickets_) {
      if (!t.at("status") || *t.at("status") == "spam") continue;
      const Row* c = nullptr;
      if (const auto& cid = t.at("customer_id"))
        if (auto it = customers_.find(std::stoll(*cid)); it != customers_.end()) c = &it->second;
      const Row* o = nullptr;
      if (c && c->at("org_id"))
        if (auto it = orgs_.find(std::stoll(*c->at("org_id"))); it != orgs_.end()) o = &it->second;
      if (!o) continue;  // the inner join finds no org
      std::map<std::string, std::string> h;
      h["id"] = std::to_string(id);
      h["status"] = *t.at("status");
      if (t.at("title")) h["title"] = *t.at("title");
      if (c && c->at("name")) h["customer"] = *c->at("name");
      if (o->at("label")) h["org"] = *o->at("label");
      out["card:{" + std::to_string(((id % 64) + 64) % 64) + "}:" + std::to_string(id)] = h;
    }
    return out;
  }

  std::map<std::string, std::map<std::string, std::string>> actual(const std::string& pattern = "card:*") {
    std::map<std::string, std::map<std::string, std::string>> out;
    std::string cursor = "0";
    do {
      auto page = redis_->command({"SCAN", cursor, "MATCH", pattern, "COUNT", "1000"});
      cursor = page->element[0]->str;
      for (size_t i = 0; i < page->element[1]->elements; ++i) {
        const std::string key = page->element[1]->element[i]->str;
        auto h = redis_->command({"HGETALL", key});
        auto& fields = out[key];
        for (size_t f = 0; f + 1 < h->elements; f += 2) fields[h->element[f]->str] = h->element[f + 1]->str;
      }
    } while (cursor != "0");
    return out;
  }

  // Registers model `name` with `plan` as the stream would, without the rebuild it asks for
  // (its tables are empty: nothing to copy).
  void register_model(const std::string& name, const std::string& key, const char* plan, std::mt19937& rng) {
    apply(txn({{"ReadModelRegistered", R"("name":")" + name + R"(","key":")" + key + R"(","plan":)" + plan}}), rng);
    redis_->command({"HDEL", "pgcqrs:checkpoint", "rebuild"});
  }

  // Runs the calls to the end (fan-outs resumed), losing some batches before their EXEC.
  void apply(const std::vector<std::string>& messages, std::mt19937& rng) {
    const auto cs = calls(messages);
    std::uniform_int_distribution<int> budget(1, 4), lose(0, 5);
    for (int round = 0; round < 200; ++round) {
      if (lose(rng) == 0) {
        // A crash after the batch was built: nothing of it reaches Redis.
        projection::ProjectorContext ctx{"pgcqrs", kNow, 0, budget(rng)};
        auto step = projector_.start(cs, Projector::Mode::Transaction, ctx);
        while (step.kind == Projector::Step::Kind::Read) {
          std::vector<projection::Reply> replies;
          for (const auto& c : step.reads) replies.push_back(projection::copy_reply(*redis_->command(c, true)));
          step = projector_.advance(std::move(replies), ctx);
        }
        redis_->command({"UNWATCH"});
        projector_.forget();
        ++lost_;
        continue;
      }
      const auto r = run(cs, "0/0", budget(rng));
      ASSERT_NE(r[0], "error") << r[1];
      if (r[0] == "applied") return;
      ASSERT_EQ(r[0], "more");
      ++resumed_;
    }
    FAIL() << "a fan-out did not finish in 200 batches";
  }

  std::vector<std::pair<std::string, std::string>> insert(const char* table, Table& rows, int64_t id, Row row) {
    row["id"] = std::to_string(id);
    rows[id] = row;
    return {{"RowInserted", std::string(R"("table":"public.)") + table + R"(","row":)" + json_row(row)}};
  }
  std::vector<std::pair<std::string, std::string>> update(const char* table, Table& rows, int64_t id, Row row,
                                                          std::optional<int64_t> new_id = std::nullopt) {
    std::string fields;
    const int64_t to = new_id.value_or(id);
    row["id"] = std::to_string(to);
    if (to != id) {
      rows.erase(id);
      fields = R"(,"old":{"id":)" + std::to_string(id) + "}";
    }
    rows[to] = row;
    return {{"RowUpdated", std::string(R"("table":"public.)") + table + R"(","row":)" + json_row(row) + fields}};
  }
  std::vector<std::pair<std::string, std::string>> remove(const char* table, Table& rows, int64_t id) {
    rows.erase(id);
    return {{"RowDeleted", std::string(R"("table":"public.)") + table + R"(","old":{"id":)" + std::to_string(id) + "}"}};
  }

  uint64_t lsn_ = 0x1000;
  int lost_ = 0, resumed_ = 0;  // batches lost before their EXEC; fan-outs stopped at their budget
  Table tickets_, customers_, orgs_;
};

std::optional<std::string> maybe(std::mt19937& rng, std::optional<std::string> v) {
  return std::uniform_int_distribution<int>(0, 5)(rng) == 0 ? std::nullopt : v;
}

}  // namespace

TEST_F(Models, RandomChangesKeepTheModelEqualToItsView) {
  mark("0/1000");
  std::mt19937 rng(20261207);
  apply(txn({{"ReadModelRegistered", std::string(R"("name":"cards","key":"card:{id}","plan":)") + kPlan}}), rng);
  EXPECT_EQ(redis_->command({"HEXISTS", "pgcqrs:models", "cards"})->integer, 1);
  // Registered while streaming, it asks for a rebuild to copy the rows written before it.
  const std::string asked = hget("pgcqrs:checkpoint", "rebuild");
  EXPECT_EQ(asked.substr(asked.size() - 23), ", when read model cards") << asked;
  EXPECT_EQ(run(calls(txn({{"RowsTruncated", R"("tables":["public.none"])"}})))[0], "rebuild");
  redis_->command({"HDEL", "pgcqrs:checkpoint", "rebuild"});  // the tables were empty: nothing to copy

  auto pick = [&](int n) { return static_cast<int64_t>(std::uniform_int_distribution<int>(1, n)(rng)); };
  const std::vector<std::string> statuses = {"open", "spam", "closed"};
  size_t rows_seen = 0;
  for (int step = 0; step < 1000; ++step) {
    std::vector<std::pair<std::string, std::string>> events;
    const int ops = std::uniform_int_distribution<int>(1, 4)(rng);
    for (int k = 0; k < ops; ++k) {
      std::vector<std::pair<std::string, std::string>> e;
      const int what = std::uniform_int_distribution<int>(0, 99)(rng);
      if (what < 40) {  // a ticket
        const int64_t id = pick(30);
        Row row{{"customer_id", maybe(rng, std::to_string(pick(8)))},
                {"status", statuses[static_cast<size_t>(pick(3) - 1)]},
                {"title", maybe(rng, "t" + std::to_string(pick(5)))}};
        if (!tickets_.count(id))
          e = insert("tickets", tickets_, id, row);
        else if (what < 5)
          e = remove("tickets", tickets_, id);
        else if (what < 8 && !tickets_.count(id + 30))
          e = update("tickets", tickets_, id, row, id + 30);  // a new primary key
        else
          e = update("tickets", tickets_, id, row);
      } else if (what < 75) {  // a customer: renamed, moved to another org, rekeyed, deleted
        const int64_t id = pick(8);
        Row row{{"name", maybe(rng, "c" + std::to_string(pick(6)))}, {"org_id", maybe(rng, std::to_string(pick(4)))}};
        if (!customers_.count(id))
          e = insert("customers", customers_, id, row);
        else if (what < 50)
          e = remove("customers", customers_, id);
        else if (what < 54) {
          const int64_t to = pick(8);
          if (!customers_.count(to)) e = update("customers", customers_, id, row, to);
        } else {
          e = update("customers", customers_, id, row);
        }
      } else if (what < 99) {  // an org
        const int64_t id = pick(4);
        Row row{{"label", maybe(rng, "o" + std::to_string(pick(6)))}};
        if (!orgs_.count(id))
          e = insert("orgs", orgs_, id, row);
        else if (what < 79)
          e = remove("orgs", orgs_, id);
        else
          e = update("orgs", orgs_, id, row);
      } else {  // a TRUNCATE of one table
        const int64_t which = pick(3);
        const char* name = which == 1 ? "tickets" : which == 2 ? "customers" : "orgs";
        (which == 1 ? tickets_ : which == 2 ? customers_ : orgs_).clear();
        e = {{"RowsTruncated", std::string(R"("tables":["public.)") + name + R"("])"}};
      }
      events.insert(events.end(), e.begin(), e.end());
    }
    if (events.empty()) continue;
    apply(txn(events), rng);
    if (HasFatalFailure()) return;
    const auto want = expected();
    ASSERT_EQ(actual(), want) << "after step " << step;
    rows_seen += want.size();
  }
  // The model held rows most of the time (an average of 4.8 over the steps).
  EXPECT_GT(rows_seen, 1000u * 3);
  EXPECT_GT(lost_, 20);
  EXPECT_GT(resumed_, 20);

  // Dropped: nothing of it stays, its hashes included.
  apply(txn({{"ReadModelDropped", R"("name":"cards")"}}), rng);
  EXPECT_EQ(actual(), (std::map<std::string, std::map<std::string, std::string>>{}));
  auto left = redis_->command({"KEYS", "pgcqrs:m:*"});
  EXPECT_EQ(left->elements, 0u);
  EXPECT_EQ(redis_->command({"EXISTS", "pgcqrs:models"})->integer, 0);
}

TEST_F(Models, ARegistrationTheSidecarCannotReadStopsTheStream) {
  mark("0/1000");
  const auto r = run(calls(txn({{"ReadModelRegistered", R"("name":"bad","key":"x:{id}","plan":{"key":"x:{id}","tables":[]})"}})));
  EXPECT_EQ(r[0], "error");
  EXPECT_EQ(r[1], "read model bad's plan: its first table is not the root");
}

// After a restart the stream is read again from the slot's position: batches of transactions
// applied already come first, and must leave an unfinished fan-out's cursor where it was
// (begun again, a lookup's fan-out would find its copy written and nothing to do).
TEST_F(Models, AReplayStoppingShortOfAnUnfinishedFanOutKeepsItsCursor) {
  mark("0/1000");
  std::mt19937 rng(3);
  register_model("cards", "card:{id}", kPlan, rng);
  std::vector<std::pair<std::string, std::string>> setup = insert("orgs", orgs_, 1, {{"label", "o"}});
  for (auto& e : insert("customers", customers_, 1, {{"name", "ann"}, {"org_id", "1"}})) setup.push_back(e);
  for (int64_t id = 1; id <= 600; ++id)  // past 512 members an index is no intset: SSCAN pages it
    for (auto& e : insert("tickets", tickets_, id, {{"customer_id", "1"}, {"status", "open"}, {"title", "t"}}))
      setup.push_back(e);
  const auto setup_txn = txn(setup);
  apply(setup_txn, rng);
  const auto rename = calls(txn(update("customers", customers_, 1, {{"name", "Ann"}, {"org_id", "1"}})));
  ASSERT_EQ(run(rename, "0/0", 50)[0], "more");
  const std::string cursor = hget("pgcqrs:checkpoint", "partial_cursor");
  ASSERT_EQ(cursor.substr(0, 12), "cards|1|new:");
  projector_.forget();  // a new process
  EXPECT_EQ(run(calls(setup_txn), "0/0", 50), (std::vector<std::string>{"applied", "0", "1", "0"}));
  EXPECT_EQ(hget("pgcqrs:checkpoint", "partial_cursor"), cursor);
  std::string status;
  for (int i = 0; i < 30 && (status = run(rename, "0/0", 50)[0]) == "more"; ++i) {
  }
  EXPECT_EQ(status, "applied");
  EXPECT_EQ(actual(), expected());
  EXPECT_EQ(expected().size(), 600u);
}

// A replaced model keeps its old definition in the generation readers read, as of the
// replacement: later changes in the same batch leave it alone (the stream now carries the new
// plan's columns), the batch asks for the rebuild that copies the new one, and the next batch
// writes nothing.
TEST_F(Models, AReplacedModelStaysAsItWasUntilTheRebuildSwitches) {
  mark("0/1000");
  std::mt19937 rng(5);
  register_model("cards", "card:{id}", kPlan, rng);
  std::vector<std::pair<std::string, std::string>> setup = insert("orgs", orgs_, 1, {{"label", "o"}});
  for (auto& e : insert("customers", customers_, 1, {{"name", "ann"}, {"org_id", "1"}})) setup.push_back(e);
  for (auto& e : insert("tickets", tickets_, 7, {{"customer_id", "1"}, {"status", "open"}, {"title", "t"}}))
    setup.push_back(e);
  apply(txn(setup), rng);
  const auto before = actual();
  ASSERT_EQ(before, expected());
  const std::string plan_v1 = hget("pgcqrs:models", "cards");

  // The new version reads no title; a ticket changed after it, in the same batch, is not
  // written into the old one.
  std::string v2 = kPlan;
  v2.insert(v2.size() - 1, R"(,"version":2)");
  auto replaced = txn({{"ReadModelReplaced", R"("name":"cards","key":"card:{id}","plan":)" + v2}});
  auto later = txn({{"RowUpdated", R"("table":"public.tickets","row":{"id":7,"customer_id":1,"status":"closed"})"}});
  replaced.insert(replaced.end(), later.begin(), later.end());
  EXPECT_EQ(run(calls(replaced))[0], "applied");
  EXPECT_EQ(actual(), before);
  EXPECT_EQ(hget("pgcqrs:models", "cards"), plan_v1);
  EXPECT_EQ(hget("pgcqrs:checkpoint", "rebuild"), std::string(kNow) + ", when read model cards was replaced");
  EXPECT_EQ(run(calls(txn({{"RowDeleted", R"("table":"public.tickets","old":{"id":7})"}})))[0], "rebuild");
  EXPECT_EQ(actual(), before);
}

namespace {

// A grouped model:
//   SELECT kind, count(*) AS n, count(cost) AS priced, sum(cost) AS cost, sum(minutes) AS minutes
//     FROM visits WHERE kind <> 'test' GROUP BY kind
// with cost numeric(10,2) and minutes integer, ranked by cost.
const char* kGroupedPlan =
    R"({"key":"visit_kinds:{kind}","group":["kind"],"rank":"cost","tables":[)"
    R"({"key":["id"],"join":"root","reads":["id","kind","cost","minutes"],"table":"public.visits","key_index":"visits_pkey"}],)"
    R"("columns":[{"name":"kind","type":"text","table":0,"column":"kind"},)"
    R"({"name":"n","type":"bigint","table":0,"aggregate":"count"},)"
    R"({"name":"priced","type":"bigint","table":0,"column":"cost","aggregate":"count"},)"
    R"({"name":"cost","type":"numeric","table":0,"column":"cost","aggregate":"sum","scale":2},)"
    R"({"name":"minutes","type":"bigint","table":0,"column":"minutes","aggregate":"sum","scale":0}],)"
    R"("filters":[{"op":"<>","table":0,"column":"kind","values":["test"]}]})";

std::string cents_text(int64_t cents) {  // as PostgreSQL prints numeric(10,2)
  const int64_t a = cents < 0 ? -cents : cents;
  std::string frac = std::to_string(a % 100);
  if (frac.size() < 2) frac = "0" + frac;
  return (cents < 0 ? "-" : "") + std::to_string(a / 100) + "." + frac;
}

}  // namespace

// Random inserts, updates (a row moved between groups, its values changed, NULL, NaN), key
// changes, deletes and TRUNCATE: after each transaction every group's hash equals what GROUP
// BY computes here from the same rows, and no group without rows has one.
TEST_F(Models, AGroupedModelKeepsEachGroupsCountsAndExactSums) {
  mark("0/1000");
  std::mt19937 rng(11);
  register_model("visit_kinds", "visit_kinds:{kind}", kGroupedPlan, rng);
  std::string error;
  const auto plan = projection::parse_plan("visit_kinds", kGroupedPlan, error);
  ASSERT_TRUE(plan) << error;

  Table visits;
  const std::vector<std::string> kinds = {"call", "mail", "test", "visit, in person"};
  auto pick = [&](int n) { return static_cast<int64_t>(std::uniform_int_distribution<int>(1, n)(rng)); };
  // The sorted sets of the ranking: key -> member -> score.
  using Ranks = std::map<std::string, std::map<std::string, double>>;
  auto actual_ranks = [&] {
    Ranks out;
    for (int b = 0; b < 64; ++b) {
      const std::string key = "visit_kinds:{" + std::to_string(b) + "}";
      auto z = redis_->command({"ZRANGE", key, "0", "-1", "WITHSCORES"});
      for (size_t i = 0; i + 1 < z->elements; i += 2) out[key][z->element[i]->str] = std::stod(z->element[i + 1]->str);
    }
    return out;
  };
  auto expected_ranks = [&](const std::map<std::string, std::map<std::string, std::string>>& groups) {
    Ranks out;
    for (const auto& [key, h] : groups) {
      const auto cost = h.find("cost");
      if (cost == h.end() || cost->second == "NaN") continue;
      const std::string& kind = h.at("kind");
      out["visit_kinds:{" + std::to_string(projection::identity_bucket(kind)) + "}"][kind] = std::stod(cost->second);
    }
    return out;
  };
  auto expected_groups = [&] {
    struct Group {
      int64_t n = 0, priced = 0, cents = 0, minutes = 0, timed = 0;
      bool nan = false;
    };
    std::map<std::string, Group> groups;
    for (const auto& [id, v] : visits) {
      if (*v.at("kind") == "test") continue;
      Group& g = groups[*v.at("kind")];
      ++g.n;
      if (const auto& c = v.at("cost")) {
        ++g.priced;
        if (*c == "NaN")
          g.nan = true;
        else
          g.cents += std::llround(std::stod(*c) * 100);
      }
      if (const auto& m = v.at("minutes")) {
        ++g.timed;
        g.minutes += std::stoll(*m);
      }
    }
    std::map<std::string, std::map<std::string, std::string>> out;
    for (const auto& [kind, g] : groups) {
      auto& h = out[projection::model_key(*plan, "", kind)];
      h = {{"kind", kind}, {"n", std::to_string(g.n)}, {"priced", std::to_string(g.priced)}};
      if (g.priced > 0) h["cost"] = g.nan ? "NaN" : cents_text(g.cents);
      if (g.timed > 0) h["minutes"] = std::to_string(g.minutes);
    }
    return out;
  };
  size_t groups_seen = 0;
  for (int step = 0; step < 600; ++step) {
    std::vector<std::pair<std::string, std::string>> events;
    for (int k = std::uniform_int_distribution<int>(1, 4)(rng); k > 0; --k) {
      const int what = std::uniform_int_distribution<int>(0, 99)(rng);
      const int64_t id = pick(25);
      std::optional<std::string> cost;
      if (pick(5) > 1) cost = pick(20) == 1 ? "NaN" : cents_text(std::uniform_int_distribution<int64_t>(-500, 99999)(rng));
      Row row{{"kind", kinds[static_cast<size_t>(pick(4) - 1)]},
              {"cost", cost},
              {"minutes", maybe(rng, std::to_string(pick(90) - 10))}};
      std::vector<std::pair<std::string, std::string>> e;
      if (what == 99) {
        visits.clear();
        e = {{"RowsTruncated", R"("tables":["public.visits"])"}};
      } else if (!visits.count(id)) {
        e = insert("visits", visits, id, row);
      } else if (what < 15) {
        e = remove("visits", visits, id);
      } else if (what < 22 && !visits.count(id + 25)) {
        e = update("visits", visits, id, row, id + 25);
      } else if (what < 30) {
        e = update("visits", visits, id, visits[id]);  // an UPDATE of nothing the model reads
      } else {
        e = update("visits", visits, id, row);
      }
      events.insert(events.end(), e.begin(), e.end());
    }
    apply(txn(events), rng);
    if (HasFatalFailure()) return;
    const auto want = expected_groups();
    ASSERT_EQ(actual("visit_kinds:{*}:*"), want) << "after step " << step;
    ASSERT_EQ(actual_ranks(), expected_ranks(want)) << "after step " << step;
    groups_seen += want.size();
  }
  EXPECT_GT(groups_seen, 600u * 2);  // most steps had several groups

  apply(txn({{"ReadModelDropped", R"("name":"visit_kinds")"}}), rng);
  EXPECT_EQ(redis_->command({"KEYS", "visit_kinds:*"})->elements, 0u);
  EXPECT_EQ(redis_->command({"KEYS", "pgcqrs:m:*"})->elements, 0u);
}
