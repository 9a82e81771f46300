// `lunadb bench writes`: the store's write and read paths on SQLite, next to the raw sqlite3 C API
// doing the same batch inserts on the same schema with the same pragmas.
//   1. messages inserted one row per transaction (each also updates the conversation's counters)
//   2. messages inserted in batches of 1000 rows per transaction
//   3. the newest 50 messages of a conversation read back (latency percentiles)
//   4. raw sqlite3: the same batches (and, for reference, the same one-row transactions)
// The database is a fresh temporary file unless --path names one (which must not exist yet).
// With --url DB_URL the store phases run against a PostgreSQL or MySQL/MariaDB database instead
// (it must hold none of the schema's tables; the benchmark creates them and drops them again), and
// the raw sqlite3 baseline is skipped: there, rows per wall-clock second is the measure, since the
// server's work is not in this process's CPU time.
// Its SQLAlchemy peer is bench/peers/sqlalchemy_writes.py (bench/peers/run_writes.sh).

#include <fmt/format.h>
#include <sqlite3.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/bench_support.hpp"
#include "cli/commands.hpp"
#include "lunadb/error.hpp"
#include "lunadb/store.hpp"
#include "sql/dialect.hpp"
#include "sql/pool.hpp"
#include "sql/value.hpp"
#include "store/schema_setup.hpp"

namespace lunadb::cli {

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

constexpr std::size_t kBatchSize = 1000;
constexpr int kReadLimit = 50;
constexpr int kBusyTimeoutMs = 5000;

struct Options {
  std::int64_t rows = 20000;
  int reads = 2000;
  std::string path;
  std::string url;
  bool json = false;
};

// The same text the SQLAlchemy peer writes.
std::string message_content(std::int64_t i) {
  return "Benchmark message " + std::to_string(i) + ": the quick brown fox jumps over the lazy dog. 🌙";
}

// Every run writes the same rows; they are built before any clock starts.
std::vector<std::string> all_contents(std::int64_t rows) {
  std::vector<std::string> contents;
  contents.reserve(static_cast<std::size_t>(rows));
  for (std::int64_t i = 0; i < rows; ++i) contents.push_back(message_content(i));
  return contents;
}
const char* message_role(std::int64_t i) { return i % 2 == 0 ? "user" : "assistant"; }

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

double process_cpu_seconds() {
  timespec now{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &now);
  return static_cast<double>(now.tv_sec) + static_cast<double>(now.tv_nsec) * 1e-9;
}

// Wall-clock and CPU time of one phase. On a shared machine the wall clock also counts the time
// other processes held the CPU; the CPU figure is the work this process did (SQLite in WAL mode
// with synchronous=NORMAL does not wait for the disk on commit).
struct Stopwatch {
  double wall = 0;
  double cpu = 0;
  void start() {
    wall_start_ = Clock::now();
    cpu_start_ = process_cpu_seconds();
  }
  void stop() {
    wall += seconds_since(wall_start_);
    cpu += process_cpu_seconds() - cpu_start_;
  }

