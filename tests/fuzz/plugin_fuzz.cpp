// Seeded fuzz test of the pgcqrs output plugin (issue 14): random bytes, sizes up to and past
// the contract's limits, in databases of several encodings, random application messages and
// random writes to the write model. After every round one decode of the slot must succeed,
// give exactly the events of the transactions that committed (types, ids, counts, seq), with
// every text value as docs/events.md says, and the server must not have restarted.
// The same seed gives the same inputs. Usage: see --help.
#include <libpq-fe.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "pgcqrs/core/limits.hpp"
#include "pgcqrs/core/utf8.hpp"

namespace {

using nlohmann::json;
constexpr std::size_t limit = pgcqrs::max_text_bytes;

struct Options {
  uint64_t seed = 1;
  int rounds = 2;
  int ops = 30;
  std::vector<std::string> encodings = {"UTF8", "LATIN1", "WIN1252", "EUC_JP", "SQL_ASCII"};
};

[[noreturn]] void fail(const std::string& what) { throw std::runtime_error(what); }

// ---- libpq, thinly -----------------------------------------------------------------------

using Result = std::unique_ptr<PGresult, decltype(&PQclear)>;

class Conn {
 public:
  explicit Conn(const std::string& conninfo) : c_(PQconnectdb(conninfo.c_str()), &PQfinish) {
    if (PQstatus(c_.get()) != CONNECTION_OK) fail("cannot connect (" + conninfo + "): " + PQerrorMessage(c_.get()));
  }
  // Runs sql with text parameters (bytes as they are: the client encoding is the server's)
  // or, where binary[i], bytea parameters; returns the result, or nullopt and the error.
  std::optional<Result> run(const std::string& sql, const std::vector<std::string>& params = {},
                            const std::vector<bool>& binary = {}, bool binary_result = false) {
    std::vector<const char*> values;
    std::vector<int> lengths, formats;
    for (std::size_t i = 0; i < params.size(); ++i) {
      values.push_back(params[i].data());
      lengths.push_back(static_cast<int>(params[i].size()));
      formats.push_back(i < binary.size() && binary[i] ? 1 : 0);
    }
    Result r(PQexecParams(c_.get(), sql.c_str(), static_cast<int>(params.size()), nullptr, values.data(),
                          lengths.data(), formats.data(), binary_result ? 1 : 0),
             &PQclear);
    auto status = PQresultStatus(r.get());
    if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) return r;
    last_error_ = PQresultErrorMessage(r.get());
    if (PQstatus(c_.get()) != CONNECTION_OK) fail("the connection broke during: " + sql + ": " + last_error_);
    return std::nullopt;
  }
  Result must(const std::string& sql, const std::vector<std::string>& params = {}) {
    auto r = run(sql, params);
    if (!r) fail(sql + ": " + last_error_);
    return std::move(*r);
  }
  std::string value(const std::string& sql, const std::vector<std::string>& params = {}) {
    auto r = must(sql, params);
    return PQntuples(r.get()) ? PQgetvalue(r.get(), 0, 0) : "";
  }
  const std::string& last_error() const { return last_error_; }

 private:
  std::unique_ptr<PGconn, decltype(&PQfinish)> c_;
  std::string last_error_;
};

// ---- What each encoding's text looks like, and what UTF-8 the contract makes of it --------

// cp1252's 0x80-0x9F (0: no character).
constexpr uint32_t win1252_high[32] = {
    0x20AC, 0, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0, 0x017D, 0,
    0, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0, 0x017E, 0x0178};


struct Sent {
  std::string text;      // what the event must carry
  uint64_t replaced = 0;
  bool cut = false;
};

