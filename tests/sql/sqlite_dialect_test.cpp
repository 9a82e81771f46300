// SqliteDialect and the Dialect base class: rendering, the twelve tables on a real file,
// introspection equal to the model, and the table rebuild.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <sstream>

#include "lunadb/error.hpp"
#include "schema/model.hpp"
#include "support/dialect_schema.hpp"
#include "sql/dialect.hpp"
#include "sql/driver.hpp"
#include "support/temp_dir.hpp"

namespace lunadb::sql {
namespace {

namespace fs = std::filesystem;
using schema::Table;

std::string describe(const schema::DefaultValue& value) {
  struct Render {
    std::string operator()(std::monostate) const { return "none"; }
    std::string operator()(bool b) const { return b ? "bool:true" : "bool:false"; }
    std::string operator()(std::int64_t i) const { return "int:" + std::to_string(i); }
    std::string operator()(double d) const { return "real:" + format_double_literal(d); }
    std::string operator()(const std::string& s) const { return "text:'" + s + "'"; }
    std::string operator()(schema::CurrentTimestamp) const { return "now"; }
  };
  return std::visit(Render{}, value);
}

std::string join(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& name : names) out += (out.empty() ? "" : ",") + name;
  return out;
}

// Every field of a table, one per line, so a mismatch shows up as a readable diff.
std::string describe(const Table& table) {
  std::ostringstream out;
  out << "table " << table.name << "\n";
  for (const auto& c : table.columns) {
    out << "  column " << c.name << " kind=" << static_cast<int>(c.type.kind) << " length=" << c.type.length
        << " nullable=" << c.nullable << " default=" << describe(c.default_value) << "\n";
  }
  out << "  pk " << table.primary_key_name << " (" << join(table.primary_key) << ")\n";
  for (const auto& fk : table.foreign_keys) {
    out << "  fk " << fk.name << " (" << join(fk.columns) << ") -> " << fk.referred_table << " ("
        << join(fk.referred_columns) << ") on_delete=" << static_cast<int>(fk.on_delete) << "\n";
  }
  for (const auto& u : table.uniques) out << "  unique " << u.name << " (" << join(u.columns) << ")\n";
  for (const auto& c : table.checks) out << "  check " << c.name << " " << c.expression << "\n";
  for (const auto& i : table.indexes) out << "  index " << i.name << " (" << join(i.columns) << ") unique=" << i.unique << "\n";
  return out.str();
}

DbUrl sqlite_url(const fs::path& file) {
  DbUrl url;
  url.backend = Backend::sqlite;
  url.dialect = "sqlite";
  url.database = file.string();
  return url;
}

void run_all(Connection& connection, const std::vector<std::string>& statements) {
  for (const auto& sql : statements) connection.execute(sql);
}

void create_luna_schema(Connection& connection) {
  const auto& dialect = connection.dialect();
  Transaction transaction(connection);
  for (const auto& table : test::dialect_test_schema().tables) run_all(connection, dialect.create_table(table));
  transaction.commit();
}

std::int64_t count_rows(Connection& connection, const std::string& sql) {
  auto statement = connection.prepare(sql);
  EXPECT_TRUE(statement->step()) << sql;
  return statement->get_int64(0);
}

const Dialect& sqlite() { return dialect_for(Backend::sqlite); }

TEST(SqliteDialectRendering, QuotingAndLiterals) {
  EXPECT_EQ(sqlite().quote("timestamp"), "\"timestamp\"");
  EXPECT_EQ(sqlite().quote("we\"ird"), "\"we\"\"ird\"");
  EXPECT_EQ(sqlite().literal(Value{}), "NULL");
  EXPECT_EQ(sqlite().literal(Value{true}), "1");
  EXPECT_EQ(sqlite().literal(Value{false}), "0");
  EXPECT_EQ(sqlite().literal(Value{std::int64_t{-42}}), "-42");
  EXPECT_EQ(sqlite().literal(Value{0.7}), "0.7");
  EXPECT_EQ(sqlite().literal(Value{1.0}), "1.0");
  EXPECT_EQ(sqlite().literal(Value{1e300}), "1e+300");
  EXPECT_EQ(sqlite().literal(Value{std::string("it's")}), "'it''s'");
  EXPECT_EQ(sqlite().literal(Value{Blob{{0x00, 0xAB, 0x10}}}), "X'00AB10'");
  EXPECT_EQ(sqlite().literal(Value{parse_timestamp("2024-01-02 03:04:05.000006")}), "'2024-01-02 03:04:05.000006'");
  EXPECT_THROW(sqlite().literal(Value{std::nan("")}), Error);
  EXPECT_THROW(sqlite().literal(Value{std::numeric_limits<double>::infinity()}), Error);
  EXPECT_EQ(sqlite().default_literal(schema::DefaultValue{}), "");
  EXPECT_EQ(sqlite().default_literal(schema::DefaultValue{schema::CurrentTimestamp{}}),
            "(strftime('%Y-%m-%d %H:%M:%f000', 'now'))");
  EXPECT_EQ(sqlite().default_literal(schema::DefaultValue{true}), "1");
}

TEST(SqliteDialectRendering, Types) {
  using schema::TypeKind;
  EXPECT_EQ(sqlite().column_type({TypeKind::id, 0}), "INTEGER");
  EXPECT_EQ(sqlite().column_type({TypeKind::timestamp, 0}), "DATETIME");
  EXPECT_EQ(sqlite().column_type({TypeKind::json, 0}), "JSON");
  EXPECT_EQ(sqlite().column_type({TypeKind::boolean, 0}), "BOOLEAN");
  EXPECT_EQ(sqlite().column_type({TypeKind::string, 191}), "VARCHAR(191)");
  EXPECT_EQ(sqlite().column_type({TypeKind::real, 0}), "FLOAT");
  EXPECT_EQ(sqlite().column_type({TypeKind::text, 0}), "TEXT");
  EXPECT_EQ(sqlite().column_type({TypeKind::bigint, 0}), "BIGINT");
  EXPECT_EQ(sqlite().column_type({TypeKind::smallint, 0}), "SMALLINT");
  EXPECT_EQ(sqlite().column_type({TypeKind::blob, 0}), "BLOB");
}

TEST(SqliteDialectRendering, CreateTableNamesEveryConstraint) {
  auto statements = sqlite().create_table(*test::dialect_test_schema().find_table("messages"));
  ASSERT_EQ(statements.size(), 2u);
  EXPECT_EQ(statements[0],
            "CREATE TABLE \"messages\" (\n"
            "\t\"id\" INTEGER NOT NULL,\n"
            "\t\"conversation_id\" INTEGER NOT NULL,\n"
            "\t\"role\" VARCHAR(16) NOT NULL,\n"
            "\t\"content\" TEXT NOT NULL,\n"
            "\t\"created_at\" DATETIME NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%f000', 'now')),\n"
            "\t\"sentiment_score\" FLOAT,\n"
            "\tCONSTRAINT \"pk_messages\" PRIMARY KEY (\"id\"),\n"
            "\tCONSTRAINT \"fk_messages_conversation_id_conversations\" FOREIGN KEY (\"conversation_id\") "
            "REFERENCES \"conversations\" (\"id\") ON DELETE CASCADE,\n"
            "\tCONSTRAINT \"ck_messages_role\" CHECK (\"role\" IN ('user', 'assistant', 'system', 'tool')),\n"
            "\tCONSTRAINT \"ck_messages_sentiment_score\" CHECK (\"sentiment_score\" BETWEEN -1 AND 1)\n"
            ")");
  EXPECT_EQ(statements[1],
            "CREATE INDEX \"ix_messages_conversation_id_created_at\" ON \"messages\" (\"conversation_id\", \"created_at\")");
}

TEST(SqliteDialectRendering, SmallStatements) {
  const auto& table = *test::dialect_test_schema().find_table("tasks");
  EXPECT_EQ(sqlite().drop_table(table), std::vector<std::string>{"DROP TABLE \"tasks\""});
  EXPECT_EQ(sqlite().drop_index(table, table.indexes[0]),
            std::vector<std::string>{"DROP INDEX \"ix_tasks_completed_due_date\""});
  EXPECT_EQ(sqlite().create_index(table, schema::Index{"uq_x", {"title"}, true}),
            std::vector<std::string>{"CREATE UNIQUE INDEX \"uq_x\" ON \"tasks\" (\"title\")"});
  EXPECT_EQ(sqlite().add_column(table, schema::Column{"flag", {schema::TypeKind::boolean, 0}, false, false}),
            std::vector<std::string>{"ALTER TABLE \"tasks\" ADD COLUMN \"flag\" BOOLEAN NOT NULL DEFAULT 0"});
  EXPECT_EQ(sqlite().drop_column(table, *table.find_column("description")),
            std::vector<std::string>{"ALTER TABLE \"tasks\" DROP COLUMN \"description\""});
  EXPECT_EQ(sqlite().insert("t", {"a", "b"}, false), "INSERT INTO \"t\" (\"a\", \"b\") VALUES (?, ?)");
  EXPECT_EQ(sqlite().insert("t", {"a"}, true), "INSERT INTO \"t\" (\"a\") VALUES (?) RETURNING \"id\"");
  EXPECT_EQ(sqlite().insert_many("t", {"a", "b"}, 3),
            "INSERT INTO \"t\" (\"a\", \"b\") VALUES (?, ?), (?, ?), (?, ?)");
  EXPECT_THROW(sqlite().insert_many("t", {"a"}, 0), Error);
  EXPECT_EQ(sqlite().upsert("t", {"a", "b", "c"}, {"a", "b"}, {"c"}),
            "INSERT INTO \"t\" (\"a\", \"b\", \"c\") VALUES (?, ?, ?) ON CONFLICT (\"a\", \"b\") DO UPDATE SET "
            "\"c\" = excluded.\"c\"");
  EXPECT_EQ(sqlite().upsert("t", {"a"}, {"a"}, {}), "INSERT INTO \"t\" (\"a\") VALUES (?) ON CONFLICT (\"a\") DO NOTHING");
  EXPECT_EQ(sqlite().paginate("SELECT 1 ORDER BY 1", 10, 20), "SELECT 1 ORDER BY 1 LIMIT 10 OFFSET 20");
  EXPECT_EQ(sqlite().paginate("SELECT 1 ORDER BY 1", 10, 0), "SELECT 1 ORDER BY 1 LIMIT 10");
  EXPECT_EQ(sqlite().paginate("SELECT 1 ORDER BY 1", std::nullopt, 5), "SELECT 1 ORDER BY 1 LIMIT -1 OFFSET 5");
  EXPECT_EQ(sqlite().paginate("SELECT 1 ORDER BY 1", std::nullopt, 0), "SELECT 1 ORDER BY 1");
  EXPECT_TRUE(sqlite().transactional_ddl());
  EXPECT_EQ(sqlite().statement_terminator(), ";");
}

TEST(SqliteDialectRendering, OtherBackendsAreNotAvailableYetOrTheirOwn) {
  for (Backend backend : {Backend::postgresql, Backend::mysql, Backend::mssql}) {
    try {
      EXPECT_EQ(dialect_for(backend).backend(), backend);  // once that backend's engineer adds it
    } catch (const Error& error) {
      EXPECT_EQ(error.kind(), ErrorKind::unsupported);
    }
  }
}

class SqliteDialectOnFile : public ::testing::Test {
 protected:
  void SetUp() override {
    connection = open_connection(sqlite_url(dir / "luna.db"), {});
    create_luna_schema(*connection);
  }
  test::TempDir dir{"lunadb-sqlite-dialect"};
  std::unique_ptr<Connection> connection;
};

TEST_F(SqliteDialectOnFile, IntrospectionEqualsTheModelTableByTable) {
  auto live = sqlite().introspect(*connection);
  const auto& model = test::dialect_test_schema();
  ASSERT_EQ(live.tables.size(), model.tables.size());
  for (const auto& expected : model.tables) {
    const Table* actual = live.find_table(expected.name);
    ASSERT_NE(actual, nullptr) << expected.name;
    EXPECT_EQ(describe(*actual), describe(expected));
    EXPECT_TRUE(*actual == expected) << expected.name;
  }
  // Creation order is kept.
  for (std::size_t i = 0; i < model.tables.size(); ++i) EXPECT_EQ(live.tables[i].name, model.tables[i].name);
}

TEST_F(SqliteDialectOnFile, BookkeepingTablesAreNotIntrospected) {
  connection->execute("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL PRIMARY KEY)");
  connection->execute("CREATE TABLE lunadb_migration_log (id INTEGER PRIMARY KEY)");
  connection->execute("CREATE TABLE user_extra (id INTEGER PRIMARY KEY, x TEXT UNIQUE, y INTEGER REFERENCES tasks (id))");
  auto live = sqlite().introspect(*connection);
  EXPECT_EQ(live.find_table("alembic_version"), nullptr);
  EXPECT_EQ(live.find_table("lunadb_migration_log"), nullptr);
  // A table lunadb did not write is still read: unnamed constraints have empty names.
  const Table* extra = live.find_table("user_extra");
  ASSERT_NE(extra, nullptr);
  EXPECT_EQ(extra->columns.size(), 3u);
  EXPECT_EQ(extra->columns[0].type.kind, schema::TypeKind::id);
  EXPECT_EQ(extra->primary_key, std::vector<std::string>{"id"});
  ASSERT_EQ(extra->uniques.size(), 1u);
  EXPECT_EQ(extra->uniques[0].name, "");
  EXPECT_EQ(extra->uniques[0].columns, std::vector<std::string>{"x"});
  ASSERT_EQ(extra->foreign_keys.size(), 1u);
  EXPECT_EQ(extra->foreign_keys[0].referred_table, "tasks");
  EXPECT_TRUE(sqlite().table_exists(*connection, "alembic_version"));
  EXPECT_TRUE(sqlite().table_exists(*connection, "facts"));
  EXPECT_FALSE(sqlite().table_exists(*connection, "nope"));
  EXPECT_FALSE(sqlite().table_exists(*connection, "ix_facts_expires_at"));  // an index, not a table
}

TEST_F(SqliteDialectOnFile, ConstraintsAndDefaultsAreEnforcedByTheDatabase) {
  connection->execute("INSERT INTO conversations (title) VALUES ('first')");
  auto row = connection->prepare("SELECT started_at, updated_at, message_count FROM conversations");
  ASSERT_TRUE(row->step());
  auto started = row->get_text(0);
  EXPECT_EQ(started.size(), 26u) << started;  // YYYY-MM-DD HH:MM:SS.ffffff
  auto started_ts = row->get_timestamp(0);
  EXPECT_LE(std::chrono::abs(started_ts - now_utc()), std::chrono::minutes(1));
  EXPECT_EQ(row->get_int64(2), 0);
  row.reset();

  auto expect_constraint = [&](const std::string& sql) {
    try {
      connection->execute(sql);
      ADD_FAILURE() << "accepted: " << sql;
    } catch (const DatabaseError& error) {
      EXPECT_EQ(error.kind(), ErrorKind::constraint) << sql << ": " << error.what();
    }
  };
  expect_constraint("INSERT INTO messages (conversation_id, role, content) VALUES (1, 'robot', 'x')");
  expect_constraint("INSERT INTO messages (conversation_id, role, content, sentiment_score) VALUES (1, 'user', 'x', 1.5)");
  expect_constraint("INSERT INTO messages (conversation_id, role, content) VALUES (99, 'user', 'x')");
  expect_constraint("INSERT INTO personality_state (id) VALUES (2)");
  expect_constraint("INSERT INTO state_events (timestamp, hour, day_of_week, inferred_state) VALUES ('2024-01-01 00:00:00.000000', 24, 0, 'NORMAL')");
  expect_constraint("INSERT INTO state_events (timestamp, hour, day_of_week, inferred_state) VALUES ('2024-01-01 00:00:00.000000', 1, 7, 'NORMAL')");
  expect_constraint("INSERT INTO calendar_events (title, start_datetime, end_datetime) VALUES ('x', '2024-01-02 00:00:00.000000', '2024-01-01 00:00:00.000000')");
  expect_constraint("INSERT INTO facts (category, content, memory_type) VALUES ('c', 'x', 'forever')");
  expect_constraint("INSERT INTO tasks (title, priority) VALUES ('x', 'urgent')");
  expect_constraint("INSERT INTO audit_log (ts, tool, status) VALUES ('2024-01-01 00:00:00.000000', 't', 'maybe')");

  // Open sets and NULL enumerations are accepted.
  connection->execute("INSERT INTO facts (category, content) VALUES ('a brand new category', 'x')");
  connection->execute("INSERT INTO proactive_log (message, reason, sent_at) VALUES ('hi', 'new_reason', '2024-01-01 00:00:00.000000')");
  connection->execute("INSERT INTO calendar_events (title, start_datetime) VALUES ('open-ended', '2024-01-01 00:00:00.000000')");
  connection->execute("INSERT INTO personality_state DEFAULT VALUES");
  EXPECT_EQ(count_rows(*connection, "SELECT count(*) FROM personality_state WHERE id = 1 AND current_mood = 'neutral' "
                                    "AND formality = 0.35"),
            1);
  EXPECT_EQ(count_rows(*connection, "SELECT is_active + 10 * is_private FROM facts"), 1);
  EXPECT_EQ(count_rows(*connection, "SELECT count(*) FROM episodes"), 0);
}

TEST_F(SqliteDialectOnFile, DeleteRulesCascadeAndSetNull) {
  run_all(*connection, {
      "INSERT INTO conversations (id) VALUES (1)",
      "INSERT INTO messages (conversation_id, role, content) VALUES (1, 'user', 'hello')",
      "INSERT INTO episodes (conversation_id, summary) VALUES (1, 's')",
      "INSERT INTO facts (id, category, content, source_conversation_id) VALUES (10, 'c', 'a', 1), (11, 'c', 'b', 1)",
      "UPDATE facts SET superseded_by = 11 WHERE id = 10",
      "INSERT INTO fact_relationships (fact_id_a, fact_id_b, relationship) VALUES (10, 11, 'UPDATES')",
      "INSERT INTO contradiction_notes (new_fact_id, old_fact_id, conversation_id, note) VALUES (11, 10, 1, 'n')",
      "INSERT INTO audit_log (ts, conversation_id, tool, status) VALUES ('2024-01-01 00:00:00.000000', 1, 't', 'ok')",
  });
  connection->execute("DELETE FROM conversations WHERE id = 1");
  EXPECT_EQ(count_rows(*connection, "SELECT count(*) FROM messages"), 0);
  EXPECT_EQ(count_rows(*connection, "SELECT count(*) FROM episodes"), 0);
  EXPECT_EQ(count_rows(*connection, "SELECT count(*) FROM facts WHERE source_conversation_id IS NULL"), 2);
  EXPECT_EQ(count_rows(*connection, "SELECT count(*) FROM audit_log WHERE conversation_id IS NULL"), 1);
  EXPECT_EQ(count_rows(*connection, "SELECT count(*) FROM contradiction_notes WHERE conversation_id IS NULL"), 1);
  connection->execute("DELETE FROM facts WHERE id = 11");
  EXPECT_EQ(count_rows(*connection, "SELECT count(*) FROM facts WHERE id = 10 AND superseded_by IS NULL"), 1);
  EXPECT_EQ(count_rows(*connection, "SELECT count(*) FROM fact_relationships"), 0);
  EXPECT_EQ(count_rows(*connection, "SELECT count(*) FROM contradiction_notes"), 0);
}

TEST_F(SqliteDialectOnFile, UpsertUpdatesTheExistingPair) {
  connection->execute("INSERT INTO facts (id, category, content) VALUES (1, 'c', 'a'), (2, 'c', 'b')");
  auto upsert = connection->prepare(sqlite().upsert("fact_relationships", {"fact_id_a", "fact_id_b", "relationship", "confidence"},
                                                    {"fact_id_a", "fact_id_b"}, {"relationship", "confidence"}));
  upsert->bind_all(std::vector<Value>{Value{std::int64_t{1}}, Value{std::int64_t{2}}, Value{std::string("RELATED")}, Value{0.5}});
  upsert->execute();
  upsert->bind_all(std::vector<Value>{Value{std::int64_t{1}}, Value{std::int64_t{2}}, Value{std::string("CONFIRMS")}, Value{0.9}});
  upsert->execute();
  auto rows = connection->prepare("SELECT relationship, confidence, count(*) OVER () FROM fact_relationships");
  ASSERT_TRUE(rows->step());
  EXPECT_EQ(rows->get_text(0), "CONFIRMS");
  EXPECT_EQ(rows->get_double(1), 0.9);
  EXPECT_EQ(rows->get_int64(2), 1);
}

TEST_F(SqliteDialectOnFile, PaginationPagesThroughRows) {
  auto insert = connection->prepare(sqlite().insert_many("tasks", {"title"}, 5));
  insert->bind_all(std::vector<Value>{Value{std::string("a")}, Value{std::string("b")}, Value{std::string("c")},
                                      Value{std::string("d")}, Value{std::string("e")}});
  EXPECT_EQ(insert->execute(), 5);
  auto titles = [&](std::optional<std::int64_t> limit, std::int64_t offset) {
    auto select = connection->prepare(sqlite().paginate("SELECT title FROM tasks ORDER BY title", limit, offset));
    std::string out;
    while (select->step()) out += select->get_text(0);
    return out;
  };
  EXPECT_EQ(titles(2, 0), "ab");
  EXPECT_EQ(titles(2, 2), "cd");
  EXPECT_EQ(titles(2, 4), "e");
  EXPECT_EQ(titles(std::nullopt, 3), "de");
  EXPECT_EQ(titles(std::nullopt, 0), "abcde");
}

// Runs a rebuild the way the migration runner must: foreign keys off outside the transaction.
void rebuild(Connection& connection, const Table& before, const Table& after) {
  run_all(connection, sqlite().before_migration());
  try {
    Transaction transaction(connection);
    run_all(connection, sqlite().alter_table(before, after));
    sqlite().check_foreign_keys(connection);
    transaction.commit();
  } catch (...) {
    run_all(connection, sqlite().after_migration());
    throw;
  }
  run_all(connection, sqlite().after_migration());
}

TEST_F(SqliteDialectOnFile, AlterTableRebuildKeepsDataForeignKeysAndIndexes) {
  run_all(*connection, {
      "INSERT INTO conversations (id) VALUES (1)",
      "INSERT INTO facts (id, category, content, source_conversation_id) VALUES (10, 'c', 'a', 1), (11, 'c', 'b', NULL)",
      "UPDATE facts SET superseded_by = 11 WHERE id = 10",
      "INSERT INTO fact_relationships (fact_id_a, fact_id_b, relationship) VALUES (10, 11, 'UPDATES')",
      "INSERT INTO contradiction_notes (new_fact_id, old_fact_id, note) VALUES (11, 10, 'n')",
  });
  const Table& before = *test::dialect_test_schema().find_table("facts");
  Table after = before;
  after.columns.push_back({"weight", {schema::TypeKind::real, 0}, false, 2.5});  // new NOT NULL column
  for (auto& column : after.columns) {
    if (column.name == "category") column.type.length = 128;           // type change
    if (column.name == "importance") column.default_value = 0.9;        // default change
    if (column.name == "last_accessed") column.nullable = true;
  }
  after.columns.erase(std::remove_if(after.columns.begin(), after.columns.end(),
                                     [](const schema::Column& c) { return c.name == "is_private"; }),
                      after.columns.end());
  after.checks.push_back({"ck_facts_weight", "{weight} > 0"});
  after.indexes.pop_back();  // drop ix_facts_last_accessed
  after.indexes.push_back({"ix_facts_weight", {"weight"}, false});

  rebuild(*connection, before, after);

  EXPECT_EQ(count_rows(*connection, "PRAGMA foreign_keys"), 1);
  auto live = sqlite().introspect(*connection);
  const Table* actual = live.find_table("facts");
  ASSERT_NE(actual, nullptr);
  EXPECT_EQ(describe(*actual), describe(after));
  // The other tables, whose foreign keys point at facts, are unchanged.
  for (const auto& table : test::dialect_test_schema().tables) {
    if (table.name != "facts") {
      EXPECT_EQ(describe(*live.find_table(table.name)), describe(table));
    }
  }
  // Data kept, new column filled from its default, ids unchanged.
  EXPECT_EQ(count_rows(*connection, "SELECT count(*) FROM facts WHERE weight = 2.5"), 2);
  EXPECT_EQ(count_rows(*connection, "SELECT superseded_by FROM facts WHERE id = 10"), 11);
  EXPECT_EQ(count_rows(*connection, "SELECT source_conversation_id FROM facts WHERE id = 10"), 1);
  // Foreign keys into and out of the rebuilt table still act.
  connection->execute("DELETE FROM facts WHERE id = 11");
  EXPECT_EQ(count_rows(*connection, "SELECT count(*) FROM fact_relationships"), 0);
  EXPECT_EQ(count_rows(*connection, "SELECT count(*) FROM contradiction_notes"), 0);
  EXPECT_EQ(count_rows(*connection, "SELECT count(*) FROM facts WHERE id = 10 AND superseded_by IS NULL"), 1);
  connection->execute("DELETE FROM conversations WHERE id = 1");
  EXPECT_EQ(count_rows(*connection, "SELECT count(*) FROM facts WHERE source_conversation_id IS NULL"), 1);
  EXPECT_THROW(connection->execute("INSERT INTO facts (category, content, weight) VALUES ('c', 'x', -1)"), DatabaseError);
  EXPECT_THROW(connection->execute("INSERT INTO fact_relationships (fact_id_a, fact_id_b, relationship) VALUES (10, 999, 'RELATED')"),
               DatabaseError);
}

TEST_F(SqliteDialectOnFile, RebuildThatBreaksAForeignKeyIsRolledBack) {
  run_all(*connection, {
      "INSERT INTO conversations (id) VALUES (1)",
      "INSERT INTO messages (conversation_id, role, content) VALUES (1, 'user', 'hello')",
  });
  // A rebuild of conversations during which the parent row disappears: with foreign keys off
  // nothing stops that until check_foreign_keys().
  const Table& before = *test::dialect_test_schema().find_table("conversations");
  Table after = before;
  after.columns[7].name = "message_total";  // message_count is renamed: not copied, gets its default
  run_all(*connection, sqlite().before_migration());
  {
    Transaction transaction(*connection);
    run_all(*connection, sqlite().alter_table(before, after));
    connection->execute("DELETE FROM conversations");
    try {
      sqlite().check_foreign_keys(*connection);
      FAIL() << "dangling message not reported";
    } catch (const Error& error) {
      EXPECT_EQ(error.kind(), ErrorKind::constraint);
      EXPECT_NE(std::string(error.what()).find("messages"), std::string::npos) << error.what();
    }
  }  // rolled back
  run_all(*connection, sqlite().after_migration());
  EXPECT_EQ(count_rows(*connection, "SELECT count(*) FROM conversations"), 1);
  EXPECT_EQ(describe(*sqlite().introspect(*connection).find_table("conversations")), describe(before));
}

TEST_F(SqliteDialectOnFile, AlterTableRefusesARename) {
  const Table& before = *test::dialect_test_schema().find_table("tasks");
  Table after = before;
  after.name = "todo";
  EXPECT_THROW(sqlite().alter_table(before, after), Error);
}

}  // namespace
}  // namespace lunadb::sql