 private:
  Clock::time_point wall_start_;
  double cpu_start_ = 0;
};

struct Rate {
  double rows_per_s = 0;      // wall clock
  double rows_per_cpu_s = 0;  // per CPU second
};

Rate rate(std::int64_t rows, const Stopwatch& watch) {
  return {static_cast<double>(rows) / watch.wall, static_cast<double>(rows) / watch.cpu};
}

double percentile(std::vector<double> samples, double p) {
  if (samples.empty()) return 0;
  std::sort(samples.begin(), samples.end());
  return samples[static_cast<std::size_t>(p * static_cast<double>(samples.size() - 1))];
}

// A scratch folder removed at the end unless the user chose the database path.
class Workspace {
 public:
  explicit Workspace(const std::string& chosen_path) {
    if (!chosen_path.empty()) {
      database_ = fs::absolute(chosen_path);
      if (fs::exists(database_)) {
        throw Error(ErrorKind::usage, "bench writes --path " + database_.string() +
                                          ": the file exists; give a path for a new database");
      }
      raw_database_ = database_.string() + ".raw-sqlite3";
      if (fs::exists(raw_database_)) {
        throw Error(ErrorKind::usage, "bench writes: " + raw_database_.string() + " exists; remove it first");
      }
      return;
    }
    std::string pattern = (fs::temp_directory_path() / "lunadb-bench-writes-XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) {
      throw Error(ErrorKind::io, "bench writes: cannot create a temporary folder under " +
                                     fs::temp_directory_path().string());
    }
    scratch_ = pattern;
    database_ = scratch_ / "luna.db";
    raw_database_ = scratch_ / "raw-sqlite3.db";
  }
  ~Workspace() {
    if (!scratch_.empty()) {
      std::error_code ignored;
      fs::remove_all(scratch_, ignored);
    }
  }
  Workspace(const Workspace&) = delete;
  Workspace& operator=(const Workspace&) = delete;
  const fs::path& database() const { return database_; }
  const fs::path& raw_database() const { return raw_database_; }

 private:
  fs::path scratch_;
  fs::path database_;
  fs::path raw_database_;
};

Settings sqlite_settings(const fs::path& file) {
  Settings settings = sqlite_file_settings(file);
  settings.busy_timeout_ms = kBusyTimeoutMs;
  return settings;
}

struct StoreResults {
  Rate single;
  Rate batch;
  double read_p50_us = 0;
  double read_p99_us = 0;
};

StoreResults bench_store(sql::ConnectionSource& source, const Options& options,
                         const std::vector<std::string>& contents) {
  {
    auto lease = source.acquire();
    store::create_schema_directly(*lease);
  }
  store::Store db(source);
  StoreResults results;

  const auto single_conversation = db.conversations().add({}).id;
  store::Message message;
  message.conversation_id = single_conversation;
  message.sentiment_score = 0.1;
  Stopwatch single;
  single.start();
  for (std::int64_t i = 0; i < options.rows; ++i) {
    message.role = message_role(i);
    message.content = contents[static_cast<std::size_t>(i)];
    db.messages().add(message);
  }
  single.stop();
  results.single = rate(options.rows, single);

  const auto batch_conversation = db.conversations().add({}).id;
  std::vector<store::Message> batch(kBatchSize);
  Stopwatch batches;
  std::int64_t written = 0;
  while (written < options.rows) {
    const auto count = static_cast<std::size_t>(std::min<std::int64_t>(kBatchSize, options.rows - written));
    batch.resize(count);
    for (std::size_t k = 0; k < count; ++k) {
      const auto i = written + static_cast<std::int64_t>(k);
      batch[k].role = message_role(i);
      batch[k].content = contents[static_cast<std::size_t>(i)];
      batch[k].sentiment_score = 0.1;
    }
    // Only the store call is timed: building the input rows is the caller's work.
    batches.start();
    db.messages().add_many(batch_conversation, batch);
    batches.stop();
    written += static_cast<std::int64_t>(count);
  }
  results.batch = rate(options.rows, batches);

  std::vector<double> latencies;
  latencies.reserve(static_cast<std::size_t>(options.reads));
  for (int r = 0; r < options.reads; ++r) {
    auto read_start = Clock::now();
    auto newest = db.messages().latest(batch_conversation, kReadLimit);
    latencies.push_back(seconds_since(read_start) * 1e6);
    if (newest.size() != static_cast<std::size_t>(std::min<std::int64_t>(kReadLimit, options.rows))) {
      throw Error(ErrorKind::internal, "bench writes: read " + std::to_string(newest.size()) + " messages back");
    }
  }
  results.read_p50_us = percentile(latencies, 0.50);
  results.read_p99_us = percentile(latencies, 0.99);
  if (db.conversations().get(batch_conversation)->message_count != options.rows) {
    throw Error(ErrorKind::internal, "bench writes: message_count does not match the rows written");
  }
  return results;
}

// ---- the raw sqlite3 C API baseline ----

class RawSqlite {
 public:
  explicit RawSqlite(const fs::path& file) {
    if (sqlite3_open_v2(file.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr) != SQLITE_OK) {
      std::string message = db_ ? sqlite3_errmsg(db_) : "out of memory";
      sqlite3_close(db_);
      throw Error(ErrorKind::connection, "bench writes: cannot open " + file.string() + ": " + message);
    }
    sqlite3_busy_timeout(db_, kBusyTimeoutMs);
    exec("PRAGMA journal_mode = WAL");
    exec("PRAGMA synchronous = NORMAL");
    exec("PRAGMA foreign_keys = ON");
  }
  ~RawSqlite() { sqlite3_close_v2(db_); }
  RawSqlite(const RawSqlite&) = delete;
  RawSqlite& operator=(const RawSqlite&) = delete;

