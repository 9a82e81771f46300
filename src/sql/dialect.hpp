#pragma once
// A Dialect renders SQL for one backend: types, quoting, literals, DDL, upserts, paging,
// introspection and the migration lock. The base class renders standard SQL; each backend
// overrides what differs. Statements are returned without a trailing ';'.
//
// Thread-safety: dialects are stateless singletons; every method is const and thread-safe.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lunadb/config.hpp"
#include "schema/model.hpp"
#include "sql/value.hpp"

namespace lunadb::sql {

class Connection;

// " ON DELETE CASCADE", " ON DELETE SET NULL", or "" for no action.
const char* on_delete_clause(schema::OnDelete on_delete);

class Dialect {
 public:
  virtual ~Dialect() = default;
  virtual Backend backend() const = 0;
  virtual std::string quote(std::string_view identifier) const;  // "name" by default
  virtual std::string column_type(const schema::ColumnType& type) const = 0;
  // A value as an SQL literal, for offline (--sql) scripts and defaults.
  virtual std::string literal(const Value& value) const;
  virtual std::string default_literal(const schema::DefaultValue& value) const;
  // One column inside CREATE TABLE / ADD COLUMN: quoted name, type, NOT NULL, DEFAULT. (Added by
  // the sqlite engineer so a backend can change one column's rendering without redoing create_table.)
  virtual std::string column_definition(const schema::Table& table, const schema::Column& column) const;
  // Does a failed transaction undo DDL? (PostgreSQL, SQL Server, SQLite: yes; MySQL: no.)
  virtual bool transactional_ddl() const { return true; }
  // Written between statements in offline scripts: ";" or ";\nGO" for SQL Server.
  virtual std::string statement_terminator() const { return ";"; }
  // How an offline script opens its transaction ("BEGIN TRANSACTION" in T-SQL).
  virtual std::string begin_transaction_statement() const { return "BEGIN"; }

  // ---- DDL ----
  // CREATE TABLE (table_items()) table_options(), followed by CREATE INDEX statements.
  virtual std::vector<std::string> create_table(const schema::Table& table) const;
  // What stands between the parentheses of CREATE TABLE: the columns, then the primary key,
  // foreign keys, unique and check constraints.
  virtual std::vector<std::string> table_items(const schema::Table& table) const;
  // Written after CREATE TABLE's closing parenthesis (MySQL: engine, charset, comment).
  virtual std::string table_options(const schema::Table& table) const;
  // One constraint as it stands in CREATE TABLE and after ALTER TABLE ... ADD: "CONSTRAINT name
  // PRIMARY KEY (...)", "... FOREIGN KEY (...) REFERENCES t (...) ON DELETE ...", and so on.
  virtual std::string primary_key_definition(const schema::Table& table) const;
  virtual std::string foreign_key_definition(const schema::Table& table, const schema::ForeignKey& fk) const;
  std::string unique_definition(const schema::UniqueConstraint& unique) const;
  std::string check_definition(const schema::CheckConstraint& check) const;
  // Quoted names separated by ", ".
  std::string quoted_list(const std::vector<std::string>& names) const;
  virtual std::vector<std::string> drop_table(const schema::Table& table) const;
  virtual std::vector<std::string> create_index(const schema::Table& table, const schema::Index& index) const;
  virtual std::vector<std::string> drop_index(const schema::Table& table, const schema::Index& index) const;
  virtual std::vector<std::string> add_column(const schema::Table& table, const schema::Column& column) const;
  virtual std::vector<std::string> drop_column(const schema::Table& table, const schema::Column& column) const;
  // Changes a table from `before` to `after` where plain ALTER cannot (type, nullability,
  // default, constraints). SQLite rebuilds the table (create, copy, drop, rename); servers ALTER.
  // The caller runs the statements inside the revision's transaction.
  virtual std::vector<std::string> alter_table(const schema::Table& before, const schema::Table& after) const = 0;
  // Statements to run before/after a rebuild (SQLite: PRAGMA foreign_keys OFF / ON, which must
  // run outside the transaction, and PRAGMA foreign_key_check inside it).
  virtual std::vector<std::string> before_migration() const { return {}; }
  virtual std::vector<std::string> after_migration() const { return {}; }
  // Runs inside the revision's transaction, after its statements and before COMMIT: throws
  // Error(constraint) listing the rows that violate a foreign key (SQLite: PRAGMA
  // foreign_key_check, needed because the rebuild ran with foreign keys off). Servers: no-op.
  // Order for the caller: before_migration() -> BEGIN -> statements -> check_foreign_keys() ->
  // COMMIT (or ROLLBACK) -> after_migration() (also after a failure).
  virtual void check_foreign_keys(Connection& connection) const;

  // ---- DML ----
  // INSERT INTO t (cols) VALUES (?, ...) plus whatever returns the generated id as a one-row,
  // one-column result (RETURNING / OUTPUT INSERTED) when `returning_id`; SQLite/MySQL may return
  // "" from insert_id_suffix and use Connection::last_insert_id().
  virtual std::string insert(std::string_view table, const std::vector<std::string>& columns,
                             bool returning_id) const;
  // Multi-row INSERT with `rows` groups of placeholders.
  virtual std::string insert_many(std::string_view table, const std::vector<std::string>& columns,
                                  std::size_t rows) const;
  // INSERT ... that updates `update_columns` when a row with the same `conflict_columns` exists.
  virtual std::string upsert(std::string_view table, const std::vector<std::string>& columns,
                             const std::vector<std::string>& conflict_columns,
                             const std::vector<std::string>& update_columns) const = 0;
  // Appends paging to a SELECT that has an ORDER BY: " LIMIT ? OFFSET ?" style, with the values
  // inlined as integers.
  virtual std::string paginate(std::string_view select_with_order_by, std::optional<std::int64_t> limit,
                               std::int64_t offset) const;
  // True when the INSERT rendered with returning_id produces a result row holding the new id.
  virtual bool insert_returns_row() const { return false; }

  // ---- introspection and migration support ----
  // Reads the live tables (all user tables, lunadb's own bookkeeping tables excluded) into the
  // model, names included, so autogenerate can compare.
  virtual schema::Schema introspect(Connection& connection) const = 0;
  virtual bool table_exists(Connection& connection, std::string_view table) const = 0;
  // A lock that serialises migration runs across processes (SQLite: BEGIN IMMEDIATE is used
  // instead and these are no-ops; PostgreSQL: pg_advisory_lock; MySQL: GET_LOCK; SQL Server:
  // sp_getapplock). Throws Error(busy) after `timeout_s`.
  virtual void acquire_migration_lock(Connection& connection, double timeout_s) const;
  virtual void release_migration_lock(Connection& connection) const noexcept;
};

// A finite double as the shortest SQL literal that reads back exactly, always with a '.' or an
// exponent ("1.0", "0.7", "1e+300"). Throws Error(invalid_argument) for NaN and infinities.
// (Added by the sqlite engineer; dialects share it.)
std::string format_double_literal(double value);

// The dialect singleton for a backend.
const Dialect& dialect_for(Backend backend);

}  // namespace lunadb::sql
