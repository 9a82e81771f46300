// PostgreSQL through libpq.
//
// Every statement runs as one PQexecParams call (Parse/Bind/Execute/Sync of the *unnamed*
// statement in a single round trip), so nothing prepared outlives the call. That is what makes
// pgbouncer in transaction mode (the Supabase pooler, port 6543) work: there, two round trips may
// land on different server sessions, and named statements belong to a session.
// A statement in its own transaction (prepare_in_own_transaction) sends BEGIN, its SET LOCALs,
// itself and COMMIT as unnamed statements in pipeline mode with one Sync: still one round trip,
// and one transaction, so it is as safe behind pgbouncer.
//
// Parameters: strings go as text of type "unknown" so the server can coerce them to jsonb,
// varchar, timestamptz...; numbers, booleans, bytea and timestamps go in binary with their type.
// Results are requested in binary and decoded by column type.
#include <libpq-fe.h>

#include <bit>
#include <charconv>
#include <cmath>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "lunadb/error.hpp"
#include "sql/backends.hpp"
#include "sql/dialect.hpp"
#include "sql/postgres_sql.hpp"

namespace lunadb::sql {

namespace {

// Type OIDs from pg_type.h (stable across server versions).
constexpr Oid kBoolOid = 16, kByteaOid = 17, kCharOid = 18, kNameOid = 19, kInt8Oid = 20, kInt2Oid = 21,
              kInt4Oid = 23, kTextOid = 25, kOidOid = 26, kJsonOid = 114, kFloat4Oid = 700, kFloat8Oid = 701,
              kUnknownOid = 705, kBpcharOid = 1042, kVarcharOid = 1043, kDateOid = 1082, kTimestampOid = 1114,
              kTimestamptzOid = 1184, kNumericOid = 1700, kUuidOid = 2950, kJsonbOid = 3802;

// Microseconds between the Unix epoch and PostgreSQL's (2000-01-01 UTC).
constexpr std::int64_t kPgEpochOffsetUs = 946684800LL * 1000000LL;

std::uint64_t read_be(const char* data, int bytes) {
  std::uint64_t value = 0;
  for (int i = 0; i < bytes; ++i) value = (value << 8) | static_cast<unsigned char>(data[i]);
  return value;
}

void append_be(std::string& out, std::uint64_t value, int bytes) {
  for (int i = bytes - 1; i >= 0; --i) out += static_cast<char>((value >> (8 * i)) & 0xFF);
}

// A bound value: text for strings (the server infers the type from the statement), PostgreSQL's
// binary form for everything else. The same bytes are a field of a binary COPY.
struct Parameter {
  Oid type = 0;
  int format = 0;  // 0 text, 1 binary
  bool null = true;
  std::string bytes;
};

Parameter encode_parameter(const Value& value) {
  struct Encode {
    Parameter operator()(std::monostate) const { return {}; }
    Parameter operator()(bool b) const { return {kBoolOid, 1, false, std::string(1, b ? '\1' : '\0')}; }
    Parameter operator()(std::int64_t i) const {
      Parameter p{kInt8Oid, 1, false, {}};
      append_be(p.bytes, static_cast<std::uint64_t>(i), 8);
      return p;
    }
    Parameter operator()(double d) const {
      Parameter p{kFloat8Oid, 1, false, {}};
      append_be(p.bytes, std::bit_cast<std::uint64_t>(d), 8);
      return p;
    }
    Parameter operator()(const std::string& s) const { return {0, 0, false, s}; }
    Parameter operator()(const Blob& b) const {
      return {b.of_cast_type ? Oid{0} : kByteaOid, 1, false, std::string(b.bytes.begin(), b.bytes.end())};
    }
    Parameter operator()(Timestamp ts) const {
      // Naive UTC (Luna's DateTime is TIMESTAMP WITHOUT TIME ZONE): sent as `timestamp`, the value
      // is stored as given, whatever the session's TimeZone; as `timestamptz` it would be shifted.
      Parameter p{kTimestampOid, 1, false, {}};
      append_be(p.bytes, static_cast<std::uint64_t>(ts.time_since_epoch().count() - kPgEpochOffsetUs), 8);
      return p;
    }
  };
  return std::visit(Encode{}, value);
}

// The parallel arrays libpq takes the bound values in; they point into `parameters`.
struct ParameterArrays {
  explicit ParameterArrays(const std::vector<Parameter>& parameters)
      : types(parameters.size()), values(parameters.size()), lengths(parameters.size()), formats(parameters.size()) {
    for (std::size_t i = 0; i < parameters.size(); ++i) {
      const Parameter& p = parameters[i];
      types[i] = p.type;
      values[i] = p.null ? nullptr : p.bytes.data();
      lengths[i] = static_cast<int>(p.bytes.size());
      formats[i] = p.format;
    }
  }
  int count() const { return static_cast<int>(types.size()); }
  std::vector<Oid> types;
  std::vector<const char*> values;
  std::vector<int> lengths;
  std::vector<int> formats;
};

std::string trim_message(std::string message) {
  while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) message.pop_back();
  return message;
}

DatabaseError make_error(ErrorKind kind, const std::string& message, const std::string& code, bool usable,
                         bool retryable) {
  return DatabaseError(kind, message, DatabaseError::Details{"postgresql", code, usable, retryable});
}

struct Classification {
  ErrorKind kind;
  bool connection_lost;
  bool retryable;
};

Classification classify(const std::string& sqlstate) {
  const std::string klass = sqlstate.substr(0, 2);
  if (klass == "23") return {ErrorKind::constraint, false, false};
  if (sqlstate == "40001" || sqlstate == "40P01") return {ErrorKind::busy, false, true};
  if (sqlstate == "55P03") return {ErrorKind::busy, false, true};  // lock_not_available (NOWAIT / lock_timeout)
  // protocol_violation is also the server's answer to a binary parameter that is not its type's
  // form ("insufficient data left in message"); the connection stays open then, and
  // mark_if_lost() sees when it did not.
  if (sqlstate == "08P01") return {ErrorKind::invalid_argument, false, false};
  if (klass == "08" || sqlstate == "57P01" || sqlstate == "57P02" || sqlstate == "57P03") {
    return {ErrorKind::connection, true, true};
  }
  if (sqlstate == "53300") return {ErrorKind::connection, true, true};  // too_many_connections
  if (klass == "22") return {ErrorKind::invalid_argument, false, false};
  if (klass == "42" || klass == "0A" || klass == "25") return {ErrorKind::usage, false, false};
  if (sqlstate == "57014") return {ErrorKind::busy, false, false};  // statement/lock timeout cancel
  return {ErrorKind::internal, false, false};
}

class PgConnection;

class PgStatement final : public Statement {
 public:
  // `own_transaction_setup` set: each run is BEGIN, those statements, this one and COMMIT in one
  // pipeline.
  PgStatement(PgConnection& connection, std::string_view sql,
              std::optional<std::vector<std::string>> own_transaction_setup = std::nullopt);
  ~PgStatement() override { clear(); }

