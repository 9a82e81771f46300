// MySQL / MariaDB through MariaDB Connector/C, with real server-side prepared statements
// (mysql_stmt_*) and typed MYSQL_BINDs: values never get spliced into SQL text.
//
// Connection choices, and why:
//   - utf8mb4 only: emoji and all of Unicode must round-trip (config refuses other charsets).
//   - no auto-reconnect: a silent reconnect would drop the transaction and session state under the
//     caller; instead the connection is marked unusable and the pool replaces it.
//   - CLIENT_FOUND_ROWS: UPDATE reports the rows it *matched*, as SQLite and PostgreSQL do, so
//     "update by id" can tell "not found" from "unchanged".
//   - session time_zone '+00:00': DATETIME(6) has no zone; CURRENT_TIMESTAMP defaults must be UTC.
//   - results are buffered (mysql_stmt_store_result) so several statements may be open at once.
//   - prepared handles are kept per connection (up to 64, by SQL text): a statement run again,
//     as the store's are, skips the COM_STMT_PREPARE round trip.
#include <mysql.h>
#include <mysqld_error.h>
#include <errmsg.h>

#include <chrono>
#include <cmath>
#include <cstring>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "lunadb/error.hpp"
#include "sql/backends.hpp"
#include "sql/dialect.hpp"

namespace lunadb::sql {

namespace {

constexpr unsigned long kInitialColumnBuffer = 256;

// mysql_library_init is not thread-safe; every connect goes through this first.
void ensure_library() {
  static std::once_flag once;
  std::call_once(once, [] { mysql_library_init(0, nullptr, nullptr); });
}

struct Classification {
  ErrorKind kind;
  bool connection_lost;
  bool retryable;
};

Classification classify(unsigned int code, const std::string& sqlstate) {
  switch (code) {
    case ER_DUP_ENTRY:
    case ER_DUP_ENTRY_WITH_KEY_NAME:
    case ER_NO_REFERENCED_ROW:
    case ER_NO_REFERENCED_ROW_2:
    case ER_ROW_IS_REFERENCED:
    case ER_ROW_IS_REFERENCED_2:
    case ER_BAD_NULL_ERROR:
    case 4025:  // MariaDB ER_CONSTRAINT_FAILED (CHECK)
    case 3819:  // MySQL ER_CHECK_CONSTRAINT_VIOLATED
      return {ErrorKind::constraint, false, false};
    case ER_LOCK_DEADLOCK:
    case ER_LOCK_WAIT_TIMEOUT:
      return {ErrorKind::busy, false, true};
    case CR_SERVER_GONE_ERROR:
    case CR_SERVER_LOST:
    case CR_CONNECTION_ERROR:
    case CR_CONN_HOST_ERROR:
    case CR_UNKNOWN_HOST:
    case CR_SERVER_LOST_EXTENDED:
    case ER_CONNECTION_KILLED:   // 1927: the session was KILLed
    case ER_SERVER_SHUTDOWN:     // 1053
    case ER_CON_COUNT_ERROR:     // 1040: too many connections
    case 4031:                   // MariaDB ER_NET_READ_INTERRUPTED-style idle timeout
      return {ErrorKind::connection, true, true};
    default: break;
  }
  if (sqlstate.rfind("23", 0) == 0) return {ErrorKind::constraint, false, false};
  if (sqlstate.rfind("08", 0) == 0) return {ErrorKind::connection, true, true};
  if (sqlstate.rfind("42", 0) == 0) return {ErrorKind::usage, false, false};
  if (sqlstate.rfind("22", 0) == 0) return {ErrorKind::invalid_argument, false, false};
  if (code >= 2000 && code < 3000) return {ErrorKind::connection, false, false};  // other client errors
  return {ErrorKind::internal, false, false};
}

class MyConnection;

class MyStatement final : public Statement {
 public:
  MyStatement(MyConnection& connection, MYSQL_STMT* stmt, std::string sql);
  ~MyStatement() override;

  void bind(int index, const Value& value) override;
  bool step() override;
  std::int64_t execute() override;
  void reset() override;

