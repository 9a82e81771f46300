// The ODBC driver on unixODBC. See odbc_driver.hpp for the choices and docs/sqlserver.md for
// the URL forms. Everything text-shaped crosses the ODBC API as UTF-16 (the "W" functions and
// SQL_C_WCHAR), which every Unicode driver implements the same way on Linux.
#include "sql/odbc_driver.hpp"

#include <sql.h>
#include <sqlext.h>
#include <sqlucode.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstring>
#include <optional>

#include "sql/backends.hpp"
#include "sql/mssql_dialect.hpp"
#include "sql/odbc_connection_string.hpp"
#include "sql/odbc_text.hpp"

static_assert(sizeof(SQLWCHAR) == sizeof(char16_t), "unixODBC must be built with 2-byte SQLWCHAR (UTF-16)");

namespace lunadb::sql::odbc {

namespace {

constexpr const char* kBackendName = "mssql";
// Text up to this many UTF-16 units is bound as NVARCHAR(4000); longer text as NVARCHAR(MAX)
// (column size 0, the Microsoft drivers' "unlimited"). One size for all short text keeps SQL
// Server's plan cache from filling with one plan per string length.
constexpr SQLULEN kMaxShortTextUnits = 4000;
constexpr SQLULEN kMaxShortBinaryBytes = 8000;
// Chunk for SQLGetData when the driver does not say how long a value is.
constexpr std::size_t kChunkUnits = 8192;
// Parameter arrays hold every row's value in one buffer; beyond this a batch goes row by row.
constexpr std::size_t kMaxArrayBufferBytes = 32u << 20;

SQLWCHAR* wide(std::u16string& s) { return reinterpret_cast<SQLWCHAR*>(s.data()); }

std::string excerpt(std::string_view sql) {
  constexpr std::size_t kMax = 200;
  std::string out(sql.substr(0, kMax));
  for (char& c : out) {
    if (c == '\n' || c == '\t' || c == '\r') c = ' ';
  }
  if (sql.size() > kMax) out += "...";
  return out;
}

SQL_TIMESTAMP_STRUCT to_odbc_timestamp(Timestamp ts) {
  using namespace std::chrono;
  auto day = floor<days>(ts);
  year_month_day ymd{day};
  hh_mm_ss<microseconds> time{ts - day};
  SQL_TIMESTAMP_STRUCT out{};
  out.year = static_cast<SQLSMALLINT>(static_cast<int>(ymd.year()));
  out.month = static_cast<SQLUSMALLINT>(static_cast<unsigned>(ymd.month()));
  out.day = static_cast<SQLUSMALLINT>(static_cast<unsigned>(ymd.day()));
  out.hour = static_cast<SQLUSMALLINT>(time.hours().count());
  out.minute = static_cast<SQLUSMALLINT>(time.minutes().count());
  out.second = static_cast<SQLUSMALLINT>(time.seconds().count());
  out.fraction = static_cast<SQLUINTEGER>(time.subseconds().count() * 1000);  // nanoseconds
  return out;
}

Timestamp from_odbc_timestamp(const SQL_TIMESTAMP_STRUCT& ts) {
  using namespace std::chrono;
  year_month_day ymd{year{ts.year}, month{ts.month}, day{ts.day}};
  return Timestamp{sys_days{ymd}} + hours{ts.hour} + minutes{ts.minute} + seconds{ts.second} +
         microseconds{ts.fraction / 1000};
}

// RAII for one ODBC handle. Freed in the destructor, errors ignored (nothing can be done then).
class Handle {
 public:
  Handle() = default;
  explicit Handle(SQLSMALLINT type) : type_(type) {}
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  ~Handle() { reset(); }
  void reset() noexcept {
    if (handle_ != SQL_NULL_HANDLE) SQLFreeHandle(type_, handle_);
    handle_ = SQL_NULL_HANDLE;
  }
  SQLHANDLE get() const { return handle_; }
  SQLHANDLE* out() { return &handle_; }
  SQLSMALLINT type() const { return type_; }

 private:
  SQLSMALLINT type_ = SQL_HANDLE_STMT;
  SQLHANDLE handle_ = SQL_NULL_HANDLE;
};

std::string sql_state_class(std::string_view sqlstate) { return std::string(sqlstate.substr(0, 2)); }

}  // namespace

ErrorClass classify(std::string_view sqlstate, std::int64_t native_error) {
  const std::string klass = sql_state_class(sqlstate);
  // Disconnects first: they decide whether the connection may be reused.
  if (klass == "08" || sqlstate == "HYT01") return {ErrorKind::connection, true, true};
  // PostgreSQL admin shutdown / crash shutdown / cannot connect now (pg_terminate_backend).
  if (sqlstate == "57P01" || sqlstate == "57P02" || sqlstate == "57P03") return {ErrorKind::connection, true, true};
  // MySQL/MariaDB client errors: server has gone away, lost connection during query.
  if (native_error == 2006 || native_error == 2013) return {ErrorKind::connection, true, true};
  if (klass == "28") return {ErrorKind::connection, true, false};  // invalid authorization
  if (sqlstate == "IM002") return {ErrorKind::config, true, false};  // driver/DSN not installed
  if (klass == "IM") return {ErrorKind::connection, true, false};
  if (klass == "23") return {ErrorKind::constraint, false, false};
  // Deadlock victim (SQL Server 1205, PostgreSQL 40P01), serialization failure, timeouts.
  if (sqlstate == "40001" || sqlstate == "40P01" || native_error == 1205) return {ErrorKind::busy, false, true};
  if (sqlstate == "HYT00" || native_error == 1222) return {ErrorKind::busy, false, true};
  if (klass == "22") return {ErrorKind::invalid_argument, false, false};
  if (klass == "42" || klass == "0A" || klass == "25" || klass == "07" || klass == "3D" || klass == "3F") {
    return {ErrorKind::usage, false, false};
  }
  return {ErrorKind::internal, false, false};
}

namespace {

class OdbcStatementImpl;

class OdbcConnectionImpl final : public OdbcConnection {
 public:
  OdbcConnectionImpl(const std::string& connection_string, const ConnectOptions& options, std::string password)
      : password_(std::move(password)), env_(SQL_HANDLE_ENV), dbc_(SQL_HANDLE_DBC) {
    const std::string shown = redact_connection_string(connection_string);
    if (!SQL_SUCCEEDED(SQLAllocHandle(SQL_HANDLE_ENV, SQL_NULL_HANDLE, env_.out()))) {
      throw Error(ErrorKind::internal, "ODBC: cannot allocate an environment handle (is unixODBC installed?)");
    }
    SQLSetEnvAttr(env_.get(), SQL_ATTR_ODBC_VERSION, reinterpret_cast<SQLPOINTER>(SQL_OV_ODBC3), 0);
    if (!SQL_SUCCEEDED(SQLAllocHandle(SQL_HANDLE_DBC, env_.get(), dbc_.out()))) {
      throw Error(ErrorKind::internal, "ODBC: cannot allocate a connection handle");
    }
    auto timeout = static_cast<SQLUINTEGER>(std::max(1.0, std::ceil(options.connect_timeout_s)));
    SQLSetConnectAttr(dbc_.get(), SQL_ATTR_LOGIN_TIMEOUT, reinterpret_cast<SQLPOINTER>(static_cast<SQLULEN>(timeout)),
                      SQL_IS_UINTEGER);
    std::u16string wide_cs = utf8_to_utf16(connection_string, "the ODBC connection string in DB_URL");
    SQLRETURN rc = SQLDriverConnectW(dbc_.get(), nullptr, wide(wide_cs), SQL_NTS, nullptr, 0, nullptr,
                                     SQL_DRIVER_NOPROMPT);
    if (!SQL_SUCCEEDED(rc)) {
      auto records = diagnostics(SQL_HANDLE_DBC, dbc_.get());
      const DiagnosticRecord* first = records.empty() ? nullptr : &records.front();
      ErrorClass c = first ? classify(first->sqlstate, first->native_error) : ErrorClass{ErrorKind::connection, true, true};
      if (c.kind != ErrorKind::config) c = {ErrorKind::connection, true, c.retryable || c.kind != ErrorKind::connection};
      if (first && sql_state_class(first->sqlstate) == "28") c.retryable = false;
      // unixODBC says "Can't open lib" (01000) for a driver that is named in odbcinst.ini but whose
      // library is missing, or not registered at all; IM002/IM003 from other driver managers.
      bool driver_missing = std::any_of(records.begin(), records.end(), [](const DiagnosticRecord& r) {
        return r.sqlstate == "IM002" || r.sqlstate == "IM003" || r.message.find("Can't open lib") != std::string::npos;
      });
      if (driver_missing) c = {ErrorKind::config, true, false};
      std::string message = "cannot connect through ODBC (" + shown + "): " + describe(records);
      if (driver_missing) {
        message += " (the ODBC driver named in DB_URL is not installed: list the installed ones with `odbcinst -q -d`; "
                   "see docs/sqlserver.md)";
      }
      connected_ = false;
      throw OdbcError(c.kind, message,
                      {kBackendName, first ? first->sqlstate : "08001", false, c.retryable},
                      first ? first->native_error : 0, std::move(records));
    }
    connected_ = true;
    dbms_name_ = info_string(SQL_DBMS_NAME);
    dbms_version_ = info_string(SQL_DBMS_VER);
    driver_name_ = info_string(SQL_DRIVER_NAME);
    // SQL Server cannot type a NULL parameter from a varchar NULL into varbinary; asking the server
    // for the parameter types (SQLDescribeParam) is how its drivers get it right.
    describe_null_parameters_ = dbms_name_.find("SQL Server") != std::string::npos;
    // MariaDB Connector/ODBC 3.1 miscounts UTF-16 lengths for some scripts (Hebrew, Latin-1
    // symbols: parameters gain a NUL, results lose characters) while its UTF-8 path is exact, so
    // with it text goes as UTF-8 (SQL_C_CHAR) and the W API is used for SQL text only.
    utf8_text_ = driver_name_.find("maodbc") != std::string::npos || driver_name_.find("myodbc") != std::string::npos;
    detect_param_arrays();
  }

