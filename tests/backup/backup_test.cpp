// Backup sets of a real SQLite database and vector store, through the lunadb binary: written while
// other processes write, verified, refused when damaged, restored whole; SIGKILL at random points
// of a backup and of a restore; a write failure (file size limit) leaves nothing behind.

#include <gtest/gtest.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

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
#include "support/cli.hpp"
#include "support/servers.hpp"
#include "support/temp_dir.hpp"

namespace lunadb::backup {
namespace {

namespace fs = std::filesystem;
using test::CliResult;
using test::TempDir;

std::string env_for(const TempDir& dir) { return "LUNA_DATA_DIR='" + (dir / "data").string() + "'"; }

CliResult lunadb(const TempDir& dir, const std::string& args) { return test::run_lunadb(dir, args, env_for(dir)); }

// A database at head with `conversations` conversations of `messages` messages each, and a vector
// collection of `vectors` records.
void make_store(const TempDir& dir, int conversations, int messages, int vectors) {
  ASSERT_EQ(lunadb(dir, "upgrade head").code, 0);
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open((dir / "data/luna.db").c_str(), &db), SQLITE_OK);
  sqlite3_exec(db, "BEGIN", nullptr, nullptr, nullptr);
  for (int c = 1; c <= conversations; ++c) {
    sqlite3_exec(db, ("INSERT INTO conversations (id, title, message_count) VALUES (" + std::to_string(c) + ", 'c', " +
                      std::to_string(messages) + ")").c_str(), nullptr, nullptr, nullptr);
    for (int m = 0; m < messages; ++m) {
      sqlite3_exec(db, ("INSERT INTO messages (conversation_id, role, content) VALUES (" + std::to_string(c) +
                        ", 'user', 'message text ✓ ' || hex(randomblob(40)))").c_str(), nullptr, nullptr, nullptr);
    }
  }
  ASSERT_EQ(sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(db);
  std::ofstream lines(dir / "v.jsonl");
  for (int i = 0; i < vectors; ++i) {
    lines << nlohmann::json{{"id", "f" + std::to_string(i)},
                            {"embedding", {std::sin(i * 1.0), std::cos(i * 1.0), std::sin(i * 0.5), 1.0}},
                            {"document", "fact " + std::to_string(i)}}
                 .dump()
          << '\n';
  }
  lines.close();
  if (vectors > 0) {
    ASSERT_EQ(lunadb(dir, "vectors import v.jsonl -c luna_facts").code, 0);
  }
}

std::uint64_t count(const fs::path& file, const std::string& sql) {
  sqlite3* db = nullptr;
  EXPECT_EQ(sqlite3_open_v2(file.c_str(), &db, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  EXPECT_EQ(sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr), SQLITE_OK) << sqlite3_errmsg(db);
  std::uint64_t n = 0;
  if (sqlite3_step(st) == SQLITE_ROW) n = static_cast<std::uint64_t>(sqlite3_column_int64(st, 0));
  sqlite3_finalize(st);
  sqlite3_close(db);
  return n;
}

std::vector<fs::path> sets_in(const fs::path& folder) {
  std::vector<fs::path> out;
  if (!fs::exists(folder)) return out;
  for (const auto& e : fs::directory_iterator(folder)) out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

fs::path only_set(const TempDir& dir) {
  auto sets = list_backups(dir / "data/backups");
  EXPECT_EQ(sets.size(), 1u);
  return sets.empty() ? fs::path() : sets.front().folder;
}

// Adds conversations with their messages in one transaction each, message_count kept in step, until killed.
[[noreturn]] void write_conversations_forever(const fs::path& file, int writer) {
  sqlite3* db = nullptr;
  if (sqlite3_open(file.c_str(), &db) != SQLITE_OK) _exit(3);
  sqlite3_busy_timeout(db, 10000);
  sqlite3_exec(db, "PRAGMA journal_mode=WAL; PRAGMA foreign_keys=ON", nullptr, nullptr, nullptr);
  for (long n = 0;; ++n) {
    const std::string id = std::to_string(1000000 * (writer + 1) + n);
    const std::string sql = "BEGIN IMMEDIATE; INSERT INTO conversations (id, title, message_count) VALUES (" + id +
                            ", 'w', 3); INSERT INTO messages (conversation_id, role, content) VALUES (" + id + ", 'user', 'a'), (" +
                            id + ", 'assistant', 'b'), (" + id + ", 'user', 'c'); COMMIT;";
    if (sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr) != SQLITE_OK) sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
  }
}

// Starts `lunadb ARGS...` in `dir` (LUNA_DATA_DIR inside it) without waiting, for killing.
pid_t spawn_lunadb(const TempDir& dir, std::vector<std::string> args) {
  pid_t pid = fork();
  if (pid != 0) return pid;
  const std::string data = (dir / "data").string();
  setenv("LUNA_DATA_DIR", data.c_str(), 1);
  if (chdir(dir.path().c_str()) != 0) _exit(126);
  std::vector<char*> argv{const_cast<char*>(LUNADB_CLI_PATH)};
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  execv(LUNADB_CLI_PATH, argv.data());
  _exit(127);
}

TEST(Backup, SetRoundTripsThroughVerifyAndRestore) {
  TempDir dir;
  make_store(dir, 20, 10, 50);
  // `lunadb serve`'s catalog (tenants, databases, Chroma ids) belongs to the set too.
  const fs::path catalog = dir / "data/chroma/lunadb-serve.json";
  ASSERT_TRUE(fs::exists(catalog.parent_path()));
  std::ofstream(catalog) << R"({"version":1,"tenants":["acme"]})";
  CliResult made = lunadb(dir, "backup");
  ASSERT_EQ(made.code, 0) << made.output;
  EXPECT_NE(made.output.find("verified"), std::string::npos) << made.output;
  fs::remove(catalog);
  const fs::path set = only_set(dir);
  ASSERT_EQ(set.filename().string().rfind("luna-", 0), 0u);
  const Manifest m = verify_backup(set);
  EXPECT_EQ(m.rows.at("messages"), 200u);
  EXPECT_EQ(m.rows.at("conversations"), 20u);
  ASSERT_EQ(m.collections.size(), 1u);
  EXPECT_EQ(m.collections[0].records, 50u);
  EXPECT_FALSE(m.revision.empty());
  CliResult listed = lunadb(dir, "backup list");
  EXPECT_NE(listed.output.find(set.filename().string()), std::string::npos) << listed.output;

  // The live store changes; the restore brings back exactly the set, and refuses without --force.
  ASSERT_EQ(lunadb(dir, "vectors delete -c luna_facts --ids f1,f2,f3").code, 0);
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open((dir / "data/luna.db").c_str(), &db), SQLITE_OK);
  sqlite3_exec(db, "DELETE FROM messages WHERE conversation_id = 1", nullptr, nullptr, nullptr);
  sqlite3_close(db);
  CliResult refused = lunadb(dir, "restore " + set.filename().string());
  EXPECT_EQ(refused.code, 2) << refused.output;
  EXPECT_NE(refused.output.find("--force"), std::string::npos) << refused.output;
  EXPECT_EQ(count(dir / "data/luna.db", "SELECT count(*) FROM messages"), 190u);
  CliResult restored = lunadb(dir, "restore " + set.filename().string() + " --force");
  ASSERT_EQ(restored.code, 0) << restored.output;
  EXPECT_EQ(count(dir / "data/luna.db", "SELECT count(*) FROM messages"), 200u);
  EXPECT_EQ(lunadb(dir, "vectors count -c luna_facts").output, "50\n");
  std::ifstream restored_catalog(catalog);
  std::string catalog_text((std::istreambuf_iterator<char>(restored_catalog)), std::istreambuf_iterator<char>());
  EXPECT_EQ(catalog_text, R"({"version":1,"tenants":["acme"]})");
  CliResult found = lunadb(dir, "vectors get -c luna_facts --ids f2 --include documents");
  EXPECT_NE(found.output.find("fact 2"), std::string::npos) << found.output;
  EXPECT_EQ(lunadb(dir, "status").code, 0);
}

TEST(Backup, TakenWhileFourProcessesWriteIsConsistent) {
  TempDir dir;
  make_store(dir, 5, 4, 30);
  // A vector import runs in its own process throughout as well.
  {
    std::ofstream lines(dir / "episodes.jsonl");
    for (int i = 0; i < 20000; ++i) {
      lines << nlohmann::json{{"id", "e" + std::to_string(i)}, {"embedding", {std::sin(i * 0.3), std::cos(i * 0.7), 0.5, 1.0}}}.dump() << '\n';
    }
  }
  const pid_t importer = spawn_lunadb(dir, {"vectors", "import", "episodes.jsonl", "-c", "luna_episodes", "--batch", "200"});
  ASSERT_GE(importer, 0);
  std::vector<pid_t> writers;
  for (int w = 0; w < 4; ++w) {
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) write_conversations_forever(dir / "data/luna.db", w);
    writers.push_back(pid);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  CliResult first = lunadb(dir, "backup --keep 5");
  CliResult second = lunadb(dir, "backup --keep 5");
  for (pid_t pid : writers) kill(pid, SIGKILL);
  for (pid_t pid : writers) waitpid(pid, nullptr, 0);
  int import_status = 0;
  waitpid(importer, &import_status, 0);
  ASSERT_TRUE(WIFEXITED(import_status) && WEXITSTATUS(import_status) == 0) << "the import failed";
  ASSERT_EQ(first.code, 0) << first.output;
  ASSERT_EQ(second.code, 0) << second.output;
  auto sets = list_backups(dir / "data/backups");
  ASSERT_EQ(sets.size(), 2u);
  const fs::path live_records = dir / "data/chroma/lunadb-vectors.sqlite3";
  bool import_caught_midway = false;
  for (const auto& s : sets) {
    const Manifest m = verify_backup(s.folder);
    // Every vector record up to the manifest's sequence number is in the set: as many as the
    // live store, now complete, holds up to that number.
    for (const auto& c : m.collections) {
      const std::string up_to = "SELECT count(*) FROM records r JOIN collections c ON c.id = r.collection_id WHERE c.name = '" + c.name +
                                "' AND r.seq <= " + std::to_string(c.last_seq);
      EXPECT_EQ(count(live_records, up_to), c.records) << c.name << " in " << s.name;
      EXPECT_EQ(count(s.folder / "vectors/lunadb-vectors.sqlite3", up_to), c.records) << c.name << " in " << s.name;
      if (c.name == "luna_episodes" && c.records > 0 && c.records < 20000) import_caught_midway = true;
    }
    const fs::path copy = s.folder / "luna.db";
    EXPECT_GT(m.rows.at("conversations"), 5u) << "the writers were running";
    // Every conversation's message_count equals its messages: no transaction was torn.
    EXPECT_EQ(count(copy, "SELECT count(*) FROM conversations c WHERE c.message_count != "
                          "(SELECT count(*) FROM messages m WHERE m.conversation_id = c.id)"),
              0u);
    EXPECT_EQ(count(copy, "SELECT count(*) FROM messages"), m.rows.at("messages"));
  }
  EXPECT_LT(sets[0].manifest->rows.at("messages"), sets[1].manifest->rows.at("messages"));
  EXPECT_TRUE(import_caught_midway) << "no backup ran while the import was writing: the test tested nothing";
  // A restored set opens and every record in it finds itself by id.
  ASSERT_EQ(lunadb(dir, "restore " + sets[0].folder.string() + " --force").code, 0);
  const std::uint64_t episodes = count(live_records, "SELECT count(*) FROM records r JOIN collections c ON c.id = r.collection_id WHERE c.name = 'luna_episodes'");
  EXPECT_EQ(lunadb(dir, "vectors count -c luna_episodes").output, std::to_string(episodes) + "\n");
}

// A small tmpfs as the backup folder fills up part-way: a clear error naming the file, the
// partial set removed, the live store untouched; for an SQLite file set and for a server's
// logical dump.
struct SmallTmpfs {
  fs::path where;
  bool mounted = false;
  explicit SmallTmpfs(fs::path folder, const std::string& size) : where(std::move(folder)) {
    fs::create_directories(where);
    std::string output;
    mounted = test::run_command("mount -t tmpfs -o size=" + size + " tmpfs '" + where.string() + "'", &output) == 0;
  }
  ~SmallTmpfs() {
    if (mounted) {
      std::string output;
      test::run_command("umount '" + where.string() + "'", &output);
    }
  }
};

TEST(Backup, AFullDiskOnATmpfsRemovesThePartialSetAndNamesTheFile) {
  TempDir dir;
  make_store(dir, 100, 100, 500);
  SmallTmpfs disk(dir / "small-disk", "300k");
  if (!disk.mounted) {
    if (getenv("CI")) FAIL() << "cannot mount a tmpfs (needs root); CI must run this test";
    GTEST_SKIP() << "cannot mount a tmpfs here (needs root)";
  }
  auto only_debris_free = [&] {
    for (const auto& entry : sets_in(disk.where)) EXPECT_EQ(entry.filename().string(), ".lock") << "debris left: " << entry;
  };
  CliResult full = lunadb(dir, "backup --to " + disk.where.string());
  EXPECT_EQ(full.code, 1) << full.output;
  EXPECT_NE(full.output.find(disk.where.string()), std::string::npos) << full.output;
  EXPECT_TRUE(full.output.find("disk is full") != std::string::npos || full.output.find("No space left on device") != std::string::npos)
      << full.output;
  EXPECT_TRUE(list_backups(disk.where).empty());
  only_debris_free();
  EXPECT_EQ(count(dir / "data/luna.db", "SELECT count(*) FROM messages"), 10000u);
  EXPECT_EQ(lunadb(dir, "vectors count -c luna_facts").output, "500\n");

  // The same on a server: the logical dump's write fails, nothing of it stays.
  if (test::server_unreachable(test::pg_url())) {
    if (getenv("CI")) FAIL() << "PostgreSQL required in CI";
    return;
  }
  test::FreshDatabase db(test::pg_url());
  const std::string server = env_for(dir) + " DB_URL='" + db.url_string() + "'";
  ASSERT_EQ(test::run_lunadb(dir, "copy --to '" + db.url_string() + "'", env_for(dir)).code, 0);
  fs::remove_all(dir / "data/chroma");  // the dump alone has to fill the disk
  CliResult server_full = test::run_lunadb(dir, "backup --to " + disk.where.string(), server);
  EXPECT_EQ(server_full.code, 1) << server_full.output;
  EXPECT_NE(server_full.output.find("messages.jsonl.gz: write failed (is the disk full?)"), std::string::npos) << server_full.output;
  EXPECT_TRUE(list_backups(disk.where).empty());
  only_debris_free();
  auto c = db.connect();
  auto st = c->prepare("SELECT COUNT(*) FROM messages");
  ASSERT_TRUE(st->step());
  EXPECT_EQ(st->get_int64(0), 10000);
}

TEST(Backup, DamagedSetsAreRefusedNamingTheFile) {
  TempDir dir;
  make_store(dir, 3, 3, 10);
  ASSERT_EQ(lunadb(dir, "backup").code, 0);
  const fs::path set = only_set(dir);
  const fs::path copy_of_set = dir / "pristine";
  fs::copy(set, copy_of_set, fs::copy_options::recursive);

  {  // one flipped byte in the middle of the database copy
    std::fstream f(set / "luna.db", std::ios::in | std::ios::out | std::ios::binary);
    f.seekg(8192);
    char c = 0;
    f.read(&c, 1);
    f.seekp(8192);
    c = static_cast<char>(c ^ 0x01);
    f.write(&c, 1);
  }
  CliResult flipped = lunadb(dir, "backup verify " + set.string());
  EXPECT_EQ(flipped.code, 1) << flipped.output;
  EXPECT_NE(flipped.output.find("luna.db does not match its SHA-256"), std::string::npos) << flipped.output;
  CliResult restore_flipped = lunadb(dir, "restore " + set.string() + " --force");
  EXPECT_EQ(restore_flipped.code, 1) << restore_flipped.output;

  fs::remove_all(set);
  fs::copy(copy_of_set, set, fs::copy_options::recursive);
  fs::remove(set / "vectors/lunadb-vectors.sqlite3");
  CliResult missing = lunadb(dir, "backup verify " + set.string());
  EXPECT_EQ(missing.code, 1) << missing.output;
  EXPECT_NE(missing.output.find("lunadb-vectors.sqlite3 is missing"), std::string::npos) << missing.output;

  fs::remove_all(set);
  fs::copy(copy_of_set, set, fs::copy_options::recursive);
  auto manifest = nlohmann::json::parse(std::ifstream(set / "manifest.json"));
  manifest["format"] = kManifestFormat + 1;
  std::ofstream(set / "manifest.json") << manifest.dump();
  CliResult newer = lunadb(dir, "backup verify " + set.string());
  EXPECT_EQ(newer.code, 1) << newer.output;
  EXPECT_NE(newer.output.find("manifest.json: the set was written by a newer lunadb"), std::string::npos) << newer.output;

  fs::remove_all(set);
  fs::copy(copy_of_set, set, fs::copy_options::recursive);
  std::ofstream(set / "extra.txt") << "x";
  CliResult extra = lunadb(dir, "backup verify " + set.string());
  EXPECT_EQ(extra.code, 1) << extra.output;
  EXPECT_NE(extra.output.find("extra.txt is not listed"), std::string::npos) << extra.output;
  fs::remove(set / "extra.txt");
  EXPECT_EQ(lunadb(dir, "backup verify " + set.string()).code, 0);
}

TEST(Backup, KeepPrunesTheOldestAndDailyDoesNothingTwice) {
  TempDir dir;
  make_store(dir, 1, 1, 0);
  for (int i = 0; i < 4; ++i) ASSERT_EQ(lunadb(dir, "backup --keep 2").code, 0);
  auto sets = list_backups(dir / "data/backups");
  ASSERT_EQ(sets.size(), 2u);
  CliResult daily = lunadb(dir, "backup --daily --keep 2");
  ASSERT_EQ(daily.code, 0) << daily.output;
  EXPECT_NE(daily.output.find("a backup of today exists"), std::string::npos) << daily.output;
  EXPECT_EQ(list_backups(dir / "data/backups").size(), 2u);
  EXPECT_EQ(lunadb(dir, "backup --keep 0").code, 2);
  const fs::path other = dir / "elsewhere";
  ASSERT_EQ(lunadb(dir, "backup --to " + other.string()).code, 0);
  EXPECT_EQ(list_backups(other).size(), 1u);
}

// SIGKILL at random moments of a backup: no partial set is ever listed, every listed set
// verifies, the live database is untouched, and the next backup clears the debris.
TEST(Backup, KilledBackupsLeaveNoSetThatCountsAndTheLiveStoreUntouched) {
  TempDir dir;
  make_store(dir, 400, 100, 300);
  const std::uint64_t messages = count(dir / "data/luna.db", "SELECT count(*) FROM messages");
  std::mt19937 rng(7);
  const auto started = std::chrono::steady_clock::now();
  ASSERT_EQ(lunadb(dir, "backup --keep 100").code, 0);
  // Kill within the first 1.5 backup durations, so that most kills land inside one.
  const auto took = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - started).count();
  fs::remove_all(dir / "data/backups");
  for (int round = 0; round < 12; ++round) {
    pid_t pid = spawn_lunadb(dir, {"backup", "--keep", "100"});
    ASSERT_GE(pid, 0);
    std::this_thread::sleep_for(std::chrono::microseconds(std::uniform_int_distribution<long>(0, took * 3 / 2)(rng)));
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
    for (const auto& s : list_backups(dir / "data/backups")) EXPECT_NO_THROW(verify_backup(s.folder)) << s.name;
  }
  EXPECT_EQ(count(dir / "data/luna.db", "SELECT count(*) FROM messages"), messages);
  EXPECT_EQ(count(dir / "data/luna.db", "SELECT count(*) FROM pragma_integrity_check WHERE integrity_check != 'ok'"), 0u);
  EXPECT_LT(list_backups(dir / "data/backups").size(), 12u) << "no kill landed inside a backup: the test tested nothing";
  ASSERT_EQ(lunadb(dir, "backup --keep 100").code, 0);
  for (const auto& entry : sets_in(dir / "data/backups")) {
    EXPECT_NE(entry.filename().string().rfind(".partial-", 0), 0u) << "debris left: " << entry;
  }
  EXPECT_EQ(lunadb(dir, "vectors count -c luna_facts").output, "300\n");
}

// SIGKILL at random moments of a restore: the database is the old one or the new one, and a
// rerun completes.
TEST(Backup, KilledRestoreLeavesAWholeDatabaseAndARerunCompletes) {
  TempDir dir;
  make_store(dir, 100, 20, 200);
  ASSERT_EQ(lunadb(dir, "backup").code, 0);
  const fs::path set = only_set(dir);
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open((dir / "data/luna.db").c_str(), &db), SQLITE_OK);
  sqlite3_exec(db, "DELETE FROM messages WHERE conversation_id > 50", nullptr, nullptr, nullptr);
  sqlite3_close(db);
  std::mt19937 rng(11);
  for (int round = 0; round < 8; ++round) {
    pid_t pid = spawn_lunadb(dir, {"restore", set.string(), "--force"});
    ASSERT_GE(pid, 0);
    std::this_thread::sleep_for(std::chrono::microseconds(std::uniform_int_distribution<int>(0, 40000)(rng)));
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
    if (fs::exists(dir / "data/luna.db")) {
      const auto n = count(dir / "data/luna.db", "SELECT count(*) FROM messages");
      EXPECT_TRUE(n == 1000u || n == 2000u) << "a mix: " << n << " messages";
    }
  }
  CliResult rerun = lunadb(dir, "restore " + set.string() + " --force");
  ASSERT_EQ(rerun.code, 0) << rerun.output;
  EXPECT_EQ(count(dir / "data/luna.db", "SELECT count(*) FROM messages"), 2000u);
  EXPECT_EQ(lunadb(dir, "vectors count -c luna_facts").output, "200\n");
}

