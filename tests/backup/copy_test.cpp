// `lunadb copy --to URL` from a real SQLite store into fresh PostgreSQL and MariaDB databases:
// every row with its id, identities advanced, verified; refusals; a killed copy starts over.

#include <gtest/gtest.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>

#include "lunadb/migrate.hpp"
#include "support/cli.hpp"
#include "support/revisions.hpp"
#include "support/servers.hpp"
#include "support/temp_dir.hpp"

namespace lunadb::backup {
namespace {

using test::TempDir;

std::string env_for(const TempDir& dir) { return "LUNA_DATA_DIR='" + (dir / "data").string() + "'"; }

void sql(const TempDir& dir, const std::string& text) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open((dir / "data/luna.db").c_str(), &db), SQLITE_OK);
  char* error = nullptr;
  const int rc = sqlite3_exec(db, text.c_str(), nullptr, nullptr, &error);
  EXPECT_EQ(rc, SQLITE_OK) << (error ? error : "");
  sqlite3_free(error);
  sqlite3_close(db);
}

// Data that is not easy: a fact superseded by a later fact, non-ASCII text, microsecond
// timestamps, NULLs, floats, booleans, JSON, and `messages` extra rows.
void make_source(const TempDir& dir, int extra_messages) {
  ASSERT_EQ(test::run_lunadb(dir, "upgrade head", env_for(dir)).code, 0);
  sql(dir,
      "INSERT INTO conversations (id, title, message_count, started_at, metadata) VALUES "
      "(1, 'héllo ✓ 你好', 2, '2026-01-02 03:04:05.123456', '{\"b\": 1, \"a\": [1.5, \"x\"]}'), (7, NULL, 0, NULL, NULL);"
      "INSERT INTO messages (conversation_id, role, content, sentiment_score, created_at) VALUES "
      "(1, 'user', 'I ❤ 🍕', 0.1, '2026-01-02 03:04:06.000001'), (1, 'assistant', 'مرحبا بك', NULL, NULL);"
      "INSERT INTO facts (id, category, content, superseded_by, is_active, is_private, confidence, created_at) VALUES "
      "(1, 'preference', 'likes tea', 4, 0, 1, 0.3333333333333333, '2026-01-01 00:00:00'),"
      "(4, 'preference', 'likes coffee ☕', NULL, 1, 0, 1.0, '2026-02-01 00:00:00');");
  if (extra_messages > 0) {
    sql(dir, "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < " + std::to_string(extra_messages) +
                 ") INSERT INTO messages (conversation_id, role, content) SELECT 7, 'user', 'bulk ' || i || ' ' || hex(randomblob(24)) FROM n;");
  }
}

std::int64_t scalar(sql::Connection& c, const std::string& text) {
  auto st = c.prepare(text);
  return st->step() ? st->get_int64(0) : -1;
}

void copy_into(const std::string& server) {
  LUNADB_REQUIRE_SERVER(server);
  TempDir dir;
  make_source(dir, 3000);
  test::FreshDatabase target(server);
  // A password in the URL must never be printed. PostgreSQL's trust authentication ignores it;
  // MariaDB's root here authenticates without one and would refuse it.
  std::string url = target.url_string();
  const auto at = url.find('@');
  if (target.url().backend == Backend::postgresql && at != std::string::npos) {
    url = url.substr(0, url.find("://") + 3) + target.url().user + ":s3cret-pw" + url.substr(at);
  }
  test::CliResult copied = test::run_lunadb(dir, "copy --to '" + url + "'", env_for(dir));
  ASSERT_EQ(copied.code, 0) << copied.output;
  EXPECT_NE(copied.output.find("counts and checksums match"), std::string::npos) << copied.output;
  EXPECT_EQ(copied.output.find("s3cret-pw"), std::string::npos) << copied.output;

  auto c = target.connect();
  EXPECT_EQ(scalar(*c, "SELECT COUNT(*) FROM messages"), 3002);
  EXPECT_EQ(scalar(*c, "SELECT superseded_by FROM facts WHERE id = 1"), 4);
  auto title = c->prepare("SELECT title FROM conversations WHERE id = 1");
  ASSERT_TRUE(title->step());
  EXPECT_EQ(title->get_text(0), "héllo ✓ 你好");
  auto content = c->prepare("SELECT content FROM messages WHERE role = 'user' AND conversation_id = 1");
  ASSERT_TRUE(content->step());
  EXPECT_EQ(content->get_text(0), "I ❤ 🍕");
  auto started = c->prepare("SELECT started_at FROM conversations WHERE id = 1");
  ASSERT_TRUE(started->step());
  EXPECT_EQ(sql::format_timestamp(started->get_timestamp(0)), "2026-01-02 03:04:05.123456");
  // Identities continue after the highest copied id.
  c->execute("INSERT INTO conversations (title, message_count) VALUES ('after the copy', 0)");
  EXPECT_EQ(scalar(*c, "SELECT MAX(id) FROM conversations"), 8);

  if (target.url().backend == Backend::postgresql) {
    // The load dropped secondary indexes and foreign keys and made them again: the target's are
    // exactly those of a database the migrations made.
    test::FreshDatabase migrated(server);
    TempDir other;
    ASSERT_EQ(test::run_lunadb(other, "upgrade head", "DB_URL='" + migrated.url_string() + "'").code, 0);
    auto definitions = [](sql::Connection& db) {
      std::vector<std::string> out;
      auto st = db.prepare(
          "SELECT indexdef FROM pg_indexes WHERE schemaname = current_schema() UNION ALL "
          "SELECT conrelid::regclass::text || ' ' || conname || ' ' || pg_get_constraintdef(oid) FROM pg_constraint "
          "WHERE connamespace = current_schema()::regnamespace ORDER BY 1");
      while (st->step()) out.push_back(st->get_text(0));
      return out;
    };
    auto reference = migrated.connect();
    const auto expected = definitions(*reference);
    EXPECT_GT(expected.size(), 40u);
    EXPECT_EQ(definitions(*c), expected);
  }

  // A second copy into the now non-empty target is refused with its counts, and changes nothing.
  test::CliResult again = test::run_lunadb(dir, "copy --to '" + target.url_string() + "'", env_for(dir));
  EXPECT_EQ(again.code, 2) << again.output;
  EXPECT_NE(again.output.find("not empty (conversations 3"), std::string::npos) << again.output;
  EXPECT_EQ(scalar(*c, "SELECT COUNT(*) FROM messages"), 3002);
}

