// The lunadb executable as a user runs it: exit codes, messages, secrets kept out of output.

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "support/cli.hpp"
#include "support/temp_dir.hpp"

namespace {

using lunadb::test::TempDir;

using lunadb::test::run_lunadb;
using Result = lunadb::test::CliResult;

TEST(Cli, HelpOnEveryCommandExitsZero) {
  TempDir dir;
  for (std::string command : {"", "config", "status", "upgrade", "downgrade", "current", "history", "heads", "stamp",
                              "revision", "check", "ping", "vectors", "bench", "memory"}) {
    Result result = run_lunadb(dir, command + " --help");
    EXPECT_EQ(result.code, 0) << command << ": " << result.output;
    EXPECT_NE(result.output.find("Usage"), std::string::npos) << command;
  }
  EXPECT_FALSE(std::filesystem::exists(dir / "data"));
}

TEST(Cli, UnknownCommandIsAUsageError) {
  TempDir dir;
  Result result = run_lunadb(dir, "frobnicate");
  EXPECT_EQ(result.code, 2) << result.output;
}

TEST(Cli, ConfigPrintsDefaultsAndRedactsSecrets) {
  TempDir dir;
  Result result = run_lunadb(dir, "config",
                         "DB_URL='postgresql+psycopg2://luna:s3cr%40t@db.example:5432/luna' OPENAI_API_KEY=sk-verysecret");
  ASSERT_EQ(result.code, 0) << result.output;
  EXPECT_EQ(result.output.find("s3cr"), std::string::npos) << result.output;
  EXPECT_EQ(result.output.find("verysecret"), std::string::npos) << result.output;
  EXPECT_NE(result.output.find("***"), std::string::npos) << result.output;
  EXPECT_NE(result.output.find("DB_POOL_SIZE"), std::string::npos) << result.output;
  EXPECT_FALSE(std::filesystem::exists(dir / "data"));
}

TEST(Cli, ConfigReadsTheEnvFileCaseInsensitively) {
  TempDir dir;
  std::ofstream(dir / ".env") << "db_pool_size=7\nDB_PATH=elsewhere/x.db\n";
  Result result = run_lunadb(dir, "config");
  ASSERT_EQ(result.code, 0) << result.output;
  EXPECT_NE(result.output.find("7"), std::string::npos) << result.output;
  EXPECT_NE(result.output.find((dir.path() / "elsewhere" / "x.db").string()), std::string::npos) << result.output;
}

TEST(Cli, BadSettingsExitTwoNamingTheVariable) {
  TempDir dir;
  Result pool = run_lunadb(dir, "status", "DB_POOL_SIZE=abc");
  EXPECT_EQ(pool.code, 2) << pool.output;
  EXPECT_NE(pool.output.find("DB_POOL_SIZE"), std::string::npos) << pool.output;

  Result url = run_lunadb(dir, "upgrade head", "DB_URL='postgresql://luna:hunter2@:notaport/db'");
  EXPECT_EQ(url.code, 2) << url.output;
  EXPECT_NE(url.output.find("DB_URL"), std::string::npos) << url.output;
  EXPECT_EQ(url.output.find("hunter2"), std::string::npos) << url.output;

  Result dialect = run_lunadb(dir, "current", "DB_URL='oracle://u@h/db'");
  EXPECT_EQ(dialect.code, 2) << dialect.output;
  EXPECT_NE(dialect.output.find("DB_URL"), std::string::npos) << dialect.output;

  Result driver = run_lunadb(dir, "current", "DB_URL='postgresql+nosuchdriver://u@h/db'");
  EXPECT_EQ(driver.code, 2) << driver.output;
  EXPECT_NE(driver.output.find("nosuchdriver"), std::string::npos) << driver.output;
  EXPECT_FALSE(std::filesystem::exists(dir / "data"));
}

TEST(Cli, StatusCreatesNothingAndReportsTheMissingFile) {
  TempDir dir;
  Result result = run_lunadb(dir, "status");
  ASSERT_EQ(result.code, 0) << result.output;
  EXPECT_NE(result.output.find("sqlite"), std::string::npos) << result.output;
  EXPECT_NE(result.output.find("does not exist"), std::string::npos) << result.output;
  EXPECT_FALSE(std::filesystem::exists(dir / "data"));
}

TEST(Cli, StatusAfterUpgradeShowsHeadAndRowsPerTable) {
  TempDir dir;
  Result upgrade = run_lunadb(dir, "upgrade head");
  ASSERT_EQ(upgrade.code, 0) << upgrade.output;
  Result result = run_lunadb(dir, "status");
  ASSERT_EQ(result.code, 0) << result.output;
  EXPECT_NE(result.output.find("(head)"), std::string::npos) << result.output;
  for (const char* table : {"conversations", "messages", "facts", "fact_relationships", "episodes", "personality_state",
                            "state_events", "tasks", "calendar_events", "proactive_log", "audit_log",
                            "contradiction_notes"}) {
    EXPECT_NE(result.output.find(table), std::string::npos) << table;
  }
  EXPECT_NE(result.output.find("personality_state      1"), std::string::npos) << result.output;
}

TEST(Cli, SetOverridesTheEnvironment) {
  TempDir dir;
  Result result = run_lunadb(dir, "--set DB_PATH=custom/luna.db status", "DB_PATH=ignored.db");
  ASSERT_EQ(result.code, 0) << result.output;
  EXPECT_NE(result.output.find((dir.path() / "custom" / "luna.db").string()), std::string::npos) << result.output;
  Result bad = run_lunadb(dir, "--set NOEQUALS status");
  EXPECT_EQ(bad.code, 2) << bad.output;
}

}  // namespace
