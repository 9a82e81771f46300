// The migration commands through the real `lunadb` binary, in a temporary working directory with a
// clean environment (no settings, no .env), as a user would run them.

#include <gtest/gtest.h>

#include <functional>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <thread>

#include "lunadb/config.hpp"
#include "migrate/backends.hpp"
#include "sql/dialect.hpp"
#include "sql/driver.hpp"
#include "support/revisions.hpp"
#include "support/servers.hpp"
#include "support/temp_dir.hpp"

namespace lunadb::migrate {
namespace {

// Luna's models column for column (backend/models/database.py), then lunadb's additions: the
// contract the revisions must meet at the head.
const std::map<std::string, std::vector<std::string>>& schema_md_columns() {
  static const std::map<std::string, std::vector<std::string>> columns = {
      {"conversations", {"id", "title", "summary", "started_at", "ended_at", "message_count", "metadata", "updated_at"}},
      {"messages", {"id", "conversation_id", "role", "content", "created_at", "sentiment_score"}},
      {"facts", {"id", "category", "content", "confidence", "source_conversation_id", "created_at", "updated_at",
                 "is_active", "importance", "expires_at", "is_private", "source", "superseded_by", "memory_type",
                 "last_accessed"}},
      {"fact_relationships", {"id", "fact_id_a", "fact_id_b", "relationship", "confidence", "note", "created_at", "updated_at"}},
      {"tasks", {"id", "title", "description", "due_date", "completed", "completed_at", "priority", "created_at", "updated_at"}},
      {"calendar_events", {"id", "title", "description", "start_datetime", "end_datetime", "recurring", "location", "created_at"}},
      {"personality_state", {"id", "verbosity", "formality", "humor", "depth", "emotional_support", "question_frequency",
                             "current_mood", "mood_intensity", "energy_level", "total_interactions", "positive_signals",
                             "negative_signals", "last_interaction", "updated_at"}},
      {"feedback_log", {"id", "conversation_id", "reward_signal", "response_features", "created_at"}},
      {"proactive_log", {"id", "message", "reason", "sent_at"}},
      {"state_events", {"id", "timestamp", "hour", "day_of_week", "transcript", "emotion", "volume", "speech_speed",
                        "speech_duration", "pc_active", "active_app", "idle_seconds", "inferred_state"}},
      {"sleep_logs", {"id", "sleep_start", "sleep_end", "duration_minutes", "label", "created_at"}},
      {"traces", {"id", "span_id", "parent_id", "name", "conversation_id", "start_time", "end_time", "latency_ms", "status",
                  "attributes", "cost_usd", "created_at"}},
      {"episodes", {"id", "conversation_id", "summary", "key_fact_ids", "key_entities", "importance", "created_at", "updated_at"}},
      {"benchmark_results", {"id", "suite", "timestamp", "metrics", "errors", "duration_s", "created_at"}},
      {"plan_records", {"id", "plan_id", "goal", "conversation_id", "status", "steps_json", "critique_json", "created_at",
                        "completed_at"}},
      {"health_metrics", {"id", "platform", "metric_type", "value", "unit", "date_str", "timestamp", "raw_json", "created_at"}},
      {"health_syncs", {"id", "platform", "last_sync_at", "status", "metrics_synced", "error_message", "updated_at"}},
      {"audit_log", {"id", "ts", "conversation_id", "tool", "args", "result", "mode", "status", "duration_ms"}},
      {"contradiction_notes", {"id", "new_fact_id", "old_fact_id", "conversation_id", "note", "created_at", "consumed_at"}},
      {"memory_outbox", {"id", "kind", "row_id", "created_at", "attempts", "next_attempt_at", "last_error"}},
      {"memory_collections", {"id", "kind", "collection", "model", "dimension", "generation", "next_collection",
                              "next_model", "next_after_id", "updated_at"}},
  };
  return columns;
}

// Luna's seventeen tables: what revision 001 creates, and what `downgrade 6f1c2a9e0b31` leaves.
std::vector<std::string> luna_tables() {
  std::vector<std::string> names;
  for (auto& [name, columns] : schema_md_columns())
    if (name != "audit_log" && name != "contradiction_notes" && name.rfind("memory_", 0) != 0) names.push_back(name);
  return names;
}

std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

std::string read_bytes(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

void write_file(const std::filesystem::path& path, const std::string& text) {
  std::filesystem::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << text;
}

class MigrateCli : public ::testing::Test {
 protected:
  // Runs `lunadb ARGS` in the temporary folder with only PATH, HOME and `env_` set.
  int lunadb(const std::string& args, std::string* output = nullptr) {
    std::string command = "cd " + shell_quote(dir_.path().string()) + " && env -i PATH=" + shell_quote(getenv("PATH") ? getenv("PATH") : "") +
                          " HOME=" + shell_quote(dir_.path().string());
    for (auto& [k, v] : env_) command += " " + k + "=" + shell_quote(v);
    command += " " + shell_quote(LUNADB_CLI_PATH) + " " + args;
    std::string captured;
    int code = test::run_command(command, &captured);
    if (output) *output = captured;
    return code;
  }

  // Starts `lunadb ARGS...` directly (no shell) so that it can be killed; output goes to
  // `output_file` (discarded when empty).
  pid_t spawn(const std::vector<std::string>& args, const std::string& output_file = "") {
    std::vector<std::string> environment = {"PATH=" + std::string(getenv("PATH") ? getenv("PATH") : ""), "HOME=" + dir_.path().string()};
    for (auto& [k, v] : env_) environment.push_back(k + "=" + v);
    pid_t pid = fork();
    if (pid == 0) {
      if (chdir(dir_.path().c_str()) != 0) _exit(127);
      std::vector<char*> argv{const_cast<char*>(LUNADB_CLI_PATH)};
      for (auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
      argv.push_back(nullptr);
      std::vector<char*> envp;
      for (auto& e : environment) envp.push_back(const_cast<char*>(e.c_str()));
      envp.push_back(nullptr);
      FILE* null = fopen(output_file.empty() ? "/dev/null" : output_file.c_str(), "w");
      if (null) {
        dup2(fileno(null), 1);
        dup2(fileno(null), 2);
      }
      execve(LUNADB_CLI_PATH, argv.data(), envp.data());
      _exit(127);
    }
    return pid;
  }

  static int wait_for(pid_t pid) {
    int status = 0;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
  }

  std::unique_ptr<sql::Connection> open(const std::filesystem::path& db) {
    return sql::open_connection(parse_db_url("sqlite:///" + db.string()), sql::ConnectOptions{});
  }

  std::vector<std::string> table_names(const std::filesystem::path& db) {
    auto c = open(db);
    std::vector<std::string> names;
    for (auto& t : c->dialect().introspect(*c).tables) names.push_back(t.name);
    std::sort(names.begin(), names.end());
    return names;
  }

  std::vector<std::string> query_texts(const std::filesystem::path& db, const std::string& sql) {
    auto c = open(db);
    auto st = c->prepare(sql);
    std::vector<std::string> out;
    while (st->step()) out.push_back(st->get_text(0));
    return out;
  }

  // Taking over databases that Luna made without alembic_version: create_all's shape (revision
  // 6f1c2a9e0b31), the 001 shape, and one that lacks a column. `connect` opens the test's database.
  void adoption_scenario(const std::function<std::unique_ptr<sql::Connection>()>& connect) {
    auto count = [&](const std::string& table) {
      auto c = connect();
      auto st = c->prepare("SELECT COUNT(*) FROM " + c->dialect().quote(table));
      return st->step() ? st->get_int64(0) : -1;
    };
    auto version_rows = [&]() -> std::vector<std::string> {
      auto c = connect();
      if (!c->dialect().table_exists(*c, "alembic_version")) return {"(no table)"};
      std::vector<std::string> rows;
      auto st = c->prepare("SELECT version_num FROM alembic_version");
      while (st->step()) rows.push_back(st->get_text(0));
      return rows;
    };
    auto forget_revision = [&] { connect()->execute("DROP TABLE alembic_version"); };
    std::string out;

    // create_all's shape, with rows as Luna writes them.
    ASSERT_EQ(lunadb("upgrade 6f1c2a9e0b31", &out), 0) << out;
    {
      auto c = connect();
      c->execute("INSERT INTO conversations (title, message_count) VALUES ('hi', 1)");
      c->execute("INSERT INTO messages (conversation_id, role, content) SELECT id, 'user', 'hello' FROM conversations");
      c->execute("INSERT INTO facts (category, content, source) VALUES ('routine', 'runs', 'pattern_mining')");
      c->execute("INSERT INTO facts (category, content) VALUES ('preference', 'tea')");
      c->execute("INSERT INTO fact_relationships (fact_id_a, fact_id_b, relationship) "
                 "SELECT MIN(id), MAX(id), 'contradicts' FROM facts");
      c->execute("INSERT INTO proactive_log (message) VALUES ('no reason')");
    }
    forget_revision();
    ASSERT_EQ(lunadb("status", &out), 0) << out;
    EXPECT_NE(out.find("it matches revision 6f1c2a9e0b31"), std::string::npos) << out;
    ASSERT_EQ(lunadb("adopt --dry-run", &out), 0) << out;
    EXPECT_NE(out.find("it matches revision 6f1c2a9e0b31"), std::string::npos) << out;
    EXPECT_NE(out.find("would stamp 6f1c2a9e0b31"), std::string::npos) << out;
    EXPECT_EQ(version_rows(), std::vector<std::string>{"(no table)"}) << "--dry-run writes nothing";
    ASSERT_EQ(lunadb("upgrade head", &out), 0) << out;
    EXPECT_NE(out.find("Adopting a database made by Luna's create_all(): it matches revision 6f1c2a9e0b31"),
              std::string::npos) << out;
    EXPECT_EQ(version_rows(), std::vector<std::string>{test::head_revision()});
    EXPECT_EQ(count("conversations"), 1);
    EXPECT_EQ(count("messages"), 1);
    EXPECT_EQ(count("facts"), 2);
    EXPECT_EQ(count("fact_relationships"), 1);
    EXPECT_EQ(count("proactive_log"), 1);
    EXPECT_EQ(count("personality_state"), 1);  // added, as Luna's init_db() would
    {
      auto c = connect();
      auto st = c->prepare("SELECT relationship FROM fact_relationships");
      ASSERT_TRUE(st->step());
      EXPECT_EQ(st->get_text(0), "contradicts");
    }
    ASSERT_EQ(lunadb("adopt", &out), 0) << out;
    EXPECT_NE(out.find("already under migration control at " + test::head_revision()), std::string::npos) << out;

    // Luna's alembic 001 shape (no model indexes), alembic_version lost: adopted as 001.
    ASSERT_EQ(lunadb("downgrade 001", &out), 0) << out;
    forget_revision();
    ASSERT_EQ(lunadb("adopt", &out), 0) << out;
    EXPECT_NE(out.find("it matches revision 001"), std::string::npos) << out;
    EXPECT_EQ(version_rows(), std::vector<std::string>{"001"});
    ASSERT_EQ(lunadb("upgrade head", &out), 0) << out;
    EXPECT_EQ(count("facts"), 2);

    // A column missing: refused, each difference named, nothing written.
    ASSERT_EQ(lunadb("downgrade 001", &out), 0) << out;
    forget_revision();
    connect()->execute("ALTER TABLE tasks DROP COLUMN priority");
    EXPECT_EQ(lunadb("adopt", &out), 1) << out;
    EXPECT_NE(out.find("column tasks.priority is missing"), std::string::npos) << out;
    EXPECT_EQ(lunadb("upgrade head", &out), 1) << out;
    EXPECT_NE(out.find("column tasks.priority is missing"), std::string::npos) << out;
    EXPECT_NE(out.find("nothing was changed"), std::string::npos) << out;
    EXPECT_EQ(version_rows(), std::vector<std::string>{"(no table)"});
    EXPECT_EQ(count("facts"), 2);
  }

  test::TempDir dir_{"lunadb-migrate-cli"};
  std::map<std::string, std::string> env_;
};

TEST_F(MigrateCli, UpgradeDowngradeCurrentCheckInAnEmptyFolder) {
  std::string out;
  ASSERT_EQ(lunadb("upgrade head", &out), 0) << out;
  auto db = dir_ / "data/luna.db";
  ASSERT_TRUE(std::filesystem::exists(db)) << out;
  EXPECT_NE(out.find("Running upgrade  -> "), std::string::npos) << out;

  std::vector<std::string> expected_tables;
  for (auto& [name, columns] : schema_md_columns()) expected_tables.push_back(name);
  EXPECT_EQ(table_names(db), expected_tables);
  {
    auto c = open(db);
    auto live = c->dialect().introspect(*c);
    for (auto& [name, columns] : schema_md_columns()) {
      std::vector<std::string> actual;
      for (auto& column : live.find_table(name)->columns) actual.push_back(column.name);
      EXPECT_EQ(actual, columns) << name;
    }
  }
  EXPECT_EQ(query_texts(db, "SELECT current_mood FROM personality_state WHERE id = 1"), std::vector<std::string>{"neutral"});

  ASSERT_EQ(lunadb("current", &out), 0) << out;
  EXPECT_NE(out.find(" (head)"), std::string::npos) << out;
  std::string head = out.substr(0, out.find(' '));
  EXPECT_EQ(query_texts(db, "SELECT version_num FROM alembic_version"), std::vector<std::string>{head});

  ASSERT_EQ(lunadb("history", &out), 0) << out;
  EXPECT_NE(out.find(" -> " + head + " (head) (current), "), std::string::npos) << out;
  EXPECT_NE(out.find("<base> -> 001, "), std::string::npos) << out;  // Luna's own first revision
  ASSERT_EQ(lunadb("heads", &out), 0) << out;
  EXPECT_EQ(out, head + " (head)\n");

  ASSERT_EQ(lunadb("downgrade base", &out), 0) << out;
  EXPECT_TRUE(table_names(db).empty());
  ASSERT_EQ(lunadb("current", &out), 0) << out;
  EXPECT_EQ(out, "");
  ASSERT_EQ(lunadb("upgrade head", &out), 0) << out;
  EXPECT_EQ(table_names(db), expected_tables);
  ASSERT_EQ(lunadb("upgrade head", &out), 0) << out;  // nothing left to do

  ASSERT_EQ(lunadb("check", &out), 0) << out;
  EXPECT_NE(out.find("No new upgrade operations detected."), std::string::npos) << out;
  ASSERT_EQ(lunadb("downgrade -1", &out), 0) << out;  // a negative positional, as with Alembic
  EXPECT_NE(query_texts(db, "SELECT version_num FROM alembic_version"), std::vector<std::string>{head});
  ASSERT_EQ(lunadb("downgrade 6f1c2a9e0b31", &out), 0) << out;
  EXPECT_EQ(table_names(db), luna_tables());           // back at Luna's revisions: lunadb's tables gone
  EXPECT_EQ(query_texts(db, "SELECT version_num FROM alembic_version"), std::vector<std::string>{"6f1c2a9e0b31"});
  ASSERT_EQ(lunadb("downgrade 001", &out), 0) << out;
  EXPECT_EQ(query_texts(db, "SELECT version_num FROM alembic_version"), std::vector<std::string>{"001"});
  ASSERT_EQ(lunadb("downgrade -1", &out), 0) << out;
  EXPECT_TRUE(table_names(db).empty());
}

TEST_F(MigrateCli, AdoptsDatabasesLunaMadeWithoutAlembicVersion) {
  adoption_scenario([&] { return open(dir_ / "data/luna.db"); });
}

TEST_F(MigrateCli, CurrentOnAMissingDatabaseCreatesNothing) {
  std::string out;
  ASSERT_EQ(lunadb("current", &out), 0) << out;
  EXPECT_FALSE(std::filesystem::exists(dir_ / "data")) << out;
}

TEST_F(MigrateCli, SqlPrintsTheCompleteDdlAndCreatesNoFile) {
  std::string out;
  ASSERT_EQ(lunadb("upgrade head --sql", &out), 0) << out;
  for (auto& [name, columns] : schema_md_columns()) {
    EXPECT_NE(out.find("CREATE TABLE \"" + name + "\""), std::string::npos) << name;
    for (auto& column : columns) EXPECT_NE(out.find("\"" + column + "\""), std::string::npos) << name << "." << column;
  }
  EXPECT_NE(out.find("BEGIN;"), std::string::npos);
  EXPECT_NE(out.find("COMMIT;"), std::string::npos);
  EXPECT_NE(out.find("CREATE TABLE alembic_version"), std::string::npos);
  EXPECT_NE(out.find("INSERT INTO personality_state (id) SELECT 1 WHERE NOT EXISTS"), std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(dir_ / "data")) << "--sql must not create the database";
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir_.path()), std::filesystem::directory_iterator()), 0);

