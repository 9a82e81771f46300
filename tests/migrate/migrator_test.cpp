#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <optional>
#include <sstream>
#include <thread>

#include "lunadb/error.hpp"
#include "lunadb/migrate.hpp"
#include "migrate/autogenerate.hpp"
#include "migrate/backends.hpp"
#include "migrate/revision_set.hpp"
#include "schema/model.hpp"
#include "sql/dialect.hpp"
#include "sql/driver.hpp"
#include "support/servers.hpp"
#include "support/temp_dir.hpp"

namespace lunadb::migrate {
namespace {

using test::MigrateBackend;

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

std::string revision_text(const std::string& id, const std::string& parents, const std::string& up, const std::string& down) {
  return "revision: " + id + "\ndown_revision: " + parents + "\nmessage: test " + id + "\ncreate_date: 2026-01-01 00:00:00." +
         id.substr(id.size() - 2) + "\nupgrade:\n" + up + "\ndowngrade:\n" + down + "\n";
}

std::string marker_table(const std::string& id) {
  return "create_table m_" + id + "\n  column id id not null\n  primary_key pk_m_" + id + " (id)\nend";
}

class MigratorOnBackend : public ::testing::TestWithParam<MigrateBackend> {
 protected:
  void SetUp() override {
    if (GetParam().server_url) LUNADB_REQUIRE_SERVER(GetParam().server_url());
    database_ = GetParam().fresh(dir_.path());
    url_ = database_.url;
  }
  // Drops the server database (its connections are closed by now: migrators live in the test body).
  void TearDown() override { database_.owner.reset(); }

  bool is_sqlite() const { return GetParam().backend == Backend::sqlite; }
  bool is_mysql() const { return GetParam().backend == Backend::mysql; }
  std::filesystem::path revisions_dir() const { return dir_ / "revisions"; }
  std::filesystem::path sqlite_file() const { return dir_ / "test.db"; }

  Settings settings(bool embedded = false) const {
    std::map<std::string, std::string> overrides{{"DB_URL", url_}};
    if (!embedded) overrides["LUNADB_MIGRATIONS_DIR"] = revisions_dir().string();
    return load_settings(overrides, dir_.path());
  }

  void add_revision(const std::string& id, const std::string& parents, const std::string& up, const std::string& down) {
    write_file(revisions_dir() / (id + ".rev"), revision_text(id, parents, up, down));
  }

  // r01 -> r02 -> r03, each creating a marker table.
  void linear_revisions() {
    add_revision("r01", "none", marker_table("r01"), "drop_table m_r01");
    add_revision("r02", "r01", marker_table("r02"), "drop_table m_r02");
    add_revision("r03", "r02", marker_table("r03"), "drop_table m_r03");
  }

  std::unique_ptr<sql::Connection> connect() const { return sql::open_connection(parse_db_url(url_), sql::ConnectOptions{}); }

  std::vector<std::string> tables() const {
    auto c = connect();
    std::vector<std::string> names;
    for (auto& t : c->dialect().introspect(*c).tables) names.push_back(t.name);
    std::sort(names.begin(), names.end());
    return names;
  }

  std::int64_t scalar(const std::string& sql) const {
    auto c = connect();
    auto st = c->prepare(sql);
    EXPECT_TRUE(st->step()) << sql;
    return st->get_int64(0);
  }

