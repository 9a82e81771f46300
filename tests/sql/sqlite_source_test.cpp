// make_connection_source() for SQLite, many writers on one file, and the DB_ECHO decorator.
#include <gtest/gtest.h>

#include <atomic>
#include <fstream>
#include <mutex>
#include <thread>

#include "lunadb/error.hpp"
#include "sql/echo.hpp"
#include "sql/pool.hpp"
#include "support/temp_dir.hpp"

namespace lunadb::sql {
namespace {

namespace fs = std::filesystem;

Settings sqlite_settings(const fs::path& file) {
  Settings settings;
  settings.db.backend = Backend::sqlite;
  settings.db.dialect = "sqlite";
  settings.db.database = file.string();
  settings.db_path = file;
  return settings;
}

std::int64_t scalar(Connection& connection, const std::string& sql) {
  auto statement = connection.prepare(sql);
  EXPECT_TRUE(statement->step()) << sql;
  return statement->get_int64(0);
}

TEST(SqliteConnectionSource, ReusesReturnedConnections) {
  test::TempDir dir("lunadb-sqlite-source");
  auto source = make_connection_source(sqlite_settings(dir / "luna.db"));
  EXPECT_EQ(source->backend(), Backend::sqlite);
  const Connection* first = nullptr;
  {
    auto lease = source->acquire();
    first = &lease.get();
    lease->execute("CREATE TABLE t (x INTEGER)");
    auto second = source->acquire();  // no limit: a second connection opens
    EXPECT_NE(&second.get(), first);
    EXPECT_EQ(source->stats().checked_out, 2);
  }
  auto stats = source->stats();
  EXPECT_EQ(stats.open, 2);
  EXPECT_EQ(stats.idle, 2);
  EXPECT_EQ(stats.checked_out, 0);
  EXPECT_EQ(stats.peak_open, 2);
  EXPECT_EQ(stats.checkouts, 2u);
  auto again = source->acquire();
  EXPECT_TRUE(&again.get() == first || source->stats().open == 2);
  EXPECT_EQ(source->stats().open, 2);
}

TEST(SqliteConnectionSource, ReturnedConnectionsAreCleanedOrClosed) {
  test::TempDir dir("lunadb-sqlite-source");
  auto source = make_connection_source(sqlite_settings(dir / "luna.db"));
  {
    auto lease = source->acquire();
    lease->execute("CREATE TABLE t (x INTEGER)");
    lease->execute("PRAGMA foreign_keys = OFF");  // e.g. a migration that failed before after_migration()
    lease->begin();
    lease->execute("INSERT INTO t VALUES (1)");
  }  // returned mid-transaction
  {
    auto lease = source->acquire();
    EXPECT_EQ(source->stats().open, 1);
    EXPECT_FALSE(lease->in_transaction());
    EXPECT_EQ(scalar(*lease, "SELECT count(*) FROM t"), 0);
    EXPECT_EQ(scalar(*lease, "PRAGMA foreign_keys"), 1);
    lease.invalidate();
  }
  auto stats = source->stats();
  EXPECT_EQ(stats.open, 0);
  EXPECT_EQ(stats.invalidated, 1u);
  {
    auto a = source->acquire();
    auto b = source->acquire();
  }
  EXPECT_EQ(source->stats().idle, 2);
  auto kept = source->acquire();
  source->dispose();
  EXPECT_EQ(source->stats().idle, 0);
  EXPECT_EQ(source->stats().open, 1);
  kept = Lease();  // returned after dispose(): closed, not pooled
  EXPECT_EQ(source->stats().open, 0);
}

TEST(SqliteConnectionSource, OpenFailureIsReportedAndLeavesNoSlotTaken) {
  test::TempDir dir("lunadb-sqlite-source");
  std::ofstream(dir / "notes.txt") << "not a database";
  auto source = make_connection_source(sqlite_settings(dir / "notes.txt"));
  try {
    source->acquire();
    FAIL();
  } catch (const Error& error) {
    EXPECT_EQ(error.kind(), ErrorKind::corrupt);
  }
  EXPECT_EQ(source->stats().open, 0);
  EXPECT_EQ(source->stats().checked_out, 0);
}

TEST(SqliteConnectionSource, InMemoryDatabaseIsOneSharedConnection) {
  Settings settings = sqlite_settings("");
  settings.db.database = ":memory:";
  settings.pool_timeout_s = 0.2;
  auto source = make_connection_source(settings);
  {
    auto lease = source->acquire();
    lease->execute("CREATE TABLE t (x INTEGER)");
    lease->execute("INSERT INTO t VALUES (7)");
    try {
      source->acquire();
      FAIL() << "a second connection to an in-memory database would see another database";
    } catch (const Error& error) {
      EXPECT_EQ(error.kind(), ErrorKind::pool_timeout);
      EXPECT_NE(std::string(error.what()).find("DB_POOL_TIMEOUT"), std::string::npos);
    }
  }
  auto lease = source->acquire();
  EXPECT_EQ(scalar(*lease, "SELECT x FROM t"), 7);
  EXPECT_EQ(source->stats().timeouts, 1u);
}

TEST(SqliteConnectionSourceConcurrency, InMemoryWaitersTakeTurns) {
  Settings settings = sqlite_settings(":memory:");
  settings.pool_timeout_s = 30;
  auto source = make_connection_source(settings);
  source->acquire()->execute("CREATE TABLE t (x INTEGER)");
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 50; ++i) source->acquire()->execute("INSERT INTO t VALUES (1)");
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(scalar(*source->acquire(), "SELECT count(*) FROM t"), 200);
  EXPECT_EQ(source->stats().peak_open, 1);
}

// 8 threads, each with its own lease, 500 short write transactions each, one file.
TEST(SqliteConcurrency, EightWritersNoBusyErrorAllRowsPresent) {
  test::TempDir dir("lunadb-sqlite-concurrency");
  auto source = make_connection_source(sqlite_settings(dir / "luna.db"));
  source->acquire()->execute("CREATE TABLE events (id INTEGER PRIMARY KEY, writer INTEGER NOT NULL, n INTEGER NOT NULL, "
                             "payload TEXT NOT NULL, UNIQUE (writer, n))");
  constexpr int writers = 8;
  constexpr int rows_each = 500;
  std::atomic<int> failures{0};
  std::mutex message_mutex;
  std::string first_failure;
  std::vector<std::thread> threads;
  for (int w = 0; w < writers; ++w) {
    threads.emplace_back([&, w] {
      try {
        auto lease = source->acquire();
        auto insert = lease->prepare("INSERT INTO events (writer, n, payload) VALUES (?, ?, ?)");
        for (int n = 0; n < rows_each; ++n) {
          Transaction transaction(*lease);
          insert->bind(1, Value{std::int64_t{w}});
          insert->bind(2, Value{std::int64_t{n}});
          insert->bind(3, Value{std::string("writer ") + std::to_string(w) + " row " + std::to_string(n) + " ✓"});
          insert->execute();
          transaction.commit();
        }
      } catch (const std::exception& error) {
        ++failures;
        std::lock_guard lock(message_mutex);
        if (first_failure.empty()) first_failure = error.what();
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0) << first_failure;
  auto lease = source->acquire();
  EXPECT_EQ(scalar(*lease, "SELECT count(*) FROM events"), writers * rows_each);
  EXPECT_EQ(scalar(*lease, "SELECT count(DISTINCT writer) FROM events"), writers);
  EXPECT_EQ(scalar(*lease, "SELECT min(c) FROM (SELECT count(*) AS c FROM events GROUP BY writer)"), rows_each);
  auto integrity = lease->prepare("PRAGMA integrity_check");
  ASSERT_TRUE(integrity->step());
  EXPECT_EQ(integrity->get_text(0), "ok");
  EXPECT_LE(source->stats().peak_open, writers + 1);
}

// Readers and writers at once: WAL lets readers run while a writer holds the lock.
TEST(SqliteConcurrency, ReadersDuringWrites) {
  test::TempDir dir("lunadb-sqlite-concurrency");
  auto source = make_connection_source(sqlite_settings(dir / "luna.db"));
  source->acquire()->execute("CREATE TABLE t (x INTEGER)");
  std::atomic<bool> done{false};
  std::atomic<int> failures{0};
  std::thread writer([&] {
    try {
      auto lease = source->acquire();
      for (int i = 0; i < 300; ++i) {
        Transaction transaction(*lease);
        lease->execute("INSERT INTO t VALUES (1)");
        transaction.commit();
      }
    } catch (...) {
      ++failures;
    }
    done = true;
  });
  std::vector<std::thread> readers;
  for (int r = 0; r < 3; ++r) {
    readers.emplace_back([&] {
      try {
        std::int64_t last = 0;
        while (!done) {
          auto lease = source->acquire();
          Transaction transaction(*lease, TransactionMode::read);
          auto count = scalar(*lease, "SELECT count(*) FROM t");
          if (count < last) ++failures;  // committed rows never disappear
          last = count;
          transaction.commit();
        }
      } catch (...) {
        ++failures;
      }
    });
  }
  writer.join();
  for (auto& reader : readers) reader.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(scalar(*source->acquire(), "SELECT count(*) FROM t"), 300);
}

class SqliteEcho : public ::testing::Test {
 protected:
  void SetUp() override {
    previous_ = set_echo_sink([this](const std::string& line) {
      std::lock_guard lock(mutex_);
      lines_.push_back(line);
    });
  }
  void TearDown() override { set_echo_sink(previous_); }
  std::vector<std::string> lines() {
    std::lock_guard lock(mutex_);
    return lines_;
  }
  test::TempDir dir{"lunadb-sqlite-echo"};

 private:
  EchoSink previous_;
  std::mutex mutex_;
  std::vector<std::string> lines_;
};

TEST_F(SqliteEcho, LogsStatementsWithDurationAndTypesButNeverValues) {
  Settings settings = sqlite_settings(dir / "luna.db");
  settings.echo = true;
  auto source = make_connection_source(settings);
  const std::string secret = "hunter2-very-secret";
  {
    auto lease = source->acquire();
    lease->execute("CREATE TABLE t (name TEXT, n INTEGER, b BLOB)");
    Transaction transaction(*lease);
    auto insert = lease->prepare("INSERT INTO t VALUES (?, ?, ?)");
    insert->bind(1, Value{secret});
    insert->bind(2, Value{std::int64_t{987654321}});
    insert->bind(3, Value{Blob{{1, 2, 3}}});
    insert->execute();
    transaction.commit();
    auto select = lease->prepare("SELECT name FROM t WHERE n = ?");
    select->bind(1, Value{std::int64_t{987654321}});
    ASSERT_TRUE(select->step());
    EXPECT_EQ(select->get_text(0), secret);  // the data itself is untouched
    EXPECT_THROW(lease->execute("INSERT INTO nowhere VALUES (1)"), Error);
  }
  auto logged = lines();
  std::string all;
  for (const auto& line : logged) all += line + "\n";
  EXPECT_EQ(all.find(secret), std::string::npos) << all;
  EXPECT_EQ(all.find("987654321"), std::string::npos) << all;
  EXPECT_NE(all.find("INSERT INTO t VALUES (?, ?, ?) [parameters: 1=text(19 bytes) 2=integer 3=blob(3 bytes)]"),
            std::string::npos)
      << all;
  EXPECT_NE(all.find("SELECT name FROM t WHERE n = ? [parameters: 1=integer]"), std::string::npos) << all;
  EXPECT_NE(all.find("CREATE TABLE t"), std::string::npos) << all;
  EXPECT_NE(all.find("BEGIN (write)"), std::string::npos) << all;
  EXPECT_NE(all.find("COMMIT"), std::string::npos) << all;
  EXPECT_NE(all.find("INSERT INTO nowhere VALUES (1) -> failed: usage error"), std::string::npos) << all;
  for (const auto& line : logged) {
    EXPECT_EQ(line.rfind("[lunadb sql] [", 0), 0u) << line;
    EXPECT_NE(line.find(" ms] "), std::string::npos) << line;
  }
}

TEST_F(SqliteEcho, OffByDefault) {
  auto source = make_connection_source(sqlite_settings(dir / "luna.db"));
  source->acquire()->execute("CREATE TABLE t (x INTEGER)");
  EXPECT_TRUE(lines().empty());
}

}  // namespace
}  // namespace lunadb::sql
