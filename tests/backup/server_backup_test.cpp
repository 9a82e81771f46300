// Backup sets of server databases (the real PostgreSQL and MariaDB): the logical dump in one
// snapshot while writers run, verified, refused when damaged, restored into the same server and
// into other backends with every row, id and checksum; `--native` pg_dump; a killed restore;
// unreachable servers and passwords.

#include <gtest/gtest.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "lunadb/backup.hpp"
#include "lunadb/error.hpp"
#include "sql/value.hpp"
#include "support/cli.hpp"
#include "support/servers.hpp"
#include "support/temp_dir.hpp"

namespace lunadb::backup {
namespace {

namespace fs = std::filesystem;
using test::CliResult;
using test::TempDir;

std::string data_env(const TempDir& dir) { return "LUNA_DATA_DIR='" + (dir / "data").string() + "'"; }
std::string server_env(const TempDir& dir, const std::string& url) { return data_env(dir) + " DB_URL='" + url + "'"; }

std::int64_t scalar(sql::Connection& c, const std::string& text) {
  auto st = c.prepare(text);
  return st->step() ? st->get_int64(0) : -1;
}

void sqlite_exec(const fs::path& file, const std::string& text) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(file.c_str(), &db), SQLITE_OK);
  char* error = nullptr;
  const int rc = sqlite3_exec(db, text.c_str(), nullptr, nullptr, &error);
  EXPECT_EQ(rc, SQLITE_OK) << (error ? error : "");
  sqlite3_free(error);
  sqlite3_close(db);
}

// A server database at head holding data that is not easy (a fact superseded by a later fact,
// non-ASCII text, microsecond timestamps, NULLs, floats, JSON, booleans) and `extra` messages;
// filled through SQLite and `lunadb copy`, which its own tests check row for row.
void fill_server(const test::FreshDatabase& db, int extra) {
  TempDir source;
  ASSERT_EQ(test::run_lunadb(source, "upgrade head", data_env(source)).code, 0);
  sqlite_exec(source / "data/luna.db",
              "INSERT INTO conversations (id, title, message_count, started_at, metadata) VALUES "
              "(1, 'héllo ✓ 你好', 2, '2026-01-02 03:04:05.123456', '{\"b\": 1, \"a\": [1.5, \"x\"]}'), (7, NULL, 0, NULL, NULL);"
              "INSERT INTO messages (conversation_id, role, content, sentiment_score, created_at) VALUES "
              "(1, 'user', 'I ❤ 🍕 \"quoted\" \\\\ back\nslash', 0.1, '2026-01-02 03:04:06.000001'), (1, 'assistant', 'مرحبا بك', NULL, NULL);"
              "INSERT INTO facts (id, category, content, superseded_by, is_active, is_private, confidence, created_at) VALUES "
              "(1, 'preference', 'likes tea', 4, 0, 1, 0.3333333333333333, '2026-01-01 00:00:00'),"
              "(4, 'preference', 'likes coffee ☕', NULL, 1, 0, 1e-300, '2026-02-01 00:00:00');");
  if (extra > 0) {
    sqlite_exec(source / "data/luna.db", "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < " + std::to_string(extra) +
                                             ") INSERT INTO messages (conversation_id, role, content) SELECT 7, 'user', 'bulk ' || i || ' ' || "
                                             "hex(randomblob(24)) FROM n;");
  }
  CliResult copied = test::run_lunadb(source, "copy --to '" + db.url_string() + "'", data_env(source));
  ASSERT_EQ(copied.code, 0) << copied.output;
}

fs::path only_set(const TempDir& dir) {
  auto sets = list_backups(dir / "data/backups");
  EXPECT_EQ(sets.size(), 1u);
  return sets.empty() ? fs::path() : sets.front().folder;
}