  test::TempDir dir_{"lunadb-migrate"};
  test::MigrateDatabase database_;
  std::string url_;
};

std::vector<std::string> sorted(std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  return v;
}

TEST_P(MigratorOnBackend, EmbeddedRevisionsCreateLunasTablesAndLunadbsAndRemoveThem) {
  Migrator migrator(settings(/*embedded=*/true));
  ASSERT_EQ(migrator.heads().size(), 1u);
  EXPECT_EQ(migrator.revisions_origin(), "embedded");
  EXPECT_FALSE(migrator.upgrade("head").empty());
  EXPECT_EQ(migrator.current(), migrator.heads());

  std::vector<std::string> expected;
  for (auto& t : schema::luna_schema().tables) expected.push_back(t.name);
  EXPECT_EQ(tables(), sorted(expected));
  EXPECT_EQ(scalar("SELECT COUNT(*) FROM personality_state WHERE id = 1"), 1);
  EXPECT_EQ(scalar("SELECT COUNT(*) FROM personality_state"), 1);
  {
    // The live schema is the model: nothing left to generate.
    auto c = connect();
    auto live = c->dialect().introspect(*c);
    for (auto& model_table : schema::luna_schema().tables) {
      auto* live_table = live.find_table(model_table.name);
      ASSERT_NE(live_table, nullptr);
      ASSERT_EQ(live_table->columns.size(), model_table.columns.size()) << model_table.name;
      for (std::size_t i = 0; i < model_table.columns.size(); ++i)
        EXPECT_EQ(live_table->columns[i].name, model_table.columns[i].name);
    }
  }

  EXPECT_FALSE(migrator.downgrade("base").empty());
  EXPECT_TRUE(tables().empty());
  EXPECT_TRUE(migrator.current().empty());
  EXPECT_EQ(scalar("SELECT COUNT(*) FROM alembic_version"), 0);  // Alembic keeps the empty table

  migrator.upgrade("head");
  EXPECT_EQ(tables().size(), schema::luna_schema().tables.size());
  EXPECT_TRUE(migrator.upgrade("head").empty()) << "a second upgrade has nothing to do";
}

TEST_P(MigratorOnBackend, CheckFindsNoDifferenceForTheEmbeddedRevisions) {
  Migrator migrator(settings(true));
  EXPECT_EQ(migrator.check(), std::vector<std::string>{});
}

TEST_P(MigratorOnBackend, CheckReportsWhatTheRevisionsLack) {
  linear_revisions();
  Migrator migrator(settings());
  auto differences = migrator.check();
  // Every table of the model is missing, the three marker tables are extra.
  EXPECT_EQ(differences.size(), schema::luna_schema().tables.size() + 3);
  EXPECT_NE(std::find(differences.begin(), differences.end(), "create table facts"), differences.end());
  EXPECT_NE(std::find(differences.begin(), differences.end(), "drop table m_r02"), differences.end());
  if (is_sqlite()) {
    EXPECT_FALSE(std::filesystem::exists(sqlite_file())) << "check needs no user database";
  }
}

TEST_P(MigratorOnBackend, LinearUpgradeDowngradeAndRelativeTargets) {
  linear_revisions();
  Migrator migrator(settings());
  EXPECT_EQ(migrator.upgrade("+1"), std::vector<std::string>{"r01"});
  EXPECT_EQ(migrator.current(), std::vector<std::string>{"r01"});
  EXPECT_EQ(migrator.upgrade("r02"), std::vector<std::string>{"r02"});
  EXPECT_EQ(migrator.upgrade("head"), std::vector<std::string>{"r03"});
  EXPECT_EQ(tables(), (std::vector<std::string>{"m_r01", "m_r02", "m_r03"}));
  EXPECT_EQ(migrator.downgrade("-1"), std::vector<std::string>{"r03"});
  EXPECT_EQ(migrator.current(), std::vector<std::string>{"r02"});
  EXPECT_EQ(migrator.downgrade("r01"), std::vector<std::string>{"r02"});
  EXPECT_EQ(tables(), std::vector<std::string>{"m_r01"});
  EXPECT_EQ(migrator.upgrade("r01+2"), (std::vector<std::string>{"r02", "r03"}));
  EXPECT_EQ(migrator.downgrade("base"), (std::vector<std::string>{"r03", "r02", "r01"}));
  EXPECT_TRUE(tables().empty());
  EXPECT_TRUE(migrator.current().empty());
  EXPECT_EQ(scalar("SELECT COUNT(*) FROM alembic_version"), 0);
}

TEST_P(MigratorOnBackend, VersionTableHasAlembicsLayout) {
  linear_revisions();
  Migrator migrator(settings());
  migrator.upgrade("head");
  EXPECT_EQ(scalar("SELECT COUNT(*) FROM alembic_version WHERE version_num = 'r03'"), 1);
  if (is_sqlite()) {
    auto c = connect();
    auto st = c->prepare("SELECT sql FROM sqlite_master WHERE name = 'alembic_version'");
    ASSERT_TRUE(st->step());
    std::string ddl = st->get_text(0);
    EXPECT_NE(ddl.find("version_num VARCHAR(32) NOT NULL"), std::string::npos) << ddl;
    EXPECT_NE(ddl.find("CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num)"), std::string::npos) << ddl;
  }
}

// a1 -> a2 -> a3 -------> m1
//         `-> b1 -> b2 --'  
TEST_P(MigratorOnBackend, BranchesAndMergesKeepOneRowPerHead) {
  add_revision("a1", "none", marker_table("a1"), "drop_table m_a1");
  add_revision("a2", "a1", marker_table("a2"), "drop_table m_a2");
  add_revision("a3", "a2", marker_table("a3"), "drop_table m_a3");
  add_revision("b1", "a2", marker_table("b1"), "drop_table m_b1");
  add_revision("b2", "b1", marker_table("b2"), "drop_table m_b2");
  add_revision("m1", "a3, b2", "", "");
  Migrator migrator(settings());
  migrator.upgrade("a3");
  EXPECT_EQ(migrator.current(), std::vector<std::string>{"a3"});
  migrator.upgrade("b2");  // enters the second branch: INSERT
  EXPECT_EQ(migrator.current(), (std::vector<std::string>{"a3", "b2"}));
  EXPECT_EQ(migrator.upgrade("head"), std::vector<std::string>{"m1"});  // DELETE + UPDATE
  EXPECT_EQ(migrator.current(), std::vector<std::string>{"m1"});
  EXPECT_EQ(migrator.downgrade("-1"), std::vector<std::string>{"m1"});  // UPDATE + INSERT
  EXPECT_EQ(migrator.current(), (std::vector<std::string>{"a3", "b2"}));
  EXPECT_EQ(migrator.downgrade("b1"), std::vector<std::string>{"b2"});
  EXPECT_EQ(migrator.current(), (std::vector<std::string>{"a3", "b1"}));
  EXPECT_EQ(migrator.downgrade("a2"), (std::vector<std::string>{"b1", "a3"}));  // b1: DELETE, a3: UPDATE
  EXPECT_EQ(migrator.current(), std::vector<std::string>{"a2"});
  migrator.downgrade("base");
  EXPECT_TRUE(tables().empty());

  auto history = migrator.history(true);
  ASSERT_EQ(history.size(), 6u);
  EXPECT_EQ(history.front().id, "m1");
  EXPECT_TRUE(history.front().is_head);
  EXPECT_EQ(history.back().id, "a1");
}

TEST_P(MigratorOnBackend, HeadIsRefusedWhenTheRevisionsHaveSeveralHeads) {
  add_revision("a1", "none", marker_table("a1"), "drop_table m_a1");
  add_revision("a2", "a1", marker_table("a2"), "drop_table m_a2");
  add_revision("b2", "a1", marker_table("b2"), "drop_table m_b2");
  Migrator migrator(settings());
  try {
    migrator.upgrade("head");
    FAIL() << "upgrade head with two heads succeeded";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("Multiple head revisions are present for given argument 'head'"), std::string::npos) << e.what();
  }
  EXPECT_TRUE(tables().empty());
  migrator.upgrade("heads");
  EXPECT_EQ(migrator.current(), (std::vector<std::string>{"a2", "b2"}));
}

TEST_P(MigratorOnBackend, RebuildKeepsRowsIndexesAndForeignKeys) {
  add_revision("r01", "none",
               "create_table parent\n  column id id not null\n  primary_key pk_parent (id)\nend\n"
               "create_table child\n  column id id not null\n  column parent_id integer not null\n  column note string(20) null\n"
               "  primary_key pk_child (id)\n"
               "  foreign_key fk_child_parent_id_parent (parent_id) references parent (id) on_delete cascade\n"
               "  index ix_child_parent_id (parent_id)\nend\n"
               "insert parent (id) values (1), (2)\n"
               "insert child (id, parent_id, note) values (10, 1, 'a'), (11, 2, null)",
               "drop_table child\ndrop_table parent");
  add_revision("r02", "r01",
               "alter_column child note type string(40) not null default 'none'\n"
               "add_check child ck_child_note: {note} <> ''",
               "drop_check child ck_child_note\nalter_column child note type string(20) null no_default");
  Migrator migrator(settings());
  migrator.upgrade("r01");
  // NOT NULL is refused while a NULL exists; it is the revision's first statement, so even on
  // MySQL (no transactional DDL) nothing of it is applied.
  EXPECT_THROW(migrator.upgrade("head"), Error);
  EXPECT_EQ(migrator.current(), std::vector<std::string>{"r01"});
  {
    auto c = connect();
    c->execute("UPDATE child SET note = 'b' WHERE id = 11");
  }
  migrator.upgrade("head");
  EXPECT_EQ(migrator.current(), std::vector<std::string>{"r02"});
  EXPECT_EQ(scalar("SELECT COUNT(*) FROM child"), 2);
  auto c = connect();
  auto live = c->dialect().introspect(*c);
  const auto* child = live.find_table("child");
  ASSERT_NE(child, nullptr);
  EXPECT_FALSE(child->find_column("note")->nullable);
  EXPECT_EQ(child->find_column("note")->type.length, 40);
  ASSERT_EQ(child->foreign_keys.size(), 1u);
  EXPECT_EQ(child->foreign_keys[0].on_delete, schema::OnDelete::cascade);
  ASSERT_EQ(child->indexes.size(), 1u);
  ASSERT_EQ(child->checks.size(), 1u);
  EXPECT_THROW(c->execute("INSERT INTO child (id, parent_id, note) VALUES (12, 1, '')"), DatabaseError);
  c->execute("INSERT INTO child (id, parent_id) VALUES (12, 1)");
  EXPECT_EQ(scalar("SELECT COUNT(*) FROM child WHERE id = 12 AND note = 'none'"), 1) << "the new default applies";
  if (is_sqlite()) c->execute("PRAGMA foreign_keys = ON");  // servers always enforce them
  c->execute("DELETE FROM parent WHERE id = 1");
  EXPECT_EQ(scalar("SELECT COUNT(*) FROM child"), 1) << "the cascade survived the rebuild";
  c.reset();
  migrator.downgrade("r01");
  auto c2 = connect();
  auto after = c2->dialect().introspect(*c2);
  EXPECT_TRUE(after.find_table("child")->find_column("note")->nullable);
  EXPECT_TRUE(after.find_table("child")->checks.empty());
}

TEST_P(MigratorOnBackend, ForeignKeyViolatedByARevisionRollsItBack) {
  add_revision("r01", "none",
               "create_table parent\n  column id id not null\n  primary_key pk_parent (id)\nend\n"
               "create_table child\n  column id id not null\n  column parent_id integer not null\n  primary_key pk_child (id)\nend\n"
               "insert parent (id) values (1)\n"
               "insert child (id, parent_id) values (10, 1), (11, 99)",
               "drop_table child\ndrop_table parent");
  add_revision("r02", "r01", "add_foreign_key child fk_child_parent_id_parent (parent_id) references parent (id)",
               "drop_foreign_key child fk_child_parent_id_parent");
  Migrator migrator(settings());
  migrator.upgrade("r01");
  EXPECT_THROW(migrator.upgrade("head"), Error) << "child 11 points at a missing parent";
  EXPECT_EQ(migrator.current(), std::vector<std::string>{"r01"});
  {
    auto c = connect();
    EXPECT_TRUE(c->dialect().introspect(*c).find_table("child")->foreign_keys.empty());
    c->execute("DELETE FROM child WHERE id = 11");
  }
  migrator.upgrade("head");
  auto c = connect();
  EXPECT_EQ(c->dialect().introspect(*c).find_table("child")->foreign_keys.size(), 1u);
}

TEST_P(MigratorOnBackend, FailedRevisionLeavesTheDatabaseAtThePreviousRevision) {
  add_revision("r01", "none", marker_table("r01"), "drop_table m_r01");
  add_revision("r02", "r01",
               marker_table("r02") + "\nsql sqlite, postgresql, mysql, mssql: INSERT INTO no_such_table VALUES (1)",
               "drop_table m_r02");
  Migrator migrator(settings());
  try {
    migrator.upgrade("head");
    FAIL() << "the failing revision succeeded";
  } catch (const Error& e) {
    std::string message = e.what();
    EXPECT_NE(message.find("upgrade r02"), std::string::npos) << message;
    EXPECT_NE(message.find("statement 2 of 2"), std::string::npos) << message;
    EXPECT_NE(message.find("no_such_table"), std::string::npos) << message;
    if (sql::dialect_for(GetParam().backend).transactional_ddl()) {
      EXPECT_NE(message.find("The revision was rolled back; the database is unchanged."), std::string::npos) << message;
    } else {
      // MySQL committed the CREATE TABLE implicitly: the message must say so, statement by statement.
      EXPECT_NE(message.find("DDL is not transactional"), std::string::npos) << message;
      EXPECT_NE(message.find("Applied and kept (1 of 2):\n  1. CREATE TABLE `m_r02`"), std::string::npos) << message;
      EXPECT_NE(message.find("Failed: 2. INSERT INTO no_such_table VALUES (1)"), std::string::npos) << message;
      EXPECT_NE(message.find("Not run: none"), std::string::npos) << message;
      EXPECT_NE(message.find("alembic_version still names r01"), std::string::npos) << message;
    }
  }
  EXPECT_EQ(migrator.current(), std::vector<std::string>{"r01"});
  if (sql::dialect_for(GetParam().backend).transactional_ddl()) {
    EXPECT_EQ(tables(), std::vector<std::string>{"m_r01"});
  } else {
    EXPECT_EQ(tables(), (std::vector<std::string>{"m_r01", "m_r02"})) << "what the message says was applied is there";
  }
}

// A revision set in its own LUNADB_MIGRATIONS_DIR whose second statement fails, with statements
// after it: on MySQL the report lists exactly what was applied, what failed and what never ran;
// once repaired by hand (as the message asks), the upgrade completes.
TEST_P(MigratorOnBackend, FailedRevisionReportsAppliedFailedAndPendingStatements) {
  add_revision("r01", "none", marker_table("r01"), "drop_table m_r01");
  add_revision("r02", "r01",
               "add_column m_r01 note string(20) null\n"
               "sql sqlite, postgresql, mysql, mssql: UPDATE no_such_table SET x = 1\n"
               "create_index m_r01 ix_m_r01_note (note)\n" +
                   marker_table("r02"),
               "drop_table m_r02\ndrop_index m_r01 ix_m_r01_note\ndrop_column m_r01 note");
  Migrator migrator(settings());
  migrator.upgrade("r01");
  std::string message;
  try {
    migrator.upgrade("head");
    FAIL() << "the failing revision succeeded";
  } catch (const Error& e) {
    message = e.what();
  }
  EXPECT_NE(message.find("upgrade r02 (" + (revisions_dir() / "r02.rev").string() + ") failed at statement 2 of 4"), std::string::npos)
      << message;
  EXPECT_EQ(migrator.current(), std::vector<std::string>{"r01"});
  auto c = connect();
  auto note_column = [&] { return c->dialect().introspect(*c).find_table("m_r01")->find_column("note"); };
  if (!is_mysql()) {
    EXPECT_NE(message.find("The revision was rolled back"), std::string::npos) << message;
    EXPECT_EQ(note_column(), nullptr);
    EXPECT_EQ(tables(), std::vector<std::string>{"m_r01"});
    return;
  }
  EXPECT_NE(message.find("MySQL DDL is not transactional"), std::string::npos) << message;
  EXPECT_NE(message.find("Applied and kept (1 of 4):\n  1. ALTER TABLE `m_r01` ADD COLUMN `note` VARCHAR(20) NULL\n"), std::string::npos)
      << message;
  EXPECT_NE(message.find("Failed: 2. UPDATE no_such_table SET x = 1\n"), std::string::npos) << message;
  EXPECT_NE(message.find("Not run (2 of 4):\n  3. CREATE INDEX `ix_m_r01_note` ON `m_r01` (`note`)\n  4. CREATE TABLE `m_r02`"),
            std::string::npos)
      << message;
  EXPECT_NE(message.find("alembic_version still names r01"), std::string::npos) << message;
  // The database agrees with the report.
  ASSERT_NE(note_column(), nullptr);
  EXPECT_TRUE(c->dialect().introspect(*c).find_table("m_r01")->indexes.empty());
  EXPECT_EQ(tables(), std::vector<std::string>{"m_r01"});
  // Repair: undo the applied statement, then the upgrade runs the whole revision again.
  c->execute("ALTER TABLE m_r01 DROP COLUMN note");
  c->execute("CREATE TABLE no_such_table (x INT)");
  EXPECT_EQ(migrator.upgrade("head"), std::vector<std::string>{"r02"});
  EXPECT_EQ(tables(), (std::vector<std::string>{"m_r01", "m_r02", "no_such_table"}));
}

TEST_P(MigratorOnBackend, UnknownRevisionInTheDatabaseIsReportedAndNothingChanges) {
  linear_revisions();
  {
    auto c = connect();
    c->execute("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL, CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num))");
    c->execute("INSERT INTO alembic_version (version_num) VALUES ('0badc0ffee00')");
  }
  std::string before = is_sqlite() ? read_bytes(sqlite_file()) : "";
  Migrator migrator(settings());
  for (auto action : {+[](Migrator& m) { m.upgrade("head"); }, +[](Migrator& m) { m.current(); },
                      +[](Migrator& m) { m.downgrade("base"); }, +[](Migrator& m) { m.stamp("head"); }}) {
    try {
      action(migrator);
      FAIL() << "no error for an unknown revision";
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::migration);
      EXPECT_NE(std::string(e.what()).find("database is at revision 0badc0ffee00, which none of the known revisions (LUNADB_MIGRATIONS_DIR=" +
                                           revisions_dir().string() + ") contains"),
                std::string::npos)
          << e.what();
    }
  }
  if (is_sqlite()) {
    EXPECT_EQ(read_bytes(sqlite_file()), before);
  }
  migrator.stamp("r01", /*purge=*/true);
  EXPECT_EQ(migrator.current(), std::vector<std::string>{"r01"});
}

