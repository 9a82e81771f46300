// The SQL Server / Azure SQL suite, live against a real server. SQL Server is not packaged for
// Debian, so it runs only when LUNADB_TEST_MSSQL_URL names one, e.g.
//   LUNADB_TEST_MSSQL_URL='mssql+pyodbc://sa:Passw0rd!@127.0.0.1:1433/master?driver=ODBC+Driver+18+for+SQL+Server&TrustServerCertificate=yes'
// The login needs CREATE DATABASE: each test works in a database of its own, dropped afterwards.
// See docs/sqlserver.md.
#include <gtest/gtest.h>

#include <cstdlib>

#include "lunadb/error.hpp"
#include "lunadb/store.hpp"
#include "schema/model.hpp"
#include "support/dialect_schema.hpp"
#include "sql/dialect.hpp"
#include "sql/driver.hpp"
#include "sql/mssql_dialect.hpp"
#include "sql/odbc_driver.hpp"
#include "sql/queue_pool.hpp"
#include "store/schema_setup.hpp"
#include "support/servers.hpp"

namespace lunadb::sql {
namespace {

std::optional<std::string> mssql_url() {
  const char* value = std::getenv("LUNADB_TEST_MSSQL_URL");
  if (value == nullptr || *value == '\0') return std::nullopt;
  return std::string(value);
}

// `url` pointed at `database`; for the odbc_connect form the DATABASE attribute is appended
// (a later attribute wins in every SQL Server driver).
DbUrl with_database(DbUrl url, const std::string& database) {
  for (auto& [key, value] : url.query) {
    if (key == "odbc_connect") {
      value += ";DATABASE=" + database;
      return url;
    }
  }
  url.database = database;
  return url;
}

class MssqlLive : public ::testing::Test {
 protected:
  void SetUp() override {
    auto url = mssql_url();
    if (!url) {
      GTEST_SKIP() << "no SQL Server: set LUNADB_TEST_MSSQL_URL=mssql+pyodbc://user:password@host:1433/master?"
                      "driver=ODBC+Driver+18+for+SQL+Server&TrustServerCertificate=yes to run the live SQL Server "
                      "suite (docs/sqlserver.md)";
    }
    server_ = parse_db_url(*url, "LUNADB_TEST_MSSQL_URL");
    name_ = test::unique_name("lunadb_mssql");
    admin_ = open_connection(server_, ConnectOptions{});
    admin_->execute("CREATE DATABASE " + d().quote(name_));
    c_ = open_connection(with_database(server_, name_), ConnectOptions{});
  }
  void TearDown() override {
    c_.reset();
    if (admin_) {
      try {
        admin_->execute("ALTER DATABASE " + d().quote(name_) + " SET SINGLE_USER WITH ROLLBACK IMMEDIATE");
        admin_->execute("DROP DATABASE " + d().quote(name_));
      } catch (...) {
      }
    }
  }
  const MssqlDialect& d() const { return static_cast<const MssqlDialect&>(dialect_for(Backend::mssql)); }
  Connection& c() { return *c_; }

  void create_schema() {
    for (const auto& table : test::dialect_test_schema().tables) {
      for (const auto& statement : d().create_table(table)) c().execute(statement);
    }
  }

