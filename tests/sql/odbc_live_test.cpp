// The ODBC driver, live through unixODBC against the PostgreSQL and MariaDB ODBC drivers
// (odbc-postgresql, odbc-mariadb) and the local servers. SQL Server itself is covered by
// mssql_live_test.cpp when LUNADB_TEST_MSSQL_URL is set.
//
// Connection strings (without DATABASE) come from the environment:
//   LUNADB_TEST_ODBC_PG       default DRIVER={PostgreSQL Unicode};SERVER=127.0.0.1;PORT=5432;UID=postgres
//   LUNADB_TEST_ODBC_MARIADB  default DRIVER={MariaDB Unicode};SERVER=127.0.0.1;PORT=3306;UID=root
// Each test runs in its own fresh database. A missing driver or an unreachable server skips the
// test, or fails it when CI is set.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <thread>

#include "lunadb/error.hpp"
#include "sql/dialect.hpp"
#include "sql/driver.hpp"
#include "sql/odbc_connection_string.hpp"
#include "sql/odbc_driver.hpp"
#include "support/servers.hpp"

namespace lunadb::sql {
namespace {

using namespace std::chrono_literals;

enum class Server { postgresql, mariadb };

std::string server_name(Server s) { return s == Server::postgresql ? "postgresql" : "mariadb"; }

std::string base_connection_string(Server s) {
  const char* name = s == Server::postgresql ? "LUNADB_TEST_ODBC_PG" : "LUNADB_TEST_ODBC_MARIADB";
  if (const char* value = std::getenv(name); value && *value) return value;
  // BoolsAsChar=0: booleans come back as SQL_BIT, as SQL Server's do.
  return s == Server::postgresql ? "DRIVER={PostgreSQL Unicode};SERVER=127.0.0.1;PORT=5432;UID=postgres;BoolsAsChar=0"
                                 : "DRIVER={MariaDB Unicode};SERVER=127.0.0.1;PORT=3306;UID=root";
}

DbUrl odbc_url(const std::string& connection_string) {
  DbUrl url;
  url.backend = Backend::mssql;
  url.dialect = "mssql";
  url.driver = "pyodbc";
  url.query = {{"odbc_connect", connection_string}};
  return url;
}

std::unique_ptr<Connection> connect_odbc(const std::string& connection_string, double timeout_s = 10) {
  ConnectOptions options;
  options.connect_timeout_s = timeout_s;
  return open_connection(odbc_url(connection_string), options);
}

odbc::OdbcConnection& as_odbc(Connection& c) {
  auto* odbc = dynamic_cast<odbc::OdbcConnection*>(&c);
  if (odbc == nullptr) throw std::runtime_error("not an ODBC connection");
  return *odbc;
}

// Why the server cannot be used through ODBC, probed once per server per process.
std::optional<std::string> unavailable(Server s) {
  static std::mutex mutex;
  static std::map<Server, std::optional<std::string>> cache;
  std::lock_guard lock(mutex);
  if (auto it = cache.find(s); it != cache.end()) return it->second;
  std::optional<std::string> why;
  try {
    std::string cs = base_connection_string(s) + (s == Server::postgresql ? ";DATABASE=postgres" : "");
    if (!connect_odbc(cs, 3)->ping()) why = "ping failed";
  } catch (const std::exception& e) {
    why = e.what();
  }
  cache.emplace(s, why);
  return why;
}

// A fresh database on the server, dropped at the end.
class FreshOdbcDatabase {
 public:
  explicit FreshOdbcDatabase(Server s) : server_(s), name_(test::unique_name("lunadb_odbc")) {
    auto admin_connection = admin();
    if (s == Server::postgresql) {
      admin_connection->execute("CREATE DATABASE \"" + name_ + "\" ENCODING 'UTF8' TEMPLATE template0");
    } else {
      admin_connection->execute("CREATE DATABASE `" + name_ + "` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin");
    }
  }
  ~FreshOdbcDatabase() {
    try {
      auto admin_connection = admin();
      if (server_ == Server::postgresql) {
        admin_connection->execute("DROP DATABASE IF EXISTS \"" + name_ + "\" WITH (FORCE)");
      } else {
        admin_connection->execute("DROP DATABASE IF EXISTS `" + name_ + "`");
      }
    } catch (...) {
    }
  }
  std::string connection_string() const { return base_connection_string(server_) + ";DATABASE=" + name_; }
  std::unique_ptr<Connection> connect() const { return connect_odbc(connection_string()); }
  std::unique_ptr<Connection> admin() const {
    return connect_odbc(base_connection_string(server_) + (server_ == Server::postgresql ? ";DATABASE=postgres" : ""));
  }

