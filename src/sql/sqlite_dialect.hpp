#pragma once
// SQLite's dialect. Types: id -> INTEGER (a rowid alias through the table's PRIMARY KEY
// constraint), timestamp -> DATETIME holding "YYYY-MM-DD HH:MM:SS.ffffff" text, json -> JSON
// (text), bool -> BOOLEAN holding 0/1, string(n) -> VARCHAR(n), real -> FLOAT.
//
// Schema changes SQLite cannot ALTER are a table rebuild (alter_table). Order for the caller:
//   1. before_migration()   PRAGMA foreign_keys = OFF   (outside any transaction: a no-op inside one)
//   2. BEGIN IMMEDIATE, the rebuild statements, check_foreign_keys(), COMMIT (ROLLBACK on error)
//   3. after_migration()    PRAGMA foreign_keys = ON    (always, also after a failure)
// Running a rebuild with foreign keys ON is destructive: DROP TABLE then deletes the rows and
// fires ON DELETE CASCADE in the referring tables.
//
// Thread-safety: a stateless singleton; every method is const.

#include "sql/dialect.hpp"

namespace lunadb::sql {

class SqliteDialect final : public Dialect {
 public:
  Backend backend() const override { return Backend::sqlite; }
  std::string column_type(const schema::ColumnType& type) const override;
  std::string literal(const Value& value) const override;
  std::string default_literal(const schema::DefaultValue& value) const override;

  std::vector<std::string> alter_table(const schema::Table& before, const schema::Table& after) const override;
  std::vector<std::string> before_migration() const override;
  std::vector<std::string> after_migration() const override;
  void check_foreign_keys(Connection& connection) const override;

  std::string insert(std::string_view table, const std::vector<std::string>& columns,
                     bool returning_id) const override;
  std::string upsert(std::string_view table, const std::vector<std::string>& columns,
                     const std::vector<std::string>& conflict_columns,
                     const std::vector<std::string>& update_columns) const override;
  std::string paginate(std::string_view select_with_order_by, std::optional<std::int64_t> limit,
                       std::int64_t offset) const override;
  bool insert_returns_row() const override;

  schema::Schema introspect(Connection& connection) const override;
  bool table_exists(Connection& connection, std::string_view table) const override;
};

const Dialect& sqlite_dialect();

// The default expression written for schema::CurrentTimestamp: the current UTC time as
// "YYYY-MM-DD HH:MM:SS.fff000" (SQLite's clock has millisecond resolution; six digits keep the
// text comparable with the timestamps lunadb binds).
inline constexpr std::string_view sqlite_current_timestamp_sql = "(strftime('%Y-%m-%d %H:%M:%f000', 'now'))";

}  // namespace lunadb::sql
