#pragma once
// MySQL / MariaDB dialect. Types: id -> BIGINT AUTO_INCREMENT, timestamp -> DATETIME(6) (UTC: the
// driver sets the session time zone to +00:00), json -> JSON (on MariaDB an alias of LONGTEXT with a
// json_valid CHECK, which introspection folds back into the json type), text -> LONGTEXT,
// bool -> BOOLEAN (TINYINT(1)), real -> DOUBLE, string(n) -> VARCHAR(n), blob -> LONGBLOB. Every
// table: ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci. Upsert: ON DUPLICATE KEY
// UPDATE. DDL is not transactional. Migrations serialise on GET_LOCK('lunadb_migrations_' + MD5(database)).
//
// What MySQL does not keep, lunadb keeps in comments so that introspection reproduces the model:
//   - the primary key's name (MySQL calls every primary key PRIMARY) and the table's creation
//     sequence (information_schema has no creation order) in the PRIMARY KEY's index comment;
//   - CHECK expressions as written in the model (MariaDB stores a normalised text) in the table
//     comment, which alter_table rewrites.
// Targets MariaDB 10.5+ (information_schema.CHECK_CONSTRAINTS.TABLE_NAME) and MySQL 8.0.16+.
//
// Thread-safety: a stateless singleton; every method is const (the creation sequence is atomic).

#include "sql/dialect.hpp"

namespace lunadb::sql {

class MysqlDialect final : public Dialect {
 public:
  Backend backend() const override { return Backend::mysql; }
  std::string quote(std::string_view identifier) const override;
  std::string column_type(const schema::ColumnType& type) const override;
  std::string literal(const Value& value) const override;
  std::string default_literal(const schema::DefaultValue& value) const override;
  std::string column_definition(const schema::Table& table, const schema::Column& column) const override;
  bool transactional_ddl() const override { return false; }

  std::string primary_key_definition(const schema::Table& table) const override;
  std::string table_options(const schema::Table& table) const override;
  std::vector<std::string> drop_index(const schema::Table& table, const schema::Index& index) const override;
  std::vector<std::string> alter_table(const schema::Table& before, const schema::Table& after) const override;

  std::string insert_many(std::string_view table, const std::vector<std::string>& columns,
                          std::size_t rows) const override;
  std::string upsert(std::string_view table, const std::vector<std::string>& columns,
                     const std::vector<std::string>& conflict_columns,
                     const std::vector<std::string>& update_columns) const override;
  std::string paginate(std::string_view select_with_order_by, std::optional<std::int64_t> limit,
                       std::int64_t offset) const override;

  schema::Schema introspect(Connection& connection) const override;
  bool table_exists(Connection& connection, std::string_view table) const override;
  void acquire_migration_lock(Connection& connection, double timeout_s) const override;
  void release_migration_lock(Connection& connection) const noexcept override;

  static constexpr const char* migration_lock_name = "lunadb_migrations";
};

const Dialect& mysql_dialect();

}  // namespace lunadb::sql