// A write that fails part-way (here the file size limit, as a full disk would): a clear error,
// no set, no debris, the live store untouched.
TEST(Backup, AFailedWriteRemovesThePartialSet) {
  TempDir dir;
  make_store(dir, 50, 40, 0);
  const std::string command = "ulimit -f 64; cd '" + dir.path().string() + "' && env -i PATH=\"$PATH\" " + env_for(dir) + " " +
                              LUNADB_CLI_PATH + " backup";
  std::string output;
  // SIGXFSZ would kill the process instead of failing the write: ignored, as a shell with
  // `trap '' XFSZ` does.
  const int code = test::run_command("trap '' XFSZ; " + command, &output);
  EXPECT_EQ(code, 1) << output;
  EXPECT_NE(output.find("luna.db"), std::string::npos) << output;
  EXPECT_TRUE(list_backups(dir / "data/backups").empty());
  for (const auto& entry : sets_in(dir / "data/backups")) {
    EXPECT_EQ(entry.filename().string(), ".lock") << "debris left: " << entry;
  }
  EXPECT_EQ(count(dir / "data/luna.db", "SELECT count(*) FROM messages"), 2000u);
}

TEST(Backup, ClearErrorsForNothingToBackUpAServerUrlAndAnUnknownSet) {
  TempDir dir;
  CliResult nothing = lunadb(dir, "backup");
  EXPECT_EQ(nothing.code, 1) << nothing.output;
  EXPECT_NE(nothing.output.find("nothing to back up"), std::string::npos) << nothing.output;
  CliResult server = test::run_lunadb(dir, "backup", env_for(dir) + " DB_URL='postgresql://luna:s3cret-pw@127.0.0.1:5432/luna'");
  EXPECT_EQ(server.code, 1) << server.output;
  EXPECT_NE(server.output.find("cannot connect to PostgreSQL at 127.0.0.1:5432"), std::string::npos) << server.output;
  EXPECT_EQ(server.output.find("s3cret-pw"), std::string::npos) << server.output;
  CliResult unknown = lunadb(dir, "restore luna-19990101-000000");
  EXPECT_EQ(unknown.code, 1) << unknown.output;
  EXPECT_NE(unknown.output.find("not found"), std::string::npos) << unknown.output;
}

