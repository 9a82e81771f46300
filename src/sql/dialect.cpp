// The Dialect base class: standard SQL that most backends accept as is, plus dialect_for().
#include "sql/dialect.hpp"

#include <charconv>
#include <cmath>

#include "lunadb/error.hpp"
#include "sql/sqlite_dialect.hpp"
#include "sql/postgres_dialect.hpp"
#include "sql/mysql_dialect.hpp"
#include "sql/mssql_dialect.hpp"

namespace lunadb::sql {

namespace {

std::string join(const std::vector<std::string>& items, std::string_view separator) {
  std::string out;
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out += separator;
    out += items[i];
  }
  return out;
}

}  // namespace

const char* on_delete_clause(schema::OnDelete on_delete) {
  switch (on_delete) {
    case schema::OnDelete::cascade: return " ON DELETE CASCADE";
    case schema::OnDelete::set_null: return " ON DELETE SET NULL";
    case schema::OnDelete::no_action: return "";
  }
  return "";
}

std::string format_double_literal(double value) {
  if (!std::isfinite(value)) {
    throw Error(ErrorKind::invalid_argument, "cannot write a non-finite number (NaN or infinity) as an SQL literal");
  }
  char buffer[64];
  auto result = std::to_chars(buffer, buffer + sizeof buffer, value);  // shortest text that reads back exactly
  std::string text(buffer, result.ptr);
  // Keep it recognisably floating point, so introspection reads 1.0 back as a real, not an integer.
  if (text.find_first_of(".eE") == std::string::npos) text += ".0";
  return text;
}

std::string Dialect::quote(std::string_view identifier) const {
  std::string out = "\"";
  for (char c : identifier) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
  return out;
}

std::string Dialect::literal(const Value& value) const {
  struct Render {
    std::string operator()(std::monostate) const { return "NULL"; }
    std::string operator()(bool b) const { return b ? "TRUE" : "FALSE"; }
    std::string operator()(std::int64_t i) const { return std::to_string(i); }
    std::string operator()(double d) const { return format_double_literal(d); }
    std::string operator()(const std::string& s) const {
      std::string out = "'";
      for (char c : s) {
        if (c == '\'') out += '\'';
        out += c;
      }
      return out + "'";
    }
    std::string operator()(const Blob& b) const {
      static constexpr char hex[] = "0123456789ABCDEF";
      std::string out = "X'";
      for (auto byte : b.bytes) {
        out += hex[byte >> 4];
        out += hex[byte & 0x0F];
      }
      return out + "'";
    }
    std::string operator()(Timestamp ts) const { return "'" + format_timestamp(ts) + "'"; }
  };
  return std::visit(Render{}, value);
}

std::string Dialect::default_literal(const schema::DefaultValue& value) const {
  struct Render {
    const Dialect& dialect;
    std::string operator()(std::monostate) const { return ""; }
    std::string operator()(bool b) const { return dialect.literal(Value{b}); }
    std::string operator()(std::int64_t i) const { return dialect.literal(Value{i}); }
    std::string operator()(double d) const { return dialect.literal(Value{d}); }
    std::string operator()(const std::string& s) const { return dialect.literal(Value{s}); }
    std::string operator()(schema::CurrentTimestamp) const { return "CURRENT_TIMESTAMP"; }
  };
  return std::visit(Render{*this}, value);
}

std::string Dialect::column_definition(const schema::Table&, const schema::Column& column) const {
  std::string out = quote(column.name) + " " + column_type(column.type);
  if (!column.nullable) out += " NOT NULL";
  std::string default_sql = default_literal(column.default_value);
  if (!default_sql.empty()) out += " DEFAULT " + default_sql;
  return out;
}

std::string Dialect::quoted_list(const std::vector<std::string>& names) const {
  std::vector<std::string> out;
  for (const auto& name : names) out.push_back(quote(name));
  return join(out, ", ");
}

namespace {

// Constraints without a name (only in databases made by other tools) are written without one.
std::string constraint_prefix(const Dialect& dialect, const std::string& name) {
  return name.empty() ? std::string() : "CONSTRAINT " + dialect.quote(name) + " ";
}

}  // namespace

std::string Dialect::primary_key_definition(const schema::Table& table) const {
  return constraint_prefix(*this, table.primary_key_name) + "PRIMARY KEY (" + quoted_list(table.primary_key) + ")";
}

std::string Dialect::foreign_key_definition(const schema::Table&, const schema::ForeignKey& fk) const {
  return constraint_prefix(*this, fk.name) + "FOREIGN KEY (" + quoted_list(fk.columns) + ") REFERENCES " +
         quote(fk.referred_table) + " (" + quoted_list(fk.referred_columns) + ")" + on_delete_clause(fk.on_delete);
}

