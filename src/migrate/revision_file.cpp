#include "migrate/revision_file.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <set>

#include "lunadb/error.hpp"

namespace lunadb::migrate {
namespace {

constexpr std::string_view kReservedIds[] = {"head", "heads", "base", "current", "none"};

// ---------------------------------------------------------------------------------------------
// Lexing one line

enum class TokenKind { word, quoted_identifier, string, number, punct };

struct Token {
  TokenKind kind;
  std::string text;    // unescaped
  std::size_t begin;   // offset in the line
  std::size_t end;
};

bool is_word_start(char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_'; }
bool is_word_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

class LineError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

std::vector<Token> tokenize(std::string_view line) {
  std::vector<Token> tokens;
  std::size_t i = 0;
  while (i < line.size()) {
    char c = line[i];
    if (c == ' ' || c == '\t') {
      ++i;
      continue;
    }
    std::size_t begin = i;
    if (is_word_start(c)) {
      while (i < line.size() && is_word_char(line[i])) ++i;
      tokens.push_back({TokenKind::word, std::string(line.substr(begin, i - begin)), begin, i});
    } else if (c == '"' || c == '\'') {
      std::string text;
      ++i;
      bool closed = false;
      while (i < line.size()) {
        if (line[i] == c) {
          if (i + 1 < line.size() && line[i + 1] == c) {
            text += c;
            i += 2;
            continue;
          }
          ++i;
          closed = true;
          break;
        }
        text += line[i++];
      }
      if (!closed) throw LineError(fmt::format("unterminated {} starting at column {}", c == '"' ? "quoted identifier" : "string", begin + 1));
      tokens.push_back({c == '"' ? TokenKind::quoted_identifier : TokenKind::string, text, begin, i});
    } else if (std::isdigit(static_cast<unsigned char>(c)) || ((c == '-' || c == '+') && i + 1 < line.size() && (std::isdigit(static_cast<unsigned char>(line[i + 1])) || line[i + 1] == '.'))) {
      ++i;
      while (i < line.size() && (std::isalnum(static_cast<unsigned char>(line[i])) || line[i] == '.' ||
                                 ((line[i] == '-' || line[i] == '+') && (line[i - 1] == 'e' || line[i - 1] == 'E'))))
        ++i;
      tokens.push_back({TokenKind::number, std::string(line.substr(begin, i - begin)), begin, i});
    } else if (c == '(' || c == ')' || c == ',') {
      ++i;
      tokens.push_back({TokenKind::punct, std::string(1, c), begin, i});
    } else if (c == ':' || (c == '<' && i + 1 < line.size() && line[i + 1] == '<')) {
      // Everything after ':' (a check expression, an SQL statement) or '<<' (a block tag) is
      // free text that the caller takes verbatim from the line.
      tokens.push_back({TokenKind::punct, c == ':' ? ":" : "<<", begin, c == ':' ? i + 1 : i + 2});
      break;
    } else {
      throw LineError(fmt::format("unexpected character '{}' at column {}", c, begin + 1));
    }
  }
  return tokens;
}

// A cursor over one line's tokens.
class Cursor {
 public:
  Cursor(std::string_view line, std::vector<Token> tokens) : line_(line), tokens_(std::move(tokens)) {}

  bool done() const { return pos_ >= tokens_.size(); }
  const Token* peek() const { return done() ? nullptr : &tokens_[pos_]; }
  bool peek_word(std::string_view word) const {
    auto* t = peek();
    return t && t->kind == TokenKind::word && t->text == word;
  }
  bool peek_punct(char p) const {
    auto* t = peek();
    return t && t->kind == TokenKind::punct && t->text[0] == p;
  }
  bool accept_word(std::string_view word) {
    if (!peek_word(word)) return false;
    ++pos_;
    return true;
  }
  bool accept_punct(char p) {
    if (!peek_punct(p)) return false;
    ++pos_;
    return true;
  }
  void expect_word(std::string_view word) {
    if (!accept_word(word)) fail(fmt::format("expected '{}'", word));
  }
  void expect_punct(char p) {
    if (!accept_punct(p)) fail(fmt::format("expected '{}'", p));
  }
  std::string word(std::string_view what) {
    auto* t = peek();
    if (!t || t->kind != TokenKind::word) fail(fmt::format("expected {}", what));
    ++pos_;
    return t->text;
  }
  std::string identifier(std::string_view what) {
    auto* t = peek();
    if (!t || (t->kind != TokenKind::word && t->kind != TokenKind::quoted_identifier)) fail(fmt::format("expected {}", what));
    if (t->text.empty()) fail(fmt::format("{} must not be empty", what));
    ++pos_;
    return t->text;
  }
  std::vector<std::string> identifier_list(std::string_view what) {
    expect_punct('(');
    std::vector<std::string> names;
    do {
      names.push_back(identifier(what));
    } while (accept_punct(','));
    expect_punct(')');
    return names;
  }
  // Everything after a ':' token, verbatim and trimmed.
  std::string rest_after_colon(std::string_view what) {
    auto* t = peek();
    if (!t || t->kind != TokenKind::punct || t->text != ":") fail(fmt::format("expected ':' followed by {}", what));
    std::string rest(line_.substr(t->end));
    pos_ = tokens_.size();
    auto first = rest.find_first_not_of(" \t");
    if (first == std::string::npos) fail(fmt::format("expected {} after ':'", what));
    auto last = rest.find_last_not_of(" \t");
    return rest.substr(first, last - first + 1);
  }
  const Token& next(std::string_view what) {
    if (done()) fail(fmt::format("expected {}", what));
    return tokens_[pos_++];
  }
  void expect_end() {
    if (!done()) fail(fmt::format("unexpected '{}'", line_.substr(tokens_[pos_].begin, tokens_[pos_].end - tokens_[pos_].begin)));
  }
  [[noreturn]] void fail(const std::string& message) const {
    if (!done()) throw LineError(fmt::format("{} at column {}", message, tokens_[pos_].begin + 1));
    throw LineError(message + " at end of line");
  }

 private:
  std::string_view line_;
  std::vector<Token> tokens_;
  std::size_t pos_ = 0;
};

// ---------------------------------------------------------------------------------------------
// Grammar pieces

schema::ColumnType parse_type(Cursor& cursor) {
  std::string name = cursor.word("a column type");
  if (const auto known = schema::type_kind_from_name(name)) {
    const schema::TypeKind kind = *known;
    schema::ColumnType type{kind, 0};
    // `string` alone is SQLAlchemy's String() without a length (Luna's columns).
    if (kind == schema::TypeKind::string && cursor.accept_punct('(')) {
      const Token& n = cursor.next("a length");
      int length = 0;
      auto [ptr, ec] = std::from_chars(n.text.data(), n.text.data() + n.text.size(), length);
      if (n.kind != TokenKind::number || ec != std::errc() || ptr != n.text.data() + n.text.size() || length <= 0)
        throw LineError(fmt::format("string length must be a positive integer, got '{}'", n.text));
      type.length = length;
      cursor.expect_punct(')');
    }
    return type;
  }
  throw LineError(fmt::format("unknown column type '{}' (expected one of id, smallint, integer, bigint, real, boolean, "
                              "string(N), text, json, timestamp, blob)",
                              name));
}

// Integer literals without '.' or exponent, doubles with one: "1" and "1.0" stay distinct.
sql::Value parse_number(const std::string& text) {
  bool is_double = text.find_first_of(".eE") != std::string::npos;
  if (!is_double) {
    std::int64_t v = 0;
    const char* begin = text.data() + (text[0] == '+' ? 1 : 0);
    auto [ptr, ec] = std::from_chars(begin, text.data() + text.size(), v);
    if (ec == std::errc() && ptr == text.data() + text.size()) return v;
  } else {
    double v = 0;
    const char* begin = text.data() + (text[0] == '+' ? 1 : 0);
    auto [ptr, ec] = std::from_chars(begin, text.data() + text.size(), v);
    if (ec == std::errc() && ptr == text.data() + text.size() && std::isfinite(v)) return v;
  }
  throw LineError(fmt::format("malformed number '{}'", text));
}

sql::Value parse_value(Cursor& cursor) {
  const Token& t = cursor.next("a value");
  switch (t.kind) {
    case TokenKind::string: return t.text;
    case TokenKind::number: return parse_number(t.text);
    case TokenKind::word:
      if (t.text == "null") return std::monostate{};
      if (t.text == "true") return true;
      if (t.text == "false") return false;
      break;
    default: break;
  }
  throw LineError(fmt::format("expected a value (null, true, false, a number or a 'string'), got '{}'", t.text));
}

schema::DefaultValue parse_default(Cursor& cursor) {
  if (cursor.accept_word("current_timestamp")) return schema::CurrentTimestamp{};
  if (cursor.peek_word("null")) cursor.fail("'default null' is not a default; omit the default instead");
  sql::Value v = parse_value(cursor);
  if (auto* b = std::get_if<bool>(&v)) return *b;
  if (auto* i = std::get_if<std::int64_t>(&v)) return *i;
  if (auto* d = std::get_if<double>(&v)) return *d;
  return std::get<std::string>(v);
}

// NAME TYPE (null | not null) [default LITERAL]
schema::Column parse_column(Cursor& cursor) {
  schema::Column column;
  column.name = cursor.identifier("a column name");
  column.type = parse_type(cursor);
  if (cursor.accept_word("null")) {
    column.nullable = true;
  } else if (cursor.accept_word("not")) {
    cursor.expect_word("null");
    column.nullable = false;
  } else {
    cursor.fail("expected 'null' or 'not null'");
  }
  if (cursor.accept_word("default")) column.default_value = parse_default(cursor);
  cursor.expect_end();
  return column;
}

schema::OnDelete parse_on_delete(Cursor& cursor) {
  if (!cursor.accept_word("on_delete")) return schema::OnDelete::no_action;
  std::string what = cursor.word("cascade, set_null or no_action");
  if (what == "cascade") return schema::OnDelete::cascade;
  if (what == "set_null") return schema::OnDelete::set_null;
  if (what == "no_action") return schema::OnDelete::no_action;
  throw LineError(fmt::format("unknown on_delete action '{}' (expected cascade, set_null or no_action)", what));
}

// NAME (cols) references TABLE (cols) [on_delete ACTION]
schema::ForeignKey parse_foreign_key(Cursor& cursor) {
  schema::ForeignKey fk;
  fk.name = cursor.identifier("a foreign key name");
  fk.columns = cursor.identifier_list("a column name");
  cursor.expect_word("references");
  fk.referred_table = cursor.identifier("the referred table");
  fk.referred_columns = cursor.identifier_list("a referred column name");
  if (fk.columns.size() != fk.referred_columns.size())
    throw LineError(fmt::format("foreign key {} has {} columns but refers to {}", fk.name, fk.columns.size(), fk.referred_columns.size()));
  fk.on_delete = parse_on_delete(cursor);
  cursor.expect_end();
  return fk;
}

schema::Index parse_index(Cursor& cursor) {
  schema::Index index;
  index.name = cursor.identifier("an index name");
  index.columns = cursor.identifier_list("a column name");
  index.unique = cursor.accept_word("unique");
  cursor.expect_end();
  return index;
}

schema::UniqueConstraint parse_unique(Cursor& cursor) {
  schema::UniqueConstraint unique;
  unique.name = cursor.identifier("a unique constraint name");
  unique.columns = cursor.identifier_list("a column name");
  cursor.expect_end();
  return unique;
}

schema::CheckConstraint parse_check(Cursor& cursor) {
  schema::CheckConstraint check;
  check.name = cursor.identifier("a check constraint name");
  check.expression = cursor.rest_after_colon("the check expression");
  return check;
}

std::optional<Backend> backend_named(std::string_view name) {
  if (name == "sqlite") return Backend::sqlite;
  if (name == "postgresql") return Backend::postgresql;
  if (name == "mysql") return Backend::mysql;
  if (name == "mssql") return Backend::mssql;
  return std::nullopt;
}

// ---------------------------------------------------------------------------------------------
// The file

class Parser {
 public:
  Parser(std::string_view text, const std::string& source) : source_(source) {
    std::size_t start = 0;
    while (start <= text.size()) {
      auto nl = text.find('\n', start);
      std::string_view line = text.substr(start, nl == std::string_view::npos ? std::string_view::npos : nl - start);
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      lines_.push_back(line);
      if (nl == std::string_view::npos) break;
      start = nl + 1;
    }
    if (lines_.size() > 1 && lines_.back().empty()) lines_.pop_back();  // the final newline ends a line
  }

  Revision parse() {
    Revision revision;
    revision.source = source_;
    std::set<std::string> seen;
    enum class Section { header, upgrade, downgrade } section = Section::header;
    for (index_ = 0; index_ < lines_.size(); ++index_) {
      std::string_view line = lines_[index_];
      std::string_view trimmed = trim(line);
      if (trimmed.empty() || trimmed[0] == '#') continue;
      try {
        if (trimmed == "upgrade:") {
          if (section != Section::header) throw LineError("'upgrade:' must come once, after the header");
          check_header(revision, seen);
          section = Section::upgrade;
          continue;
        }
        if (trimmed == "downgrade:") {
          if (section != Section::upgrade) throw LineError("'downgrade:' must come once, after 'upgrade:'");
          section = Section::downgrade;
          continue;
        }
        if (section == Section::header) {
          parse_header_line(trimmed, revision, seen);
        } else {
          int line_number = static_cast<int>(index_) + 1;
          Operation op = parse_operation(trimmed);
          (section == Section::upgrade ? revision.upgrade : revision.downgrade).push_back({std::move(op), line_number});
        }
      } catch (const LineError& e) {
        fail(static_cast<int>(index_) + 1, e.what());
      }
    }
    if (section == Section::header) {
      check_header(revision, seen);
      fail(static_cast<int>(lines_.size()), "missing 'upgrade:' section");
    }
    if (section == Section::upgrade) fail(static_cast<int>(lines_.size()), "missing 'downgrade:' section");
    return revision;
  }

 private:
  static std::string_view trim(std::string_view s) {
    auto first = s.find_first_not_of(" \t");
    if (first == std::string_view::npos) return {};
    auto last = s.find_last_not_of(" \t");
    return s.substr(first, last - first + 1);
  }

  [[noreturn]] void fail(int line, const std::string& message) const {
    throw Error(ErrorKind::migration, fmt::format("{}:{}: {}", source_, line, message));
  }

  void parse_header_line(std::string_view line, Revision& revision, std::set<std::string>& seen) {
    auto colon = line.find(':');
    if (colon == std::string_view::npos) throw LineError("expected 'key: value' in the header (or 'upgrade:')");
    std::string key(trim(line.substr(0, colon)));
    std::string value(trim(line.substr(colon + 1)));
    if (!seen.insert(key).second) throw LineError(fmt::format("header field '{}' given twice", key));
    if (key == "revision") {
      if (!valid_revision_id(value))
        throw LineError(fmt::format("revision id '{}' must be 1-32 characters of 0-9, a-z and '_' and not a reserved word (head, heads, base, current, none)", value));
      revision.id = value;
    } else if (key == "down_revision") {
      if (value == "none") return;
      std::size_t start = 0;
      while (start <= value.size()) {
        auto comma = value.find(',', start);
        std::string id(trim(std::string_view(value).substr(start, comma == std::string::npos ? std::string::npos : comma - start)));
        if (!valid_revision_id(id)) throw LineError(fmt::format("down_revision '{}' is not a revision id (use 'none' for a first revision)", id));
        for (auto& other : revision.down_revisions)
          if (other == id) throw LineError(fmt::format("down_revision lists '{}' twice", id));
        revision.down_revisions.push_back(id);
        if (comma == std::string::npos) break;
        start = comma + 1;
      }
    } else if (key == "message") {
      revision.message = value;
    } else if (key == "create_date") {
      revision.create_date = value;
    } else {
      throw LineError(fmt::format("unknown header field '{}' (expected revision, down_revision, message, create_date)", key));
    }
  }

  void check_header(const Revision& revision, const std::set<std::string>& seen) const {
    for (const char* required : {"revision", "down_revision", "message", "create_date"})
      if (!seen.count(required)) fail(static_cast<int>(index_) + 1, fmt::format("header field '{}' is missing", required));
    for (auto& parent : revision.down_revisions)
      if (parent == revision.id) fail(static_cast<int>(index_) + 1, "a revision cannot be its own down_revision");
  }

  Operation parse_operation(std::string_view line) {
    Cursor cursor(line, tokenize(line));
    std::string verb = cursor.word("an operation");
    if (verb == "create_table") {
      std::string name = cursor.identifier("a table name");
      cursor.expect_end();
      return CreateTable{parse_table_body(std::move(name))};
    }
    if (verb == "drop_table") {
      DropTable op{cursor.identifier("a table name")};
      cursor.expect_end();
      return op;
    }
    if (verb == "add_column") {
      AddColumn op;
      op.table = cursor.identifier("a table name");
      op.column = parse_column(cursor);
      return op;
    }
    if (verb == "drop_column") {
      DropColumn op;
      op.table = cursor.identifier("a table name");
      op.column = cursor.identifier("a column name");
      cursor.expect_end();
      return op;
    }
    if (verb == "alter_column") return parse_alter_column(cursor);
    if (verb == "create_index") {
      CreateIndex op;
      op.table = cursor.identifier("a table name");
      op.index = parse_index(cursor);
      return op;
    }
    if (verb == "add_unique") {
      AddUnique op;
      op.table = cursor.identifier("a table name");
      op.unique = parse_unique(cursor);
      return op;
    }
    if (verb == "add_check") {
      AddCheck op;
      op.table = cursor.identifier("a table name");
      op.check = parse_check(cursor);
      return op;
    }
    if (verb == "add_foreign_key") {
      AddForeignKey op;
      op.table = cursor.identifier("a table name");
      op.foreign_key = parse_foreign_key(cursor);
      return op;
    }
    if (verb == "drop_index" || verb == "drop_unique" || verb == "drop_check" || verb == "drop_foreign_key") {
      std::string table = cursor.identifier("a table name");
      std::string name = cursor.identifier("a constraint or index name");
      cursor.expect_end();
      if (verb == "drop_index") return DropIndex{table, name};
      if (verb == "drop_unique") return DropUnique{table, name};
      if (verb == "drop_check") return DropCheck{table, name};
      return DropForeignKey{table, name};
    }
    if (verb == "insert") return parse_insert(cursor);
    if (verb == "sql") return parse_raw_sql(cursor, line);
    throw LineError(fmt::format(
        "unknown operation '{}' (expected create_table, drop_table, add_column, drop_column, alter_column, "
        "create_index, drop_index, add_unique, drop_unique, add_check, drop_check, add_foreign_key, "
        "drop_foreign_key, insert or sql)",
        verb));
  }

  AlterColumn parse_alter_column(Cursor& cursor) {
    AlterColumn op;
    op.table = cursor.identifier("a table name");
    op.column = cursor.identifier("a column name");
    while (!cursor.done()) {
      if (cursor.accept_word("type")) {
        if (op.type) cursor.fail("'type' given twice");
        op.type = parse_type(cursor);
      } else if (cursor.accept_word("null")) {
        if (op.nullable) cursor.fail("nullability given twice");
        op.nullable = true;
      } else if (cursor.accept_word("not")) {
        cursor.expect_word("null");
        if (op.nullable) cursor.fail("nullability given twice");
        op.nullable = false;
      } else if (cursor.accept_word("default")) {
        if (op.default_value) cursor.fail("default given twice");
        op.default_value = parse_default(cursor);
      } else if (cursor.accept_word("no_default")) {
        if (op.default_value) cursor.fail("default given twice");
        op.default_value = schema::DefaultValue{};
      } else {
        cursor.fail("expected 'type T', 'null', 'not null', 'default V' or 'no_default'");
      }
    }
    if (!op.type && !op.nullable && !op.default_value) throw LineError("alter_column changes nothing");
    return op;
  }

  InsertRows parse_insert(Cursor& cursor) {
    InsertRows op;
    op.table = cursor.identifier("a table name");
    op.columns = cursor.identifier_list("a column name");
    cursor.expect_word("values");
    do {
      cursor.expect_punct('(');
      std::vector<sql::Value> row;
      do {
        row.push_back(parse_value(cursor));
      } while (cursor.accept_punct(','));
      cursor.expect_punct(')');
      if (row.size() != op.columns.size())
        throw LineError(fmt::format("a row has {} values for {} columns", row.size(), op.columns.size()));
      op.rows.push_back(std::move(row));
    } while (cursor.accept_punct(','));
    cursor.expect_end();
    return op;
  }

  // sql BACKEND[, BACKEND...]: statement        or        sql BACKEND[, ...] <<TAG ... TAG
  RawSql parse_raw_sql(Cursor& cursor, std::string_view line) {
    RawSql op;
    do {
      std::string name = cursor.word("a backend (sqlite, postgresql, mysql, mssql)");
      auto backend = backend_named(name);
      if (!backend) throw LineError(fmt::format("unknown backend '{}' (expected sqlite, postgresql, mysql or mssql)", name));
      op.backends.push_back(*backend);
    } while (cursor.accept_punct(','));
    if (cursor.peek_punct(':')) {
      op.sql = cursor.rest_after_colon("an SQL statement");
      return op;
    }
    if (!cursor.peek_punct('<')) throw LineError("expected ': STATEMENT' or '<<TAG' after the backends");
    std::string tag(trim(line.substr(cursor.peek()->end)));
    if (tag.empty() || !std::all_of(tag.begin(), tag.end(), is_word_char)) throw LineError("expected a tag word after '<<'");
    int start_line = static_cast<int>(index_) + 1;
    std::string body;
    for (++index_; index_ < lines_.size(); ++index_) {
      if (trim(lines_[index_]) == tag) {
        auto first = body.find_first_not_of(" \t\n");
        if (first == std::string::npos) throw LineError(fmt::format("the SQL block opened on line {} is empty", start_line));
        op.sql = body.substr(first, body.find_last_not_of(" \t\n") - first + 1);
        return op;
      }
      if (!body.empty()) body += '\n';
      body += lines_[index_];
    }
    fail(start_line, fmt::format("the SQL block '<<{}' is never closed by a line '{}'", tag, tag));
  }

  schema::Table parse_table_body(std::string name) {
    schema::Table table;
    table.name = std::move(name);
    int start_line = static_cast<int>(index_) + 1;
    for (++index_; index_ < lines_.size(); ++index_) {
      std::string_view line = trim(lines_[index_]);
      if (line.empty() || line[0] == '#') continue;
      if (line == "end") {
        if (table.columns.empty()) throw LineError(fmt::format("table {} has no columns", table.name));
        validate_table(table);
        return table;
      }
      try {
        Cursor cursor(line, tokenize(line));
        std::string what = cursor.word("column, primary_key, foreign_key, unique, check, index or end");
        if (what == "column") {
          auto column = parse_column(cursor);
          if (table.find_column(column.name)) throw LineError(fmt::format("column {} given twice", column.name));
          table.columns.push_back(std::move(column));
        } else if (what == "primary_key") {
          if (!table.primary_key.empty()) throw LineError("primary_key given twice");
          table.primary_key_name = cursor.identifier("a primary key name");
          table.primary_key = cursor.identifier_list("a column name");
          cursor.expect_end();
        } else if (what == "foreign_key") {
          table.foreign_keys.push_back(parse_foreign_key(cursor));
        } else if (what == "unique") {
          table.uniques.push_back(parse_unique(cursor));
        } else if (what == "check") {
          table.checks.push_back(parse_check(cursor));
        } else if (what == "index") {
          table.indexes.push_back(parse_index(cursor));
        } else {
          throw LineError(fmt::format("unknown table element '{}' (expected column, primary_key, foreign_key, unique, check, index or end)", what));
        }
      } catch (const LineError& e) {
        fail(static_cast<int>(index_) + 1, e.what());
      }
    }
    fail(start_line, fmt::format("create_table {} is never closed by 'end'", table.name));
  }

  // Columns named by constraints must exist: a typo would otherwise surface as a database error
  // in the middle of a migration.
  static void validate_table(const schema::Table& table) {
    auto check_columns = [&](const std::vector<std::string>& columns, std::string_view owner) {
      for (auto& c : columns)
        if (!table.find_column(c)) throw LineError(fmt::format("{} names column {}, which table {} does not have", owner, c, table.name));
    };
    check_columns(table.primary_key, "primary_key " + table.primary_key_name);
    for (auto& fk : table.foreign_keys) check_columns(fk.columns, "foreign_key " + fk.name);
    for (auto& u : table.uniques) check_columns(u.columns, "unique " + u.name);
    for (auto& i : table.indexes) check_columns(i.columns, "index " + i.name);
  }

  std::string source_;
  std::vector<std::string_view> lines_;
  std::size_t index_ = 0;
};

// ---------------------------------------------------------------------------------------------
// Writing

bool needs_quoting(std::string_view name) {
  static const std::set<std::string, std::less<>> keywords = {
      "null", "not", "default", "unique", "references", "on_delete", "type", "no_default", "values", "end",
      "true", "false", "current_timestamp"};
  if (name.empty() || !is_word_start(name[0])) return true;
  for (char c : name)
    if (!is_word_char(c)) return true;
  return keywords.count(name) > 0;
}

std::string ident(std::string_view name) {
  if (!needs_quoting(name)) return std::string(name);
  std::string out = "\"";
  for (char c : name) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

std::string ident_list(const std::vector<std::string>& names) {
  std::string out = "(";
  for (std::size_t i = 0; i < names.size(); ++i) out += (i ? ", " : "") + ident(names[i]);
  return out + ")";
}

std::string string_literal(std::string_view s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') out += '\'';
    out += c;
  }
  return out + "'";
}

std::string format_double(double d) {
  char buffer[64];
  auto [ptr, ec] = std::to_chars(buffer, buffer + sizeof buffer, d);
  std::string s(buffer, ptr);
  if (s.find_first_of(".eE") == std::string::npos) s += ".0";
  return s;
}

std::string format_value(const sql::Value& v) {
  if (std::holds_alternative<std::monostate>(v)) return "null";
  if (auto* b = std::get_if<bool>(&v)) return *b ? "true" : "false";
  if (auto* i = std::get_if<std::int64_t>(&v)) return std::to_string(*i);
  if (auto* d = std::get_if<double>(&v)) return format_double(*d);
  if (auto* s = std::get_if<std::string>(&v)) return string_literal(*s);
  throw Error(ErrorKind::unsupported, "revision files can hold null, booleans, numbers and strings only");
}

std::string format_column(const schema::Column& c) {
  std::string out = ident(c.name) + " " + format_column_type(c.type) + (c.nullable ? " null" : " not null");
  if (!std::holds_alternative<std::monostate>(c.default_value)) out += " default " + format_default(c.default_value);
  return out;
}

const char* on_delete_name(schema::OnDelete action) {
  switch (action) {
    case schema::OnDelete::cascade: return "cascade";
    case schema::OnDelete::set_null: return "set_null";
    case schema::OnDelete::no_action: return "no_action";
  }
  return "no_action";
}

std::string format_foreign_key(const schema::ForeignKey& fk) {
  std::string out = ident(fk.name) + " " + ident_list(fk.columns) + " references " + ident(fk.referred_table) + " " +
                    ident_list(fk.referred_columns);
  if (fk.on_delete != schema::OnDelete::no_action) out += std::string(" on_delete ") + on_delete_name(fk.on_delete);
  return out;
}

std::string format_index(const schema::Index& index) {
  return ident(index.name) + " " + ident_list(index.columns) + (index.unique ? " unique" : "");
}

const char* backend_name(Backend b) {
  switch (b) {
    case Backend::sqlite: return "sqlite";
    case Backend::postgresql: return "postgresql";
    case Backend::mysql: return "mysql";
    case Backend::mssql: return "mssql";
  }
  return "sqlite";
}

template <class... F>
struct Overloaded : F... {
  using F::operator()...;
};
template <class... F>
Overloaded(F...) -> Overloaded<F...>;

}  // namespace

bool valid_revision_id(std::string_view id) {
  if (id.empty() || id.size() > 32) return false;
  for (char c : id)
    if (!(std::isdigit(static_cast<unsigned char>(c)) || (c >= 'a' && c <= 'z') || c == '_')) return false;
  for (auto reserved : kReservedIds)
    if (id == reserved) return false;
  return true;
}

Revision parse_revision(std::string_view text, const std::string& source) {
  return Parser(text, source).parse();
}

std::string format_column_type(const schema::ColumnType& type) {
  if (type.kind == schema::TypeKind::string && type.length > 0) return fmt::format("string({})", type.length);
  return std::string(schema::type_kind_name(type.kind));
}

std::string format_default(const schema::DefaultValue& value) {
  return std::visit(Overloaded{
                        [](std::monostate) -> std::string { return "none"; },
                        [](bool b) -> std::string { return b ? "true" : "false"; },
                        [](std::int64_t i) -> std::string { return std::to_string(i); },
                        [](double d) -> std::string { return format_double(d); },
                        [](const std::string& s) -> std::string { return string_literal(s); },
                        [](schema::CurrentTimestamp) -> std::string { return "current_timestamp"; },
                    },
                    value);
}

std::string format_operation(const Operation& operation) {
  return std::visit(
      Overloaded{
          [](const CreateTable& op) {
            const auto& t = op.table;
            std::string out = "create_table " + ident(t.name) + "\n";
            for (auto& c : t.columns) out += "  column " + format_column(c) + "\n";
            if (!t.primary_key.empty()) out += "  primary_key " + ident(t.primary_key_name) + " " + ident_list(t.primary_key) + "\n";
            for (auto& fk : t.foreign_keys) out += "  foreign_key " + format_foreign_key(fk) + "\n";
            for (auto& u : t.uniques) out += "  unique " + ident(u.name) + " " + ident_list(u.columns) + "\n";
            for (auto& c : t.checks) out += "  check " + ident(c.name) + ": " + c.expression + "\n";
            for (auto& i : t.indexes) out += "  index " + format_index(i) + "\n";
            return out + "end";
          },
          [](const DropTable& op) { return "drop_table " + ident(op.table); },
          [](const AddColumn& op) { return "add_column " + ident(op.table) + " " + format_column(op.column); },
          [](const DropColumn& op) { return "drop_column " + ident(op.table) + " " + ident(op.column); },
          [](const AlterColumn& op) {
            std::string out = "alter_column " + ident(op.table) + " " + ident(op.column);
            if (op.type) out += " type " + format_column_type(*op.type);
            if (op.nullable) out += *op.nullable ? " null" : " not null";
            if (op.default_value)
              out += std::holds_alternative<std::monostate>(*op.default_value) ? " no_default" : " default " + format_default(*op.default_value);
            return out;
          },
          [](const CreateIndex& op) { return "create_index " + ident(op.table) + " " + format_index(op.index); },
          [](const DropIndex& op) { return "drop_index " + ident(op.table) + " " + ident(op.name); },
          [](const AddUnique& op) { return "add_unique " + ident(op.table) + " " + ident(op.unique.name) + " " + ident_list(op.unique.columns); },
          [](const DropUnique& op) { return "drop_unique " + ident(op.table) + " " + ident(op.name); },
          [](const AddCheck& op) { return "add_check " + ident(op.table) + " " + ident(op.check.name) + ": " + op.check.expression; },
          [](const DropCheck& op) { return "drop_check " + ident(op.table) + " " + ident(op.name); },
          [](const AddForeignKey& op) { return "add_foreign_key " + ident(op.table) + " " + format_foreign_key(op.foreign_key); },
          [](const DropForeignKey& op) { return "drop_foreign_key " + ident(op.table) + " " + ident(op.name); },
          [](const InsertRows& op) {
            std::string out = "insert " + ident(op.table) + " " + ident_list(op.columns) + " values ";
            for (std::size_t r = 0; r < op.rows.size(); ++r) {
              out += r ? ", (" : "(";
              for (std::size_t i = 0; i < op.rows[r].size(); ++i) out += (i ? ", " : "") + format_value(op.rows[r][i]);
              out += ")";
            }
            return out;
          },
          [](const RawSql& op) {
            std::string out = "sql ";
            for (std::size_t i = 0; i < op.backends.size(); ++i) out += (i ? ", " : "") + std::string(backend_name(op.backends[i]));
            if (op.sql.find('\n') == std::string::npos) return out + ": " + op.sql;
            return out + " <<SQL\n" + op.sql + "\nSQL";
          },
      },
      operation);
}

std::string describe_operation(const Operation& operation) {
  return std::visit(
      Overloaded{
          [](const CreateTable& op) { return "create table " + op.table.name; },
          [](const DropTable& op) { return "drop table " + op.table; },
          [](const AddColumn& op) { return "add column " + op.table + "." + op.column.name; },
          [](const DropColumn& op) { return "drop column " + op.table + "." + op.column; },
          [](const AlterColumn& op) {
            std::string what;
            if (op.type) what += " type";
            if (op.nullable) what += " nullability";
            if (op.default_value) what += " default";
            return "alter column " + op.table + "." + op.column + " (" + what.substr(1) + ")";
          },
          [](const CreateIndex& op) { return "create index " + op.index.name + " on " + op.table; },
          [](const DropIndex& op) { return "drop index " + op.name + " on " + op.table; },
          [](const AddUnique& op) { return "add unique constraint " + op.unique.name + " on " + op.table; },
          [](const DropUnique& op) { return "drop unique constraint " + op.name + " on " + op.table; },
          [](const AddCheck& op) { return "add check constraint " + op.check.name + " on " + op.table; },
          [](const DropCheck& op) { return "drop check constraint " + op.name + " on " + op.table; },
          [](const AddForeignKey& op) { return "add foreign key " + op.foreign_key.name + " on " + op.table; },
          [](const DropForeignKey& op) { return "drop foreign key " + op.name + " on " + op.table; },
          [](const InsertRows& op) { return fmt::format("insert {} row(s) into {}", op.rows.size(), op.table); },
          [](const RawSql&) { return std::string("raw SQL"); },
      },
      operation);
}

std::string format_revision(const Revision& revision) {
  std::string out;
  out += "# lunadb revision file; format: docs/migrations.md\n";
  out += "revision: " + revision.id + "\n";
  std::string parents;
  for (std::size_t i = 0; i < revision.down_revisions.size(); ++i) parents += (i ? ", " : "") + revision.down_revisions[i];
  out += "down_revision: " + (parents.empty() ? std::string("none") : parents) + "\n";
  out += "message: " + revision.message + "\n";
  out += "create_date: " + revision.create_date + "\n";
  out += "\nupgrade:\n";
  for (auto& op : revision.upgrade) out += format_operation(op.operation) + "\n";
  out += "\ndowngrade:\n";
  for (auto& op : revision.downgrade) out += format_operation(op.operation) + "\n";
  return out;
}

}  // namespace lunadb::migrate