// The same rows as `lunadb copy` would prove them: copy from the restored database into a
// fresh SQLite file and compare a few exact values (the copy itself verifies checksums).
void expect_the_filled_rows(sql::Connection& c, std::int64_t messages) {
  EXPECT_EQ(scalar(c, "SELECT COUNT(*) FROM messages"), messages);
  EXPECT_EQ(scalar(c, "SELECT superseded_by FROM facts WHERE id = 1"), 4);
  auto title = c.prepare("SELECT title FROM conversations WHERE id = 1");
  ASSERT_TRUE(title->step());
  EXPECT_EQ(title->get_text(0), "héllo ✓ 你好");
  auto content = c.prepare("SELECT content FROM messages WHERE role = 'user' AND conversation_id = 1");
  ASSERT_TRUE(content->step());
  EXPECT_EQ(content->get_text(0), "I ❤ 🍕 \"quoted\" \\\\ back\nslash");
  auto started = c.prepare("SELECT started_at FROM conversations WHERE id = 1");
  ASSERT_TRUE(started->step());
  EXPECT_EQ(sql::format_timestamp(started->get_timestamp(0)), "2026-01-02 03:04:05.123456");
  auto confidence = c.prepare("SELECT confidence FROM facts WHERE id = 4");
  ASSERT_TRUE(confidence->step());
  EXPECT_EQ(confidence->get_double(0), 1e-300);
}

void round_trip(const std::string& server, const std::string& other_server) {
  LUNADB_REQUIRE_SERVER(server);
  LUNADB_REQUIRE_SERVER(other_server);
  TempDir dir;
  test::FreshDatabase db(server);
  fill_server(db, 2500);
  // A password in DB_URL must never be printed (PostgreSQL's trust authentication ignores it).
  std::string url = db.url_string();
  if (db.url().backend == Backend::postgresql) url.replace(url.find("://") + 3, db.url().user.size(), db.url().user + ":s3cret-pw");
  CliResult made = test::run_lunadb(dir, "backup", server_env(dir, url));
  ASSERT_EQ(made.code, 0) << made.output;
  EXPECT_EQ(made.output.find("s3cret-pw"), std::string::npos) << made.output;
  const fs::path set = only_set(dir);
  const Manifest m = verify_backup(set);
  EXPECT_EQ(m.format, 2);
  EXPECT_EQ(m.backend, to_string(db.url().backend));
  EXPECT_EQ(m.rows.at("messages"), 2502u);
  EXPECT_EQ(m.rows.at("alembic_version"), 1u);
  EXPECT_TRUE(fs::exists(set / "database/messages.jsonl.gz"));
  std::ifstream manifest_text(set / "manifest.json");
  const std::string manifest((std::istreambuf_iterator<char>(manifest_text)), std::istreambuf_iterator<char>());
  EXPECT_EQ(manifest.find("s3cret-pw"), std::string::npos);

  // Changed rows; restore refuses without --force, then brings back exactly the set.
  auto c = db.connect();
  c->execute("DELETE FROM messages WHERE conversation_id = 7");
  c->execute("UPDATE facts SET content = 'changed' WHERE id = 4");
  CliResult refused = test::run_lunadb(dir, "restore " + set.string(), server_env(dir, url));
  EXPECT_EQ(refused.code, 2) << refused.output;
  EXPECT_NE(refused.output.find("not empty (conversations 2"), std::string::npos) << refused.output;
  CliResult restored = test::run_lunadb(dir, "restore " + set.string() + " --force", server_env(dir, url));
  ASSERT_EQ(restored.code, 0) << restored.output;
  EXPECT_NE(restored.output.find("counts match the manifest"), std::string::npos) << restored.output;
  EXPECT_EQ(restored.output.find("s3cret-pw"), std::string::npos) << restored.output;
  expect_the_filled_rows(*c, 2502);
  // Identities continue after the highest restored id.
  c->execute("INSERT INTO conversations (title, message_count) VALUES ('after the restore', 0)");
  EXPECT_EQ(scalar(*c, "SELECT MAX(id) FROM conversations"), 8);

  // The dump is backend-neutral: the same set restores into an empty SQLite database and into
  // an empty database on the other server, each first brought to the set's revision.
  TempDir elsewhere;
  CliResult into_sqlite = test::run_lunadb(elsewhere, "restore " + set.string(), data_env(elsewhere));
  ASSERT_EQ(into_sqlite.code, 0) << into_sqlite.output;
  {
    DbUrl sqlite_url;
    sqlite_url.database = (elsewhere / "data/luna.db").string();
    auto s = test::connect(sqlite_url);
    expect_the_filled_rows(*s, 2502);
  }
  test::FreshDatabase other(other_server);
  CliResult into_other = test::run_lunadb(elsewhere, "restore " + set.string(), server_env(elsewhere, other.url_string()));
  ASSERT_EQ(into_other.code, 0) << into_other.output;
  expect_the_filled_rows(*other.connect(), 2502);
}