  void bind(int index, const Value& value) override;
  bool step() override;
  std::int64_t execute() override;
  void reset() override { clear(); }

  int column_count() const override { return result_ ? PQnfields(result_) : 0; }
  std::string column_name(int column) const override {
    check_column(column);
    return PQfname(result_, column);
  }
  bool is_null(int column) const override {
    check_row(column);
    return PQgetisnull(result_, row_, column) != 0;
  }
  std::int64_t get_int64(int column) const override;
  double get_double(int column) const override;
  std::string get_text(int column) const override;
  Blob get_blob(int column) const override;
  Timestamp get_timestamp(int column) const override;

 private:
  void run();
  void run_in_own_transaction(const std::vector<std::string>& setup);
  void clear() {
    if (result_) PQclear(result_);
    result_ = nullptr;
    row_ = -1;
    executed_ = false;
  }
  void check_column(int column) const {
    if (!result_ || column < 0 || column >= PQnfields(result_)) {
      throw Error(ErrorKind::usage, "column index " + std::to_string(column) + " is out of range");
    }
  }
  void check_row(int column) const {
    check_column(column);
    if (row_ < 0 || row_ >= PQntuples(result_)) throw Error(ErrorKind::usage, "no current row: call step() first");
  }
  std::string_view raw(int column) const {
    check_row(column);
    if (PQgetisnull(result_, row_, column)) {
      throw Error(ErrorKind::usage, "column " + std::string(PQfname(result_, column)) + " is NULL");
    }
    return {PQgetvalue(result_, row_, column), static_cast<std::size_t>(PQgetlength(result_, row_, column))};
  }

