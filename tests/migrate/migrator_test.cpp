#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <thread>

#include "lunadb/error.hpp"
#include "lunadb/migrate.hpp"
#include "migrate/backends.hpp"
#include "migrate/revision_set.hpp"
#include "schema/model.hpp"
#include "sql/dialect.hpp"
#include "sql/driver.hpp"
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
  void SetUp() override { url_ = GetParam().fresh_url(dir_.path()); }
  void TearDown() override {
    if (GetParam().drop_database) GetParam().drop_database(url_);
  }

  bool is_sqlite() const { return GetParam().name == "sqlite"; }
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
  std::string url_;
};

std::vector<std::string> sorted(std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  return v;
}

TEST_P(MigratorOnBackend, EmbeddedRevisionsCreateTheTwelveTablesAndRemoveThem) {
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
  EXPECT_EQ(tables().size(), 12u);
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
  // The model's twelve tables are missing, the three marker tables are extra.
  EXPECT_EQ(differences.size(), 15u);
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
               "create_table child\n  column id id not null\n  column parent_id bigint not null\n  column note string(20) null\n"
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
  // SQLite refuses NOT NULL while a NULL exists: the revision fails as a whole.
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
  c->execute("PRAGMA foreign_keys = ON");
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
               "create_table child\n  column id id not null\n  column parent_id bigint not null\n  primary_key pk_child (id)\nend\n"
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
  }
  EXPECT_EQ(migrator.current(), std::vector<std::string>{"r01"});
  EXPECT_EQ(tables(), std::vector<std::string>{"m_r01"});
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

TEST_P(MigratorOnBackend, FileThatIsNotADatabaseStaysUntouched) {
  if (!is_sqlite()) GTEST_SKIP() << "SQLite files only";
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
  // The rebuilt table carries the index and the new NOT NULL default, taken from the replay of r01.
  EXPECT_NE(script.find("ix_items_name"), std::string::npos) << script;
  EXPECT_NE(script.find("NOT NULL DEFAULT 'x'"), std::string::npos) << script;
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
    c->execute("DROP INDEX ix_tasks_completed_due_date");
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

INSTANTIATE_TEST_SUITE_P(Backends, MigrateConcurrency, ::testing::ValuesIn(test::migrate_backends()),
                         [](const ::testing::TestParamInfo<MigrateBackend>& backend) { return backend.param.name; });

}  // namespace
}  // namespace lunadb::migrate