// The contract's UTF-8 for bytes stored in enc, where the test can tell it exactly (single-byte
// encodings by their tables, UTF8 and SQL_ASCII by UTF-8 validity); nullopt for EUC_JP.
std::optional<Sent> predict(const std::string& enc, const std::string& stored) {
  Sent s;
  if (enc == "UTF8" || enc == "SQL_ASCII") {
    std::string out(std::min(stored.size() * 3, limit), '\0');
    auto r = pgcqrs::utf8::copy_valid(stored, out.data(), out.size());
    out.resize(r.written);
    return Sent{out, r.replaced, r.consumed < stored.size()};
  }
  if (enc != "LATIN1" && enc != "WIN1252") return std::nullopt;
  for (unsigned char b : stored) {
    std::string piece;
    uint32_t cp = b;
    if (enc == "WIN1252" && b >= 0x80 && b < 0xA0) cp = win1252_high[b - 0x80];
    if (cp == 0) {
      piece = pgcqrs::utf8::replacement;
    } else {
      pgcqrs::utf8::append(piece, cp);
    }
    if (s.text.size() + piece.size() > limit) {
      s.cut = true;
      break;
    }
    s.text += piece;
    if (cp == 0) ++s.replaced;
  }
  return s;
}

// ---- The fuzzer ---------------------------------------------------------------------------

struct Stats {
  uint64_t inputs = 0, committed = 0, failed = 0, rolled_back = 0, messages = 0, events = 0, cut = 0,
           replaced = 0, largest = 0, ddl = 0, ddl_refused = 0;
};

// What one committed transaction must have produced, in order.
struct Event {
  std::string type;
  std::string id_key;
  int64_t id = 0;
  std::vector<std::pair<std::string, std::string>> texts;  // field -> stored bytes
  std::size_t items = 0;                                    // OrderPlaced
  std::string reason;                                       // InvalidMessage over the limit
};

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// One generator per encoding, so that adding an encoding leaves the others' inputs alone.
uint64_t seed_for(uint64_t seed, const std::string& enc) {
  uint64_t h = 1469598103934665603ull;  // FNV-1a
  for (unsigned char c : enc) h = (h ^ c) * 1099511628211ull;
  return seed ^ h;
}

class Fuzzer {
 public:
  Fuzzer(const Options& o, const std::string& enc, const std::string& conninfo, Stats& stats)
      : enc_(enc), slot_("fuzz_" + lower(enc)), rng_(seed_for(o.seed, enc)), conn_(conninfo), stats_(stats) {
    conn_.must("SET client_encoding = '" + enc + "'");
    conn_.must("SET client_min_messages = warning");
    conn_.must("CREATE EXTENSION IF NOT EXISTS pgcqrs");
    conn_.must("SELECT pg_create_logical_replication_slot($1, 'pgcqrs')", {slot_});
    start_time_ = conn_.value("SELECT pg_postmaster_start_time()");
  }

  void round(int r, int ops) {
    for (int i = 0; i < ops; ++i) step();
    check(r);
  }

 private:
  // Stored values are shared, so that keeping the state to restore after a rollback is cheap.
  using Text = std::shared_ptr<const std::string>;
  static Text share(std::string s) { return std::make_shared<const std::string>(std::move(s)); }
  struct User {
    Text name, email;
    bool active;
  };

  uint64_t pick(uint64_t n) { return std::uniform_int_distribution<uint64_t>(0, n - 1)(rng_); }
  bool chance(int percent) { return pick(100) < static_cast<uint64_t>(percent); }

  // Sizes: mostly small, some medium, and one in eight on an edge of the limits.
  std::size_t size() {
    auto p = pick(100);
    if (p < 60) return pick(40);
    if (p < 88) return pick(20000);
    const std::size_t edges[] = {limit / 3, limit / 3 + 1, limit / 2, limit / 2 + 1, limit - 1, limit,
                                 limit + 1, limit + 2, limit + 3, limit + pick(limit / 2)};
    return edges[pick(10)];
  }