 private:
  Server server_;
  std::string name_;
};

class OdbcLive : public ::testing::TestWithParam<Server> {
 protected:
  void SetUp() override {
    if (auto why = unavailable(server())) {
      if (test::in_ci()) {
        FAIL() << "ODBC driver/server for " << server_name(server()) << " required in CI: " << *why;
      }
      GTEST_SKIP() << "ODBC " << server_name(server()) << " unavailable (install odbc-postgresql/odbc-mariadb and "
                   << "start the server; set CI to make this fail): " << *why;
    }
    database_ = std::make_unique<FreshOdbcDatabase>(server());
    connection_ = database_->connect();
  }
  void TearDown() override {
    connection_.reset();
    database_.reset();
  }

  Server server() const { return GetParam(); }
  bool pg() const { return server() == Server::postgresql; }
  Connection& c() { return *connection_; }

  // A table with one column of every type lunadb binds.
  void create_types_table() {
    if (pg()) {
      c().execute(
          "CREATE TABLE t (id BIGSERIAL PRIMARY KEY, i BIGINT, d DOUBLE PRECISION, b BOOLEAN, s TEXT, bl BYTEA, "
          "ts TIMESTAMP(6), u VARCHAR(40) UNIQUE)");
    } else {
      c().execute(
          "CREATE TABLE t (id BIGINT AUTO_INCREMENT PRIMARY KEY, i BIGINT, d DOUBLE, b BOOLEAN, s LONGTEXT, "
          "bl LONGBLOB, ts DATETIME(6), u VARCHAR(40) UNIQUE)");
    }
  }

  std::int64_t count(const std::string& table = "t") {
    auto statement = c().prepare("SELECT COUNT(*) FROM " + table);
    EXPECT_TRUE(statement->step());
    return statement->get_int64(0);
  }

  // Inserts and returns the new id: RETURNING on PostgreSQL, LAST_INSERT_ID() on MariaDB (both
  // plain SQL: Connection::last_insert_id() does not exist over ODBC).
  std::int64_t insert_row(const std::vector<Value>& values) {
    std::string sql = "INSERT INTO t (i, d, b, s, bl, ts, u) VALUES (?, ?, ?, ?, ?, ?, ?)";
    if (pg()) {
      auto statement = c().prepare(sql + " RETURNING id");
      statement->bind_all(values);
      EXPECT_TRUE(statement->step());
      std::int64_t id = statement->get_int64(0);
      EXPECT_FALSE(statement->step());
      return id;
    }
    auto statement = c().prepare(sql);
    statement->bind_all(values);
    EXPECT_EQ(statement->execute(), 1);
    auto last = c().prepare("SELECT LAST_INSERT_ID()");
    EXPECT_TRUE(last->step());
    return last->get_int64(0);
  }

  std::unique_ptr<Statement> select_row(std::int64_t id) {
    auto statement = c().prepare("SELECT i, d, b, s, bl, ts, u FROM t WHERE id = ?");
    statement->bind(1, Value{id});
    EXPECT_TRUE(statement->step());
    return statement;
  }

