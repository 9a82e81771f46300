#pragma once
// The values that cross the driver boundary, and the UTC timestamp type used everywhere.

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace lunadb::sql {

// UTC, microsecond precision (schema.md). SQLite stores it as "YYYY-MM-DD HH:MM:SS.ffffff".
using Timestamp = std::chrono::sys_time<std::chrono::microseconds>;

Timestamp now_utc();
// "YYYY-MM-DD HH:MM:SS.ffffff" (always six fraction digits).
std::string format_timestamp(Timestamp ts);
// Accepts "YYYY-MM-DD HH:MM:SS[.f{1,9}]", a 'T' separator, and a trailing "Z" or "+00:00"/"+HH:MM"
// offset (converted to UTC). Throws Error(invalid_argument) naming the text otherwise.
Timestamp parse_timestamp(std::string_view text);

struct Blob {
  std::vector<std::uint8_t> bytes;
  // PostgreSQL only: the bytes are the binary form of the type the SQL casts this parameter to
  // (`?::vector`), sent without a type of their own, so that the server reads them with that
  // type's receive function instead of as bytea. Other backends bind them as bytes.
  bool of_cast_type = false;
  bool operator==(const Blob&) const = default;
};

// NULL, boolean, 64-bit integer, double, UTF-8 text, bytes, timestamp.
using Value = std::variant<std::monostate, bool, std::int64_t, double, std::string, Blob, Timestamp>;

inline bool is_null(const Value& v) { return std::holds_alternative<std::monostate>(v); }

// "NULL", "integer", "text(12 bytes)", ...: what DB_ECHO prints instead of the value itself.
std::string describe_type(const Value& v);

}  // namespace lunadb::sql