  PgConnection& connection_;
  std::string sql_;
  std::optional<std::vector<std::string>> own_transaction_setup_;
  std::vector<Parameter> parameters_;
  PGresult* result_ = nullptr;
  int row_ = -1;
  bool executed_ = false;
};

class PgConnection final : public Connection {
 public:
  PgConnection(PGconn* conn, std::string where) : conn_(conn), where_(std::move(where)) {}
  ~PgConnection() override { PQfinish(conn_); }

  Backend backend() const override { return Backend::postgresql; }
  const Dialect& dialect() const override { return dialect_for(Backend::postgresql); }
  std::unique_ptr<Statement> prepare(std::string_view sql) override {
    check_usable();
    return std::make_unique<PgStatement>(*this, sql);
  }
  std::unique_ptr<Statement> prepare_in_own_transaction(std::span<const std::string> setup,
                                                        std::string_view sql) override {
    check_usable();
    return std::make_unique<PgStatement>(*this, sql, std::vector<std::string>(setup.begin(), setup.end()));
  }
  std::int64_t execute(std::string_view sql) override {
    check_usable();
    PGresult* result = PQexec(conn_, std::string(sql).c_str());
    std::int64_t affected = 0;
    check_result(result, sql);
    const char* tuples = PQcmdTuples(result);
    if (tuples && *tuples) affected = std::stoll(tuples);
    PQclear(result);
    return affected;
  }
  void begin(TransactionMode) override {
    if (in_transaction()) throw Error(ErrorKind::usage, "begin(): a transaction is already active on this connection");
    execute("BEGIN");
  }
  void commit() override {
    check_usable();
    PGresult* result = PQexec(conn_, "COMMIT");
    check_result(result, "COMMIT");
    // COMMIT of a transaction in which a statement failed succeeds with the tag ROLLBACK.
    const bool rolled_back = std::strcmp(PQcmdStatus(result), "ROLLBACK") == 0;
    PQclear(result);
    if (rolled_back) {
      throw make_error(ErrorKind::usage,
                       "PostgreSQL rolled back the transaction at COMMIT because an earlier statement in it failed",
                       "25P02", true, false);
    }
  }
  void rollback() override {
    if (!usable_ || PQtransactionStatus(conn_) == PQTRANS_IDLE) return;
    PGresult* result = PQexec(conn_, "ROLLBACK");
    const bool ok = result && PQresultStatus(result) == PGRES_COMMAND_OK;
    PQclear(result);
    if (!ok) mark_if_lost();
  }
  bool in_transaction() const override {
    const auto status = PQtransactionStatus(conn_);
    return status == PQTRANS_INTRANS || status == PQTRANS_INERROR || status == PQTRANS_ACTIVE;
  }
  std::int64_t last_insert_id() override {
    throw Error(ErrorKind::unsupported,
                "PostgreSQL has no last_insert_id(): use the dialect's INSERT ... RETURNING form");
  }
  bool ping() noexcept override {
    if (!usable_) return false;
    PGresult* result = PQexec(conn_, "");
    const bool ok = result && PQresultStatus(result) == PGRES_EMPTY_QUERY;
    PQclear(result);
    if (!ok || PQstatus(conn_) != CONNECTION_OK) {
      usable_ = false;
      return false;
    }
    return true;
  }
  bool usable() const noexcept override { return usable_; }
  std::string server_version() override {
    const char* version = PQparameterStatus(conn_, "server_version");
    return version ? version : std::to_string(PQserverVersion(conn_));
  }

  bool copy_rows(std::string_view table, std::span<const std::string> columns, std::span<const Value> values,
                 CopyFormat format) override;

