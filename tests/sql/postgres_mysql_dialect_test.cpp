// The PostgreSQL and MySQL dialects against live servers: the twelve tables created from the model
// introspect back to exactly the model, alter_table lands where it says, upserts, ids, locks.
#include <gtest/gtest.h>

#include <chrono>

#include "lunadb/error.hpp"
#include "schema/model.hpp"
#include "support/dialect_schema.hpp"
#include "sql/dialect.hpp"
#include "sql/driver.hpp"
#include "support/servers.hpp"

namespace lunadb {
namespace {

using sql::Value;

enum class Server { postgres, mysql };
std::string server_url(Server s) { return s == Server::postgres ? test::pg_url() : test::mysql_url(); }

std::string describe(const schema::Table& t) {
  std::string out = t.name + " pk " + t.primary_key_name + "(";
  for (const auto& c : t.primary_key) out += c + " ";
  out += ")\n";
  for (const auto& c : t.columns) {
    out += "  col " + c.name + " kind " + std::to_string(static_cast<int>(c.type.kind)) + " len " +
           std::to_string(c.type.length) + (c.nullable ? " null" : " notnull") + " default#" +
           std::to_string(c.default_value.index());
    if (auto* s = std::get_if<std::string>(&c.default_value)) out += "='" + *s + "'";
    if (auto* d = std::get_if<double>(&c.default_value)) out += "=" + std::to_string(*d);
    if (auto* i = std::get_if<std::int64_t>(&c.default_value)) out += "=" + std::to_string(*i);
    if (auto* b = std::get_if<bool>(&c.default_value)) out += *b ? "=true" : "=false";
    out += "\n";
  }
  for (const auto& fk : t.foreign_keys) {
    out += "  fk " + fk.name + " -> " + fk.referred_table + " on_delete " +
           std::to_string(static_cast<int>(fk.on_delete)) + " cols";
    for (const auto& c : fk.columns) out += " " + c;
    out += "\n";
  }
  for (const auto& u : t.uniques) out += "  uq " + u.name + "\n";
  for (const auto& c : t.checks) out += "  ck " + c.name + ": " + c.expression + "\n";
  for (const auto& i : t.indexes) {
    out += "  ix " + i.name + (i.unique ? " unique" : "") + " cols";
    for (const auto& c : i.columns) out += " " + c;
    out += "\n";
  }
  return out;
}

class ServerDialect : public ::testing::TestWithParam<Server> {
 protected:
  bool pg() const { return GetParam() == Server::postgres; }
  void SetUp() override {
    LUNADB_REQUIRE_SERVER(server_url(GetParam()));
    db_ = std::make_unique<test::FreshDatabase>(server_url(GetParam()));
    connection_ = db_->connect();
  }
  const sql::Dialect& dialect() const { return connection_->dialect(); }
  void run(const std::vector<std::string>& statements) {
    for (const auto& statement : statements) {
      try {
        connection_->execute(statement);
      } catch (const Error& e) {
        FAIL() << e.what() << "\nin: " << statement;
      }
    }
  }
  void create_luna_schema() {
    for (const auto& table : test::dialect_test_schema().tables) run(dialect().create_table(table));
  }
  void expect_same(const schema::Schema& live, const schema::Schema& model) {
    ASSERT_EQ(live.tables.size(), model.tables.size());
    for (std::size_t i = 0; i < model.tables.size(); ++i) {
      EXPECT_EQ(live.tables[i], model.tables[i]) << "live:\n"
                                                << describe(live.tables[i]) << "model:\n"
                                                << describe(model.tables[i]);
    }
  }