  std::unique_ptr<FreshOdbcDatabase> database_;
  std::unique_ptr<Connection> connection_;
};

Timestamp make_timestamp(int y, unsigned m, unsigned d, int hh, int mm, int ss, int micros) {
  using namespace std::chrono;
  return Timestamp{sys_days{year{y} / month{m} / day{d}}} + hours{hh} + minutes{mm} + seconds{ss} +
         microseconds{micros};
}

// 1 MiB and more of text mixing every kind of script: 4-byte emoji, CJK, right-to-left Arabic
// and Hebrew, combining marks, and ASCII, so chunk boundaries fall inside surrogate pairs.
std::string long_unicode_text(std::size_t min_bytes) {
  const std::string pieces[] = {"Luna 🌙 remembers 😀👍🏽 ", "記憶と会話の要約 ", "مرحبا بالعالم ", "שלום עולם ",
                                "e\xCC\x81 (e + combining acute) ", "plain ascii text 0123456789 ", "𝄞 musical 𠜎 ext-B "};
  std::string out;
  std::size_t i = 0;
  while (out.size() < min_bytes) {
    out += pieces[i % std::size(pieces)] + std::to_string(i) + "\n";
    ++i;
  }
  return out;
}

TEST_P(OdbcLive, ConnectsAndDescribesTheServer) {
  auto& odbc = as_odbc(c());
  EXPECT_EQ(c().backend(), Backend::mssql);
  EXPECT_EQ(c().dialect().backend(), Backend::mssql);  // the SQL dialect is SQL Server's; the driver is generic
  EXPECT_TRUE(c().usable());
  EXPECT_TRUE(c().ping());
  EXPECT_FALSE(c().in_transaction());
  std::string dbms = odbc.dbms_name();
  EXPECT_NE(dbms.find(pg() ? "PostgreSQL" : "MariaDB"), std::string::npos) << dbms;
  EXPECT_NE(c().server_version().find(dbms), std::string::npos);
  EXPECT_FALSE(odbc.driver_name().empty());
}

TEST_P(OdbcLive, PreparedStatementRunsManyTimesWithNewBindings) {
  create_types_table();
  auto insert = c().prepare("INSERT INTO t (i, s) VALUES (?, ?)");
  for (std::int64_t i = 0; i < 20; ++i) {
    insert->bind(1, Value{i});
    insert->bind(2, Value{"row " + std::to_string(i)});
    EXPECT_EQ(insert->execute(), 1);
  }
  EXPECT_EQ(count(), 20);
  auto select = c().prepare("SELECT i, s FROM t WHERE i >= ? ORDER BY i");
  select->bind(1, Value{std::int64_t{15}});
  std::vector<std::string> seen;
  while (select->step()) seen.push_back(std::to_string(select->get_int64(0)) + ":" + select->get_text(1));
  EXPECT_EQ(seen, (std::vector<std::string>{"15:row 15", "16:row 16", "17:row 17", "18:row 18", "19:row 19"}));
  EXPECT_EQ(select->column_count(), 2);
  EXPECT_EQ(select->column_name(0), "i");
  EXPECT_EQ(select->column_name(1), "s");
  // Run again after reset with a new binding.
  select->reset();
  select->bind(1, Value{std::int64_t{19}});
  ASSERT_TRUE(select->step());
  EXPECT_EQ(select->get_int64(0), 19);
  EXPECT_FALSE(select->step());
  EXPECT_FALSE(select->step());  // stays done until reset
}

TEST_P(OdbcLive, AffectedRowCounts) {
  create_types_table();
  auto insert = c().prepare("INSERT INTO t (i) VALUES (?)");
  for (std::int64_t i = 0; i < 5; ++i) {
    insert->bind(1, Value{i});
    insert->execute();
  }
  auto update = c().prepare("UPDATE t SET d = 1.5 WHERE i < ?");
  update->bind(1, Value{std::int64_t{3}});
  EXPECT_EQ(update->execute(), 3);
  update->bind(1, Value{std::int64_t{-1}});
  EXPECT_EQ(update->execute(), 0);  // no row matched: SQL_NO_DATA, not an error
  EXPECT_EQ(c().execute("DELETE FROM t WHERE i >= 3"), 2);
}

TEST_P(OdbcLive, RoundTripsEveryTypeAndItsExtremes) {
  create_types_table();
  const Timestamp ts = make_timestamp(2024, 2, 29, 23, 59, 59, 123456);
  const Blob bytes{{0x00, 0x01, 0x7F, 0x80, 0xFE, 0xFF, 0x00}};
  std::int64_t id = insert_row({Value{std::numeric_limits<std::int64_t>::max()}, Value{-1.25e300}, Value{true},
                                Value{std::string("it's \"quoted\"; {braced}")}, Value{bytes}, Value{ts},
                                Value{std::string("unique-1")}});
  auto row = select_row(id);
  EXPECT_EQ(row->get_int64(0), std::numeric_limits<std::int64_t>::max());
  EXPECT_EQ(row->get_double(1), -1.25e300);
  EXPECT_TRUE(row->get_bool(2));
  EXPECT_EQ(row->get_text(3), "it's \"quoted\"; {braced}");
  EXPECT_EQ(row->get_blob(4), bytes);
  EXPECT_EQ(row->get_timestamp(5), ts);
  EXPECT_EQ(row->get_text(6), "unique-1");

  std::int64_t id2 = insert_row({Value{std::numeric_limits<std::int64_t>::min()}, Value{0.1}, Value{false},
                                 Value{std::string()}, Value{Blob{}}, Value{make_timestamp(1970, 1, 1, 0, 0, 0, 1)},
                                 Value{std::string("unique-2")}});
  auto row2 = select_row(id2);
  EXPECT_EQ(row2->get_int64(0), std::numeric_limits<std::int64_t>::min());
  EXPECT_EQ(row2->get_double(1), 0.1);
  EXPECT_FALSE(row2->get_bool(2));
  EXPECT_FALSE(row2->is_null(3));  // empty text is not NULL
  EXPECT_EQ(row2->get_text(3), "");
  EXPECT_EQ(row2->get_blob(4), Blob{});
  EXPECT_EQ(row2->get_timestamp(5), make_timestamp(1970, 1, 1, 0, 0, 0, 1));
  EXPECT_GT(id2, id);
}

TEST_P(OdbcLive, NullsInEveryColumn) {
  create_types_table();
  std::vector<Value> nulls(7);
  std::int64_t id = insert_row(nulls);
  auto row = select_row(id);
  for (int column = 0; column < 7; ++column) EXPECT_TRUE(row->is_null(column)) << column;
  EXPECT_EQ(row->get_optional_int64(0), std::nullopt);
  EXPECT_EQ(row->get_optional_double(1), std::nullopt);
  EXPECT_EQ(row->get_optional_bool(2), std::nullopt);
  EXPECT_EQ(row->get_optional_text(3), std::nullopt);
  EXPECT_EQ(row->get_optional_timestamp(5), std::nullopt);
  try {
    row->get_text(3);
    FAIL() << "reading NULL as text must throw";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::usage);
  }
  // NULL compares as NULL on the server too.
  auto statement = c().prepare("SELECT COUNT(*) FROM t WHERE s IS NULL AND i IS NULL AND ts IS NULL");
  ASSERT_TRUE(statement->step());
  EXPECT_EQ(statement->get_int64(0), 1);
}

TEST_P(OdbcLive, LongUnicodeTextAndBlobsAreStreamedIntact) {
  create_types_table();
  const std::string text = long_unicode_text(1 << 20);
  ASSERT_GT(text.size(), 1u << 20);
  Blob blob;
  std::mt19937 random(42);
  blob.bytes.resize(3 * (1 << 20) + 17);
  for (auto& b : blob.bytes) b = static_cast<std::uint8_t>(random());
  std::int64_t id = insert_row({Value{}, Value{}, Value{}, Value{text}, Value{blob}, Value{}, Value{}});
  auto row = select_row(id);
  std::string back = row->get_text(3);
  EXPECT_EQ(back.size(), text.size());
  EXPECT_TRUE(back == text) << "1 MiB Unicode text differs after the round trip";
  EXPECT_TRUE(row->get_blob(4) == blob) << "3 MiB blob differs after the round trip";
  // The server agrees on the length in characters, so nothing was mangled on the way in.
  auto length = c().prepare(pg() ? "SELECT char_length(s) FROM t WHERE id = ?" : "SELECT CHAR_LENGTH(s) FROM t WHERE id = ?");
  length->bind(1, Value{id});
  ASSERT_TRUE(length->step());
  std::int64_t code_points = 0;
  for (unsigned char ch : text) code_points += (ch & 0xC0) != 0x80;
  EXPECT_EQ(length->get_int64(0), code_points);
  // A search on the server side finds an emoji and a CJK string bound as parameters.
  auto like = c().prepare("SELECT COUNT(*) FROM t WHERE s LIKE ? AND s LIKE ?");
  like->bind(1, Value{std::string("%🌙%")});
  like->bind(2, Value{std::string("%記憶と会話%")});
  ASSERT_TRUE(like->step());
  EXPECT_EQ(like->get_int64(0), 1);
}

TEST_P(OdbcLive, ShortUnicodeRoundTrip) {
  create_types_table();
  for (const std::string& text : std::vector<std::string>{"😀", "עברית", "العربية", "中文字符", "ß∂ƒ©˙∆˚¬",
                                                         std::string(4001, 'x') + "😀"}) {
    std::int64_t id = insert_row({Value{}, Value{}, Value{}, Value{text}, Value{}, Value{}, Value{}});
    EXPECT_EQ(select_row(id)->get_text(3), text);
  }
}

TEST_P(OdbcLive, InvalidUtf8IsRefusedAtBindTime) {
  create_types_table();
  auto statement = c().prepare("INSERT INTO t (s) VALUES (?)");
  try {
    statement->bind(1, Value{std::string("bad \xC3\x28 bytes")});
    FAIL() << "invalid UTF-8 must be refused";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::invalid_argument);
    EXPECT_NE(std::string(e.what()).find("parameter 1"), std::string::npos) << e.what();
  }
}

