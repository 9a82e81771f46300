// The SQLite driver on real files: settings, type round trips, transactions and every error path.
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <fstream>
#include <random>
#include <sstream>

#include "lunadb/error.hpp"
#include "sql/dialect.hpp"
#include "sql/driver.hpp"
#include "sql/pool.hpp"
#include "support/temp_dir.hpp"

namespace lunadb::sql {
namespace {

namespace fs = std::filesystem;

DbUrl sqlite_url(const fs::path& file) {
  DbUrl url;
  url.backend = Backend::sqlite;
  url.dialect = "sqlite";
  url.database = file.string();
  return url;
}

std::unique_ptr<Connection> open_file(const fs::path& file, ConnectOptions options = {}) {
  return open_connection(sqlite_url(file), options);
}

std::string read_bytes(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

std::string pragma_text(Connection& connection, const std::string& pragma) {
  auto statement = connection.prepare("PRAGMA " + pragma);
  EXPECT_TRUE(statement->step());
  return statement->get_text(0);
}

class SqliteDriver : public ::testing::Test {
 protected:
  test::TempDir dir{"lunadb-sqlite"};
  fs::path file = dir / "luna.db";
};

TEST_F(SqliteDriver, AppliesConnectionSettings) {
  auto connection = open_file(file, ConnectOptions{1234, 10, false});
  EXPECT_EQ(connection->backend(), Backend::sqlite);
  EXPECT_EQ(&connection->dialect(), &dialect_for(Backend::sqlite));
  EXPECT_EQ(pragma_text(*connection, "journal_mode"), "wal");
  EXPECT_EQ(pragma_text(*connection, "synchronous"), "1");  // NORMAL
  EXPECT_EQ(pragma_text(*connection, "foreign_keys"), "1");
  EXPECT_EQ(pragma_text(*connection, "busy_timeout"), "1234");
  EXPECT_EQ(connection->server_version(), sqlite3_libversion());
  EXPECT_TRUE(connection->ping());
  EXPECT_TRUE(connection->usable());
}

TEST_F(SqliteDriver, CreatesMissingFolders) {
  fs::path nested = dir / "a" / "b" / "c" / "luna.db";
  auto connection = open_file(nested);
  connection->execute("CREATE TABLE t (x INTEGER)");
  EXPECT_TRUE(fs::exists(nested));
}

TEST_F(SqliteDriver, FolderThatCannotBeCreatedIsAnIoErrorNamingIt) {
  std::ofstream(dir / "plain-file") << "x";
  fs::path impossible = dir / "plain-file" / "sub" / "luna.db";
  try {
    open_file(impossible);
    FAIL() << "opened below a regular file";
  } catch (const Error& error) {
    EXPECT_EQ(error.kind(), ErrorKind::io);
    EXPECT_NE(std::string(error.what()).find((dir / "plain-file" / "sub").string()), std::string::npos) << error.what();
  }
}

TEST_F(SqliteDriver, UnwritableFolderFailsNamingTheFile) {
  if (geteuid() == 0) GTEST_SKIP() << "root ignores directory permissions";
  fs::path locked = dir / "locked";
  fs::create_directory(locked);
  fs::permissions(locked, fs::perms::owner_read | fs::perms::owner_exec);
  try {
    auto connection = open_file(locked / "luna.db");
    FAIL() << "opened a database in a read-only folder";
  } catch (const DatabaseError& error) {
    EXPECT_EQ(error.kind(), ErrorKind::io);
    EXPECT_EQ(error.backend(), "sqlite");
    EXPECT_EQ(error.native_code(), std::to_string(SQLITE_CANTOPEN));
    EXPECT_NE(std::string(error.what()).find((locked / "luna.db").string()), std::string::npos) << error.what();
  }
  fs::permissions(locked, fs::perms::owner_all);
}

TEST_F(SqliteDriver, PathThatIsAFolderCannotBeOpened) {
  fs::create_directory(file);
  try {
    open_file(file);
    FAIL() << "opened a folder as a database";
  } catch (const DatabaseError& error) {
    EXPECT_EQ(error.kind(), ErrorKind::io);
    EXPECT_EQ(error.native_code(), std::to_string(SQLITE_CANTOPEN));
    EXPECT_FALSE(error.connection_usable());
    EXPECT_NE(std::string(error.what()).find(file.string()), std::string::npos) << error.what();
  }
}

TEST_F(SqliteDriver, NotADatabaseIsCorruptAndLeftByteForByteUntouched) {
  std::string content = "this is a text file, not a database\n";
  for (int i = 0; i < 200; ++i) content += "line " + std::to_string(i) + " of some notes the user keeps here\n";
  std::ofstream(file, std::ios::binary) << content;
  auto before_time = fs::last_write_time(file);
  try {
    open_file(file);
    FAIL() << "opened a text file as a database";
  } catch (const DatabaseError& error) {
    EXPECT_EQ(error.kind(), ErrorKind::corrupt);
    EXPECT_EQ(error.native_code(), std::to_string(SQLITE_NOTADB));
    EXPECT_FALSE(error.connection_usable());
    EXPECT_NE(std::string(error.what()).find(file.string()), std::string::npos) << error.what();
  }
  EXPECT_EQ(read_bytes(file), content);
  EXPECT_EQ(fs::last_write_time(file), before_time);
  EXPECT_FALSE(fs::exists(file.string() + "-wal"));
  EXPECT_FALSE(fs::exists(file.string() + "-shm"));
}

TEST_F(SqliteDriver, ValidHeaderButGarbageFirstPageIsCorruptAndUntouched) {
  std::string content("SQLite format 3", 16);  // includes the terminating NUL
  std::mt19937 random(7);
  for (int i = 0; i < 8192; ++i) content += static_cast<char>(random() & 0xFF);
  std::ofstream(file, std::ios::binary) << content;
  try {
    open_file(file);
    FAIL() << "opened a file with a valid header and garbage pages";
  } catch (const DatabaseError& error) {
    EXPECT_EQ(error.kind(), ErrorKind::corrupt) << error.what();
    EXPECT_NE(std::string(error.what()).find(file.string()), std::string::npos) << error.what();
  }
  EXPECT_EQ(read_bytes(file), content);
}

TEST_F(SqliteDriver, EmptyFileBecomesADatabase) {
  std::ofstream(file, std::ios::binary).flush();
  auto connection = open_file(file);
  connection->execute("CREATE TABLE t (x INTEGER)");
  EXPECT_EQ(read_bytes(file).substr(0, 15), "SQLite format 3");
}

TEST_F(SqliteDriver, UriFilenameIsPassedToSqlite) {
  open_file(file)->execute("CREATE TABLE t (x INTEGER); INSERT INTO t VALUES (5)");
  DbUrl url = sqlite_url("file:" + file.string());
  url.query = {{"mode", "ro"}, {"uri", "true"}};
  auto connection = open_connection(url, {});
  EXPECT_EQ(pragma_text(*connection, "query_only"), "0");
  auto read = connection->prepare("SELECT x FROM t");
  ASSERT_TRUE(read->step());
  EXPECT_EQ(read->get_int64(0), 5);
  read.reset();
  try {
    connection->execute("INSERT INTO t VALUES (6)");
    FAIL() << "wrote through a read-only URI";
  } catch (const DatabaseError& error) {
    EXPECT_EQ(error.kind(), ErrorKind::io);
    EXPECT_EQ(error.native_code(), std::to_string(SQLITE_READONLY));
  }
}

TEST_F(SqliteDriver, InMemoryDatabase) {
  DbUrl url = sqlite_url("");
  auto connection = open_connection(url, {});
  connection->execute("CREATE TABLE t (x INTEGER)");
  EXPECT_EQ(connection->execute("INSERT INTO t VALUES (1), (2)"), 2);
  EXPECT_EQ(pragma_text(*connection, "foreign_keys"), "1");
}

class SqliteRoundTrip : public SqliteDriver {
 protected:
  void SetUp() override {
    connection = open_file(file);
    connection->execute("CREATE TABLE v (id INTEGER PRIMARY KEY, t TEXT, b BLOB, i INTEGER, r FLOAT, f BOOLEAN, ts DATETIME)");
  }
  std::unique_ptr<Connection> connection;
};

TEST_F(SqliteRoundTrip, TextIsReturnedByteForByte) {
  std::vector<std::string> texts = {
      "",
      "plain ascii",
      "emoji 😀🎉👩‍👩‍👧‍👦 and flags 🇯🇵",
      "CJK 日本語のテキスト 中文 한국어",
      "RTL עברית العربية",
      "combining e\xCC\x81 and \xEF\xBB\xBF BOM",
      "quotes ' \" ` and backslash \\ and %s",
      std::string(1 << 20, 'x') + "😀",  // 1 MiB and a 4-byte character at the end
  };
  auto insert = connection->prepare("INSERT INTO v (id, t) VALUES (?, ?)");
  for (std::size_t i = 0; i < texts.size(); ++i) {
    insert->bind(1, Value{static_cast<std::int64_t>(i + 1)});
    insert->bind(2, Value{texts[i]});
    EXPECT_EQ(insert->execute(), 1);
  }
  auto select = connection->prepare("SELECT t, length(t) FROM v WHERE id = ?");
  for (std::size_t i = 0; i < texts.size(); ++i) {
    select->bind(1, Value{static_cast<std::int64_t>(i + 1)});
    ASSERT_TRUE(select->step());
    EXPECT_EQ(select->get_text(0), texts[i]) << i;
    EXPECT_FALSE(select->step());
  }
  // SQLite sees characters, not bytes: the stored value is text, not a blob.
  auto count = connection->prepare("SELECT length(t) FROM v WHERE id = 3");
  ASSERT_TRUE(count->step());
  EXPECT_LT(count->get_int64(0), static_cast<std::int64_t>(texts[2].size()));
}

TEST_F(SqliteRoundTrip, InvalidUtf8IsRefusedNamingTheParameter) {
  auto insert = connection->prepare("INSERT INTO v (id, t) VALUES (?, :content)");
  insert->bind(1, Value{std::int64_t{1}});
  for (std::string bad : {std::string("\xC3"), std::string("ok \xFF end"), std::string("\xED\xA0\x80"),  // surrogate
                          std::string("\xC0\xAF"), std::string("\xF4\x90\x80\x80")}) {  // overlong, > U+10FFFF
    try {
      insert->bind(2, Value{bad});
      ADD_FAILURE() << "accepted invalid UTF-8";
    } catch (const Error& error) {
      EXPECT_EQ(error.kind(), ErrorKind::invalid_argument);
      EXPECT_NE(std::string(error.what()).find("parameter 2 (:content)"), std::string::npos) << error.what();
    }
  }
}

TEST_F(SqliteRoundTrip, BlobsIncludingEmptyAndLarge) {
  Blob empty;
  Blob small{{0, 1, 2, 0xFF, 0, 0x80}};
  Blob large;
  large.bytes.resize(1 << 20);
  std::mt19937 random(42);
  for (auto& byte : large.bytes) byte = static_cast<std::uint8_t>(random());
  auto insert = connection->prepare("INSERT INTO v (id, b) VALUES (?, ?)");
  std::vector<Blob> blobs = {empty, small, large};
  for (std::size_t i = 0; i < blobs.size(); ++i) {
    insert->bind(1, Value{static_cast<std::int64_t>(i + 1)});
    insert->bind(2, Value{blobs[i]});
    insert->execute();
  }
  auto select = connection->prepare("SELECT b, typeof(b) FROM v ORDER BY id");
  for (const auto& blob : blobs) {
    ASSERT_TRUE(select->step());
    EXPECT_FALSE(select->is_null(0));
    EXPECT_EQ(select->get_text(1), "blob");
    EXPECT_EQ(select->get_blob(0), blob);
  }
}

TEST_F(SqliteRoundTrip, NumbersBooleansTimestampsAndNulls) {
  auto ts = parse_timestamp("2024-06-01 12:34:56.789012");
  auto insert = connection->prepare("INSERT INTO v (id, i, r, f, ts, t) VALUES (?, ?, ?, ?, ?, ?)");
  insert->bind_all(std::vector<Value>{Value{std::int64_t{1}}, Value{std::numeric_limits<std::int64_t>::min()}, Value{-0.125},
                                      Value{true}, Value{ts}, Value{}});
  insert->execute();
  insert->bind_all(std::vector<Value>{Value{std::int64_t{2}}, Value{std::numeric_limits<std::int64_t>::max()}, Value{1e300},
                                      Value{false}, Value{}, Value{}});
  insert->execute();
  auto select = connection->prepare("SELECT i, r, f, ts, typeof(ts), t FROM v ORDER BY id");
  ASSERT_TRUE(select->step());
  EXPECT_EQ(select->get_int64(0), std::numeric_limits<std::int64_t>::min());
  EXPECT_EQ(select->get_double(1), -0.125);
  EXPECT_TRUE(select->get_bool(2));
  EXPECT_EQ(select->get_int64(2), 1);
  EXPECT_EQ(select->get_timestamp(3), ts);
  EXPECT_EQ(select->get_text(3), "2024-06-01 12:34:56.789012");  // the text SQLAlchemy writes
  EXPECT_EQ(select->get_text(4), "text");
  EXPECT_TRUE(select->is_null(5));
  EXPECT_EQ(select->get_optional_text(5), std::nullopt);
  ASSERT_TRUE(select->step());
  EXPECT_EQ(select->get_int64(0), std::numeric_limits<std::int64_t>::max());
  EXPECT_EQ(select->get_double(1), 1e300);
  EXPECT_EQ(select->get_optional_bool(2), false);
  EXPECT_EQ(select->get_optional_timestamp(3), std::nullopt);
  EXPECT_THROW(select->get_timestamp(3), Error);
  EXPECT_FALSE(select->step());
  EXPECT_FALSE(select->step());  // stays finished until reset()
  select->reset();
  EXPECT_TRUE(select->step());
}

TEST_F(SqliteRoundTrip, TimestampTextWrittenByOtherToolsIsRead) {
  connection->execute("INSERT INTO v (id, ts) VALUES (1, '2024-06-01 12:34:56'), (2, '2024-06-01T12:34:56.5Z')");
  connection->execute("INSERT INTO v (id, ts) VALUES (3, 'yesterday')");
  auto select = connection->prepare("SELECT ts FROM v ORDER BY id");
  ASSERT_TRUE(select->step());
  EXPECT_EQ(format_timestamp(select->get_timestamp(0)), "2024-06-01 12:34:56.000000");
  ASSERT_TRUE(select->step());
  EXPECT_EQ(format_timestamp(select->get_timestamp(0)), "2024-06-01 12:34:56.500000");
  ASSERT_TRUE(select->step());
  try {
    select->get_timestamp(0);
    FAIL();
  } catch (const Error& error) {
    EXPECT_EQ(error.kind(), ErrorKind::invalid_argument);
    EXPECT_NE(std::string(error.what()).find("yesterday"), std::string::npos);
  }
}

TEST_F(SqliteRoundTrip, LastInsertIdAndReturning) {
  auto insert = connection->prepare(connection->dialect().insert("v", {"t"}, false));
  insert->bind(1, Value{std::string("a")});
  insert->execute();
  std::int64_t first = connection->last_insert_id();
  EXPECT_GT(first, 0);
  ASSERT_TRUE(connection->dialect().insert_returns_row());
  auto returning = connection->prepare(connection->dialect().insert("v", {"t"}, true));
  returning->bind(1, Value{std::string("b")});
  ASSERT_TRUE(returning->step());
  EXPECT_EQ(returning->get_int64(0), first + 1);
  EXPECT_FALSE(returning->step());
}

TEST_F(SqliteRoundTrip, MisuseIsAUsageError) {
  auto statement = connection->prepare("SELECT ?");
  EXPECT_THROW(statement->bind(2, Value{std::int64_t{1}}), Error);
  EXPECT_THROW(statement->bind(0, Value{std::int64_t{1}}), Error);
  EXPECT_THROW(statement->get_int64(0), Error);  // no row yet
  statement->bind(1, Value{std::int64_t{5}});
  ASSERT_TRUE(statement->step());
  EXPECT_THROW(statement->get_int64(1), Error);
  EXPECT_EQ(statement->column_name(0), "?");
  try {
    connection->prepare("SELECT 1; SELECT 2");
    FAIL();
  } catch (const Error& error) {
    EXPECT_EQ(error.kind(), ErrorKind::usage);
  }
  EXPECT_EQ(connection->prepare("SELECT 1;  \n")->column_count(), 1);
}

TEST_F(SqliteRoundTrip, SyntaxErrorNamesTheStatement) {
  try {
    connection->prepare("SELEC nonsense FROM nowhere");
    FAIL();
  } catch (const DatabaseError& error) {
    EXPECT_EQ(error.backend(), "sqlite");
    EXPECT_EQ(error.native_code(), std::to_string(SQLITE_ERROR));
    EXPECT_TRUE(error.connection_usable());
    EXPECT_NE(std::string(error.what()).find("SELEC nonsense"), std::string::npos) << error.what();
    EXPECT_NE(std::string(error.what()).find("syntax error"), std::string::npos) << error.what();
  }
  try {
    connection->execute("SELECT * FROM missing_table");
    FAIL();
  } catch (const DatabaseError& error) {
    EXPECT_NE(std::string(error.what()).find("no such table: missing_table"), std::string::npos) << error.what();
  }
}

class SqliteConstraintErrors : public SqliteDriver {
 protected:
  void SetUp() override {
    connection = open_file(file);
    connection->execute(
        "CREATE TABLE parent (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, n INTEGER CHECK (n >= 0));"
        "CREATE TABLE child (id INTEGER PRIMARY KEY, parent_id INTEGER NOT NULL REFERENCES parent (id));"
        "INSERT INTO parent (id, name, n) VALUES (1, 'a', 1)");
  }
  void expect_constraint(const std::string& sql, int extended_code, const std::string& message_part) {
    try {
      connection->execute(sql);
      ADD_FAILURE() << "no error for " << sql;
    } catch (const DatabaseError& error) {
      EXPECT_EQ(error.kind(), ErrorKind::constraint) << error.what();
      EXPECT_EQ(error.backend(), "sqlite");
      EXPECT_EQ(error.native_code(), std::to_string(extended_code)) << error.what();
      EXPECT_TRUE(error.connection_usable());
      EXPECT_FALSE(error.retryable());
      EXPECT_NE(std::string(error.what()).find(message_part), std::string::npos) << error.what();
      EXPECT_NE(std::string(error.what()).find(sql.substr(0, 20)), std::string::npos) << error.what();
    }
  }
  std::unique_ptr<Connection> connection;
};

TEST_F(SqliteConstraintErrors, EachKindCarriesItsExtendedCode) {
  expect_constraint("INSERT INTO parent (name) VALUES ('a')", SQLITE_CONSTRAINT_UNIQUE, "UNIQUE constraint failed");
  expect_constraint("INSERT INTO parent (id, name) VALUES (1, 'b')", SQLITE_CONSTRAINT_PRIMARYKEY, "UNIQUE constraint failed");
  expect_constraint("INSERT INTO parent (name) VALUES (NULL)", SQLITE_CONSTRAINT_NOTNULL, "NOT NULL constraint failed");
  expect_constraint("INSERT INTO parent (name, n) VALUES ('c', -1)", SQLITE_CONSTRAINT_CHECK, "CHECK constraint failed");
  expect_constraint("INSERT INTO child (parent_id) VALUES (99)", SQLITE_CONSTRAINT_FOREIGNKEY, "FOREIGN KEY constraint failed");
  connection->execute("INSERT INTO child (parent_id) VALUES (1)");
  expect_constraint("DELETE FROM parent WHERE id = 1", SQLITE_CONSTRAINT_FOREIGNKEY, "FOREIGN KEY constraint failed");
  // The connection is still fine afterwards.
  EXPECT_TRUE(connection->ping());
  EXPECT_EQ(connection->execute("INSERT INTO parent (name) VALUES ('d')"), 1);
}

TEST_F(SqliteDriver, TransactionsCommitAndRollBack) {
  auto connection = open_file(file);
  connection->execute("CREATE TABLE t (x INTEGER)");
  {
    Transaction transaction(*connection);
    EXPECT_TRUE(connection->in_transaction());
    connection->execute("INSERT INTO t VALUES (1)");
    transaction.commit();
  }
  EXPECT_FALSE(connection->in_transaction());
  {
    Transaction transaction(*connection);
    connection->execute("INSERT INTO t VALUES (2)");
  }  // rolled back
  EXPECT_FALSE(connection->in_transaction());
  auto count = connection->prepare("SELECT count(*), sum(x) FROM t");
  ASSERT_TRUE(count->step());
  EXPECT_EQ(count->get_int64(0), 1);
  EXPECT_EQ(count->get_int64(1), 1);
  count.reset();

  connection->rollback();  // no transaction: not an error
  connection->begin(TransactionMode::read);
  EXPECT_THROW(connection->begin(), Error);
  connection->rollback();
  EXPECT_THROW(connection->commit(), DatabaseError);
}

TEST_F(SqliteDriver, WriteTransactionTakesTheLockUpFrontAndReportsBusy) {
  auto holder = open_file(file, ConnectOptions{100, 10, false});
  auto other = open_file(file, ConnectOptions{100, 10, false});
  holder->execute("CREATE TABLE t (x INTEGER)");
  holder->begin(TransactionMode::write);  // BEGIN IMMEDIATE: the write lock is held with no write yet
  try {
    other->begin(TransactionMode::write);
    FAIL() << "two write transactions at once";
  } catch (const DatabaseError& error) {
    EXPECT_EQ(error.kind(), ErrorKind::busy);
    EXPECT_TRUE(error.retryable());
    EXPECT_TRUE(error.connection_usable());
    EXPECT_EQ(error.native_code(), std::to_string(SQLITE_BUSY));
  }
  EXPECT_FALSE(other->in_transaction());
  // Readers are not blocked by the writer (WAL).
  other->begin(TransactionMode::read);
  auto read = other->prepare("SELECT count(*) FROM t");
  EXPECT_TRUE(read->step());
  read.reset();
  other->commit();
  holder->commit();
  other->begin(TransactionMode::write);
  other->commit();
}

TEST_F(SqliteDriver, StatementOutlivingItsConnectionIsSafe) {
  std::unique_ptr<Statement> statement;
  {
    auto connection = open_file(file);
    statement = connection->prepare("SELECT 41 + 1");
  }
  ASSERT_TRUE(statement->step());
  EXPECT_EQ(statement->get_int64(0), 42);
}

TEST_F(SqliteDriver, CorruptionFoundLaterMarksTheConnectionUnusable) {
  {
    auto connection = open_file(file);
    connection->execute("PRAGMA journal_mode = DELETE");
    connection->execute("CREATE TABLE t (x TEXT)");
    Transaction transaction(*connection);
    auto insert = connection->prepare("INSERT INTO t VALUES (?)");
    for (int i = 0; i < 2000; ++i) {
      insert->bind(1, Value{std::string(100, static_cast<char>('a' + i % 26))});
      insert->execute();
    }
    insert.reset();
    transaction.commit();
  }
  // Overwrite every page after the first with garbage: the header still says SQLite.
  {
    std::fstream out(file, std::ios::binary | std::ios::in | std::ios::out);
    out.seekp(4096);
    std::mt19937 random(1);
    for (int i = 0; i < 64 * 1024; ++i) out.put(static_cast<char>(random()));
  }
  auto connection = open_file(file);
  try {
    connection->execute("SELECT count(*), max(x) FROM t");
    FAIL() << "read a corrupt table";
  } catch (const DatabaseError& error) {
    EXPECT_EQ(error.kind(), ErrorKind::corrupt) << error.what();
    EXPECT_FALSE(error.connection_usable());
    EXPECT_FALSE(connection->usable());
    EXPECT_FALSE(connection->ping());
  }
}

}  // namespace
}  // namespace lunadb::sql