  // One character valid in the encoding (mostly: some are unmapped, on purpose).
  void character(std::string& out) {
    auto p = pick(100);
    if (p < 35) return out.push_back(static_cast<char>(0x20 + pick(0x5F)));  // printable ASCII
    if (p < 45) return out.push_back(static_cast<char>(1 + pick(0x1F)));     // control characters
    if (p < 50) return out.push_back("\"\\/{}"[pick(5)]);
    if (enc_ == "UTF8") {
      uint32_t ranges[][2] = {{0x80, 0x7FF}, {0x800, 0xD7FF}, {0xE000, 0xFFFD}, {0x10000, 0x10FFFF}};
      auto& range = ranges[pick(4)];
      return pgcqrs::utf8::append(out, static_cast<uint32_t>(range[0] + pick(range[1] - range[0] + 1)));
    }
    if (enc_ == "EUC_JP") {
      auto k = pick(10);
      if (k < 7) {  // JIS X 0208 and the user-defined rows 0xF5-0xFE (no UTF-8 equivalent)
        out.push_back(static_cast<char>(0xA1 + pick(0x5E)));
        out.push_back(static_cast<char>(0xA1 + pick(0x5E)));
      } else if (k < 9) {  // half-width katakana
        out.push_back('\x8E');
        out.push_back(static_cast<char>(0xA1 + pick(0x3F)));
      } else {  // JIS X 0212
        out.push_back('\x8F');
        out.push_back(static_cast<char>(0xA1 + pick(0x5E)));
        out.push_back(static_cast<char>(0xA1 + pick(0x5E)));
      }
      return;
    }
    out.push_back(static_cast<char>(0x80 + pick(0x80)));  // LATIN1, WIN1252, SQL_ASCII
  }

  // Text of about n bytes; long text repeats a random 4 kB unit so it stays cheap to make.
  std::string text(std::size_t n) {
    std::string unit;
    while (unit.size() < std::min<std::size_t>(n, 4096)) character(unit);
    std::string out;
    out.reserve(n + 4);
    while (!unit.empty() && out.size() + unit.size() <= n) out += unit;
    while (out.size() < n) character(out);
    stats_.largest = std::max<uint64_t>(stats_.largest, out.size());
    return out;
  }

  std::string email() { return text(chance(3) ? 3000 : pick(30)) + "#" + std::to_string(++serial_) + "@x"; }

  template <class K, class V>
  static K any_key(const std::map<K, V>& m, uint64_t r) {
    auto it = m.begin();
    std::advance(it, static_cast<long>(r % m.size()));
    return it->first;
  }