TEST_P(OdbcLive, BatchesUseParameterArrays) {
  create_types_table();
  auto& odbc = as_odbc(c());
  ASSERT_TRUE(odbc.param_arrays_enabled()) << "both test drivers support SQL_ATTR_PARAMSET_SIZE";
  auto before = odbc.array_batches();
  std::vector<std::vector<Value>> rows;
  for (std::int64_t i = 0; i < 500; ++i) {
    rows.push_back({Value{i}, i % 7 == 0 ? Value{} : Value{i * 0.5}, Value{i % 2 == 0},
                    Value{"ü-" + std::to_string(i) + (i % 50 == 0 ? std::string(300, 'z') : "")},
                    Value{make_timestamp(2025, 1, 1, 0, 0, 0, static_cast<int>(i))}});
  }
  c().begin();
  auto insert = c().prepare("INSERT INTO t (i, d, b, s, ts) VALUES (?, ?, ?, ?, ?)");
  EXPECT_EQ(insert->execute_batch(rows), 500);
  c().commit();
  EXPECT_EQ(odbc.array_batches(), before + 1);
  EXPECT_EQ(count(), 500);
  auto check = c().prepare("SELECT d, b, s, ts FROM t WHERE i = ?");
  for (std::int64_t i : {0, 1, 7, 50, 499}) {
    check->reset();
    check->bind(1, Value{i});
    ASSERT_TRUE(check->step());
    EXPECT_EQ(check->is_null(0), i % 7 == 0) << i;
    if (i % 7 != 0) {
      EXPECT_EQ(check->get_double(0), i * 0.5);
    }
    EXPECT_EQ(check->get_bool(1), i % 2 == 0);
    EXPECT_EQ(check->get_text(2), "ü-" + std::to_string(i) + (i % 50 == 0 ? std::string(300, 'z') : ""));
    EXPECT_EQ(check->get_timestamp(3), make_timestamp(2025, 1, 1, 0, 0, 0, static_cast<int>(i)));
  }
  // The statement still runs single rows afterwards.
  insert->bind_all(rows[0]);
  EXPECT_EQ(insert->execute(), 1);
  EXPECT_EQ(count(), 501);
}