  ~OdbcConnectionImpl() override {
    if (connected_) {
      if (in_transaction_) SQLEndTran(SQL_HANDLE_DBC, dbc_.get(), SQL_ROLLBACK);
      SQLDisconnect(dbc_.get());
    }
  }

  Backend backend() const override { return Backend::mssql; }
  const Dialect& dialect() const override { return mssql_dialect(); }
  std::unique_ptr<Statement> prepare(std::string_view sql) override;
  std::int64_t execute(std::string_view sql) override;

  void begin(TransactionMode) override {
    if (in_transaction_) throw Error(ErrorKind::usage, "begin(): a transaction is already active on this connection");
    require_usable();
    SQLRETURN rc = SQLSetConnectAttr(dbc_.get(), SQL_ATTR_AUTOCOMMIT, reinterpret_cast<SQLPOINTER>(SQL_AUTOCOMMIT_OFF),
                                     SQL_IS_UINTEGER);
    check(rc, SQL_HANDLE_DBC, dbc_.get(), "starting a transaction (autocommit off)");
    in_transaction_ = true;
  }

  void commit() override {
    if (!in_transaction_) throw Error(ErrorKind::usage, "commit(): no transaction is active on this connection");
    SQLRETURN rc = SQLEndTran(SQL_HANDLE_DBC, dbc_.get(), SQL_COMMIT);
    if (!SQL_SUCCEEDED(rc)) {
      // Collect the error before anything else overwrites the diagnostics, then leave the
      // connection in autocommit with nothing pending.
      auto error = make_error(SQL_HANDLE_DBC, dbc_.get(), "committing");
      SQLEndTran(SQL_HANDLE_DBC, dbc_.get(), SQL_ROLLBACK);
      end_transaction_quietly();
      throw error;
    }
    in_transaction_ = false;
    rc = SQLSetConnectAttr(dbc_.get(), SQL_ATTR_AUTOCOMMIT, reinterpret_cast<SQLPOINTER>(SQL_AUTOCOMMIT_ON),
                           SQL_IS_UINTEGER);
    check(rc, SQL_HANDLE_DBC, dbc_.get(), "restoring autocommit after commit");
  }

  void rollback() override {
    if (!in_transaction_) return;
    in_transaction_ = false;
    SQLRETURN rc = SQLEndTran(SQL_HANDLE_DBC, dbc_.get(), SQL_ROLLBACK);
    if (!SQL_SUCCEEDED(rc)) {
      // A dead session has nothing left to roll back: the server dropped it with the connection.
      if (!usable_) return;
      auto error = make_error(SQL_HANDLE_DBC, dbc_.get(), "rolling back");
      if (!usable_) return;
      end_transaction_quietly();
      throw error;
    }
    rc = SQLSetConnectAttr(dbc_.get(), SQL_ATTR_AUTOCOMMIT, reinterpret_cast<SQLPOINTER>(SQL_AUTOCOMMIT_ON),
                           SQL_IS_UINTEGER);
    check(rc, SQL_HANDLE_DBC, dbc_.get(), "restoring autocommit after rollback");
  }

  bool in_transaction() const override { return in_transaction_; }

  std::int64_t last_insert_id() override {
    throw Error(ErrorKind::unsupported,
                "last_insert_id() is not available over ODBC: render the INSERT with the dialect's returning_id form "
                "(OUTPUT INSERTED.[id] on SQL Server) and read the id from its result row");
  }

  bool ping() noexcept override;
  bool usable() const noexcept override { return usable_; }
  std::string server_version() override { return dbms_name_ + " " + dbms_version_; }

  std::string dbms_name() const override { return dbms_name_; }
  std::string driver_name() const override { return driver_name_; }
  bool param_arrays_enabled() const override { return param_arrays_; }
  void set_param_arrays_enabled(bool enabled) override { param_arrays_ = enabled && param_arrays_supported_; }
  std::uint64_t array_batches() const override { return array_batches_; }

  // ---- for statements ----
  SQLHDBC dbc() const { return dbc_.get(); }
  bool describe_null_parameters() const { return describe_null_parameters_; }
  bool utf8_text() const { return utf8_text_; }
  bool row_counts_per_parameter_set() const { return row_counts_per_set_; }
  void count_array_batch() { ++array_batches_; }

