// The sidecar's CPU per order without I/O: plugin messages (JSON, as bench/drain.sh's backlog
// sends them: orders of 3 items, every 10th one's status changed right after) parsed,
// grouped into transactions and batches of 100 events, and projected against a Redis in
// memory that starts with the copied users and products, applies each batch's writes and
// answers the reads. Prints microseconds of CPU per order for parsing and for projecting (the
// in-memory Redis not counted), the bytes written and two digests:
// - the writes digest, of the bytes written, batch by batch: an optimization that keeps it
//   changed nothing the projector writes, nor the order it writes it in;
// - the state digest, of what Redis holds at the end: a change that writes the same read
//   models in another order keeps it.
// Deterministic, so it also runs under `valgrind --tool=callgrind` for instruction counts
// (the in-memory Redis is counted there too: compare Projector::start and advance).
// Usage: pgcqrs-bench-projector-cpu [ORDERS] [USERS] [PRODUCTS]   (defaults 60000 5000 1000)

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "pgcqrs/core/lsn.hpp"
#include "pgcqrs/core/timestamp.hpp"
#include "pgcqrs/sidecar/checkpoint.hpp"
#include "pgcqrs/sidecar/projection/event.hpp"
#include "pgcqrs/sidecar/projection/projector.hpp"
#include "pgcqrs/sidecar/projection/transaction_assembler.hpp"
#include "cpu_clock.hpp"

using namespace pgcqrs::sidecar::projection;

namespace {

// A Redis in memory, enough of one for what the projector reads and writes: it applies each
// batch's MULTI/EXEC and answers the next batch's reads from what it holds, so a read after
// the view let go of a key gets what the projector wrote. Its contents give the state digest,
// which does not depend on the order of the writes (a projector that writes the same read
// models in another order keeps it).
class FakeRedis {
 public:
  void hset(const std::string& key, std::vector<std::pair<std::string, std::string>> fields) {
    for (auto& [f, v] : fields) hashes_[key][f] = std::move(v);
  }
  void zadd(const std::string& key, double score, const std::string& member) { zsets_[key][member] = score; }
  void sadd(const std::string& key, const std::string& member) { sets_[key].insert(member); }

  // Applies the commands of one RESP buffer (MULTI ... EXEC).
  void apply(std::string_view resp) {
    size_t at = 0;
    while (at < resp.size()) {
      Command c = next_command(resp, at);
      apply(c);
    }
  }

  // Commands written and their arguments' bytes, by command name.
  const std::map<std::string, std::pair<size_t, size_t>>& tally() const { return tally_; }

  Reply answer(const Command& c) const {
    Reply r;
    r.kind = Reply::Kind::Array;
    if (c[0] == "WATCH") {
      r.kind = Reply::Kind::Status;
      r.str = "OK";
    } else if (c[0] == "EXISTS") {
      r.kind = Reply::Kind::Integer;
      r.integer = hashes_.count(c[1]) || zsets_.count(c[1]) || sets_.count(c[1]) || lists_.count(c[1]);
    } else if (c[0] == "HGETALL") {
      if (auto h = hashes_.find(c[1]); h != hashes_.end())
        for (const auto& [f, v] : h->second) {
          r.elements.push_back(text(f));
          r.elements.push_back(text(v));
        }
    } else if (c[0] == "ZREVRANGE") {  // key start stop WITHSCORES, start 0
      std::vector<std::pair<double, std::string>> all;
      if (auto z = zsets_.find(c[1]); z != zsets_.end())
        for (const auto& [m, score] : z->second) all.emplace_back(score, m);
      std::sort(all.begin(), all.end(), [](const auto& a, const auto& b) { return a > b; });
      const long stop = std::stol(c[3]);
      for (size_t i = 0; i < all.size() && (stop < 0 || static_cast<long>(i) <= stop); ++i) {
        r.elements.push_back(text(all[i].second));
        r.elements.push_back(text(score_text(all[i].first)));
      }
    } else {
      std::fprintf(stderr, "the bench's Redis does not answer %s\n", c[0].c_str());
      std::exit(1);
    }
    return r;
  }