  // The printed script builds the same database as an online upgrade.
  write_file(dir_ / "script.sql", out);
  ASSERT_EQ(test::run_command("sqlite3 " + shell_quote((dir_ / "offline.db").string()) + " < " + shell_quote((dir_ / "script.sql").string()), &out), 0)
      << out;
  env_["DB_PATH"] = (dir_ / "offline.db").string();
  ASSERT_EQ(lunadb("check", &out), 0) << out;
  ASSERT_EQ(lunadb("current", &out), 0) << out;
  EXPECT_NE(out.find("(head)"), std::string::npos) << out;
  ASSERT_EQ(lunadb("upgrade head", &out), 0) << out;

  // downgrade --sql needs START:END and also touches nothing.
  env_.erase("DB_PATH");
  EXPECT_EQ(lunadb("downgrade base --sql", &out), 2) << out;
  EXPECT_NE(out.find("downgrade with --sql requires <fromrev>:<torev>"), std::string::npos) << out;
  ASSERT_EQ(lunadb("downgrade head:base --sql", &out), 0) << out;
  EXPECT_NE(out.find("DROP TABLE \"facts\""), std::string::npos) << out;
  EXPECT_NE(out.find("DROP TABLE alembic_version"), std::string::npos) << out;
  EXPECT_FALSE(std::filesystem::exists(dir_ / "data"));
}

TEST_F(MigrateCli, RangeWithoutSqlIsRefused) {
  std::string out;
  EXPECT_EQ(lunadb("upgrade base:head", &out), 2) << out;
  EXPECT_NE(out.find("Range revision not allowed"), std::string::npos) << out;
  EXPECT_FALSE(std::filesystem::exists(dir_ / "data"));
}

TEST_F(MigrateCli, FileThatIsNotADatabaseIsAnErrorAndStaysUntouched) {
  std::string garbage = "#!/bin/sh\necho this is a shell script, not a database\n" + std::string(3000, '#');
  write_file(dir_ / "data/luna.db", garbage);
  std::string out;
  EXPECT_EQ(lunadb("upgrade head", &out), 1) << out;
  EXPECT_NE(out.find("lunadb: "), std::string::npos) << out;
  EXPECT_EQ(read_bytes(dir_ / "data/luna.db"), garbage);
  EXPECT_EQ(lunadb("current", &out), 1) << out;
  EXPECT_EQ(read_bytes(dir_ / "data/luna.db"), garbage);
}

TEST_F(MigrateCli, DatabaseAtAnUnknownRevisionIsAnErrorAndStaysUntouched) {
  std::string out;
  ASSERT_EQ(lunadb("upgrade head", &out), 0) << out;
  auto db = dir_ / "data/luna.db";
  {
    auto c = open(db);
    c->execute("UPDATE alembic_version SET version_num = 'feedfacecafe'");
  }
  std::string before = read_bytes(db);
  EXPECT_EQ(lunadb("upgrade head", &out), 1) << out;
  EXPECT_NE(out.find("database is at revision feedfacecafe, which none of the known revisions (embedded) contains"), std::string::npos) << out;
  EXPECT_EQ(lunadb("downgrade base", &out), 1) << out;
  EXPECT_EQ(read_bytes(db), before);

  env_["LUNADB_MIGRATIONS_DIR"] = (dir_ / "revisions").string();
  std::filesystem::create_directories(dir_ / "revisions");
  EXPECT_EQ(lunadb("upgrade head", &out), 1) << out;
  EXPECT_NE(out.find("which none of the known revisions (LUNADB_MIGRATIONS_DIR=" + (dir_ / "revisions").string() + ") contains"),
            std::string::npos)
      << out;
  EXPECT_EQ(read_bytes(db), before);
}

std::string revision_file(const std::string& id, const std::string& parent, const std::string& up, const std::string& down) {
  return "revision: " + id + "\ndown_revision: " + parent + "\nmessage: test " + id + "\ncreate_date: 2026-01-01 00:00:0" +
         id.back() + "\nupgrade:\n" + up + "\ndowngrade:\n" + down + "\n";
}

std::string marker(const std::string& id) {
  return "create_table m_" + id + "\n  column id id not null\n  primary_key pk_m_" + id + " (id)\nend";
}

TEST_F(MigrateCli, TargetErrors) {
  auto revisions = dir_ / "revisions";
  env_["LUNADB_MIGRATIONS_DIR"] = revisions.string();
  write_file(revisions / "1.rev", revision_file("aa0001", "none", marker("aa0001"), "drop_table m_aa0001"));
  write_file(revisions / "2.rev", revision_file("aa0002", "aa0001", marker("aa0002"), "drop_table m_aa0002"));
  write_file(revisions / "3.rev", revision_file("ab0003", "aa0001", marker("ab0003"), "drop_table m_ab0003"));
  std::string out;
  EXPECT_EQ(lunadb("upgrade head", &out), 1) << out;
  EXPECT_NE(out.find("Multiple head revisions are present for given argument 'head'"), std::string::npos) << out;
  EXPECT_EQ(lunadb("upgrade a", &out), 2) << out;
  EXPECT_NE(out.find("Multiple revisions start with 'a': aa0001, aa0002, ab0003"), std::string::npos) << out;
  EXPECT_EQ(lunadb("upgrade zz", &out), 1) << out;
  EXPECT_NE(out.find("No such revision or branch 'zz'"), std::string::npos) << out;
  ASSERT_EQ(lunadb("upgrade ab", &out), 0) << out;
  ASSERT_EQ(lunadb("current", &out), 0) << out;
  EXPECT_EQ(out, "ab0003 (head)\n");
  ASSERT_EQ(lunadb("upgrade heads", &out), 0) << out;
  ASSERT_EQ(lunadb("current", &out), 0) << out;
  EXPECT_EQ(out, "aa0002 (head)\nab0003 (head)\n");
  ASSERT_EQ(lunadb("stamp base", &out), 0) << out;
  ASSERT_EQ(lunadb("current", &out), 0) << out;
  EXPECT_EQ(out, "");

  write_file(revisions / "4.rev", "revision: bad\ndown_revision: none\nmessage: m\ncreate_date: d\nupgrade:\nexplode t\ndowngrade:\n");
  EXPECT_EQ(lunadb("heads", &out), 1) << out;
  EXPECT_NE(out.find((revisions / "4.rev").string() + ":6: unknown operation 'explode'"), std::string::npos) << out;
}

TEST_F(MigrateCli, RevisionCommandWritesIntoTheMigrationsDir) {
  auto revisions = dir_ / "revisions";
  env_["LUNADB_MIGRATIONS_DIR"] = revisions.string();
  std::filesystem::create_directories(revisions);
  std::string out;
  ASSERT_EQ(lunadb("check", &out), 1) << out;
  EXPECT_NE(out.find("New upgrade operations detected:"), std::string::npos) << out;
  EXPECT_NE(out.find("create table conversations"), std::string::npos) << out;
  ASSERT_EQ(lunadb("revision -m 'initial schema' --autogenerate", &out), 0) << out;
  ASSERT_EQ(lunadb("check", &out), 0) << out;
  ASSERT_EQ(lunadb("revision -m 'hand written'", &out), 0) << out;
  int files = 0;
  for (auto& entry : std::filesystem::directory_iterator(revisions)) files += entry.path().extension() == ".rev";
  EXPECT_EQ(files, 2);
  ASSERT_EQ(lunadb("upgrade head", &out), 0) << out;
  ASSERT_EQ(lunadb("history", &out), 0) << out;
  EXPECT_NE(out.find("(head) (current), hand written"), std::string::npos) << out;
  EXPECT_NE(out.find(", initial schema"), std::string::npos) << out;
}

// Revisions that each take a noticeable time, so that a kill lands inside one.
void write_slow_revisions(const std::filesystem::path& dir, int count) {
  for (int i = 1; i <= count; ++i) {
    std::string id = "s0" + std::to_string(i);
    std::string parent = i == 1 ? "none" : "s0" + std::to_string(i - 1);
    std::string up = marker(id) +
                     "\nsql sqlite: CREATE TABLE bulk_" + id +
                     " AS WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 300000) "
                     "SELECT x, hex(randomblob(32)) AS pad FROM c";
    std::string down = "sql sqlite: DROP TABLE bulk_" + id + "\ndrop_table m_" + id;
    write_file(dir / (id + ".rev"), revision_file(id, parent, up, down));
  }
}

// After every kill the database is at a whole revision: version row and tables agree.
void expect_whole_revision(MigrateCli* self, const std::filesystem::path& db, int count,
                           const std::function<std::vector<std::string>(const std::string&)>& query) {
  (void)self;
  bool has_version_table = !query("SELECT name FROM sqlite_master WHERE name = 'alembic_version'").empty();
  auto rows = has_version_table ? query("SELECT version_num FROM alembic_version") : std::vector<std::string>{};
  ASSERT_LE(rows.size(), 1u);
  int at = rows.empty() ? 0 : std::stoi(rows[0].substr(2));
  auto tables = query("SELECT name FROM sqlite_master WHERE type = 'table' AND (name LIKE 'm\\_%' ESCAPE '\\' OR name LIKE 'bulk\\_%' ESCAPE '\\')");
  EXPECT_EQ(tables.size(), static_cast<std::size_t>(2 * at)) << "at revision " << at;
  for (int i = 1; i <= count; ++i) {
    bool present = std::find(tables.begin(), tables.end(), "m_s0" + std::to_string(i)) != tables.end();
    EXPECT_EQ(present, i <= at) << "marker " << i << " at revision " << at;
  }
  EXPECT_EQ(query("PRAGMA integrity_check"), std::vector<std::string>{"ok"});
  (void)db;
}

TEST_F(MigrateCli, KilledUpgradeLeavesAWholeRevision) {
  constexpr int kRevisions = 4;
  auto revisions = dir_ / "revisions";
  write_slow_revisions(revisions, kRevisions);
  env_["LUNADB_MIGRATIONS_DIR"] = revisions.string();
  auto db = dir_ / "data/luna.db";
  std::mt19937 random(std::random_device{}());
  auto query = [&](const std::string& sql) { return query_texts(db, sql); };
  int killed_mid_run = 0;
  for (int round = 0; round < 6; ++round) {
    pid_t pid = spawn({"upgrade", "head"});
    std::this_thread::sleep_for(std::chrono::milliseconds(std::uniform_int_distribution<int>(30, 900)(random)));
    kill(pid, SIGKILL);
    int code = wait_for(pid);
    if (code == -SIGKILL) ++killed_mid_run;
    if (std::filesystem::exists(db)) expect_whole_revision(this, db, kRevisions, query);
    std::string out;
    if (round % 3 == 2) {
      ASSERT_EQ(lunadb("downgrade base", &out), 0) << out;  // start over now and then
    }
  }
  EXPECT_GT(killed_mid_run, 0) << "no kill landed while the upgrade ran; the test proved nothing";
  std::string out;
  ASSERT_EQ(lunadb("upgrade head", &out), 0) << out;
  expect_whole_revision(this, db, kRevisions, query);
  EXPECT_EQ(query("SELECT version_num FROM alembic_version"), std::vector<std::string>{"s04"});
}

TEST_F(MigrateCli, TwoProcessesUpgradingAtOnceApplyEachRevisionOnce) {
  auto revisions = dir_ / "revisions";
  env_["LUNADB_MIGRATIONS_DIR"] = revisions.string();
  write_file(revisions / "0.rev",
             revision_file("p00", "none", "create_table applied\n  column id id not null\n  column rev string(32) not null\n  primary_key pk_applied (id)\nend",
                           "drop_table applied"));
  for (int i = 1; i <= 6; ++i) {
    std::string id = "p0" + std::to_string(i);
    write_file(revisions / (id + ".rev"),
               revision_file(id, "p0" + std::to_string(i - 1),
                             marker(id) + "\ninsert applied (rev) values ('" + id + "')" +
                                 "\nsql sqlite: CREATE TABLE bulk_" + id +
                                 " AS WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 50000) SELECT x FROM c",
                             "drop_table m_" + id));
  }
  auto first_log = (dir_ / "first.log").string();
  auto second_log = (dir_ / "second.log").string();
  pid_t first = spawn({"upgrade", "head"}, first_log);
  pid_t second = spawn({"upgrade", "head"}, second_log);
  EXPECT_EQ(wait_for(first), 0) << read_bytes(first_log);
  EXPECT_EQ(wait_for(second), 0) << read_bytes(second_log);
  auto db = dir_ / "data/luna.db";
  auto applied = query_texts(db, "SELECT rev FROM applied ORDER BY id");
  EXPECT_EQ(applied, (std::vector<std::string>{"p01", "p02", "p03", "p04", "p05", "p06"}));
  EXPECT_EQ(query_texts(db, "SELECT version_num FROM alembic_version"), std::vector<std::string>{"p06"});
}

// The same commands against PostgreSQL and MariaDB, with DB_URL written as users write it
// (postgresql+psycopg2://..., mysql+pymysql://...?charset=utf8mb4), each test on a fresh database.
class MigrateCliOnServer : public MigrateCli, public ::testing::WithParamInterface<test::MigrateBackend> {
 protected:
  void SetUp() override {
    LUNADB_REQUIRE_SERVER(GetParam().server_url());
    database_ = GetParam().fresh(dir_.path());
    env_["DB_URL"] = database_.url;
  }
  void TearDown() override { database_.owner.reset(); }