  void require_usable() const {
    if (!usable_) {
      throw OdbcError(ErrorKind::connection,
                      "ODBC: the connection was lost earlier and cannot be used again; open a new one",
                      {kBackendName, "08003", false, true}, 0, {});
    }
  }

  void check(SQLRETURN rc, SQLSMALLINT type, SQLHANDLE handle, std::string_view what) {
    if (!SQL_SUCCEEDED(rc)) throw make_error(type, handle, what);
  }

  // Reads the diagnostics of `handle`, classifies them, marks the connection unusable when it
  // was lost, and returns the error to throw.
  OdbcError make_error(SQLSMALLINT type, SQLHANDLE handle, std::string_view what) {
    auto records = diagnostics(type, handle);
    // The record that decides: a disconnect beats a constraint beats a lock problem beats the first.
    const DiagnosticRecord* decisive = nullptr;
    ErrorClass decided;
    int best_rank = -1;
    for (const auto& record : records) {
      ErrorClass c = classify(record.sqlstate, record.native_error);
      int rank = c.connection_lost ? 3 : c.kind == ErrorKind::constraint ? 2 : c.kind == ErrorKind::busy ? 1 : 0;
      if (rank > best_rank) {
        best_rank = rank;
        decisive = &record;
        decided = c;
      }
    }
    // Drivers report some disconnects only as a general error (HY000); ask the driver whether the
    // connection is dead (SQL_ATTR_CONNECTION_DEAD never blocks on the network for a dead socket).
    if (!decided.connection_lost && decided.kind != ErrorKind::constraint && decided.kind != ErrorKind::usage &&
        decided.kind != ErrorKind::invalid_argument && connection_dead()) {
      decided = {ErrorKind::connection, true, true};
    }
    if (!usable_) decided = {ErrorKind::connection, true, true};
    if (decided.connection_lost) usable_ = false;
    std::string message = "ODBC error " + std::string(what) + ": " + describe(records);
    if (decided.connection_lost) message += " (the connection is lost and will not be reused)";
    return OdbcError(decided.kind, message,
                     {kBackendName, decisive ? decisive->sqlstate : "HY000", !decided.connection_lost, decided.retryable},
                     decisive ? decisive->native_error : 0, std::move(records));
  }

 private:
  std::vector<DiagnosticRecord> diagnostics(SQLSMALLINT type, SQLHANDLE handle) const {
    std::vector<DiagnosticRecord> records;
    for (SQLSMALLINT i = 1; i <= 16; ++i) {
      std::u16string state(6, u'\0');
      std::u16string text(1024, u'\0');
      SQLINTEGER native = 0;
      SQLSMALLINT length = 0;
      SQLRETURN rc = SQLGetDiagRecW(type, handle, i, wide(state), &native, wide(text),
                                    static_cast<SQLSMALLINT>(text.size()), &length);
      if (rc == SQL_NO_DATA || !SQL_SUCCEEDED(rc)) break;
      if (static_cast<std::size_t>(length) >= text.size()) {
        text.resize(static_cast<std::size_t>(length) + 1);
        SQLGetDiagRecW(type, handle, i, wide(state), &native, wide(text), static_cast<SQLSMALLINT>(text.size()),
                       &length);
      }
      text.resize(std::min(static_cast<std::size_t>(std::max<SQLSMALLINT>(length, 0)), text.size()));
      state.resize(5);
      DiagnosticRecord record;
      record.sqlstate = utf16_to_utf8(state);
      record.native_error = native;
      record.message = scrub(utf16_to_utf8(text));
      records.push_back(std::move(record));
    }
    return records;
  }

  // Error texts are built by drivers and servers; make sure none of them carries the password.
  std::string scrub(std::string message) const {
    message = redact_connection_string_fragments(std::move(message));
    if (password_.size() >= 3) {
      for (std::size_t at = message.find(password_); at != std::string::npos; at = message.find(password_, at)) {
        message.replace(at, password_.size(), "***");
      }
    }
    return message;
  }

  static std::string redact_connection_string_fragments(std::string message) {
    // Some driver managers echo the connection string; only the PWD=... part matters.
    std::string lowered = message;
    std::transform(lowered.begin(), lowered.end(), lowered.begin(), [](unsigned char c) { return std::tolower(c); });
    if (lowered.find("pwd=") == std::string::npos && lowered.find("password=") == std::string::npos) return message;
    return redact_connection_string(message);
  }

  static std::string describe(const std::vector<DiagnosticRecord>& records) {
    if (records.empty()) return "(the driver gave no diagnostics)";
    std::string out;
    for (std::size_t i = 0; i < records.size() && i < 4; ++i) {
      if (i > 0) out += "; ";
      out += "[" + records[i].sqlstate + "]";
      if (records[i].native_error != 0) out += " (native " + std::to_string(records[i].native_error) + ")";
      out += " " + records[i].message;
    }
    return out;
  }

  bool connection_dead() const {
    SQLUINTEGER dead = SQL_CD_FALSE;
    SQLRETURN rc = SQLGetConnectAttr(dbc_.get(), SQL_ATTR_CONNECTION_DEAD, &dead, SQL_IS_UINTEGER, nullptr);
    return SQL_SUCCEEDED(rc) && dead == SQL_CD_TRUE;
  }

  std::string info_string(SQLUSMALLINT info) const {
    std::u16string buffer(256, u'\0');
    SQLSMALLINT length = 0;
    SQLRETURN rc = SQLGetInfoW(dbc_.get(), info, wide(const_cast<std::u16string&>(buffer)),
                               static_cast<SQLSMALLINT>(buffer.size() * sizeof(char16_t)), &length);
    if (!SQL_SUCCEEDED(rc)) return {};
    buffer.resize(std::min(buffer.size() - 1, static_cast<std::size_t>(std::max<SQLSMALLINT>(length, 0)) / 2));
    return utf16_to_utf8(buffer);
  }

  // Parameter arrays are an optional ODBC feature: a driver without them refuses or changes
  // (01S02) a PARAMSET_SIZE above 1.
  void detect_param_arrays() {
    SQLUINTEGER counts = 0;
    if (SQL_SUCCEEDED(SQLGetInfo(dbc_.get(), SQL_PARAM_ARRAY_ROW_COUNTS, &counts, sizeof counts, nullptr))) {
      row_counts_per_set_ = counts == SQL_PARC_BATCH;
    }
    Handle probe(SQL_HANDLE_STMT);
    if (!SQL_SUCCEEDED(SQLAllocHandle(SQL_HANDLE_STMT, dbc_.get(), probe.out()))) return;
    SQLRETURN rc = SQLSetStmtAttr(probe.get(), SQL_ATTR_PARAMSET_SIZE, reinterpret_cast<SQLPOINTER>(SQLULEN{16}), 0);
    if (rc != SQL_SUCCESS) return;
    SQLULEN size = 0;
    rc = SQLGetStmtAttr(probe.get(), SQL_ATTR_PARAMSET_SIZE, &size, 0, nullptr);
    param_arrays_supported_ = SQL_SUCCEEDED(rc) && size == 16;
    param_arrays_ = param_arrays_supported_;
  }

  void end_transaction_quietly() noexcept {
    in_transaction_ = false;
    SQLSetConnectAttr(dbc_.get(), SQL_ATTR_AUTOCOMMIT, reinterpret_cast<SQLPOINTER>(SQL_AUTOCOMMIT_ON), SQL_IS_UINTEGER);
  }

