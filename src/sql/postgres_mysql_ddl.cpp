#include "sql/postgres_mysql_ddl.hpp"

#include <algorithm>
#include <cctype>
#include <cstdio>

namespace lunadb::sql::server_ddl {

namespace {

template <typename T>
const T* find_named(const std::vector<T>& items, const std::string& name) {
  for (const auto& item : items) {
    if (item.name == name) return &item;
  }
  return nullptr;
}

template <typename T>
void diff_named(const std::vector<T>& before, const std::vector<T>& after, std::vector<const T*>& drop,
                std::vector<const T*>& add) {
  for (const auto& item : before) {
    const T* other = find_named(after, item.name);
    if (!other || !(*other == item)) drop.push_back(&item);
  }
  for (const auto& item : after) {
    const T* other = find_named(before, item.name);
    if (!other || !(*other == item)) add.push_back(&item);
  }
}

std::string upper(std::string_view text) {
  std::string out(text);
  for (auto& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

std::string trim(std::string_view text) {
  std::size_t begin = 0;
  std::size_t end = text.size();
  while (begin < end && std::isspace(static_cast<unsigned char>(text[begin]))) ++begin;
  while (end > begin && std::isspace(static_cast<unsigned char>(text[end - 1]))) --end;
  return std::string(text.substr(begin, end - begin));
}

}  // namespace

TableDiff diff(const schema::Table& before, const schema::Table& after) {
  TableDiff d;
  diff_named(before.foreign_keys, after.foreign_keys, d.drop_foreign_keys, d.add_foreign_keys);
  diff_named(before.uniques, after.uniques, d.drop_uniques, d.add_uniques);
  diff_named(before.checks, after.checks, d.drop_checks, d.add_checks);
  diff_named(before.indexes, after.indexes, d.drop_indexes, d.add_indexes);
  for (const auto& column : before.columns) {
    const schema::Column* other = after.find_column(column.name);
    if (!other) {
      d.drop_columns.push_back(&column);
    } else if (!(*other == column)) {
      d.change_columns.push_back({&column, other});
    }
  }
  for (const auto& column : after.columns) {
    if (!before.find_column(column.name)) d.add_columns.push_back(&column);
  }
  d.primary_key_changed = before.primary_key != after.primary_key || before.primary_key_name != after.primary_key_name;
  return d;
}

schema::DefaultValue parse_default(std::string_view raw, const schema::ColumnType& type) {
  std::string text = trim(raw);
  // Strip redundant outer parentheses: "(0)", "('[]')".
  while (text.size() >= 2 && text.front() == '(' && text.back() == ')') text = trim(text.substr(1, text.size() - 2));
  if (text.empty() || upper(text) == "NULL" || upper(text).rfind("NULL::", 0) == 0) return std::monostate{};

  const std::string up = upper(text);
  if (up == "CURRENT_TIMESTAMP" || up.rfind("CURRENT_TIMESTAMP(", 0) == 0 || up == "NOW()" ||
      up.rfind("NOW(", 0) == 0 || up == "LOCALTIMESTAMP" || up.rfind("TIMEZONE('UTC'", 0) == 0 ||
      up == "UTC_TIMESTAMP()" || up.rfind("UTC_TIMESTAMP(", 0) == 0) {
    return schema::CurrentTimestamp{};
  }

  std::string value;
  // MySQL 8 writes expression defaults on strings as _utf8mb4'...'.
  if (text.rfind("_utf8mb4", 0) == 0) text = text.substr(8);
  if (!text.empty() && text.front() == '\'') {
    std::size_t i = 1;
    while (i < text.size()) {
      if (text[i] == '\\' && i + 1 < text.size()) {
        const char next = text[i + 1];
        value += next == 'n' ? '\n' : next == 't' ? '\t' : next == '0' ? '\0' : next;
        i += 2;
        continue;
      }
      if (text[i] == '\'') {
        if (i + 1 < text.size() && text[i + 1] == '\'') {
          value += '\'';
          i += 2;
          continue;
        }
        break;
      }
      value += text[i++];
    }
  } else {
    const auto cast = text.find("::");
    value = trim(cast == std::string::npos ? text : text.substr(0, cast));
  }

  switch (type.kind) {
    case schema::TypeKind::boolean: {
      const std::string v = upper(value);
      return v == "TRUE" || v == "1" || v == "T" || v == "B'1'";
    }
    case schema::TypeKind::id:
    case schema::TypeKind::smallint:
    case schema::TypeKind::integer:
    case schema::TypeKind::bigint:
      try {
        return static_cast<std::int64_t>(std::stoll(value));
      } catch (const std::exception&) {
        return value;
      }
    case schema::TypeKind::real:
      try {
        return std::stod(value);
      } catch (const std::exception&) {
        return value;
      }
    default: return value;
  }
}

std::string encode_strings(const std::vector<std::string>& items) {
  std::string out = "[";
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out += ',';
    out += '"';
    for (char c : items[i]) {
      if (c == '"' || c == '\\') {
        out += '\\';
        out += c;
      } else if (static_cast<unsigned char>(c) < 0x20) {
        char buffer[8];
        std::snprintf(buffer, sizeof buffer, "\\u%04x", static_cast<unsigned char>(c));
        out += buffer;
      } else {
        out += c;
      }
    }
    out += '"';
  }
  return out + "]";
}

std::vector<std::string> decode_strings(std::string_view text) {
  std::vector<std::string> items;
  std::size_t i = 0;
  auto fail = [] { return std::vector<std::string>{}; };
  if (i >= text.size() || text[i] != '[') return fail();
  ++i;
  while (i < text.size() && text[i] != ']') {
    if (text[i] == ',') {
      ++i;
      continue;
    }
    if (text[i] != '"') return fail();
    ++i;
    std::string item;
    while (i < text.size() && text[i] != '"') {
      if (text[i] == '\\' && i + 1 < text.size()) {
        if (text[i + 1] == 'u' && i + 5 < text.size()) {
          item += static_cast<char>(std::stoi(std::string(text.substr(i + 2, 4)), nullptr, 16));
          i += 6;
        } else {
          item += text[i + 1];
          i += 2;
        }
        continue;
      }
      item += text[i++];
    }
    if (i >= text.size()) return fail();
    ++i;
    items.push_back(std::move(item));
  }
  if (i >= text.size()) return fail();
  return items;
}

std::string join(const std::vector<std::string>& items, std::string_view separator) {
  std::string out;
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out += separator;
    out += items[i];
  }
  return out;
}

std::vector<std::string> split(std::string_view text, char separator) {
  std::vector<std::string> out;
  if (text.empty()) return out;
  std::size_t start = 0;
  while (true) {
    const auto at = text.find(separator, start);
    out.emplace_back(text.substr(start, at == std::string_view::npos ? std::string_view::npos : at - start));
    if (at == std::string_view::npos) break;
    start = at + 1;
  }
  return out;
}

}  // namespace lunadb::sql::server_ddl