TEST_P(OdbcLive, BatchesFallBackToRowByRow) {
  create_types_table();
  auto& odbc = as_odbc(c());
  auto before = odbc.array_batches();
  auto insert = c().prepare("INSERT INTO t (i, s) VALUES (?, ?)");
  // A column mixing types cannot be one array: row by row.
  std::vector<std::vector<Value>> mixed{{Value{std::int64_t{1}}, Value{std::string("a")}},
                                        {Value{std::int64_t{2}}, Value{std::int64_t{5}}}};
  EXPECT_EQ(insert->execute_batch(mixed), 2);
  // Arrays switched off, as for a driver without SQL_ATTR_PARAMSET_SIZE: row by row.
  odbc.set_param_arrays_enabled(false);
  std::vector<std::vector<Value>> rows;
  for (std::int64_t i = 10; i < 30; ++i) rows.push_back({Value{i}, Value{std::to_string(i)}});
  EXPECT_EQ(insert->execute_batch(rows), 20);
  EXPECT_EQ(odbc.array_batches(), before);
  EXPECT_EQ(count(), 22);
  // A row of the wrong width is a usage error before anything runs.
  std::vector<std::vector<Value>> bad{{Value{std::int64_t{1}}}};
  EXPECT_THROW(insert->execute_batch(bad), Error);
  EXPECT_EQ(count(), 22);
}

TEST_P(OdbcLive, BatchErrorIsAConstraintErrorAndRollsBack) {
  create_types_table();
  std::vector<std::vector<Value>> rows;
  for (int i = 0; i < 10; ++i) rows.push_back({Value{std::string(i == 7 ? "dup" : i == 3 ? "dup" : "u" + std::to_string(i))}});
  c().begin();
  auto insert = c().prepare("INSERT INTO t (u) VALUES (?)");
  try {
    insert->execute_batch(rows);
    FAIL() << "a duplicate inside the batch must fail";
  } catch (const DatabaseError& e) {
    EXPECT_EQ(e.kind(), ErrorKind::constraint) << e.what();
    EXPECT_EQ(e.native_code().substr(0, 2), "23") << e.what();
    EXPECT_TRUE(e.connection_usable());
  }
  c().rollback();
  EXPECT_EQ(count(), 0);
  EXPECT_TRUE(c().usable());
}

