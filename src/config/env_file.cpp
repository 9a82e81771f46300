#include "config/env_file.hpp"

#include <fmt/format.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <system_error>

#include "lunadb/error.hpp"

namespace lunadb::config_detail {
namespace {

// Whitespace that does not end a line (the regex class [^\S\r\n]).
bool is_horizontal_space(char c) { return c == ' ' || c == '\t' || c == '\f' || c == '\v'; }
bool is_space(char c) { return is_horizontal_space(c) || c == '\n' || c == '\r'; }

struct ParseFailure {};

// A cursor over the whole file. Quoted values may span lines, so parsing works on the text,
// not line by line; `line` follows the cursor.
class Reader {
 public:
  explicit Reader(std::string_view text) : text_(text) {}

  bool at_end() const { return pos_ >= text_.size(); }
  char peek() const { return at_end() ? '\0' : text_[pos_]; }
  int line() const { return line_; }

  void advance(std::size_t count) {
    for (std::size_t i = 0; i < count && pos_ < text_.size(); ++i, ++pos_) {
      const char c = text_[pos_];
      // \r\n counts once: the \r is the line break when it is not followed by \n.
      if (c == '\n' || (c == '\r' && (pos_ + 1 >= text_.size() || text_[pos_ + 1] != '\n'))) ++line_;
    }
  }

  std::size_t count_while(std::size_t from, bool (*predicate)(char)) const {
    std::size_t end = from;
    while (end < text_.size() && predicate(text_[end])) ++end;
    return end - from;
  }

  void skip_horizontal_space() { advance(count_while(pos_, is_horizontal_space)); }

  void skip_any_space() { advance(count_while(pos_, is_space)); }

  bool starts_with(std::string_view prefix) const { return text_.substr(pos_).starts_with(prefix); }

  std::string_view rest() const { return text_.substr(pos_); }

  // Reads a quoted run `q((?:\\q|[^q])*)q` and returns the inner text undecoded. A backslash
  // directly before the quote character never closes the value (python-dotenv's rule).
  std::string read_quoted(char quote) {
    std::size_t end = pos_ + 1;
    while (end < text_.size()) {
      if (text_[end] == '\\' && end + 1 < text_.size() && text_[end + 1] == quote) {
        end += 2;
      } else if (text_[end] == quote) {
        break;
      } else {
        ++end;
      }
    }
    if (end >= text_.size()) throw ParseFailure{};
    std::string inner(text_.substr(pos_ + 1, end - pos_ - 1));
    advance(end + 1 - pos_);
    return inner;
  }

  // After an error python-dotenv drops the rest of the current line: [^\r\n]*(?:\r|\n|\r\n)?
  void skip_rest_of_line() {
    while (!at_end() && peek() != '\r' && peek() != '\n') advance(1);
    if (!at_end()) advance(1);
  }