// Backups from several threads into one folder while another thread writes: each backup either
// completes or is refused as busy, and every set that was written verifies.
TEST(BackupConcurrency, ThreadsBackingUpOneFolderWhileAThreadWrites) {
  TempDir dir;
  make_store(dir, 10, 10, 20);
  const Settings settings = load_settings({{"LUNA_DATA_DIR", (dir / "data").string()}, {"LUNA_ENV_FILE", ""}}, dir.path());
  std::atomic<bool> stop{false};
  std::thread writer([&] {
    sqlite3* db = nullptr;
    if (sqlite3_open((dir / "data/luna.db").c_str(), &db) != SQLITE_OK) return;
    sqlite3_busy_timeout(db, 10000);
    for (int n = 0; !stop; ++n) {
      const std::string id = std::to_string(500000 + n);
      sqlite3_exec(db, ("BEGIN IMMEDIATE; INSERT INTO conversations (id, title, message_count) VALUES (" + id +
                        ", 't', 1); INSERT INTO messages (conversation_id, role, content) VALUES (" + id + ", 'user', 'x'); COMMIT;")
                           .c_str(),
                   nullptr, nullptr, nullptr);
    }
    sqlite3_close(db);
  });
  std::atomic<int> written{0}, busy{0}, other{0};
  std::vector<std::thread> backups;
  for (int t = 0; t < 4; ++t) {
    backups.emplace_back([&] {
      for (int i = 0; i < 3; ++i) {
        try {
          BackupOptions options;
          options.keep = 100;
          if (create_backup(settings, options).written) ++written;
        } catch (const Error& e) {
          ++(e.kind() == ErrorKind::busy ? busy : other);
        }
      }
    });
  }
  for (auto& t : backups) t.join();
  stop = true;
  writer.join();
  EXPECT_EQ(other.load(), 0);
  EXPECT_GE(written.load(), 1);
  EXPECT_EQ(written.load() + busy.load(), 12);
  const auto sets = list_backups(dir / "data/backups");
  EXPECT_EQ(sets.size(), static_cast<std::size_t>(written.load()));
  for (const auto& s : sets) EXPECT_NO_THROW(verify_backup(s.folder)) << s.name;
}

}  // namespace
}  // namespace lunadb::backup