  // One write or message; returns false if PostgreSQL refused it (the transaction is then
  // aborted). Events it must produce go to txn.
  bool op(std::vector<Event>& txn) {
    ++stats_.inputs;
    auto p = pick(100);
    if (p < 18 || users_.empty()) {
      std::string name = text(size()), mail = email();
      auto r = conn_.run("INSERT INTO users (name, email) VALUES ($1, $2) RETURNING id", {name, mail});
      if (!r) return false;
      int64_t id = std::stoll(PQgetvalue(r->get(), 0, 0));
      users_[id] = {share(name), share(mail), true};
      txn.push_back({"UserRegistered", "user_id", id, {{"name", name}, {"email", mail}}});
      return true;
    }
    if (p < 30) {
      int64_t id = any_key(users_, pick(1 << 30));
      std::string name = chance(10) ? *users_[id].name : text(size());
      if (!conn_.run("UPDATE users SET name = $1 WHERE id = $2", {name, std::to_string(id)})) return false;
      if (name != *users_[id].name)
        txn.push_back({"UserRenamed", "user_id", id, {{"old_name", *users_[id].name}, {"name", name}}});
      users_[id].name = share(name);
      return true;
    }
    if (p < 36) {
      int64_t id = any_key(users_, pick(1 << 30));
      std::string mail = email();
      if (!conn_.run("UPDATE users SET email = $1 WHERE id = $2", {mail, std::to_string(id)})) return false;
      txn.push_back({"UserEmailChanged", "user_id", id, {{"old_email", *users_[id].email}, {"email", mail}}});
      users_[id].email = share(mail);
      return true;
    }
    if (p < 40) {
      int64_t id = any_key(users_, pick(1 << 30));
      bool active = !users_[id].active;
      if (!conn_.run("UPDATE users SET is_active = $1 WHERE id = $2", {active ? "t" : "f", std::to_string(id)}))
        return false;
      txn.push_back({active ? "UserReactivated" : "UserDeactivated", "user_id", id});
      users_[id].active = active;
      return true;
    }
    if (p < 42) {
      int64_t id = any_key(users_, pick(1 << 30));
      if (!conn_.run("DELETE FROM users WHERE id = $1", {std::to_string(id)})) return false;  // orders refer to it
      txn.push_back({"UserDeleted", "user_id", id});
      users_.erase(id);
      return true;
    }
    if (p < 52 || products_.empty()) {
      std::string name = text(size());
      std::string price = std::to_string(pick(100000)) + "." + std::to_string(10 + pick(90));
      auto r = conn_.run("INSERT INTO products (name, price) VALUES ($1, $2) RETURNING id", {name, price});
      if (!r) return false;
      int64_t id = std::stoll(PQgetvalue(r->get(), 0, 0));
      products_[id] = share(name);
      txn.push_back({"ProductAdded", "product_id", id, {{"name", name}}});
      return true;
    }
    if (p < 58) {
      int64_t id = any_key(products_, pick(1 << 30));
      std::string name = text(size());
      if (!conn_.run("UPDATE products SET name = $1 WHERE id = $2", {name, std::to_string(id)})) return false;
      if (name != *products_[id])
        txn.push_back({"ProductRenamed", "product_id", id, {{"old_name", *products_[id]}, {"name", name}}});
      products_[id] = share(name);
      return true;
    }
    if (p < 68) {
      std::size_t n = 1 + pick(4);
      std::string items = "[";
      std::vector<int64_t> seen;
      for (std::size_t k = 0; k < n; ++k) {
        int64_t pid = any_key(products_, pick(1 << 30));
        if (std::find(seen.begin(), seen.end(), pid) != seen.end()) continue;
        seen.push_back(pid);
        if (items.size() > 1) items += ",";
        items += R"({"product_id":)" + std::to_string(pid) + R"(,"quantity":)" + std::to_string(1 + pick(5)) + "}";
      }
      items += "]";
      int64_t user = any_key(users_, pick(1 << 30));
      auto r = conn_.run("SELECT place_order($1, $2)", {std::to_string(user), items});
      if (!r) return false;  // an inactive user, for one
      int64_t id = std::stoll(PQgetvalue(r->get(), 0, 0));
      Event e{"OrderPlaced", "order_id", id};
      e.items = seen.size();
      txn.push_back(e);
      orders_[id] = "pending";
      return true;
    }
    if (p < 72 && !orders_.empty()) {
      int64_t id = any_key(orders_, pick(1 << 30));
      const char* statuses[] = {"paid", "shipped", "delivered", "cancelled", "pending"};
      std::string to = statuses[pick(5)];
      if (!conn_.run("UPDATE orders SET status = $1 WHERE id = $2", {to, std::to_string(id)})) return false;
      if (to != orders_[id]) txn.push_back({"OrderStatusChanged", "order_id", id});
      orders_[id] = to;
      return true;
    }
    if (p < 74 && chance(50)) {
      random_ddl();
      return true;
    }
    return message(txn);
  }

