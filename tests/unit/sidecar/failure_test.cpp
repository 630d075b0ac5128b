#include "pgcqrs/sidecar/failure.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <future>
#include <memory>
#include <thread>
#include <stdexcept>
#include <string>
#include <tuple>
#include <utility>

#include "pgcqrs/sidecar/failure_run.hpp"
#include "pgcqrs/sidecar/pg_connect.hpp"
#include "pgcqrs/sidecar/redis/sync_client.hpp"

using namespace pgcqrs::sidecar;

TEST(Failure, MessagesAreOneLine) {
  // libpq ends its messages with a newline and indents its hints on the next line.
  Failure f(Server::postgresql, ErrorKind::transient,
            "connection to server at \"db\" (10.0.0.5), port 5432 failed: Connection refused\n"
            "\tIs the server running on that host and accepting TCP/IP connections?\n");
  EXPECT_STREQ(f.what(),
               "connection to server at \"db\" (10.0.0.5), port 5432 failed: Connection refused Is the server "
               "running on that host and accepting TCP/IP connections?");
  EXPECT_EQ(one_line("ERROR:  x\nDETAIL:  y  \n\n"), "ERROR:  x DETAIL:  y");
  EXPECT_EQ(one_line("\n"), "");
  EXPECT_EQ(with_fix("WRONGPASS invalid username-password pair or user is disabled.", "check it"),
            "WRONGPASS invalid username-password pair or user is disabled: check it");
  EXPECT_EQ(with_fix("as it is.", ""), "as it is.");
}

TEST(Failure, SqlstatesThatRetryingCannotCure) {
  for (const char* s : {"28P01", "28000", "3D000", "42501", "55000", "53400", "58P01", "0A000"})
    EXPECT_EQ(sqlstate_kind(s), ErrorKind::permanent) << s;
  // Starting up, shutting down, too many connections, a lost connection, a slot in use or
  // created by another consumer meanwhile, a slot dropped meanwhile, no SQLSTATE at all.
  for (const char* s : {"57P03", "57P01", "53300", "08006", "08001", "55006", "42710", "42704", "40001", "XX000", ""})
    EXPECT_EQ(sqlstate_kind(s), ErrorKind::transient) << s;
  EXPECT_NE(sqlstate_fix("28P01").find("password"), std::string::npos);
  EXPECT_NE(sqlstate_fix("3D000").find("dbname"), std::string::npos);
  EXPECT_EQ(sqlstate_fix("57P03"), "");
}

TEST(Failure, RedisCodesThatRetryingCannotCure) {
  for (const char* c : {"WRONGPASS", "NOAUTH", "NOPERM"}) {
    EXPECT_EQ(redis_error_kind(c, false), ErrorKind::permanent) << c;
    EXPECT_EQ(redis_error_kind(c, true), ErrorKind::permanent) << c;
    EXPECT_NE(redis_fix(c), "") << c;
  }
  // AUTH or SELECT refused otherwise (an old Redis's "ERR invalid password", a database
  // index out of range) cannot be cured either; a Redis loading its data or busy can.
  EXPECT_EQ(redis_error_kind("ERR", true), ErrorKind::permanent);
  EXPECT_EQ(redis_error_kind("ERR", false), ErrorKind::transient);
  for (const char* c : {"LOADING", "BUSY", "MASTERDOWN", "TRYAGAIN", ""})
    EXPECT_EQ(redis_error_kind(c, true), ErrorKind::transient) << c;
  auto f = failure_of(redis::RedisError("Redis authentication failed at redis://r:6379: WRONGPASS invalid "
                                        "username-password pair or user is disabled.",
                                        "WRONGPASS", true));
  EXPECT_EQ(f.server, Server::redis);
  EXPECT_TRUE(f.permanent());
  EXPECT_STREQ(f.what(),
               "Redis authentication failed at redis://r:6379: WRONGPASS invalid username-password pair or user is "
               "disabled: check --redis-user and the password (--redis-password-file, PGCQRS_REDIS_PASSWORD or the "
               "--redis URL)");
  EXPECT_FALSE(failure_of(redis::RedisError("cannot connect to Redis at redis://r:6379: Connection refused")).permanent());
}

