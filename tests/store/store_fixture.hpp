#pragma once
// One fresh, empty database per test with schema v1 created straight from luna_schema() (not by
// the migration engine) and the personality_state row inserted.
//
// The suites are parameterised over backends: SQLite (a file in the test's scratch folder), the
// local PostgreSQL and MariaDB servers (a uniquely named database, dropped after the test) and
// PostgreSQL through pgbouncer in transaction mode (what Supabase's pooler is). Server URLs come
// from support/servers.hpp; an unreachable server skips its tests, or fails them when CI is set.

#include <gtest/gtest.h>

#include <functional>
#include <ostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "lunadb/config.hpp"
#include "lunadb/error.hpp"
#include "lunadb/store.hpp"
#include "sql/pool.hpp"
#include "support/temp_dir.hpp"

namespace lunadb::store_test {

// A database made for one test; destroying `owner` drops it.
struct StoreDatabase {
  DbUrl url;
  std::shared_ptr<void> owner;
};

struct StoreBackend {
  std::string name;
  // The server URL to probe before each test (empty for SQLite).
  std::function<std::string()> server_url;
  // A fresh empty database for one test; may use `scratch` for files.
  std::function<StoreDatabase(const test::TempDir& scratch)> fresh_database;
};

std::vector<StoreBackend> store_backends();

// gtest prints the backend by name in test names and failure messages.
inline void PrintTo(const StoreBackend& backend, std::ostream* out) { *out << backend.name; }

// Settings pointing at `url`, as the CLI would build them.
Settings settings_for(const DbUrl& url);

// Creates the schema through a connection of `source`.
void create_schema(sql::ConnectionSource& source);

class StoreTest : public ::testing::TestWithParam<StoreBackend> {
 protected:
  void SetUp() override;
  void TearDown() override;

  store::Store& db() { return *store_; }
  // A raw connection, for checks the store API does not offer.
  sql::Lease raw() { return source_->acquire(); }
  // `where` is SQL; write identifiers in it with q().
  std::int64_t count_rows(const std::string& table, const std::string& where = "");
  std::string q(std::string_view identifier) const;

  test::TempDir scratch_{"lunadb-store"};
  StoreDatabase database_;
  DbUrl url_;
  Settings settings_;
  std::unique_ptr<sql::ConnectionSource> source_;
  std::optional<store::Store> store_;
};

std::string backend_name(const ::testing::TestParamInfo<StoreBackend>& info);

// Runs `body` and returns the lunadb::Error it throws; fails the test if it throws nothing.
template <typename Body>
Error expect_error(Body&& body) {
  try {
    body();
  } catch (const Error& error) {
    return error;
  }
  ADD_FAILURE() << "expected a lunadb::Error";
  return Error(ErrorKind::internal, "no error thrown");
}

// The same for errors reported by the database itself (constraint violations).
template <typename Body>
DatabaseError expect_database_error(Body&& body) {
  try {
    body();
  } catch (const DatabaseError& error) {
    return error;
  } catch (const Error& error) {
    ADD_FAILURE() << "expected a lunadb::DatabaseError, got: " << error.what();
    return DatabaseError(error.kind(), error.what(), {});
  }
  ADD_FAILURE() << "expected a lunadb::DatabaseError";
  return DatabaseError(ErrorKind::internal, "no error thrown", {});
}

}  // namespace lunadb::store_test