// SQLite files only: instantiated for the sqlite backend alone.
class MigratorOnSqlite : public MigratorOnBackend {};

TEST_P(MigratorOnSqlite, FileThatIsNotADatabaseStaysUntouched) {
  linear_revisions();
  std::string garbage = "this is not an SQLite database, just some text that happens to be here.\n";
  garbage += std::string(5000, 'x');
  write_file(sqlite_file(), garbage);
  Migrator migrator(settings());
  EXPECT_THROW(migrator.upgrade("head"), Error);
  EXPECT_THROW(migrator.current(), Error);
  EXPECT_EQ(read_bytes(sqlite_file()), garbage);
}

TEST_P(MigratorOnBackend, StampWritesTheVersionWithoutRunningMigrations) {
  linear_revisions();
  Migrator migrator(settings());
  migrator.stamp("r02");
  EXPECT_EQ(migrator.current(), std::vector<std::string>{"r02"});
  EXPECT_TRUE(tables().empty());
  migrator.stamp("heads");
  EXPECT_EQ(migrator.current(), std::vector<std::string>{"r03"});
  migrator.stamp("base");
  EXPECT_TRUE(migrator.current().empty());
  EXPECT_THROW(migrator.stamp("r01:r02"), Error);
}

TEST_P(MigratorOnBackend, PartialIdsAndTheirErrors) {
  add_revision("ab1001", "none", marker_table("ab1001"), "drop_table m_ab1001");
  add_revision("ab2002", "ab1001", marker_table("ab2002"), "drop_table m_ab2002");
  Migrator migrator(settings());
  EXPECT_EQ(migrator.upgrade("ab1"), std::vector<std::string>{"ab1001"});
  try {
    migrator.upgrade("ab");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::usage);
    EXPECT_NE(std::string(e.what()).find("Multiple revisions start with 'ab': ab1001, ab2002"), std::string::npos) << e.what();
  }
  try {
    migrator.upgrade("cd");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::not_found);
    EXPECT_NE(std::string(e.what()).find("No such revision or branch 'cd'"), std::string::npos) << e.what();
  }
  EXPECT_EQ(migrator.current(), std::vector<std::string>{"ab1001"});
}

