#pragma once
// Row-by-row movement of the schema's tables between two backends with typed values, and the
// backend-neutral checksum that proves two databases hold the same rows.

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <vector>
#include <string>

#include "schema/model.hpp"
#include "sql/driver.hpp"

namespace lunadb::backup::detail {

// SHA-256 over a table's rows in primary-key order, each value in one canonical text form that
// does not depend on the backend (integers in decimal, floats in shortest round-trip form,
// timestamps as "YYYY-MM-DD HH:MM:SS.ffffff", JSON re-serialised with sorted keys, blobs in hex).
class RowDigest {
 public:
  RowDigest();
  ~RowDigest();
  RowDigest(const RowDigest&) = delete;
  RowDigest& operator=(const RowDigest&) = delete;
  void add_row(const schema::Table& table, const std::vector<sql::Value>& row);
  std::string hex();  // once

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Reads one row of `table` (columns in schema order) from a statement positioned on it.
std::vector<sql::Value> read_row(const schema::Table& table, const sql::Statement& row);
// SELECT of every column in schema order, ordered by the primary key.
std::string select_all_sql(const sql::Dialect& dialect, const schema::Table& table);
// Calls `row` for every row of `table` in primary-key order. The drivers buffer whole results,
// so a table with an integer `id` key is read in pages of `page_rows` (keyset: id > last),
// which keeps memory bounded however large the table; inside one snapshot transaction the pages
// are one consistent read.
void for_each_row(sql::Connection& connection, const schema::Table& table, std::size_t page_rows,
                  const std::function<void(std::vector<sql::Value>&&)>& row);
// The digest and count of a table as `connection` sees it.
std::pair<std::uint64_t, std::string> digest_table(sql::Connection& connection, const schema::Table& table);

// Appends rows to `table` on `target` in batches (COPY where the backend has it).
class TableWriter {
 public:
  TableWriter(sql::Connection& target, const schema::Table& table, std::size_t batch_rows);
  void add(std::vector<sql::Value> row);
  void flush();

 private:
  sql::Connection& target_;
  const schema::Table& table_;
  std::size_t batch_rows_;
  std::vector<std::string> columns_;
  std::vector<sql::Value> pending_;  // row-major
  std::size_t pending_rows_ = 0;
};

// A read-only transaction that sees one snapshot of the whole database for as long as it lasts:
// REPEATABLE READ on PostgreSQL, a consistent-snapshot transaction on MySQL/MariaDB, SNAPSHOT
// isolation on SQL Server (the database must allow it), a read transaction on SQLite.
void begin_snapshot(sql::Connection& source);
void end_snapshot(sql::Connection& source) noexcept;

// "table rows" for each of the schema's tables holding rows that the migrations did not write
// themselves (they write the one personality_state row); absent tables count as empty.
std::vector<std::string> user_rows(sql::Connection& c);

// Deletes every row of `tables` (given in creation order: referenced tables first) inside the
// caller's transaction; references between rows of one table are cleared first, since MySQL
// checks them row by row.
void empty_tables(sql::Connection& target, const std::vector<const schema::Table*>& tables);

// After explicit ids were inserted: moves the table's id generator past the highest id.
void advance_identity(sql::Connection& target, const schema::Table& table);

// Loads one table's rows, ids included, into `target` inside the caller's transaction, the way
// `copy` and `restore` both need it: SQL Server's IDENTITY_INSERT around the rows, and a row's
// reference to another row of its own table (facts.superseded_by) inserted as NULL and set once
// all rows are in, since it may point at a later row. Counts and digests what it was given.
// On PostgreSQL the table's secondary indexes and foreign keys are dropped for the load and
// created again from their own definitions in finish(), as pg_restore does: building an index
// from sorted rows and checking a foreign key in one join is a fraction of maintaining them row
// by row. All inside the caller's transaction, so a failed load leaves them as they were.
class TableLoader {
 public:
  TableLoader(sql::Connection& target, const schema::Table& table, std::size_t batch_rows);
  void add(std::vector<sql::Value> row);
  // Writes what is pending and the deferred references; returns (rows, sha256 of the rows).
  std::pair<std::uint64_t, std::string> finish();

 private:
  void defer_indexes_and_foreign_keys();

  sql::Connection& target_;
  const schema::Table& table_;
  bool identity_insert_ = false;
  std::vector<std::size_t> self_references_;
  std::size_t key_column_ = 0;
  std::vector<std::pair<sql::Value, std::vector<sql::Value>>> deferred_;  // (primary key, referencing values)
  std::vector<std::string> recreate_;  // the statements that put the dropped indexes and foreign keys back
  RowDigest digest_;
  TableWriter writer_;
  std::uint64_t rows_ = 0;
};

}  // namespace lunadb::backup::detail