  DbUrl server_;
  std::string name_;
  std::unique_ptr<Connection> admin_;
  std::unique_ptr<Connection> c_;
};

TEST_F(MssqlLive, CreatesTheSchemaAndIntrospectsItBack) {
  c().begin();
  create_schema();
  c().commit();
  const auto live = d().introspect(c());
  const auto& model = test::dialect_test_schema();
  ASSERT_EQ(live.tables.size(), model.tables.size());
  for (const auto& table : model.tables) {
    const schema::Table* found = live.find_table(table.name);
    ASSERT_NE(found, nullptr) << table.name;
    EXPECT_EQ(found->columns, table.columns) << table.name;
    EXPECT_EQ(found->primary_key, table.primary_key) << table.name;
    EXPECT_EQ(found->primary_key_name, table.primary_key_name) << table.name;
    EXPECT_EQ(found->uniques, table.uniques) << table.name;
    EXPECT_EQ(found->indexes.size(), table.indexes.size()) << table.name;
    EXPECT_EQ(found->checks.size(), table.checks.size()) << table.name;
    ASSERT_EQ(found->foreign_keys.size(), table.foreign_keys.size()) << table.name;
    for (const auto& fk : table.foreign_keys) {
      auto it = std::find_if(found->foreign_keys.begin(), found->foreign_keys.end(),
                             [&](const schema::ForeignKey& k) { return k.name == fk.name; });
      ASSERT_NE(it, found->foreign_keys.end()) << fk.name;
      EXPECT_EQ(it->on_delete, fk.on_delete) << fk.name << ": downgraded actions read back as the model's";
    }
    EXPECT_TRUE(d().table_exists(c(), table.name));
    // What SQL Server really holds for the downgraded keys.
    for (const auto& fk : table.foreign_keys) {
      auto action = c().prepare("SELECT delete_referential_action FROM sys.foreign_keys WHERE name = ?");
      action->bind(1, Value{fk.name});
      ASSERT_TRUE(action->step()) << fk.name;
      const auto effective = d().effective_on_delete(table, fk);
      EXPECT_EQ(action->get_int64(0), effective == schema::OnDelete::cascade ? 1 : effective == schema::OnDelete::set_null ? 2 : 0)
          << fk.name;
    }
  }
  EXPECT_FALSE(d().table_exists(c(), "no_such_table"));
}

TEST_F(MssqlLive, InsertOutputUpsertPagingAndTypes) {
  create_schema();
  auto insert = c().prepare(d().insert("conversations", {"title", "metadata", "started_at", "updated_at"}, true));
  const Timestamp ts = parse_timestamp("2025-03-04 05:06:07.123456");
  std::vector<std::int64_t> ids;
  for (int i = 0; i < 5; ++i) {
    insert->bind_all(std::vector<Value>{Value{"Gespräch 😀 " + std::to_string(i)}, Value{std::string("{\"k\": 1}")},
                                        Value{ts}, Value{ts + std::chrono::seconds(i)}});
    ASSERT_TRUE(insert->step());
    ids.push_back(insert->get_int64(0));
    insert->reset();
  }
  EXPECT_LT(ids.front(), ids.back());
  // JSON is checked.
  insert->bind_all(std::vector<Value>{Value{std::string("bad")}, Value{std::string("{not json")}, Value{ts}, Value{ts}});
  try {
    insert->step();
    FAIL() << "ISJSON check must refuse";
  } catch (const DatabaseError& e) {
    EXPECT_EQ(e.kind(), ErrorKind::constraint) << e.what();
  }
  // Paging.
  auto page = c().prepare(d().paginate("SELECT [id], [title], [updated_at] FROM [conversations] ORDER BY [updated_at] DESC", 2, 1));
  std::vector<std::int64_t> seen;
  while (page->step()) seen.push_back(page->get_int64(0));
  EXPECT_EQ(seen, (std::vector<std::int64_t>{ids[3], ids[2]}));
  // Upsert twice: one row, updated.
  auto facts = c().prepare(d().insert("facts", {"category", "content"}, true));
  std::vector<std::int64_t> fact_ids;
  for (int i = 0; i < 2; ++i) {
    facts->bind_all(std::vector<Value>{Value{std::string("preference")}, Value{"fact " + std::to_string(i)}});
    ASSERT_TRUE(facts->step());
    fact_ids.push_back(facts->get_int64(0));
    facts->reset();
  }
  auto upsert = c().prepare(d().upsert("fact_relationships",
                                       {"fact_id_a", "fact_id_b", "relationship", "confidence", "note", "created_at", "updated_at"},
                                       {"fact_id_a", "fact_id_b"}, {"relationship", "confidence", "note", "updated_at"}));
  for (double confidence : {0.5, 0.9}) {
    upsert->bind_all(std::vector<Value>{Value{fact_ids[0]}, Value{fact_ids[1]}, Value{std::string("RELATED")},
                                        Value{confidence}, Value{}, Value{ts}, Value{ts}});
    EXPECT_EQ(upsert->execute(), 1);
  }
  auto edge = c().prepare("SELECT COUNT(*), MAX([confidence]) FROM [fact_relationships]");
  ASSERT_TRUE(edge->step());
  EXPECT_EQ(edge->get_int64(0), 1);
  EXPECT_EQ(edge->get_double(1), 0.9);
  // NO ACTION: deleting a fact with edges fails until the store deletes the edges itself.
  EXPECT_THROW(c().execute("DELETE FROM [facts] WHERE [id] = " + std::to_string(fact_ids[0])), DatabaseError);
}

TEST_F(MssqlLive, UnicodeNullsBlobsAndErrors) {
  c().execute("CREATE TABLE [t] ([id] BIGINT IDENTITY(1,1) PRIMARY KEY, [s] NVARCHAR(MAX) NULL, [b] VARBINARY(MAX) NULL, "
              "[f] BIT NULL, [ts] DATETIME2(6) NULL, [u] NVARCHAR(40) NULL UNIQUE)");
  std::string text;
  while (text.size() < (1u << 20)) text += "記憶 🌙 مرحبا שלום ";
  Blob blob;
  blob.bytes.assign(70000, 0xAB);
  auto insert = c().prepare("INSERT INTO [t] ([s], [b], [f], [ts], [u]) OUTPUT INSERTED.[id] VALUES (?, ?, ?, ?, ?)");
  insert->bind_all(std::vector<Value>{Value{text}, Value{blob}, Value{true}, Value{parse_timestamp("2030-01-02 03:04:05.678901")},
                                      Value{std::string("x")}});
  ASSERT_TRUE(insert->step());
  std::int64_t id = insert->get_int64(0);
  insert->reset();
  // NULL into VARBINARY(MAX) needs the parameter typed from the server (SQLDescribeParam).
  insert->bind_all(std::vector<Value>{Value{}, Value{}, Value{}, Value{}, Value{}});
  ASSERT_TRUE(insert->step());
  insert->reset();
  auto row = c().prepare("SELECT [s], [b], [f], [ts] FROM [t] WHERE [id] = ?");
  row->bind(1, Value{id});
  ASSERT_TRUE(row->step());
  EXPECT_TRUE(row->get_text(0) == text);
  EXPECT_TRUE(row->get_blob(1) == blob);
  EXPECT_TRUE(row->get_bool(2));
  EXPECT_EQ(row->get_timestamp(3), parse_timestamp("2030-01-02 03:04:05.678901"));
  try {
    c().execute("INSERT INTO [t] ([u]) VALUES (N'x')");
    FAIL();
  } catch (const odbc::OdbcError& e) {
    EXPECT_EQ(e.kind(), ErrorKind::constraint);
    EXPECT_EQ(e.native_code(), "23000");
    EXPECT_EQ(e.native_error(), 2627);
  }
  // A batch through parameter arrays.
  auto batch = c().prepare("INSERT INTO [t] ([s]) VALUES (?)");
  std::vector<std::vector<Value>> rows;
  for (int i = 0; i < 100; ++i) rows.push_back({Value{"row " + std::to_string(i)}});
  EXPECT_EQ(batch->execute_batch(rows), 100);
}

TEST_F(MssqlLive, MigrationLockIsExclusiveAcrossSessions) {
  d().acquire_migration_lock(c(), 5);
  auto other = open_connection(with_database(server_, name_), ConnectOptions{});
  try {
    d().acquire_migration_lock(*other, 0.2);
    FAIL() << "the lock is held by the first session";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::busy);
  }
  d().release_migration_lock(c());
  d().acquire_migration_lock(*other, 5);
  d().release_migration_lock(*other);
}

TEST_F(MssqlLive, KilledSessionIsDetected) {
  auto spid = c().prepare("SELECT @@SPID");
  ASSERT_TRUE(spid->step());
  std::int64_t session = spid->get_int64(0);
  spid.reset();
  admin_->execute("KILL " + std::to_string(session));
  try {
    c().execute("SELECT 1");
    FAIL();
  } catch (const DatabaseError& e) {
    EXPECT_EQ(e.kind(), ErrorKind::connection) << e.what();
    EXPECT_FALSE(e.connection_usable());
  }
  EXPECT_FALSE(c().usable());
}

// The pool over real SQL Server connections: a lease returned inside a transaction is rolled
// back (@@TRANCOUNT 0, the row gone) and the same session is handed out again.
TEST_F(MssqlLive, PoolRollsBackOnReturnAndReusesTheSession) {
  c().execute("CREATE TABLE [items] ([id] BIGINT IDENTITY(1,1) PRIMARY KEY, [v] BIGINT NOT NULL)");
  QueuePoolOptions options;
  options.pool_size = 1;
  options.max_overflow = 0;
  options.pre_ping = false;
  const DbUrl url = with_database(server_, name_);
  auto pool = make_queue_pool(Backend::mssql, options, [url] { return open_connection(url, ConnectOptions{}); });
  std::int64_t session = 0;
  {
    auto lease = pool->acquire();
    auto spid = lease->prepare("SELECT @@SPID");
    ASSERT_TRUE(spid->step());
    session = spid->get_int64(0);
    spid.reset();
    lease->begin();
    lease->execute("INSERT INTO [items] ([v]) VALUES (1)");
  }
  auto lease = pool->acquire();
  auto state = lease->prepare("SELECT @@SPID, @@TRANCOUNT, (SELECT COUNT(*) FROM [items])");
  ASSERT_TRUE(state->step());
  EXPECT_EQ(state->get_int64(0), session);
  EXPECT_EQ(state->get_int64(1), 0);
  EXPECT_EQ(state->get_int64(2), 0);
}

// The store end to end on SQL Server: the statements parsed offline by
// tests/store/mssql_statements_test.cpp, run for real, with the explicit deletes that stand in for
// the cascades SQL Server refuses.
TEST_F(MssqlLive, StoreRunsOnSqlServer) {
  store::create_schema_directly(c());
  QueuePoolOptions options;
  options.pool_size = 2;
  const DbUrl url = with_database(server_, name_);
  auto pool = make_queue_pool(Backend::mssql, options, [url] { return open_connection(url, ConnectOptions{}); });
  store::Store s(*pool);

  store::Conversation conversation;
  conversation.title = "Gespräch 😀";
  conversation = s.conversations().add(conversation);
  store::Message message;
  message.conversation_id = conversation.id;
  message.role = "user";
  message.content = "hello";
  message = s.messages().add(message);
  std::vector<store::Message> batch(3, message);
  auto batch_ids = s.messages().add_many(conversation.id, batch);
  ASSERT_EQ(batch_ids.size(), 3u);
  EXPECT_EQ(s.conversations().get(conversation.id)->message_count, 4);
  auto latest = s.messages().latest(conversation.id, 2);
  ASSERT_EQ(latest.size(), 2u);
  EXPECT_EQ(latest.back().id, batch_ids.back());
  EXPECT_EQ(s.messages().for_conversation(conversation.id, store::Page{2, 1}).size(), 2u);
  EXPECT_EQ(s.messages().for_conversation_after(conversation.id, message, 10).size(), 3u);
  EXPECT_TRUE(s.messages().remove(batch_ids.front()));
  EXPECT_EQ(s.conversations().get(conversation.id)->message_count, 3);

  store::Fact fact;
  fact.category = "preference";
  fact.content = "tea";
  fact.source_conversation_id = conversation.id;
  auto a = s.facts().add(fact);
  auto b = s.facts().add(fact);
  store::FactRelationship edge;
  edge.fact_id_a = a.id;
  edge.fact_id_b = b.id;
  edge.relationship = "RELATED";
  auto first = s.fact_relationships().link(edge);
  edge.relationship = "CONFIRMS";
  auto second = s.fact_relationships().link(edge);
  EXPECT_EQ(first.id, second.id);
  EXPECT_EQ(second.relationship, "CONFIRMS");
  store::ContradictionNote note;
  note.new_fact_id = b.id;
  note.old_fact_id = a.id;
  note.note = "n";
  note = s.contradiction_notes().add(note);
  std::vector<std::int64_t> note_ids{note.id};
  EXPECT_EQ(s.contradiction_notes().mark_consumed(note_ids), 1);
  EXPECT_TRUE(s.contradiction_notes().unconsumed().empty());
  std::vector<std::int64_t> fact_ids{a.id, b.id};
  EXPECT_EQ(s.facts().touch(fact_ids), 2);
  EXPECT_EQ(s.facts().active_by_category("preference").size(), 2u);

  store::Episode episode;
  episode.conversation_id = conversation.id;
  episode.summary = "one";
  auto e1 = s.episodes().upsert(episode);
  episode.summary = "two";
  auto e2 = s.episodes().upsert(episode);
  EXPECT_EQ(e1.id, e2.id);
  EXPECT_EQ(e2.summary, "two");

  auto personality = s.personality().get();
  personality.current_mood = "cheerful";
  s.personality().update(personality);
  EXPECT_EQ(s.personality().get().current_mood, "cheerful");

  store::AuditEntry entry;
  entry.conversation_id = conversation.id;
  entry.tool = "t";
  entry.status = "ok";
  entry = s.audit_log().append(entry);
  EXPECT_EQ(s.audit_log().recent(store::Page{1, 0}).size(), 1u);

  // NO ACTION foreign keys on SQL Server: the store removes what names the fact itself.
  EXPECT_TRUE(s.facts().remove(a.id));
  EXPECT_FALSE(s.fact_relationships().get(first.id).has_value());
  EXPECT_FALSE(s.contradiction_notes().get(note.id).has_value());
  EXPECT_TRUE(s.conversations().remove(conversation.id));
  EXPECT_TRUE(s.messages().for_conversation(conversation.id).empty());
  EXPECT_FALSE(s.episodes().get(e1.id).has_value());
  EXPECT_FALSE(s.facts().get(b.id)->source_conversation_id.has_value());
  EXPECT_FALSE(s.audit_log().get(entry.id)->conversation_id.has_value());
}

}  // namespace
}  // namespace lunadb::sql