TEST_P(MigratorOnBackend, RangesOnlyWorkOffline) {
  linear_revisions();
  Migrator migrator(settings());
  try {
    migrator.upgrade("r01:r03");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::usage);
    EXPECT_NE(std::string(e.what()).find("Range revision not allowed"), std::string::npos);
  }
  try {
    migrator.offline_sql("base", Direction::downgrade);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("downgrade with --sql requires <fromrev>:<torev>"), std::string::npos);
  }
}

TEST_P(MigratorOnBackend, OfflineSqlTouchesNothing) {
  linear_revisions();
  Migrator migrator(settings());
  std::string up = migrator.offline_sql("head", Direction::upgrade);
  const auto& dialect = sql::dialect_for(parse_db_url(url_).backend);
  std::string t = dialect.statement_terminator();
  EXPECT_NE(up.find("CREATE TABLE alembic_version"), std::string::npos) << up;
  EXPECT_NE(up.find("-- Running upgrade  -> r01, test r01"), std::string::npos) << up;
  EXPECT_NE(up.find("INSERT INTO alembic_version (version_num) VALUES ('r01')" + t), std::string::npos) << up;
  EXPECT_NE(up.find("UPDATE alembic_version SET version_num='r03' WHERE alembic_version.version_num = 'r02'" + t), std::string::npos) << up;
  if (dialect.transactional_ddl()) {
    EXPECT_NE(up.find("BEGIN" + t), std::string::npos);
    EXPECT_NE(up.find("COMMIT" + t), std::string::npos);
  }
  std::string partial = migrator.offline_sql("r01:r02", Direction::upgrade);
  EXPECT_EQ(partial.find("CREATE TABLE alembic_version"), std::string::npos) << partial;
  EXPECT_NE(partial.find("m_r02"), std::string::npos);
  EXPECT_EQ(partial.find("m_r03"), std::string::npos);

  std::string down = migrator.offline_sql("r03:base", Direction::downgrade);
  EXPECT_NE(down.find("DROP TABLE " + dialect.quote("m_r03")), std::string::npos) << down;
  EXPECT_NE(down.find("DELETE FROM alembic_version WHERE alembic_version.version_num = 'r01'"), std::string::npos) << down;
  EXPECT_NE(down.find("DROP TABLE alembic_version"), std::string::npos) << down;
  EXPECT_LT(down.find("m_r03"), down.find("m_r01"));
  if (is_sqlite()) {
    EXPECT_FALSE(std::filesystem::exists(sqlite_file()));
  }
}

