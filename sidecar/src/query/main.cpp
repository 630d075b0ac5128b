// pgcqrs-query: reads the read models (no JOINs) for people and scripts, and waits for a
// write to be applied first when given the writer's token (--after).
#include <csignal>
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include "pgcqrs/sidecar/config.hpp"
#include "pgcqrs/sidecar/failure.hpp"
#include "pgcqrs/sidecar/keys.hpp"
#include "pgcqrs/sidecar/redis/sync_client.hpp"
#include "pgcqrs/sidecar/query/reader.hpp"
#include "pgcqrs/sidecar/query/render.hpp"
#include "pgcqrs/core/lsn.hpp"

namespace {

const char* query_usage =
    "usage: pgcqrs-query COMMAND [options]   (pgcqrs-query --version; help)\n"
    "  user-orders USER_ID [--limit N]   the user's orders, newest first, with items (default 10)\n"
    "  order ORDER_ID                    one order\n"
    "  top-products [--limit N]          products by revenue (default 10)\n"
    "  model NAME KEY...                 a row of declarative read model NAME, by the values of its\n"
    "                                    key's columns (docs/read-models.md)\n"
    "  model-top NAME [--limit N]        a ranked model's rows by its rank, highest first (default 10)\n"
    "options:\n"
    "  --json                            JSON instead of a table\n"
    "  --after LSN                       first wait until the read model has applied LSN\n"
    "                                    (SELECT write_token() right after the write's commit)\n"
    "  --timeout MS                      how long --after waits (default 5000); exit 3 if not applied\n"
    "  --redis URL                       redis://host:port[/db], rediss:// for TLS, or a Unix socket path\n"
    "                                    (env PGCQRS_REDIS)\n"
    "  --redis-user USER                 ACL user (env PGCQRS_REDIS_USER)\n"
    "  --key-prefix PREFIX               the sidecar's --key-prefix (env PGCQRS_KEY_PREFIX; default none)\n"
    "  --redis-password-file FILE        password file, mode 0600 or stricter (env PGCQRS_REDIS_PASSWORD_FILE,\n"
    "                                    or PGCQRS_REDIS_PASSWORD)\n"
    "  --redis-tls-ca FILE               rediss://: PEM CAs that sign Redis's certificate (default: the system's;\n"
    "                                    env PGCQRS_REDIS_TLS_CA)\n"
    "  --redis-tls-cert FILE             rediss://: client certificate (env PGCQRS_REDIS_TLS_CERT)\n"
    "  --redis-tls-key FILE              its private key, mode 0600 or stricter (env PGCQRS_REDIS_TLS_KEY)\n"
    "  --redis-tls-server-name NAME      the name Redis's certificate must carry (default: the URL's host;\n"
    "                                    env PGCQRS_REDIS_TLS_SERVER_NAME)\n"
    "exit: 0 found, 1 not found, 2 usage or connection error, 3 --after timed out\n";

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

bool to_int(const std::string& s, long long lo, long long hi, long long& out) {
  if (s.empty() || s.size() > 18 || s.find_first_not_of("0123456789") != std::string::npos) return false;
  out = std::stoll(s);
  return out >= lo && out <= hi;
}

int fail(const std::string& message) {
  std::cerr << "pgcqrs-query: " << message << "\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  // A Redis that closes the connection must surface as an error, never as a SIGPIPE that
  // kills us silently (Asio's sends pass MSG_NOSIGNAL; this covers any other write).
  std::signal(SIGPIPE, SIG_IGN);
  using namespace pgcqrs::sidecar;
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty()) {
    std::cerr << query_usage;
    return 2;
  }
  if (args[0] == "--version" || args[0] == "-V") {
    std::cout << "pgcqrs-query " << PGCQRS_VERSION << "\n";
    return 0;
  }
  // help, help COMMAND, --help, COMMAND --help: the commands share their options.
  bool help = args[0] == "--help" || args[0] == "-h" || args[0] == "help";
  for (const auto& a : args) help = help || a == "--help" || a == "-h";
  if (help) {
    std::cout << query_usage;
    return 0;
  }
  std::string command = args[0], redis_url = env("PGCQRS_REDIS"), user = env("PGCQRS_REDIS_USER");
  std::string password = env("PGCQRS_REDIS_PASSWORD"), password_file = env("PGCQRS_REDIS_PASSWORD_FILE");
  std::string key_prefix = env("PGCQRS_KEY_PREFIX");
  redis::Tls tls{env("PGCQRS_REDIS_TLS_CA"), env("PGCQRS_REDIS_TLS_CERT"), env("PGCQRS_REDIS_TLS_KEY"),
                 env("PGCQRS_REDIS_TLS_SERVER_NAME")};
  std::string after;
  bool json = false;
  long long limit = 10, timeout_ms = 5000, id = 0;
  std::vector<std::string> positional;
  for (size_t i = 1; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto value = [&](std::string& out) {
      if (i + 1 >= args.size()) return false;
      out = args[++i];
      return true;
    };
    std::string v;
    if (a == "--json") {
      json = true;
    } else if (a == "--limit") {
      if (!value(v) || !to_int(v, 1, 10000, limit)) return fail("--limit needs a number from 1 to 10000");
    } else if (a == "--timeout") {
      if (!value(v) || !to_int(v, 0, 3600000, timeout_ms)) return fail("--timeout needs milliseconds (0 to 3600000)");
    } else if (a == "--after") {
      if (!value(after) || !pgcqrs::parse_lsn(after)) return fail("--after needs an LSN such as 0/1A2B3C4");
    } else if (a == "--redis") {
      if (!value(redis_url)) return fail("--redis needs a URL");
      if (holds_password(redis_url))
        std::cerr << "pgcqrs-query: warning: --redis holds a password, which other local users can read in the "
                     "process list: use --redis-password-file instead\n";
    } else if (a == "--redis-user") {
      if (!value(user)) return fail("--redis-user needs a name");
    } else if (a == "--key-prefix") {
      if (!value(key_prefix)) return fail("--key-prefix needs a prefix");
    } else if (a == "--redis-password-file") {
      if (!value(password_file)) return fail("--redis-password-file needs a file");
    } else if (a == "--redis-tls-ca") {
      if (!value(tls.ca_file)) return fail("--redis-tls-ca needs a file");
    } else if (a == "--redis-tls-cert") {
      if (!value(tls.cert_file)) return fail("--redis-tls-cert needs a file");
    } else if (a == "--redis-tls-key") {
      if (!value(tls.key_file)) return fail("--redis-tls-key needs a file");
    } else if (a == "--redis-tls-server-name") {
      if (!value(tls.server_name)) return fail("--redis-tls-server-name needs a name");
    } else if (a.rfind("--", 0) == 0) {
      return fail("unknown option " + a + "\n" + query_usage);
    } else {
      positional.push_back(a);
    }
  }
  bool needs_id = command == "user-orders" || command == "order";
  if (command != "user-orders" && command != "order" && command != "top-products" && command != "model" &&
      command != "model-top")
    return fail("unknown command \"" + command + "\"\n" + query_usage);
  if (command == "model" && positional.size() < 2)
    return fail(std::string("model takes a model's name and its key's values\n") + query_usage);
  if (command == "model-top" && positional.size() != 1)
    return fail(std::string("model-top takes a model's name\n") + query_usage);
  if (command != "model" && command != "model-top" && positional.size() != (needs_id ? 1u : 0u))
    return fail(command + (needs_id ? " takes one id" : " takes no argument") + "\n" + query_usage);
  if (needs_id && !to_int(positional[0], 1, 9223372036854775807LL, id))
    return fail("\"" + positional[0] + "\" is not an id");