TEST(PgConnect, TheSqlstateOfAVerboseConnectionError) {
  auto e = parse_connect_error(
      "connection to server at \"127.0.0.1\", port 5432 failed: FATAL:  28P01: password authentication failed for "
      "user \"bob\"\nLOCATION:  auth_failed, auth.c:335\n");
  EXPECT_EQ(e.sqlstate, "28P01");
  EXPECT_EQ(e.message,
            "connection to server at \"127.0.0.1\", port 5432 failed: FATAL:  password authentication failed for user "
            "\"bob\"");
  // Several hosts tried: the last server's answer decides.
  e = parse_connect_error(
      "connection to server at \"a\" (10.0.0.1), port 5432 failed: FATAL:  57P03: the database system is starting "
      "up\nLOCATION:  x.c:1\nconnection to server at \"b\" (10.0.0.2), port 5432 failed: FATAL:  3D000: database "
      "\"shop\" does not exist\nLOCATION:  y.c:2\n");
  EXPECT_EQ(e.sqlstate, "3D000");
  // No server answered: no SQLSTATE.
  e = parse_connect_error(
      "connection to server at \"127.0.0.1\", port 1 failed: Connection refused\n\tIs the server running on that host "
      "and accepting TCP/IP connections?\n");
  EXPECT_EQ(e.sqlstate, "");
  EXPECT_FALSE(connect_failure(e, false).permanent());
  EXPECT_EQ(std::string(connect_failure(e, false).what()).rfind("cannot reach PostgreSQL: connection to server", 0), 0u);
}

TEST(PgConnect, FailuresNameTheCauseAndTheFix) {
  auto f = connect_failure({"FATAL:  role \"nobody\" does not exist", "28000"}, false);
  EXPECT_TRUE(f.permanent());
  EXPECT_EQ(f.server, Server::postgresql);
  EXPECT_STREQ(f.what(),
               "PostgreSQL refused the connection: FATAL:  role \"nobody\" does not exist (SQLSTATE 28000): check the "
               "user of --pg: the role must exist and a pg_hba.conf line must admit it to the database "
               "(docs/security.md)");
  f = connect_failure({"FATAL:  the database system is starting up", "57P03"}, false);
  EXPECT_FALSE(f.permanent());
  f = connect_failure({"invalid connection option \"foo\"", ""}, true);
  EXPECT_TRUE(f.permanent());
  EXPECT_STREQ(f.what(),
               "invalid PostgreSQL connection string: invalid connection option \"foo\": fix --pg (PGCQRS_PG) or the "
               "PG* environment variables");
}

// libpq's messages (PostgreSQL 15) when TLS cannot work as configured: no server answered,
// so there is no SQLSTATE, yet trying again cannot help.
TEST(PgConnect, ATlsSetupErrorIsPermanentAndNamesTheFix) {
  for (const char* message :
       {"connection to server at \"localhost\" (127.0.0.1), port 5432 failed: SSL error: certificate verify failed",
        "connection to server at \"x\" (127.0.0.1), port 5432 failed: server certificate for \"localhost\" does not "
        "match host name \"x\"",
        "connection to server at \"localhost\" (127.0.0.1), port 5432 failed: root certificate file \"/a/ca.crt\" "
        "does not exist Either provide the file or change sslmode to disable server certificate verification.",
        "connection to server at \"localhost\" (127.0.0.1), port 5432 failed: server does not support SSL, but SSL "
        "was required",
        "connection to server at \"localhost\" (127.0.0.1), port 5432 failed: could not load private key file "
        "\"/a/client.key\": No such file or directory",
        "connection to server at \"localhost\" (127.0.0.1), port 5432 failed: SSL error: tlsv1 alert unknown ca"}) {
    auto f = connect_failure({message, ""}, false);
    EXPECT_TRUE(f.permanent()) << message;
    EXPECT_EQ(std::string(f.what()).rfind("PostgreSQL TLS: connection to server", 0), 0u) << f.what();
    EXPECT_NE(std::string(f.what()).find(": check sslmode, sslrootcert (the CA that signed the server's "
                                         "certificate), sslcert and sslkey in --pg"),
              std::string::npos)
        << f.what();
  }
  // A connection lost during the handshake is retried like any lost connection.
  auto lost = connect_failure({"connection to server at \"localhost\" (127.0.0.1), port 5432 failed: SSL SYSCALL "
                               "error: EOF detected", ""},
                              false);
  EXPECT_FALSE(lost.permanent());
}

TEST(PgConnect, AnInvalidConnectionStringIsRefusedBeforeAnyServer) {
  for (const char* conninfo : {"host=127.0.0.1 foo=bar", "postgresql://u@h/db?nosuch=1", "sslmode=bogus", "host='x"}) {
    try {
      pg_connect(conninfo);
      ADD_FAILURE() << conninfo << " connected";
    } catch (const Failure& f) {
      EXPECT_TRUE(f.permanent()) << conninfo << ": " << f.what();
      EXPECT_EQ(std::string(f.what()).rfind("invalid PostgreSQL connection string: ", 0), 0u) << f.what();
    }
  }
}

