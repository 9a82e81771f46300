#include "sql/postgres_dialect.hpp"

#include <chrono>
#include <map>
#include <thread>

#include "lunadb/error.hpp"
#include "sql/driver.hpp"
#include "sql/postgres_mysql_ddl.hpp"

namespace lunadb::sql {

namespace {

using server_ddl::join;

constexpr char kListSeparator = '\x1f';

// Tables the model does not describe: Alembic's version table and lunadb's bookkeeping tables.
constexpr const char* kUserTables =
    "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
    "WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') AND c.relname <> 'alembic_version' "
    "AND c.relname NOT LIKE 'lunadb\\_%' ORDER BY c.oid";

constexpr const char* kColumns =
    "SELECT a.attname, t.typname, a.atttypmod, a.attnotnull, a.attidentity::text, "
    "pg_get_expr(d.adbin, d.adrelid) "
    "FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
    "JOIN pg_type t ON t.oid = a.atttypid LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum "
    "WHERE n.nspname = current_schema() AND c.relname = ? AND a.attnum > 0 AND NOT a.attisdropped "
    "ORDER BY a.attnum";

// Column lists are joined with U+001F so that names may contain commas.
constexpr const char* kConstraints =
    "SELECT con.conname, con.contype::text, pg_get_constraintdef(con.oid), "
    "obj_description(con.oid, 'pg_constraint'), con.confdeltype::text, "
    "array_to_string(ARRAY(SELECT a.attname FROM unnest(con.conkey) WITH ORDINALITY k(num, ord) "
    "  JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.num ORDER BY k.ord), chr(31)), "
    "(SELECT r.relname FROM pg_class r WHERE r.oid = con.confrelid), "
    "array_to_string(ARRAY(SELECT a.attname FROM unnest(con.confkey) WITH ORDINALITY k(num, ord) "
    "  JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.num ORDER BY k.ord), chr(31)) "
    "FROM pg_constraint con JOIN pg_class c ON c.oid = con.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
    "WHERE n.nspname = current_schema() AND c.relname = ? ORDER BY con.oid";

constexpr const char* kIndexes =
    "SELECT i.relname, ix.indisunique, "
    "array_to_string(ARRAY(SELECT a.attname FROM unnest(ix.indkey::int2[]) WITH ORDINALITY k(num, ord) "
    "  JOIN pg_attribute a ON a.attrelid = ix.indrelid AND a.attnum = k.num ORDER BY k.ord), chr(31)), "
    "ix.indexprs IS NOT NULL OR ix.indpred IS NOT NULL "
    "FROM pg_index ix JOIN pg_class i ON i.oid = ix.indexrelid JOIN pg_class c ON c.oid = ix.indrelid "
    "JOIN pg_namespace n ON n.oid = c.relnamespace "
    "WHERE n.nspname = current_schema() AND c.relname = ? "
    "AND NOT EXISTS (SELECT 1 FROM pg_constraint con WHERE con.conindid = ix.indexrelid AND con.conrelid = ix.indrelid) "
    "ORDER BY i.oid";

schema::ColumnType type_from_catalog(const std::string& typname, std::int64_t typmod, bool identity) {
  using schema::TypeKind;
  if (identity && (typname == "int8" || typname == "int4")) return {TypeKind::id, 0};
  if (typname == "int2") return {TypeKind::smallint, 0};
  if (typname == "int4") return {TypeKind::integer, 0};
  if (typname == "int8") return {TypeKind::bigint, 0};
  if (typname == "float8" || typname == "float4" || typname == "numeric") return {TypeKind::real, 0};
  if (typname == "bool") return {TypeKind::boolean, 0};
  if (typname == "varchar" || typname == "bpchar") {
    return {TypeKind::string, typmod > 4 ? static_cast<int>(typmod - 4) : 0};
  }
  if (typname == "text") return {TypeKind::text, 0};
  if (typname == "jsonb" || typname == "json") return {TypeKind::json, 0};
  if (typname == "timestamptz" || typname == "timestamp") return {TypeKind::timestamp, 0};
  if (typname == "bytea") return {TypeKind::blob, 0};
  return {TypeKind::text, 0};
}

// Constraint comments hold the model's neutral expression: "{role} IN ('user', ...)".
std::vector<std::string> comment_checks(const PostgresDialect& d, const schema::Table& table,
                                        const std::vector<const schema::CheckConstraint*>& checks) {
  std::vector<std::string> out;
  for (const auto* check : checks) {
    out.push_back("COMMENT ON CONSTRAINT " + d.quote(check->name) + " ON " + d.quote(table.name) + " IS " +
                  d.literal(Value{check->expression}));
  }
  return out;
}

}  // namespace

std::string PostgresDialect::column_type(const schema::ColumnType& type) const {
  using schema::TypeKind;
  switch (type.kind) {
    case TypeKind::id: return "SERIAL";
    case TypeKind::smallint: return "SMALLINT";
    case TypeKind::integer: return "INTEGER";
    case TypeKind::bigint: return "BIGINT";
    case TypeKind::real: return "DOUBLE PRECISION";
    case TypeKind::boolean: return "BOOLEAN";
    case TypeKind::string: return type.length > 0 ? "VARCHAR(" + std::to_string(type.length) + ")" : "VARCHAR";
    case TypeKind::text: return "TEXT";
    case TypeKind::json: return "JSON";
    case TypeKind::timestamp: return "TIMESTAMP WITHOUT TIME ZONE";
    case TypeKind::blob: return "BYTEA";
  }
  return "TEXT";
}

std::string PostgresDialect::literal(const Value& value) const {
  if (const auto* blob = std::get_if<Blob>(&value)) {
    static constexpr char hex[] = "0123456789abcdef";
    std::string out = "'\\x";
    for (auto byte : blob->bytes) {
      out += hex[byte >> 4];
      out += hex[byte & 0x0F];
    }
    return out + "'::bytea";
  }
  if (const auto* ts = std::get_if<Timestamp>(&value)) return "'" + format_timestamp(*ts) + "+00'::timestamptz";
  return Dialect::literal(value);
}

std::vector<std::string> PostgresDialect::create_table(const schema::Table& table) const {
  auto statements = Dialect::create_table(table);
  std::vector<const schema::CheckConstraint*> checks;
  for (const auto& check : table.checks) checks.push_back(&check);
  auto comments = comment_checks(*this, table, checks);
  // Comments go right after CREATE TABLE, before the indexes.
  statements.insert(statements.begin() + 1, comments.begin(), comments.end());
  return statements;
}

std::vector<std::string> PostgresDialect::alter_table(const schema::Table& before, const schema::Table& after) const {
  const auto d = server_ddl::diff(before, after);
  const std::string alter = "ALTER TABLE " + quote(before.name);
  std::vector<std::string> out;
  if (before.name != after.name) out.push_back(alter + " RENAME TO " + quote(after.name));
  const std::string table = "ALTER TABLE " + quote(after.name);

  for (const auto* index : d.drop_indexes) {
    auto more = drop_index(after, *index);
    out.insert(out.end(), more.begin(), more.end());
  }
  for (const auto* fk : d.drop_foreign_keys) out.push_back(table + " DROP CONSTRAINT " + quote(fk->name));
  for (const auto* unique : d.drop_uniques) out.push_back(table + " DROP CONSTRAINT " + quote(unique->name));
  for (const auto* check : d.drop_checks) out.push_back(table + " DROP CONSTRAINT " + quote(check->name));
  if (d.primary_key_changed && !before.primary_key.empty()) {
    out.push_back(table + " DROP CONSTRAINT " + quote(before.primary_key_name));
  }
  for (const auto* column : d.drop_columns) out.push_back(table + " DROP COLUMN " + quote(column->name));
  for (const auto* column : d.add_columns) out.push_back(table + " ADD COLUMN " + column_definition(after, *column));
  for (const auto& change : d.change_columns) {
    const auto& b = *change.before;
    const auto& a = *change.after;
    const std::string column = table + " ALTER COLUMN " + quote(a.name);
    if (!(b.type == a.type)) {
      if (b.type.kind == schema::TypeKind::id) out.push_back(column + " DROP IDENTITY IF EXISTS");
      const schema::ColumnType plain =
          a.type.kind == schema::TypeKind::id ? schema::ColumnType{schema::TypeKind::integer, 0} : a.type;
      out.push_back(column + " TYPE " + column_type(plain) + " USING " + quote(a.name) + "::" + column_type(plain));
      if (a.type.kind == schema::TypeKind::id) out.push_back(column + " ADD GENERATED BY DEFAULT AS IDENTITY");
    }
    if (b.nullable != a.nullable) out.push_back(column + (a.nullable ? " DROP NOT NULL" : " SET NOT NULL"));
    if (!(b.default_value == a.default_value)) {
      if (std::holds_alternative<std::monostate>(a.default_value)) {
        out.push_back(column + " DROP DEFAULT");
      } else {
        out.push_back(column + " SET DEFAULT " + default_literal(a.default_value));
      }
    }
  }
  if (d.primary_key_changed && !after.primary_key.empty()) {
    out.push_back(table + " ADD " + primary_key_definition(after));
  }
  for (const auto* unique : d.add_uniques) {
    out.push_back(table + " ADD " + unique_definition(*unique));
  }
  for (const auto* check : d.add_checks) out.push_back(table + " ADD " + check_definition(*check));
  auto comments = comment_checks(*this, after, d.add_checks);
  out.insert(out.end(), comments.begin(), comments.end());
  for (const auto* fk : d.add_foreign_keys) {
    out.push_back(table + " ADD " + foreign_key_definition(after, *fk));
  }
  for (const auto* index : d.add_indexes) {
    auto more = create_index(after, *index);
    out.insert(out.end(), more.begin(), more.end());
  }
  return out;
}

std::string PostgresDialect::insert(std::string_view table, const std::vector<std::string>& columns,
                                    bool returning_id) const {
  std::string sql = insert_many(table, columns, 1);
  if (returning_id) sql += " RETURNING " + quote("id");
  return sql;
}

std::string PostgresDialect::upsert(std::string_view table, const std::vector<std::string>& columns,
                                    const std::vector<std::string>& conflict_columns,
                                    const std::vector<std::string>& update_columns) const {
  std::string sql = insert_many(table, columns, 1) + " ON CONFLICT (" + quoted_list(conflict_columns) + ")";
  if (update_columns.empty()) return sql + " DO NOTHING";
  sql += " DO UPDATE SET ";
  for (std::size_t i = 0; i < update_columns.size(); ++i) {
    sql += (i ? ", " : "") + quote(update_columns[i]) + " = EXCLUDED." + quote(update_columns[i]);
  }
  return sql;
}

schema::Schema PostgresDialect::introspect(Connection& connection) const {
  schema::Schema out;
  std::vector<std::string> names;
  {
    auto st = connection.prepare(kUserTables);
    while (st->step()) names.push_back(st->get_text(0));
  }
  for (const auto& name : names) {
    schema::Table table;
    table.name = name;
    {
      auto st = connection.prepare(kColumns);
      st->bind(1, name);
      while (st->step()) {
        schema::Column column;
        column.name = st->get_text(0);
        const std::string identity = st->is_null(4) ? "" : st->get_text(4);
        const std::string default_sql = st->is_null(5) ? "" : st->get_text(5);
        // SERIAL (what SQLAlchemy, and so Luna, creates) is an integer whose default draws from its
        // own sequence; an identity column says so in attidentity.
        const bool serial = default_sql.rfind("nextval(", 0) == 0;
        column.type = type_from_catalog(st->get_text(1), st->get_int64(2), !identity.empty() || serial);
        column.nullable = !st->get_bool(3);
        if (!default_sql.empty() && !serial) column.default_value = server_ddl::parse_default(default_sql, column.type);
        table.columns.push_back(std::move(column));
      }
    }
    {
      auto st = connection.prepare(kConstraints);
      st->bind(1, name);
      while (st->step()) {
        const std::string constraint = st->get_text(0);
        const std::string type = st->get_text(1);
        const auto columns = server_ddl::split(st->is_null(5) ? "" : st->get_text(5), kListSeparator);
        if (type == "p") {
          table.primary_key_name = constraint;
          table.primary_key = columns;
        } else if (type == "u") {
          table.uniques.push_back({constraint, columns});
        } else if (type == "c") {
          std::string expression;
          if (!st->is_null(3)) {
            expression = st->get_text(3);
          } else {
            expression = st->get_text(2);  // "CHECK ((...))": not lunadb's, keep the server's text
            if (expression.rfind("CHECK (", 0) == 0 && expression.back() == ')') {
              expression = expression.substr(7, expression.size() - 8);
            }
          }
          table.checks.push_back({constraint, expression});
        } else if (type == "f") {
          schema::ForeignKey fk;
          fk.name = constraint;
          fk.columns = columns;
          fk.referred_table = st->is_null(6) ? "" : st->get_text(6);
          fk.referred_columns = server_ddl::split(st->is_null(7) ? "" : st->get_text(7), kListSeparator);
          const std::string action = st->get_text(4);
          fk.on_delete = action == "c"   ? schema::OnDelete::cascade
                         : action == "n" ? schema::OnDelete::set_null
                                         : schema::OnDelete::no_action;
          table.foreign_keys.push_back(std::move(fk));
        }
      }
    }
    {
      auto st = connection.prepare(kIndexes);
      st->bind(1, name);
      while (st->step()) {
        if (st->get_bool(3)) continue;  // expression or partial index: not expressible in the model
        table.indexes.push_back({st->get_text(0), server_ddl::split(st->get_text(2), kListSeparator), st->get_bool(1)});
      }
    }
    out.tables.push_back(std::move(table));
  }
  return out;
}

bool PostgresDialect::table_exists(Connection& connection, std::string_view table) const {
  auto st = connection.prepare(
      "SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
      "WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') AND c.relname = ?");
  st->bind(1, std::string(table));
  return st->step();
}

void PostgresDialect::acquire_migration_lock(Connection& connection, double timeout_s) const {
  // Polling pg_try_advisory_lock keeps the wait bounded without touching the session's
  // lock_timeout (which would outlive this call).
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
  auto st = connection.prepare("SELECT pg_try_advisory_lock(?)");
  while (true) {
    st->reset();
    st->bind(1, std::int64_t{migration_lock_key});
    if (st->step() && st->get_bool(0)) return;
    if (std::chrono::steady_clock::now() >= deadline) {
      throw Error(ErrorKind::busy, "another process holds the migration lock (pg_advisory_lock " +
                                       std::to_string(migration_lock_key) + ") after waiting " +
                                       std::to_string(timeout_s) + " s; is another `lunadb upgrade` running?");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

void PostgresDialect::release_migration_lock(Connection& connection) const noexcept {
  try {
    auto st = connection.prepare("SELECT pg_advisory_unlock(?)");
    st->bind(1, std::int64_t{migration_lock_key});
    st->step();
  } catch (...) {
    // The lock dies with the session anyway.
  }
}

const Dialect& postgres_dialect() {
  static const PostgresDialect dialect;
  return dialect;
}

}  // namespace lunadb::sql