  // An application message: valid JSON (of any size), broken JSON, a reserved type, or
  // random bytes; sent as bytea (the JSON as UTF-8) or as text of the database's encoding.
  bool message(std::vector<Event>& txn) {
    ++stats_.messages;
    std::string content, type;
    auto p = pick(100);
    if (p < 45) {
      type = "Fuzz" + std::to_string(pick(10));
      std::string s = text(size());
      if (enc_ != "UTF8") s = std::string(s.size(), 'z');  // this test's JSON is UTF-8
      content = json{{"type", type}, {"n", pick(1000)}, {"s", s}}.dump();
    } else if (p < 60) {
      content = R"({"type":"Broken","s":")" + std::string(size(), 'b');
    } else if (p < 65) {
      content = R"({"type":"OrderPlaced"})";
    } else {
      content = "x" + text(size());  // never a JSON object
    }
    bool as_text = p >= 65 && chance(50);
    auto r = conn_.run(as_text ? "SELECT pg_logical_emit_message(true, 'pgcqrs', $1::text)"
                               : "SELECT pg_logical_emit_message(true, 'pgcqrs', $1::bytea)",
                       {content}, {!as_text});
    if (!r) return false;
    bool valid = !type.empty() && content.size() <= pgcqrs::max_message_bytes;
    Event e{valid ? type : "InvalidMessage", "", 0};
    if (!valid) e.texts = {{"raw", content}};
    if (content.size() > pgcqrs::max_message_bytes)
      e.reason = "payload is " + std::to_string(content.size()) + " bytes, over the limit of " +
                 std::to_string(pgcqrs::max_message_bytes);
    txn.push_back(e);
    return true;
  }

  // Random DDL on the write model's tables: a safe change (an added column) goes through; one
  // that would make the events lie must be refused by the extension's guard (CQ007), inside a
  // block that catches just that refusal, so an accepted one fails the run and changes nothing.
  void random_ddl() {
    const char* tables[] = {"users", "products", "orders", "order_items"};
    if (chance(50)) {
      std::string sql = std::string("ALTER TABLE ") + tables[pick(4)] + " ADD COLUMN IF NOT EXISTS fuzz_extra_" +
                        std::to_string(pick(3)) + " text";
      if (conn_.run(sql)) ++stats_.ddl;
      return;
    }
    const char* lying[] = {"ALTER TABLE users REPLICA IDENTITY DEFAULT",
                           "ALTER TABLE orders REPLICA IDENTITY NOTHING",
                           "ALTER TABLE products RENAME TO products_renamed",
                           "ALTER TABLE users RENAME COLUMN name TO full_name",
                           "ALTER TABLE order_items ALTER COLUMN quantity TYPE bigint",
                           "ALTER TABLE orders DROP COLUMN status"};
    std::string stmt = lying[pick(6)];
    std::string sql = "DO $fuzz$ BEGIN EXECUTE '" + stmt +
                      "'; RAISE EXCEPTION 'accepted'; EXCEPTION WHEN SQLSTATE 'CQ007' THEN NULL; END $fuzz$";
    if (!conn_.run(sql)) fail("DDL that would make the events lie was not refused with CQ007: " + stmt + ": " + conn_.last_error());
    ++stats_.ddl;
    ++stats_.ddl_refused;
  }


  void step() {
    std::vector<Event> txn;
    if (!chance(15)) {
      if (op(txn)) {
        ++stats_.committed;
        if (!txn.empty()) expected_.push_back(std::move(txn));
      } else {
        ++stats_.failed;
      }
      return;
    }
    auto users = users_;  // restored if the transaction does not commit
    auto products = products_;
    auto orders = orders_;
    conn_.must("BEGIN");
    bool ok = true;
    for (uint64_t k = 0, n = 2 + pick(3); ok && k < n; ++k) ok = op(txn);
    bool commit = ok && chance(75);
    conn_.must(commit ? "COMMIT" : "ROLLBACK");
    if (commit) {
      ++stats_.committed;
      if (!txn.empty()) expected_.push_back(std::move(txn));
    } else {
      ok ? ++stats_.rolled_back : ++stats_.failed;
      users_ = users;
      products_ = products;
      orders_ = orders;
    }
  }

  std::string sha256(const std::string& bytes) {
    auto r = conn_.run("SELECT encode(sha256($1), 'hex')", {bytes}, {true});
    if (!r) fail("sha256: " + conn_.last_error());
    return PQgetvalue(r->get(), 0, 0);
  }

  // A text field of an object against the bytes stored for it.
  void check_text(const json& obj, const std::string& key, const std::string& stored, bool from_message,
                  const std::string& where) {
    if (!obj.contains(key) || !obj[key].is_string()) fail(where + ": no string \"" + key + "\"");
    std::string sent = obj[key].get<std::string>();
    const json* cut = obj.contains("truncated") && obj["truncated"].contains(key) ? &obj["truncated"][key] : nullptr;
    uint64_t replaced = obj.contains("replaced") && obj["replaced"].contains(key) ? obj["replaced"][key].get<uint64_t>() : 0;
    if (sent.size() > limit) fail(where + ": \"" + key + "\" has " + std::to_string(sent.size()) + " bytes, over the limit");
    if (cut) {
      ++stats_.cut;
      if ((*cut)["bytes"].get<uint64_t>() != stored.size())
        fail(where + ": \"" + key + "\" marked with " + (*cut)["bytes"].dump() + " bytes, stored " + std::to_string(stored.size()));
      if ((*cut)["sha256"].get<std::string>() != sha256(stored)) fail(where + ": \"" + key + "\" has the wrong sha256");
    }
    // No stored byte makes less than one byte of UTF-8, nor more than three.
    if (!cut && stored.size() > limit) fail(where + ": \"" + key + "\" of " + std::to_string(stored.size()) + " bytes is not cut");
    if (cut && stored.size() * 3 <= limit) fail(where + ": \"" + key + "\" of " + std::to_string(stored.size()) + " bytes is cut");
    if (replaced) ++stats_.replaced;
    auto want = predict(from_message ? "UTF8" : enc_, stored);
    if (!want) return;
    if (sent != want->text || replaced != want->replaced || (cut != nullptr) != want->cut)
      fail(where + ": \"" + key + "\" is " + std::to_string(sent.size()) + " bytes, replaced " + std::to_string(replaced) +
           (cut ? ", cut" : "") + "; expected " + std::to_string(want->text.size()) + " bytes, replaced " +
           std::to_string(want->replaced) + (want->cut ? ", cut" : "") + " (stored " + std::to_string(stored.size()) +
           " bytes)");
  }

  void check(int round) {
    std::string framing = chance(50) ? "transaction" : "message";
    auto r = conn_.run(
        "SELECT data FROM pg_logical_slot_get_binary_changes($1, NULL, NULL, 'include-timestamps', '0', 'framing', $2)",
        {slot_, framing}, {}, true);
    std::string where0 = enc_ + " round " + std::to_string(round);
    if (!r) fail(where0 + ": the slot did not decode: " + conn_.last_error());
    if (conn_.value("SELECT pg_postmaster_start_time()") != start_time_) fail(where0 + ": the server restarted");
    std::vector<json> messages;
    for (int i = 0; i < PQntuples(r->get()); ++i) {
      std::string data(PQgetvalue(r->get(), i, 0), PQgetlength(r->get(), i, 0));
      std::size_t start = 0;
      while (start <= data.size()) {
        std::size_t end = data.find('\n', start);
        if (end == std::string::npos) end = data.size();
        try {
          messages.push_back(json::parse(data.substr(start, end - start)));
        } catch (const std::exception& e) {
          fail(where0 + ": a message is not valid JSON (UTF-8): " + e.what());
        }
        start = end + 1;
      }
    }
    std::size_t m = 0;
    for (std::size_t t = 0; t < expected_.size(); ++t) {
      const auto& txn = expected_[t];
      std::string where = where0 + ", transaction " + std::to_string(t);
      if (m >= messages.size() || messages[m]["type"] != "begin")
        fail(where + ": expected begin, got " + (m < messages.size() ? messages[m]["type"].dump() : "the end"));
      ++m;
      for (std::size_t k = 0; k < txn.size(); ++k, ++m) {
        const Event& e = txn[k];
        std::string at = where + ", event " + std::to_string(k) + " (" + e.type + ")";
        if (m >= messages.size()) fail(at + ": missing");
        const json& got = messages[m];
        if (got["type"] != e.type) fail(at + ": got " + got["type"].dump());
        if (got["seq"] != k) fail(at + ": seq " + got["seq"].dump());
        if (!e.id_key.empty() && got[e.id_key] != e.id) fail(at + ": " + e.id_key + " " + got[e.id_key].dump());
        if (e.type == "OrderPlaced" && got["items"].size() != e.items) fail(at + ": " + got["items"].dump());
        if (!e.reason.empty() && got["reason"] != e.reason) fail(at + ": reason " + got["reason"].dump());
        for (const auto& [key, stored] : e.texts) check_text(got, key, stored, key == "raw", at);
        ++stats_.events;
      }
      if (m >= messages.size() || messages[m]["type"] != "commit" || messages[m]["events"] != txn.size())
        fail(where + ": expected commit with " + std::to_string(txn.size()) + " events, got " +
             (m < messages.size() ? messages[m].dump().substr(0, 200) : "the end"));
      ++m;
    }
    if (m != messages.size()) fail(where0 + ": " + std::to_string(messages.size() - m) + " messages more than expected");
    expected_.clear();
  }

  std::string enc_;
  std::string slot_;  // slots are the cluster's: one per database
  std::mt19937_64 rng_;
  Conn conn_;
  Stats& stats_;
  std::string start_time_;
  uint64_t serial_ = 0;
  std::map<int64_t, User> users_;
  std::map<int64_t, Text> products_;
  std::map<int64_t, std::string> orders_;
  std::vector<std::vector<Event>> expected_;
};


}  // namespace

