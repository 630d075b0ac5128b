#include "pgcqrs/sidecar/failure.hpp"

#include <gtest/gtest.h>

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