  // The sum of a field over the hashes whose key starts with prefix, and how many there are.
  std::pair<int64_t, size_t> sum(const std::string& prefix, const std::string& field) const {
    int64_t total = 0;
    size_t n = 0;
    for (auto it = hashes_.lower_bound(prefix); it != hashes_.end() && it->first.rfind(prefix, 0) == 0; ++it, ++n)
      if (auto f = it->second.find(field); f != it->second.end()) total += std::stoll(f->second);
    return {total, n};
  }

  // Everything it holds, in key order.
  uint64_t digest() const {
    std::string all;
    for (const auto& [k, h] : hashes_) {
      all.append("h ").append(k);
      for (const auto& [f, v] : h) all.append(" ").append(f).append("=").append(v);
      all += '\n';
    }
    for (const auto& [k, z] : zsets_) {
      all.append("z ").append(k);
      for (const auto& [m, score] : z) all.append(" ").append(m).append("=").append(score_text(score));
      all += '\n';
    }
    for (const auto& [k, set] : sets_) {
      all.append("s ").append(k);
      for (const auto& m : set) all.append(" ").append(m);
      all += '\n';
    }
    for (const auto& [k, l] : lists_) {
      all.append("l ").append(k);
      for (const auto& e : l) all.append(" ").append(e);
      all += '\n';
    }
    return std::hash<std::string_view>{}(all);
  }

 private:
  static Reply text(std::string s) {
    Reply r;
    r.kind = Reply::Kind::String;
    r.str = std::move(s);
    return r;
  }
  static std::string score_text(double score) {
    char buf[32];
    return std::string(buf, static_cast<size_t>(std::to_chars(buf, buf + sizeof buf, score).ptr - buf));
  }
  // One array of bulk strings, as RespWriter writes them.
  static Command next_command(std::string_view resp, size_t& at) {
    auto number = [&](char type) {
      if (resp[at] != type) std::fprintf(stderr, "bad RESP at %zu\n", at), std::exit(1);
      size_t end = resp.find("\r\n", at);
      long n = std::stol(std::string(resp.substr(at + 1, end - at - 1)));
      at = end + 2;
      return static_cast<size_t>(n);
    };
    Command c(number('*'));
    for (auto& arg : c) {
      size_t len = number('$');
      arg = std::string(resp.substr(at, len));
      at += len + 2;
    }
    return c;
  }
  void del(const std::string& key) {
    hashes_.erase(key);
    zsets_.erase(key);
    sets_.erase(key);
    lists_.erase(key);
  }
  void apply(const Command& c) {
    const std::string& op = c[0];
    auto& [count, bytes] = tally_[op];
    ++count;
    for (const auto& a : c) bytes += a.size();
    if (op == "MULTI" || op == "EXEC" || op == "PUBLISH") return;
    const std::string& key = c[1];
    if (op == "DEL") {
      del(key);
    } else if (op == "HSET") {
      for (size_t i = 2; i + 1 < c.size(); i += 2) hashes_[key][c[i]] = c[i + 1];
    } else if (op == "HDEL") {
      for (size_t i = 2; i < c.size(); ++i) hashes_[key].erase(c[i]);
      if (hashes_[key].empty()) hashes_.erase(key);
    } else if (op == "ZADD") {
      for (size_t i = 2; i + 1 < c.size(); i += 2) zsets_[key][c[i + 1]] = parse_score(c[i]);
    } else if (op == "ZREM") {
      for (size_t i = 2; i < c.size(); ++i) zsets_[key].erase(c[i]);
      if (zsets_[key].empty()) zsets_.erase(key);
    } else if (op == "SADD") {
      for (size_t i = 2; i < c.size(); ++i) sets_[key].insert(c[i]);
    } else if (op == "SREM") {
      for (size_t i = 2; i < c.size(); ++i) sets_[key].erase(c[i]);
      if (sets_[key].empty()) sets_.erase(key);
    } else if (op == "LPUSH") {
      auto& l = lists_[key];
      for (size_t i = 2; i < c.size(); ++i) l.insert(l.begin(), c[i]);
    } else if (op == "RPUSH") {
      auto& l = lists_[key];
      for (size_t i = 2; i < c.size(); ++i) l.push_back(c[i]);
    } else if (op == "LTRIM") {  // key 0 stop
      auto& l = lists_[key];
      const size_t keep = static_cast<size_t>(std::stol(c[3]) + 1);
      if (l.size() > keep) l.resize(keep);
    } else {
      std::fprintf(stderr, "the bench's Redis does not apply %s\n", op.c_str());
      std::exit(1);
    }
  }