int main(int argc, char** argv) {
  Options o;
  const char* usage =
      "usage: pgcqrs-plugin-fuzz [--seed N] [--rounds N] [--ops N] [--encodings UTF8,LATIN1,...]\n"
      "Connects with the PG* environment variables, creates one database per encoding\n"
      "(pgcqrs_fuzz_<encoding>), and after every round of --ops random inputs decodes the slot\n"
      "and checks it. The same seed gives the same inputs.\n";
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::cerr << usage;
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--seed") o.seed = std::stoull(next());
    else if (a == "--rounds") o.rounds = std::stoi(next());
    else if (a == "--ops") o.ops = std::stoi(next());
    else if (a == "--encodings") {
      o.encodings.clear();
      std::stringstream ss(next());
      for (std::string e; std::getline(ss, e, ',');) o.encodings.push_back(e);
    } else {
      std::cerr << usage;
      return a == "--help" ? 0 : 2;
    }
  }
  Stats stats;
  auto started = std::chrono::steady_clock::now();
  try {
    Conn admin("dbname=postgres");
    admin.must("SET client_min_messages = warning");
    std::vector<std::unique_ptr<Fuzzer>> fuzzers;
    for (const auto& enc : o.encodings) {
      std::string db = "pgcqrs_fuzz_" + lower(enc);
      admin.must("DROP DATABASE IF EXISTS " + db);
      admin.must("CREATE DATABASE " + db + " ENCODING '" + enc + "' LOCALE 'C' TEMPLATE template0");
      fuzzers.push_back(std::make_unique<Fuzzer>(o, enc, "dbname=" + db, stats));
    }
    for (int r = 0; r < o.rounds; ++r)
      for (auto& f : fuzzers) f->round(r, o.ops);
  } catch (const std::exception& e) {
    std::cerr << "FAIL (seed " << o.seed << "): " << e.what() << "\n";
    return 1;
  }
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::printf("plugin fuzz: seed %llu, %d rounds x %zu encodings, %llu inputs (%llu transactions committed, "
              "%llu failed, %llu rolled back; %llu messages, %llu DDL of which %llu refused), %llu events checked (%llu cut values, "
              "%llu with replacements), largest value %llu bytes, slot errors: 0, restarts: 0, %.0f s\n",
              static_cast<unsigned long long>(o.seed), o.rounds, o.encodings.size(),
              static_cast<unsigned long long>(stats.inputs), static_cast<unsigned long long>(stats.committed),
              static_cast<unsigned long long>(stats.failed), static_cast<unsigned long long>(stats.rolled_back),
              static_cast<unsigned long long>(stats.messages), static_cast<unsigned long long>(stats.ddl),
              static_cast<unsigned long long>(stats.ddl_refused), static_cast<unsigned long long>(stats.events), static_cast<unsigned long long>(stats.cut),
              static_cast<unsigned long long>(stats.replaced), static_cast<unsigned long long>(stats.largest), seconds);
  return 0;
}