TEST(ServerBackup, PostgresqlRoundTripsAndRestoresIntoOtherBackends) { round_trip(test::pg_url(), test::mysql_url()); }
TEST(ServerBackup, MariadbRoundTripsAndRestoresIntoOtherBackends) { round_trip(test::mysql_url(), test::pg_url()); }

// Writers commit a conversation with its three messages and message_count in one transaction
// throughout the backup: the dump is one snapshot, so every conversation's count equals its
// messages in the restored copy.
void consistent_while_writers_run(const std::string& server) {
  LUNADB_REQUIRE_SERVER(server);
  TempDir dir;
  test::FreshDatabase db(server);
  fill_server(db, 20000);
  std::atomic<bool> stop{false};
  std::atomic<long> committed{0};
  std::vector<std::thread> writers;
  for (int w = 0; w < 4; ++w) {
    writers.emplace_back([&, w] {
      auto c = db.connect();
      for (long n = 0; !stop; ++n) {
        const std::string id = std::to_string(1000000 * (w + 1) + n);
        try {
          sql::Transaction t(*c);
          c->execute("INSERT INTO conversations (id, title, message_count) VALUES (" + id + ", 'w', 3)");
          c->execute("INSERT INTO messages (conversation_id, role, content) VALUES (" + id + ", 'user', 'a'), (" + id + ", 'assistant', 'b'), (" + id +
                     ", 'user', 'c')");
          t.commit();
          ++committed;
        } catch (const Error&) {
        }
      }
    });
  }
  while (committed < 20) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  CliResult made = test::run_lunadb(dir, "backup", server_env(dir, db.url_string()));
  const long before_end = committed;
  stop = true;
  for (auto& t : writers) t.join();
  ASSERT_EQ(made.code, 0) << made.output;
  const Manifest m = verify_backup(only_set(dir));
  EXPECT_GT(m.rows.at("conversations"), 2u) << "the writers were running";
  EXPECT_LT(m.rows.at("conversations"), static_cast<std::uint64_t>(before_end + 2)) << "the writers went on during the backup";
  TempDir restored;
  CliResult into_sqlite = test::run_lunadb(restored, "restore " + only_set(dir).string(), data_env(restored));
  ASSERT_EQ(into_sqlite.code, 0) << into_sqlite.output;
  DbUrl sqlite_url;
  sqlite_url.database = (restored / "data/luna.db").string();
  auto s = test::connect(sqlite_url);
  EXPECT_EQ(scalar(*s, "SELECT COUNT(*) FROM conversations c WHERE c.id >= 1000000 AND c.message_count != "
                       "(SELECT COUNT(*) FROM messages m WHERE m.conversation_id = c.id)"),
            0);
  EXPECT_EQ(scalar(*s, "SELECT COUNT(*) FROM messages"), static_cast<std::int64_t>(m.rows.at("messages")));
  EXPECT_EQ(scalar(*s, "SELECT COUNT(*) FROM pragma_foreign_key_check"), 0);
}

TEST(ServerBackup, PostgresqlSnapshotIsConsistentWhileFourWritersRun) { consistent_while_writers_run(test::pg_url()); }
TEST(ServerBackup, MariadbSnapshotIsConsistentWhileFourWritersRun) { consistent_while_writers_run(test::mysql_url()); }