TEST_P(MigratorOnBackend, OfflineRebuildUsesTheReplayedTable) {
  add_revision("r01", "none",
               "create_table items\n  column id id not null\n  column name string(10) null\n  primary_key pk_items (id)\n"
               "  index ix_items_name (name)\nend",
               "drop_table items");
  add_revision("r02", "r01", "alter_column items name not null default 'x'", "alter_column items name null no_default");
  Migrator migrator(settings());
  std::string script = migrator.offline_sql("r01:r02", Direction::upgrade);
  if (is_sqlite()) {
    // The rebuilt table carries the index and the new NOT NULL default, taken from the replay of r01.
    EXPECT_NE(script.find("ix_items_name"), std::string::npos) << script;
    EXPECT_NE(script.find("NOT NULL DEFAULT 'x'"), std::string::npos) << script;
  } else {
    // Servers ALTER in place; the script names the column's new nullability and default.
    EXPECT_NE(script.find("NOT NULL"), std::string::npos) << script;
    EXPECT_NE(script.find("'x'"), std::string::npos) << script;
  }
  // And the script really works: run it on the database at r01.
  migrator.upgrade("r01");
  auto c = connect();
  c->execute("INSERT INTO items (id, name) VALUES (1, 'a')");
  std::size_t start = 0;
  std::string t = c->dialect().statement_terminator() + "\n\n";
  while (start < script.size()) {
    auto end = script.find(t, start);
    std::string statement = script.substr(start, end - start);
    start = end + t.size();
    if (statement.rfind("--", 0) == 0) statement = statement.substr(statement.find("\n\n") + 2);
    c->execute(statement);
  }
  c.reset();
  EXPECT_EQ(migrator.current(), std::vector<std::string>{"r02"});
  EXPECT_EQ(scalar("SELECT COUNT(*) FROM items WHERE name = 'a'"), 1);
}