  int column_count() const override { return static_cast<int>(columns_.size()); }
  std::string column_name(int column) const override {
    check_column(column);
    return columns_[static_cast<std::size_t>(column)].name;
  }
  bool is_null(int column) const override { return current(column).null; }
  std::int64_t get_int64(int column) const override;
  double get_double(int column) const override;
  std::string get_text(int column) const override;
  Blob get_blob(int column) const override;
  Timestamp get_timestamp(int column) const override;

 private:
  enum class Holder { integer, real, time, bytes };
  struct Parameter {
    enum_field_types type = MYSQL_TYPE_NULL;
    std::int64_t integer = 0;
    double real = 0;
    signed char tiny = 0;
    MYSQL_TIME time{};
    std::string bytes;
    unsigned long length = 0;
  };
  struct Column {
    std::string name;
    Holder holder = Holder::bytes;
    enum_field_types server_type = MYSQL_TYPE_NULL;
    bool is_unsigned = false;
    std::int64_t integer = 0;
    double real = 0;
    MYSQL_TIME time{};
    std::vector<char> bytes;
    unsigned long length = 0;
    my_bool null = 0;
    my_bool error = 0;
  };

  void run();
  void fail(const char* what);
  void check_column(int column) const {
    if (column < 0 || column >= static_cast<int>(columns_.size())) {
      throw Error(ErrorKind::usage, "column index " + std::to_string(column) + " is out of range");
    }
  }
  const Column& current(int column) const {
    check_column(column);
    if (!on_row_) throw Error(ErrorKind::usage, "no current row: call step() first");
    return columns_[static_cast<std::size_t>(column)];
  }
  const Column& value(int column) const {
    const Column& c = current(column);
    if (c.null) throw Error(ErrorKind::usage, "column " + c.name + " is NULL");
    return c;
  }

  MyConnection& connection_;
  MYSQL_STMT* stmt_;
  std::string sql_;  // the cache key when the handle goes back to the connection
  MYSQL_RES* meta_ = nullptr;
  std::vector<Parameter> parameters_;
  std::vector<Column> columns_;
  std::vector<MYSQL_BIND> result_binds_;
  bool executed_ = false;
  bool on_row_ = false;
  bool done_ = false;
  std::int64_t affected_ = 0;
};

class MyConnection final : public Connection {
 public:
  MyConnection(MYSQL* mysql, std::string where) : mysql_(mysql), where_(std::move(where)) {}
  ~MyConnection() override {
    for (auto& [sql, stmt] : idle_statements_) mysql_stmt_close(stmt);
    mysql_close(mysql_);
  }

  Backend backend() const override { return Backend::mysql; }
  const Dialect& dialect() const override { return dialect_for(Backend::mysql); }

  std::unique_ptr<Statement> prepare(std::string_view sql) override {
    check_usable();
    if (auto idle = idle_statements_.find(std::string(sql)); idle != idle_statements_.end()) {
      MYSQL_STMT* stmt = idle->second;
      idle_statements_.erase(idle);
      return std::make_unique<MyStatement>(*this, stmt, std::string(sql));
    }
    MYSQL_STMT* stmt = mysql_stmt_init(mysql_);
    if (!stmt) throw_error("mysql_stmt_init");
    if (mysql_stmt_prepare(stmt, sql.data(), static_cast<unsigned long>(sql.size())) != 0) {
      const unsigned int code = mysql_stmt_errno(stmt);
      const std::string state = mysql_stmt_sqlstate(stmt);
      const std::string message = mysql_stmt_error(stmt);
      mysql_stmt_close(stmt);
      throw_error(code, state, message);
    }
    return std::make_unique<MyStatement>(*this, stmt, std::string(sql));
  }

  // A finished statement's server-side handle is kept for the next prepare() of the same text,
  // which then costs no round trip (MySQL prepares on the server: COM_STMT_PREPARE). Handles of a
  // lost connection, and any beyond the cache's size, are closed.
  void give_back(std::string sql, MYSQL_STMT* stmt) noexcept {
    try {
      if (usable_ && idle_statements_.size() < kStatementCacheSize && !idle_statements_.contains(sql)) {
        idle_statements_.emplace(std::move(sql), stmt);
        return;
      }
    } catch (...) {
      // Out of memory for the cache entry: close the handle instead.
    }
    mysql_stmt_close(stmt);
  }

