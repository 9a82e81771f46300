#include "sql/mysql_dialect.hpp"

#include <algorithm>
#include <atomic>
#include <climits>
#include <cmath>
#include <map>

#include "lunadb/error.hpp"
#include "sql/driver.hpp"
#include "sql/postgres_mysql_ddl.hpp"

namespace lunadb::sql {

namespace {

using server_ddl::join;

constexpr std::string_view kCommentPrefix = "lunadb:";
constexpr const char* kTableOptions = " ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci";

// Monotonic across the process, so tables created in one run sort in creation order.
std::string next_creation_sequence() {
  static std::atomic<std::int64_t> last{0};
  std::int64_t candidate = now_utc().time_since_epoch().count();
  std::int64_t previous = last.load();
  while (true) {
    const std::int64_t value = std::max(candidate, previous + 1);
    if (last.compare_exchange_weak(previous, value)) return std::to_string(value);
  }
}

// The table comment: check expressions as written in the model, and the order of foreign keys,
// unique constraints and indexes (information_schema has no creation order for them).
std::string table_comment(const MysqlDialect& d, const schema::Table& table) {
  std::vector<std::string> items;
  for (const auto& check : table.checks) {
    items.push_back(check.name);
    items.push_back(check.expression);
  }
  for (const auto& fk : table.foreign_keys) {
    items.push_back("#fk");
    items.push_back(fk.name);
  }
  for (const auto& unique : table.uniques) {
    items.push_back("#uq");
    items.push_back(unique.name);
  }
  for (const auto& index : table.indexes) {
    items.push_back("#ix");
    items.push_back(index.name);
  }
  return d.literal(Value{std::string(kCommentPrefix) + server_ddl::encode_strings(items)});
}

// Sorts named items: those the comment lists, in its order, then the rest by the position of their
// first column in the table.
template <typename T>
void order_by_comment(std::vector<T>& items, const std::vector<std::string>& listed,
                      const std::map<std::string, int>& ordinal) {
  auto key = [&](const T& item) {
    const auto at = std::find(listed.begin(), listed.end(), item.name);
    const int column_at = item.columns.empty() || !ordinal.count(item.columns.front()) ? INT_MAX
                                                                                          : ordinal.at(item.columns.front());
    return std::make_pair(static_cast<int>(at - listed.begin()), column_at);
  };
  std::stable_sort(items.begin(), items.end(), [&](const T& a, const T& b) { return key(a) < key(b); });
}

std::string primary_key_clause(const MysqlDialect& d, const schema::Table& table) {
  const std::string comment = std::string(kCommentPrefix) +
                              server_ddl::encode_strings({next_creation_sequence(), table.primary_key_name});
  return "CONSTRAINT " + d.quote(table.primary_key_name) + " PRIMARY KEY (" + d.quoted_list(table.primary_key) +
         ") COMMENT " + d.literal(Value{comment});
}

std::vector<std::string> decode_comment(const std::string& comment) {
  if (comment.rfind(kCommentPrefix, 0) != 0) return {};
  return server_ddl::decode_strings(std::string_view(comment).substr(kCommentPrefix.size()));
}

schema::ColumnType type_from_catalog(const std::string& data_type, const std::string& column_type,
                                     std::int64_t max_length, bool auto_increment) {
  using schema::TypeKind;
  if (auto_increment && (data_type == "bigint" || data_type == "int")) return {TypeKind::id, 0};
  if (data_type == "tinyint" && column_type.rfind("tinyint(1)", 0) == 0) return {TypeKind::boolean, 0};
  if (data_type == "tinyint" || data_type == "smallint") return {TypeKind::smallint, 0};
  if (data_type == "int" || data_type == "mediumint") return {TypeKind::integer, 0};
  if (data_type == "bigint") return {TypeKind::bigint, 0};
  if (data_type == "double" || data_type == "float" || data_type == "decimal") return {TypeKind::real, 0};
  if (data_type == "varchar" || data_type == "char") return {TypeKind::string, static_cast<int>(max_length)};
  if (data_type == "json") return {TypeKind::json, 0};
  if (data_type == "datetime" || data_type == "timestamp") return {TypeKind::timestamp, 0};
  if (data_type.find("blob") != std::string::npos || data_type == "varbinary" || data_type == "binary") {
    return {TypeKind::blob, 0};
  }
  return {TypeKind::text, 0};
}

}  // namespace

std::string MysqlDialect::quote(std::string_view identifier) const {
  std::string out = "`";
  for (char c : identifier) {
    if (c == '`') out += '`';
    out += c;
  }
  return out + "`";
}

std::string MysqlDialect::column_type(const schema::ColumnType& type) const {
  using schema::TypeKind;
  switch (type.kind) {
    case TypeKind::id: return "INTEGER";
    case TypeKind::smallint: return "SMALLINT";
    case TypeKind::integer: return "INT";
    case TypeKind::bigint: return "BIGINT";
    case TypeKind::real: return "DOUBLE";
    case TypeKind::boolean: return "BOOLEAN";
    case TypeKind::string: return "VARCHAR(" + std::to_string(type.length > 0 ? type.length : 255) + ")";
    case TypeKind::text: return "LONGTEXT";
    case TypeKind::json: return "JSON";
    case TypeKind::timestamp: return "DATETIME(6)";
    case TypeKind::blob: return "LONGBLOB";
  }
  return "LONGTEXT";
}

std::string MysqlDialect::literal(const Value& value) const {
  if (const auto* text = std::get_if<std::string>(&value)) {
    // The session keeps backslash escapes on (no NO_BACKSLASH_ESCAPES), so both must be escaped.
    std::string out = "'";
    for (char c : *text) {
      if (c == '\'' || c == '\\') out += c == '\'' ? '\'' : '\\';
      out += c;
    }
    return out + "'";
  }
  if (const auto* b = std::get_if<bool>(&value)) return *b ? "1" : "0";
  return Dialect::literal(value);
}

std::string MysqlDialect::default_literal(const schema::DefaultValue& value) const {
  if (std::holds_alternative<schema::CurrentTimestamp>(value)) return "CURRENT_TIMESTAMP(6)";
  return Dialect::default_literal(value);
}

std::string MysqlDialect::column_definition(const schema::Table&, const schema::Column& column) const {
  std::string out = quote(column.name) + " " + column_type(column.type);
  out += column.nullable ? " NULL" : " NOT NULL";
  std::string default_sql = default_literal(column.default_value);
  if (!default_sql.empty()) {
    // TEXT/JSON defaults must be expressions on MySQL 8; MariaDB accepts the same form.
    const bool long_type = column.type.kind == schema::TypeKind::text || column.type.kind == schema::TypeKind::json ||
                           column.type.kind == schema::TypeKind::blob;
    out += " DEFAULT " + (long_type ? "(" + default_sql + ")" : default_sql);
  }
  if (column.type.kind == schema::TypeKind::id) out += " AUTO_INCREMENT";
  return out;
}

std::string MysqlDialect::primary_key_definition(const schema::Table& table) const {
  return primary_key_clause(*this, table);
}

std::string MysqlDialect::table_options(const schema::Table& table) const {
  return std::string(kTableOptions) + " COMMENT=" + table_comment(*this, table);
}

std::vector<std::string> MysqlDialect::drop_index(const schema::Table& table, const schema::Index& index) const {
  // InnoDB needs an index that starts with a foreign key's columns, and once a covering index
  // exists it drops the one it made for the key itself: dropping that covering index then fails
  // (error 1553). Such a key is dropped first and added again together with the index drop, which
  // makes InnoDB index it on its own again (an index it will drop by itself when a covering one
  // comes back; an index of that name added by hand would not be).
  auto starts_with = [](const std::vector<std::string>& columns, const std::vector<std::string>& prefix) {
    return prefix.size() <= columns.size() && std::equal(prefix.begin(), prefix.end(), columns.begin());
  };
  std::vector<std::string> out;
  std::string readd;
  for (const auto& fk : table.foreign_keys) {
    if (!starts_with(index.columns, fk.columns)) continue;
    bool covered = starts_with(table.primary_key, fk.columns);
    for (const auto& other : table.indexes) {
      if (other.name != index.name && starts_with(other.columns, fk.columns)) covered = true;
    }
    for (const auto& unique : table.uniques) {
      if (starts_with(unique.columns, fk.columns)) covered = true;
    }
    if (covered) continue;
    out.push_back("ALTER TABLE " + quote(table.name) + " DROP FOREIGN KEY " + quote(fk.name));
    readd += ", ADD " + foreign_key_definition(table, fk);
  }
  if (out.empty()) return {"DROP INDEX " + quote(index.name) + " ON " + quote(table.name)};
  out.push_back("ALTER TABLE " + quote(table.name) + " DROP INDEX " + quote(index.name) + readd);
  return out;
}

std::vector<std::string> MysqlDialect::alter_table(const schema::Table& before, const schema::Table& after) const {
  const auto d = server_ddl::diff(before, after);
  std::vector<std::string> out;
  if (before.name != after.name) out.push_back("RENAME TABLE " + quote(before.name) + " TO " + quote(after.name));
  const std::string table = "ALTER TABLE " + quote(after.name);
  for (const auto* index : d.drop_indexes) {
    auto more = drop_index(after, *index);
    out.insert(out.end(), more.begin(), more.end());
  }
  for (const auto* fk : d.drop_foreign_keys) out.push_back(table + " DROP FOREIGN KEY " + quote(fk->name));
  for (const auto* unique : d.drop_uniques) out.push_back(table + " DROP INDEX " + quote(unique->name));
  for (const auto* check : d.drop_checks) out.push_back(table + " DROP CONSTRAINT " + quote(check->name));
  if (d.primary_key_changed && !before.primary_key.empty()) {
    // An AUTO_INCREMENT column must stay a key: take the attribute off first.
    for (const auto& column : before.columns) {
      if (column.type.kind == schema::TypeKind::id && after.find_column(column.name)) {
        schema::Column plain = column;
        plain.type = {schema::TypeKind::integer, 0};
        out.push_back(table + " MODIFY COLUMN " + column_definition(after, plain));
      }
    }
    out.push_back(table + " DROP PRIMARY KEY");
  }
  for (const auto* column : d.drop_columns) out.push_back(table + " DROP COLUMN " + quote(column->name));
  for (const auto* column : d.add_columns) {
    if (column->type.kind == schema::TypeKind::id && !d.primary_key_changed) {
      out.push_back(table + " ADD COLUMN " + column_definition(after, *column) + " FIRST");
    } else {
      out.push_back(table + " ADD COLUMN " + column_definition(after, *column));
    }
  }
  for (const auto& change : d.change_columns) {
    if (change.after->type.kind == schema::TypeKind::id && d.primary_key_changed) {
      schema::Column plain = *change.after;
      plain.type = {schema::TypeKind::integer, 0};
      out.push_back(table + " MODIFY COLUMN " + column_definition(after, plain));
    } else {
      out.push_back(table + " MODIFY COLUMN " + column_definition(after, *change.after));
    }
  }
  if (d.primary_key_changed && !after.primary_key.empty()) {
    out.push_back(table + " ADD " + primary_key_definition(after));
    for (const auto& column : after.columns) {
      if (column.type.kind == schema::TypeKind::id) {
        out.push_back(table + " MODIFY COLUMN " + column_definition(after, column));
      }
    }
  }
  for (const auto* unique : d.add_uniques) {
    out.push_back(table + " ADD " + unique_definition(*unique));
  }
  for (const auto* check : d.add_checks) out.push_back(table + " ADD " + check_definition(*check));
  for (const auto* fk : d.add_foreign_keys) {
    out.push_back(table + " ADD " + foreign_key_definition(after, *fk));
  }
  for (const auto* index : d.add_indexes) {
    auto more = create_index(after, *index);
    out.insert(out.end(), more.begin(), more.end());
  }
  if (before.checks != after.checks || before.indexes != after.indexes || before.uniques != after.uniques ||
      before.foreign_keys != after.foreign_keys) {
    out.push_back(table + " COMMENT=" + table_comment(*this, after));
  }
  return out;
}

std::string MysqlDialect::insert_many(std::string_view table, const std::vector<std::string>& columns,
                                      std::size_t rows) const {
  if (columns.empty()) {
    if (rows == 0) throw Error(ErrorKind::usage, "insert_many needs at least one row for table " + std::string(table));
    std::string sql = "INSERT INTO " + quote(table) + " () VALUES ()";
    for (std::size_t r = 1; r < rows; ++r) sql += ", ()";
    return sql;
  }
  return Dialect::insert_many(table, columns, rows);
}

std::string MysqlDialect::upsert(std::string_view table, const std::vector<std::string>& columns,
                                 const std::vector<std::string>& conflict_columns,
                                 const std::vector<std::string>& update_columns) const {
  // MySQL picks the conflicting unique key itself; conflict_columns only matter for the no-op form.
  std::string sql = insert_many(table, columns, 1) + " ON DUPLICATE KEY UPDATE ";
  if (update_columns.empty()) {
    const std::string& any = conflict_columns.empty() ? columns.front() : conflict_columns.front();
    return sql + quote(any) + " = " + quote(any);
  }
  for (std::size_t i = 0; i < update_columns.size(); ++i) {
    sql += (i ? ", " : "") + quote(update_columns[i]) + " = VALUES(" + quote(update_columns[i]) + ")";
  }
  return sql;
}

std::string MysqlDialect::paginate(std::string_view select_with_order_by, std::optional<std::int64_t> limit,
                                   std::int64_t offset) const {
  std::string sql(select_with_order_by);
  if (!limit && offset <= 0) return sql;
  sql += " LIMIT " + (limit ? std::to_string(*limit) : std::string("18446744073709551615"));  // MySQL's "no limit"
  if (offset > 0) sql += " OFFSET " + std::to_string(offset);
  return sql;
}

schema::Schema MysqlDialect::introspect(Connection& connection) const {
  struct Found {
    schema::Table table;
    std::string sequence;  // from the primary key comment; empty when not lunadb's
    std::string created;
    std::vector<std::string> fk_order, unique_order, index_order;
  };
  std::vector<Found> found;
  {
    auto st = connection.prepare(
        "SELECT t.TABLE_NAME, COALESCE(CAST(t.CREATE_TIME AS CHAR), ''), t.TABLE_COMMENT, "
        "(SELECT s.INDEX_COMMENT FROM information_schema.STATISTICS s WHERE s.TABLE_SCHEMA = t.TABLE_SCHEMA "
        "  AND s.TABLE_NAME = t.TABLE_NAME AND s.INDEX_NAME = 'PRIMARY' LIMIT 1) "
        "FROM information_schema.TABLES t WHERE t.TABLE_SCHEMA = DATABASE() AND t.TABLE_TYPE = 'BASE TABLE' "
        "AND t.TABLE_NAME <> 'alembic_version' AND t.TABLE_NAME NOT LIKE 'lunadb\\_%'");
    while (st->step()) {
      Found f;
      f.table.name = st->get_text(0);
      f.created = st->get_text(1);
      const auto items = decode_comment(st->get_text(2));
      for (std::size_t i = 0; i + 1 < items.size(); i += 2) {
        if (items[i] == "#fk") {
          f.fk_order.push_back(items[i + 1]);
        } else if (items[i] == "#uq") {
          f.unique_order.push_back(items[i + 1]);
        } else if (items[i] == "#ix") {
          f.index_order.push_back(items[i + 1]);
        } else {
          f.table.checks.push_back({items[i], items[i + 1]});
        }
      }
      if (!st->is_null(3)) {
        const auto pk = decode_comment(st->get_text(3));
        if (pk.size() == 2) {
          f.sequence = pk[0];
          f.table.primary_key_name = pk[1];
        }
      }
      found.push_back(std::move(f));
    }
  }
  std::sort(found.begin(), found.end(), [](const Found& a, const Found& b) {
    // lunadb's tables by creation sequence (fixed width: microseconds), then others by time and name.
    auto key = [](const Found& f) {
      return std::make_tuple(f.sequence.empty(), f.sequence.size(), f.sequence, f.created, f.table.name);
    };
    return key(a) < key(b);
  });

  schema::Schema out;
  for (auto& f : found) {
    schema::Table& table = f.table;
    std::map<std::string, int> ordinal;
    {
      auto st = connection.prepare(
          "SELECT COLUMN_NAME, DATA_TYPE, COLUMN_TYPE, COALESCE(CHARACTER_MAXIMUM_LENGTH, 0), IS_NULLABLE, "
          "COLUMN_DEFAULT, EXTRA FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? "
          "ORDER BY ORDINAL_POSITION");
      st->bind(1, table.name);
      while (st->step()) {
        schema::Column column;
        column.name = st->get_text(0);
        const std::string extra = st->get_text(6);
        column.type = type_from_catalog(st->get_text(1), st->get_text(2), st->get_int64(3),
                                        extra.find("auto_increment") != std::string::npos);
        column.nullable = st->get_text(4) == "YES";
        if (!st->is_null(5)) column.default_value = server_ddl::parse_default(st->get_text(5), column.type);
        ordinal[column.name] = static_cast<int>(table.columns.size());
        table.columns.push_back(std::move(column));
      }
    }
    // CHECKs: MariaDB's own json_valid() checks mark JSON columns; others not in the comment are
    // kept with the server's text.
    {
      auto st = connection.prepare(
          "SELECT CONSTRAINT_NAME, CHECK_CLAUSE FROM information_schema.CHECK_CONSTRAINTS "
          "WHERE CONSTRAINT_SCHEMA = DATABASE() AND TABLE_NAME = ? ORDER BY CONSTRAINT_NAME");
      st->bind(1, table.name);
      std::vector<schema::CheckConstraint> live;
      while (st->step()) live.push_back({st->get_text(0), st->get_text(1)});
      std::vector<schema::CheckConstraint> checks;
      for (const auto& check : table.checks) {
        const bool exists = std::any_of(live.begin(), live.end(), [&](const auto& c) { return c.name == check.name; });
        if (exists) checks.push_back(check);
      }
      for (const auto& check : live) {
        auto* column = const_cast<schema::Column*>(table.find_column(check.name));
        if (column && check.expression == "json_valid(" + quote(check.name) + ")") {
          column->type = {schema::TypeKind::json, 0};
          continue;
        }
        const bool known = std::any_of(checks.begin(), checks.end(), [&](const auto& c) { return c.name == check.name; });
        if (!known) checks.push_back(check);
      }
      table.checks = std::move(checks);
    }
    std::vector<std::string> constraint_names;
    {
      struct Key {
        std::string type;
        std::vector<std::string> columns;
        std::string referred_table;
        std::vector<std::string> referred_columns;
        std::string delete_rule;
      };
      std::map<std::string, Key> keys;
      auto st = connection.prepare(
          "SELECT k.CONSTRAINT_NAME, tc.CONSTRAINT_TYPE, k.COLUMN_NAME, k.REFERENCED_TABLE_NAME, "
          "k.REFERENCED_COLUMN_NAME, rc.DELETE_RULE "
          "FROM information_schema.KEY_COLUMN_USAGE k JOIN information_schema.TABLE_CONSTRAINTS tc "
          "  ON tc.CONSTRAINT_SCHEMA = k.CONSTRAINT_SCHEMA AND tc.TABLE_NAME = k.TABLE_NAME "
          "  AND tc.CONSTRAINT_NAME = k.CONSTRAINT_NAME "
          "LEFT JOIN information_schema.REFERENTIAL_CONSTRAINTS rc ON rc.CONSTRAINT_SCHEMA = k.CONSTRAINT_SCHEMA "
          "  AND rc.TABLE_NAME = k.TABLE_NAME AND rc.CONSTRAINT_NAME = k.CONSTRAINT_NAME "
          "WHERE k.TABLE_SCHEMA = DATABASE() AND k.TABLE_NAME = ? ORDER BY k.CONSTRAINT_NAME, k.ORDINAL_POSITION");
      st->bind(1, table.name);
      while (st->step()) {
        Key& key = keys[st->get_text(0)];
        key.type = st->get_text(1);
        key.columns.push_back(st->get_text(2));
        if (!st->is_null(3)) key.referred_table = st->get_text(3);
        if (!st->is_null(4)) key.referred_columns.push_back(st->get_text(4));
        if (!st->is_null(5)) key.delete_rule = st->get_text(5);
      }
      auto first_ordinal = [&](const std::vector<std::string>& columns) {
        auto at = columns.empty() ? ordinal.end() : ordinal.find(columns.front());
        return at == ordinal.end() ? INT_MAX : at->second;
      };
      std::vector<std::pair<std::string, Key>> ordered(keys.begin(), keys.end());
      std::stable_sort(ordered.begin(), ordered.end(), [&](const auto& a, const auto& b) {
        return first_ordinal(a.second.columns) < first_ordinal(b.second.columns);
      });
      // MySQL reports a unique index as a UNIQUE constraint. It is an index when the table comment
      // lists it as one, or (an index made by a later create_index, which leaves the comment alone)
      // when the comment does not list it as a constraint and it bears the index prefix.
      auto is_unique_index = [&](const std::string& name) {
        const auto listed = [&](const std::vector<std::string>& names) {
          return std::find(names.begin(), names.end(), name) != names.end();
        };
        return listed(f.index_order) || (!listed(f.unique_order) && name.rfind("ix_", 0) == 0);
      };
      for (auto& [name, key] : ordered) {
        if (key.type == "UNIQUE" && is_unique_index(name)) continue;
        constraint_names.push_back(name);
        if (key.type == "PRIMARY KEY") {
          table.primary_key = key.columns;
          if (table.primary_key_name.empty()) table.primary_key_name = name;
        } else if (key.type == "UNIQUE") {
          table.uniques.push_back({name, key.columns});
        } else if (key.type == "FOREIGN KEY") {
          schema::ForeignKey fk;
          fk.name = name;
          fk.columns = key.columns;
          fk.referred_table = key.referred_table;
          fk.referred_columns = key.referred_columns;
          fk.on_delete = key.delete_rule == "CASCADE"    ? schema::OnDelete::cascade
                         : key.delete_rule == "SET NULL" ? schema::OnDelete::set_null
                                                         : schema::OnDelete::no_action;
          table.foreign_keys.push_back(std::move(fk));
        }
      }
    }
    {
      std::map<std::string, schema::Index> indexes;
      auto st = connection.prepare(
          // FULLTEXT indexes (the memory engine's keyword search) are not expressible in the model.
          "SELECT INDEX_NAME, NON_UNIQUE, COLUMN_NAME FROM information_schema.STATISTICS "
          "WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? AND INDEX_TYPE <> 'FULLTEXT' "
          "ORDER BY INDEX_NAME, SEQ_IN_INDEX");
      st->bind(1, table.name);
      while (st->step()) {
        const std::string name = st->get_text(0);
        // The primary key, unique constraints, and the index InnoDB adds for a foreign key.
        if (name == "PRIMARY" || std::find(constraint_names.begin(), constraint_names.end(), name) != constraint_names.end() ||
            name.rfind("fk_", 0) == 0) {
          continue;
        }
        schema::Index& index = indexes[name];
        index.name = name;
        index.unique = st->get_int64(1) == 0;
        if (!st->is_null(2)) index.columns.push_back(st->get_text(2));
      }
      std::vector<schema::Index> ordered;
      for (auto& [name, index] : indexes) ordered.push_back(std::move(index));
      std::stable_sort(ordered.begin(), ordered.end(), [&](const auto& a, const auto& b) {
        auto first = [&](const schema::Index& i) {
          auto at = i.columns.empty() ? ordinal.end() : ordinal.find(i.columns.front());
          return at == ordinal.end() ? INT_MAX : at->second;
        };
        return first(a) < first(b);
      });
      table.indexes = std::move(ordered);
    }
    order_by_comment(table.foreign_keys, f.fk_order, ordinal);
    order_by_comment(table.uniques, f.unique_order, ordinal);
    order_by_comment(table.indexes, f.index_order, ordinal);
    out.tables.push_back(std::move(table));
  }
  return out;
}

bool MysqlDialect::table_exists(Connection& connection, std::string_view table) const {
  auto st = connection.prepare(
      "SELECT 1 FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?");
  st->bind(1, std::string(table));
  return st->step();
}

void MysqlDialect::acquire_migration_lock(Connection& connection, double timeout_s) const {
  // GET_LOCK names are server-wide: qualify the name with the database so that migrations of
  // unrelated databases on one server do not wait for each other (MD5 keeps it under MySQL's
  // 64-character limit for lock names).
  auto st = connection.prepare("SELECT GET_LOCK(CONCAT(?, '_', MD5(COALESCE(DATABASE(), ''))), ?)");
  st->bind(1, std::string(migration_lock_name));
  st->bind(2, static_cast<std::int64_t>(std::ceil(std::max(0.0, timeout_s))));
  if (st->step() && !st->is_null(0) && st->get_int64(0) == 1) return;
  throw Error(ErrorKind::busy, std::string("another process holds the migration lock (GET_LOCK('") +
                                   migration_lock_name + "_<md5 of the database name>')) after waiting " + std::to_string(timeout_s) +
                                   " s; is another `lunadb upgrade` running?");
}

void MysqlDialect::release_migration_lock(Connection& connection) const noexcept {
  try {
    auto st = connection.prepare("SELECT RELEASE_LOCK(CONCAT(?, '_', MD5(COALESCE(DATABASE(), ''))))");
    st->bind(1, std::string(migration_lock_name));
    st->step();
  } catch (...) {
    // The lock dies with the session anyway.
  }
}

const Dialect& mysql_dialect() {
  static const MysqlDialect dialect;
  return dialect;
}

}  // namespace lunadb::sql
