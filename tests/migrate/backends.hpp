#pragma once
// The databases the migration tests run against: one suite, three backends. Each test gets a
// fresh, empty database (a file in its scratch folder on SQLite, a uniquely named database on the
// local PostgreSQL / MariaDB server) that is dropped again when the test ends.
//
// Server URLs come from LUNADB_TEST_PG_URL / LUNADB_TEST_MYSQL_URL (support/servers.hpp) and are
// written the way users write DB_URL: postgresql+psycopg2://... and mysql+pymysql://...?charset=utf8mb4.
// A server that cannot be reached skips its tests, or fails them when CI is set.

#include <filesystem>
#include <functional>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "lunadb/config.hpp"
#include "support/servers.hpp"

namespace lunadb::test {

// A database made for one test; destroying `owner` drops it.
struct MigrateDatabase {
  std::string url;  // the DB_URL
  std::shared_ptr<void> owner;
};

struct MigrateBackend {
  std::string name;  // used in test names: "sqlite", "postgresql", "mysql"
  Backend backend = Backend::sqlite;
  // The server URL without a database (empty for SQLite); probed before each test.
  std::function<std::string()> server_url;
  // A new, empty database; `scratch` is a per-test temporary folder.
  std::function<MigrateDatabase(const std::filesystem::path& scratch)> fresh;
};

// gtest prints the backend's name instead of the object's bytes.
inline void PrintTo(const MigrateBackend& backend, std::ostream* out) { *out << backend.name; }

// `url` with its scheme replaced by "<dialect>+<driver>" unless it already names a driver.
inline std::string with_driver(const std::string& url, const std::string& dialect_and_driver) {
  const auto scheme_end = url.find("://");
  if (scheme_end == std::string::npos || url.substr(0, scheme_end).find('+') != std::string::npos) return url;
  return dialect_and_driver + url.substr(scheme_end);
}

inline std::string sqlalchemy_pg_url() { return with_driver(pg_url(), "postgresql+psycopg2"); }

inline std::string sqlalchemy_mysql_url() {
  std::string url = with_driver(mysql_url(), "mysql+pymysql");
  if (url.find('?') == std::string::npos) url += "?charset=utf8mb4";
  return url;
}

inline MigrateDatabase fresh_server_database(const std::string& server_url) {
  auto database = std::make_shared<FreshDatabase>(server_url);
  return {database->url_string(), database};
}

inline std::vector<MigrateBackend> migrate_backends() {
  std::vector<MigrateBackend> backends;
  backends.push_back({"sqlite", Backend::sqlite, {}, [](const std::filesystem::path& scratch) {
                        return MigrateDatabase{"sqlite:///" + (scratch / "test.db").string(), nullptr};
                      }});
  backends.push_back({"postgresql", Backend::postgresql, sqlalchemy_pg_url,
                      [](const std::filesystem::path&) { return fresh_server_database(sqlalchemy_pg_url()); }});
  backends.push_back({"mysql", Backend::mysql, sqlalchemy_mysql_url,
                      [](const std::filesystem::path&) { return fresh_server_database(sqlalchemy_mysql_url()); }});
  return backends;
}

}  // namespace lunadb::test