  std::int64_t execute(std::string_view sql) override {
    check_usable();
    if (mysql_real_query(mysql_, sql.data(), static_cast<unsigned long>(sql.size())) != 0) throw_error("query");
    MYSQL_RES* result = mysql_store_result(mysql_);
    std::int64_t affected = 0;
    if (result) {
      affected = static_cast<std::int64_t>(mysql_num_rows(result));
      mysql_free_result(result);
    } else if (mysql_field_count(mysql_) != 0) {
      throw_error("store result");
    } else {
      affected = static_cast<std::int64_t>(mysql_affected_rows(mysql_));
      const auto id = mysql_insert_id(mysql_);
      if (id != 0) last_insert_id_ = static_cast<std::int64_t>(id);
    }
    return affected;
  }

  void begin(TransactionMode) override {
    if (in_transaction()) throw Error(ErrorKind::usage, "begin(): a transaction is already active on this connection");
    execute("START TRANSACTION");
  }
  void commit() override {
    check_usable();
    if (mysql_commit(mysql_) != 0) throw_error("COMMIT");
  }
  void rollback() override {
    if (!usable_ || !in_transaction()) return;
    if (mysql_rollback(mysql_) != 0) {
      try {
        throw_error("ROLLBACK");
      } catch (const DatabaseError&) {
        // rollback() reports nothing; a lost connection is already marked unusable.
      }
    }
  }
  bool in_transaction() const override {
    unsigned int status = 0;
    mariadb_get_infov(mysql_, MARIADB_CONNECTION_SERVER_STATUS, &status);
    return (status & SERVER_STATUS_IN_TRANS) != 0;
  }
  std::int64_t last_insert_id() override { return last_insert_id_; }
  bool ping() noexcept override {
    if (!usable_) return false;
    if (mysql_ping(mysql_) != 0) {
      usable_ = false;
      return false;
    }
    return true;
  }
  bool usable() const noexcept override { return usable_; }
  std::string server_version() override { return mysql_get_server_info(mysql_); }

  void check_usable() const {
    if (!usable_) {
      throw DatabaseError(ErrorKind::connection,
                          "MySQL connection to " + where_ + " was lost earlier and cannot be used again",
                          DatabaseError::Details{"mysql", std::to_string(CR_SERVER_GONE_ERROR), false, true});
    }
  }

  [[noreturn]] void throw_error(const char* what) {
    throw_error(mysql_errno(mysql_), mysql_sqlstate(mysql_), std::string(what) + ": " + mysql_error(mysql_));
  }

  [[noreturn]] void throw_error(unsigned int code, const std::string& sqlstate, const std::string& message) {
    const Classification c = classify(code, sqlstate);
    if (c.connection_lost) usable_ = false;
    std::string text = "MySQL error " + std::to_string(code) + " (" + sqlstate + "): " + message;
    if (c.connection_lost) text += " (connection to " + where_ + " lost; the transaction may be retried)";
    throw DatabaseError(c.kind, text, DatabaseError::Details{"mysql", std::to_string(code), usable_, c.retryable});
  }

  void set_last_insert_id(std::int64_t id) { last_insert_id_ = id; }

 private:
  static constexpr std::size_t kStatementCacheSize = 64;