 private:
  std::string_view text_;
  std::size_t pos_ = 0;
  int line_ = 1;
};

std::string decode_escapes(std::string_view raw, std::string_view decoded_after_backslash) {
  std::string result;
  result.reserve(raw.size());
  for (std::size_t i = 0; i < raw.size(); ++i) {
    if (raw[i] == '\\' && i + 1 < raw.size() &&
        decoded_after_backslash.find(raw[i + 1]) != std::string_view::npos) {
      const char escaped = raw[i + 1];
      switch (escaped) {
        case 'a': result.push_back('\a'); break;
        case 'b': result.push_back('\b'); break;
        case 'f': result.push_back('\f'); break;
        case 'n': result.push_back('\n'); break;
        case 'r': result.push_back('\r'); break;
        case 't': result.push_back('\t'); break;
        case 'v': result.push_back('\v'); break;
        default: result.push_back(escaped); break;  // \\ \' \"
      }
      ++i;
    } else {
      result.push_back(raw[i]);
    }
  }
  return result;
}

// An unquoted value ends at the line break; ` # ...` (whitespace then '#') starts a comment.
std::string unquoted_value(std::string_view part, bool preceded_by_whitespace) {
  if (preceded_by_whitespace && part.starts_with('#')) return "";
  for (std::size_t i = 1; i < part.size(); ++i) {
    if (part[i] == '#' && is_horizontal_space(part[i - 1])) {
      std::size_t cut = i - 1;
      while (cut > 0 && is_horizontal_space(part[cut - 1])) --cut;
      part = part.substr(0, cut);
      break;
    }
  }
  while (!part.empty() && is_horizontal_space(part.back())) part.remove_suffix(1);
  return std::string(part);
}

std::optional<std::string> parse_value(Reader& reader, bool preceded_by_whitespace) {
  const char first = reader.peek();
  if (first == '\'') return decode_escapes(reader.read_quoted('\''), "\\'");
  if (first == '"') return decode_escapes(reader.read_quoted('"'), "\\'\"abfnrtv");
  if (reader.at_end() || first == '\n' || first == '\r') return std::string();
  std::string_view rest = reader.rest();
  const std::size_t line_end = rest.find_first_of("\r\n");
  const std::string_view part = rest.substr(0, line_end);
  reader.advance(part.size());
  return unquoted_value(part, preceded_by_whitespace);
}

std::optional<std::string> parse_key(Reader& reader) {
  if (reader.peek() == '#') return std::nullopt;
  if (reader.peek() == '\'') {
    std::string_view rest = reader.rest();
    const std::size_t close = rest.find('\'', 1);
    if (close == std::string_view::npos || close == 1) throw ParseFailure{};
    std::string key(rest.substr(1, close - 1));
    reader.advance(close + 1);
    return key;
  }
  std::string_view rest = reader.rest();
  std::size_t length = 0;
  while (length < rest.size() && rest[length] != '=' && rest[length] != '#' && !is_space(rest[length]))
    ++length;
  if (length == 0) throw ParseFailure{};
  std::string key(rest.substr(0, length));
  reader.advance(length);
  return key;
}

void expect_end_of_statement(Reader& reader) {
  // Optional trailing comment, then horizontal space and a line break (or the end of the text).
  reader.skip_horizontal_space();
  if (reader.peek() == '#') {
    while (!reader.at_end() && reader.peek() != '\r' && reader.peek() != '\n') reader.advance(1);
  }
  if (reader.at_end()) return;
  if (reader.starts_with("\r\n")) {
    reader.advance(2);
  } else if (reader.peek() == '\n' || reader.peek() == '\r') {
    reader.advance(1);
  } else {
    throw ParseFailure{};
  }
}

}  // namespace

ParsedEnvText parse_env_text(std::string_view text) {
  constexpr std::string_view kUtf8Bom = "\xEF\xBB\xBF";
  if (text.starts_with(kUtf8Bom)) text.remove_prefix(kUtf8Bom.size());

  ParsedEnvText parsed;
  Reader reader(text);
  while (!reader.at_end()) {
    reader.skip_any_space();
    if (reader.at_end()) break;
    const int statement_line = reader.line();
    try {
      if (reader.starts_with("export")) {
        const std::string_view after = reader.rest().substr(6);
        if (!after.empty() && is_horizontal_space(after.front())) {
          reader.advance(6);
          reader.skip_horizontal_space();
        }
      }
      std::optional<std::string> key = parse_key(reader);
      reader.skip_horizontal_space();
      std::optional<std::string> value;
      if (reader.peek() == '=') {
        reader.advance(1);
        const std::string_view after_equals = reader.rest();
        std::size_t blank = 0;
        while (blank < after_equals.size() && is_horizontal_space(after_equals[blank])) ++blank;
        reader.advance(blank);
        value = parse_value(reader, blank > 0);
      }
      expect_end_of_statement(reader);
      if (key) parsed.entries.push_back(EnvEntry{std::move(*key), std::move(value), statement_line});
    } catch (const ParseFailure&) {
      parsed.skipped_lines.push_back(statement_line);
      reader.skip_rest_of_line();
    }
  }
  return parsed;
}

namespace {

// ${NAME} or ${NAME:-default}; NAME has no '}' or ':', the default has no '}'.
std::string expand_one(std::string_view value,
                       const std::function<std::optional<std::string>(const std::string&)>& lookup) {
  std::string result;
  std::size_t i = 0;
  while (i < value.size()) {
    if (value[i] == '$' && i + 1 < value.size() && value[i + 1] == '{') {
      const std::size_t name_begin = i + 2;
      std::size_t name_end = name_begin;
      while (name_end < value.size() && value[name_end] != '}' && value[name_end] != ':') ++name_end;
      std::optional<std::string_view> fallback;
      std::size_t close = std::string_view::npos;
      if (name_end < value.size() && value[name_end] == '}') {
        close = name_end;
      } else if (name_end + 1 < value.size() && value[name_end] == ':' && value[name_end + 1] == '-') {
        const std::size_t default_begin = name_end + 2;
        const std::size_t default_end = value.find('}', default_begin);
        if (default_end != std::string_view::npos) {
          fallback = value.substr(default_begin, default_end - default_begin);
          close = default_end;
        }
      }
      if (close != std::string_view::npos) {
        const std::string name(value.substr(name_begin, name_end - name_begin));
        if (std::optional<std::string> found = lookup(name)) {
          result += *found;
        } else if (fallback) {
          result += *fallback;
        }
        i = close + 1;
        continue;
      }
    }
    result.push_back(value[i]);
    ++i;
  }
  return result;
}

}  // namespace

void expand_variables(std::vector<EnvEntry>& entries, const VariableLookup& outside) {
  std::map<std::string, std::optional<std::string>> earlier;
  for (EnvEntry& entry : entries) {
    if (entry.value) {
      const auto lookup = [&](const std::string& name) -> std::optional<std::string> {
        if (auto found = earlier.find(name); found != earlier.end()) return found->second.value_or("");
        return outside ? outside(name) : std::nullopt;
      };
      entry.value = expand_one(*entry.value, lookup);
    }
    earlier[entry.key] = entry.value;
  }
}

std::optional<std::string> read_env_file(const std::filesystem::path& path) {
  std::error_code status_error;
  const auto status = std::filesystem::status(path, status_error);
  if (status.type() == std::filesystem::file_type::not_found) return std::nullopt;
  if (status.type() == std::filesystem::file_type::directory) {
    throw Error(ErrorKind::config, fmt::format("cannot read env file {}: it is a directory", path.string()));
  }
  errno = 0;
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> file(std::fopen(path.c_str(), "rb"), &std::fclose);
  if (!file) {
    const int open_errno = errno;
    if (open_errno == ENOENT) return std::nullopt;
    throw Error(ErrorKind::config,
                fmt::format("cannot read env file {}: {}", path.string(), std::strerror(open_errno)));
  }
  std::string content;
  char buffer[8192];
  while (true) {
    const std::size_t got = std::fread(buffer, 1, sizeof buffer, file.get());
    content.append(buffer, got);
    if (got < sizeof buffer) break;
  }
  if (std::ferror(file.get())) {
    throw Error(ErrorKind::config, fmt::format("cannot read env file {}: read error", path.string()));
  }
  return content;
}

}  // namespace lunadb::config_detail