std::string Dialect::unique_definition(const schema::UniqueConstraint& unique) const {
  return constraint_prefix(*this, unique.name) + "UNIQUE (" + quoted_list(unique.columns) + ")";
}

std::string Dialect::check_definition(const schema::CheckConstraint& check) const {
  return constraint_prefix(*this, check.name) + "CHECK (" +
         schema::render_check_expression(check.expression, [this](std::string_view n) { return quote(n); }) + ")";
}

std::vector<std::string> Dialect::table_items(const schema::Table& table) const {
  std::vector<std::string> items;
  for (const auto& column : table.columns) items.push_back(column_definition(table, column));
  if (!table.primary_key.empty()) items.push_back(primary_key_definition(table));
  for (const auto& fk : table.foreign_keys) items.push_back(foreign_key_definition(table, fk));
  for (const auto& unique : table.uniques) items.push_back(unique_definition(unique));
  for (const auto& check : table.checks) items.push_back(check_definition(check));
  return items;
}

std::string Dialect::table_options(const schema::Table&) const { return ""; }

std::vector<std::string> Dialect::create_table(const schema::Table& table) const {
  std::vector<std::string> statements;
  statements.push_back("CREATE TABLE " + quote(table.name) + " (\n\t" + join(table_items(table), ",\n\t") + "\n)" +
                       table_options(table));
  for (const auto& index : table.indexes) {
    auto more = create_index(table, index);
    statements.insert(statements.end(), more.begin(), more.end());
  }
  return statements;
}

std::vector<std::string> Dialect::drop_table(const schema::Table& table) const {
  return {"DROP TABLE " + quote(table.name)};
}

std::vector<std::string> Dialect::create_index(const schema::Table& table, const schema::Index& index) const {
  std::vector<std::string> columns;
  for (const auto& name : index.columns) columns.push_back(quote(name));
  return {std::string(index.unique ? "CREATE UNIQUE INDEX " : "CREATE INDEX ") + quote(index.name) + " ON " +
          quote(table.name) + " (" + join(columns, ", ") + ")"};
}

std::vector<std::string> Dialect::drop_index(const schema::Table&, const schema::Index& index) const {
  return {"DROP INDEX " + quote(index.name)};
}

std::vector<std::string> Dialect::add_column(const schema::Table& table, const schema::Column& column) const {
  return {"ALTER TABLE " + quote(table.name) + " ADD COLUMN " + column_definition(table, column)};
}

std::vector<std::string> Dialect::drop_column(const schema::Table& table, const schema::Column& column) const {
  return {"ALTER TABLE " + quote(table.name) + " DROP COLUMN " + quote(column.name)};
}

void Dialect::check_foreign_keys(Connection&) const {}

std::string Dialect::insert(std::string_view table, const std::vector<std::string>& columns, bool) const {
  return insert_many(table, columns, 1);
}

std::string Dialect::insert_many(std::string_view table, const std::vector<std::string>& columns,
                                 std::size_t rows) const {
  if (rows == 0) throw Error(ErrorKind::usage, "insert_many needs at least one row for table " + std::string(table));
  std::vector<std::string> names;
  for (const auto& column : columns) names.push_back(quote(column));
  std::string sql = "INSERT INTO " + quote(table);
  if (columns.empty()) return sql + " DEFAULT VALUES";
  std::string group = "(";
  for (std::size_t i = 0; i < columns.size(); ++i) group += i == 0 ? "?" : ", ?";
  group += ")";
  sql += " (" + join(names, ", ") + ") VALUES ";
  for (std::size_t r = 0; r < rows; ++r) {
    if (r > 0) sql += ", ";
    sql += group;
  }
  return sql;
}

std::string Dialect::paginate(std::string_view select_with_order_by, std::optional<std::int64_t> limit,
                              std::int64_t offset) const {
  std::string sql(select_with_order_by);
  if (limit) sql += " LIMIT " + std::to_string(*limit);
  if (offset > 0) sql += " OFFSET " + std::to_string(offset);
  return sql;
}

void Dialect::acquire_migration_lock(Connection&, double) const {}
void Dialect::release_migration_lock(Connection&) const noexcept {}

// ---------------------------------------------------------------------------------------------
// The backend -> dialect switch. Backend engineers: add your singleton accessor here.
const Dialect& dialect_for(Backend backend) {
  switch (backend) {
    case Backend::sqlite: return sqlite_dialect();
    case Backend::postgresql: return postgres_dialect();
    case Backend::mysql: return mysql_dialect();
    case Backend::mssql: return mssql_dialect();
  }
  throw Error(ErrorKind::unsupported, std::string("no SQL dialect available yet for backend ") + to_string(backend));
}
// ---------------------------------------------------------------------------------------------

}  // namespace lunadb::sql