TEST_P(OdbcLive, TransactionsCommitAndRollBack) {
  create_types_table();
  auto other = database_->connect();
  c().begin();
  EXPECT_TRUE(c().in_transaction());
  c().execute("INSERT INTO t (i) VALUES (1)");
  c().rollback();
  EXPECT_FALSE(c().in_transaction());
  EXPECT_EQ(count(), 0);

  c().begin();
  c().execute("INSERT INTO t (i) VALUES (2)");
  c().commit();
  auto seen = other->prepare("SELECT COUNT(*) FROM t WHERE i = 2");
  ASSERT_TRUE(seen->step());
  EXPECT_EQ(seen->get_int64(0), 1);

  {
    Transaction tx(c());
    c().execute("INSERT INTO t (i) VALUES (3)");
  }  // rolled back by the destructor
  EXPECT_EQ(count(), 1);
  EXPECT_FALSE(c().in_transaction());

  // Autocommit is back on: a plain statement is visible to the other connection at once.
  c().execute("INSERT INTO t (i) VALUES (4)");
  seen = other->prepare("SELECT COUNT(*) FROM t");
  ASSERT_TRUE(seen->step());
  EXPECT_EQ(seen->get_int64(0), 2);

  c().rollback();  // no transaction: nothing happens, nothing thrown
  EXPECT_THROW(c().commit(), Error);
  c().begin();
  EXPECT_THROW(c().begin(), Error);
  c().rollback();
}

TEST_P(OdbcLive, UniqueViolationCarriesSqlstateAndNativeError) {
  create_types_table();
  c().execute("INSERT INTO t (u) VALUES ('same')");
  try {
    c().execute("INSERT INTO t (u) VALUES ('same')");
    FAIL() << "duplicate must fail";
  } catch (const odbc::OdbcError& e) {
    EXPECT_EQ(e.kind(), ErrorKind::constraint);
    EXPECT_EQ(e.backend(), "mssql");
    if (pg()) {
      EXPECT_EQ(e.native_code(), "23505") << e.what();
    } else {
      EXPECT_EQ(e.native_code(), "23000") << e.what();
      EXPECT_EQ(e.native_error(), 1062) << e.what();
    }
    EXPECT_TRUE(e.connection_usable());
    EXPECT_FALSE(e.retryable());
    EXPECT_FALSE(e.records().empty());
  }
  EXPECT_TRUE(c().usable());
  EXPECT_TRUE(c().ping());
}

TEST_P(OdbcLive, SyntaxErrorIsAUsageError) {
  try {
    c().execute("SELEC 1");
    FAIL() << "syntax error must fail";
  } catch (const odbc::OdbcError& e) {
    EXPECT_EQ(e.kind(), ErrorKind::usage) << e.what();
    EXPECT_EQ(e.native_code().substr(0, 2), "42") << e.what();
    if (!pg()) {
      EXPECT_EQ(e.native_error(), 1064);
    }
    EXPECT_NE(std::string(e.what()).find("SELEC 1"), std::string::npos) << "the error names the statement";
    EXPECT_TRUE(e.connection_usable());
  }
  // Prepared statements report it too (at prepare or at execute, as the driver decides).
  EXPECT_THROW(
      {
        auto statement = c().prepare("SELECT * FROM no_such_table_here WHERE x = ?");
        statement->bind(1, Value{std::int64_t{1}});
        statement->step();
      },
      DatabaseError);
  EXPECT_TRUE(c().ping());
}

TEST_P(OdbcLive, MisuseIsReportedAsUsage) {
  create_types_table();
  auto statement = c().prepare("SELECT i FROM t WHERE i = ?");
  EXPECT_THROW(statement->bind(2, Value{std::int64_t{1}}), Error);
  EXPECT_THROW(statement->bind(0, Value{std::int64_t{1}}), Error);
  try {
    statement->step();  // parameter 1 never bound
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::usage);
  }
  try {
    c().last_insert_id();
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::unsupported);
  }
  EXPECT_THROW(statement->get_int64(0), Error);  // no row yet
}