TEST(Copy, SqliteIntoPostgresql) { copy_into(test::pg_url()); }
TEST(Copy, SqliteIntoMariadb) { copy_into(test::mysql_url()); }

TEST(Copy, TargetAtAnotherRevisionIsRefusedNamingBoth) {
  LUNADB_REQUIRE_SERVER(test::pg_url());
  TempDir dir;
  make_source(dir, 0);
  test::FreshDatabase target(test::pg_url());
  test::CliResult older = test::run_lunadb(dir, "upgrade 001", "DB_URL='" + target.url_string() + "'");
  ASSERT_EQ(older.code, 0) << older.output;
  test::CliResult refused = test::run_lunadb(dir, "copy --to '" + target.url_string() + "'", env_for(dir));
  EXPECT_EQ(refused.code, 1) << refused.output;
  EXPECT_NE(refused.output.find("is at revision 001"), std::string::npos) << refused.output;
  EXPECT_NE(refused.output.find(test::head_revision()), std::string::npos) << refused.output;
  auto c = target.connect();
  EXPECT_EQ(scalar(*c, "SELECT COUNT(*) FROM conversations"), 0);
}

// The copy writes in one transaction: killed at any point it leaves no rows, and a rerun starts
// over and completes.
TEST(Copy, AKilledCopyLeavesNothingAndARerunCompletes) {
  LUNADB_REQUIRE_SERVER(test::pg_url());
  TempDir dir;
  make_source(dir, 60000);
  test::FreshDatabase target(test::pg_url());
  const std::string url = target.url_string();
  const auto started = std::chrono::steady_clock::now();
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    const std::string data = (dir / "data").string();
    setenv("LUNA_DATA_DIR", data.c_str(), 1);
    if (chdir(dir.path().c_str()) != 0) _exit(126);
    execl(LUNADB_CLI_PATH, LUNADB_CLI_PATH, "copy", "--to", url.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  // Wait until the copy is writing rows (the migrations have created the tables), then kill it.
  auto c = target.connect();
  bool writing = false;
  while (!writing && std::chrono::steady_clock::now() - started < std::chrono::seconds(60)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    writing = scalar(*c, "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'COPY%'") > 0;
  }
  kill(pid, SIGKILL);
  int status = 0;
  waitpid(pid, &status, 0);
  ASSERT_TRUE(writing) << "the copy never reached the rows";
  ASSERT_TRUE(WIFSIGNALED(status)) << "the copy finished before the kill";
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // the server notices the dead client
  EXPECT_EQ(scalar(*c, "SELECT COUNT(*) FROM messages"), 0);
  test::CliResult rerun = test::run_lunadb(dir, "copy --to '" + url + "'", env_for(dir));
  ASSERT_EQ(rerun.code, 0) << rerun.output;
  EXPECT_EQ(scalar(*c, "SELECT COUNT(*) FROM messages"), 60002);
}

}  // namespace
}  // namespace lunadb::backup
