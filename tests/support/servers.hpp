#pragma once
// Live database servers for tests. URLs come from the environment:
//   LUNADB_TEST_PG_URL         default postgresql://postgres@127.0.0.1:5432
//   LUNADB_TEST_MYSQL_URL      default mysql://root@127.0.0.1:3306
//   LUNADB_TEST_PGBOUNCER_URL  default postgresql://postgres@127.0.0.1:6432
//   LUNADB_TEST_PGVECTOR_URL   default postgresql://postgres@127.0.0.1:5433 (PostgreSQL with pgvector)
//   LUNADB_TEST_PGVECTOR_PGBOUNCER_URL  default postgresql://postgres@127.0.0.1:6433 (pgbouncer,
//                              transaction mode, in front of the pgvector server)
// When a server cannot be reached the test is skipped with a message, or FAILS when the
// environment variable CI is set (so CI never silently skips the server suites).

#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <string>

#include "lunadb/config.hpp"
#include "sql/driver.hpp"

namespace lunadb::test {

std::string pg_url();
std::string mysql_url();
std::string pgbouncer_url();
std::string pgvector_url();
std::string pgvector_pgbouncer_url();
bool in_ci();

// Parses a test server URL. A URL without a database (the defaults above) gets the server's
// maintenance database: postgres for PostgreSQL, mysql for MySQL/MariaDB.
DbUrl parse_server_url(const std::string& url);

// Why the server at `url` cannot be used (connect failed), or nullopt when it answers.
std::optional<std::string> server_unreachable(const std::string& url);

// `url` with the database replaced (and, when given, user and password).
DbUrl with_database(const DbUrl& url, const std::string& database);

// A server URL string (as the LUNADB_TEST_* variables hold) with its database replaced, query kept.
std::string url_with_database(const std::string& server_url, const std::string& database);

// pgbouncer (admin console of `bouncer_url`) closes its server connections to `database`, so that
// the database can be dropped; failures are ignored (DROP ... WITH (FORCE) ends them anyway).
void close_pgbouncer_server_connections(const std::string& bouncer_url, const std::string& database);

// Opens a connection (no echo).
std::unique_ptr<sql::Connection> connect(const DbUrl& url, double connect_timeout_s = 10);

// A uniquely named database (utf8mb4 on MySQL), created on construction and dropped (with its
// remaining connections terminated) on destruction.
class FreshDatabase {
 public:
  explicit FreshDatabase(const std::string& server_url);
  ~FreshDatabase();
  FreshDatabase(const FreshDatabase&) = delete;
  FreshDatabase& operator=(const FreshDatabase&) = delete;

  const DbUrl& url() const { return url_; }
  const std::string& name() const { return name_; }
  // The URL as a string, e.g. for DB_URL.
  std::string url_string() const;
  std::unique_ptr<sql::Connection> connect() const { return test::connect(url_); }
  // A connection to the server's maintenance database (postgres / none), for admin queries.
  std::unique_ptr<sql::Connection> admin() const;

 private:
  std::string server_url_;
  DbUrl server_;
  DbUrl url_;
  std::string name_;
};

// A unique name for per-test objects (roles, users, application names).
std::string unique_name(const std::string& prefix);

}  // namespace lunadb::test

// Use at the start of a test body.
#define LUNADB_REQUIRE_SERVER(url)                                                  \
  do {                                                                              \
    if (auto lunadb_why_ = ::lunadb::test::server_unreachable(url)) {               \
      if (::lunadb::test::in_ci()) {                                                \
        FAIL() << "server required in CI but unreachable: " << *lunadb_why_;        \
      } else {                                                                      \
        GTEST_SKIP() << "server unreachable (set CI to make this fail): " << *lunadb_why_; \
      }                                                                             \
    }                                                                               \
  } while (0)