  MYSQL* mysql_;
  std::string where_;
  std::unordered_map<std::string, MYSQL_STMT*> idle_statements_;
  bool usable_ = true;
  std::int64_t last_insert_id_ = 0;
};

MYSQL_TIME to_mysql_time(Timestamp ts) {
  using namespace std::chrono;
  const auto day = floor<days>(ts);
  const year_month_day ymd{day};
  const auto in_day = ts - day;
  const auto h = duration_cast<hours>(in_day);
  const auto m = duration_cast<minutes>(in_day - h);
  const auto s = duration_cast<seconds>(in_day - h - m);
  const auto us = duration_cast<microseconds>(in_day - h - m - s);
  MYSQL_TIME t{};
  t.year = static_cast<unsigned int>(static_cast<int>(ymd.year()));
  t.month = static_cast<unsigned int>(ymd.month());
  t.day = static_cast<unsigned int>(ymd.day());
  t.hour = static_cast<unsigned int>(h.count());
  t.minute = static_cast<unsigned int>(m.count());
  t.second = static_cast<unsigned int>(s.count());
  t.second_part = static_cast<unsigned long>(us.count());
  t.time_type = MYSQL_TIMESTAMP_DATETIME;
  return t;
}

Timestamp from_mysql_time(const MYSQL_TIME& t) {
  using namespace std::chrono;
  const sys_days day = year{static_cast<int>(t.year)} / month{t.month} / std::chrono::day{t.day};
  return Timestamp(duration_cast<microseconds>(day.time_since_epoch()) + hours(t.hour) + minutes(t.minute) +
                   seconds(t.second) + microseconds(t.second_part));
}

MyStatement::~MyStatement() {
  if (meta_) mysql_free_result(meta_);
  if (executed_ && meta_) mysql_stmt_free_result(stmt_);
  connection_.give_back(std::move(sql_), stmt_);
}

MyStatement::MyStatement(MyConnection& connection, MYSQL_STMT* stmt, std::string sql)
    : connection_(connection), stmt_(stmt), sql_(std::move(sql)) {
  parameters_.resize(mysql_stmt_param_count(stmt_));
  meta_ = mysql_stmt_result_metadata(stmt_);
  if (!meta_) return;
  const unsigned int count = mysql_num_fields(meta_);
  const MYSQL_FIELD* fields = mysql_fetch_fields(meta_);
  columns_.resize(count);
  result_binds_.assign(count, MYSQL_BIND{});
  for (unsigned int i = 0; i < count; ++i) {
    Column& c = columns_[i];
    MYSQL_BIND& b = result_binds_[i];
    c.name = fields[i].name;
    c.server_type = fields[i].type;
    c.is_unsigned = (fields[i].flags & UNSIGNED_FLAG) != 0;
    switch (fields[i].type) {
      case MYSQL_TYPE_TINY:
      case MYSQL_TYPE_SHORT:
      case MYSQL_TYPE_INT24:
      case MYSQL_TYPE_LONG:
      case MYSQL_TYPE_LONGLONG:
      case MYSQL_TYPE_YEAR:
        c.holder = Holder::integer;
        b.buffer_type = MYSQL_TYPE_LONGLONG;
        b.buffer = &c.integer;
        b.is_unsigned = c.is_unsigned;
        break;
      case MYSQL_TYPE_FLOAT:
      case MYSQL_TYPE_DOUBLE:
        c.holder = Holder::real;
        b.buffer_type = MYSQL_TYPE_DOUBLE;
        b.buffer = &c.real;
        break;
      case MYSQL_TYPE_DATETIME:
      case MYSQL_TYPE_TIMESTAMP:
      case MYSQL_TYPE_DATE:
        c.holder = Holder::time;
        b.buffer_type = MYSQL_TYPE_DATETIME;
        b.buffer = &c.time;
        break;
      default:
        // Strings, blobs, DECIMAL, JSON, BIT: bytes, grown on demand with mysql_stmt_fetch_column.
        c.holder = Holder::bytes;
        c.bytes.resize(kInitialColumnBuffer);
        b.buffer_type = MYSQL_TYPE_BLOB;
        b.buffer = c.bytes.data();
        b.buffer_length = kInitialColumnBuffer;
        break;
    }
    b.length = &c.length;
    b.is_null = &c.null;
    b.error = &c.error;
  }
}

void MyStatement::fail(const char* what) {
  connection_.throw_error(mysql_stmt_errno(stmt_), mysql_stmt_sqlstate(stmt_),
                          std::string(what) + ": " + mysql_stmt_error(stmt_));
}

void MyStatement::bind(int index, const Value& value) {
  if (index < 1 || index > static_cast<int>(parameters_.size())) {
    throw Error(ErrorKind::usage, "parameter index " + std::to_string(index) + " is out of range: the statement has " +
                                      std::to_string(parameters_.size()) + " parameters");
  }
  if (executed_) reset();
  Parameter& p = parameters_[static_cast<std::size_t>(index - 1)];
  p = Parameter{};
  struct Encode {
    Parameter& p;
    void operator()(std::monostate) const { p.type = MYSQL_TYPE_NULL; }
    void operator()(bool b) const {
      p.type = MYSQL_TYPE_TINY;
      p.tiny = b ? 1 : 0;
    }
    void operator()(std::int64_t i) const {
      p.type = MYSQL_TYPE_LONGLONG;
      p.integer = i;
    }
    void operator()(double d) const {
      p.type = MYSQL_TYPE_DOUBLE;
      p.real = d;
    }
    void operator()(const std::string& s) const {
      p.type = MYSQL_TYPE_STRING;
      p.bytes = s;
    }
    void operator()(const Blob& b) const {
      p.type = MYSQL_TYPE_BLOB;
      p.bytes.assign(b.bytes.begin(), b.bytes.end());
    }
    void operator()(Timestamp ts) const {
      p.type = MYSQL_TYPE_DATETIME;
      p.time = to_mysql_time(ts);
    }
  };
  std::visit(Encode{p}, value);
}

void MyStatement::run() {
  connection_.check_usable();
  std::vector<MYSQL_BIND> binds(parameters_.size(), MYSQL_BIND{});
  for (std::size_t i = 0; i < parameters_.size(); ++i) {
    Parameter& p = parameters_[i];
    MYSQL_BIND& b = binds[i];
    b.buffer_type = p.type;
    switch (p.type) {
      case MYSQL_TYPE_TINY: b.buffer = &p.tiny; break;
      case MYSQL_TYPE_LONGLONG: b.buffer = &p.integer; break;
      case MYSQL_TYPE_DOUBLE: b.buffer = &p.real; break;
      case MYSQL_TYPE_DATETIME: b.buffer = &p.time; break;
      case MYSQL_TYPE_STRING:
      case MYSQL_TYPE_BLOB:
        p.length = static_cast<unsigned long>(p.bytes.size());
        b.buffer = p.bytes.data();
        b.buffer_length = p.length;
        b.length = &p.length;
        break;
      default: break;
    }
  }
  if (!binds.empty() && mysql_stmt_bind_param(stmt_, binds.data()) != 0) fail("bind parameters");
  if (mysql_stmt_execute(stmt_) != 0) fail("execute");
  executed_ = true;
  on_row_ = false;
  done_ = false;
  if (meta_) {
    if (mysql_stmt_bind_result(stmt_, result_binds_.data()) != 0) fail("bind result");
    if (mysql_stmt_store_result(stmt_) != 0) fail("fetch result");
    affected_ = static_cast<std::int64_t>(mysql_stmt_num_rows(stmt_));
  } else {
    affected_ = static_cast<std::int64_t>(mysql_stmt_affected_rows(stmt_));
    const auto id = mysql_stmt_insert_id(stmt_);
    if (id != 0) connection_.set_last_insert_id(static_cast<std::int64_t>(id));
    done_ = true;
  }
}

bool MyStatement::step() {
  if (!executed_) run();
  if (done_) {
    on_row_ = false;
    return false;
  }
  const int rc = mysql_stmt_fetch(stmt_);
  if (rc == MYSQL_NO_DATA) {
    on_row_ = false;
    done_ = true;
    return false;
  }
  if (rc == 1) fail("fetch");
  if (rc == MYSQL_DATA_TRUNCATED) {
    for (std::size_t i = 0; i < columns_.size(); ++i) {
      Column& c = columns_[i];
      if (c.holder != Holder::bytes || c.null || c.length <= c.bytes.size()) continue;
      // Re-read just this column into a buffer of the reported length.
      c.bytes.resize(c.length);
      MYSQL_BIND b{};
      b.buffer_type = MYSQL_TYPE_BLOB;
      b.buffer = c.bytes.data();
      b.buffer_length = c.length;
      unsigned long length = 0;
      b.length = &length;
      if (mysql_stmt_fetch_column(stmt_, &b, static_cast<unsigned int>(i), 0) != 0) fail("fetch column");
      // The bind array still points at the old (smaller) buffer: point it at the grown one.
      result_binds_[i].buffer = c.bytes.data();
      result_binds_[i].buffer_length = static_cast<unsigned long>(c.bytes.size());
    }
    if (mysql_stmt_bind_result(stmt_, result_binds_.data()) != 0) fail("bind result");
  }
  on_row_ = true;
  return true;
}

std::int64_t MyStatement::execute() {
  if (!executed_) run();
  if (meta_) {
    on_row_ = false;
    done_ = true;
  }
  return affected_;
}

void MyStatement::reset() {
  if (executed_ && meta_) mysql_stmt_free_result(stmt_);
  executed_ = false;
  on_row_ = false;
  done_ = false;
}

std::int64_t MyStatement::get_int64(int column) const {
  const Column& c = value(column);
  switch (c.holder) {
    case Holder::integer: return c.integer;
    case Holder::real: return static_cast<std::int64_t>(c.real);
    case Holder::time: break;
    case Holder::bytes:
      try {
        if (c.server_type == MYSQL_TYPE_BIT) {
          std::int64_t v = 0;
          for (unsigned long i = 0; i < c.length; ++i) v = (v << 8) | static_cast<unsigned char>(c.bytes[i]);
          return v;
        }
        return static_cast<std::int64_t>(std::stold(std::string(c.bytes.data(), c.length)));
      } catch (const std::exception&) {
      }
      break;
  }
  throw Error(ErrorKind::invalid_argument, "column " + c.name + " does not hold an integer");
}

double MyStatement::get_double(int column) const {
  const Column& c = value(column);
  switch (c.holder) {
    case Holder::integer: return c.is_unsigned ? static_cast<double>(static_cast<std::uint64_t>(c.integer))
                                               : static_cast<double>(c.integer);
    case Holder::real: return c.real;
    case Holder::time: break;
    case Holder::bytes:
      try {
        return std::stod(std::string(c.bytes.data(), c.length));
      } catch (const std::exception&) {
      }
      break;
  }
  throw Error(ErrorKind::invalid_argument, "column " + c.name + " does not hold a number");
}

std::string MyStatement::get_text(int column) const {
  const Column& c = value(column);
  switch (c.holder) {
    case Holder::integer:
      return c.is_unsigned ? std::to_string(static_cast<std::uint64_t>(c.integer)) : std::to_string(c.integer);
    case Holder::real: return format_double_literal(c.real);
    case Holder::time: return format_timestamp(from_mysql_time(c.time));
    case Holder::bytes: return std::string(c.bytes.data(), c.length);
  }
  return {};
}

Blob MyStatement::get_blob(int column) const {
  const Column& c = value(column);
  if (c.holder != Holder::bytes) {
    const std::string text = get_text(column);
    return Blob{std::vector<std::uint8_t>(text.begin(), text.end())};
  }
  Blob blob;
  blob.bytes.assign(c.bytes.begin(), c.bytes.begin() + static_cast<std::ptrdiff_t>(c.length));
  return blob;
}

Timestamp MyStatement::get_timestamp(int column) const {
  const Column& c = value(column);
  if (c.holder == Holder::time) return from_mysql_time(c.time);
  if (c.holder == Holder::bytes) return parse_timestamp(std::string_view(c.bytes.data(), c.length));
  throw Error(ErrorKind::invalid_argument, "column " + c.name + " does not hold a timestamp");
}

std::string describe_target(const DbUrl& url) {
  std::string host = url.host.empty() ? "localhost" : url.host;
  if (host.find(':') != std::string::npos) host = "[" + host + "]";
  return host + ":" + std::to_string(url.port.value_or(3306)) + ", database '" + url.database + "'" +
         (url.user.empty() ? std::string() : ", user '" + url.user + "'");
}

}  // namespace

std::unique_ptr<Connection> open_mysql_connection(const DbUrl& url, const ConnectOptions& options) {
  if (auto charset = url.query_value("charset"); charset && *charset != "utf8mb4") {
    throw Error(ErrorKind::config, "DB_URL asks for charset '" + *charset +
                                       "': lunadb only supports utf8mb4 on MySQL/MariaDB, so that emoji and all of "
                                       "Unicode round-trip; use ?charset=utf8mb4 or leave it out");
  }
  ensure_library();
  MYSQL* mysql = mysql_init(nullptr);
  if (!mysql) throw Error(ErrorKind::connection, "cannot allocate a MySQL connection handle");

  unsigned int timeout = static_cast<unsigned int>(std::max(1.0, std::ceil(options.connect_timeout_s)));
  if (auto value = url.query_value("connect_timeout")) timeout = static_cast<unsigned int>(std::stoul(*value));
  my_bool reconnect = 0;
  mysql_optionsv(mysql, MYSQL_OPT_CONNECT_TIMEOUT, &timeout);
  mysql_optionsv(mysql, MYSQL_OPT_RECONNECT, &reconnect);
  mysql_optionsv(mysql, MYSQL_SET_CHARSET_NAME, "utf8mb4");
  mysql_optionsv(mysql, MYSQL_INIT_COMMAND,
                 "SET SESSION time_zone = '+00:00', SESSION sql_mode = 'STRICT_TRANS_TABLES,NO_ZERO_IN_DATE,"
                 "NO_ZERO_DATE,ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION', NAMES utf8mb4 COLLATE "
                 "utf8mb4_unicode_ci");
  for (const auto& [key, value] : url.query) {
    if (key == "ssl_ca") mysql_optionsv(mysql, MYSQL_OPT_SSL_CA, value.c_str());
    else if (key == "ssl_cert") mysql_optionsv(mysql, MYSQL_OPT_SSL_CERT, value.c_str());
    else if (key == "ssl_key") mysql_optionsv(mysql, MYSQL_OPT_SSL_KEY, value.c_str());
    else if (key == "ssl_capath") mysql_optionsv(mysql, MYSQL_OPT_SSL_CAPATH, value.c_str());
    else if (key == "read_timeout" || key == "write_timeout") {
      unsigned int seconds = static_cast<unsigned int>(std::stoul(value));
      mysql_optionsv(mysql, key == "read_timeout" ? MYSQL_OPT_READ_TIMEOUT : MYSQL_OPT_WRITE_TIMEOUT, &seconds);
    }
    // Other keys (autocommit, local_infile, ... from Python drivers) have no meaning here.
  }

  const std::string where = describe_target(url);
  const char* host = url.host.empty() ? nullptr : url.host.c_str();
  const char* socket = nullptr;
  std::string socket_path;
  if (auto value = url.query_value("unix_socket")) {
    socket_path = *value;
    socket = socket_path.c_str();
  }
  if (!mysql_real_connect(mysql, host, url.user.empty() ? nullptr : url.user.c_str(),
                          url.password.empty() ? nullptr : url.password.c_str(),
                          url.database.empty() ? nullptr : url.database.c_str(),
                          static_cast<unsigned int>(url.port.value_or(0)), socket, CLIENT_FOUND_ROWS)) {
    const unsigned int code = mysql_errno(mysql);
    std::string reason = mysql_error(mysql);
    mysql_close(mysql);
    if (!url.password.empty()) {
      for (std::size_t at = reason.find(url.password); at != std::string::npos; at = reason.find(url.password)) {
        reason.replace(at, url.password.size(), "***");
      }
    }
    const bool retryable = code != ER_ACCESS_DENIED_ERROR && code != ER_BAD_DB_ERROR && code != ER_DBACCESS_DENIED_ERROR;
    throw DatabaseError(ErrorKind::connection,
                        "cannot connect to MySQL at " + where + ": " + reason + " (error " + std::to_string(code) + ")",
                        DatabaseError::Details{"mysql", std::to_string(code), false, retryable});
  }
  return std::make_unique<MyConnection>(mysql, where);
}

}  // namespace lunadb::sql