  std::map<std::string, std::map<std::string, std::string>> hashes_;
  std::map<std::string, std::map<std::string, double>> zsets_;
  std::map<std::string, std::set<std::string>> sets_;
  std::map<std::string, std::vector<std::string>> lists_;
  std::map<std::string, std::pair<size_t, size_t>> tally_;
};

// The digest continued over one batch's bytes: libstdc++'s string hash (a fixed seed, so the
// same bytes give the same digest in every run), a tenth of a byte-wise hash's instructions,
// which callgrind would count with the projector's.
uint64_t continue_digest(uint64_t h, const std::string& bytes) {
  return h * 0x100000001b3ull ^ std::hash<std::string_view>{}(bytes);
}

}  // namespace

int main(int argc, char** argv) {
  const int orders = argc > 1 ? std::atoi(argv[1]) : 60000;
  const int users = argc > 2 ? std::atoi(argv[2]) : 5000;
  const int products = argc > 3 ? std::atoi(argv[3]) : 1000;

  // The stream: one transaction per order, and one per status change.
  std::vector<std::string> messages;
  uint64_t lsn = 0x1000000;
  unsigned seed = 1;
  auto next = [&](unsigned n) {
    seed = seed * 1103515245u + 12345u;
    return (seed >> 8) % n;
  };
  // Each order placed a millisecond after the one before, as the backlog's writers place them:
  // with one created_at for all, ties ranked orders by id as text in the users' pages, and
  // most orders rendered their user's page again instead of pushing their entry on it.
  const int64_t start_us = *pgcqrs::parse_timestamp("2026-12-06T05:45:15.123456Z");
  std::string at = pgcqrs::format_timestamp(start_us);
  // One transaction of one event: TYPE with the JSON members FIELDS.
  auto txn = [&](const std::string& type, const std::string& fields) {
    lsn += 0x400;
    const std::string l = pgcqrs::format_lsn(lsn);
    messages.push_back(R"({"type":"begin","v":1,"xid":1,"lsn":")" + l + R"(","commit_time":")" + at + R"("})");
    messages.push_back(R"({"type":")" + type + R"(","xid":1,"lsn":")" + l + R"(","seq":0,)" + fields + "}");
    messages.push_back(R"({"type":"commit","xid":1,"lsn":")" + l + R"(","events":1})");
  };
  int64_t units = 0;  // sold in all: what the products' units_sold must add up to
  for (int o = 1; o <= orders; ++o) {
    at = pgcqrs::format_timestamp(start_us + 1000LL * o);
    std::string items;
    int total = 0;
    for (int k = 0; k < 3; ++k) {
      int pid = 1 + static_cast<int>(next(products)), q = 1 + static_cast<int>(next(3));
      items += (k ? "," : "") + std::string(R"({"product_id":)") + std::to_string(pid) + R"(,"quantity":)" +
               std::to_string(q) + R"(,"unit_price":"1.99"})";
      total += q * 199;
      units += q;
    }
    const std::string id = std::to_string(o), user = std::to_string(1 + next(users));
    txn("OrderPlaced", R"("order_id":)" + id + R"(,"user_id":)" + user + R"(,"status":"pending","created_at":")" +
                           at + R"(","updated_at":")" + at + R"(","items":[)" + items + R"(],"total":")" +
                           pgcqrs::cents_to_money(total) + "\"");
    if (o % 10 == 0)
      txn("OrderStatusChanged", R"("order_id":)" + id + R"(,"user_id":)" + user +
                                    R"(,"from":"pending","to":"paid","updated_at":")" + at + "\"");
  }

  // Parse and group into calls (what the session does with the stream).
  double t0 = cpu_us();
  TransactionAssembler assembler({100, 1u << 20});
  std::vector<ScriptCall> calls;
  for (auto& m : messages) {
    ParseResult p = parse_message(m);
    if (!p.message) return std::fprintf(stderr, "parse: %s\n", p.error.c_str()), 1;
    if (std::string e = assembler.feed(std::move(*p.message), calls); !e.empty())
      return std::fprintf(stderr, "assemble: %s\n", e.c_str()), 1;
  }
  double t1 = cpu_us();

  // Project, batch by batch (what BatchApplier does with the calls).
  Projector projector;
  ProjectorContext ctx{"pgcqrs", at, 0, 1000};
  // What the copy left: the users and products, and the checkpoint.
  const pgcqrs::sidecar::Keys keys;
  FakeRedis redis;
  double redis_us = 0;  // the bench's Redis at work: not the projector's CPU
  redis.hset(keys.checkpoint(), {{"lsn", "0/1"}, {"slot", "pgcqrs"}, {"layout", "4"}});
  for (int u = 1; u <= users; ++u) {
    const std::string id = std::to_string(u);
    redis.hset(keys.user(id), {{"user_id", id}, {"name", "user " + id}, {"email", "user" + id + "@example.com"},
                               {"is_active", "true"}, {"lsn", "0/1"}, {"order_count", "0"}, {"lifetime_value", "0.00"}});
    redis.sadd(keys.users(pgcqrs::sidecar::Keys::bucket_of(u)), id);
  }
  for (int p = 1; p <= products; ++p) {
    const std::string id = std::to_string(p);
    redis.hset(keys.product(id), {{"product_id", id}, {"name", "product " + id}, {"price", "1.99"}, {"is_active", "true"},
                                  {"lsn", "0/1"}, {"units_sold", "0"}, {"revenue", "0.00"}});
    redis.sadd(keys.products(pgcqrs::sidecar::Keys::bucket_of(p)), id);
    redis.zadd(keys.top_products(pgcqrs::sidecar::Keys::bucket_of(p)), 0, id);
  }
  size_t written = 0, rounds = 0, batches = 0, reads = 0;
  uint64_t digest = 0xcbf29ce484222325ull;
  for (size_t i = 0; i < calls.size();) {
    std::vector<ScriptCall> batch;
    size_t events = 0;
    while (i < calls.size() && events + calls[i].events.size() <= 100) {
      events += calls[i].events.size();
      batch.push_back(std::move(calls[i++]));
    }
    Projector::Step step = projector.start(std::move(batch), Projector::Mode::Transaction, ctx);
    while (step.kind == Projector::Step::Kind::Read) {
      std::vector<Reply> replies;
      double t = cpu_us();
      for (const auto& r : step.reads) replies.push_back(redis.answer(r));
      redis_us += cpu_us() - t;
      ++rounds;
      reads += step.reads.size();
      step = projector.advance(std::move(replies), ctx);
    }
    if (step.kind != Projector::Step::Kind::Write) return std::fprintf(stderr, "stopped: %s\n", step.reason.c_str()), 1;
    written += step.writes.buffer().size();
    digest = continue_digest(digest, step.writes.buffer());
    ++batches;
    double t = cpu_us();
    redis.apply(step.writes.buffer());
    redis_us += cpu_us() - t;
  }
  double t2 = cpu_us();
  // Figures of a projector that lost writes would mean nothing.
  const auto [placed, order_hashes] = redis.sum(keys.order_stem(), "order_id");
  const auto [counted, user_hashes] = redis.sum(keys.user_stem(), "order_count");
  const auto [sold, product_hashes] = redis.sum(keys.product_stem(), "units_sold");
  if (order_hashes != static_cast<size_t>(orders) || counted != orders || sold != units)
    return std::fprintf(stderr, "the read models disagree with the stream: %zu order hashes, order counts adding up to %lld, "
                                "%lld units sold (expected %d, %d, %lld)\n",
                        order_hashes, static_cast<long long>(counted), static_cast<long long>(sold), orders, orders,
                        static_cast<long long>(units)),
           1;
  std::printf("%d orders, %zu messages, %zu batches, %zu read rounds, %.2f reads per order\n", orders, messages.size(),
              batches, rounds, static_cast<double>(reads) / orders);
  std::printf("CPU per order: parse and assemble %.2f us, project %.2f us (%.0f bytes written per order)\n",
              (t1 - t0) / orders, (t2 - t1 - redis_us) / orders, static_cast<double>(written) / orders);
  std::printf("writes per order (commands, bytes):");
  for (const auto& [op, t] : redis.tally())
    std::printf(" %s %.2f %.0f", op.c_str(), static_cast<double>(t.first) / orders, static_cast<double>(t.second) / orders);
  std::printf("\n");
  std::printf("writes digest 0x%016llx\n", static_cast<unsigned long long>(digest));
  std::printf("state digest 0x%016llx\n", static_cast<unsigned long long>(redis.digest()));
  return 0;
}