// Rewrites a file of the set and its manifest entry, so that only lunadb's own reading of the
// dump can notice what changed.
void replace_listed_file(const fs::path& set, const std::string& relative, const std::string& bytes) {
  std::ofstream(set / relative, std::ios::binary | std::ios::trunc) << bytes;
  auto manifest = nlohmann::json::parse(std::ifstream(set / "manifest.json"));
  for (auto& f : manifest["files"]) {
    if (f["path"] != relative) continue;
    f["bytes"] = bytes.size();
    std::string output;
    test::run_command("sha256sum '" + (set / relative).string() + "'", &output);
    f["sha256"] = output.substr(0, 64);
  }
  std::ofstream(set / "manifest.json", std::ios::trunc) << manifest.dump(2);
}

std::string gunzip(const fs::path& file) {
  gzFile gz = gzopen(file.c_str(), "rb");
  std::string out;
  char buffer[65536];
  for (int got; (got = gzread(gz, buffer, sizeof buffer)) > 0;) out.append(buffer, static_cast<std::size_t>(got));
  gzclose(gz);
  return out;
}

std::string gzip(const std::string& text) {
  TempDir scratch;
  const fs::path file = scratch / "x.gz";
  gzFile gz = gzopen(file.c_str(), "wb");
  gzwrite(gz, text.data(), static_cast<unsigned>(text.size()));
  gzclose(gz);
  std::ifstream in(file, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

TEST(ServerBackup, DamagedDumpsAreRefusedNamingTheFileAndNothingIsRestored) {
  LUNADB_REQUIRE_SERVER(test::pg_url());
  TempDir dir;
  test::FreshDatabase db(test::pg_url());
  fill_server(db, 3000);
  ASSERT_EQ(test::run_lunadb(dir, "backup", server_env(dir, db.url_string())).code, 0);
  const fs::path set = only_set(dir);
  const fs::path pristine = dir / "pristine";
  fs::copy(set, pristine, fs::copy_options::recursive);
  const std::string text = gunzip(set / "database/messages.jsonl.gz");
  ASSERT_GT(text.size(), 10000u);
  auto c = db.connect();
  c->execute("DELETE FROM messages WHERE conversation_id = 7");

  struct Damage {
    std::string what, bytes, expected;
  };
  const std::string compressed = gzip(text);
  const std::vector<Damage> damages{
      {"cut off inside the compressed stream", compressed.substr(0, compressed.size() / 2), "truncated"},
      {"a whole line shorter: no trailer", gzip(text.substr(0, text.rfind('\n', text.size() - 2) + 1)), "ends before its trailer"},
      {"one value changed", gzip(std::string(text).replace(text.find("bulk 1 "), 7, "bulk 9 ")), "checksum"},
      {"not a dump", gzip("hello\n"), "not a lunadb dump"},
  };
  for (const auto& damage : damages) {
    fs::remove_all(set);
    fs::copy(pristine, set, fs::copy_options::recursive);
    replace_listed_file(set, "database/messages.jsonl.gz", damage.bytes);
    CliResult verified = test::run_lunadb(dir, "backup verify " + set.string(), server_env(dir, db.url_string()));
    EXPECT_EQ(verified.code, 1) << damage.what << ": " << verified.output;
    EXPECT_NE(verified.output.find("messages.jsonl.gz"), std::string::npos) << damage.what << ": " << verified.output;
    EXPECT_NE(verified.output.find(damage.expected), std::string::npos) << damage.what << ": " << verified.output;
    CliResult restore = test::run_lunadb(dir, "restore " + set.string() + " --force", server_env(dir, db.url_string()));
    EXPECT_EQ(restore.code, 1) << damage.what << ": " << restore.output;
    EXPECT_EQ(scalar(*c, "SELECT COUNT(*) FROM messages"), 2) << damage.what << ": the database was changed";
  }
}

// restore reads a dump's lines while it loads them: a damaged line found there rolls the load
// back, and the migrations it ran to make an empty database's tables are undone, so an empty
// target stays without Luna's tables.
TEST(ServerBackup, ADamagedDumpLeavesAnEmptyTargetWithoutTables) {
  LUNADB_REQUIRE_SERVER(test::pg_url());
  TempDir dir;
  test::FreshDatabase db(test::pg_url());
  fill_server(db, 3000);
  ASSERT_EQ(test::run_lunadb(dir, "backup", server_env(dir, db.url_string())).code, 0);
  const fs::path set = only_set(dir);
  const std::string text = gunzip(set / "database/messages.jsonl.gz");
  replace_listed_file(set, "database/messages.jsonl.gz", gzip(std::string(text).replace(text.find("bulk 1 "), 7, "bulk 9 ")));
  test::FreshDatabase empty(test::pg_url());
  CliResult restore = test::run_lunadb(dir, "restore " + set.string(), server_env(dir, empty.url_string()));
  EXPECT_EQ(restore.code, 1) << restore.output;
  EXPECT_NE(restore.output.find("checksum"), std::string::npos) << restore.output;
  auto c = empty.connect();
  EXPECT_EQ(scalar(*c, "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = 'public' AND table_name <> 'alembic_version'"), 0)
      << restore.output;
}

TEST(ServerBackup, NativeRunsPgDumpOnTheSameSnapshotOrSaysItIsMissing) {
  LUNADB_REQUIRE_SERVER(test::pg_url());
  TempDir dir;
  test::FreshDatabase db(test::pg_url());
  fill_server(db, 100);
  CliResult made = test::run_lunadb(dir, "backup --native", server_env(dir, db.url_string()));
  ASSERT_EQ(made.code, 0) << made.output;
  const fs::path set = only_set(dir);
  const Manifest m = verify_backup(set);
  ASSERT_EQ(m.native_dump, "database/pg_dump.custom");
  std::string listing;
  ASSERT_EQ(test::run_command("pg_restore --list '" + (set / m.native_dump).string() + "'", &listing), 0) << listing;
  EXPECT_NE(listing.find("TABLE DATA public messages"), std::string::npos) << listing;

  TempDir without;
  CliResult missing = test::run_lunadb(without, "backup --native", server_env(without, db.url_string()) + " PATH=/nonexistent");
  ASSERT_EQ(missing.code, 0) << missing.output;
  EXPECT_NE(missing.output.find("pg_dump is not installed"), std::string::npos) << missing.output;
  EXPECT_TRUE(verify_backup(only_set(without)).native_dump.empty());

  test::FreshDatabase mariadb(test::mysql_url());
  ASSERT_EQ(test::run_lunadb(dir, "upgrade head", server_env(dir, mariadb.url_string())).code, 0);
  CliResult on_mariadb = test::run_lunadb(dir, "backup --native", server_env(dir, mariadb.url_string()));
  EXPECT_EQ(on_mariadb.code, 2) << on_mariadb.output;
  EXPECT_NE(on_mariadb.output.find("PostgreSQL only"), std::string::npos) << on_mariadb.output;
}

// SIGKILL at random moments of a restore into PostgreSQL: it is one transaction, so the table
// holds the old rows or the restored ones, and a rerun completes.
TEST(ServerBackup, KilledRestoreLeavesOldOrNewRowsAndARerunCompletes) {
  LUNADB_REQUIRE_SERVER(test::pg_url());
  TempDir dir;
  test::FreshDatabase db(test::pg_url());
  fill_server(db, 30000);
  ASSERT_EQ(test::run_lunadb(dir, "backup", server_env(dir, db.url_string())).code, 0);
  const fs::path set = only_set(dir);
  auto c = db.connect();
  c->execute("DELETE FROM messages WHERE id > 1000");
  const std::string url = db.url_string();
  std::mt19937 rng(5);
  int killed_inside = 0;
  for (int round = 0; round < 6; ++round) {
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      const std::string data = (dir / "data").string();
      setenv("LUNA_DATA_DIR", data.c_str(), 1);
      setenv("DB_URL", url.c_str(), 1);
      execl(LUNADB_CLI_PATH, LUNADB_CLI_PATH, "restore", set.c_str(), "--force", static_cast<char*>(nullptr));
      _exit(127);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(std::uniform_int_distribution<int>(50, 1500)(rng)));
    kill(pid, SIGKILL);
    int status = 0;
    waitpid(pid, &status, 0);
    if (WIFSIGNALED(status)) ++killed_inside;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));  // the server notices the dead client
    const auto n = scalar(*c, "SELECT COUNT(*) FROM messages");
    EXPECT_TRUE(n == 1000 || n == 30002) << "a mix: " << n << " messages";
    c->execute("DELETE FROM messages WHERE id > 1000");
  }
  EXPECT_GT(killed_inside, 0) << "every restore finished before its kill: the test tested nothing";
  CliResult rerun = test::run_lunadb(dir, "restore " + set.string() + " --force", server_env(dir, url));
  ASSERT_EQ(rerun.code, 0) << rerun.output;
  EXPECT_EQ(scalar(*c, "SELECT COUNT(*) FROM messages"), 30002);
}

