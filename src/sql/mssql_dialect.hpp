#pragma once
// SQL Server / Azure SQL (T-SQL). Types per docs/schema.md: id -> INT IDENTITY(1,1), string(n) ->
// NVARCHAR(n), text -> NVARCHAR(MAX), json -> NVARCHAR(MAX) with CHECK (ISJSON(col) = 1),
// timestamp -> DATETIME2(6), bool -> BIT, real -> FLOAT(53), blob -> VARBINARY(MAX).
//
// - Identifiers are bracket-quoted ([a]]b]).
// - Defaults are named constraints df_<table>_<column>, so a later ALTER COLUMN can drop them.
// - JSON checks are named ck_<table>_<column>_json; introspection folds them back into the json
//   column type.
// - SQL Server refuses cascading actions on self-references and on more than one cascade path
//   into a table: such foreign keys (facts.superseded_by, fact_relationships, contradiction_notes'
//   fact references) are rendered NO ACTION and the store deletes dependants itself.
// - Upserts are MERGE ... WITH (HOLDLOCK); MERGE must end with ';', so upsert() returns the one
//   statement that does carry its terminator.
// - Inserts return the new id with OUTPUT INSERTED.[id] (a result row; insert_returns_row()).
// - Paging is OFFSET n ROWS FETCH NEXT m ROWS ONLY, which SQL Server allows only after ORDER BY.
// - The migration lock is sp_getapplock owned by the session.
//
// Introspection reports a NO ACTION foreign key that luna_schema() declares with a cascade this
// dialect downgrades under the model's action, so autogenerate sees no difference SQL Server could
// never resolve. Introspection reads sys.* catalog views; it is written for SQL Server 2016+ / Azure SQL and can
// only run against a real server (the live suite, LUNADB_TEST_MSSQL_URL).
//
// Thread-safety: a stateless singleton; every method is const.

#include "sql/dialect.hpp"

namespace lunadb::sql {

class MssqlDialect final : public Dialect {
 public:
  Backend backend() const override { return Backend::mssql; }
  std::string quote(std::string_view identifier) const override;
  std::string column_type(const schema::ColumnType& type) const override;
  std::string literal(const Value& value) const override;
  std::string default_literal(const schema::DefaultValue& value) const override;
  bool transactional_ddl() const override { return true; }
  std::string statement_terminator() const override { return ";\nGO"; }
  std::string begin_transaction_statement() const override { return "BEGIN TRANSACTION"; }
  // [name] TYPE NULL|NOT NULL [CONSTRAINT [df_<table>_<column>] DEFAULT (...)]
  std::string column_definition(const schema::Table& table, const schema::Column& column) const override;

  std::vector<std::string> table_items(const schema::Table& table) const override;
  std::string foreign_key_definition(const schema::Table& table, const schema::ForeignKey& fk) const override;
  std::vector<std::string> create_index(const schema::Table& table, const schema::Index& index) const override;
  std::vector<std::string> drop_index(const schema::Table& table, const schema::Index& index) const override;
  std::vector<std::string> add_column(const schema::Table& table, const schema::Column& column) const override;
  std::vector<std::string> drop_column(const schema::Table& table, const schema::Column& column) const override;
  std::vector<std::string> alter_table(const schema::Table& before, const schema::Table& after) const override;

  std::string insert(std::string_view table, const std::vector<std::string>& columns,
                     bool returning_id) const override;
  std::string insert_many(std::string_view table, const std::vector<std::string>& columns,
                          std::size_t rows) const override;
  std::string upsert(std::string_view table, const std::vector<std::string>& columns,
                     const std::vector<std::string>& conflict_columns,
                     const std::vector<std::string>& update_columns) const override;
  std::string paginate(std::string_view select_with_order_by, std::optional<std::int64_t> limit,
                       std::int64_t offset) const override;
  bool insert_returns_row() const override { return true; }

  schema::Schema introspect(Connection& connection) const override;
  bool table_exists(Connection& connection, std::string_view table) const override;
  void acquire_migration_lock(Connection& connection, double timeout_s) const override;
  void release_migration_lock(Connection& connection) const noexcept override;

  // ---- SQL Server specifics, public for tests and for code that must match the DDL ----
  // The ON DELETE action SQL Server gets for `fk` of `table` (NO ACTION where it refuses cascades).
  schema::OnDelete effective_on_delete(const schema::Table& table, const schema::ForeignKey& fk) const;
  static std::string default_constraint_name(std::string_view table, std::string_view column);
  static std::string json_check_name(std::string_view table, std::string_view column);
  // The batches acquire/release_migration_lock run (the first returns sp_getapplock's status).
  static std::string acquire_lock_sql(double timeout_s);
  static std::string release_lock_sql();
  // The resource name sp_getapplock locks for migrations.
  static constexpr std::string_view migration_lock_resource = "lunadb_migrate";
  // SQL Server limits: 2100 parameters per statement, 1000 rows per VALUES list.
  static constexpr std::size_t max_parameters = 2100;
  static constexpr std::size_t max_values_rows = 1000;
};

const Dialect& mssql_dialect();

}  // namespace lunadb::sql
