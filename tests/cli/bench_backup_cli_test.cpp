// `lunadb bench backup` through the built binary, at a tiny size: every step must run and report
// what it measured (or why it could not), and the data folder must be reused. Nothing is timed
// against a limit here; the numbers belong to the benchmark.

#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "support/cli.hpp"
#include "support/servers.hpp"
#include "support/temp_dir.hpp"

namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;
using lunadb::test::run_lunadb;
using lunadb::test::TempDir;

const std::string tiny = "bench backup --messages 2000 --facts 200 --vectors 200 --dim 16";

Json last_json_line(const std::string& output) {
  std::istringstream lines(output);
  std::string line;
  Json found;
  while (std::getline(lines, line)) {
    if (!line.empty() && line.front() == '{') found = Json::parse(line);
  }
  if (found.is_null()) ADD_FAILURE() << "no JSON line in: " << output;
  return found;
}

void expect_measured(const Json& measure, const std::string& what) {
  ASSERT_TRUE(measure.contains("seconds")) << what << ": " << measure.dump();
  EXPECT_GT(measure.at("seconds").get<double>(), 0) << what;
  EXPECT_EQ(measure.at("runs").size(), 1u) << what;
}

TEST(BenchBackupCli, EveryStepRunsAndTheDataAreReused) {
  LUNADB_REQUIRE_SERVER(lunadb::test::pg_url());
  TempDir dir;
  const std::string args = tiny + " --data-dir data --pg-url '" + lunadb::test::pg_url() + "' --json";
  auto result = run_lunadb(dir, args);
  ASSERT_EQ(result.code, 0) << result.output;
  EXPECT_NE(result.output.find("generated 2000 messages"), std::string::npos) << result.output;
  const Json first = last_json_line(result.output);
  ASSERT_EQ(first.at("backup").size(), 3u) << first.dump();
  for (const auto& scope : first.at("backup")) {
    const std::string name = scope.at("scope").get<std::string>();
    expect_measured(scope.at("lunadb"), name + " lunadb");
    expect_measured(scope.at("sqlite3"), name + " sqlite3");
    expect_measured(scope.at("cp"), name + " cp");
    EXPECT_GT(scope.at("lunadb_vs_sqlite3").get<double>(), 0) << name;
  }
  ASSERT_GE(first.at("backup_breakdown").size(), 6u) << first.dump();
  expect_measured(first.at("restore").at("lunadb"), "restore");
  expect_measured(first.at("restore").at("cp"), "cp back");

  const Json& pg = first.at("postgresql");
  expect_measured(pg.at("copy"), "copy");
  // Every generated row arrives: 2000 messages, 200 facts, 40 relationships, the conversations
  // and their episodes, plus what the migrations write.
  EXPECT_GT(pg.at("copy_rows").get<std::uint64_t>(), 2240u) << pg.dump();
  expect_measured(pg.at("pg_dump"), "pg_dump");
  expect_measured(pg.at("pg_restore"), "pg_restore");
  EXPECT_GT(pg.at("pg_dump_file_bytes").get<std::uint64_t>(), 0u);
  // lunadb's own server backup either ran or says why not.
  for (const char* key : {"lunadb_backup", "lunadb_restore"}) {
    const Json& m = pg.at(key);
    if (!m.contains("seconds")) {
      EXPECT_EQ(m.at("unavailable").get<std::string>().rfind("n/a: ", 0), 0u) << m.dump();
    }
  }
  ASSERT_EQ(first.at("targets").size(), 2u) << first.dump();

  // A second run on the same folder reuses the data; the scratch copies are gone after each run.
  result = run_lunadb(dir, tiny + " --data-dir data --no-postgres");
  ASSERT_EQ(result.code, 0) << result.output;
  EXPECT_NE(result.output.find("reusing the data in"), std::string::npos) << result.output;
  EXPECT_EQ(result.output.find("generated"), std::string::npos) << result.output;
  for (const std::string expected : {"lunadb backup", "sqlite3 .backup", "cp back", "PRAGMA integrity_check", "SHA-256", "targets"}) {
    EXPECT_NE(result.output.find(expected), std::string::npos) << expected << " missing in:\n" << result.output;
  }
  for (const auto& entry : fs::directory_iterator(dir / "data")) {
    EXPECT_NE(entry.path().filename().string().rfind("scratch-", 0), 0u) << entry.path();
  }
  EXPECT_TRUE(fs::exists(dir / "data" / "dataset.json"));
}

TEST(BenchBackupCli, OtherSizesRegenerateAndBadSizesAreRefused) {
  TempDir dir;
  auto result = run_lunadb(dir, tiny + " --data-dir data --no-postgres");
  ASSERT_EQ(result.code, 0) << result.output;
  result = run_lunadb(dir, "bench backup --messages 500 --facts 50 --vectors 50 --dim 16 --data-dir data --no-postgres");
  ASSERT_EQ(result.code, 0) << result.output;
  EXPECT_NE(result.output.find("generated 500 messages"), std::string::npos) << result.output;

  result = run_lunadb(dir, "bench backup --messages -1 --no-postgres");
  EXPECT_EQ(result.code, 2) << result.output;
  result = run_lunadb(dir, "bench backup --dim 0 --no-postgres");
  EXPECT_EQ(result.code, 2) << result.output;
}

}  // namespace