  std::string password_;
  Handle env_;
  Handle dbc_;
  bool connected_ = false;
  bool usable_ = true;
  bool in_transaction_ = false;
  bool describe_null_parameters_ = false;
  bool utf8_text_ = false;
  bool param_arrays_supported_ = false;
  bool param_arrays_ = false;
  bool row_counts_per_set_ = false;
  std::uint64_t array_batches_ = 0;
  std::string dbms_name_;
  std::string dbms_version_;
  std::string driver_name_;
};

// ---------------------------------------------------------------------------------------------

struct ColumnInfo {
  std::string name;
  SQLSMALLINT sql_type = SQL_UNKNOWN_TYPE;
};

enum class Fetch { integer, bit, real, timestamp, binary, text };

Fetch fetch_kind(SQLSMALLINT sql_type) {
  switch (sql_type) {
    case SQL_BIT: return Fetch::bit;
    case SQL_TINYINT:
    case SQL_SMALLINT:
    case SQL_INTEGER:
    case SQL_BIGINT: return Fetch::integer;
    case SQL_REAL:
    case SQL_FLOAT:
    case SQL_DOUBLE: return Fetch::real;
    case SQL_TYPE_TIMESTAMP:
    case SQL_TIMESTAMP:
    case SQL_TYPE_DATE:
    case SQL_DATE: return Fetch::timestamp;
    case SQL_BINARY:
    case SQL_VARBINARY:
    case SQL_LONGVARBINARY: return Fetch::binary;
    default: return Fetch::text;  // (N)(VAR)CHAR(MAX), DECIMAL, GUID, DATETIMEOFFSET, XML, ...
  }
}

struct ParameterBuffer {
  SQLLEN indicator = SQL_NULL_DATA;
  std::int64_t integer = 0;
  double real = 0;
  unsigned char bit = 0;
  SQL_TIMESTAMP_STRUCT timestamp{};
  std::u16string text;
  std::vector<std::uint8_t> bytes;
};

class OdbcStatementImpl final : public Statement {
 public:
  OdbcStatementImpl(OdbcConnectionImpl& connection, std::string_view sql, bool direct)
      : connection_(connection), sql_(sql), direct_(direct), statement_(SQL_HANDLE_STMT) {
    connection_.require_usable();
    wide_sql_ = utf8_to_utf16(sql_, "SQL text");
    connection_.check(SQLAllocHandle(SQL_HANDLE_STMT, connection_.dbc(), statement_.out()), SQL_HANDLE_DBC,
                      connection_.dbc(), "allocating a statement");
    if (!direct_) {
      SQLRETURN rc = SQLPrepareW(statement_.get(), wide(wide_sql_), static_cast<SQLINTEGER>(wide_sql_.size()));
      check(rc, "preparing");
      SQLSMALLINT count = 0;
      check(SQLNumParams(statement_.get(), &count), "counting the parameters of");
      parameters_.resize(static_cast<std::size_t>(count));
      bound_.assign(static_cast<std::size_t>(count), false);
      buffers_.resize(static_cast<std::size_t>(count));
    }
  }

  ~OdbcStatementImpl() override {
    if (state_ != State::ready) SQLFreeStmt(statement_.get(), SQL_CLOSE);
  }

  void bind(int index, const Value& value) override {
    if (index < 1 || static_cast<std::size_t>(index) > parameters_.size()) {
      throw Error(ErrorKind::usage, "parameter index " + std::to_string(index) + " is out of range: the statement has " +
                                        std::to_string(parameters_.size()) + " parameter(s): " + excerpt(sql_));
    }
    auto slot = static_cast<std::size_t>(index - 1);
    ParameterBuffer& buffer = buffers_[slot];
    if (const auto* text = std::get_if<std::string>(&value)) {
      // Converted now so invalid UTF-8 is reported at bind time, naming the parameter.
      std::u16string wide_text = utf8_to_utf16(*text, "text bound to parameter " + std::to_string(index));
      if (!connection_.utf8_text()) buffer.text = std::move(wide_text);
    }
    parameters_[slot] = value;
    bound_[slot] = true;
  }

  bool step() override {
    if (state_ == State::ready) run();
    if (state_ == State::done) return false;
    SQLRETURN rc = SQLFetch(statement_.get());
    if (rc == SQL_NO_DATA) {
      finish_results();
      return false;
    }
    check(rc, "fetching a row of");
    read_row();
    state_ = State::row;
    return true;
  }

  std::int64_t execute() override {
    if (state_ != State::ready) reset();
    run();
    if (state_ != State::done) finish_results();
    return affected_;
  }

  void reset() override {
    if (state_ != State::ready) SQLFreeStmt(statement_.get(), SQL_CLOSE);
    state_ = State::ready;
    row_.clear();
  }

  std::int64_t execute_batch(std::span<const std::vector<Value>> rows) override;

  int column_count() const override { return static_cast<int>(columns_.size()); }
  std::string column_name(int column) const override {
    check_column(column);
    return columns_[static_cast<std::size_t>(column)].name;
  }
  bool is_null(int column) const override { return sql::is_null(cell(column)); }

  std::int64_t get_int64(int column) const override {
    const Value& v = non_null(column);
    if (const auto* i = std::get_if<std::int64_t>(&v)) return *i;
    if (const auto* b = std::get_if<bool>(&v)) return *b ? 1 : 0;
    if (const auto* d = std::get_if<double>(&v)) {
      if (std::trunc(*d) == *d && std::fabs(*d) < 9.2e18) return static_cast<std::int64_t>(*d);
    }
    if (const auto* s = std::get_if<std::string>(&v)) {
      // DECIMAL arrives as text; some drivers send booleans as text too.
      if (*s == "true" || *s == "t") return 1;
      if (*s == "false" || *s == "f") return 0;
      std::int64_t out = 0;
      std::string_view text = *s;
      if (auto dot = text.find('.'); dot != std::string_view::npos &&
                                     text.find_first_not_of('0', dot + 1) == std::string_view::npos) {
        text = text.substr(0, dot);
      }
      auto result = std::from_chars(text.data(), text.data() + text.size(), out);
      if (result.ec == std::errc() && result.ptr == text.data() + text.size()) return out;
    }
    throw Error(ErrorKind::invalid_argument, "column " + column_name(column) + " does not hold an integer");
  }

  double get_double(int column) const override {
    const Value& v = non_null(column);
    if (const auto* d = std::get_if<double>(&v)) return *d;
    if (const auto* i = std::get_if<std::int64_t>(&v)) return static_cast<double>(*i);
    if (const auto* b = std::get_if<bool>(&v)) return *b ? 1.0 : 0.0;
    if (const auto* s = std::get_if<std::string>(&v)) {
      double out = 0;
      auto result = std::from_chars(s->data(), s->data() + s->size(), out);
      if (result.ec == std::errc() && result.ptr == s->data() + s->size()) return out;
    }
    throw Error(ErrorKind::invalid_argument, "column " + column_name(column) + " does not hold a number");
  }

