#include "sql/postgres_sql.hpp"

#include <cctype>
#include <cstdint>
#include <vector>

namespace lunadb::sql::postgres {

namespace {

bool is_identifier_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || static_cast<unsigned char>(c) >= 0x80;
}

// Length of a dollar-quote tag starting at sql[pos] == '$' ("$$" or "$tag$"), 0 when none.
std::size_t dollar_tag_length(std::string_view sql, std::size_t pos) {
  std::size_t end = pos + 1;
  while (end < sql.size() && is_identifier_char(sql[end]) && !std::isdigit(static_cast<unsigned char>(sql[pos + 1]))) {
    ++end;
  }
  if (end < sql.size() && sql[end] == '$') return end - pos + 1;
  return 0;
}

}  // namespace

RewrittenSql rewrite_placeholders(std::string_view sql) {
  RewrittenSql out;
  out.text.reserve(sql.size() + 16);
  std::size_t i = 0;
  while (i < sql.size()) {
    const char c = sql[i];
    if (c == '\'') {
      // E'...' strings allow backslash escapes; standard strings only '' doubling.
      const bool escapes = i > 0 && (sql[i - 1] == 'E' || sql[i - 1] == 'e') &&
                           (i < 2 || !is_identifier_char(sql[i - 2]));
      std::size_t j = i + 1;
      while (j < sql.size()) {
        if (escapes && sql[j] == '\\') {
          j += 2;
          continue;
        }
        if (sql[j] == '\'') {
          if (j + 1 < sql.size() && sql[j + 1] == '\'') {
            j += 2;
            continue;
          }
          break;
        }
        ++j;
      }
      const std::size_t end = std::min(j + 1, sql.size());
      out.text.append(sql.substr(i, end - i));
      i = end;
    } else if (c == '"') {
      std::size_t j = i + 1;
      while (j < sql.size()) {
        if (sql[j] == '"') {
          if (j + 1 < sql.size() && sql[j + 1] == '"') {
            j += 2;
            continue;
          }
          break;
        }
        ++j;
      }
      const std::size_t end = std::min(j + 1, sql.size());
      out.text.append(sql.substr(i, end - i));
      i = end;
    } else if (c == '-' && i + 1 < sql.size() && sql[i + 1] == '-') {
      std::size_t end = sql.find('\n', i);
      end = end == std::string_view::npos ? sql.size() : end;
      out.text.append(sql.substr(i, end - i));
      i = end;
    } else if (c == '/' && i + 1 < sql.size() && sql[i + 1] == '*') {
      std::size_t end = sql.find("*/", i + 2);
      end = end == std::string_view::npos ? sql.size() : end + 2;
      out.text.append(sql.substr(i, end - i));
      i = end;
    } else if (c == '$' && (i == 0 || !is_identifier_char(sql[i - 1])) && dollar_tag_length(sql, i) > 0) {
      const std::size_t tag_length = dollar_tag_length(sql, i);
      const std::string_view tag = sql.substr(i, tag_length);
      std::size_t close = sql.find(tag, i + tag_length);
      const std::size_t end = close == std::string_view::npos ? sql.size() : close + tag_length;
      out.text.append(sql.substr(i, end - i));
      i = end;
    } else if (c == '?') {
      out.text += '$';
      out.text += std::to_string(++out.parameter_count);
      ++i;
    } else {
      out.text += c;
      ++i;
    }
  }
  return out;
}

std::string numeric_to_string(const char* data, int length) {
  auto read16 = [data](int offset) {
    return static_cast<std::int16_t>((static_cast<unsigned char>(data[offset]) << 8) |
                                     static_cast<unsigned char>(data[offset + 1]));
  };
  if (length < 8) return "NaN";
  const int ndigits = read16(0);
  const int weight = read16(2);
  const std::uint16_t sign = static_cast<std::uint16_t>(read16(4));
  const int dscale = read16(6);
  if (sign == 0xC000) return "NaN";
  if (sign == 0xD000) return "Infinity";
  if (sign == 0xF000) return "-Infinity";
  std::vector<int> digits;
  for (int k = 0; k < ndigits && 8 + 2 * k + 1 < length; ++k) digits.push_back(read16(8 + 2 * k));

  std::string out;
  if (sign == 0x4000) out += '-';
  // Integer part: base-10000 groups 0..weight.
  if (weight < 0) {
    out += '0';
  } else {
    for (int g = 0; g <= weight; ++g) {
      const int group = g < static_cast<int>(digits.size()) ? digits[g] : 0;
      std::string part = std::to_string(group);
      if (g > 0) part.insert(0, 4 - part.size(), '0');
      out += part;
    }
  }
  if (dscale > 0) {
    out += '.';
    std::string fraction;
    for (int g = weight + 1; static_cast<int>(fraction.size()) < dscale; ++g) {
      const int group = g >= 0 && g < static_cast<int>(digits.size()) ? digits[g] : 0;
      std::string part = std::to_string(group);
      part.insert(0, 4 - part.size(), '0');
      fraction += part;
    }
    out += fraction.substr(0, dscale);
  }
  return out;
}

}  // namespace lunadb::sql::postgres
