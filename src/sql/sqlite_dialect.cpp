#include "sql/sqlite_dialect.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <map>
#include <set>

#include "lunadb/error.hpp"
#include "sql/driver.hpp"

namespace lunadb::sql {

namespace {

// RETURNING arrived in SQLite 3.35.0.
constexpr int returning_min_version = 3035000;

// Tables the model does not describe: SQLite's own, Alembic's version table, lunadb's bookkeeping
// tables (lunadb_*) and a rebuild's temporary table.
constexpr const char* user_tables_sql =
    "SELECT name, sql FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' "
    "AND name <> 'alembic_version' AND name NOT LIKE 'lunadb\\_%' ESCAPE '\\' "
    "AND name NOT LIKE '\\_lunadb\\_%' ESCAPE '\\' ORDER BY rowid";

constexpr std::string_view rebuild_prefix = "_lunadb_new_";

std::string upper(std::string_view text) {
  std::string out(text);
  for (auto& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

std::string trim(std::string_view text) {
  auto begin = text.find_first_not_of(" \t\r\n");
  if (begin == std::string_view::npos) return {};
  auto end = text.find_last_not_of(" \t\r\n");
  return std::string(text.substr(begin, end - begin + 1));
}

// ---- a small reader for the CREATE TABLE text SQLite keeps in sqlite_master ----

struct Token {
  enum Kind { word, quoted, string, punct } kind;
  std::string text;  // unquoted for `quoted` and `string`
  std::size_t begin = 0, end = 0;
};

std::vector<Token> tokenize(std::string_view sql) {
  std::vector<Token> tokens;
  std::size_t i = 0;
  auto read_quoted = [&](char close, Token::Kind kind) {
    Token token{kind, {}, i, 0};
    ++i;
    while (i < sql.size()) {
      if (sql[i] == close) {
        if (close != ']' && i + 1 < sql.size() && sql[i + 1] == close) {
          token.text += close;
          i += 2;
          continue;
        }
        ++i;
        break;
      }
      token.text += sql[i++];
    }
    token.end = i;
    tokens.push_back(std::move(token));
  };
  while (i < sql.size()) {
    char c = sql[i];
    if (std::isspace(static_cast<unsigned char>(c))) {
      ++i;
    } else if (c == '"') {
      read_quoted('"', Token::quoted);
    } else if (c == '`') {
      read_quoted('`', Token::quoted);
    } else if (c == '[') {
      read_quoted(']', Token::quoted);
    } else if (c == '\'') {
      read_quoted('\'', Token::string);
    } else if (c == '-' && i + 1 < sql.size() && sql[i + 1] == '-') {
      while (i < sql.size() && sql[i] != '\n') ++i;
    } else if (std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' ||
               static_cast<unsigned char>(c) >= 0x80) {
      Token token{Token::word, {}, i, 0};
      while (i < sql.size() && (std::isalnum(static_cast<unsigned char>(sql[i])) || sql[i] == '_' || sql[i] == '.' ||
                                static_cast<unsigned char>(sql[i]) >= 0x80)) {
        token.text += sql[i++];
      }
      token.end = i;
      tokens.push_back(std::move(token));
    } else {
      tokens.push_back(Token{Token::punct, std::string(1, c), i, i + 1});
      ++i;
    }
  }
  return tokens;
}

bool is_word(const Token& token, std::string_view keyword) {
  return token.kind == Token::word && upper(token.text) == keyword;
}
bool is_punct(const Token& token, char c) { return token.kind == Token::punct && token.text[0] == c; }

// A table-level constraint as written in CREATE TABLE.
struct WrittenConstraint {
  enum Kind { primary_key, foreign_key, unique, check } kind;
  std::string name;                  // "" when unnamed
  std::vector<std::string> columns;  // key columns (not for check)
  std::string check_sql;             // the text inside CHECK ( ... )
};

// Reads "( name, name, ... )" starting at tokens[pos] == '('. Returns the position after ')'.
std::size_t read_name_list(const std::vector<Token>& tokens, std::size_t pos, std::vector<std::string>& names) {
  if (pos >= tokens.size() || !is_punct(tokens[pos], '(')) return pos;
  ++pos;
  while (pos < tokens.size() && !is_punct(tokens[pos], ')')) {
    if (tokens[pos].kind == Token::word || tokens[pos].kind == Token::quoted) names.push_back(tokens[pos].text);
    // skip COLLATE x / ASC / DESC
    ++pos;
    while (pos < tokens.size() && !is_punct(tokens[pos], ',') && !is_punct(tokens[pos], ')')) ++pos;
    if (pos < tokens.size() && is_punct(tokens[pos], ',')) ++pos;
  }
  return pos + 1;
}

// A check expression as the model writes it: double-quoted identifiers become {name}.
std::string neutral_check_expression(std::string_view sql) {
  std::string out;
  for (std::size_t i = 0; i < sql.size(); ++i) {
    char c = sql[i];
    if (c == '\'') {
      auto end = i + 1;
      while (end < sql.size()) {
        if (sql[end] == '\'' && end + 1 < sql.size() && sql[end + 1] == '\'') {
          end += 2;
          continue;
        }
        if (sql[end] == '\'') break;
        ++end;
      }
      out += sql.substr(i, end - i + 1);
      i = end;
    } else if (c == '"') {
      std::string name;
      auto j = i + 1;
      while (j < sql.size()) {
        if (sql[j] == '"' && j + 1 < sql.size() && sql[j + 1] == '"') {
          name += '"';
          j += 2;
          continue;
        }
        if (sql[j] == '"') break;
        name += sql[j++];
      }
      out += "{" + name + "}";
      i = j;
    } else {
      out += c;
    }
  }
  return out;
}

std::vector<WrittenConstraint> table_constraints(std::string_view create_sql) {
  auto tokens = tokenize(create_sql);
  std::vector<WrittenConstraint> constraints;
  // The body is the first top-level parenthesis group; items are separated by commas at depth 1.
  std::size_t pos = 0;
  while (pos < tokens.size() && !is_punct(tokens[pos], '(')) ++pos;
  ++pos;
  while (pos < tokens.size()) {
    std::size_t item_begin = pos;
    int depth = 0;
    std::size_t item_end = pos;
    while (item_end < tokens.size()) {
      if (is_punct(tokens[item_end], '(')) ++depth;
      if (is_punct(tokens[item_end], ')')) {
        if (depth == 0) break;
        --depth;
      }
      if (depth == 0 && is_punct(tokens[item_end], ',')) break;
      ++item_end;
    }
    if (item_begin < item_end) {
      std::size_t p = item_begin;
      WrittenConstraint constraint{WrittenConstraint::check, {}, {}, {}};
      bool is_constraint = false;
      if (is_word(tokens[p], "CONSTRAINT") && p + 1 < item_end) {
        constraint.name = tokens[p + 1].text;
        p += 2;
      }
      if (p < item_end && is_word(tokens[p], "PRIMARY")) {
        constraint.kind = WrittenConstraint::primary_key;
        read_name_list(tokens, p + 2, constraint.columns);
        is_constraint = true;
      } else if (p < item_end && is_word(tokens[p], "FOREIGN")) {
        constraint.kind = WrittenConstraint::foreign_key;
        read_name_list(tokens, p + 2, constraint.columns);
        is_constraint = true;
      } else if (p < item_end && is_word(tokens[p], "UNIQUE")) {
        constraint.kind = WrittenConstraint::unique;
        read_name_list(tokens, p + 1, constraint.columns);
        is_constraint = true;
      } else if (p < item_end && is_word(tokens[p], "CHECK") && p + 1 < item_end && is_punct(tokens[p + 1], '(')) {
        constraint.kind = WrittenConstraint::check;
        // The matching ')' of CHECK ( is the item's last ')'.
        std::size_t close = item_end - 1;
        while (close > p + 1 && !is_punct(tokens[close], ')')) --close;
        auto text_begin = tokens[p + 1].end;
        auto text_end = tokens[close].begin;
        constraint.check_sql = std::string(create_sql.substr(text_begin, text_end - text_begin));
        is_constraint = true;
      }
      if (is_constraint) constraints.push_back(std::move(constraint));
    }
    if (item_end >= tokens.size() || is_punct(tokens[item_end], ')')) break;
    pos = item_end + 1;
  }
  return constraints;
}

// ---- mapping SQLite's declared types and default texts back to the model ----

schema::ColumnType model_type(std::string_view declared) {
  std::string type = upper(trim(declared));
  int length = 0;
  auto paren = type.find('(');
  std::string base = trim(type.substr(0, paren));
  if (paren != std::string::npos) {
    auto text = type.substr(paren + 1);
    std::from_chars(text.data(), text.data() + text.size(), length);
  }
  using schema::TypeKind;
  if (base == "INTEGER" || base == "INT" || base == "MEDIUMINT") return {TypeKind::integer, 0};
  if (base == "SMALLINT" || base == "TINYINT") return {TypeKind::smallint, 0};
  if (base == "BIGINT") return {TypeKind::bigint, 0};
  if (base == "FLOAT" || base == "REAL" || base == "DOUBLE" || base == "DOUBLE PRECISION" || base == "NUMERIC" ||
      base == "DECIMAL") {
    return {TypeKind::real, 0};
  }
  if (base == "BOOLEAN" || base == "BOOL") return {TypeKind::boolean, 0};
  if (base == "VARCHAR" || base == "NVARCHAR" || base == "CHAR" || base == "NCHAR" ||
      base == "CHARACTER VARYING") {
    return {TypeKind::string, length};
  }
  if (base == "JSON") return {TypeKind::json, 0};
  if (base == "DATETIME" || base == "TIMESTAMP") return {TypeKind::timestamp, 0};
  if (base == "BLOB") return {TypeKind::blob, 0};
  return {TypeKind::text, 0};
}

bool is_current_timestamp(std::string_view text) {
  std::string normal = upper(text);
  normal.erase(std::remove_if(normal.begin(), normal.end(), [](char c) { return c == ' ' || c == '(' || c == ')'; }),
               normal.end());
  return normal == "CURRENT_TIMESTAMP" || (normal.rfind("STRFTIME", 0) == 0 && normal.find("'NOW'") != std::string::npos) ||
         (normal.rfind("DATETIME", 0) == 0 && normal.find("'NOW'") != std::string::npos);
}

schema::DefaultValue model_default(const std::optional<std::string>& text, const schema::ColumnType& type) {
  if (!text) return std::monostate{};
  std::string value = trim(*text);
  if (is_current_timestamp(value)) return schema::CurrentTimestamp{};
  while (value.size() >= 2 && value.front() == '(' && value.back() == ')') value = trim(value.substr(1, value.size() - 2));
  if (value.size() >= 2 && value.front() == '\'' && value.back() == '\'') {
    std::string unquoted;
    for (std::size_t i = 1; i + 1 < value.size(); ++i) {
      unquoted += value[i];
      if (value[i] == '\'') ++i;  // '' -> '
    }
    return unquoted;
  }
  using schema::TypeKind;
  std::string upper_value = upper(value);
  if (upper_value == "NULL") return std::monostate{};
  switch (type.kind) {
    case TypeKind::boolean:
      if (upper_value == "1" || upper_value == "TRUE") return true;
      if (upper_value == "0" || upper_value == "FALSE") return false;
      break;
    case TypeKind::id:
    case TypeKind::smallint:
    case TypeKind::integer:
    case TypeKind::bigint: {
      std::int64_t number = 0;
      auto result = std::from_chars(value.data(), value.data() + value.size(), number);
      if (result.ec == std::errc() && result.ptr == value.data() + value.size()) return number;
      break;
    }
    case TypeKind::real: {
      double number = 0;
      auto result = std::from_chars(value.data(), value.data() + value.size(), number);
      if (result.ec == std::errc() && result.ptr == value.data() + value.size()) return number;
      break;
    }
    default: break;
  }
  return value;  // an expression lunadb did not write: kept as text
}

schema::OnDelete model_on_delete(std::string_view text) {
  std::string action = upper(text);
  if (action == "CASCADE") return schema::OnDelete::cascade;
  if (action == "SET NULL") return schema::OnDelete::set_null;
  return schema::OnDelete::no_action;
}

std::vector<std::string> index_columns(Connection& connection, const std::string& index) {
  auto statement = connection.prepare("SELECT name FROM pragma_index_info(?) ORDER BY seqno");
  statement->bind(1, Value{index});
  std::vector<std::string> columns;
  while (statement->step()) columns.push_back(statement->get_text(0));
  return columns;
}

}  // namespace

std::string SqliteDialect::column_type(const schema::ColumnType& type) const {
  using schema::TypeKind;
  switch (type.kind) {
    case TypeKind::id: return "INTEGER";
    case TypeKind::smallint: return "SMALLINT";
    case TypeKind::integer: return "INTEGER";
    case TypeKind::bigint: return "BIGINT";
    case TypeKind::real: return "FLOAT";
    case TypeKind::boolean: return "BOOLEAN";
    case TypeKind::string: return type.length > 0 ? "VARCHAR(" + std::to_string(type.length) + ")" : "VARCHAR";
    case TypeKind::text: return "TEXT";
    case TypeKind::json: return "JSON";
    case TypeKind::timestamp: return "DATETIME";
    case TypeKind::blob: return "BLOB";
  }
  return "TEXT";
}

std::string SqliteDialect::literal(const Value& value) const {
  if (const bool* flag = std::get_if<bool>(&value)) return *flag ? "1" : "0";
  return Dialect::literal(value);
}

std::string SqliteDialect::default_literal(const schema::DefaultValue& value) const {
  if (std::holds_alternative<schema::CurrentTimestamp>(value)) return std::string(sqlite_current_timestamp_sql);
  return Dialect::default_literal(value);
}

std::vector<std::string> SqliteDialect::alter_table(const schema::Table& before, const schema::Table& after) const {
  if (before.name != after.name) {
    throw Error(ErrorKind::usage, "alter_table cannot rename: " + before.name + " -> " + after.name);
  }
  schema::Table rebuilt = after;
  rebuilt.name = std::string(rebuild_prefix) + after.name;
  rebuilt.indexes.clear();
  std::vector<std::string> statements = create_table(rebuilt);

  std::string common;
  for (const auto& column : after.columns) {
    if (before.find_column(column.name) == nullptr) continue;
    if (!common.empty()) common += ", ";
    common += quote(column.name);
  }
  if (!common.empty()) {
    statements.push_back("INSERT INTO " + quote(rebuilt.name) + " (" + common + ") SELECT " + common + " FROM " +
                         quote(before.name));
  }
  statements.push_back("DROP TABLE " + quote(before.name));
  statements.push_back("ALTER TABLE " + quote(rebuilt.name) + " RENAME TO " + quote(after.name));
  for (const auto& index : after.indexes) {
    auto more = create_index(after, index);
    statements.insert(statements.end(), more.begin(), more.end());
  }
  return statements;
}

std::vector<std::string> SqliteDialect::before_migration() const { return {"PRAGMA foreign_keys = OFF"}; }
std::vector<std::string> SqliteDialect::after_migration() const { return {"PRAGMA foreign_keys = ON"}; }

void SqliteDialect::check_foreign_keys(Connection& connection) const {
  auto statement = connection.prepare("PRAGMA foreign_key_check");
  std::string problems;
  int count = 0;
  while (statement->step()) {
    if (++count <= 5) {
      if (!problems.empty()) problems += "; ";
      problems += statement->get_text(0) + " row " + statement->get_text(1) + " -> " + statement->get_text(2);
    }
  }
  if (count > 0) {
    throw Error(ErrorKind::constraint, "foreign key violations after the schema change (" + std::to_string(count) +
                                           " rows): " + problems + (count > 5 ? "; ..." : ""));
  }
}

std::string SqliteDialect::insert(std::string_view table, const std::vector<std::string>& columns,
                                  bool returning_id) const {
  std::string sql = insert_many(table, columns, 1);
  if (returning_id && insert_returns_row()) sql += " RETURNING " + quote("id");
  return sql;
}

bool SqliteDialect::insert_returns_row() const { return sqlite3_libversion_number() >= returning_min_version; }

std::string SqliteDialect::upsert(std::string_view table, const std::vector<std::string>& columns,
                                  const std::vector<std::string>& conflict_columns,
                                  const std::vector<std::string>& update_columns) const {
  std::string sql = insert_many(table, columns, 1) + " ON CONFLICT (";
  for (std::size_t i = 0; i < conflict_columns.size(); ++i) sql += (i ? ", " : "") + quote(conflict_columns[i]);
  sql += ")";
  if (update_columns.empty()) return sql + " DO NOTHING";
  sql += " DO UPDATE SET ";
  for (std::size_t i = 0; i < update_columns.size(); ++i) {
    sql += (i ? ", " : "") + quote(update_columns[i]) + " = excluded." + quote(update_columns[i]);
  }
  return sql;
}

std::string SqliteDialect::paginate(std::string_view select_with_order_by, std::optional<std::int64_t> limit,
                                    std::int64_t offset) const {
  std::string sql(select_with_order_by);
  if (!limit && offset <= 0) return sql;
  sql += " LIMIT " + std::to_string(limit ? *limit : -1);  // SQLite needs a LIMIT before OFFSET; -1 = none
  if (offset > 0) sql += " OFFSET " + std::to_string(offset);
  return sql;
}

bool SqliteDialect::table_exists(Connection& connection, std::string_view table) const {
  auto statement = connection.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?");
  statement->bind(1, Value{std::string(table)});
  return statement->step();
}

schema::Schema SqliteDialect::introspect(Connection& connection) const {
  std::vector<std::pair<std::string, std::string>> tables;
  {
    auto statement = connection.prepare(user_tables_sql);
    while (statement->step()) tables.emplace_back(statement->get_text(0), statement->get_optional_text(1).value_or(""));
  }
  schema::Schema result;
  for (const auto& [name, create_sql] : tables) {
    schema::Table table;
    table.name = name;
    auto written = table_constraints(create_sql);

    // Columns and the primary key.
    std::vector<std::pair<int, std::string>> key_columns;
    {
      auto statement = connection.prepare("SELECT name, type, \"notnull\", dflt_value, pk FROM pragma_table_info(?) ORDER BY cid");
      statement->bind(1, Value{name});
      while (statement->step()) {
        schema::Column column;
        column.name = statement->get_text(0);
        column.type = model_type(statement->get_text(1));
        column.nullable = statement->get_int64(2) == 0;
        column.default_value = model_default(statement->get_optional_text(3), column.type);
        if (auto position = statement->get_int64(4); position > 0) {
          key_columns.emplace_back(static_cast<int>(position), column.name);
        }
        table.columns.push_back(std::move(column));
      }
    }
    std::sort(key_columns.begin(), key_columns.end());
    for (const auto& [position, column] : key_columns) table.primary_key.push_back(column);
    // A lone INTEGER key without a default is the rowid: the database generates it (TypeKind::id).
    // With a default (personality_state.id = 1) it is an ordinary integer that happens to be the key.
    if (table.primary_key.size() == 1) {
      for (auto& column : table.columns) {
        if (column.name == table.primary_key[0] && column.type.kind == schema::TypeKind::integer &&
            std::holds_alternative<std::monostate>(column.default_value)) {
          column.type.kind = schema::TypeKind::id;
        }
      }
    }
    for (const auto& constraint : written) {
      if (constraint.kind == WrittenConstraint::primary_key) table.primary_key_name = constraint.name;
    }

    // Foreign keys: SQLite lists them last-declared first; the CREATE text gives the names and order.
    {
      std::map<std::int64_t, schema::ForeignKey> by_id;
      auto statement = connection.prepare(
          "SELECT id, seq, \"table\", \"from\", \"to\", on_delete FROM pragma_foreign_key_list(?) ORDER BY id, seq");
      statement->bind(1, Value{name});
      while (statement->step()) {
        auto& fk = by_id[statement->get_int64(0)];
        fk.referred_table = statement->get_text(2);
        fk.columns.push_back(statement->get_text(3));
        fk.referred_columns.push_back(statement->get_optional_text(4).value_or(""));
        fk.on_delete = model_on_delete(statement->get_text(5));
      }
      std::vector<schema::ForeignKey> unmatched;
      for (auto& [id, fk] : by_id) unmatched.push_back(std::move(fk));
      std::reverse(unmatched.begin(), unmatched.end());
      for (const auto& constraint : written) {
        if (constraint.kind != WrittenConstraint::foreign_key) continue;
        auto found = std::find_if(unmatched.begin(), unmatched.end(),
                                  [&](const schema::ForeignKey& fk) { return fk.columns == constraint.columns; });
        if (found == unmatched.end()) continue;
        found->name = constraint.name;
        table.foreign_keys.push_back(std::move(*found));
        unmatched.erase(found);
      }
      for (auto& fk : unmatched) table.foreign_keys.push_back(std::move(fk));  // inline REFERENCES, unnamed
    }

    // Unique constraints (origin 'u') and indexes (origin 'c', in creation order).
    std::vector<schema::UniqueConstraint> unique_constraints;
    std::set<std::string> created_indexes;
    {
      auto statement = connection.prepare("SELECT name, \"unique\", origin FROM pragma_index_list(?)");
      statement->bind(1, Value{name});
      std::vector<std::string> unique_index_names;
      while (statement->step()) {
        std::string origin = statement->get_text(2);
        if (origin == "u") unique_index_names.push_back(statement->get_text(0));
        if (origin == "c") created_indexes.insert(statement->get_text(0));
      }
      statement.reset();
      std::vector<std::vector<std::string>> unique_columns;
      for (const auto& index : unique_index_names) unique_columns.push_back(index_columns(connection, index));
      for (const auto& constraint : written) {
        if (constraint.kind != WrittenConstraint::unique) continue;
        auto found = std::find(unique_columns.begin(), unique_columns.end(), constraint.columns);
        if (found == unique_columns.end()) continue;
        table.uniques.push_back({constraint.name, constraint.columns});
        unique_columns.erase(found);
      }
      for (auto& columns : unique_columns) table.uniques.push_back({"", std::move(columns)});  // inline UNIQUE
    }
    for (const auto& constraint : written) {
      if (constraint.kind == WrittenConstraint::check) {
        table.checks.push_back({constraint.name, neutral_check_expression(constraint.check_sql)});
      }
    }
    {
      auto statement = connection.prepare(
          "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL ORDER BY rowid");
      statement->bind(1, Value{name});
      std::vector<std::string> names;
      while (statement->step()) names.push_back(statement->get_text(0));
      statement.reset();
      for (const auto& index_name : names) {
        if (!created_indexes.count(index_name)) continue;
        auto unique_statement = connection.prepare("SELECT \"unique\" FROM pragma_index_list(?) WHERE name = ?");
        unique_statement->bind(1, Value{name});
        unique_statement->bind(2, Value{index_name});
        bool unique = unique_statement->step() && unique_statement->get_int64(0) != 0;
        table.indexes.push_back({index_name, index_columns(connection, index_name), unique});
      }
    }
    result.tables.push_back(std::move(table));
  }
  return result;
}

const Dialect& sqlite_dialect() {
  static const SqliteDialect instance;
  return instance;
}

}  // namespace lunadb::sql