  void exec(const char* sql) {
    char* error = nullptr;
    if (sqlite3_exec(db_, sql, nullptr, nullptr, &error) != SQLITE_OK) {
      std::string message = error ? error : "unknown error";
      sqlite3_free(error);
      throw Error(ErrorKind::internal, std::string("bench writes (raw sqlite3): ") + sql + ": " + message);
    }
  }
  sqlite3_stmt* prepare(const char* sql) {
    sqlite3_stmt* statement = nullptr;
    if (sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, &statement, nullptr) != SQLITE_OK) {
      throw Error(ErrorKind::internal, std::string("bench writes (raw sqlite3): ") + sqlite3_errmsg(db_));
    }
    return statement;
  }
  void done(sqlite3_stmt* statement) {
    if (sqlite3_step(statement) != SQLITE_DONE) {
      throw Error(ErrorKind::internal, std::string("bench writes (raw sqlite3): ") + sqlite3_errmsg(db_));
    }
    sqlite3_reset(statement);
  }
  sqlite3* handle() { return db_; }

 private:
  sqlite3* db_ = nullptr;
};

struct RawResults {
  Rate single;
  Rate batch;
};

RawResults bench_raw_sqlite(const fs::path& file, const Options& options, const std::vector<std::string>& contents) {
  {
    // The same DDL as the store's database, rendered by the same dialect.
    auto source = sql::make_connection_source(sqlite_settings(file));
    auto lease = source->acquire();
    store::create_schema_directly(*lease);
  }
  RawSqlite db(file);
  db.exec("INSERT INTO \"conversations\" (\"started_at\", \"updated_at\", \"message_count\") VALUES "
          "('2026-01-01 00:00:00.000000', '2026-01-01 00:00:00.000000', 0)");
  db.exec("INSERT INTO \"conversations\" (\"started_at\", \"updated_at\", \"message_count\") VALUES "
          "('2026-01-01 00:00:00.000000', '2026-01-01 00:00:00.000000', 0)");
  sqlite3_stmt* insert = db.prepare(
      "INSERT INTO \"messages\" (\"conversation_id\", \"role\", \"content\", \"created_at\", \"sentiment_score\") "
      "VALUES (?, ?, ?, ?, ?)");
  sqlite3_stmt* bump = db.prepare(
      "UPDATE \"conversations\" SET \"message_count\" = \"message_count\" + ?, \"updated_at\" = ? WHERE \"id\" = ?");
  RawResults results;
  auto write_rows = [&](std::int64_t conversation, std::int64_t first, std::int64_t count) {
    const std::string now = sql::format_timestamp(sql::now_utc());
    db.exec("BEGIN IMMEDIATE");
    sqlite3_bind_int64(bump, 1, count);
    sqlite3_bind_text(bump, 2, now.c_str(), static_cast<int>(now.size()), SQLITE_TRANSIENT);
    sqlite3_bind_int64(bump, 3, conversation);
    db.done(bump);
    for (std::int64_t i = first; i < first + count; ++i) {
      const std::string& content = contents[static_cast<std::size_t>(i)];
      sqlite3_bind_int64(insert, 1, conversation);
      sqlite3_bind_text(insert, 2, message_role(i), -1, SQLITE_STATIC);
      sqlite3_bind_text(insert, 3, content.c_str(), static_cast<int>(content.size()), SQLITE_STATIC);
      sqlite3_bind_text(insert, 4, now.c_str(), static_cast<int>(now.size()), SQLITE_TRANSIENT);
      sqlite3_bind_double(insert, 5, 0.1);
      db.done(insert);
    }
    db.exec("COMMIT");
  };

  Stopwatch single;
  single.start();
  for (std::int64_t i = 0; i < options.rows; ++i) write_rows(1, i, 1);
  single.stop();
  results.single = rate(options.rows, single);

  Stopwatch batches;
  batches.start();
  for (std::int64_t written = 0; written < options.rows; written += kBatchSize) {
    write_rows(2, written, std::min<std::int64_t>(kBatchSize, options.rows - written));
  }
  batches.stop();
  results.batch = rate(options.rows, batches);
  sqlite3_finalize(insert);
  sqlite3_finalize(bump);
  return results;
}