TEST_P(OdbcLive, ClosedPortFailsWithoutShowingThePassword) {
  const std::string secret = "S3cret-pa55;word}";
  std::string cs = pg() ? "DRIVER={PostgreSQL Unicode};SERVER=127.0.0.1;PORT=1;DATABASE=postgres;UID=postgres"
                        : "DRIVER={MariaDB Unicode};SERVER=127.0.0.1;PORT=1;UID=root";
  cs += ";PWD=" + odbc::quote_attribute_value(secret);
  try {
    connect_odbc(cs, 3);
    FAIL() << "port 1 is closed";
  } catch (const DatabaseError& e) {
    std::string message = e.what();
    EXPECT_EQ(e.kind(), ErrorKind::connection) << message;
    EXPECT_FALSE(e.connection_usable());
    EXPECT_EQ(message.find("S3cret"), std::string::npos) << message;
    EXPECT_EQ(message.find("pa55"), std::string::npos) << message;
    EXPECT_NE(message.find("PWD=***"), std::string::npos) << message;
  }
}

TEST_P(OdbcLive, WrongPasswordFailsWithoutShowingIt) {
  if (pg()) GTEST_SKIP() << "the local PostgreSQL trusts every login on 127.0.0.1 (pg_hba trust): no password is checked";
  const std::string user = test::unique_name("lunadb_odbc_user");
  auto admin = database_->admin();
  admin->execute("CREATE USER '" + user + "'@'%' IDENTIFIED BY 'right-Passw0rd'");
  admin->execute("CREATE USER '" + user + "'@'localhost' IDENTIFIED BY 'right-Passw0rd'");
  struct DropUser {
    Connection& admin;
    std::string user;
    ~DropUser() {
      try {
        admin.execute("DROP USER IF EXISTS '" + user + "'@'%'");
        admin.execute("DROP USER IF EXISTS '" + user + "'@'localhost'");
      } catch (...) {
      }
    }
  } drop{*admin, user};
  const std::string wrong = "Wr0ng-Passw0rd-xyz";
  try {
    connect_odbc("DRIVER={MariaDB Unicode};SERVER=127.0.0.1;PORT=3306;UID=" + user + ";PWD=" + wrong, 5);
    FAIL() << "wrong password must fail";
  } catch (const odbc::OdbcError& e) {
    std::string message = e.what();
    EXPECT_EQ(e.kind(), ErrorKind::connection) << message;
    EXPECT_EQ(e.native_error(), 1045) << message;
    EXPECT_FALSE(e.retryable()) << "a wrong password does not get better by retrying";
    EXPECT_EQ(message.find(wrong), std::string::npos) << message;
  }
  // And the right password works, so the failure above was about the password.
  auto ok = connect_odbc("DRIVER={MariaDB Unicode};SERVER=127.0.0.1;PORT=3306;UID=" + user + ";PWD=right-Passw0rd", 5);
  EXPECT_TRUE(ok->ping());
}

TEST_P(OdbcLive, KilledSessionMakesTheConnectionUnusable) {
  auto statement = c().prepare(pg() ? "SELECT pg_backend_pid()" : "SELECT CONNECTION_ID()");
  ASSERT_TRUE(statement->step());
  std::int64_t session = statement->get_int64(0);
  statement.reset();
  auto admin = database_->admin();
  if (pg()) {
    auto kill = admin->prepare("SELECT pg_terminate_backend(?)");
    kill->bind(1, Value{session});
    ASSERT_TRUE(kill->step());
    EXPECT_TRUE(kill->get_bool(0));
  } else {
    admin->execute("KILL " + std::to_string(session));
  }
  std::this_thread::sleep_for(200ms);
  try {
    c().execute("SELECT 1");
    FAIL() << "the session was killed";
  } catch (const DatabaseError& e) {
    EXPECT_EQ(e.kind(), ErrorKind::connection) << e.what();
    EXPECT_FALSE(e.connection_usable()) << e.what();
    EXPECT_TRUE(e.retryable()) << e.what();
  }
  EXPECT_FALSE(c().usable());
  EXPECT_FALSE(c().ping());
  // Further use fails fast with a connection error; rollback stays quiet.
  c().rollback();
  try {
    c().prepare("SELECT 1");
    FAIL();
  } catch (const DatabaseError& e) {
    EXPECT_EQ(e.kind(), ErrorKind::connection);
    EXPECT_FALSE(e.connection_usable());
  }
}