TEST_P(MigratorOnBackend, AutogenerateWritesTheMissingOperations) {
  linear_revisions();
  Migrator migrator(settings());
  migrator.upgrade("r02");
  try {
    migrator.autogenerate("too early", dir_ / "out");
    FAIL() << "autogenerate ran on a database below head";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("Target database is not up to date"), std::string::npos) << e.what();
  }
  migrator.upgrade("head");
  auto path = migrator.autogenerate("add the luna tables", revisions_dir());
  EXPECT_EQ(path.parent_path(), revisions_dir());
  EXPECT_NE(path.filename().string().find("_add_the_luna_tables.rev"), std::string::npos);
  std::string text = read_bytes(path);
  EXPECT_NE(text.find("down_revision: r03"), std::string::npos) << text;
  EXPECT_NE(text.find("Renames are never guessed"), std::string::npos);
  EXPECT_NE(text.find("create_table facts"), std::string::npos);
  EXPECT_NE(text.find("drop_table m_r02"), std::string::npos);
  // The generated revision applies, and then the database is the model.
  Migrator again(settings());
  EXPECT_EQ(again.upgrade("head").size(), 1u);
  EXPECT_TRUE(again.check().empty());
  std::vector<std::string> expected;
  for (auto& t : schema::luna_schema().tables) expected.push_back(t.name);
  EXPECT_EQ(tables(), sorted(expected));
  // Its downgrade restores the marker tables.
  again.downgrade("-1");
  EXPECT_EQ(tables(), (std::vector<std::string>{"m_r01", "m_r02", "m_r03"}));
}

