#pragma once
// The databases the migration tests run against. Each entry gives a fresh, empty database per
// test. Only SQLite is wired now; PostgreSQL / MariaDB plug in here by adding an entry whose
// fresh_url creates (and drop_database removes) a scratch database on the local server.

#include <filesystem>
#include <functional>
#include <ostream>
#include <string>
#include <vector>

namespace lunadb::test {

struct MigrateBackend {
  std::string name;  // used in test names: "sqlite", "postgresql", ...
  // The DB_URL of a new, empty database; `scratch` is a per-test temporary folder.
  std::function<std::string(const std::filesystem::path& scratch)> fresh_url;
  // Removes what fresh_url created outside `scratch` (server databases); may be empty.
  std::function<void(const std::string& url)> drop_database;
};

// gtest prints the backend's name instead of the object's bytes.
inline void PrintTo(const MigrateBackend& backend, std::ostream* out) { *out << backend.name; }

inline std::vector<MigrateBackend> migrate_backends() {
  std::vector<MigrateBackend> backends;
  backends.push_back({"sqlite", [](const std::filesystem::path& scratch) { return "sqlite:///" + (scratch / "test.db").string(); }, {}});
  return backends;
}

}  // namespace lunadb::test
