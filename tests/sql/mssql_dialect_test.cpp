// MssqlDialect: the T-SQL it renders, pinned by a golden file (tests/sql/golden/mssql_schema.sql)
// and parsed statement by statement with sqlglot's tsql dialect (scripts/check-tsql.sh).
//
// To regenerate the golden file after an intended change:
//   LUNADB_UPDATE_GOLDEN=1 build-*/tests/test_sql --gtest_filter='MssqlDialect.*Golden*'
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>

#include "lunadb/error.hpp"
#include "schema/model.hpp"
#include "support/dialect_schema.hpp"
#include "sql/dialect.hpp"
#include "sql/mssql_dialect.hpp"
#include "support/servers.hpp"
#include "support/temp_dir.hpp"

namespace lunadb::sql {
namespace {

const MssqlDialect& dialect() { return static_cast<const MssqlDialect&>(dialect_for(Backend::mssql)); }

const schema::Table& table(std::string_view name) {
  const schema::Table* t = test::dialect_test_schema().find_table(name);
  if (t == nullptr) throw std::runtime_error("no table " + std::string(name));
  return *t;
}

std::string script(const std::vector<std::string>& statements) {
  std::string out;
  for (const auto& statement : statements) out += statement + dialect().statement_terminator() + "\n";
  return out;
}

std::vector<std::string> schema_ddl() {
  std::vector<std::string> out;
  for (const auto& t : test::dialect_test_schema().tables) {
    auto statements = dialect().create_table(t);
    out.insert(out.end(), statements.begin(), statements.end());
  }
  return out;
}

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

// Every statement shape the dialect renders, for the parse check.
std::vector<std::string> every_statement() {
  std::vector<std::string> out = schema_ddl();
  const auto& tables = test::dialect_test_schema().tables;
  for (auto it = tables.rbegin(); it != tables.rend(); ++it) {
    for (const auto& index : it->indexes) {
      auto drop = dialect().drop_index(*it, index);
      out.insert(out.end(), drop.begin(), drop.end());
    }
    auto drop = dialect().drop_table(*it);
    out.insert(out.end(), drop.begin(), drop.end());
  }
  // The store's upserts (episodes by conversation, fact edges by pair) and inserts.
  out.push_back(dialect().upsert(
      "episodes", {"conversation_id", "summary", "key_fact_ids", "key_entities", "importance", "created_at", "updated_at"},
      {"conversation_id"}, {"summary", "key_fact_ids", "key_entities", "importance", "updated_at"}));
  out.push_back(dialect().upsert(
      "fact_relationships", {"fact_id_a", "fact_id_b", "relationship", "confidence", "note", "created_at", "updated_at"},
      {"fact_id_a", "fact_id_b"}, {"relationship", "confidence", "note", "updated_at"}));
  out.push_back(dialect().upsert("personality_state", {"id", "current_mood"}, {"id"}, {}));
  out.push_back(dialect().insert("messages", {"conversation_id", "role", "content", "created_at"}, true));
  out.push_back(dialect().insert("personality_state", {"id", "updated_at"}, false));
  out.push_back(dialect().insert_many("proactive_log", {"message", "reason", "sent_at"}, 3));
  out.push_back(dialect().paginate(
      "SELECT [id], [title] FROM [conversations] ORDER BY [updated_at] DESC, [id] DESC", 20, 40));
  out.push_back(dialect().paginate("SELECT [id] FROM [audit_log] ORDER BY [ts] DESC", std::nullopt, 10));
  out.push_back(dialect().paginate("SELECT [id] FROM [audit_log] ORDER BY [ts] DESC", 0, 0));
  // Migrations: add/drop columns of every kind, type/nullability/default changes.
  schema::Table before = table("tasks");
  schema::Table after = before;
  after.columns.push_back({"tags", {schema::TypeKind::json, 0}, true, std::string("[]")});
  after.columns.push_back({"estimate_s", {schema::TypeKind::real, 0}, false, 0.0});
  for (auto& column : after.columns) {
    if (column.name == "title") column.type.length = 1000;
    if (column.name == "priority") column.default_value = std::string("high");
    if (column.name == "description") column.nullable = false;
  }
  after.indexes.push_back({"ix_tasks_priority", {"priority"}, false});
  after.checks.push_back({"ck_tasks_estimate_s", "{estimate_s} >= 0"});
  auto altered = dialect().alter_table(before, after);
  out.insert(out.end(), altered.begin(), altered.end());
  auto back = dialect().alter_table(after, before);
  out.insert(out.end(), back.begin(), back.end());
  out.push_back(MssqlDialect::acquire_lock_sql(30));
  out.push_back(MssqlDialect::release_lock_sql());
  return out;
}

TEST(MssqlDialect, SchemaDdlMatchesTheGoldenFile) {
  const auto golden = std::filesystem::path(LUNADB_SOURCE_DIR) / "tests/sql/golden/mssql_schema.sql";
  const std::string rendered = script(schema_ddl());
  if (const char* update = std::getenv("LUNADB_UPDATE_GOLDEN"); update && std::string(update) == "1") {
    std::ofstream(golden, std::ios::binary) << rendered;
    GTEST_SKIP() << "golden file rewritten: " << golden;
  }
  ASSERT_TRUE(std::filesystem::exists(golden)) << "missing " << golden << "; create it with LUNADB_UPDATE_GOLDEN=1";
  EXPECT_EQ(rendered, read_file(golden)) << "the T-SQL for the dialect test schema changed; review and regenerate with "
                                            "LUNADB_UPDATE_GOLDEN=1";
}

TEST(MssqlDialect, EveryRenderedStatementParsesAsTsql) {
  test::TempDir dir("lunadb-tsql");
  const auto file = dir / "statements.sql";
  std::ofstream(file, std::ios::binary) << script(every_statement());
  const std::string command = std::string(LUNADB_SOURCE_DIR) + "/scripts/check-tsql.sh --strict " + file.string() + " " +
                              LUNADB_SOURCE_DIR + "/tests/sql/golden/mssql_schema.sql";
  std::string output;
  int status = test::run_command(command, &output);
  if (status == 3) {
    if (test::in_ci()) FAIL() << "python3/venv/sqlglot needed in CI for the T-SQL parse check:\n" << output;
    GTEST_SKIP() << "T-SQL parse check skipped (python3 venv with sqlglot unavailable; CI makes this fail):\n" << output;
  }
  EXPECT_EQ(status, 0) << output;
  EXPECT_NE(output.find("0 statements failed"), std::string::npos) << output;
}

TEST(MssqlDialect, ParseCheckCatchesBrokenTsql) {
  // The checker itself must fail on bad SQL, or the test above proves nothing.
  test::TempDir dir("lunadb-tsql");
  const auto file = dir / "bad.sql";
  std::ofstream(file, std::ios::binary) << "CREATE TABLE [t] ([a] INT;\nGO\nSELEC 1;\nGO\nSELECT 1;\nGO\n";
  std::string output;
  int status = test::run_command(std::string(LUNADB_SOURCE_DIR) + "/scripts/check-tsql.sh " + file.string(), &output);
  if (status == 3) {
    if (test::in_ci()) FAIL() << output;
    GTEST_SKIP() << "python3 venv with sqlglot unavailable:\n" << output;
  }
  EXPECT_EQ(status, 1) << output;
  EXPECT_NE(output.find("batch 1"), std::string::npos) << output;
  EXPECT_NE(output.find("batch 2"), std::string::npos) << output;
  EXPECT_EQ(output.find("batch 3"), std::string::npos) << output;
}

TEST(MssqlDialect, QuotesWithBrackets) {
  EXPECT_EQ(dialect().quote("timestamp"), "[timestamp]");
  EXPECT_EQ(dialect().quote("a]b"), "[a]]b]");
  EXPECT_EQ(dialect().quote("we\"ird"), "[we\"ird]");
}

TEST(MssqlDialect, ColumnTypes) {
  using K = schema::TypeKind;
  EXPECT_EQ(dialect().column_type({K::id, 0}), "INT IDENTITY(1,1)");
  EXPECT_EQ(dialect().column_type({K::string, 0}), "NVARCHAR(255)");  // Luna's String() without a length
  EXPECT_EQ(dialect().column_type({K::string, 255}), "NVARCHAR(255)");
  EXPECT_EQ(dialect().column_type({K::string, 4000}), "NVARCHAR(4000)");
  EXPECT_EQ(dialect().column_type({K::string, 4001}), "NVARCHAR(MAX)");
  EXPECT_EQ(dialect().column_type({K::text, 0}), "NVARCHAR(MAX)");
  EXPECT_EQ(dialect().column_type({K::json, 0}), "NVARCHAR(MAX)");
  EXPECT_EQ(dialect().column_type({K::timestamp, 0}), "DATETIME2(6)");
  EXPECT_EQ(dialect().column_type({K::boolean, 0}), "BIT");
  EXPECT_EQ(dialect().column_type({K::real, 0}), "FLOAT(53)");
  EXPECT_EQ(dialect().column_type({K::blob, 0}), "VARBINARY(MAX)");
  EXPECT_EQ(dialect().column_type({K::smallint, 0}), "SMALLINT");
  EXPECT_EQ(dialect().column_type({K::integer, 0}), "INT");
  EXPECT_EQ(dialect().column_type({K::bigint, 0}), "BIGINT");
}

TEST(MssqlDialect, Literals) {
  EXPECT_EQ(dialect().literal(Value{true}), "1");
  EXPECT_EQ(dialect().literal(Value{false}), "0");
  EXPECT_EQ(dialect().literal(Value{std::string("it's 😀")}), "N'it''s 😀'");
  EXPECT_EQ(dialect().literal(Value{Blob{{0x00, 0xAB}}}), "0x00AB");
  EXPECT_EQ(dialect().literal(Value{}), "NULL");
  EXPECT_EQ(dialect().literal(Value{0.7}), "0.7");
  EXPECT_THROW(dialect().literal(Value{std::numeric_limits<double>::quiet_NaN()}), Error);
  EXPECT_EQ(dialect().default_literal(schema::CurrentTimestamp{}), "SYSUTCDATETIME()");
  EXPECT_EQ(dialect().default_literal(std::string("long")), "N'long'");
  EXPECT_EQ(dialect().default_literal(true), "1");
  EXPECT_EQ(dialect().default_literal({}), "");
}

TEST(MssqlDialect, CascadesSqlServerRefusesBecomeNoAction) {
  auto fk = [](const schema::Table& t, std::string_view name) {
    for (const auto& k : t.foreign_keys)
      if (k.name == name) return k;
    throw std::runtime_error("no fk " + std::string(name));
  };
  const auto& facts = table("facts");
  const auto& edges = table("fact_relationships");
  const auto& notes = table("contradiction_notes");
  const auto& messages = table("messages");
  EXPECT_EQ(dialect().effective_on_delete(facts, fk(facts, "fk_facts_superseded_by_facts")), schema::OnDelete::no_action);
  EXPECT_EQ(dialect().effective_on_delete(facts, fk(facts, "fk_facts_source_conversation_id_conversations")),
            schema::OnDelete::set_null);
  EXPECT_EQ(dialect().effective_on_delete(edges, fk(edges, "fk_fact_relationships_fact_id_a_facts")),
            schema::OnDelete::no_action);
  EXPECT_EQ(dialect().effective_on_delete(edges, fk(edges, "fk_fact_relationships_fact_id_b_facts")),
            schema::OnDelete::no_action);
  EXPECT_EQ(dialect().effective_on_delete(notes, fk(notes, "fk_contradiction_notes_new_fact_id_facts")),
            schema::OnDelete::no_action);
  EXPECT_EQ(dialect().effective_on_delete(notes, fk(notes, "fk_contradiction_notes_conversation_id_conversations")),
            schema::OnDelete::set_null);
  EXPECT_EQ(dialect().effective_on_delete(messages, fk(messages, "fk_messages_conversation_id_conversations")),
            schema::OnDelete::cascade);
  const std::string ddl = dialect().create_table(edges).front();
  EXPECT_EQ(ddl.find("ON DELETE"), std::string::npos) << ddl;
  EXPECT_NE(dialect().create_table(messages).front().find("ON DELETE CASCADE"), std::string::npos);
}

TEST(MssqlDialect, NamedDefaultsAndJsonChecks) {
  const std::string ddl = dialect().create_table(table("episodes")).front();
  EXPECT_NE(ddl.find("[key_fact_ids] NVARCHAR(MAX) NOT NULL CONSTRAINT [df_episodes_key_fact_ids] DEFAULT (N'[]')"),
            std::string::npos)
      << ddl;
  EXPECT_NE(ddl.find("CONSTRAINT [ck_episodes_key_fact_ids_json] CHECK (ISJSON([key_fact_ids]) = 1)"), std::string::npos)
      << ddl;
  EXPECT_NE(ddl.find("[id] INT IDENTITY(1,1) NOT NULL"), std::string::npos) << ddl;
  EXPECT_NE(ddl.find("CONSTRAINT [df_episodes_created_at] DEFAULT (SYSUTCDATETIME())"), std::string::npos) << ddl;
}

TEST(MssqlDialect, InsertReturnsTheIdWithOutput) {
  EXPECT_TRUE(dialect().insert_returns_row());
  EXPECT_EQ(dialect().insert("messages", {"conversation_id", "content"}, true),
            "INSERT INTO [messages] ([conversation_id], [content]) OUTPUT INSERTED.[id] VALUES (?, ?)");
  EXPECT_EQ(dialect().insert("messages", {"content"}, false), "INSERT INTO [messages] ([content]) VALUES (?)");
  EXPECT_EQ(dialect().insert("t", {}, true), "INSERT INTO [t] OUTPUT INSERTED.[id] DEFAULT VALUES");
}

TEST(MssqlDialect, InsertManyRespectsSqlServerLimits) {
  EXPECT_EQ(dialect().insert_many("t", {"a", "b"}, 2), "INSERT INTO [t] ([a], [b]) VALUES (?, ?), (?, ?)");
  EXPECT_THROW(dialect().insert_many("t", {"a"}, 1001), Error);          // 1000 rows per VALUES
  EXPECT_THROW(dialect().insert_many("t", {"a", "b", "c"}, 701), Error);  // 2100 parameters
  EXPECT_NO_THROW(dialect().insert_many("t", {"a", "b", "c"}, 700));
  EXPECT_THROW(dialect().insert_many("t", {"a"}, 0), Error);
}

TEST(MssqlDialect, UpsertIsAMergeWithHoldlock) {
  EXPECT_EQ(dialect().upsert("fact_relationships", {"fact_id_a", "fact_id_b", "confidence"}, {"fact_id_a", "fact_id_b"},
                             {"confidence"}),
            "MERGE INTO [fact_relationships] WITH (HOLDLOCK) AS [target] USING (VALUES (?, ?, ?)) AS [source] "
            "([fact_id_a], [fact_id_b], [confidence]) ON [target].[fact_id_a] = [source].[fact_id_a] AND "
            "[target].[fact_id_b] = [source].[fact_id_b] WHEN MATCHED THEN UPDATE SET [target].[confidence] = "
            "[source].[confidence] WHEN NOT MATCHED THEN INSERT ([fact_id_a], [fact_id_b], [confidence]) VALUES "
            "([source].[fact_id_a], [source].[fact_id_b], [source].[confidence]);");
  // Insert-if-missing: no WHEN MATCHED branch.
  EXPECT_EQ(dialect().upsert("t", {"k"}, {"k"}, {}).find("WHEN MATCHED"), std::string::npos);
  EXPECT_THROW(dialect().upsert("t", {"a"}, {"b"}, {}), Error);
  EXPECT_THROW(dialect().upsert("t", {"a"}, {"a"}, {"c"}), Error);
  EXPECT_THROW(dialect().upsert("t", {"a"}, {}, {}), Error);
}

TEST(MssqlDialect, PagingNeedsOrderBy) {
  EXPECT_EQ(dialect().paginate("SELECT 1 FROM [t] ORDER BY [a]", 10, 20),
            "SELECT 1 FROM [t] ORDER BY [a] OFFSET 20 ROWS FETCH NEXT 10 ROWS ONLY");
  EXPECT_EQ(dialect().paginate("SELECT 1 FROM [t] order by [a]", std::nullopt, 0), "SELECT 1 FROM [t] order by [a] OFFSET 0 ROWS");
  EXPECT_THROW(dialect().paginate("SELECT 1 FROM [t]", 10, 0), Error);
  EXPECT_THROW(dialect().paginate("SELECT 1 FROM [t] ORDER BY [a]", -1, 0), Error);
  EXPECT_THROW(dialect().paginate("SELECT 1 FROM [t] ORDER BY [a]", 1, -5), Error);
}

TEST(MssqlDialect, ScriptSeparatorAndTransactions) {
  EXPECT_EQ(dialect().statement_terminator(), ";\nGO");
  EXPECT_TRUE(dialect().transactional_ddl());
  EXPECT_EQ(dialect().backend(), Backend::mssql);
}

TEST(MssqlDialect, DropColumnRemovesItsDefaultAndJsonCheckFirst) {
  const auto& conversations = table("conversations");
  const auto* metadata = conversations.find_column("metadata");
  auto statements = dialect().drop_column(conversations, *metadata);
  ASSERT_EQ(statements.size(), 3u);
  EXPECT_EQ(statements[0], "ALTER TABLE [conversations] DROP CONSTRAINT IF EXISTS [ck_conversations_metadata_json]");
  EXPECT_NE(statements[1].find("sys.default_constraints"), std::string::npos);
  EXPECT_EQ(statements[2], "ALTER TABLE [conversations] DROP COLUMN [metadata]");
}

TEST(MssqlDialect, AlterColumnDropsAndRecreatesWhatDependsOnIt) {
  schema::Table before = table("tasks");
  schema::Table after = before;
  for (auto& column : after.columns) {
    if (column.name == "priority") {
      column.type.length = 16;
      column.default_value = std::string("low");
    }
  }
  auto statements = dialect().alter_table(before, after);
  auto position = [&](std::string_view needle) {
    for (std::size_t i = 0; i < statements.size(); ++i)
      if (statements[i].find(needle) != std::string::npos) return static_cast<int>(i);
    return -1;
  };
  int drop_check = position("DROP CONSTRAINT [ck_tasks_priority]");
  int drop_default = position("sys.default_constraints");
  int alter = position("ALTER COLUMN [priority] NVARCHAR(16) NOT NULL");
  int add_default = position("ADD CONSTRAINT [df_tasks_priority] DEFAULT (N'low') FOR [priority]");
  int add_check = position("ADD CONSTRAINT [ck_tasks_priority] CHECK");
  ASSERT_GE(drop_check, 0);
  ASSERT_GE(drop_default, 0);
  ASSERT_GE(alter, 0);
  ASSERT_GE(add_default, 0);
  ASSERT_GE(add_check, 0);
  EXPECT_LT(drop_check, alter);
  EXPECT_LT(drop_default, alter);
  EXPECT_LT(alter, add_default);
  EXPECT_LT(alter, add_check);
  // The (completed, due_date) index does not involve priority and is left alone.
  EXPECT_EQ(position("ix_tasks_completed_due_date"), -1);
  // Nothing to do for identical tables.
  EXPECT_TRUE(dialect().alter_table(before, before).empty());
  // Changing an indexed column recreates the index around the ALTER.
  schema::Table retyped = before;
  for (auto& column : retyped.columns)
    if (column.name == "due_date") column.nullable = false;
  statements = dialect().alter_table(before, retyped);
  EXPECT_LT(position("DROP INDEX [ix_tasks_completed_due_date]"), position("ALTER COLUMN [due_date]"));
  EXPECT_GT(position("CREATE INDEX [ix_tasks_completed_due_date]"), position("ALTER COLUMN [due_date]"));
}

TEST(MssqlDialect, MigrationLockUsesSessionAppLock) {
  const std::string sql = MssqlDialect::acquire_lock_sql(2.5);
  EXPECT_NE(sql.find("sp_getapplock @Resource = N'lunadb_migrate'"), std::string::npos) << sql;
  EXPECT_NE(sql.find("@LockOwner = 'Session'"), std::string::npos);
  EXPECT_NE(sql.find("@LockTimeout = 2500"), std::string::npos);
  EXPECT_NE(MssqlDialect::release_lock_sql().find("sp_releaseapplock"), std::string::npos);
}

}  // namespace
}  // namespace lunadb::sql