// The figures every run reports, whatever the backend.
nlohmann::json store_json(const Options& options, const StoreResults& store) {
  return {
      {"rows", options.rows},
      {"batch_size", kBatchSize},
      {"reads", options.reads},
      {"read_limit", kReadLimit},
      {"single_row_tx_rows_per_s", store.single.rows_per_s},
      {"single_row_tx_rows_per_cpu_s", store.single.rows_per_cpu_s},
      {"batch_rows_per_s", store.batch.rows_per_s},
      {"batch_rows_per_cpu_s", store.batch.rows_per_cpu_s},
      {"read_latest_p50_us", store.read_p50_us},
      {"read_latest_p99_us", store.read_p99_us},
  };
}

// The store phases on a server database named by --url.
void run_server_bench(const Options& options, Context& context) {
  if (!options.path.empty()) throw Error(ErrorKind::usage, "bench writes: give --path (SQLite) or --url, not both");
  Settings settings = context.settings();
  settings.db = parse_db_url(options.url, "bench writes --url");
  if (settings.db.backend == Backend::sqlite) {
    throw Error(ErrorKind::usage, "bench writes --url names a SQLite database; use --path for SQLite");
  }
  auto source = sql::make_connection_source(settings);
  std::string server_version;
  {
    auto lease = source->acquire();
    server_version = lease->server_version();
    for (const auto& table : {"conversations", "messages"}) {
      if (lease->dialect().table_exists(*lease, table)) {
        throw Error(ErrorKind::usage, "bench writes --url " + settings.db.redacted() + ": the database already has a " +
                                          table + " table; give an empty database (the benchmark creates and drops "
                                          "its own tables)");
      }
    }
  }
  const auto contents = all_contents(options.rows);
  auto drop_tables = [&] {
    auto lease = source->acquire();
    store::drop_schema_directly(*lease);
  };
  StoreResults store;
  try {
    store = bench_store(*source, options, contents);
  } catch (...) {
    try {
      drop_tables();
    } catch (...) {
      // The benchmark's own failure is the one to report.
    }
    throw;
  }
  drop_tables();
  const std::string backend = to_string(settings.db.backend);
  if (options.json) {
    nlohmann::json out = store_json(options, store);
    out["backend"] = backend;
    out["server_version"] = server_version;
    std::cout << out.dump(2) << '\n';
    return;
  }
  std::cout << fmt::format("lunadb bench writes: {} {} ({}), {} rows\n", backend, server_version,
                           settings.db.redacted(), options.rows);
  std::cout << fmt::format("  insert, one row per transaction:   {:>10.0f} rows/s\n", store.single.rows_per_s);
  std::cout << fmt::format("  insert, {} rows per transaction: {:>10.0f} rows/s\n", kBatchSize, store.batch.rows_per_s);
  std::cout << fmt::format("  read newest {} messages ({} reads): {:.1f} µs p50, {:.1f} µs p99\n", kReadLimit,
                           options.reads, store.read_p50_us, store.read_p99_us);
}

