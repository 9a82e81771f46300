#include "sql/mssql_dialect.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <map>
#include <set>

#include "lunadb/error.hpp"
#include "sql/driver.hpp"

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

std::string lower(std::string_view text) {
  std::string out(text);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// N'...' with quotes doubled: a Unicode string literal.
std::string nstring(std::string_view text) {
  std::string out = "N'";
  for (char c : text) {
    if (c == '\'') out += '\'';
    out += c;
  }
  return out + "'";
}

bool contains(const std::vector<std::string>& names, std::string_view name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

// Does a neutral check expression ("{a} >= {b}") mention column `name`?
bool mentions(std::string_view expression, std::string_view name) {
  return expression.find("{" + std::string(name) + "}") != std::string_view::npos;
}

// The default constraint of a column may carry a name SQL Server generated (DF__table__col__1A2B,
// from databases created by other tools), so it is found through the catalog, not by name.
std::string drop_default_sql(const MssqlDialect& d, std::string_view table, std::string_view column) {
  return "DECLARE @name sysname; SELECT @name = dc.name FROM sys.default_constraints AS dc "
         "JOIN sys.columns AS c ON c.default_object_id = dc.object_id "
         "WHERE c.object_id = OBJECT_ID(" + nstring(d.quote(table)) + ") AND c.name = " + nstring(column) +
         "; IF @name IS NOT NULL EXEC (N'ALTER TABLE " + [&] {
           std::string quoted = d.quote(table);
           std::string doubled;
           for (char c : quoted) {
             if (c == '\'') doubled += '\'';
             doubled += c;
           }
           return doubled;
         }() + " DROP CONSTRAINT ' + QUOTENAME(@name))";
}

}  // namespace

const Dialect& mssql_dialect() {
  static const MssqlDialect dialect;
  return dialect;
}

std::string MssqlDialect::default_constraint_name(std::string_view table, std::string_view column) {
  return "df_" + std::string(table) + "_" + std::string(column);
}

std::string MssqlDialect::json_check_name(std::string_view table, std::string_view column) {
  return "ck_" + std::string(table) + "_" + std::string(column) + "_json";
}

std::string MssqlDialect::quote(std::string_view identifier) const {
  std::string out = "[";
  for (char c : identifier) {
    if (c == ']') out += ']';
    out += c;
  }
  return out + "]";
}

std::string MssqlDialect::column_type(const schema::ColumnType& type) const {
  switch (type.kind) {
    case schema::TypeKind::id: return "INT IDENTITY(1,1)";
    case schema::TypeKind::smallint: return "SMALLINT";
    case schema::TypeKind::integer: return "INT";
    case schema::TypeKind::bigint: return "BIGINT";
    case schema::TypeKind::real: return "FLOAT(53)";
    case schema::TypeKind::boolean: return "BIT";
    case schema::TypeKind::string:
      // No length (Luna's String()): 255, as MySQL, so that the column can be indexed.
      if (type.length <= 0) return "NVARCHAR(255)";
      // NVARCHAR(n) stops at 4000 characters; longer bounds need MAX.
      if (type.length > 4000) return "NVARCHAR(MAX)";
      return "NVARCHAR(" + std::to_string(type.length) + ")";
    case schema::TypeKind::text: return "NVARCHAR(MAX)";
    case schema::TypeKind::json: return "NVARCHAR(MAX)";
    case schema::TypeKind::timestamp: return "DATETIME2(6)";
    case schema::TypeKind::blob: return "VARBINARY(MAX)";
  }
  throw Error(ErrorKind::internal, "unknown column type kind");
}

std::string MssqlDialect::literal(const Value& value) const {
  struct Render {
    std::string operator()(std::monostate) const { return "NULL"; }
    std::string operator()(bool b) const { return b ? "1" : "0"; }
    std::string operator()(std::int64_t i) const { return std::to_string(i); }
    std::string operator()(double d) const { return format_double_literal(d); }
    std::string operator()(const std::string& s) const { return nstring(s); }
    std::string operator()(const Blob& b) const {
      static constexpr char hex[] = "0123456789ABCDEF";
      std::string out = "0x";
      for (auto byte : b.bytes) {
        out += hex[byte >> 4];
        out += hex[byte & 0x0F];
      }
      return out;
    }
    // ISO 8601 with a space converts to DATETIME2 the same way under every language setting.
    std::string operator()(Timestamp ts) const { return "'" + format_timestamp(ts) + "'"; }
  };
  return std::visit(Render{}, value);
}

std::string MssqlDialect::default_literal(const schema::DefaultValue& value) const {
  if (std::holds_alternative<schema::CurrentTimestamp>(value)) return "SYSUTCDATETIME()";
  struct ToValue {
    Value operator()(std::monostate) const { return {}; }
    Value operator()(bool b) const { return b; }
    Value operator()(std::int64_t i) const { return i; }
    Value operator()(double d) const { return d; }
    Value operator()(const std::string& s) const { return s; }
    Value operator()(schema::CurrentTimestamp) const { return {}; }
  };
  if (std::holds_alternative<std::monostate>(value)) return "";
  return literal(std::visit(ToValue{}, value));
}

schema::OnDelete MssqlDialect::effective_on_delete(const schema::Table& table, const schema::ForeignKey& fk) const {
  if (fk.on_delete == schema::OnDelete::no_action) return fk.on_delete;
  // "may cause cycles or multiple cascade paths" (error 1785): a self-reference, or two foreign
  // keys from one table into the same table.
  if (fk.referred_table == table.name) return schema::OnDelete::no_action;
  auto into_same = std::count_if(table.foreign_keys.begin(), table.foreign_keys.end(),
                                 [&](const schema::ForeignKey& other) { return other.referred_table == fk.referred_table; });
  if (into_same > 1) return schema::OnDelete::no_action;
  return fk.on_delete;
}

namespace {

std::string json_check_sql(const MssqlDialect& d, const schema::Table& table, const schema::Column& column) {
  return "CONSTRAINT " + d.quote(MssqlDialect::json_check_name(table.name, column.name)) + " CHECK (ISJSON(" +
         d.quote(column.name) + ") = 1)";
}

std::string alter(const MssqlDialect& d, const schema::Table& table) { return "ALTER TABLE " + d.quote(table.name); }

}  // namespace

std::string MssqlDialect::foreign_key_definition(const schema::Table& table, const schema::ForeignKey& fk) const {
  schema::ForeignKey effective = fk;
  effective.on_delete = effective_on_delete(table, fk);
  return Dialect::foreign_key_definition(table, effective);
}

std::vector<std::string> MssqlDialect::table_items(const schema::Table& table) const {
  auto items = Dialect::table_items(table);
  for (const auto& column : table.columns) {
    if (column.type.kind == schema::TypeKind::json) items.push_back(json_check_sql(*this, table, column));
  }
  return items;
}

std::string MssqlDialect::column_definition(const schema::Table& table, const schema::Column& column) const {
  std::string out = quote(column.name) + " " + column_type(column.type) + (column.nullable ? " NULL" : " NOT NULL");
  std::string default_sql = default_literal(column.default_value);
  if (!default_sql.empty()) {
    out += " CONSTRAINT " + quote(default_constraint_name(table.name, column.name)) + " DEFAULT (" + default_sql + ")";
  }
  return out;
}

std::vector<std::string> MssqlDialect::create_index(const schema::Table& table, const schema::Index& index) const {
  return {std::string(index.unique ? "CREATE UNIQUE INDEX " : "CREATE INDEX ") + quote(index.name) + " ON " +
          quote(table.name) + " (" + quoted_list(index.columns) + ")"};
}

std::vector<std::string> MssqlDialect::drop_index(const schema::Table& table, const schema::Index& index) const {
  return {"DROP INDEX " + quote(index.name) + " ON " + quote(table.name)};
}

std::vector<std::string> MssqlDialect::add_column(const schema::Table& table, const schema::Column& column) const {
  if (column.type.kind == schema::TypeKind::id) {
    throw Error(ErrorKind::unsupported, "SQL Server cannot add an IDENTITY id column to the existing table " + table.name);
  }
  std::vector<std::string> out{alter(*this, table) + " ADD " + column_definition(table, column)};
  if (column.type.kind == schema::TypeKind::json) {
    out.push_back(alter(*this, table) + " ADD " + json_check_sql(*this, table, column));
  }
  return out;
}

std::vector<std::string> MssqlDialect::drop_column(const schema::Table& table, const schema::Column& column) const {
  std::vector<std::string> out;
  if (column.type.kind == schema::TypeKind::json) {
    out.push_back(alter(*this, table) + " DROP CONSTRAINT IF EXISTS " + quote(json_check_name(table.name, column.name)));
  }
  out.push_back(drop_default_sql(*this, table.name, column.name));
  out.push_back(alter(*this, table) + " DROP COLUMN " + quote(column.name));
  return out;
}

std::vector<std::string> MssqlDialect::alter_table(const schema::Table& before, const schema::Table& after) const {
  if (before.name != after.name) {
    throw Error(ErrorKind::unsupported, "alter_table cannot rename " + before.name + " to " + after.name +
                                            " on SQL Server: rename the table with its own operation");
  }
  const std::string table = alter(*this, after);

  // Columns whose type or nullability changes: SQL Server refuses ALTER COLUMN while an index,
  // constraint or default depends on the column, so those are dropped first and recreated after.
  std::set<std::string> altered;
  std::set<std::string> retyped;
  for (const auto& column : after.columns) {
    const schema::Column* old = before.find_column(column.name);
    if (old == nullptr) continue;
    if ((old->type.kind == schema::TypeKind::id) != (column.type.kind == schema::TypeKind::id)) {
      throw Error(ErrorKind::unsupported, "SQL Server cannot turn " + after.name + "." + column.name +
                                              " into or out of an IDENTITY column with ALTER COLUMN");
    }
    if (!(old->type == column.type)) retyped.insert(column.name);
    if (!(old->type == column.type) || old->nullable != column.nullable) altered.insert(column.name);
  }
  auto touches = [&](const std::vector<std::string>& columns) {
    return std::any_of(columns.begin(), columns.end(), [&](const std::string& c) { return altered.count(c) > 0; });
  };
  auto removed_column = [&](const std::string& c) { return after.find_column(c) == nullptr; };
  auto touches_removed = [&](const std::vector<std::string>& columns) {
    return std::any_of(columns.begin(), columns.end(), removed_column);
  };

  std::vector<std::string> out;
  std::vector<std::string> recreate;  // statements that run after the column changes

  // Foreign keys.
  for (const auto& fk : before.foreign_keys) {
    auto it = std::find_if(after.foreign_keys.begin(), after.foreign_keys.end(),
                           [&](const schema::ForeignKey& f) { return f.name == fk.name; });
    bool same = it != after.foreign_keys.end() && *it == fk && effective_on_delete(after, *it) == effective_on_delete(before, fk);
    if (!same || touches(fk.columns) || touches_removed(fk.columns)) {
      out.push_back(table + " DROP CONSTRAINT " + quote(fk.name));
    }
  }
  // Check constraints.
  for (const auto& check : before.checks) {
    auto it = std::find_if(after.checks.begin(), after.checks.end(),
                           [&](const schema::CheckConstraint& c) { return c.name == check.name; });
    bool depends = std::any_of(before.columns.begin(), before.columns.end(), [&](const schema::Column& c) {
      return (altered.count(c.name) > 0 || removed_column(c.name)) && mentions(check.expression, c.name);
    });
    if (it == after.checks.end() || !(*it == check) || depends) out.push_back(table + " DROP CONSTRAINT " + quote(check.name));
  }
  // Unique constraints and indexes.
  for (const auto& unique : before.uniques) {
    auto it = std::find_if(after.uniques.begin(), after.uniques.end(),
                           [&](const schema::UniqueConstraint& u) { return u.name == unique.name; });
    if (it == after.uniques.end() || !(*it == unique) || touches(unique.columns) || touches_removed(unique.columns)) {
      out.push_back(table + " DROP CONSTRAINT " + quote(unique.name));
    }
  }
  for (const auto& index : before.indexes) {
    auto it = std::find_if(after.indexes.begin(), after.indexes.end(),
                           [&](const schema::Index& i) { return i.name == index.name; });
    if (it == after.indexes.end() || !(*it == index) || touches(index.columns) || touches_removed(index.columns)) {
      auto drop = drop_index(before, index);
      out.insert(out.end(), drop.begin(), drop.end());
    }
  }
  // Primary key.
  bool primary_key_changes = before.primary_key != after.primary_key || before.primary_key_name != after.primary_key_name ||
                             touches(before.primary_key);
  if (primary_key_changes && !before.primary_key.empty()) {
    out.push_back(table + " DROP CONSTRAINT " + quote(before.primary_key_name));
  }

  // Columns that go away.
  for (const auto& column : before.columns) {
    if (!removed_column(column.name)) continue;
    auto drop = drop_column(before, column);
    out.insert(out.end(), drop.begin(), drop.end());
  }
  // Columns that change.
  for (const auto& column : after.columns) {
    const schema::Column* old = before.find_column(column.name);
    if (old == nullptr) continue;
    const bool default_changes = !(old->default_value == column.default_value) || retyped.count(column.name) > 0;
    if (default_changes && !std::holds_alternative<std::monostate>(old->default_value)) {
      out.push_back(drop_default_sql(*this, after.name, column.name));
    }
    const bool was_json = old->type.kind == schema::TypeKind::json;
    const bool is_json = column.type.kind == schema::TypeKind::json;
    if (was_json && !is_json) {
      out.push_back(table + " DROP CONSTRAINT IF EXISTS " + quote(json_check_name(after.name, column.name)));
    }
    if (altered.count(column.name) > 0 && column.type.kind != schema::TypeKind::id) {
      out.push_back(table + " ALTER COLUMN " + quote(column.name) + " " + column_type(column.type) +
                    (column.nullable ? " NULL" : " NOT NULL"));
    }
    if (default_changes && !std::holds_alternative<std::monostate>(column.default_value)) {
      out.push_back(table + " ADD CONSTRAINT " + quote(default_constraint_name(after.name, column.name)) + " DEFAULT (" +
                    default_literal(column.default_value) + ") FOR " + quote(column.name));
    }
    if (is_json && !was_json) out.push_back(table + " ADD " + json_check_sql(*this, after, column));
  }
  // Columns that arrive.
  for (const auto& column : after.columns) {
    if (before.find_column(column.name) != nullptr) continue;
    auto add = add_column(after, column);
    out.insert(out.end(), add.begin(), add.end());
  }

  // Recreate / add constraints and indexes.
  if (primary_key_changes && !after.primary_key.empty()) {
    out.push_back(table + " ADD " + primary_key_definition(after));
  }
  for (const auto& unique : after.uniques) {
    auto it = std::find_if(before.uniques.begin(), before.uniques.end(),
                           [&](const schema::UniqueConstraint& u) { return u.name == unique.name; });
    if (it == before.uniques.end() || !(*it == unique) || touches(unique.columns)) {
      out.push_back(table + " ADD " + unique_definition(unique));
    }
  }
  for (const auto& check : after.checks) {
    auto it = std::find_if(before.checks.begin(), before.checks.end(),
                           [&](const schema::CheckConstraint& c) { return c.name == check.name; });
    bool depends = std::any_of(after.columns.begin(), after.columns.end(), [&](const schema::Column& c) {
      return altered.count(c.name) > 0 && mentions(check.expression, c.name);
    });
    if (it == before.checks.end() || !(*it == check) || depends) out.push_back(table + " ADD " + check_definition(check));
  }
  for (const auto& fk : after.foreign_keys) {
    auto it = std::find_if(before.foreign_keys.begin(), before.foreign_keys.end(),
                           [&](const schema::ForeignKey& f) { return f.name == fk.name; });
    bool same = it != before.foreign_keys.end() && *it == fk && effective_on_delete(before, *it) == effective_on_delete(after, fk);
    if (!same || touches(fk.columns)) out.push_back(table + " ADD " + foreign_key_definition(after, fk));
  }
  for (const auto& index : after.indexes) {
    auto it = std::find_if(before.indexes.begin(), before.indexes.end(),
                           [&](const schema::Index& i) { return i.name == index.name; });
    if (it == before.indexes.end() || !(*it == index) || touches(index.columns)) {
      auto create = create_index(after, index);
      out.insert(out.end(), create.begin(), create.end());
    }
  }
  return out;
}

// ---- DML --------------------------------------------------------------------------------------

std::string MssqlDialect::insert(std::string_view table, const std::vector<std::string>& columns,
                                 bool returning_id) const {
  std::string output = returning_id ? " OUTPUT INSERTED." + quote("id") : "";
  if (columns.empty()) return "INSERT INTO " + quote(table) + output + " DEFAULT VALUES";
  std::string placeholders;
  for (std::size_t i = 0; i < columns.size(); ++i) placeholders += i == 0 ? "?" : ", ?";
  return "INSERT INTO " + quote(table) + " (" + quoted_list(columns) + ")" + output + " VALUES (" + placeholders +
         ")";
}

std::string MssqlDialect::insert_many(std::string_view table, const std::vector<std::string>& columns,
                                      std::size_t rows) const {
  if (rows == 0) throw Error(ErrorKind::usage, "insert_many needs at least one row for table " + std::string(table));
  if (rows > max_values_rows) {
    throw Error(ErrorKind::usage, "insert_many: SQL Server takes at most 1000 rows in one VALUES list (asked for " +
                                      std::to_string(rows) + " rows into " + std::string(table) + ")");
  }
  if (rows * columns.size() > max_parameters) {
    throw Error(ErrorKind::usage, "insert_many: SQL Server takes at most 2100 parameters per statement (" +
                                      std::to_string(rows) + " rows x " + std::to_string(columns.size()) +
                                      " columns into " + std::string(table) + ")");
  }
  return Dialect::insert_many(table, columns, rows);
}

std::string MssqlDialect::upsert(std::string_view table, const std::vector<std::string>& columns,
                                 const std::vector<std::string>& conflict_columns,
                                 const std::vector<std::string>& update_columns) const {
  if (columns.empty() || conflict_columns.empty()) {
    throw Error(ErrorKind::usage, "upsert into " + std::string(table) + " needs columns and conflict columns");
  }
  for (const auto& name : conflict_columns) {
    if (!contains(columns, name)) {
      throw Error(ErrorKind::usage, "upsert into " + std::string(table) + ": conflict column " + name +
                                        " is not among the inserted columns");
    }
  }
  for (const auto& name : update_columns) {
    if (!contains(columns, name)) {
      throw Error(ErrorKind::usage, "upsert into " + std::string(table) + ": update column " + name +
                                        " is not among the inserted columns");
    }
  }
  const std::string target = quote("target");
  const std::string source = quote("source");
  std::string placeholders;
  std::vector<std::string> match;
  std::vector<std::string> sets;
  std::vector<std::string> values;
  for (std::size_t i = 0; i < columns.size(); ++i) placeholders += i == 0 ? "?" : ", ?";
  for (const auto& name : conflict_columns) match.push_back(target + "." + quote(name) + " = " + source + "." + quote(name));
  for (const auto& name : update_columns) sets.push_back(target + "." + quote(name) + " = " + source + "." + quote(name));
  for (const auto& name : columns) values.push_back(source + "." + quote(name));
  // HOLDLOCK makes the match-then-insert atomic: without it two sessions can both miss the row
  // and one fails on the unique key.
  std::string sql = "MERGE INTO " + quote(table) + " WITH (HOLDLOCK) AS " + target + " USING (VALUES (" + placeholders +
                    ")) AS " + source + " (" + quoted_list(columns) + ") ON " + join(match, " AND ");
  if (!sets.empty()) sql += " WHEN MATCHED THEN UPDATE SET " + join(sets, ", ");
  sql += " WHEN NOT MATCHED THEN INSERT (" + quoted_list(columns) + ") VALUES (" + join(values, ", ") + ");";
  return sql;
}

std::string MssqlDialect::paginate(std::string_view select_with_order_by, std::optional<std::int64_t> limit,
                                   std::int64_t offset) const {
  if (offset < 0 || (limit && *limit < 0)) {
    throw Error(ErrorKind::invalid_argument, "paging needs a non-negative limit and offset");
  }
  if (lower(select_with_order_by).find("order by") == std::string::npos) {
    throw Error(ErrorKind::usage, "SQL Server pages only ordered results (OFFSET ... FETCH needs ORDER BY): " +
                                      std::string(select_with_order_by.substr(0, 120)));
  }
  std::string sql(select_with_order_by);
  if (limit && *limit == 0) {
    // FETCH NEXT 0 ROWS is an error on SQL Server; an offset past every row gives the empty page.
    return sql + " OFFSET 9223372036854775807 ROWS";
  }
  sql += " OFFSET " + std::to_string(offset) + " ROWS";
  if (limit) sql += " FETCH NEXT " + std::to_string(*limit) + " ROWS ONLY";
  return sql;
}

// ---- introspection ----------------------------------------------------------------------------

namespace {

constexpr const char* kTablesSql =
    "SELECT t.name FROM sys.tables AS t WHERE t.schema_id = SCHEMA_ID() AND t.is_ms_shipped = 0 "
    "AND t.name <> 'alembic_version' AND t.name NOT LIKE 'lunadb[_]%' AND t.name NOT LIKE '[_]lunadb[_]%' "
    "ORDER BY t.create_date, t.object_id";

constexpr const char* kColumnsSql =
    "SELECT c.name, ty.name, c.max_length, c.is_nullable, c.is_identity, dc.definition "
    "FROM sys.columns AS c JOIN sys.tables AS t ON t.object_id = c.object_id "
    "JOIN sys.types AS ty ON ty.user_type_id = c.user_type_id "
    "LEFT JOIN sys.default_constraints AS dc ON dc.object_id = c.default_object_id "
    "WHERE t.name = ? AND t.schema_id = SCHEMA_ID() ORDER BY c.column_id";

constexpr const char* kKeysSql =
    "SELECT kc.name, kc.type, col.name FROM sys.key_constraints AS kc "
    "JOIN sys.tables AS t ON t.object_id = kc.parent_object_id "
    "JOIN sys.index_columns AS ic ON ic.object_id = kc.parent_object_id AND ic.index_id = kc.unique_index_id "
    "JOIN sys.columns AS col ON col.object_id = ic.object_id AND col.column_id = ic.column_id "
    "WHERE t.name = ? AND t.schema_id = SCHEMA_ID() ORDER BY kc.type, kc.name, ic.key_ordinal";

constexpr const char* kIndexesSql =
    "SELECT i.name, i.is_unique, col.name FROM sys.indexes AS i "
    "JOIN sys.tables AS t ON t.object_id = i.object_id "
    "JOIN sys.index_columns AS ic ON ic.object_id = i.object_id AND ic.index_id = i.index_id "
    "JOIN sys.columns AS col ON col.object_id = ic.object_id AND col.column_id = ic.column_id "
    "WHERE t.name = ? AND t.schema_id = SCHEMA_ID() AND i.is_primary_key = 0 AND i.is_unique_constraint = 0 "
    "AND i.is_hypothetical = 0 AND i.type IN (1, 2) AND ic.is_included_column = 0 ORDER BY i.name, ic.key_ordinal";

constexpr const char* kForeignKeysSql =
    "SELECT fk.name, pc.name, rt.name, rc.name, fk.delete_referential_action FROM sys.foreign_keys AS fk "
    "JOIN sys.tables AS t ON t.object_id = fk.parent_object_id "
    "JOIN sys.foreign_key_columns AS fkc ON fkc.constraint_object_id = fk.object_id "
    "JOIN sys.columns AS pc ON pc.object_id = fkc.parent_object_id AND pc.column_id = fkc.parent_column_id "
    "JOIN sys.tables AS rt ON rt.object_id = fkc.referenced_object_id "
    "JOIN sys.columns AS rc ON rc.object_id = fkc.referenced_object_id AND rc.column_id = fkc.referenced_column_id "
    "WHERE t.name = ? AND t.schema_id = SCHEMA_ID() ORDER BY fk.name, fkc.constraint_column_id";

constexpr const char* kChecksSql =
    "SELECT cc.name, cc.definition FROM sys.check_constraints AS cc "
    "JOIN sys.tables AS t ON t.object_id = cc.parent_object_id "
    "WHERE t.name = ? AND t.schema_id = SCHEMA_ID() ORDER BY cc.name";

// "((0.7))" -> "0.7": SQL Server wraps stored default and check definitions in parentheses.
std::string strip_parentheses(std::string text) {
  while (text.size() >= 2 && text.front() == '(' && text.back() == ')') {
    // Only strip when the outer pair belongs together: "(a) + (b)" must stay.
    int depth = 0;
    bool encloses = true;
    for (std::size_t i = 0; i < text.size(); ++i) {
      if (text[i] == '(') ++depth;
      if (text[i] == ')') --depth;
      if (depth == 0 && i + 1 < text.size()) {
        encloses = false;
        break;
      }
    }
    if (!encloses) break;
    text = text.substr(1, text.size() - 2);
  }
  return text;
}

schema::DefaultValue parse_default(std::string definition, schema::TypeKind kind) {
  std::string text = strip_parentheses(std::move(definition));
  std::string lowered = lower(text);
  if (lowered == "sysutcdatetime()" || lowered == "getutcdate()" || lowered == "getdate()" ||
      lowered == "sysdatetime()" || lowered == "current_timestamp") {
    return schema::CurrentTimestamp{};
  }
  if (lowered == "null") return {};
  if (text.size() >= 2 && (text.front() == '\'' || (text.front() == 'N' && text[1] == '\''))) {
    std::size_t start = text.front() == 'N' ? 2 : 1;
    std::string out;
    for (std::size_t i = start; i + 1 < text.size(); ++i) {
      out += text[i];
      if (text[i] == '\'' && text[i + 1] == '\'') ++i;
    }
    return out;
  }
  if (kind == schema::TypeKind::boolean) {
    if (text == "1" || text == "0") return text == "1";
  }
  std::int64_t integer = 0;
  auto int_result = std::from_chars(text.data(), text.data() + text.size(), integer);
  if (int_result.ec == std::errc() && int_result.ptr == text.data() + text.size()) {
    if (kind == schema::TypeKind::real) return static_cast<double>(integer);
    return integer;
  }
  double real = 0;
  auto real_result = std::from_chars(text.data(), text.data() + text.size(), real);
  if (real_result.ec == std::errc() && real_result.ptr == text.data() + text.size()) return real;
  return text;  // an expression lunadb does not write; kept as text so autogenerate shows it
}

schema::ColumnType column_type_from(std::string type_name, std::int64_t max_length, bool identity) {
  std::string t = lower(type_name);
  using K = schema::TypeKind;
  if (identity && (t == "bigint" || t == "int")) return {K::id, 0};
  if (t == "bigint") return {K::bigint, 0};
  if (t == "int") return {K::integer, 0};
  if (t == "smallint" || t == "tinyint") return {K::smallint, 0};
  if (t == "bit") return {K::boolean, 0};
  if (t == "float" || t == "real" || t == "decimal" || t == "numeric") return {K::real, 0};
  if (t == "nvarchar" || t == "nchar") {
    if (max_length < 0) return {K::text, 0};
    return {K::string, static_cast<int>(max_length / 2)};
  }
  if (t == "varchar" || t == "char") {
    if (max_length < 0) return {K::text, 0};
    return {K::string, static_cast<int>(max_length)};
  }
  if (t == "ntext" || t == "text" || t == "xml") return {K::text, 0};
  if (t == "datetime2" || t == "datetime" || t == "smalldatetime" || t == "datetimeoffset" || t == "date") {
    return {K::timestamp, 0};
  }
  if (t == "varbinary" || t == "binary" || t == "image") return {K::blob, 0};
  if (t == "uniqueidentifier") return {K::string, 36};
  return {K::text, 0};
}

// "([role]='tool' OR [role]='user')" -> "{role}='tool' OR {role}='user'": the model's neutral form.
std::string neutral_expression(const std::string& definition) {
  std::string text = strip_parentheses(definition);
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\'') {  // copy string literals untouched
      std::size_t end = i + 1;
      while (end < text.size()) {
        if (text[end] == '\'' && end + 1 < text.size() && text[end + 1] == '\'') {
          end += 2;
          continue;
        }
        if (text[end] == '\'') break;
        ++end;
      }
      out.append(text, i, end - i + 1);
      i = end;
    } else if (text[i] == '[') {
      std::string name;
      std::size_t j = i + 1;
      while (j < text.size()) {
        if (text[j] == ']') {
          if (j + 1 < text.size() && text[j + 1] == ']') {
            name += ']';
            j += 2;
            continue;
          }
          break;
        }
        name += text[j++];
      }
      out += "{" + name + "}";
      i = j;
    } else {
      out += text[i];
    }
  }
  return out;
}

