#include "serve/embedding_json.hpp"

#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <locale.h>
#include <string>
#include <system_error>

namespace lunadb::serve::detail {

namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }  // JSON's four
bool is_digit(char c) { return c >= '0' && c <= '9'; }

class Cursor {
 public:
  explicit Cursor(std::string_view text) : p_(text.data()), end_(text.data() + text.size()) {}

  const char* at() const { return p_; }
  bool done() const { return p_ == end_; }
  void skip_space() {
    while (p_ != end_ && is_space(*p_)) ++p_;
  }
  bool take(char c) {
    if (p_ == end_ || *p_ != c) return false;
    ++p_;
    return true;
  }
  bool next_is(char c) const { return p_ != end_ && *p_ == c; }

  // A string from its opening quote; sets `raw` to the bytes between the quotes, escapes not
  // decoded. Only the quote and backslash matter here: what lies between is checked by
  // nlohmann when it parses the rest of the body.
  bool skip_string(std::string_view* raw = nullptr) {
    if (!take('"')) return false;
    const char* begin = p_;
    while (p_ != end_) {
      if (*p_ == '\\') {
        if (end_ - p_ < 2) return false;
        p_ += 2;
      } else if (*p_ == '"') {
        if (raw) *raw = std::string_view(begin, static_cast<std::size_t>(p_ - begin));
        ++p_;
        return true;
      } else {
        ++p_;
      }
    }
    return false;
  }

  // Any other member's value, by its extent only (brackets counted, strings skipped whole). The
  // value is kept in the text that nlohmann parses, which rejects whatever is not JSON.
  bool skip_value() {
    if (p_ == end_) return false;
    if (*p_ == '"') return skip_string();
    if (*p_ == '{' || *p_ == '[') {
      std::size_t depth = 0;
      while (p_ != end_) {
        const char c = *p_;
        if (c == '"') {
          if (!skip_string()) return false;
          continue;
        }
        ++p_;
        if (c == '{' || c == '[') {
          ++depth;
        } else if (c == '}' || c == ']') {
          if (--depth == 0) return true;
        }
      }
      return false;
    }
    const char* begin = p_;
    while (p_ != end_ && !is_space(*p_) && *p_ != ',' && *p_ != '}' && *p_ != ']') ++p_;
    return p_ != begin;
  }

  // A number in JSON's grammar: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?. `integer` tells
  // whether it had neither fraction nor exponent, which is how nlohmann chooses its type.
  bool scan_number(std::string_view& token, bool& integer) {
    const char* begin = p_;
    take('-');
    if (p_ == end_) return false;
    if (*p_ == '0') {
      ++p_;
    } else if (*p_ >= '1' && *p_ <= '9') {
      while (p_ != end_ && is_digit(*p_)) ++p_;
    } else {
      return false;
    }
    integer = true;
    if (take('.')) {
      integer = false;
      if (p_ == end_ || !is_digit(*p_)) return false;
      while (p_ != end_ && is_digit(*p_)) ++p_;
    }
    if (p_ != end_ && (*p_ == 'e' || *p_ == 'E')) {
      integer = false;
      ++p_;
      if (p_ != end_ && (*p_ == '+' || *p_ == '-')) ++p_;
      if (p_ == end_ || !is_digit(*p_)) return false;
      while (p_ != end_ && is_digit(*p_)) ++p_;
    }
    token = std::string_view(begin, static_cast<std::size_t>(p_ - begin));
    return true;
  }

 private:
  const char* p_;
  const char* end_;
};

// strtod in the "C" locale, whatever the process's locale: nlohmann adapts the decimal point to
// the locale itself, so its numbers never depend on it.
double c_locale_strtod(const std::string& text) {
  static const locale_t c_locale = newlocale(LC_ALL_MASK, "C", static_cast<locale_t>(nullptr));
  return strtod_l(text.c_str(), nullptr, c_locale);
}