  PGconn* raw() { return conn_; }

  void check_usable() const {
    if (!usable_) {
      throw make_error(ErrorKind::connection,
                       "PostgreSQL connection to " + where_ + " was lost earlier and cannot be used again", "08003",
                       false, true);
    }
  }

  void mark_if_lost() {
    if (PQstatus(conn_) != CONNECTION_OK) usable_ = false;
  }
  void mark_unusable() { usable_ = false; }

  // Throws for a failed result (and frees it); keeps a successful one.
  void check_result(PGresult* result, std::string_view sql) {
    const auto status = result ? PQresultStatus(result) : PGRES_FATAL_ERROR;
    if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK || status == PGRES_EMPTY_QUERY) return;
    std::string sqlstate;
    std::string message;
    if (result) {
      const char* state = PQresultErrorField(result, PG_DIAG_SQLSTATE);
      if (state) sqlstate = state;
      const char* primary = PQresultErrorField(result, PG_DIAG_MESSAGE_PRIMARY);
      const char* detail = PQresultErrorField(result, PG_DIAG_MESSAGE_DETAIL);
      message = primary ? primary : trim_message(PQresultErrorMessage(result));
      if (detail) message += std::string(" (") + detail + ")";
      PQclear(result);
    }
    if (message.empty()) message = trim_message(PQerrorMessage(conn_));
    mark_if_lost();
    Classification c = sqlstate.empty() ? Classification{ErrorKind::connection, true, true} : classify(sqlstate);
    if (!usable_) c = {ErrorKind::connection, true, true};
    if (c.connection_lost) usable_ = false;
    if (sqlstate.empty()) sqlstate = usable_ ? "XX000" : "08006";
    std::string text = "PostgreSQL error " + sqlstate + ": " + message;
    if (c.connection_lost) text += " (connection to " + where_ + " lost; the transaction may be retried)";
    (void)sql;
    throw make_error(c.kind, text, sqlstate, usable_, c.retryable);
  }

 private:
  PGconn* conn_;
  std::string where_;
  bool usable_ = true;
};

namespace {

// One value in COPY's text format: \N for NULL, backslash escapes for the characters that
// delimit fields and rows, bytea as \\x<hex>, timestamps with an explicit UTC offset.
void append_copy_text(std::string& out, const Value& value) {
  struct Append {
    std::string& out;
    void operator()(std::monostate) const { out += "\\N"; }
    void operator()(bool b) const { out += b ? 't' : 'f'; }
    void operator()(std::int64_t i) const { out += std::to_string(i); }
    void operator()(double d) const {
      if (std::isnan(d)) {
        out += "NaN";
      } else if (std::isinf(d)) {
        out += d > 0 ? "Infinity" : "-Infinity";
      } else {
        char buffer[32];
        const auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, d);  // shortest exact form
        (void)ec;
        out.append(buffer, end);
      }
    }
    void operator()(const std::string& text) const {
      for (const char c : text) {
        switch (c) {
          case '\\': out += "\\\\"; break;
          case '\n': out += "\\n"; break;
          case '\r': out += "\\r"; break;
          case '\t': out += "\\t"; break;
          default: out += c;
        }
      }
    }
    void operator()(const Blob& blob) const {
      static constexpr char kHex[] = "0123456789abcdef";
      out += "\\\\x";
      for (const auto byte : blob.bytes) {
        out += kHex[static_cast<unsigned char>(byte) >> 4];
        out += kHex[static_cast<unsigned char>(byte) & 0xF];
      }
    }
    void operator()(Timestamp ts) const { out += format_timestamp(ts) + "+00"; }
  };
  std::visit(Append{out}, value);
}

// One row of a binary COPY: the field count, then each field's length (-1 for NULL) and bytes.
void append_copy_binary_row(std::string& out, std::span<const Value> row) {
  append_be(out, row.size(), 2);
  for (const auto& value : row) {
    const Parameter p = encode_parameter(value);
    if (p.null) {
      append_be(out, 0xFFFFFFFFu, 4);
    } else {
      append_be(out, p.bytes.size(), 4);
      out += p.bytes;
    }
  }
}

}  // namespace