bool is_json_check(const std::string& definition, const std::string& column) {
  std::string compact;
  for (char c : lower(definition)) {
    if (c != ' ' && c != '(' && c != ')') compact += c;
  }
  return compact == "isjson[" + lower(column) + "]=1";
}

}  // namespace

schema::Schema MssqlDialect::introspect(Connection& connection) const {
  schema::Schema result;
  {
    auto statement = connection.prepare(kTablesSql);
    while (statement->step()) {
      schema::Table table;
      table.name = statement->get_text(0);
      result.tables.push_back(std::move(table));
    }
  }
  for (auto& table : result.tables) {
    const Value name{table.name};
    {
      auto statement = connection.prepare(kColumnsSql);
      statement->bind(1, name);
      while (statement->step()) {
        schema::Column column;
        column.name = statement->get_text(0);
        column.type = column_type_from(statement->get_text(1), statement->get_int64(2), statement->get_bool(4));
        column.nullable = statement->get_bool(3);
        if (!statement->is_null(5)) column.default_value = parse_default(statement->get_text(5), column.type.kind);
        table.columns.push_back(std::move(column));
      }
    }
    {
      auto statement = connection.prepare(kKeysSql);
      statement->bind(1, name);
      while (statement->step()) {
        std::string constraint = statement->get_text(0);
        std::string type = statement->get_text(1);
        std::string column = statement->get_text(2);
        if (type.rfind("PK", 0) == 0) {
          table.primary_key_name = constraint;
          table.primary_key.push_back(column);
        } else {
          if (table.uniques.empty() || table.uniques.back().name != constraint) table.uniques.push_back({constraint, {}});
          table.uniques.back().columns.push_back(column);
        }
      }
    }
    {
      auto statement = connection.prepare(kIndexesSql);
      statement->bind(1, name);
      while (statement->step()) {
        std::string index = statement->get_text(0);
        if (table.indexes.empty() || table.indexes.back().name != index) {
          table.indexes.push_back({index, {}, statement->get_bool(1)});
        }
        table.indexes.back().columns.push_back(statement->get_text(2));
      }
    }
    {
      auto statement = connection.prepare(kForeignKeysSql);
      statement->bind(1, name);
      while (statement->step()) {
        std::string fk = statement->get_text(0);
        if (table.foreign_keys.empty() || table.foreign_keys.back().name != fk) {
          schema::ForeignKey key;
          key.name = fk;
          key.referred_table = statement->get_text(2);
          switch (statement->get_int64(4)) {
            case 1: key.on_delete = schema::OnDelete::cascade; break;
            case 2: key.on_delete = schema::OnDelete::set_null; break;
            default: key.on_delete = schema::OnDelete::no_action; break;
          }
          table.foreign_keys.push_back(std::move(key));
        }
        table.foreign_keys.back().columns.push_back(statement->get_text(1));
        table.foreign_keys.back().referred_columns.push_back(statement->get_text(3));
      }
    }
    // A foreign key this dialect had to render NO ACTION reads back as NO ACTION; report the
    // action lunadb's model asks for instead, so comparing the live schema with the model does not
    // propose a change SQL Server cannot make.
    if (const schema::Table* model = schema::luna_schema().find_table(table.name)) {
      for (auto& fk : table.foreign_keys) {
        if (fk.on_delete != schema::OnDelete::no_action) continue;
        for (const auto& wanted : model->foreign_keys) {
          if (wanted.name == fk.name && wanted.columns == fk.columns && wanted.referred_table == fk.referred_table &&
              effective_on_delete(*model, wanted) == schema::OnDelete::no_action) {
            fk.on_delete = wanted.on_delete;
          }
        }
      }
    }
    {
      auto statement = connection.prepare(kChecksSql);
      statement->bind(1, name);
      while (statement->step()) {
        std::string check = statement->get_text(0);
        std::string definition = statement->get_text(1);
        // The ISJSON check is how a json column is stored: fold it back into the type.
        bool folded = false;
        for (auto& column : table.columns) {
          if (column.type.kind == schema::TypeKind::text && is_json_check(definition, column.name)) {
            column.type.kind = schema::TypeKind::json;
            folded = true;
          }
        }
        if (!folded) table.checks.push_back({check, neutral_expression(definition)});
      }
    }
  }
  return result;
}

