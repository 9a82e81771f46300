#include "sql/value.hpp"

#include <cstdio>
#include <string>

#include "lunadb/error.hpp"

namespace lunadb::sql {

namespace {

using std::chrono::days;
using std::chrono::microseconds;

[[noreturn]] void bad_timestamp(std::string_view text, const char* why) {
  throw Error(ErrorKind::invalid_argument, "invalid timestamp '" + std::string(text.substr(0, 64)) +
                                               "': " + why + " (expected YYYY-MM-DD HH:MM:SS[.ffffff][Z|+HH:MM])");
}

// Reads exactly `width` decimal digits at `pos`.
bool read_digits(std::string_view text, std::size_t pos, std::size_t width, int& out) {
  if (pos + width > text.size()) return false;
  int value = 0;
  for (std::size_t i = pos; i < pos + width; ++i) {
    char c = text[i];
    if (c < '0' || c > '9') return false;
    value = value * 10 + (c - '0');
  }
  out = value;
  return true;
}

}  // namespace

Timestamp now_utc() {
  return std::chrono::time_point_cast<microseconds>(std::chrono::system_clock::now());
}

std::string format_timestamp(Timestamp ts) {
  auto day = std::chrono::floor<days>(ts);
  std::chrono::year_month_day ymd{day};
  std::chrono::hh_mm_ss<microseconds> time{ts - day};
  char buffer[48];
  std::snprintf(buffer, sizeof buffer, "%04d-%02u-%02u %02d:%02d:%02d.%06lld", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                static_cast<int>(time.hours().count()), static_cast<int>(time.minutes().count()),
                static_cast<int>(time.seconds().count()), static_cast<long long>(time.subseconds().count()));
  return buffer;
}

Timestamp parse_timestamp(std::string_view text) {
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  if (!read_digits(text, 0, 4, year) || text.size() < 10 || text[4] != '-' || !read_digits(text, 5, 2, month) ||
      text[7] != '-' || !read_digits(text, 8, 2, day)) {
    bad_timestamp(text, "no date");
  }
  if (text.size() < 19 || (text[10] != ' ' && text[10] != 'T') || !read_digits(text, 11, 2, hour) ||
      text[13] != ':' || !read_digits(text, 14, 2, minute) || text[16] != ':' || !read_digits(text, 17, 2, second)) {
    bad_timestamp(text, "no time");
  }
  std::chrono::year_month_day ymd{std::chrono::year{year}, std::chrono::month{static_cast<unsigned>(month)},
                                  std::chrono::day{static_cast<unsigned>(day)}};
  if (!ymd.ok()) bad_timestamp(text, "no such date");
  if (hour > 23 || minute > 59 || second > 59) bad_timestamp(text, "time out of range");

  std::size_t pos = 19;
  long long micros = 0;
  if (pos < text.size() && text[pos] == '.') {
    ++pos;
    std::size_t digits = 0;
    long long scale = 100000;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
      if (digits < 6) {
        micros += (text[pos] - '0') * scale;
        scale /= 10;
      }  // digits beyond microseconds are truncated
      ++digits;
      ++pos;
    }
    if (digits == 0 || digits > 9) bad_timestamp(text, "fraction must have 1 to 9 digits");
  }
  long long offset_minutes = 0;
  if (pos < text.size()) {
    char sign = text[pos];
    if (sign == 'Z' && pos + 1 == text.size()) {
      ++pos;
    } else if (sign == '+' || sign == '-') {
      int offset_hours = 0, offset_mins = 0;
      if (!read_digits(text, pos + 1, 2, offset_hours)) bad_timestamp(text, "bad UTC offset");
      std::size_t after = pos + 3;
      if (after < text.size() && text[after] == ':') ++after;
      if (!read_digits(text, after, 2, offset_mins) || after + 2 != text.size() || offset_hours > 23 ||
          offset_mins > 59) {
        bad_timestamp(text, "bad UTC offset");
      }
      offset_minutes = (offset_hours * 60 + offset_mins) * (sign == '-' ? -1 : 1);
      pos = text.size();
    } else {
      bad_timestamp(text, "unexpected trailing characters");
    }
  }
  auto time_of_day = std::chrono::hours{hour} + std::chrono::minutes{minute} + std::chrono::seconds{second} +
                     microseconds{micros};
  // A local time at +HH:MM is that much ahead of UTC.
  return Timestamp{std::chrono::sys_days{ymd}} + time_of_day - std::chrono::minutes{offset_minutes};
}

std::string describe_type(const Value& v) {
  struct Describe {
    std::string operator()(std::monostate) const { return "NULL"; }
    std::string operator()(bool) const { return "boolean"; }
    std::string operator()(std::int64_t) const { return "integer"; }
    std::string operator()(double) const { return "real"; }
    std::string operator()(const std::string& s) const { return "text(" + std::to_string(s.size()) + " bytes)"; }
    std::string operator()(const Blob& b) const { return "blob(" + std::to_string(b.bytes.size()) + " bytes)"; }
    std::string operator()(Timestamp) const { return "timestamp"; }
  };
  return std::visit(Describe{}, v);
}

}  // namespace lunadb::sql