// A scanned token (valid JSON number) as nlohmann's lexer types it and get<float>() converts it:
// an integer token is an int64 (with '-') or uint64, converted to float directly; one that
// overflows those, and every other token, is the correctly rounded double, then a float.
// nullopt for a token beyond double's range, which nlohmann refuses ("number overflow").
std::optional<float> token_to_float(std::string_view token, bool integer) {
  const char* first = token.data();
  const char* last = token.data() + token.size();
  if (integer) {
    if (token.front() == '-') {
      std::int64_t value = 0;
      if (std::from_chars(first, last, value).ec == std::errc()) return static_cast<float>(value);
    } else {
      std::uint64_t value = 0;
      if (std::from_chars(first, last, value).ec == std::errc()) return static_cast<float>(value);
    }
  }
  double value = 0;
  if (std::from_chars(first, last, value).ec != std::errc()) {
    // Out of range: from_chars leaves the value unset, while strtod (nlohmann's) answers +-inf,
    // or the correctly rounded tiny value (a subnormal or zero), which nlohmann accepts.
    // Rare enough for a copy.
    value = c_locale_strtod(std::string(token));
  }
  if (!std::isfinite(value)) return std::nullopt;
  return static_cast<float>(value);
}

// [[n, n, ...], ...] into `out`; false at anything else (the caller falls back).
bool parse_lists(Cursor& in, std::vector<std::vector<float>>& out) {
  if (!in.take('[')) return false;
  in.skip_space();
  if (in.take(']')) return true;
  std::size_t width = 0;  // the first list's length: the others are almost always the same
  for (;;) {
    if (!in.take('[')) return false;
    std::vector<float> list;
    list.reserve(width);
    in.skip_space();
    if (!in.take(']')) {
      for (;;) {
        std::string_view token;
        bool integer = false;
        if (!in.scan_number(token, integer)) return false;
        const auto value = token_to_float(token, integer);
        if (!value) return false;
        list.push_back(*value);
        in.skip_space();
        if (in.take(']')) break;
        if (!in.take(',')) return false;
        in.skip_space();
      }
    }
    if (out.empty()) width = list.size();
    out.push_back(std::move(list));
    in.skip_space();
    if (in.take(']')) return true;
    if (!in.take(',')) return false;
    in.skip_space();
  }
}

}  // namespace

std::optional<float> json_number_as_float(std::string_view token) {
  Cursor in(token);
  std::string_view scanned;
  bool integer = false;
  if (!in.scan_number(scanned, integer) || !in.done()) return std::nullopt;
  return token_to_float(scanned, integer);
}

std::optional<SplitBody> split_embeddings(std::string_view body, std::string_view key) {
  Cursor in(body);
  in.skip_space();
  if (!in.take('{')) return std::nullopt;  // also a byte order mark, which nlohmann skips
  in.skip_space();
  SplitBody out;
  const char* span_begin = nullptr;
  const char* span_end = nullptr;
  if (in.next_is('}')) return std::nullopt;  // no members, nothing to gain
  for (;;) {
    std::string_view name;
    if (!in.skip_string(&name)) return std::nullopt;
    // An escaped name could spell `key` in another way, or repeat it: nlohmann's decoding decides.
    if (name.find('\\') != std::string_view::npos) return std::nullopt;
    in.skip_space();
    if (!in.take(':')) return std::nullopt;
    in.skip_space();
    if (name == key) {
      if (span_begin) return std::nullopt;  // a repeated member: nlohmann's rule decides which counts
      span_begin = in.at();
      if (!parse_lists(in, out.embeddings)) return std::nullopt;
      span_end = in.at();
    } else if (!in.skip_value()) {
      return std::nullopt;
    }
    in.skip_space();
    if (in.take(',')) {
      in.skip_space();
      continue;
    }
    if (in.take('}')) break;
    return std::nullopt;
  }
  in.skip_space();
  if (!in.done() || !span_begin) return std::nullopt;

  // The rest of the body, with the list's value replaced by null. The bytes around it are the
  // caller's own, so nlohmann checks everything the fast path skipped; the list itself was read
  // in JSON's grammar above. A body it rejects goes to the caller's full parse, which then
  // reports the error exactly as it always has.
  std::string rest;
  rest.reserve(body.size() - static_cast<std::size_t>(span_end - span_begin) + 4);
  rest.append(body.data(), static_cast<std::size_t>(span_begin - body.data()));
  rest.append("null");
  rest.append(span_end, static_cast<std::size_t>(body.data() + body.size() - span_end));
  try {
    out.rest = nlohmann::json::parse(rest);
  } catch (const nlohmann::json::exception&) {
    return std::nullopt;
  }
  return out;
}

}  // namespace lunadb::serve::detail