  std::string get_text(int column) const override {
    const Value& v = non_null(column);
    if (const auto* s = std::get_if<std::string>(&v)) return *s;
    if (const auto* i = std::get_if<std::int64_t>(&v)) return std::to_string(*i);
    if (const auto* b = std::get_if<bool>(&v)) return *b ? "1" : "0";
    if (const auto* d = std::get_if<double>(&v)) {
      char buffer[64];
      auto result = std::to_chars(buffer, buffer + sizeof buffer, *d);
      return std::string(buffer, result.ptr);
    }
    if (const auto* ts = std::get_if<Timestamp>(&v)) return format_timestamp(*ts);
    throw Error(ErrorKind::invalid_argument, "column " + column_name(column) + " holds bytes, not text");
  }

  Blob get_blob(int column) const override {
    const Value& v = non_null(column);
    if (const auto* b = std::get_if<Blob>(&v)) return *b;
    if (const auto* s = std::get_if<std::string>(&v)) return Blob{{s->begin(), s->end()}};
    throw Error(ErrorKind::invalid_argument, "column " + column_name(column) + " does not hold bytes");
  }

  Timestamp get_timestamp(int column) const override {
    const Value& v = non_null(column);
    if (const auto* ts = std::get_if<Timestamp>(&v)) return *ts;
    if (const auto* s = std::get_if<std::string>(&v)) return parse_timestamp(*s);  // DATETIMEOFFSET, text
    throw Error(ErrorKind::invalid_argument, "column " + column_name(column) + " does not hold a timestamp");
  }

 private:
  enum class State { ready, results, row, done };

  void check(SQLRETURN rc, std::string_view what) {
    if (!SQL_SUCCEEDED(rc)) throw connection_.make_error(SQL_HANDLE_STMT, statement_.get(), std::string(what) + " " + excerpt(sql_));
  }

  void check_column(int column) const {
    if (column < 0 || static_cast<std::size_t>(column) >= columns_.size()) {
      throw Error(ErrorKind::usage, "column index " + std::to_string(column) + " is out of range (the result has " +
                                        std::to_string(columns_.size()) + " columns): " + excerpt(sql_));
    }
  }

  const Value& cell(int column) const {
    check_column(column);
    if (state_ != State::row) throw Error(ErrorKind::usage, "no current row: call step() first: " + excerpt(sql_));
    return row_[static_cast<std::size_t>(column)];
  }

  const Value& non_null(int column) const {
    const Value& v = cell(column);
    if (sql::is_null(v)) throw Error(ErrorKind::usage, "column " + column_name(column) + " is NULL");
    return v;
  }

  // The SQL type SQL Server expects for parameter `number`, for binding a NULL (cached).
  SQLSMALLINT null_parameter_type(SQLUSMALLINT number) {
    if (!connection_.describe_null_parameters() || direct_) return SQL_VARCHAR;
    if (described_.empty()) {
      described_.assign(parameters_.size(), SQL_UNKNOWN_TYPE);
      for (std::size_t i = 0; i < parameters_.size(); ++i) {
        SQLSMALLINT type = SQL_UNKNOWN_TYPE;
        SQLULEN size = 0;
        SQLSMALLINT digits = 0;
        SQLSMALLINT nullable = 0;
        if (!SQL_SUCCEEDED(SQLDescribeParam(statement_.get(), static_cast<SQLUSMALLINT>(i + 1), &type, &size, &digits,
                                            &nullable))) {
          break;  // the driver cannot tell; varchar NULL converts to everything but binary
        }
        described_[i] = type;
      }
    }
    SQLSMALLINT type = described_[number - 1u];
    return type == SQL_UNKNOWN_TYPE ? SQL_VARCHAR : type;
  }

  void bind_parameters() {
    for (std::size_t i = 0; i < parameters_.size(); ++i) {
      if (!bound_[i]) {
        throw Error(ErrorKind::usage, "parameter " + std::to_string(i + 1) + " was never bound: " + excerpt(sql_));
      }
      auto number = static_cast<SQLUSMALLINT>(i + 1);
      ParameterBuffer& b = buffers_[i];
      SQLSMALLINT c_type = SQL_C_CHAR;
      SQLSMALLINT sql_type = SQL_VARCHAR;
      SQLULEN size = 0;
      SQLSMALLINT digits = 0;
      SQLPOINTER data = nullptr;
      SQLLEN length = 0;
      const Value& v = parameters_[i];
      switch (v.index()) {
        case 0: {  // NULL
          sql_type = null_parameter_type(number);
          bool binary = sql_type == SQL_BINARY || sql_type == SQL_VARBINARY || sql_type == SQL_LONGVARBINARY;
          c_type = binary ? SQL_C_BINARY : SQL_C_CHAR;
          size = 1;
          b.indicator = SQL_NULL_DATA;
          data = &b.bit;
          break;
        }
        case 1:
          b.bit = std::get<bool>(v) ? 1 : 0;
          c_type = SQL_C_BIT, sql_type = SQL_BIT, size = 1, data = &b.bit, b.indicator = 0;
          break;
        case 2:
          b.integer = std::get<std::int64_t>(v);
          c_type = SQL_C_SBIGINT, sql_type = SQL_BIGINT, size = 19, data = &b.integer, b.indicator = 0;
          break;
        case 3:
          b.real = std::get<double>(v);
          if (!std::isfinite(b.real)) {
            throw Error(ErrorKind::invalid_argument, "parameter " + std::to_string(number) + " is NaN or infinite");
          }
          c_type = SQL_C_DOUBLE, sql_type = SQL_DOUBLE, size = 15, data = &b.real, b.indicator = 0;
          break;
        case 4:
          if (connection_.utf8_text()) {
            const std::string& text = std::get<std::string>(v);
            c_type = SQL_C_CHAR, sql_type = SQL_VARCHAR;
            size = text.size() <= kMaxShortTextUnits ? kMaxShortTextUnits : 0;
            data = const_cast<char*>(text.c_str());
            b.indicator = static_cast<SQLLEN>(text.size());
          } else {
            c_type = SQL_C_WCHAR, sql_type = SQL_WVARCHAR;
            size = b.text.size() <= kMaxShortTextUnits ? kMaxShortTextUnits : 0;
            data = b.text.data();
            b.indicator = static_cast<SQLLEN>(b.text.size() * sizeof(char16_t));
          }
          length = b.indicator;
          break;
        case 5: {
          b.bytes = std::get<Blob>(v).bytes;
          c_type = SQL_C_BINARY, sql_type = SQL_VARBINARY;
          size = b.bytes.size() <= kMaxShortBinaryBytes ? kMaxShortBinaryBytes : 0;
          // Some drivers read a null data pointer as NULL even with length 0: point at something.
          data = b.bytes.empty() ? static_cast<SQLPOINTER>(&b.bit) : b.bytes.data();
          b.indicator = static_cast<SQLLEN>(b.bytes.size());
          length = b.indicator;
          break;
        }
        case 6:
          b.timestamp = to_odbc_timestamp(std::get<Timestamp>(v));
          c_type = SQL_C_TYPE_TIMESTAMP, sql_type = SQL_TYPE_TIMESTAMP, size = 26, digits = 6;
          data = &b.timestamp, b.indicator = 0;
          break;
      }
      SQLRETURN rc = SQLBindParameter(statement_.get(), number, SQL_PARAM_INPUT, c_type, sql_type, size, digits, data,
                                      length, &b.indicator);
      check(rc, "binding parameter " + std::to_string(number) + " of");
    }
  }

