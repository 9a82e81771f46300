#include "support/recording_connection.hpp"

#include <cctype>

#include "lunadb/error.hpp"
#include "sql/dialect.hpp"

namespace lunadb::test {

void SqlRecording::add(RecordedSql entry) {
  std::lock_guard lock(mutex_);
  entries_.push_back(std::move(entry));
}

std::vector<RecordedSql> SqlRecording::entries() const {
  std::lock_guard lock(mutex_);
  return entries_;
}

std::size_t SqlRecording::size() const {
  std::lock_guard lock(mutex_);
  return entries_.size();
}

std::vector<RecordedSql> SqlRecording::since(std::size_t from) const {
  std::lock_guard lock(mutex_);
  if (from >= entries_.size()) return {};
  return {entries_.begin() + static_cast<std::ptrdiff_t>(from), entries_.end()};
}

std::int64_t SqlRecording::next_id() {
  std::lock_guard lock(mutex_);
  return ++next_id_;
}

int SqlRecording::begins() const {
  std::lock_guard lock(mutex_);
  return begins_;
}
int SqlRecording::commits() const {
  std::lock_guard lock(mutex_);
  return commits_;
}
int SqlRecording::rollbacks() const {
  std::lock_guard lock(mutex_);
  return rollbacks_;
}
void SqlRecording::count_begin() {
  std::lock_guard lock(mutex_);
  ++begins_;
}
void SqlRecording::count_commit() {
  std::lock_guard lock(mutex_);
  ++commits_;
}
void SqlRecording::count_rollback() {
  std::lock_guard lock(mutex_);
  ++rollbacks_;
}

namespace {

// Calls `visit(index, depth)` for every character of `sql` outside strings, quoted identifiers
// and comments; `depth` is the parenthesis depth at that character.
template <typename Visit>
void scan_code(std::string_view sql, Visit&& visit) {
  int depth = 0;
  std::size_t i = 0;
  auto skip_to = [&](char close, bool doubled_escapes) {
    ++i;
    while (i < sql.size()) {
      if (sql[i] == close) {
        if (doubled_escapes && i + 1 < sql.size() && sql[i + 1] == close) {
          i += 2;
          continue;
        }
        break;
      }
      ++i;
    }
    ++i;
  };
  while (i < sql.size()) {
    const char c = sql[i];
    if (c == '\'') {
      skip_to('\'', true);
    } else if (c == '"') {
      skip_to('"', true);
    } else if (c == '[') {
      skip_to(']', true);
    } else if (c == '-' && i + 1 < sql.size() && sql[i + 1] == '-') {
      while (i < sql.size() && sql[i] != '\n') ++i;
    } else if (c == '/' && i + 1 < sql.size() && sql[i + 1] == '*') {
      const auto end = sql.find("*/", i + 2);
      i = end == std::string_view::npos ? sql.size() : end + 2;
    } else {
      if (c == '(') ++depth;
      visit(i, depth);
      if (c == ')') --depth;
      ++i;
    }
  }
}

std::string upper(std::string_view text) {
  std::string out(text);
  for (auto& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

std::string first_keyword(std::string_view sql) {
  std::size_t start = 0;
  while (start < sql.size() && std::isspace(static_cast<unsigned char>(sql[start]))) ++start;
  std::size_t end = start;
  while (end < sql.size() && std::isalpha(static_cast<unsigned char>(sql[end]))) ++end;
  return upper(sql.substr(start, end - start));
}

// The number of items in the outermost SELECT list (commas at depth 0 before the first FROM).
int select_list_width(std::string_view sql) {
  const std::string up = upper(sql);
  int commas = 0;
  bool done = false;
  scan_code(sql, [&](std::size_t i, int depth) {
    if (done || depth != 0) return;
    if (up.compare(i, 6, " FROM ") == 0) done = true;
    else if (sql[i] == ',') ++commas;
  });
  return commas + 1;
}

class RecordingStatement final : public sql::Statement {
 public:
  RecordingStatement(SqlRecording& recording, std::string sql_text)
      : recording_(recording), sql_(std::move(sql_text)), markers_(count_parameter_markers(sql_)),
        bound_(static_cast<std::size_t>(markers_), false) {
    const std::string keyword = first_keyword(sql_);
    select_ = keyword == "SELECT";
    output_id_ = keyword == "INSERT" && upper(sql_).find(" OUTPUT INSERTED.") != std::string::npos;
    dml_ = keyword == "INSERT" || keyword == "UPDATE" || keyword == "DELETE" || keyword == "MERGE";
    width_ = select_ ? select_list_width(sql_) : output_id_ ? 1 : 0;
  }

  void bind(int index, const sql::Value&) override {
    if (index < 1 || index > markers_) {
      throw Error(ErrorKind::usage, "bind(" + std::to_string(index) + "): the statement has " + std::to_string(markers_) +
                                        " parameter markers: " + sql_);
    }
    bound_[static_cast<std::size_t>(index - 1)] = true;
  }

  bool step() override {
    if (!started_) start();
    if (rows_left_ > 0) {
      --rows_left_;
      on_row_ = true;
      return true;
    }
    on_row_ = false;
    return false;
  }

  std::int64_t execute() override {
    if (!started_) start();
    rows_left_ = 0;
    on_row_ = false;
    return dml_ ? 1 : 0;
  }

  void reset() override {
    started_ = false;
    on_row_ = false;
    rows_left_ = 0;
  }

  int column_count() const override { return width_; }
  std::string column_name(int column) const override { return "c" + std::to_string(check_column(column)); }
  bool is_null(int column) const override {
    check_column(column);
    return false;
  }
  std::int64_t get_int64(int column) const override {
    check_column(column);
    return output_id_ ? id_ : 1;
  }
  double get_double(int column) const override {
    check_column(column);
    return 0.5;
  }
  std::string get_text(int column) const override {
    check_column(column);
    return "x";
  }
  sql::Blob get_blob(int column) const override {
    check_column(column);
    return {};
  }
  sql::Timestamp get_timestamp(int column) const override {
    check_column(column);
    return sql::parse_timestamp("2026-01-02 03:04:05.123456");
  }

 private:
  void start() {
    for (std::size_t i = 0; i < bound_.size(); ++i) {
      if (!bound_[i]) {
        throw Error(ErrorKind::usage, "parameter " + std::to_string(i + 1) + " of " + std::to_string(markers_) +
                                          " was never bound: " + sql_);
      }
    }
    started_ = true;
    if (output_id_) {
      id_ = recording_.next_id();
      rows_left_ = 1;
    } else {
      rows_left_ = select_ ? recording_.rows_per_select : 0;
    }
  }

  int check_column(int column) const {
    if (!on_row_) throw Error(ErrorKind::usage, "column read without a current row: " + sql_);
    if (column < 0 || column >= width_) {
      throw Error(ErrorKind::usage, "column " + std::to_string(column) + " read from a row of " + std::to_string(width_) +
                                        " columns: " + sql_);
    }
    return column;
  }

  SqlRecording& recording_;
  std::string sql_;
  int markers_;
  std::vector<bool> bound_;
  bool select_ = false;
  bool output_id_ = false;
  bool dml_ = false;
  int width_ = 0;
  bool started_ = false;
  bool on_row_ = false;
  int rows_left_ = 0;
  std::int64_t id_ = 0;
};

class RecordingConnection final : public sql::Connection {
 public:
  RecordingConnection(Backend backend, SqlRecording& recording) : backend_(backend), recording_(recording) {}

  Backend backend() const override { return backend_; }
  const sql::Dialect& dialect() const override { return sql::dialect_for(backend_); }

  std::unique_ptr<sql::Statement> prepare(std::string_view sql_text) override {
    recording_.add({std::string(sql_text), true, in_transaction_});
    return std::make_unique<RecordingStatement>(recording_, std::string(sql_text));
  }

  std::int64_t execute(std::string_view sql_text) override {
    recording_.add({std::string(sql_text), false, in_transaction_});
    if (count_parameter_markers(sql_text) != 0) {
      throw Error(ErrorKind::usage, "execute() takes no parameters: " + std::string(sql_text));
    }
    RecordingStatement statement(recording_, std::string(sql_text));
    return statement.execute();
  }

  void begin(sql::TransactionMode) override {
    if (in_transaction_) throw Error(ErrorKind::usage, "begin(): a transaction is already active on this connection");
    in_transaction_ = true;
    recording_.count_begin();
  }
  void commit() override {
    if (!in_transaction_) throw Error(ErrorKind::usage, "commit(): no transaction is active on this connection");
    in_transaction_ = false;
    recording_.count_commit();
  }
  void rollback() override {
    if (!in_transaction_) return;
    in_transaction_ = false;
    recording_.count_rollback();
  }
  bool in_transaction() const override { return in_transaction_; }
  std::int64_t last_insert_id() override {
    throw Error(ErrorKind::unsupported,
                "last_insert_id(): SQL Server connections report new ids through OUTPUT INSERTED only");
  }
  bool ping() noexcept override { return true; }
  bool usable() const noexcept override { return true; }
  std::string server_version() override { return "recording double"; }

 private:
  Backend backend_;
  SqlRecording& recording_;
  bool in_transaction_ = false;
};

}  // namespace

int count_parameter_markers(std::string_view sql) {
  int count = 0;
  scan_code(sql, [&](std::size_t i, int) {
    if (sql[i] == '?') ++count;
  });
  return count;
}

std::unique_ptr<sql::Connection> make_recording_connection(Backend backend, SqlRecording& recording) {
  return std::make_unique<RecordingConnection>(backend, recording);
}

sql::Lease RecordingSource::acquire() {
  {
    std::lock_guard lock(mutex_);
    ++stats_.checkouts;
    ++stats_.open;
    ++stats_.checked_out;
    stats_.peak_open = std::max(stats_.peak_open, stats_.open);
  }
  return sql::Lease(this, make_recording_connection(backend_, recording_));
}

sql::PoolStats RecordingSource::stats() const {
  std::lock_guard lock(mutex_);
  return stats_;
}

int RecordingSource::returned_in_transaction() const {
  std::lock_guard lock(mutex_);
  return returned_in_transaction_;
}

void RecordingSource::release(std::unique_ptr<sql::Connection> connection, bool) noexcept {
  std::lock_guard lock(mutex_);
  if (connection && connection->in_transaction()) ++returned_in_transaction_;
  --stats_.open;
  --stats_.checked_out;
}

}  // namespace lunadb::test
