#include "sql/sqlite_driver.hpp"

#include <sqlite3.h>

#include <array>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <system_error>
#include <thread>

#include "lunadb/error.hpp"
#include "sql/backends.hpp"
#include "sql/sqlite_dialect.hpp"

namespace lunadb::sql {

bool is_valid_utf8(std::string_view text) noexcept {
  std::size_t i = 0;
  const std::size_t n = text.size();
  while (i < n) {
    auto byte = static_cast<unsigned char>(text[i]);
    if (byte < 0x80) {
      ++i;
      continue;
    }
    std::size_t extra = 0;
    std::uint32_t code = 0;
    if ((byte & 0xE0) == 0xC0) {
      extra = 1;
      code = byte & 0x1F;
    } else if ((byte & 0xF0) == 0xE0) {
      extra = 2;
      code = byte & 0x0F;
    } else if ((byte & 0xF8) == 0xF0) {
      extra = 3;
      code = byte & 0x07;
    } else {
      return false;
    }
    if (i + extra >= n) return false;
    for (std::size_t k = 1; k <= extra; ++k) {
      auto next = static_cast<unsigned char>(text[i + k]);
      if ((next & 0xC0) != 0x80) return false;
      code = (code << 6) | (next & 0x3F);
    }
    static constexpr std::uint32_t minimum[] = {0, 0x80, 0x800, 0x10000};
    if (code < minimum[extra] || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF)) return false;
    i += extra + 1;
  }
  return true;
}

namespace {

namespace fs = std::filesystem;

constexpr std::size_t sql_excerpt_length = 120;

std::string excerpt(std::string_view sql) {
  std::string out;
  for (char c : sql.substr(0, sql_excerpt_length)) out += (c == '\n' || c == '\t' || c == '\r') ? ' ' : c;
  if (sql.size() > sql_excerpt_length) out += "...";
  return out;
}

// The open database handle, shared by the connection and its statements so that a statement
// outliving its connection finalizes safely (sqlite3_close_v2 waits for the last statement).
struct Handle {
  sqlite3* db = nullptr;
  std::string filename;  // for messages
  bool usable = true;
  ~Handle() {
    if (db != nullptr) sqlite3_close_v2(db);
  }
};

ErrorKind kind_for(int extended_code) {
  switch (extended_code & 0xFF) {
    case SQLITE_CONSTRAINT: return ErrorKind::constraint;
    case SQLITE_BUSY:
    case SQLITE_LOCKED: return ErrorKind::busy;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB: return ErrorKind::corrupt;
    case SQLITE_CANTOPEN:
    case SQLITE_IOERR:
    case SQLITE_FULL:
    case SQLITE_READONLY:
    case SQLITE_PERM: return ErrorKind::io;
    case SQLITE_TOOBIG:
    case SQLITE_MISMATCH: return ErrorKind::invalid_argument;
    case SQLITE_MISUSE:
    case SQLITE_NOMEM:
    case SQLITE_INTERNAL: return ErrorKind::internal;
    default: return ErrorKind::usage;  // SQL errors: no such table, syntax, wrong parameter count
  }
}

bool connection_survives(int extended_code) {
  switch (extended_code & 0xFF) {
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
    case SQLITE_CANTOPEN:
    case SQLITE_IOERR:
    case SQLITE_MISUSE:
    case SQLITE_NOMEM: return false;
    default: return true;
  }
}

[[noreturn]] void throw_sqlite(Handle& handle, int code, std::string_view sql, const std::string& what = {}) {
  const char* message = handle.db != nullptr ? sqlite3_errmsg(handle.db) : sqlite3_errstr(code);
  DatabaseError::Details details;
  details.backend = "sqlite";
  details.native_code = std::to_string(code);
  details.connection_usable = connection_survives(code);
  details.retryable = kind_for(code) == ErrorKind::busy;
  if (!details.connection_usable) handle.usable = false;
  std::string text = "sqlite error " + std::to_string(code) + " (" + sqlite3_errstr(code) + "): " + message;
  if (!what.empty()) text += " " + what;
  if (!sql.empty()) text += " in statement: " + excerpt(sql);
  throw DatabaseError(kind_for(code), text, std::move(details));
}

class SqliteStatement final : public Statement {
 public:
  SqliteStatement(std::shared_ptr<Handle> handle, sqlite3_stmt* statement, std::string_view sql)
      : handle_(std::move(handle)), statement_(statement), sql_(sql) {}
  ~SqliteStatement() override { sqlite3_finalize(statement_); }

