#pragma once
// Row-by-row movement of the schema's tables between two backends with typed values, and the
// backend-neutral checksum that proves two databases hold the same rows.

#include <cstdint>
#include <functional>
#include <map>
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

// After explicit ids were inserted: moves the table's id generator past the highest id.
void advance_identity(sql::Connection& target, const schema::Table& table);

}  // namespace lunadb::backup::detail