TEST_P(MigratorOnBackend, AutogenerateDetectsColumnIndexAndConstraintChanges) {
  Migrator embedded(settings(true));
  embedded.upgrade("head");
  {
    auto c = connect();
    c->execute(is_mysql() ? "DROP INDEX ix_tasks_completed_due_date ON tasks" : "DROP INDEX ix_tasks_completed_due_date");
    c->execute("ALTER TABLE tasks ADD COLUMN legacy TEXT");
  }
  std::filesystem::create_directories(revisions_dir());
  auto path = embedded.autogenerate("drift", dir_ / "out");
  Revision r = parse_revision(read_bytes(path), path.string());
  std::vector<std::string> described;
  for (auto& op : r.upgrade) described.push_back(describe_operation(op.operation));
  EXPECT_EQ(described, (std::vector<std::string>{"drop column tasks.legacy", "create index ix_tasks_completed_due_date on tasks"}));
  ASSERT_EQ(r.downgrade.size(), 2u);
  EXPECT_EQ(describe_operation(r.downgrade[0].operation), "drop index ix_tasks_completed_due_date on tasks");
  EXPECT_EQ(std::get<AddColumn>(r.downgrade[1].operation).column.type.kind, schema::TypeKind::text);
}

// Autogenerate against the live database at the embedded head: no false positives; then drift
// made by hand (a column added, a column dropped, a nullability changed, an index dropped) is
// found, the generated revision repairs it, and no difference remains.
TEST_P(MigratorOnBackend, AutogenerateAgainstTheLiveHeadFindsExactlyTheHandMadeDrift) {
  std::filesystem::create_directories(revisions_dir());
  for (auto& entry : std::filesystem::directory_iterator(std::filesystem::path(LUNADB_SOURCE_DIR) / "migrations/versions"))
    if (entry.path().extension() == ".rev") std::filesystem::copy_file(entry.path(), revisions_dir() / entry.path().filename());
  std::vector<std::string> log;
  Migrator migrator(settings(), [&](const std::string& line) { log.push_back(line); });
  migrator.upgrade("head");
  auto live_differences = [&] {
    auto c = connect();
    return compare_schemas(c->dialect().introspect(*c), schema::luna_schema(), c->dialect()).differences;
  };
  EXPECT_EQ(live_differences(), std::vector<std::string>{}) << "false positives at head";
  log.clear();
  auto clean = migrator.autogenerate("nothing to do", dir_ / "clean");
  Revision nothing = parse_revision(read_bytes(clean), clean.string());
  EXPECT_TRUE(nothing.upgrade.empty());
  EXPECT_TRUE(nothing.downgrade.empty());
  EXPECT_NE(read_bytes(clean).find("No differences were detected"), std::string::npos);
  for (auto& line : log) EXPECT_EQ(line.rfind("Detected", 0), std::string::npos) << line;

  {
    auto c = connect();
    c->execute("ALTER TABLE tasks ADD COLUMN legacy TEXT");
    c->execute("ALTER TABLE tasks DROP COLUMN completed_at");
    switch (GetParam().backend) {
      case Backend::postgresql:
        c->execute("ALTER TABLE calendar_events ALTER COLUMN location SET NOT NULL");
        c->execute("DROP INDEX ix_tasks_completed_due_date");
        break;
      case Backend::mysql:
        c->execute("ALTER TABLE calendar_events MODIFY location VARCHAR(255) NOT NULL");
        c->execute("DROP INDEX ix_tasks_completed_due_date ON tasks");
        break;
      default: {
        // SQLite cannot ALTER nullability: rebuild the table the way a user would, with the dialect.
        c->execute("DROP INDEX ix_tasks_completed_due_date");
        const auto& d = c->dialect();
        schema::Table before = *d.introspect(*c).find_table("calendar_events");
        schema::Table after = before;
        for (auto& column : after.columns)
          if (column.name == "location") column.nullable = false;
        sql::Transaction tx(*c);
        for (auto& statement : d.alter_table(before, after)) c->execute(statement);
        tx.commit();
      }
    }
  }
  log.clear();
  auto path = migrator.autogenerate("repair drift", revisions_dir());
  Revision r = parse_revision(read_bytes(path), path.string());
  std::vector<std::string> found;
  for (auto& op : r.upgrade) found.push_back(describe_operation(op.operation));
  EXPECT_EQ(sorted(found), sorted({"add column tasks.completed_at", "alter column calendar_events.location (nullability)",
                                   "create index ix_tasks_completed_due_date on tasks", "drop column tasks.legacy"}));
  EXPECT_EQ(r.downgrade.size(), 4u);
  EXPECT_EQ(std::count_if(log.begin(), log.end(), [](const std::string& l) { return l.rfind("Detected ", 0) == 0; }), 4);
  for (auto& op : r.upgrade) {
    if (auto* alter = std::get_if<AlterColumn>(&op.operation)) {
      EXPECT_EQ(alter->nullable, std::optional<bool>(true));
    }
  }

  Migrator again(settings());
  EXPECT_EQ(again.upgrade("head").size(), 1u);
  EXPECT_EQ(live_differences(), std::vector<std::string>{}) << "the generated revision left differences";
  // Its downgrade brings the drift back.
  EXPECT_EQ(again.downgrade("-1").size(), 1u);
  auto c = connect();
  auto live = c->dialect().introspect(*c);
  EXPECT_NE(live.find_table("tasks")->find_column("legacy"), nullptr);
  EXPECT_EQ(live.find_table("tasks")->find_column("completed_at"), nullptr);
  EXPECT_FALSE(live.find_table("calendar_events")->find_column("location")->nullable);
}

