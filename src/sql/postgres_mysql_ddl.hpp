#pragma once
// Pieces shared by the PostgreSQL and MySQL dialects: the difference between two versions of a
// table (for alter_table) and the parsing of server-reported column defaults.

#include <string>
#include <string_view>
#include <vector>

#include "schema/model.hpp"

namespace lunadb::sql::server_ddl {

struct ColumnChange {
  const schema::Column* before;
  const schema::Column* after;
};

struct TableDiff {
  std::vector<const schema::ForeignKey*> drop_foreign_keys, add_foreign_keys;
  std::vector<const schema::UniqueConstraint*> drop_uniques, add_uniques;
  std::vector<const schema::CheckConstraint*> drop_checks, add_checks;
  std::vector<const schema::Index*> drop_indexes, add_indexes;
  std::vector<const schema::Column*> drop_columns, add_columns;
  std::vector<ColumnChange> change_columns;
  bool primary_key_changed = false;
};

// Constraints and indexes are matched by name; a changed one is dropped and re-added.
TableDiff diff(const schema::Table& before, const schema::Table& after);

// A default as the server reports it (PostgreSQL pg_get_expr, MySQL COLUMN_DEFAULT), turned back
// into the model's value for a column of `type`: quotes and casts removed, numbers parsed,
// CURRENT_TIMESTAMP / now() recognised. "NULL" and "" mean no default.
schema::DefaultValue parse_default(std::string_view text, const schema::ColumnType& type);

// A list of strings as one text (a tiny JSON array), and back; for table comments.
std::string encode_strings(const std::vector<std::string>& items);
std::vector<std::string> decode_strings(std::string_view text);  // empty when malformed

std::string join(const std::vector<std::string>& items, std::string_view separator);
std::vector<std::string> split(std::string_view text, char separator);

}  // namespace lunadb::sql::server_ddl
