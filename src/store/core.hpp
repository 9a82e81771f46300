#pragma once
// What every repository shares: the connection source, the dialect, and the transaction helpers.

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include "lunadb/error.hpp"
#include "lunadb/store.hpp"
#include "sql/dialect.hpp"
#include "sql/driver.hpp"
#include "sql/pool.hpp"
#include "sql/value.hpp"

namespace lunadb::store::detail {

static_assert(std::is_same_v<lunadb::Timestamp, sql::Timestamp>, "the public Timestamp must be the driver's");

// ---- statement helpers ----

using Values = std::vector<sql::Value>;

inline sql::Value opt(const std::optional<std::string>& v) { return v ? sql::Value{*v} : sql::Value{}; }
inline sql::Value opt(const std::optional<std::int64_t>& v) { return v ? sql::Value{*v} : sql::Value{}; }
inline sql::Value opt(const std::optional<double>& v) { return v ? sql::Value{*v} : sql::Value{}; }
inline sql::Value opt(const std::optional<bool>& v) { return v ? sql::Value{*v} : sql::Value{}; }
inline sql::Value opt(const std::optional<Timestamp>& v) { return v ? sql::Value{*v} : sql::Value{}; }
inline sql::Value opt(const std::optional<int>& v) { return v ? sql::Value{std::int64_t{*v}} : sql::Value{}; }

struct TableSql;
// Runs the table's prepared INSERT and returns the new id, from the result row or the connection.
std::int64_t run_insert(sql::Connection& connection, const TableSql& table, sql::Statement& statement);
std::int64_t insert_returning_id(sql::Connection& connection, const TableSql& table, std::span<const sql::Value> values);
std::int64_t execute(sql::Connection& connection, const std::string& sql, std::span<const sql::Value> values);

template <typename Record, typename Reader>
std::optional<Record> query_one(sql::Connection& connection, const std::string& sql, std::span<const sql::Value> values,
                                Reader&& reader) {
  auto statement = connection.prepare(sql);
  statement->bind_all(values);
  if (!statement->step()) return std::nullopt;
  Record record = reader(*statement);
  statement->reset();
  return record;
}

template <typename Record, typename Reader>
std::vector<Record> query_all(sql::Connection& connection, const std::string& sql, std::span<const sql::Value> values,
                              Reader&& reader) {
  auto statement = connection.prepare(sql);
  statement->bind_all(values);
  std::vector<Record> records;
  while (statement->step()) records.push_back(reader(*statement));
  return records;
}

// ---- SQL text ----

// The SQL of one table, rendered once per Store by its dialect. `columns` lists every column in
// record order, `id` first; inserts write all but `id`.
struct TableSql {
  TableSql(const sql::Dialect& dialect, bool returning_id, std::string table, std::vector<std::string> columns,
           const std::vector<std::string>& update_columns);
  std::string name;          // quoted table name
  std::string column_list;   // quoted, comma separated
  std::string select;        // SELECT <columns> FROM <table>
  std::string select_by_id;  // ... WHERE id = ?
  std::string insert;        // INSERT of every column but id (returning the id when `returning`)
  bool returning = false;    // insert yields a result row holding the id
  std::string update_by_id;  // UPDATE <table> SET <update columns> = ? ... WHERE id = ?
  std::string delete_by_id;
  const sql::Dialect* dialect;

  std::string q(std::string_view identifier) const { return dialect->quote(identifier); }
};

// " IN (?, ?, ...)" for `count` placeholders.
std::string in_placeholders(std::size_t count);

// ---- validation: before anything is written ----
void check_utf8(std::string_view field, std::string_view text);
void check_utf8(std::string_view field, const std::optional<std::string>& text);
inline void check_utf8(std::string_view field, const std::string& text) { check_utf8(field, std::string_view(text)); }
void check_json(std::string_view field, std::string_view text);
void check_json(std::string_view field, const std::optional<std::string>& text);
inline void check_json(std::string_view field, const std::string& text) { check_json(field, std::string_view(text)); }
void check_finite(std::string_view field, double value);
void check_finite(std::string_view field, const std::optional<double>& value);

// The SQL of every table (tables.cpp).
struct Tables {
  Tables(const sql::Dialect& dialect, bool returning_id);
  TableSql conversations, messages, facts, fact_relationships, episodes, personality_state, state_events, tasks,
      calendar_events, proactive_log, audit_log, contradiction_notes;
};

struct StoreCore {
  StoreCore(std::unique_ptr<sql::ConnectionSource> owned, sql::ConnectionSource& source_ref)
      : owned_source(std::move(owned)),
        source(&source_ref),
        dialect(&sql::dialect_for(source_ref.backend())),
        tables(*dialect, !ids_from_connection(source_ref.backend())) {}

  // SQLite and MySQL report the generated id on the connection. That is cheaper than a RETURNING
  // result (SQLite stages RETURNING rows in an ephemeral table: +1.3..3 us per inserted row).
  static bool ids_from_connection(Backend backend) {
    return backend == Backend::sqlite || backend == Backend::mysql;
  }

  std::unique_ptr<sql::ConnectionSource> owned_source;
  sql::ConnectionSource* source;
  const sql::Dialect* dialect;
  Tables tables;

  // Runs `body(connection)` on a leased connection without an explicit transaction.
  template <typename Body>
  auto read(Body&& body) {
    auto lease = source->acquire();
    return body(*lease);
  }

  // Runs `body(connection)` inside one write transaction and commits. A transaction the backend
  // reports as retryable (lock timeout, deadlock victim, serialization failure) is run again from
  // the start a few times before the error reaches the caller; nothing of a failed attempt stays.
  template <typename Body>
  auto write(Body&& body) {
    return with_retries([&](sql::Connection& connection) {
      sql::Transaction transaction(connection, sql::TransactionMode::write);
      if constexpr (std::is_void_v<decltype(body(connection))>) {
        body(connection);
        transaction.commit();
      } else {
        auto result = body(connection);
        transaction.commit();
        return result;
      }
    });
  }

  // For a write that is one statement: it runs in autocommit, which makes it its own transaction
  // (one round trip instead of BEGIN, statement, COMMIT), with the retries of write() except one:
  // when the connection is lost during the statement, it may have committed, and running it again
  // could write it twice, so that error goes to the caller (it says the write may be retried).
  template <typename Body>
  auto write_one_statement(Body&& body) {
    return with_retries(body, /*retry_lost_connection=*/false);
  }

 private:
  template <typename Attempt>
  auto with_retries(Attempt&& attempt_once, bool retry_lost_connection = true) {
    constexpr int kMaxAttempts = 5;
    for (int attempt = 1;; ++attempt) {
      try {
        auto lease = source->acquire();
        return attempt_once(*lease);
      } catch (const DatabaseError& error) {
        if (!error.retryable() || attempt >= kMaxAttempts) throw;
        if (!retry_lost_connection && !error.connection_usable()) throw;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(attempt * 2));
    }
  }
};

}  // namespace lunadb::store::detail
