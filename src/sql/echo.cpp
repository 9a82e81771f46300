#include "sql/echo.hpp"

#include <chrono>
#include <cstdio>
#include <mutex>
#include <vector>

#include "lunadb/error.hpp"

namespace lunadb::sql {

namespace {

std::mutex sink_mutex;

void write_to_stderr(const std::string& line) {
  std::string whole = line + "\n";
  std::fwrite(whole.data(), 1, whole.size(), stderr);
  std::fflush(stderr);
}

EchoSink& current_sink() {
  static EchoSink sink = write_to_stderr;
  return sink;
}

void emit(const std::string& line) {
  std::lock_guard lock(sink_mutex);
  current_sink()(line);
}

using Clock = std::chrono::steady_clock;

std::string milliseconds_since(Clock::time_point start) {
  double ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.3f ms", ms);
  return buffer;
}

std::string one_line(std::string_view sql) {
  std::string out;
  bool space = false;
  for (char c : sql) {
    bool blank = c == '\n' || c == '\r' || c == '\t' || c == ' ';
    if (blank) {
      space = !out.empty();
      continue;
    }
    if (space) out += ' ';
    space = false;
    out += c;
  }
  return out;
}

// Logs one statement run; `what` is the failure, if any (its kind only: messages from some servers
// quote the offending value).
void log_run(std::string_view sql, const std::vector<std::string>& parameters, Clock::time_point start,
             const char* failure = nullptr) {
  std::string line = "[lunadb sql] [" + milliseconds_since(start) + "] " + one_line(sql);
  if (!parameters.empty()) {
    line += " [parameters:";
    for (std::size_t i = 0; i < parameters.size(); ++i) {
      line += " " + std::to_string(i + 1) + "=" + (parameters[i].empty() ? "unbound" : parameters[i]);
    }
    line += "]";
  }
  if (failure != nullptr) line += std::string(" -> failed: ") + failure;
  emit(line);
}

template <typename Run>
auto timed(std::string_view sql, const std::vector<std::string>& parameters, Run&& run) {
  auto start = Clock::now();
  try {
    auto result = run();
    log_run(sql, parameters, start);
    return result;
  } catch (const Error& error) {
    log_run(sql, parameters, start, to_string(error.kind()));
    throw;
  } catch (...) {
    log_run(sql, parameters, start, "exception");
    throw;
  }
}

class EchoStatement final : public Statement {
 public:
  EchoStatement(std::unique_ptr<Statement> inner, std::string_view sql) : inner_(std::move(inner)), sql_(sql) {}

  void bind(int index, const Value& value) override {
    inner_->bind(index, value);
    if (static_cast<std::size_t>(index) > parameters_.size()) parameters_.resize(static_cast<std::size_t>(index));
    parameters_[static_cast<std::size_t>(index - 1)] = describe_type(value);
  }
  bool step() override {
    if (started_) return inner_->step();
    started_ = true;  // the first step runs the statement: that is what gets timed and logged
    return timed(sql_, parameters_, [&] { return inner_->step(); });
  }
  std::int64_t execute() override {
    started_ = false;
    return timed(sql_, parameters_, [&] { return inner_->execute(); });
  }
  void reset() override {
    started_ = false;
    inner_->reset();
  }
  int column_count() const override { return inner_->column_count(); }
  std::string column_name(int column) const override { return inner_->column_name(column); }
  bool is_null(int column) const override { return inner_->is_null(column); }
  std::int64_t get_int64(int column) const override { return inner_->get_int64(column); }
  double get_double(int column) const override { return inner_->get_double(column); }
  std::string get_text(int column) const override { return inner_->get_text(column); }
  Blob get_blob(int column) const override { return inner_->get_blob(column); }
  Timestamp get_timestamp(int column) const override { return inner_->get_timestamp(column); }

 private:
  std::unique_ptr<Statement> inner_;
  std::string sql_;
  std::vector<std::string> parameters_;
  bool started_ = false;
};

class EchoConnection final : public Connection {
 public:
  explicit EchoConnection(std::unique_ptr<Connection> inner) : inner_(std::move(inner)) {}

  Backend backend() const override { return inner_->backend(); }
  const Dialect& dialect() const override { return inner_->dialect(); }
  std::unique_ptr<Statement> prepare(std::string_view sql) override {
    return std::make_unique<EchoStatement>(inner_->prepare(sql), sql);
  }
  std::int64_t execute(std::string_view sql) override {
    return timed(sql, {}, [&] { return inner_->execute(sql); });
  }
  void begin(TransactionMode mode) override {
    timed(mode == TransactionMode::write ? "BEGIN (write)" : "BEGIN (read)", {}, [&] {
      inner_->begin(mode);
      return 0;
    });
  }
  void commit() override {
    timed("COMMIT", {}, [&] {
      inner_->commit();
      return 0;
    });
  }
  void rollback() override {
    if (!inner_->in_transaction()) return inner_->rollback();
    timed("ROLLBACK", {}, [&] {
      inner_->rollback();
      return 0;
    });
  }
  bool in_transaction() const override { return inner_->in_transaction(); }
  std::int64_t last_insert_id() override { return inner_->last_insert_id(); }
  bool ping() noexcept override { return inner_->ping(); }
  bool usable() const noexcept override { return inner_->usable(); }
  std::string server_version() override { return inner_->server_version(); }
  std::unique_ptr<Statement> prepare_in_own_transaction(std::span<const std::string> setup,
                                                        std::string_view sql) override {
    auto inner = inner_->prepare_in_own_transaction(setup, sql);
    if (!inner) return nullptr;
    std::string described = "BEGIN;";
    for (const auto& statement : setup) described += " " + statement + ";";
    described += " " + std::string(sql) + "; COMMIT";
    return std::make_unique<EchoStatement>(std::move(inner), described);
  }
  bool copy_rows(std::string_view table, std::span<const std::string> columns, std::span<const Value> values,
                 CopyFormat format) override {
    // The rows are logged by count only, as bound values are by type and length.
    const std::size_t rows = columns.empty() ? 0 : values.size() / columns.size();
    const std::string what = "COPY " + std::string(table) + " (" + std::to_string(rows) + " rows)";
    return timed(what, {}, [&] { return inner_->copy_rows(table, columns, values, format); });
  }

 private:
  std::unique_ptr<Connection> inner_;
};

}  // namespace

EchoSink set_echo_sink(EchoSink sink) {
  std::lock_guard lock(sink_mutex);
  EchoSink previous = std::move(current_sink());
  current_sink() = sink ? std::move(sink) : EchoSink(write_to_stderr);
  return previous;
}

std::unique_ptr<Connection> make_echo_connection(std::unique_ptr<Connection> inner) {
  return std::make_unique<EchoConnection>(std::move(inner));
}

}  // namespace lunadb::sql