bool PgConnection::copy_rows(std::string_view table, std::span<const std::string> columns,
                             std::span<const Value> values, CopyFormat format) {
  check_usable();
  if (columns.empty() || values.size() % columns.size() != 0) {
    throw Error(ErrorKind::usage, "copy_rows into " + std::string(table) + ": " + std::to_string(values.size()) +
                                      " values are not whole rows of " + std::to_string(columns.size()) + " columns");
  }
  const auto& d = dialect();
  std::string sql = "COPY " + d.quote(table) + " (";
  for (std::size_t i = 0; i < columns.size(); ++i) sql += (i == 0 ? "" : ", ") + d.quote(columns[i]);
  sql += ") FROM STDIN";
  const bool binary = format == CopyFormat::binary;
  if (binary) sql += " (FORMAT binary)";
  PGresult* started = PQexec(conn_, sql.c_str());
  if (!started || PQresultStatus(started) != PGRES_COPY_IN) {
    check_result(started, sql);  // throws for an error result
    PQclear(started);
    throw Error(ErrorKind::internal, "PostgreSQL did not enter COPY IN for " + sql);
  }
  PQclear(started);

  // Sent in pieces of about 256 KiB: big enough that the per-call cost vanishes, small enough
  // that a million rows never sit in memory twice.
  constexpr std::size_t kChunk = 256 * 1024;
  std::string buffer;
  buffer.reserve(kChunk + 4096);
  const char* abort_reason = nullptr;
  std::string abort_text;
  // The binary header: signature, flags, header-extension length.
  if (binary) buffer.append("PGCOPY\n\xff\r\n\0\0\0\0\0\0\0\0\0", 19);
  try {
    for (std::size_t row = 0; row * columns.size() < values.size(); ++row) {
      if (binary) {
        append_copy_binary_row(buffer, values.subspan(row * columns.size(), columns.size()));
      } else {
        for (std::size_t col = 0; col < columns.size(); ++col) {
          if (col > 0) buffer += '\t';
          append_copy_text(buffer, values[row * columns.size() + col]);
        }
        buffer += '\n';
      }
      if (buffer.size() >= kChunk) {
        if (PQputCopyData(conn_, buffer.data(), static_cast<int>(buffer.size())) != 1) break;
        buffer.clear();
      }
    }
  } catch (const std::exception& error) {
    abort_text = error.what();
    abort_reason = abort_text.c_str();
  }
  if (binary && abort_reason == nullptr) append_be(buffer, 0xFFFF, 2);  // the trailer
  if (abort_reason == nullptr && !buffer.empty()) {
    PQputCopyData(conn_, buffer.data(), static_cast<int>(buffer.size()));
  }
  PQputCopyEnd(conn_, abort_reason);
  // The outcome of the whole COPY is the next result; anything after it is drained.
  PGresult* finished = PQgetResult(conn_);
  while (PGresult* extra = PQgetResult(conn_)) PQclear(extra);
  check_result(finished, sql);
  PQclear(finished);
  if (abort_reason != nullptr) throw Error(ErrorKind::internal, "COPY into " + std::string(table) + " aborted: " + abort_text);
  return true;
}

PgStatement::PgStatement(PgConnection& connection, std::string_view sql,
                         std::optional<std::vector<std::string>> own_transaction_setup)
    : connection_(connection), own_transaction_setup_(std::move(own_transaction_setup)) {
  auto rewritten = postgres::rewrite_placeholders(sql);
  sql_ = std::move(rewritten.text);
  parameters_.resize(static_cast<std::size_t>(rewritten.parameter_count));
}

void PgStatement::bind(int index, const Value& value) {
  if (index < 1 || index > static_cast<int>(parameters_.size())) {
    throw Error(ErrorKind::usage, "parameter index " + std::to_string(index) + " is out of range: the statement has " +
                                      std::to_string(parameters_.size()) + " parameters");
  }
  parameters_[static_cast<std::size_t>(index - 1)] = encode_parameter(value);
  if (executed_) clear();
}