  void run() {
    row_.clear();
    columns_.clear();
    affected_ = 0;
    SQLRETURN rc;
    if (direct_) {
      rc = SQLExecDirectW(statement_.get(), wide(wide_sql_), static_cast<SQLINTEGER>(wide_sql_.size()));
    } else {
      bind_parameters();
      rc = SQLExecute(statement_.get());
    }
    // SQL_NO_DATA: an UPDATE or DELETE that matched no row.
    if (rc != SQL_NO_DATA) check(rc, "executing");
    state_ = State::results;
    advance_to_result_set(rc == SQL_NO_DATA);
  }

  // Skips row counts (summing them) until a result set with columns or the end of the results.
  void advance_to_result_set(bool no_data) {
    while (true) {
      SQLSMALLINT count = 0;
      if (!no_data) check(SQLNumResultCols(statement_.get(), &count), "describing the result of");
      if (count > 0) {
        describe_columns(count);
        state_ = State::results;
        return;
      }
      if (!no_data) {
        SQLLEN rows = 0;
        if (SQL_SUCCEEDED(SQLRowCount(statement_.get(), &rows)) && rows > 0) affected_ += rows;
      }
      SQLRETURN rc = SQLMoreResults(statement_.get());
      if (rc == SQL_NO_DATA) {
        state_ = State::done;
        return;
      }
      check(rc, "reading the next result of");
      no_data = false;
    }
  }

  // After the last row of a result set: later results may still carry errors or row counts.
  void finish_results() {
    while (true) {
      SQLRETURN rc = SQLMoreResults(statement_.get());
      if (rc == SQL_NO_DATA) break;
      check(rc, "reading the next result of");
      SQLSMALLINT count = 0;
      check(SQLNumResultCols(statement_.get(), &count), "describing the result of");
      if (count == 0) {
        SQLLEN rows = 0;
        if (SQL_SUCCEEDED(SQLRowCount(statement_.get(), &rows)) && rows > 0) affected_ += rows;
      }
    }
    SQLFreeStmt(statement_.get(), SQL_CLOSE);
    state_ = State::done;
    row_.clear();
  }

  void describe_columns(SQLSMALLINT count) {
    columns_.resize(static_cast<std::size_t>(count));
    for (SQLSMALLINT i = 0; i < count; ++i) {
      std::u16string name(256, u'\0');
      SQLSMALLINT name_length = 0;
      SQLSMALLINT type = 0;
      SQLULEN size = 0;
      SQLSMALLINT digits = 0;
      SQLSMALLINT nullable = 0;
      check(SQLDescribeColW(statement_.get(), static_cast<SQLUSMALLINT>(i + 1), wide(name),
                            static_cast<SQLSMALLINT>(name.size()), &name_length, &type, &size, &digits, &nullable),
            "describing a column of");
      name.resize(std::min<std::size_t>(name.size() - 1, static_cast<std::size_t>(std::max<SQLSMALLINT>(name_length, 0))));
      columns_[static_cast<std::size_t>(i)] = {utf16_to_utf8(name), type};
    }
  }

  // Reads every column of the current row, in order (the only order SQLGetData guarantees).
  void read_row() {
    row_.assign(columns_.size(), Value{});
    for (std::size_t i = 0; i < columns_.size(); ++i) {
      auto number = static_cast<SQLUSMALLINT>(i + 1);
      SQLLEN indicator = 0;
      Value& out = row_[i];
      switch (fetch_kind(columns_[i].sql_type)) {
        case Fetch::bit: {
          unsigned char bit = 0;
          check(SQLGetData(statement_.get(), number, SQL_C_BIT, &bit, sizeof bit, &indicator), "reading a column of");
          if (indicator != SQL_NULL_DATA) out = bit != 0;
          break;
        }
        case Fetch::integer: {
          std::int64_t integer = 0;
          check(SQLGetData(statement_.get(), number, SQL_C_SBIGINT, &integer, sizeof integer, &indicator),
                "reading a column of");
          if (indicator != SQL_NULL_DATA) out = integer;
          break;
        }
        case Fetch::real: {
          double real = 0;
          check(SQLGetData(statement_.get(), number, SQL_C_DOUBLE, &real, sizeof real, &indicator), "reading a column of");
          if (indicator != SQL_NULL_DATA) out = real;
          break;
        }
        case Fetch::timestamp: {
          SQL_TIMESTAMP_STRUCT ts{};
          check(SQLGetData(statement_.get(), number, SQL_C_TYPE_TIMESTAMP, &ts, sizeof ts, &indicator),
                "reading a column of");
          if (indicator != SQL_NULL_DATA) out = from_odbc_timestamp(ts);
          break;
        }
        case Fetch::binary:
          if (auto bytes = read_binary(number)) out = Blob{std::move(*bytes)};
          break;
        case Fetch::text:
          if (connection_.utf8_text()) {
            if (auto text = read_chars<char>(number, SQL_C_CHAR, narrow_chunk_)) out = std::move(*text);
          } else if (auto text = read_chars<char16_t>(number, SQL_C_WCHAR, chunk_)) {
            out = utf16_to_utf8(*text);
          }
          break;
      }
    }
  }

  // Streams a (possibly huge) text value. The first chunk is small; once the driver says how much
  // remains, the rest is read in one call straight into the result, sized exactly.
  template <typename Char>
  std::optional<std::basic_string<Char>> read_chars(SQLUSMALLINT number, SQLSMALLINT c_type, std::vector<Char>& chunk) {
    if (chunk.size() < kChunkUnits) chunk.resize(kChunkUnits);
    std::basic_string<Char> out;
    Char* target = chunk.data();
    std::size_t target_units = chunk.size();
    while (true) {
      SQLLEN indicator = 0;
      SQLRETURN rc = SQLGetData(statement_.get(), number, c_type, target, static_cast<SQLLEN>(target_units * sizeof(Char)),
                                &indicator);
      if (rc == SQL_NO_DATA) break;
      check(rc, "reading a text column of");
      if (indicator == SQL_NULL_DATA) return std::nullopt;
      const std::size_t capacity = target_units - 1;  // one unit for the terminator
      const bool truncated = rc == SQL_SUCCESS_WITH_INFO &&
                             (indicator == SQL_NO_TOTAL || static_cast<std::size_t>(indicator) / sizeof(Char) > capacity);
      std::size_t got = truncated ? capacity : static_cast<std::size_t>(indicator) / sizeof(Char);
      if (target == chunk.data()) {
        out.append(chunk.data(), got);
      } else {
        out.resize(out.size() - target_units + got);  // `target` was the tail of `out`
      }
      if (!truncated) break;
      if (indicator != SQL_NO_TOTAL) {
        std::size_t remaining = static_cast<std::size_t>(indicator) / sizeof(Char) - got;
        std::size_t start = out.size();
        target_units = remaining + 1;
        out.resize(start + target_units);
        target = out.data() + start;
      } else {
        target = chunk.data();
        target_units = chunk.size();
      }
    }
    return out;
  }

