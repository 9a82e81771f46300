// Offline (--sql) scripts for SQL Server: what a user without a live server reviews and runs by
// hand must be valid T-SQL. Parsed with sqlglot's tsql dialect (scripts/check-tsql.sh).

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <string>

#include "support/temp_dir.hpp"

namespace {

using lunadb::test::run_command;
using lunadb::test::TempDir;

constexpr const char* kMssqlUrl =
    "'mssql+pyodbc://luna:Secr3tPw@sqlserver.invalid/luna?driver=ODBC+Driver+18+for+SQL+Server'";

std::string offline_script(const TempDir& dir, const std::string& args, const std::string& file) {
  std::string output;
  std::string command = "cd '" + dir.path().string() + "' && env -i PATH=\"$PATH\" HOME=\"$HOME\" DB_URL=" + kMssqlUrl +
                        " " + LUNADB_CLI_PATH + " " + args + " > " + file;
  int code = run_command(command, &output);
  EXPECT_EQ(code, 0) << args << ": " << output;
  std::ifstream in(dir / file);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

TEST(MssqlOffline, UpgradeAndDowngradeScriptsAreValidTsql) {
  TempDir dir;
  std::string up = offline_script(dir, "upgrade head --sql", "up.sql");
  std::string down = offline_script(dir, "downgrade head:base --sql", "down.sql");
  for (const std::string* script : {&up, &down}) {
    EXPECT_NE(script->find("BEGIN TRANSACTION;\nGO"), std::string::npos);
    EXPECT_NE(script->find("COMMIT;\nGO"), std::string::npos);
    EXPECT_EQ(script->find("Secr3tPw"), std::string::npos);
  }
  EXPECT_NE(up.find("CREATE TABLE [contradiction_notes]"), std::string::npos);
  EXPECT_NE(up.find("NVARCHAR(MAX)"), std::string::npos);
  EXPECT_NE(down.find("DROP TABLE [conversations]"), std::string::npos);

  std::string output;
  int code = run_command(std::string("bash ") + LUNADB_SOURCE_DIR + "/scripts/check-tsql.sh --strict '" +
                             (dir / "up.sql").string() + "' '" + (dir / "down.sql").string() + "'",
                         &output);
  if (code == 3 && std::getenv("CI") == nullptr) GTEST_SKIP() << "sqlglot unavailable: " << output;
  EXPECT_EQ(code, 0) << output;
}

}  // namespace