std::vector<MigrateBackend> sqlite_only() {
  auto backends = test::migrate_backends();
  backends.resize(1);  // sqlite comes first
  return backends;
}

INSTANTIATE_TEST_SUITE_P(Sqlite, MigratorOnSqlite, ::testing::ValuesIn(sqlite_only()),
                         [](const ::testing::TestParamInfo<MigrateBackend>& backend) { return backend.param.name; });

INSTANTIATE_TEST_SUITE_P(Backends, MigratorOnBackend, ::testing::ValuesIn(test::migrate_backends()),
                         [](const ::testing::TestParamInfo<MigrateBackend>& backend) { return backend.param.name; });

// Two migrators (own connections, own threads) upgrading one database at once apply each
// revision exactly once: the second waits for the write lock and then re-reads alembic_version.
class MigrateConcurrency : public MigratorOnBackend {};

TEST_P(MigrateConcurrency, TwoRunnersApplyEachRevisionOnce) {
  add_revision("r00", "none", "create_table applied\n  column id id not null\n  column rev string(32) not null\n  primary_key pk_applied (id)\nend",
               "drop_table applied");
  for (int i = 1; i <= 8; ++i) {
    std::string id = "r0" + std::to_string(i);
    std::string parent = "r0" + std::to_string(i - 1);
    add_revision(id, parent, marker_table(id) + "\ninsert applied (rev) values ('" + id + "')", "drop_table m_" + id);
  }
  auto revisions = std::make_shared<const RevisionSet>(RevisionSet::from_directory(revisions_dir()));
  std::vector<std::vector<std::string>> applied(2);
  std::vector<std::string> errors(2);
  std::vector<std::thread> threads;
  for (int t = 0; t < 2; ++t) {
    threads.emplace_back([&, t] {
      try {
        auto c = connect();
        Migrator migrator(*c, revisions);
        applied[t] = migrator.upgrade("head");
      } catch (const std::exception& e) {
        errors[t] = e.what();
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(errors[0], "");
  EXPECT_EQ(errors[1], "");
  EXPECT_EQ(applied[0].size() + applied[1].size(), 9u);
  EXPECT_EQ(scalar("SELECT COUNT(*) FROM applied"), 8);
  EXPECT_EQ(scalar("SELECT COUNT(DISTINCT rev) FROM applied"), 8);
  EXPECT_EQ(scalar("SELECT COUNT(*) FROM alembic_version WHERE version_num = 'r08'"), 1);
}

// While another session holds the migration lock (servers: the dialect's pg_advisory_lock /
// GET_LOCK; SQLite: a write transaction), an upgrade waits and changes nothing; it runs once the
// lock is released.
TEST_P(MigrateConcurrency, UpgradeWaitsForTheMigrationLock) {
  linear_revisions();
  auto holder = connect();
  if (is_sqlite()) {
    holder->begin(sql::TransactionMode::write);
  } else {
    holder->dialect().acquire_migration_lock(*holder, 5);
  }
  std::vector<std::string> applied;
  std::string error;
  std::thread runner([&] {
    try {
      Migrator migrator(settings());
      applied = migrator.upgrade("head");
    } catch (const std::exception& e) {
      error = e.what();
    }
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(700));
  EXPECT_TRUE(tables().empty()) << "the upgrade ran while another session held the migration lock";
  if (is_sqlite()) {
    holder->rollback();
  } else {
    holder->dialect().release_migration_lock(*holder);
  }
  runner.join();
  EXPECT_EQ(error, "");
  EXPECT_EQ(applied, (std::vector<std::string>{"r01", "r02", "r03"}));
  EXPECT_EQ(tables(), (std::vector<std::string>{"m_r01", "m_r02", "m_r03"}));
}

INSTANTIATE_TEST_SUITE_P(Backends, MigrateConcurrency, ::testing::ValuesIn(test::migrate_backends()),
                         [](const ::testing::TestParamInfo<MigrateBackend>& backend) { return backend.param.name; });

}  // namespace
}  // namespace lunadb::migrate
