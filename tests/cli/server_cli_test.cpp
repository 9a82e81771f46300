// The lunadb executable against the local PostgreSQL and MariaDB servers: `ping`, DB_ECHO, and
// the issue's done-when commands (upgrade head / downgrade base with the seed's URL spellings).

#include <gtest/gtest.h>

#include <filesystem>
#include <functional>
#include <memory>
#include <string>

#include "sql/dialect.hpp"
#include "support/cli.hpp"
#include "support/servers.hpp"
#include "support/temp_dir.hpp"

namespace lunadb {
namespace {

using test::TempDir;

using Result = test::CliResult;

struct ServerCase {
  std::string name;
  std::function<std::string()> server_url;
  std::string scheme;  // how the seed's .env spells it
  std::string query;
};

void PrintTo(const ServerCase& c, std::ostream* out) { *out << c.name; }

class ServerCli : public ::testing::TestWithParam<ServerCase> {
 protected:
  void SetUp() override {
    LUNADB_REQUIRE_SERVER(GetParam().server_url());
    database_ = std::make_unique<test::FreshDatabase>(GetParam().server_url());
  }
  // DB_URL for the fresh database, spelled as in the seed (postgresql+psycopg2://, mysql+pymysql://?charset=utf8mb4).
  std::string db_url() const {
    const auto& url = database_->url();
    std::string out = GetParam().scheme + "://" + url.user;
    if (!url.password.empty()) out += ":" + url.password;
    out += "@" + url.host + ":" + std::to_string(url.port.value_or(0)) + "/" + database_->name() + GetParam().query;
    return out;
  }
  TempDir dir_;
  std::unique_ptr<test::FreshDatabase> database_;
};

TEST_P(ServerCli, PingPrintsBackendVersionAndPoolSettings) {
  Result result = test::run_lunadb(dir_, "ping", "DB_URL='" + db_url() + "' DB_POOL_SIZE=7 DB_MAX_OVERFLOW=3");
  ASSERT_EQ(result.code, 0) << result.output;
  EXPECT_NE(result.output.find(GetParam().name == "postgresql" ? "postgresql" : "mysql"), std::string::npos)
      << result.output;
  EXPECT_NE(result.output.find("server version"), std::string::npos) << result.output;
  EXPECT_NE(result.output.find(GetParam().name == "postgresql" ? "15" : "MariaDB"), std::string::npos)
      << result.output;
  EXPECT_NE(result.output.find("size 7 (DB_POOL_SIZE), overflow 3 (DB_MAX_OVERFLOW)"), std::string::npos)
      << result.output;
}

TEST_P(ServerCli, PingOfAClosedPortExitsOneNamingHostPortAndDatabaseButNotThePassword) {
  // Port 1 on loopback: nothing listens there.
  const std::string url = GetParam().scheme + "://luna:pa55word-secret@127.0.0.1:1/lunadb_nowhere" + GetParam().query;
  Result result = test::run_lunadb(dir_, "ping", "DB_URL='" + url + "' DB_CONNECT_TIMEOUT=3");
  EXPECT_EQ(result.code, 1) << result.output;
  EXPECT_NE(result.output.find("127.0.0.1:1,"), std::string::npos) << result.output;
  EXPECT_NE(result.output.find("database 'lunadb_nowhere'"), std::string::npos) << result.output;
  EXPECT_EQ(result.output.find("pa55word"), std::string::npos) << result.output;
}

TEST_P(ServerCli, UpgradeHeadCreatesTheTwelveTablesAndDowngradeBaseRemovesThem) {
  Result up = test::run_lunadb(dir_, "upgrade head", "DB_URL='" + db_url() + "'");
  ASSERT_EQ(up.code, 0) << up.output;
  auto connection = database_->connect();
  const auto& dialect = connection->dialect();
  for (const char* table : {"conversations", "messages", "facts", "fact_relationships", "episodes",
                            "personality_state", "state_events", "tasks", "calendar_events", "proactive_log",
                            "audit_log", "contradiction_notes"}) {
    EXPECT_TRUE(dialect.table_exists(*connection, table)) << table;
  }
  Result down = test::run_lunadb(dir_, "downgrade base", "DB_URL='" + db_url() + "'");
  ASSERT_EQ(down.code, 0) << down.output;
  EXPECT_FALSE(dialect.table_exists(*connection, "messages"));
  EXPECT_FALSE(dialect.table_exists(*connection, "conversations"));
  EXPECT_FALSE(std::filesystem::exists(dir_ / "data")) << "a server URL must not create the SQLite file";
}

// DB_ECHO through the pool of a server backend: every statement on stderr with its duration.
// (That bound values appear only as types and lengths is SqliteEcho's test of the same wrapper.)
TEST_P(ServerCli, EchoLogsStatementsWithDurations) {
  Result result = test::run_lunadb(dir_, "upgrade head", "DB_URL='" + db_url() + "' DB_ECHO=true");
  ASSERT_EQ(result.code, 0) << result.output;
  EXPECT_NE(result.output.find("[lunadb sql] ["), std::string::npos) << result.output;
  EXPECT_NE(result.output.find(" ms] CREATE TABLE"), std::string::npos) << result.output;
  EXPECT_NE(result.output.find("alembic_version"), std::string::npos) << result.output;
  Result quiet = test::run_lunadb(dir_, "current", "DB_URL='" + db_url() + "'");
  ASSERT_EQ(quiet.code, 0) << quiet.output;
  EXPECT_EQ(quiet.output.find("[lunadb sql]"), std::string::npos) << quiet.output;
}

INSTANTIATE_TEST_SUITE_P(
    Servers, ServerCli,
    ::testing::Values(ServerCase{"postgresql", test::pg_url, "postgresql+psycopg2", ""},
                      ServerCase{"mysql", test::mysql_url, "mysql+pymysql", "?charset=utf8mb4"}),
    [](const ::testing::TestParamInfo<ServerCase>& param) { return param.param.name; });

}  // namespace
}  // namespace lunadb
