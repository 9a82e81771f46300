#pragma once
// A revision file: a frozen, dialect-neutral list of schema operations (docs/migrations.md).
// Parsing never consults the live C++ model; every operation carries everything it needs.

#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "lunadb/config.hpp"
#include "schema/model.hpp"
#include "sql/value.hpp"

namespace lunadb::migrate {

struct CreateTable { schema::Table table; };
struct DropTable { std::string table; };
struct AddColumn { std::string table; schema::Column column; };
struct DropColumn { std::string table; std::string column; };
// Unset members stay as they are. default_value holding monostate removes the default.
struct AlterColumn {
  std::string table;
  std::string column;
  std::optional<schema::ColumnType> type;
  std::optional<bool> nullable;
  std::optional<schema::DefaultValue> default_value;
};
struct CreateIndex { std::string table; schema::Index index; };
struct DropIndex { std::string table; std::string name; };
struct AddUnique { std::string table; schema::UniqueConstraint unique; };
struct DropUnique { std::string table; std::string name; };
struct AddCheck { std::string table; schema::CheckConstraint check; };
struct DropCheck { std::string table; std::string name; };
struct AddForeignKey { std::string table; schema::ForeignKey foreign_key; };
struct DropForeignKey { std::string table; std::string name; };
struct InsertRows {
  std::string table;
  std::vector<std::string> columns;
  std::vector<std::vector<sql::Value>> rows;
};
// Runs verbatim on the listed backends only; invisible to the in-memory schema replay.
struct RawSql {
  std::vector<Backend> backends;
  std::string sql;
};

using Operation = std::variant<CreateTable, DropTable, AddColumn, DropColumn, AlterColumn, CreateIndex, DropIndex,
                               AddUnique, DropUnique, AddCheck, DropCheck, AddForeignKey, DropForeignKey,
                               InsertRows, RawSql>;

struct LocatedOperation {
  Operation operation;
  int line = 0;  // 1-based line in the source file, 0 for generated operations
};

struct Revision {
  std::string id;
  std::vector<std::string> down_revisions;  // empty: a root; several: a merge
  std::string message;
  std::string create_date;                  // "YYYY-MM-DD HH:MM:SS.ffffff" UTC, informational
  std::vector<LocatedOperation> upgrade;
  std::vector<LocatedOperation> downgrade;
  std::string source;                       // file name (embedded) or path, for messages
};

// True for ids the target grammar can address: 1-32 of [0-9a-z_], not a reserved word.
bool valid_revision_id(std::string_view id);

// Throws Error(migration) "<source>:<line>: <what is wrong>".
Revision parse_revision(std::string_view text, const std::string& source);

// The canonical text of a revision; parse_revision(format_revision(r)) == r (operations-wise).
std::string format_revision(const Revision& revision);
// One operation in file syntax (may span several lines for create_table).
std::string format_operation(const Operation& operation);
// A one-line human description: "create table facts", "add column tasks.priority", ...
std::string describe_operation(const Operation& operation);

std::string format_column_type(const schema::ColumnType& type);
std::string format_default(const schema::DefaultValue& value);

}  // namespace lunadb::migrate