  if (auto problem = key_prefix_problem(key_prefix); !problem.empty()) return fail(problem);
  if (redis_url.empty()) redis_url = "redis://127.0.0.1:6379";
  if (!password_file.empty()) {
    auto file = read_file(password_file);
    if (!file) return fail("cannot read the Redis password file " + password_file);
    if (auto problem = secret_file_problem(password_file, file->mode); !problem.empty()) return fail(problem);
    password = file->text.substr(0, file->text.find_first_of("\r\n"));
  }
  auto parsed = redis_endpoint({redis_url, user, password, tls}, read_file);
  if (!parsed.endpoint) return fail(parsed.error);
  const redis::Endpoint& ep = *parsed.endpoint;

  try {
    query::Reader reader(ep, Keys(key_prefix));
    if (!after.empty() && !reader.wait_for(*pgcqrs::parse_lsn(after), static_cast<int>(timeout_ms))) {
      auto cp = reader.checkpoint();
      std::cerr << "pgcqrs-query: the read model has not applied " << after << " within " << timeout_ms
                << " ms (checkpoint " << (cp ? pgcqrs::format_lsn(*cp) : "none or marked dirty: a rebuild is due")
                << ")\n";
      return 3;
    }
    if (command == "model") {
      const std::vector<std::string> key(positional.begin() + 1, positional.end());
      auto row = reader.model_row(positional[0], key);
      if (!row) {
        std::string values;
        for (const auto& v : key) values += " " + v;
        std::cerr << "pgcqrs-query: read model " << positional[0] << " has no row" << values << "\n";
        return 1;
      }
      std::cout << (json ? query::row_json(*row) : query::row_table(*row));
    } else if (command == "model-top") {
      auto rows = reader.model_top(positional[0], static_cast<int>(limit));
      std::cout << (json ? query::rows_json(rows) : query::rows_table(rows));
    } else if (command == "order") {
      auto order = reader.order(id);
      if (!order) {
        std::cerr << "pgcqrs-query: order " << id << " is not in the read model\n";
        return 1;
      }
      std::cout << (json ? query::order_json(*order) : query::order_table(*order));
    } else if (command == "user-orders") {
      auto orders = reader.user_orders(id, static_cast<int>(limit));
      std::cout << (json ? query::orders_json(orders) : query::orders_table(orders));
    } else {
      auto products = reader.top_products(static_cast<int>(limit));
      std::cout << (json ? query::products_json(products) : query::products_table(products));
    }
  } catch (const redis::RedisError& e) {
    return fail(failure_of(e).what());  // with the fix, for a TLS setup or credentials that cannot work
  } catch (const std::exception& e) {
    return fail(e.what());
  }
  return 0;
}