void run_bench(const Options& options, Context& context) {
  if (options.rows < 1) throw Error(ErrorKind::usage, "bench writes --rows must be at least 1");
  if (options.reads < 1) throw Error(ErrorKind::usage, "bench writes --reads must be at least 1");
  if (!options.url.empty()) return run_server_bench(options, context);
  Workspace workspace(options.path);
  const auto contents = all_contents(options.rows);
  auto source = sql::make_connection_source(sqlite_settings(workspace.database()));
  const auto store = bench_store(*source, options, contents);
  source->dispose();
  const auto raw = bench_raw_sqlite(workspace.raw_database(), options, contents);
  const double batch_vs_raw = store.batch.rows_per_s / raw.batch.rows_per_s;
  const double batch_vs_raw_cpu = store.batch.rows_per_cpu_s / raw.batch.rows_per_cpu_s;

  if (options.json) {
    nlohmann::json out = store_json(options, store);
    out.update({
        {"backend", "sqlite"},
        {"sqlite_version", sqlite3_libversion()},
        {"raw_sqlite3_single_row_tx_rows_per_s", raw.single.rows_per_s},
        {"raw_sqlite3_single_row_tx_rows_per_cpu_s", raw.single.rows_per_cpu_s},
        {"raw_sqlite3_batch_rows_per_s", raw.batch.rows_per_s},
        {"raw_sqlite3_batch_rows_per_cpu_s", raw.batch.rows_per_cpu_s},
        {"batch_vs_raw_sqlite3", batch_vs_raw},
        {"batch_vs_raw_sqlite3_cpu", batch_vs_raw_cpu},
    });
    std::cout << out.dump(2) << '\n';
    return;
  }
  std::cout << fmt::format("lunadb bench writes: SQLite {} (WAL, synchronous=NORMAL), {} rows, {}\n",
                           sqlite3_libversion(), options.rows, workspace.database().string());
  std::cout << fmt::format("  {:<36} {:>13} {:>13} {:>13} {:>13}\n", "rows/s (wall | per CPU second)",
                           "store wall", "store cpu", "sqlite3 wall", "sqlite3 cpu");
  auto line = [](const std::string& what, const Rate& ours, const Rate& theirs) {
    std::cout << fmt::format("  {:<36} {:>13.0f} {:>13.0f} {:>13.0f} {:>13.0f}\n", what, ours.rows_per_s,
                             ours.rows_per_cpu_s, theirs.rows_per_s, theirs.rows_per_cpu_s);
  };
  line("insert, one row per transaction", store.single, raw.single);
  line(fmt::format("insert, {} rows per transaction", kBatchSize), store.batch, raw.batch);
  std::cout << fmt::format("  batches, store / raw sqlite3: {:.2f} (wall), {:.2f} (CPU)\n", batch_vs_raw,
                           batch_vs_raw_cpu);
  std::cout << fmt::format("  read newest {} messages ({} reads): {:.1f} µs p50, {:.1f} µs p99\n", kReadLimit,
                           options.reads, store.read_p50_us, store.read_p99_us);
}

}  // namespace

void register_bench_writes(CLI::App& bench, Context& context) {
  auto options = std::make_shared<Options>();
  CLI::App* command = bench.add_subcommand(
      "writes",
      "Store write/read throughput on SQLite next to the raw sqlite3 C API, or on a server database (--url); "
      "peer: bench/peers/run_writes.sh");
  command->add_option("--rows", options->rows, "Messages written by each insert benchmark")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  command->add_option("--reads", options->reads, "Reads of the newest 50 messages")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  command->add_option("--path", options->path,
                      "Create the database here (must not exist) and keep it; default: a temporary file");
  command->add_option("--url", options->url,
                      "Run on this PostgreSQL or MySQL/MariaDB database instead (DB_URL syntax; it must hold none "
                      "of the schema's tables)");
  command->add_flag("--json", options->json, "Print the results as JSON");
  command->callback([options, &context] { run_bench(*options, context); });
}

}  // namespace lunadb::cli