void PgStatement::run() {
  connection_.check_usable();
  clear();
  if (own_transaction_setup_) return run_in_own_transaction(*own_transaction_setup_);
  const ParameterArrays p(parameters_);
  PGresult* result = PQexecParams(connection_.raw(), sql_.c_str(), p.count(), p.types.data(), p.values.data(),
                                  p.lengths.data(), p.formats.data(), 1);
  connection_.check_result(result, sql_);
  result_ = result;
  executed_ = true;
  row_ = -1;
}

void PgStatement::run_in_own_transaction(const std::vector<std::string>& setup) {
  PGconn* conn = connection_.raw();
  if (PQtransactionStatus(conn) != PQTRANS_IDLE) {
    throw Error(ErrorKind::usage, "a statement in its own transaction was run inside a transaction");
  }
  if (PQenterPipelineMode(conn) != 1) {
    connection_.check_result(nullptr, sql_);  // throws, with libpq's message
  }
  const ParameterArrays p(parameters_);
  // Parts in order: BEGIN, setup..., the statement, COMMIT. A part the server rejects makes it skip
  // the rest up to the Sync, which libpq reports as PGRES_PIPELINE_ABORTED for each.
  const std::size_t statement_part = 1 + setup.size();
  const std::size_t parts = statement_part + 2;
  auto send_plain = [&](const char* text) { return PQsendQueryParams(conn, text, 0, nullptr, nullptr, nullptr, nullptr, 0) == 1; };
  bool sent = send_plain("BEGIN");
  for (const auto& statement : setup) sent = sent && send_plain(statement.c_str());
  sent = sent && PQsendQueryParams(conn, sql_.c_str(), p.count(), p.types.data(), p.values.data(), p.lengths.data(),
                                   p.formats.data(), 1) == 1;
  sent = sent && send_plain("COMMIT");
  // The Sync goes even when a send failed, so that what did go out is answered and the connection
  // can leave pipeline mode.
  const bool synced = PQpipelineSync(conn) == 1;

  PGresult* kept = nullptr;     // the statement's rows
  PGresult* failure = nullptr;  // the first error
  bool committed_as_rollback = false;
  bool sync_seen = false;
  // Each part's results end with a NULL, so the NULLs seen so far number the current part; the
  // Sync's result ends the pipeline. A lost connection ends it too, with NULLs for ever, hence
  // the bound on parts and the status check.
  std::size_t part = 0;
  while (synced && !sync_seen && part <= parts) {
    PGresult* result = PQgetResult(conn);
    if (result == nullptr) {
      ++part;
      if (PQstatus(conn) != CONNECTION_OK) break;
      continue;
    }
    const auto status = PQresultStatus(result);
    if (status == PGRES_PIPELINE_SYNC) {
      sync_seen = true;
      PQclear(result);
    } else if (status == PGRES_PIPELINE_ABORTED) {
      PQclear(result);
    } else if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK || status == PGRES_EMPTY_QUERY) {
      if (part == statement_part && kept == nullptr) {
        kept = result;
      } else {
        if (part == parts - 1 && std::strcmp(PQcmdStatus(result), "ROLLBACK") == 0) committed_as_rollback = true;
        PQclear(result);
      }
    } else if (failure == nullptr) {
      failure = result;
    } else {
      PQclear(result);
    }
  }
  const bool left_pipeline = sync_seen && PQexitPipelineMode(conn) == 1;
  if (!left_pipeline) {
    // A connection stuck in pipeline mode cannot run the next caller's statements.
    if (kept) PQclear(kept);
    connection_.mark_unusable();
    connection_.check_result(failure, sql_);  // throws: connection lost
  }
  if (!sent || failure != nullptr || committed_as_rollback) {
    if (kept) PQclear(kept);
    connection_.rollback();
    if (failure != nullptr) connection_.check_result(failure, sql_);  // throws
    if (committed_as_rollback) {
      throw make_error(ErrorKind::usage, "PostgreSQL rolled back the statement's own transaction at COMMIT", "25P02",
                       true, false);
    }
    connection_.check_result(nullptr, sql_);  // a send failed: throws with libpq's message
  }
  result_ = kept;
  executed_ = true;
  row_ = -1;
}