TEST(ServerBackup, ClearErrorsForAnUnreachableServerAnotherRevisionAndAnSqliteSet) {
  LUNADB_REQUIRE_SERVER(test::pg_url());
  TempDir dir;
  CliResult unreachable = test::run_lunadb(dir, "backup", server_env(dir, "postgresql://luna:s3cret-pw@127.0.0.1:1/luna"));
  EXPECT_EQ(unreachable.code, 1) << unreachable.output;
  EXPECT_NE(unreachable.output.find("127.0.0.1:1"), std::string::npos) << unreachable.output;
  EXPECT_EQ(unreachable.output.find("s3cret-pw"), std::string::npos) << unreachable.output;
  EXPECT_TRUE(list_backups(dir / "data/backups").empty());

  test::FreshDatabase old(test::pg_url());
  ASSERT_EQ(test::run_lunadb(dir, "upgrade 001", server_env(dir, old.url_string())).code, 0);
  CliResult not_head = test::run_lunadb(dir, "backup", server_env(dir, old.url_string()));
  EXPECT_EQ(not_head.code, 1) << not_head.output;
  EXPECT_NE(not_head.output.find("not at head"), std::string::npos) << not_head.output;

  // A set at head restored into a database at revision 001: refused naming both.
  test::FreshDatabase db(test::pg_url());
  fill_server(db, 10);
  ASSERT_EQ(test::run_lunadb(dir, "backup", server_env(dir, db.url_string())).code, 0);
  const fs::path set = only_set(dir);
  CliResult other_revision = test::run_lunadb(dir, "restore " + set.string() + " --force", server_env(dir, old.url_string()));
  EXPECT_EQ(other_revision.code, 1) << other_revision.output;
  EXPECT_NE(other_revision.output.find("is at revision 001"), std::string::npos) << other_revision.output;

  // An SQLite file set cannot be restored into a server: it says how to move it instead.
  TempDir sqlite_store;
  ASSERT_EQ(test::run_lunadb(sqlite_store, "upgrade head", data_env(sqlite_store)).code, 0);
  ASSERT_EQ(test::run_lunadb(sqlite_store, "backup", data_env(sqlite_store)).code, 0);
  const auto sqlite_sets = list_backups(sqlite_store / "data/backups");
  ASSERT_EQ(sqlite_sets.size(), 1u);
  CliResult into_server = test::run_lunadb(sqlite_store, "restore " + sqlite_sets[0].folder.string(), server_env(sqlite_store, db.url_string()));
  EXPECT_EQ(into_server.code, 2) << into_server.output;
  EXPECT_NE(into_server.output.find("lunadb copy --to"), std::string::npos) << into_server.output;
}

}  // namespace
}  // namespace lunadb::backup