  std::unique_ptr<sql::Connection> connect() const {
    return sql::open_connection(parse_db_url(database_.url), sql::ConnectOptions{});
  }
  std::vector<std::string> server_tables() const {
    auto c = connect();
    std::vector<std::string> names;
    for (auto& t : c->dialect().introspect(*c).tables) names.push_back(t.name);
    std::sort(names.begin(), names.end());
    return names;
  }
  std::vector<std::string> server_texts(const std::string& sql) const {
    auto c = connect();
    auto st = c->prepare(sql);
    std::vector<std::string> out;
    while (st->step()) out.push_back(st->get_text(0));
    return out;
  }

  test::MigrateDatabase database_;
};

TEST_P(MigrateCliOnServer, UpgradeDowngradeCurrentCheck) {
  ASSERT_NE(database_.url.find(GetParam().backend == Backend::mysql ? "mysql+pymysql://" : "postgresql+psycopg2://"), std::string::npos);
  std::string out;
  ASSERT_EQ(lunadb("current", &out), 0) << out;
  EXPECT_EQ(out, "");
  ASSERT_EQ(lunadb("upgrade head", &out), 0) << out;
  EXPECT_NE(out.find("Running upgrade  -> "), std::string::npos) << out;
  EXPECT_FALSE(std::filesystem::exists(dir_ / "data")) << "a server URL must not create a SQLite file";

  std::vector<std::string> expected_tables;
  for (auto& [name, columns] : schema_md_columns()) expected_tables.push_back(name);
  EXPECT_EQ(server_tables(), expected_tables);
  {
    auto c = connect();
    auto live = c->dialect().introspect(*c);
    for (auto& [name, columns] : schema_md_columns()) {
      std::vector<std::string> actual;
      for (auto& column : live.find_table(name)->columns) actual.push_back(column.name);
      EXPECT_EQ(actual, columns) << name;
    }
  }
  EXPECT_EQ(server_texts("SELECT current_mood FROM personality_state WHERE id = 1"), std::vector<std::string>{"neutral"});

  ASSERT_EQ(lunadb("current", &out), 0) << out;
  EXPECT_NE(out.find(" (head)"), std::string::npos) << out;
  std::string head = out.substr(0, out.find(' '));
  EXPECT_EQ(server_texts("SELECT version_num FROM alembic_version"), std::vector<std::string>{head});
  ASSERT_EQ(lunadb("history", &out), 0) << out;
  EXPECT_NE(out.find(" -> " + head + " (head) (current), "), std::string::npos) << out;
  EXPECT_NE(out.find("<base> -> 001, "), std::string::npos) << out;  // Luna's own first revision
  ASSERT_EQ(lunadb("check", &out), 0) << out;
  EXPECT_NE(out.find("No new upgrade operations detected."), std::string::npos) << out;
  ASSERT_EQ(lunadb("upgrade head", &out), 0) << out;  // nothing left to do
  EXPECT_EQ(out.find("Running upgrade"), std::string::npos) << out;

  // autogenerate against the live database at head finds nothing.
  ASSERT_EQ(lunadb("revision -m 'no drift' --autogenerate", &out), 0) << out;
  EXPECT_EQ(out.find("Detected"), std::string::npos) << out;

  ASSERT_EQ(lunadb("downgrade base", &out), 0) << out;
  EXPECT_NE(out.find("Running downgrade " + head + " -> "), std::string::npos) << out;
  EXPECT_TRUE(server_tables().empty());
  EXPECT_TRUE(server_texts("SELECT version_num FROM alembic_version").empty());
  ASSERT_EQ(lunadb("current", &out), 0) << out;
  EXPECT_EQ(out, "");
  ASSERT_EQ(lunadb("upgrade head", &out), 0) << out;
  EXPECT_EQ(server_tables(), expected_tables);
}

TEST_P(MigrateCliOnServer, AdoptsDatabasesLunaMadeWithoutAlembicVersion) {
  adoption_scenario([&] { return connect(); });
}

TEST_P(MigrateCliOnServer, UnknownRevisionInTheDatabaseIsAnError) {
  std::string out;
  ASSERT_EQ(lunadb("upgrade head", &out), 0) << out;
  connect()->execute("UPDATE alembic_version SET version_num = 'feedfacecafe'");
  EXPECT_EQ(lunadb("upgrade head", &out), 1) << out;
  EXPECT_NE(out.find("database is at revision feedfacecafe, which none of the known revisions (embedded) contains"), std::string::npos) << out;
  EXPECT_EQ(lunadb("downgrade base", &out), 1) << out;
  EXPECT_EQ(server_tables().size(), schema_md_columns().size());
}

// Two `lunadb upgrade head` processes on one server database: the migration lock (pg_advisory_lock,
// GET_LOCK) serialises them and each revision is applied once.
TEST_P(MigrateCliOnServer, TwoProcessesUpgradingAtOnceApplyEachRevisionOnce) {
  auto revisions = dir_ / "revisions";
  env_["LUNADB_MIGRATIONS_DIR"] = revisions.string();
  write_file(revisions / "0.rev",
             revision_file("p00", "none", "create_table applied\n  column id id not null\n  column rev string(32) not null\n  primary_key pk_applied (id)\nend",
                           "drop_table applied"));
  for (int i = 1; i <= 6; ++i) {
    std::string id = "p0" + std::to_string(i);
    write_file(revisions / (id + ".rev"),
               revision_file(id, "p0" + std::to_string(i - 1), marker(id) + "\ninsert applied (rev) values ('" + id + "')",
                             "drop_table m_" + id));
  }
  auto first_log = (dir_ / "first.log").string();
  auto second_log = (dir_ / "second.log").string();
  pid_t first = spawn({"upgrade", "head"}, first_log);
  pid_t second = spawn({"upgrade", "head"}, second_log);
  EXPECT_EQ(wait_for(first), 0) << read_bytes(first_log);
  EXPECT_EQ(wait_for(second), 0) << read_bytes(second_log);
  EXPECT_EQ(server_texts("SELECT rev FROM applied ORDER BY id"), (std::vector<std::string>{"p01", "p02", "p03", "p04", "p05", "p06"}));
  EXPECT_EQ(server_texts("SELECT version_num FROM alembic_version"), std::vector<std::string>{"p06"});
  std::string logs = read_bytes(first_log) + read_bytes(second_log);
  for (int i = 0; i <= 6; ++i) {
    std::string line = "Running upgrade " + (i == 0 ? std::string() : "p0" + std::to_string(i - 1)) + " -> p0" + std::to_string(i) + ",";
    auto at = logs.find(line);
    EXPECT_NE(at, std::string::npos) << line << "\n" << logs;
    EXPECT_EQ(logs.find(line, at + 1), std::string::npos) << "applied twice: " << line << "\n" << logs;
  }
}

std::vector<test::MigrateBackend> server_backends() {
  std::vector<test::MigrateBackend> out;
  for (auto& backend : test::migrate_backends())
    if (backend.server_url) out.push_back(backend);
  return out;
}

INSTANTIATE_TEST_SUITE_P(Servers, MigrateCliOnServer, ::testing::ValuesIn(server_backends()),
                         [](const ::testing::TestParamInfo<test::MigrateBackend>& backend) { return backend.param.name; });

}  // namespace
}  // namespace lunadb::migrate