  std::optional<std::vector<std::uint8_t>> read_binary(SQLUSMALLINT number) {
    if (chunk_.size() < kChunkUnits) chunk_.resize(kChunkUnits);
    std::vector<std::uint8_t> out;
    auto* chunk = reinterpret_cast<std::uint8_t*>(chunk_.data());
    const std::size_t chunk_bytes = chunk_.size() * sizeof(char16_t);
    std::size_t offset = 0;  // where the current target starts in `out`, when reading into it
    bool into_out = false;
    std::size_t target_bytes = chunk_bytes;
    while (true) {
      SQLLEN indicator = 0;
      std::uint8_t* target = into_out ? out.data() + offset : chunk;
      SQLRETURN rc = SQLGetData(statement_.get(), number, SQL_C_BINARY, target, static_cast<SQLLEN>(target_bytes),
                                &indicator);
      if (rc == SQL_NO_DATA) break;
      check(rc, "reading a binary column of");
      if (indicator == SQL_NULL_DATA) return std::nullopt;
      const bool truncated = rc == SQL_SUCCESS_WITH_INFO &&
                             (indicator == SQL_NO_TOTAL || static_cast<std::size_t>(indicator) > target_bytes);
      std::size_t got = truncated ? target_bytes : static_cast<std::size_t>(indicator);
      if (into_out) {
        out.resize(offset + got);
      } else {
        out.insert(out.end(), chunk, chunk + got);
      }
      if (!truncated) break;
      if (indicator != SQL_NO_TOTAL) {
        std::size_t remaining = static_cast<std::size_t>(indicator) - got;
        offset = out.size();
        out.resize(offset + remaining);
        target_bytes = remaining;
        into_out = true;
      } else {
        into_out = false;
        target_bytes = chunk_bytes;
      }
    }
    return out;
  }

  std::int64_t execute_with_arrays(std::span<const std::vector<Value>> rows, bool& used_arrays);