bool MssqlDialect::table_exists(Connection& connection, std::string_view table) const {
  auto statement = connection.prepare("SELECT 1 FROM sys.tables WHERE name = ? AND schema_id = SCHEMA_ID()");
  statement->bind(1, Value{std::string(table)});
  bool found = statement->step();
  statement->reset();
  return found;
}

std::string MssqlDialect::acquire_lock_sql(double timeout_s) {
  auto timeout_ms = static_cast<std::int64_t>(std::max(0.0, timeout_s) * 1000);
  // Owned by the session, so the lock outlives the revision transactions it serialises.
  return "DECLARE @result INT; EXEC @result = sp_getapplock @Resource = " + nstring(migration_lock_resource) +
         ", @LockMode = 'Exclusive', @LockOwner = 'Session', @LockTimeout = " + std::to_string(timeout_ms) +
         "; SELECT @result";
}

std::string MssqlDialect::release_lock_sql() {
  return "EXEC sp_releaseapplock @Resource = " + nstring(migration_lock_resource) + ", @LockOwner = 'Session'";
}

void MssqlDialect::acquire_migration_lock(Connection& connection, double timeout_s) const {
  auto statement = connection.prepare(acquire_lock_sql(timeout_s));
  std::int64_t result = -999;
  if (statement->step()) result = statement->get_int64(0);
  statement->reset();
  if (result >= 0) return;
  std::string why = result == -1   ? "another migration still holds it after " + std::to_string(timeout_s) + " s"
                    : result == -3 ? "chosen as a deadlock victim"
                                   : "sp_getapplock returned " + std::to_string(result);
  throw Error(ErrorKind::busy, "cannot take the migration lock (sp_getapplock " + std::string(migration_lock_resource) +
                                   "): " + why);
}

void MssqlDialect::release_migration_lock(Connection& connection) const noexcept {
  try {
    connection.execute(release_lock_sql());
  } catch (...) {
    // The lock dies with the session anyway; a failed release must not hide the migration's outcome.
  }
}

}  // namespace lunadb::sql