  void bind(int index, const Value& value) override {
    int count = sqlite3_bind_parameter_count(statement_);
    if (index < 1 || index > count) {
      throw Error(ErrorKind::usage, "parameter " + std::to_string(index) + " is out of range (the statement has " +
                                        std::to_string(count) + "): " + excerpt(sql_));
    }
    if (state_ != State::ready) reset();
    int rc = std::visit(
        [&](const auto& v) -> int {
          using T = std::decay_t<decltype(v)>;
          if constexpr (std::is_same_v<T, std::monostate>) {
            return sqlite3_bind_null(statement_, index);
          } else if constexpr (std::is_same_v<T, bool>) {
            return sqlite3_bind_int64(statement_, index, v ? 1 : 0);
          } else if constexpr (std::is_same_v<T, std::int64_t>) {
            return sqlite3_bind_int64(statement_, index, v);
          } else if constexpr (std::is_same_v<T, double>) {
            return sqlite3_bind_double(statement_, index, v);
          } else if constexpr (std::is_same_v<T, std::string>) {
            if (!is_valid_utf8(v)) {
              throw Error(ErrorKind::invalid_argument, "text bound to " + parameter_name(index) +
                                                           " is not valid UTF-8: " + excerpt(sql_));
            }
            return sqlite3_bind_text64(statement_, index, v.data(), v.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
          } else if constexpr (std::is_same_v<T, Blob>) {
            // A null pointer would bind NULL; an empty blob is a zero-length blob.
            if (v.bytes.empty()) return sqlite3_bind_zeroblob(statement_, index, 0);
            return sqlite3_bind_blob64(statement_, index, v.bytes.data(), v.bytes.size(), SQLITE_TRANSIENT);
          } else {
            std::string text = format_timestamp(v);
            return sqlite3_bind_text(statement_, index, text.c_str(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
          }
        },
        value);
    if (rc != SQLITE_OK) throw_sqlite(*handle_, rc, sql_, "binding " + parameter_name(index));
  }

  bool step() override {
    if (state_ == State::done) return false;
    int rc = sqlite3_step(statement_);
    if (rc == SQLITE_ROW) {
      state_ = State::row;
      return true;
    }
    if (rc == SQLITE_DONE) {
      // Reset at once so the statement holds no read snapshot; bindings stay.
      sqlite3_reset(statement_);
      state_ = State::done;
      return false;
    }
    sqlite3_reset(statement_);
    state_ = State::ready;
    throw_sqlite(*handle_, rc, sql_);
  }

  std::int64_t execute() override {
    if (state_ != State::ready) reset();
    while (step()) {
    }
    return sqlite3_changes64(handle_->db);
  }

  void reset() override {
    sqlite3_reset(statement_);
    state_ = State::ready;
  }

  int column_count() const override { return sqlite3_column_count(statement_); }
  std::string column_name(int column) const override {
    check_column(column, false);
    const char* name = sqlite3_column_name(statement_, column);
    return name != nullptr ? name : "";
  }
  bool is_null(int column) const override {
    check_column(column);
    return sqlite3_column_type(statement_, column) == SQLITE_NULL;
  }
  std::int64_t get_int64(int column) const override {
    check_column(column);
    return sqlite3_column_int64(statement_, column);
  }
  double get_double(int column) const override {
    check_column(column);
    return sqlite3_column_double(statement_, column);
  }
  std::string get_text(int column) const override {
    check_column(column);
    const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(statement_, column));
    int size = sqlite3_column_bytes(statement_, column);
    return text != nullptr ? std::string(text, static_cast<std::size_t>(size)) : std::string();
  }
  Blob get_blob(int column) const override {
    check_column(column);
    const auto* bytes = static_cast<const std::uint8_t*>(sqlite3_column_blob(statement_, column));
    int size = sqlite3_column_bytes(statement_, column);
    Blob blob;
    if (bytes != nullptr) blob.bytes.assign(bytes, bytes + size);
    return blob;
  }
  Timestamp get_timestamp(int column) const override {
    check_column(column);
    if (sqlite3_column_type(statement_, column) == SQLITE_NULL) {
      throw Error(ErrorKind::invalid_argument, "column '" + column_name(column) + "' is NULL, not a timestamp");
    }
    return parse_timestamp(get_text(column));
  }

 private:
  enum class State { ready, row, done };

  void check_column(int column, bool needs_row = true) const {
    if (column < 0 || column >= sqlite3_column_count(statement_)) {
      throw Error(ErrorKind::usage, "column " + std::to_string(column) + " is out of range (the result has " +
                                        std::to_string(sqlite3_column_count(statement_)) + "): " + excerpt(sql_));
    }
    if (needs_row && state_ != State::row) {
      throw Error(ErrorKind::usage, "no current row to read column " + std::to_string(column) + " from: " + excerpt(sql_));
    }
  }

  std::string parameter_name(int index) const {
    const char* name = sqlite3_bind_parameter_name(statement_, index);
    std::string out = "parameter " + std::to_string(index);
    if (name != nullptr) out += std::string(" (") + name + ")";
    return out;
  }

  std::shared_ptr<Handle> handle_;
  sqlite3_stmt* statement_;
  std::string sql_;
  State state_ = State::ready;
};

bool only_whitespace(const char* begin, const char* end) {
  for (const char* p = begin; p < end; ++p) {
    if (!std::isspace(static_cast<unsigned char>(*p)) && *p != ';') return false;
  }
  return true;
}

class SqliteConnection final : public Connection {
 public:
  explicit SqliteConnection(std::shared_ptr<Handle> handle) : handle_(std::move(handle)) {}

  Backend backend() const override { return Backend::sqlite; }
  const Dialect& dialect() const override { return sqlite_dialect(); }

  std::unique_ptr<Statement> prepare(std::string_view sql) override {
    sqlite3_stmt* statement = nullptr;
    const char* tail = nullptr;
    int rc = sqlite3_prepare_v3(handle_->db, sql.data(), static_cast<int>(sql.size()), 0, &statement, &tail);
    if (rc != SQLITE_OK) throw_sqlite(*handle_, rc, sql);
    if (statement == nullptr) throw Error(ErrorKind::usage, "empty SQL statement");
    if (tail != nullptr && !only_whitespace(tail, sql.data() + sql.size())) {
      sqlite3_finalize(statement);
      throw Error(ErrorKind::usage, "prepare() takes one statement; more text follows: " + excerpt(sql));
    }
    return std::make_unique<SqliteStatement>(handle_, statement, sql);
  }

  // Runs every statement in `sql` (a script is allowed); returns the changes of the last one.
  std::int64_t execute(std::string_view sql) override {
    const char* begin = sql.data();
    const char* end = sql.data() + sql.size();
    std::int64_t changes = 0;
    while (begin < end && !only_whitespace(begin, end)) {
      sqlite3_stmt* raw = nullptr;
      const char* tail = nullptr;
      int rc = sqlite3_prepare_v3(handle_->db, begin, static_cast<int>(end - begin), 0, &raw, &tail);
      if (rc != SQLITE_OK) throw_sqlite(*handle_, rc, std::string_view(begin, static_cast<std::size_t>(end - begin)));
      if (raw == nullptr) break;
      SqliteStatement statement(handle_, raw, std::string_view(begin, static_cast<std::size_t>(tail - begin)));
      changes = statement.execute();
      begin = tail;
    }
    return changes;
  }

  void begin(TransactionMode mode) override {
    if (in_transaction()) throw Error(ErrorKind::usage, "begin(): a transaction is already active on this connection");
    execute(mode == TransactionMode::write ? "BEGIN IMMEDIATE" : "BEGIN DEFERRED");
  }
  void commit() override { execute("COMMIT"); }
  void rollback() override {
    if (!in_transaction()) return;
    execute("ROLLBACK");
  }
  bool in_transaction() const override { return sqlite3_get_autocommit(handle_->db) == 0; }
  std::int64_t last_insert_id() override { return sqlite3_last_insert_rowid(handle_->db); }
  bool ping() noexcept override {
    if (!handle_->usable) return false;
    try {
      execute("SELECT 1");
      return true;
    } catch (...) {
      return false;
    }
  }
  bool usable() const noexcept override { return handle_->usable; }
  std::string server_version() override { return sqlite3_libversion(); }

 private:
  std::shared_ptr<Handle> handle_;
};

constexpr std::array<char, 16> sqlite_magic = {'S', 'Q', 'L', 'i', 't', 'e', ' ', 'f',
                                               'o', 'r', 'm', 'a', 't', ' ', '3', '\0'};

// Refuses an existing file that is not an SQLite database before SQLite touches it: switching the
// journal mode would otherwise write to it.
void check_database_header(const fs::path& file) {
  std::error_code ec;
  auto status = fs::status(file, ec);
  if (ec || !fs::exists(status) || !fs::is_regular_file(status)) return;  // SQLite reports the rest
  auto size = fs::file_size(file, ec);
  if (ec || size == 0) return;  // an empty file is a new database
  std::ifstream in(file, std::ios::binary);
  std::array<char, 16> header{};
  in.read(header.data(), header.size());
  if (!in || header != sqlite_magic) {
    throw DatabaseError(ErrorKind::corrupt,
                        "file is not an SQLite database (bad header): " + file.string() + " — the file was left untouched",
                        {"sqlite", std::to_string(SQLITE_NOTADB), false, false});
  }
}

}  // namespace

std::unique_ptr<Connection> open_sqlite_connection(const DbUrl& url, const ConnectOptions& options) {
  const bool in_memory = url.sqlite_in_memory();
  // sqlite:///file:name?mode=ro&uri=true is an SQLite URI filename (as pysqlite's uri=True):
  // SQLite itself interprets it, so lunadb neither creates folders nor checks the file for it.
  const bool uri = !in_memory && url.database.starts_with("file:") && url.query_value("uri") == "true";
  std::string filename = in_memory ? std::string(":memory:") : url.database;
  if (uri) {
    char separator = filename.find('?') == std::string::npos ? '?' : '&';
    for (const auto& [key, value] : url.query) {
      if (key == "uri") continue;
      filename += separator + key + "=" + value;
      separator = '&';
    }
  }
  if (!in_memory && !uri) {
    fs::path file(filename);
    fs::path folder = file.parent_path();
    if (!folder.empty()) {
      std::error_code ec;
      fs::create_directories(folder, ec);
      if (ec) {
        throw Error(ErrorKind::io, "cannot create the folder '" + folder.string() + "' for the SQLite database " +
                                       file.string() + ": " + ec.message());
      }
    }
    check_database_header(file);
  }

  auto handle = std::make_shared<Handle>();
  handle->filename = filename;
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX | (uri ? SQLITE_OPEN_URI : 0);
  int rc = sqlite3_open_v2(filename.c_str(), &handle->db, flags, nullptr);
  if (rc != SQLITE_OK) {
    if (handle->db != nullptr) rc = sqlite3_extended_errcode(handle->db);
    throw_sqlite(*handle, rc, {}, "opening the database " + filename);
  }
  sqlite3_extended_result_codes(handle->db, 1);
  sqlite3_busy_timeout(handle->db, options.busy_timeout_ms);

  auto connection = std::make_unique<SqliteConnection>(handle);
  auto setup = [&](std::string_view sql) {
    try {
      connection->execute(sql);
    } catch (const DatabaseError& error) {
      throw DatabaseError(error.kind(), std::string(error.what()) + " (database " + filename + ")",
                          {"sqlite", error.native_code(), false, error.retryable()});
    }
  };
  // A read first: a file with a valid header but a broken first page fails here, still unmodified.
  setup("SELECT count(*) FROM sqlite_master");
  if (uri) {
    try {
      connection->execute("PRAGMA journal_mode = WAL");
    } catch (const Error&) {
      // mode=ro or mode=memory: the journal mode stays what SQLite chose.
    }
  } else if (!in_memory) {
    // Switching to WAL needs an exclusive lock and SQLite does not call the busy handler for it,
    // so two processes opening a new file at once would see "database is locked". WAL is
    // persistent: once any connection switched the file, the others find it already set.
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(options.busy_timeout_ms);
    for (;;) {
      auto mode = connection->prepare("PRAGMA journal_mode");
      if (mode->step() && mode->get_text(0) == "wal") break;
      mode.reset();
      try {
        connection->execute("PRAGMA journal_mode = WAL");
        break;
      } catch (const DatabaseError& error) {
        if (error.kind() != ErrorKind::busy || std::chrono::steady_clock::now() >= deadline) {
          throw DatabaseError(error.kind(), std::string(error.what()) + " (database " + filename + ")",
                              {"sqlite", error.native_code(), false, error.retryable()});
        }
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }
  setup("PRAGMA synchronous = NORMAL");
  setup("PRAGMA foreign_keys = ON");
  return connection;
}

}  // namespace lunadb::sql