bool PgStatement::step() {
  if (!executed_) run();
  if (!result_) return false;
  const int rows = PQntuples(result_);
  if (row_ < rows) ++row_;
  return row_ < rows;
}

std::int64_t PgStatement::execute() {
  if (!executed_) run();
  const char* tuples = result_ ? PQcmdTuples(result_) : nullptr;
  const std::int64_t affected = tuples && *tuples ? std::stoll(tuples) : 0;
  if (result_) row_ = PQntuples(result_);
  return affected;
}

std::int64_t PgStatement::get_int64(int column) const {
  const auto data = raw(column);
  switch (PQftype(result_, column)) {
    case kBoolOid: return data[0] != 0;
    case kInt2Oid: return static_cast<std::int16_t>(read_be(data.data(), 2));
    case kInt4Oid: return static_cast<std::int32_t>(read_be(data.data(), 4));
    case kOidOid: return static_cast<std::uint32_t>(read_be(data.data(), 4));
    case kInt8Oid: return static_cast<std::int64_t>(read_be(data.data(), 8));
    case kFloat4Oid:
    case kFloat8Oid: return static_cast<std::int64_t>(get_double(column));
    case kNumericOid: return std::stoll(postgres::numeric_to_string(data.data(), static_cast<int>(data.size())));
    default: break;
  }
  try {
    return std::stoll(std::string(data));
  } catch (const std::exception&) {
    throw Error(ErrorKind::invalid_argument,
                "column " + std::string(PQfname(result_, column)) + " does not hold an integer");
  }
}

double PgStatement::get_double(int column) const {
  const auto data = raw(column);
  switch (PQftype(result_, column)) {
    case kFloat8Oid: return std::bit_cast<double>(read_be(data.data(), 8));
    case kFloat4Oid: return std::bit_cast<float>(static_cast<std::uint32_t>(read_be(data.data(), 4)));
    case kBoolOid:
    case kInt2Oid:
    case kInt4Oid:
    case kOidOid:
    case kInt8Oid: return static_cast<double>(get_int64(column));
    case kNumericOid: return std::stod(postgres::numeric_to_string(data.data(), static_cast<int>(data.size())));
    default: break;
  }
  try {
    return std::stod(std::string(data));
  } catch (const std::exception&) {
    throw Error(ErrorKind::invalid_argument, "column " + std::string(PQfname(result_, column)) + " does not hold a number");
  }
}

std::string PgStatement::get_text(int column) const {
  const auto data = raw(column);
  switch (PQftype(result_, column)) {
    case kBoolOid: return data[0] ? "true" : "false";
    case kInt2Oid:
    case kInt4Oid:
    case kOidOid:
    case kInt8Oid: return std::to_string(get_int64(column));
    case kFloat4Oid:
    case kFloat8Oid: return format_double_literal(get_double(column));
    case kNumericOid: return postgres::numeric_to_string(data.data(), static_cast<int>(data.size()));
    case kJsonbOid: return std::string(data.substr(1));  // version byte, then the JSON text
    case kTimestampOid:
    case kTimestamptzOid:
    case kDateOid: return format_timestamp(get_timestamp(column));
    case kUuidOid: {
      static constexpr char hex[] = "0123456789abcdef";
      std::string out;
      for (std::size_t i = 0; i < data.size(); ++i) {
        if (i == 4 || i == 6 || i == 8 || i == 10) out += '-';
        out += hex[static_cast<unsigned char>(data[i]) >> 4];
        out += hex[static_cast<unsigned char>(data[i]) & 0xF];
      }
      return out;
    }
    default: return std::string(data);  // text, varchar, bpchar, name, char, json, bytea, unknown
  }
}

Blob PgStatement::get_blob(int column) const {
  const auto data = raw(column);
  Blob blob;
  blob.bytes.assign(reinterpret_cast<const std::uint8_t*>(data.data()),
                    reinterpret_cast<const std::uint8_t*>(data.data()) + data.size());
  return blob;
}

