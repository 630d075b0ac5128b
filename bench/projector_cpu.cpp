// The sidecar's CPU per order without I/O: plugin messages (JSON, as bench/drain.sh's backlog
// sends them: orders of 3 items, every 10th one's status changed right after) parsed,
// grouped into transactions and batches of 100 events, and projected; the reads the projector
// asks for are answered here the way a Redis holding the copied users and products would.
// Prints microseconds of CPU per order for parsing and for projecting, the bytes written, and
// a digest of those bytes, so an optimization can show it changed nothing the projector writes.
// Deterministic, so it also runs under `valgrind --tool=callgrind` for instruction counts.
// Usage: pgcqrs-bench-projector-cpu [ORDERS] [USERS] [PRODUCTS]   (defaults 60000 5000 1000)

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "pgcqrs/core/lsn.hpp"
#include "pgcqrs/sidecar/checkpoint.hpp"
#include "pgcqrs/sidecar/projection/event.hpp"
#include "pgcqrs/sidecar/projection/projector.hpp"
#include "pgcqrs/sidecar/projection/transaction_assembler.hpp"
#include "cpu_clock.hpp"

using namespace pgcqrs::sidecar::projection;

namespace {

Reply text(std::string s) {
  Reply r;
  r.kind = Reply::Kind::String;
  r.str = std::move(s);
  return r;
}

Reply pairs(const std::vector<std::string>& items) {
  Reply r;
  r.kind = Reply::Kind::Array;
  for (const auto& s : items) r.elements.push_back(text(s));
  return r;
}

// What a Redis holding the copied users and products answers (orders and indexes: empty).
Reply answer(const Command& c, const std::map<std::string, std::string>& checkpoint) {
  Reply r;
  if (c[0] == "WATCH") {
    r.kind = Reply::Kind::Status;
    r.str = "OK";
  } else if (c[0] == "EXISTS") {
    r.kind = Reply::Kind::Integer;
  } else if (c[0] == "HGETALL" && c[1] == pgcqrs::sidecar::Keys().checkpoint()) {
    r.kind = Reply::Kind::Array;
    for (const auto& [f, v] : checkpoint) {
      r.elements.push_back(text(f));
      r.elements.push_back(text(v));
    }
  } else if (c[0] == "HGETALL" && c[1].rfind("user:", 0) == 0) {
    std::string id = c[1].substr(5);
    r = pairs({"user_id", id, "name", "user " + id, "email", "user" + id + "@example.com", "is_active", "true", "lsn",
               "0/1", "order_count", "0", "lifetime_value", "0.00"});
  } else if (c[0] == "HGETALL" && c[1].rfind("product:", 0) == 0) {
    std::string id = c[1].substr(8);
    r = pairs({"product_id", id, "name", "product " + id, "price", "1.99", "is_active", "true", "lsn", "0/1",
               "units_sold", "0", "revenue", "0.00"});
  } else {
    r.kind = Reply::Kind::Array;  // HGETALL of an order, ZREVRANGE: nothing there yet
  }
  return r;
}

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
  const std::string at = "2026-12-06T05:45:15.123456Z";
  // One transaction of one event: TYPE with the JSON members FIELDS.
  auto txn = [&](const std::string& type, const std::string& fields) {
    lsn += 0x400;
    const std::string l = pgcqrs::format_lsn(lsn);
    messages.push_back(R"({"type":"begin","v":1,"xid":1,"lsn":")" + l + R"(","commit_time":")" + at + R"("})");
    messages.push_back(R"({"type":")" + type + R"(","xid":1,"lsn":")" + l + R"(","seq":0,)" + fields + "}");
    messages.push_back(R"({"type":"commit","xid":1,"lsn":")" + l + R"(","events":1})");
  };
  for (int o = 1; o <= orders; ++o) {
    std::string items;
    int total = 0;
    for (int k = 0; k < 3; ++k) {
      int pid = 1 + static_cast<int>(next(products)), q = 1 + static_cast<int>(next(3));
      items += (k ? "," : "") + std::string(R"({"product_id":)") + std::to_string(pid) + R"(,"quantity":)" +
               std::to_string(q) + R"(,"unit_price":"1.99"})";
      total += q * 199;
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
  std::map<std::string, std::string> checkpoint{{"lsn", "0/1"}, {"slot", "pgcqrs"}, {"layout", "3"}};
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
      for (const auto& r : step.reads) replies.push_back(answer(r, checkpoint));
      ++rounds;
      reads += step.reads.size();
      step = projector.advance(std::move(replies), ctx);
    }
    if (step.kind != Projector::Step::Kind::Write) return std::fprintf(stderr, "stopped: %s\n", step.reason.c_str()), 1;
    written += step.writes.buffer().size();
    digest = continue_digest(digest, step.writes.buffer());
    ++batches;
    if (auto cp = projector.view().known_hash(pgcqrs::sidecar::Keys().checkpoint())) checkpoint = *cp;
  }
  double t2 = cpu_us();
  std::printf("%d orders, %zu messages, %zu batches, %zu read rounds, %.2f reads per order\n", orders, messages.size(),
              batches, rounds, static_cast<double>(reads) / orders);
  std::printf("CPU per order: parse and assemble %.2f us, project %.2f us (%.0f bytes written per order)\n",
              (t1 - t0) / orders, (t2 - t1) / orders, static_cast<double>(written) / orders);
  std::printf("writes digest 0x%016llx\n", static_cast<unsigned long long>(digest));
  return 0;
}