  std::unique_ptr<test::FreshDatabase> db_;
  std::unique_ptr<sql::Connection> connection_;
};

TEST_P(ServerDialect, LunaSchemaIntrospectsBackExactly) {
  create_luna_schema();
  expect_same(dialect().introspect(*connection_), test::dialect_test_schema());
  EXPECT_TRUE(dialect().table_exists(*connection_, "facts"));
  EXPECT_FALSE(dialect().table_exists(*connection_, "no_such_table"));
  EXPECT_EQ(dialect().transactional_ddl(), pg());
}

TEST_P(ServerDialect, BookkeepingTablesAreNotIntrospected) {
  connection_->execute("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL PRIMARY KEY)");
  connection_->execute("CREATE TABLE lunadb_state (k VARCHAR(10) PRIMARY KEY)");
  EXPECT_TRUE(dialect().introspect(*connection_).tables.empty());
}

TEST_P(ServerDialect, DefaultsAndChecksAreEnforcedByTheServer) {
  create_luna_schema();
  auto insert = connection_->prepare(dialect().insert("facts", {"category", "content"}, true));
  insert->bind(1, std::string("preference"));
  insert->bind(2, std::string("User prefers dark mode 🌙"));
  std::int64_t id = 0;
  if (dialect().insert_returns_row()) {
    ASSERT_TRUE(insert->step());
    id = insert->get_int64(0);
  } else {
    insert->execute();
    id = connection_->last_insert_id();
  }
  EXPECT_GT(id, 0);
  auto read = connection_->prepare(
      "SELECT " + dialect().quote("memory_type") + ", importance, is_active, is_private, created_at FROM facts WHERE id = ?");
  read->bind(1, id);
  ASSERT_TRUE(read->step());
  EXPECT_EQ(read->get_text(0), "long");
  EXPECT_DOUBLE_EQ(read->get_double(1), 0.7);
  EXPECT_TRUE(read->get_bool(2));
  EXPECT_FALSE(read->get_bool(3));
  const auto age = sql::now_utc() - read->get_timestamp(4);
  EXPECT_LT(std::chrono::abs(age), std::chrono::minutes(5)) << "created_at default is not UTC now";

  auto bad = connection_->prepare(dialect().insert("facts", {"category", "content", "memory_type"}, false));
  bad->bind_all(std::vector<Value>{std::string("c"), std::string("x"), std::string("forever")});
  try {
    bad->execute();
    FAIL() << "CHECK not enforced";
  } catch (const DatabaseError& e) {
    EXPECT_EQ(e.kind(), ErrorKind::constraint) << e.what();
  }
}

TEST_P(ServerDialect, UpsertInsertsThenUpdates) {
  create_luna_schema();
  connection_->execute("INSERT INTO conversations (title) VALUES ('c')");
  connection_->execute(
      "INSERT INTO facts (category, content) VALUES ('a', 'one'), ('a', 'two')");
  const auto sql = dialect().upsert("fact_relationships", {"fact_id_a", "fact_id_b", "relationship", "confidence"},
                                    {"fact_id_a", "fact_id_b"}, {"relationship", "confidence"});
  auto ids = connection_->prepare("SELECT id FROM facts ORDER BY id");
  std::vector<std::int64_t> fact_ids;
  while (ids->step()) fact_ids.push_back(ids->get_int64(0));
  ASSERT_EQ(fact_ids.size(), 2u);
  for (auto [relationship, confidence] : {std::pair{"RELATED", 0.5}, std::pair{"CONFIRMS", 0.9}}) {
    auto st = connection_->prepare(sql);
    st->bind_all(std::vector<Value>{fact_ids[0], fact_ids[1], std::string(relationship), confidence});
    st->execute();
  }
  auto check = connection_->prepare("SELECT COUNT(*), MAX(relationship), MAX(confidence) FROM fact_relationships");
  ASSERT_TRUE(check->step());
  EXPECT_EQ(check->get_int64(0), 1);
  EXPECT_EQ(check->get_text(1), "CONFIRMS");
  EXPECT_DOUBLE_EQ(check->get_double(2), 0.9);

  const auto nothing = dialect().upsert("fact_relationships", {"fact_id_a", "fact_id_b", "relationship"},
                                        {"fact_id_a", "fact_id_b"}, {});
  auto st = connection_->prepare(nothing);
  st->bind_all(std::vector<Value>{fact_ids[0], fact_ids[1], std::string("RELATED")});
  EXPECT_NO_THROW(st->execute());
  auto again = connection_->prepare("SELECT relationship FROM fact_relationships");
  ASSERT_TRUE(again->step());
  EXPECT_EQ(again->get_text(0), "CONFIRMS");
}

TEST_P(ServerDialect, PaginateLimitsAndOffsets) {
  create_luna_schema();
  connection_->execute("INSERT INTO tasks (title) VALUES ('a'), ('b'), ('c'), ('d')");
  auto titles = [&](std::optional<std::int64_t> limit, std::int64_t offset) {
    auto st = connection_->prepare(dialect().paginate("SELECT title FROM tasks ORDER BY title", limit, offset));
    std::string out;
    while (st->step()) out += st->get_text(0);
    return out;
  };
  EXPECT_EQ(titles(2, 0), "ab");
  EXPECT_EQ(titles(2, 1), "bc");
  EXPECT_EQ(titles(std::nullopt, 3), "d");
  EXPECT_EQ(titles(std::nullopt, 0), "abcd");
}

TEST_P(ServerDialect, AlterTableReachesTheTargetModel) {
  create_luna_schema();
  const schema::Table& before = *test::dialect_test_schema().find_table("tasks");
  schema::Table after = before;
  after.columns.push_back({"estimate_minutes", {schema::TypeKind::integer, 0}, false, std::int64_t{15}});
  after.columns[1].type.length = 400;                        // title VARCHAR(500) -> 400
  after.columns[4].default_value = std::string("low");       // priority default
  after.columns[2].nullable = false;                         // description NOT NULL
  after.checks[0].expression = "{priority} IN ('low', 'medium', 'high', 'urgent')";
  after.checks.push_back({"ck_tasks_estimate_minutes", "{estimate_minutes} >= 0"});
  after.indexes.push_back({"ix_tasks_priority", {"priority"}, false});
  after.uniques.push_back({"uq_tasks_title", {"title"}});
  connection_->execute("INSERT INTO tasks (title, description) VALUES ('t', 'd')");
  run(dialect().alter_table(before, after));
  const auto live = dialect().introspect(*connection_);
  const auto* tasks = live.find_table("tasks");
  ASSERT_NE(tasks, nullptr);
  EXPECT_EQ(*tasks, after) << "live:\n" << describe(*tasks) << "model:\n" << describe(after);

  // And back again.
  run(dialect().alter_table(after, before));
  const auto restored = dialect().introspect(*connection_);
  EXPECT_EQ(*restored.find_table("tasks"), before) << describe(*restored.find_table("tasks"));
}

TEST_P(ServerDialect, AddAndDropColumnAndIndex) {
  create_luna_schema();
  const schema::Table& table = *test::dialect_test_schema().find_table("proactive_log");
  const schema::Column extra{"channel", {schema::TypeKind::string, 32}, true, {}};
  run(dialect().add_column(table, extra));
  schema::Table grown = table;
  grown.columns.push_back(extra);
  const schema::Index index{"ix_proactive_log_channel", {"channel"}, false};
  run(dialect().create_index(grown, index));
  grown.indexes.push_back(index);
  EXPECT_EQ(*dialect().introspect(*connection_).find_table("proactive_log"), grown);
  run(dialect().drop_index(grown, index));
  run(dialect().drop_column(grown, extra));
  EXPECT_EQ(*dialect().introspect(*connection_).find_table("proactive_log"), table);
}

TEST_P(ServerDialect, MigrationLockIsExclusiveAndTimesOut) {
  auto other = db_->connect();
  dialect().acquire_migration_lock(*connection_, 5);
  const auto start = std::chrono::steady_clock::now();
  try {
    dialect().acquire_migration_lock(*other, 1);
    FAIL() << "the lock was granted twice";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::busy);
    const double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    EXPECT_GE(took, 0.8);
    EXPECT_LE(took, 5.0);
  }
  dialect().release_migration_lock(*connection_);
  EXPECT_NO_THROW(dialect().acquire_migration_lock(*other, 5));
  dialect().release_migration_lock(*other);
}

TEST_P(ServerDialect, LiteralsReadBackAsTheSameValues) {
  const std::string tricky = "it's a \\ backslash \"quote\" 😀";
  auto st = connection_->prepare("SELECT " + dialect().literal(Value{tricky}) + ", " + dialect().literal(Value{0.1}) +
                                 ", " + dialect().literal(Value{std::int64_t{-5}}));
  ASSERT_TRUE(st->step());
  EXPECT_EQ(st->get_text(0), tricky);
  EXPECT_DOUBLE_EQ(st->get_double(1), 0.1);
  EXPECT_EQ(st->get_int64(2), -5);
}

INSTANTIATE_TEST_SUITE_P(Servers, ServerDialect, ::testing::Values(Server::postgres, Server::mysql),
                         [](const auto& param_info) { return param_info.param == Server::postgres ? "postgres" : "mysql"; });

}  // namespace
}  // namespace lunadb