TEST_P(OdbcLive, KilledSessionInsideATransaction) {
  create_types_table();
  c().begin();
  c().execute("INSERT INTO t (i) VALUES (1)");
  auto statement = c().prepare(pg() ? "SELECT pg_backend_pid()" : "SELECT CONNECTION_ID()");
  ASSERT_TRUE(statement->step());
  std::int64_t session = statement->get_int64(0);
  statement.reset();
  auto admin = database_->admin();
  admin->execute(pg() ? "SELECT pg_terminate_backend(" + std::to_string(session) + ")" : "KILL " + std::to_string(session));
  std::this_thread::sleep_for(200ms);
  EXPECT_THROW(c().commit(), DatabaseError);
  EXPECT_FALSE(c().usable());
  EXPECT_FALSE(c().in_transaction());
  auto fresh = database_->connect();
  auto rows = fresh->prepare("SELECT COUNT(*) FROM t");
  ASSERT_TRUE(rows->step());
  EXPECT_EQ(rows->get_int64(0), 0) << "the uncommitted insert died with the session";
}

TEST_P(OdbcLive, OpensThroughAPercentEncodedDbUrl) {
  // The form a user writes in DB_URL: mssql+pyodbc:///?odbc_connect=<percent-encoded string>.
  std::string cs = database_->connection_string();
  std::string encoded;
  for (unsigned char ch : cs) {
    if (std::isalnum(ch) || ch == '-' || ch == '_' || ch == '.') {
      encoded += static_cast<char>(ch);
    } else {
      char buffer[4];
      std::snprintf(buffer, sizeof buffer, "%%%02X", ch);
      encoded += buffer;
    }
  }
  DbUrl url = parse_db_url("mssql+pyodbc:///?odbc_connect=" + encoded);
  EXPECT_EQ(url.backend, Backend::mssql);
  auto connection = open_connection(url, ConnectOptions{});
  EXPECT_TRUE(connection->ping());
}

INSTANTIATE_TEST_SUITE_P(Drivers, OdbcLive, ::testing::Values(Server::postgresql, Server::mariadb),
                         [](const ::testing::TestParamInfo<Server>& param) { return server_name(param.param); });

}  // namespace
}  // namespace lunadb::sql

namespace lunadb::sql {
namespace {

// The hostname form of DB_URL through the FreeTDS driver (tdsodbc): the URL becomes a connection
// string, unixODBC loads FreeTDS, and a closed port gives a connection error without the password.
TEST(OdbcFreeTds, ClosedPortGivesAConnectionErrorWithoutThePassword) {
  DbUrl url = parse_db_url("mssql+pyodbc://sa:Fr33tds-Secret@127.0.0.1:1/lunadb?driver=FreeTDS&LoginTimeout=3");
  ConnectOptions options;
  options.connect_timeout_s = 3;
  try {
    open_connection(url, options);
    FAIL() << "nothing listens on port 1";
  } catch (const DatabaseError& e) {
    std::string message = e.what();
    if (e.kind() == ErrorKind::config) {
      if (test::in_ci()) FAIL() << "FreeTDS (tdsodbc) is required in CI: " << message;
      GTEST_SKIP() << "FreeTDS ODBC driver not installed (apt-get install tdsodbc): " << message;
    }
    EXPECT_EQ(e.kind(), ErrorKind::connection) << message;
    EXPECT_FALSE(e.connection_usable());
    EXPECT_EQ(message.find("Fr33tds-Secret"), std::string::npos) << message;
    EXPECT_NE(message.find("TDS_Version=7.4"), std::string::npos) << "the shown connection string: " << message;
    EXPECT_NE(message.find("PWD=***"), std::string::npos) << message;
  }
}

TEST(OdbcDriverManager, UnknownDriverIsAConfigErrorNamingTheFix) {
  DbUrl url = parse_db_url("mssql+pyodbc://sa:pw-Secret-123@127.0.0.1:1/lunadb?driver=lunadb+no+such+driver");
  try {
    open_connection(url, ConnectOptions{});
    FAIL() << "the driver does not exist";
  } catch (const DatabaseError& e) {
    std::string message = e.what();
    EXPECT_EQ(e.kind(), ErrorKind::config) << message;
    EXPECT_NE(message.find("odbcinst -q -d"), std::string::npos) << message;
    EXPECT_EQ(message.find("pw-Secret-123"), std::string::npos) << message;
  }
}

}  // namespace
}  // namespace lunadb::sql