  OdbcConnectionImpl& connection_;
  std::string sql_;
  std::u16string wide_sql_;
  bool direct_;
  Handle statement_;
  std::vector<Value> parameters_;
  std::vector<bool> bound_;
  std::vector<ParameterBuffer> buffers_;
  std::vector<SQLSMALLINT> described_;
  State state_ = State::ready;
  std::vector<ColumnInfo> columns_;
  std::vector<Value> row_;
  std::vector<char16_t> chunk_;
  std::vector<char> narrow_chunk_;
  std::int64_t affected_ = 0;
};

// ---- parameter arrays ----------------------------------------------------------------------

struct ArrayColumn {
  std::size_t kind = 0;  // Value index of the non-NULL values (0 when all are NULL)
  std::size_t width = 1;  // bytes per element
  std::vector<unsigned char> data;
  std::vector<SQLLEN> indicators;
};

std::int64_t OdbcStatementImpl::execute_batch(std::span<const std::vector<Value>> rows) {
  if (direct_) throw Error(ErrorKind::usage, "execute_batch() needs a prepared statement: " + excerpt(sql_));
  for (const auto& row : rows) {
    if (row.size() != parameters_.size()) {
      throw Error(ErrorKind::usage, "execute_batch(): a row has " + std::to_string(row.size()) +
                                        " values but the statement has " + std::to_string(parameters_.size()) +
                                        " parameters: " + excerpt(sql_));
    }
  }
  if (rows.empty()) return 0;
  bool used_arrays = false;
  if (connection_.param_arrays_enabled() && rows.size() > 1 && !parameters_.empty()) {
    std::int64_t affected = execute_with_arrays(rows, used_arrays);
    if (used_arrays) {
      connection_.count_array_batch();
      return affected;
    }
  }
  return Statement::execute_batch(rows);
}

// Binds column-wise arrays and executes once. Sets `used` false (and does nothing) when the rows
// do not fit arrays: a column mixing value types, or buffers beyond kMaxArrayBufferBytes.
std::int64_t OdbcStatementImpl::execute_with_arrays(std::span<const std::vector<Value>> rows, bool& used) {
  const std::size_t n = rows.size();
  std::vector<ArrayColumn> columns(parameters_.size());
  std::size_t total_bytes = 0;
  std::vector<std::vector<std::u16string>> texts(parameters_.size());
  const bool utf8 = connection_.utf8_text();
  for (std::size_t p = 0; p < parameters_.size(); ++p) {
    ArrayColumn& column = columns[p];
    for (const auto& row : rows) {
      std::size_t kind = row[p].index();
      if (kind == 0) continue;
      if (column.kind == 0) column.kind = kind;
      if (column.kind != kind) return 0;  // mixed types: row by row
    }
    switch (column.kind) {
      case 0: column.width = 1; break;
      case 1: column.width = 1; break;
      case 2: column.width = sizeof(std::int64_t); break;
      case 3: column.width = sizeof(double); break;
      case 4: {
        std::size_t longest = 0;
        texts[p].reserve(n);
        for (std::size_t r = 0; r < n; ++r) {
          if (const auto* s = std::get_if<std::string>(&rows[r][p])) {
            texts[p].push_back(utf8_to_utf16(*s, "text in row " + std::to_string(r + 1) + ", parameter " +
                                                       std::to_string(p + 1) + " of a batch"));
            longest = std::max(longest, utf8 ? s->size() : texts[p].back().size());
            if (utf8) texts[p].back().clear();
          } else {
            texts[p].emplace_back();
          }
        }
        column.width = (longest + 1) * (utf8 ? 1 : sizeof(char16_t));
        break;
      }
      case 5: {
        std::size_t longest = 1;
        for (const auto& row : rows) {
          if (const auto* b = std::get_if<Blob>(&row[p])) longest = std::max(longest, b->bytes.size());
        }
        column.width = longest;
        break;
      }
      case 6: column.width = sizeof(SQL_TIMESTAMP_STRUCT); break;
    }
    total_bytes += column.width * n;
    if (total_bytes > kMaxArrayBufferBytes) return 0;
  }
  for (std::size_t p = 0; p < columns.size(); ++p) {
    ArrayColumn& column = columns[p];
    column.data.assign(column.width * n, 0);
    column.indicators.assign(n, SQL_NULL_DATA);
    for (std::size_t r = 0; r < n; ++r) {
      const Value& v = rows[r][p];
      unsigned char* slot = column.data.data() + r * column.width;
      SQLLEN& indicator = column.indicators[r];
      switch (v.index()) {
        case 0: indicator = SQL_NULL_DATA; break;
        case 1: *slot = std::get<bool>(v) ? 1 : 0, indicator = 0; break;
        case 2: {
          std::int64_t i = std::get<std::int64_t>(v);
          std::memcpy(slot, &i, sizeof i);
          indicator = 0;
          break;
        }
        case 3: {
          double d = std::get<double>(v);
          if (!std::isfinite(d)) {
            throw Error(ErrorKind::invalid_argument, "row " + std::to_string(r + 1) + ", parameter " +
                                                         std::to_string(p + 1) + " of a batch is NaN or infinite");
          }
          std::memcpy(slot, &d, sizeof d);
          indicator = 0;
          break;
        }
        case 4: {
          if (utf8) {
            const std::string& text = std::get<std::string>(v);
            std::memcpy(slot, text.data(), text.size());
            indicator = static_cast<SQLLEN>(text.size());
          } else {
            const std::u16string& text = texts[p][r];
            std::memcpy(slot, text.data(), text.size() * sizeof(char16_t));
            indicator = static_cast<SQLLEN>(text.size() * sizeof(char16_t));
          }
          break;
        }
        case 5: {
          const auto& bytes = std::get<Blob>(v).bytes;
          if (!bytes.empty()) std::memcpy(slot, bytes.data(), bytes.size());
          indicator = static_cast<SQLLEN>(bytes.size());
          break;
        }
        case 6: {
          SQL_TIMESTAMP_STRUCT ts = to_odbc_timestamp(std::get<Timestamp>(v));
          std::memcpy(slot, &ts, sizeof ts);
          indicator = 0;
          break;
        }
      }
    }
  }

  reset();
  std::vector<SQLUSMALLINT> statuses(n, SQL_PARAM_UNUSED);
  SQLULEN processed = 0;
  SQLHSTMT h = statement_.get();
  // Whatever happens, the statement goes back to single-row parameters.
  struct Restore {
    SQLHSTMT h;
    ~Restore() {
      SQLFreeStmt(h, SQL_CLOSE);
      SQLFreeStmt(h, SQL_RESET_PARAMS);
      SQLSetStmtAttr(h, SQL_ATTR_PARAMSET_SIZE, reinterpret_cast<SQLPOINTER>(SQLULEN{1}), 0);
      SQLSetStmtAttr(h, SQL_ATTR_PARAM_STATUS_PTR, nullptr, 0);
      SQLSetStmtAttr(h, SQL_ATTR_PARAMS_PROCESSED_PTR, nullptr, 0);
    }
  } restore{h};
  check(SQLSetStmtAttr(h, SQL_ATTR_PARAM_BIND_TYPE, reinterpret_cast<SQLPOINTER>(SQL_PARAM_BIND_BY_COLUMN), 0),
        "setting column-wise parameter binding for");
  check(SQLSetStmtAttr(h, SQL_ATTR_PARAMSET_SIZE, reinterpret_cast<SQLPOINTER>(static_cast<SQLULEN>(n)), 0),
        "setting the parameter array size for");
  check(SQLSetStmtAttr(h, SQL_ATTR_PARAM_STATUS_PTR, statuses.data(), 0), "setting parameter status array for");
  check(SQLSetStmtAttr(h, SQL_ATTR_PARAMS_PROCESSED_PTR, &processed, 0), "setting the processed counter for");
  for (std::size_t p = 0; p < columns.size(); ++p) {
    ArrayColumn& column = columns[p];
    SQLSMALLINT c_type = SQL_C_CHAR;
    SQLSMALLINT sql_type = SQL_VARCHAR;
    SQLULEN size = 1;
    SQLSMALLINT digits = 0;
    switch (column.kind) {
      case 0: c_type = SQL_C_CHAR, sql_type = null_parameter_type(static_cast<SQLUSMALLINT>(p + 1)); break;
      case 1: c_type = SQL_C_BIT, sql_type = SQL_BIT; break;
      case 2: c_type = SQL_C_SBIGINT, sql_type = SQL_BIGINT, size = 19; break;
      case 3: c_type = SQL_C_DOUBLE, sql_type = SQL_DOUBLE, size = 15; break;
      case 4:
        if (utf8) {
          c_type = SQL_C_CHAR, sql_type = SQL_VARCHAR;
          size = column.width - 1 <= kMaxShortTextUnits ? kMaxShortTextUnits : 0;
        } else {
          c_type = SQL_C_WCHAR, sql_type = SQL_WVARCHAR;
          size = column.width / sizeof(char16_t) - 1 <= kMaxShortTextUnits ? kMaxShortTextUnits : 0;
        }
        break;
      case 5:
        c_type = SQL_C_BINARY, sql_type = SQL_VARBINARY;
        size = column.width <= kMaxShortBinaryBytes ? kMaxShortBinaryBytes : 0;
        break;
      case 6: c_type = SQL_C_TYPE_TIMESTAMP, sql_type = SQL_TYPE_TIMESTAMP, size = 26, digits = 6; break;
    }
    if (column.kind == 0 && (sql_type == SQL_BINARY || sql_type == SQL_VARBINARY || sql_type == SQL_LONGVARBINARY)) {
      c_type = SQL_C_BINARY;
    }
    check(SQLBindParameter(h, static_cast<SQLUSMALLINT>(p + 1), SQL_PARAM_INPUT, c_type, sql_type, size, digits,
                           column.data.data(), static_cast<SQLLEN>(column.width), column.indicators.data()),
          "binding parameter array " + std::to_string(p + 1) + " of");
  }
  used = true;
  SQLRETURN rc = SQLExecute(h);
  if (rc != SQL_NO_DATA) check(rc, "executing a batch of " + std::to_string(n) + " rows of");
  for (std::size_t r = 0; r < n && r < processed; ++r) {
    if (statuses[r] == SQL_PARAM_ERROR) {
      throw connection_.make_error(SQL_HANDLE_STMT, h, "executing row " + std::to_string(r + 1) + " of a batch of " +
                                                           std::to_string(n) + " rows of " + excerpt(sql_));
    }
  }
  std::int64_t affected = 0;
  while (true) {
    SQLLEN count = 0;
    if (SQL_SUCCEEDED(SQLRowCount(h, &count)) && count > 0) affected += count;
    rc = SQLMoreResults(h);
    if (rc == SQL_NO_DATA) break;
    check(rc, "reading the results of a batch of");
  }
  state_ = State::ready;
  return affected;
}

// ---------------------------------------------------------------------------------------------

std::unique_ptr<Statement> OdbcConnectionImpl::prepare(std::string_view sql) {
  return std::make_unique<OdbcStatementImpl>(*this, sql, false);
}

std::int64_t OdbcConnectionImpl::execute(std::string_view sql) {
  OdbcStatementImpl statement(*this, sql, true);
  return statement.execute();
}

bool OdbcConnectionImpl::ping() noexcept {
  if (!usable_) return false;
  try {
    OdbcStatementImpl statement(*this, "SELECT 1", true);
    bool ok = statement.step();
    statement.reset();
    return ok;
  } catch (...) {
    // Whatever failed a "SELECT 1" makes the connection unfit for the pool.
    usable_ = false;
    return false;
  }
}

std::string password_in(const DbUrl& url) {
  if (!url.password.empty()) return url.password;
  for (const auto& [key, value] : url.query) {
    if (key == "odbc_connect") {
      std::string pwd = attribute(value, "PWD");
      return pwd.empty() ? attribute(value, "Password") : pwd;
    }
  }
  return {};
}

}  // namespace

std::unique_ptr<OdbcConnection> open_odbc(const std::string& connection_string, const ConnectOptions& options,
                                          const std::string& password) {
  std::string secret = password.empty() ? attribute(connection_string, "PWD") : password;
  return std::make_unique<OdbcConnectionImpl>(connection_string, options, std::move(secret));
}

}  // namespace lunadb::sql::odbc

namespace lunadb::sql {

std::unique_ptr<Connection> open_odbc_connection(const DbUrl& url, const ConnectOptions& options) {
  return odbc::open_odbc(odbc::connection_string_for(url), options, odbc::password_in(url));
}

}  // namespace lunadb::sql