namespace {

// A TCP port that accepts connections (the kernel does, into the backlog) and never answers.
class SilentServer {
 public:
  SilentServer() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&a), len) != 0 || ::listen(fd_, 8) != 0 ||
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len) != 0)
      throw std::runtime_error("cannot listen");
    port_ = ntohs(a.sin_port);
  }
  ~SilentServer() { ::close(fd_); }
  int port() const { return port_; }

 private:
  int fd_ = -1, port_ = 0;
};

// How long pg_connect took to give up on a server that never answers, and its message; an
// attempt still waiting after 20 s is left behind as a failure.
std::pair<double, std::string> give_up(const std::string& conninfo, int default_timeout_s) {
  auto result = std::make_shared<std::promise<std::pair<double, std::string>>>();
  auto answer = result->get_future();
  std::thread([=] {
    auto t0 = std::chrono::steady_clock::now();
    std::string what = "connected";
    try {
      pg_connect(conninfo, {}, {}, default_timeout_s);
    } catch (const Failure& f) {
      what = std::string(f.permanent() ? "(permanent) " : "") + f.what();
    }
    result->set_value({std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), what});
  }).detach();
  if (answer.wait_for(std::chrono::seconds(20)) != std::future_status::ready) {
    ADD_FAILURE() << conninfo << ": still waiting after 20 s";
    return {20, "still waiting"};
  }
  return answer.get();
}

}  // namespace

// The timeout bounds every attempt, a URI's too (libpq's own connect_timeout is per host and
// only where the string sets it).
TEST(PgConnect, AServerThatNeverAnswersTimesOut) {
  SilentServer server;
  std::string port = std::to_string(server.port());
  auto [seconds, what] = give_up("postgresql://postgres@127.0.0.1:" + port + "/shop", 2);
  EXPECT_GE(seconds, 1.9);
  EXPECT_LT(seconds, 6);
  EXPECT_EQ(what, "cannot reach PostgreSQL: no answer within 2 s (connect_timeout)");
  // The connection string's own connect_timeout wins, in either form...
  std::tie(seconds, what) = give_up("host=127.0.0.1 port=" + port + " user=postgres connect_timeout=3", 60);
  EXPECT_EQ(what, "cannot reach PostgreSQL: no answer within 3 s (connect_timeout)");
  EXPECT_GE(seconds, 2.9);
  std::tie(seconds, what) = give_up("postgresql://postgres@127.0.0.1:" + port + "/shop?connect_timeout=2", 60);
  EXPECT_EQ(what, "cannot reach PostgreSQL: no answer within 2 s (connect_timeout)");
  // ...and so does PGCONNECT_TIMEOUT.
  ::setenv("PGCONNECT_TIMEOUT", "2", 1);
  std::tie(seconds, what) = give_up("postgresql://postgres@127.0.0.1:" + port + "/shop", 60);
  ::unsetenv("PGCONNECT_TIMEOUT");
  EXPECT_EQ(what, "cannot reach PostgreSQL: no answer within 2 s (connect_timeout)");
}

TEST(FailureRun, SaysARunOfTheSameFailureOnceAndItsEnd) {
  FailureRun run;
  EXPECT_FALSE(run.on_streaming(0).has_value());
  EXPECT_EQ(run.on_failure("cannot reach PostgreSQL: refused", 1000), FailureRun::Say::warning);
  EXPECT_EQ(run.on_failure("cannot reach PostgreSQL: refused", 1250), FailureRun::Say::debug);
  EXPECT_EQ(run.on_failure("cannot reach PostgreSQL: refused", 1750), FailureRun::Say::debug);
  // A new cause is news.
  EXPECT_EQ(run.on_failure("PostgreSQL refused the connection for now: starting up", 2750), FailureRun::Say::warning);
  EXPECT_EQ(run.attempts(), 4);
  auto r = run.on_streaming(4000);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->attempts, 4);
  EXPECT_EQ(r->failing_ms, 3000);
  EXPECT_FALSE(run.on_streaming(5000).has_value());
  // The next run starts anew: the same failure as before is a warning again.
  EXPECT_EQ(run.on_failure("PostgreSQL refused the connection for now: starting up", 9000), FailureRun::Say::warning);
}