Timestamp PgStatement::get_timestamp(int column) const {
  const auto data = raw(column);
  const Oid type = PQftype(result_, column);
  if (type == kTimestampOid || type == kTimestamptzOid) {
    const auto us = static_cast<std::int64_t>(read_be(data.data(), 8));
    if (us == INT64_MAX || us == INT64_MIN) {
      throw Error(ErrorKind::invalid_argument,
                  "column " + std::string(PQfname(result_, column)) + " holds an infinite timestamp");
    }
    return Timestamp(std::chrono::microseconds(us + kPgEpochOffsetUs));
  }
  if (type == kDateOid) {
    const auto days = static_cast<std::int32_t>(read_be(data.data(), 4));
    return Timestamp(std::chrono::microseconds((static_cast<std::int64_t>(days) * 86400LL) * 1000000LL +
                                               kPgEpochOffsetUs));
  }
  return parse_timestamp(data);
}

std::string describe_target(const DbUrl& url) {
  std::string host = url.host.empty() ? "localhost" : url.host;
  if (host.find(':') != std::string::npos) host = "[" + host + "]";
  return host + ":" + std::to_string(url.port.value_or(5432)) + ", database '" + url.database + "'" +
         (url.user.empty() ? std::string() : ", user '" + url.user + "'");
}

}  // namespace

std::unique_ptr<Connection> open_postgres_connection(const DbUrl& url, const ConnectOptions& options) {
  std::vector<std::pair<std::string, std::string>> params;
  if (!url.host.empty()) params.emplace_back("host", url.host);
  if (url.port) params.emplace_back("port", std::to_string(*url.port));
  if (!url.database.empty()) params.emplace_back("dbname", url.database);
  if (!url.user.empty()) params.emplace_back("user", url.user);
  if (!url.password.empty()) params.emplace_back("password", url.password);
  // libpq's minimum is 2 s; it rounds smaller values up.
  params.emplace_back("connect_timeout",
                      std::to_string(std::max(1, static_cast<int>(std::ceil(options.connect_timeout_s)))));
  params.emplace_back("fallback_application_name", "lunadb");
  params.emplace_back("client_encoding", "UTF8");
  for (const auto& [key, value] : url.query) {
    // Later keywords win in PQconnectdbParams, so URL keys override the defaults above.
    params.emplace_back(key, value);
  }
  std::vector<const char*> keywords;
  std::vector<const char*> values;
  for (const auto& [key, value] : params) {
    keywords.push_back(key.c_str());
    values.push_back(value.c_str());
  }
  keywords.push_back(nullptr);
  values.push_back(nullptr);

  const std::string where = describe_target(url);
  PGconn* conn = PQconnectdbParams(keywords.data(), values.data(), 0);
  if (!conn) {
    throw make_error(ErrorKind::connection, "cannot connect to PostgreSQL at " + where + ": out of memory", "08001",
                     false, true);
  }
  if (PQstatus(conn) != CONNECTION_OK) {
    std::string reason = trim_message(PQerrorMessage(conn));
    PQfinish(conn);
    if (!url.password.empty()) {
      for (std::size_t at = reason.find(url.password); at != std::string::npos; at = reason.find(url.password)) {
        reason.replace(at, url.password.size(), "***");
      }
    }
    std::string code = "08001";
    bool retryable = true;
    if (reason.find("password authentication failed") != std::string::npos ||
        reason.find("no password supplied") != std::string::npos) {
      code = "28P01";
      retryable = false;
    } else if (reason.find("does not exist") != std::string::npos) {
      code = reason.find("database") != std::string::npos ? "3D000" : "28000";
      retryable = false;
    } else if (reason.find("invalid connection option") != std::string::npos ||
               reason.find("invalid sslmode") != std::string::npos) {
      throw Error(ErrorKind::config, "DB_URL has a query key libpq does not accept: " + reason);
    }
    throw make_error(ErrorKind::connection, "cannot connect to PostgreSQL at " + where + ": " + reason, code, false,
                     retryable);
  }
  return std::make_unique<PgConnection>(conn, where);
}

}  // namespace lunadb::sql
