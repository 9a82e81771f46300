// Timestamps and value descriptions (src/sql/value.cpp).
#include <gtest/gtest.h>

#include "lunadb/error.hpp"
#include "sql/value.hpp"

namespace lunadb::sql {
namespace {

using namespace std::chrono;

Timestamp at(int y, unsigned mo, unsigned d, int h, int mi, int s, long long us) {
  return Timestamp{sys_days{year{y} / month{mo} / day{d}}} + hours{h} + minutes{mi} + seconds{s} + microseconds{us};
}

TEST(SqliteValueTimestamp, FormatsSixFractionDigits) {
  EXPECT_EQ(format_timestamp(at(2024, 3, 5, 7, 8, 9, 12)), "2024-03-05 07:08:09.000012");
  EXPECT_EQ(format_timestamp(at(1999, 12, 31, 23, 59, 59, 999999)), "1999-12-31 23:59:59.999999");
  EXPECT_EQ(format_timestamp(at(2024, 2, 29, 0, 0, 0, 0)), "2024-02-29 00:00:00.000000");
}

TEST(SqliteValueTimestamp, ParsesWhatItFormats) {
  for (auto ts : {at(2024, 3, 5, 7, 8, 9, 12), at(1970, 1, 1, 0, 0, 0, 0), at(2100, 12, 31, 23, 59, 59, 999999)}) {
    EXPECT_EQ(parse_timestamp(format_timestamp(ts)), ts);
  }
  auto now = now_utc();
  EXPECT_EQ(parse_timestamp(format_timestamp(now)), now);
}

TEST(SqliteValueTimestamp, ParsesTheAcceptedVariants) {
  EXPECT_EQ(parse_timestamp("2024-03-05 07:08:09"), at(2024, 3, 5, 7, 8, 9, 0));
  EXPECT_EQ(parse_timestamp("2024-03-05T07:08:09.5"), at(2024, 3, 5, 7, 8, 9, 500000));
  EXPECT_EQ(parse_timestamp("2024-03-05 07:08:09.123"), at(2024, 3, 5, 7, 8, 9, 123000));
  EXPECT_EQ(parse_timestamp("2024-03-05 07:08:09.123456789"), at(2024, 3, 5, 7, 8, 9, 123456));
  EXPECT_EQ(parse_timestamp("2024-03-05T07:08:09Z"), at(2024, 3, 5, 7, 8, 9, 0));
  EXPECT_EQ(parse_timestamp("2024-03-05 07:08:09+00:00"), at(2024, 3, 5, 7, 8, 9, 0));
  EXPECT_EQ(parse_timestamp("2024-03-05 07:08:09.25+02:00"), at(2024, 3, 5, 5, 8, 9, 250000));
  EXPECT_EQ(parse_timestamp("2024-03-05 01:00:00-05:30"), at(2024, 3, 5, 6, 30, 0, 0));
  EXPECT_EQ(parse_timestamp("2024-03-01 01:00:00+0200"), at(2024, 2, 29, 23, 0, 0, 0));
}

TEST(SqliteValueTimestamp, RejectsMalformedTextNamingIt) {
  for (const char* bad : {"", "2024", "2024-03-05", "2024-13-01 00:00:00", "2024-02-30 00:00:00",
                          "2024-03-05 24:00:00", "2024-03-05 07:60:00", "2024-03-05 07:08:09.", "2024-03-05 07:08:09x",
                          "2024-03-05 07:08:09.1234567890", "2024-03-05 07:08:09+2", "24-03-05 07:08:09",
                          "2024-03-05 07:08:09 ", "2024/03/05 07:08:09"}) {
    try {
      parse_timestamp(bad);
      ADD_FAILURE() << "accepted '" << bad << "'";
    } catch (const Error& error) {
      EXPECT_EQ(error.kind(), ErrorKind::invalid_argument) << bad;
      EXPECT_NE(std::string(error.what()).find(std::string("'") + bad), std::string::npos) << error.what();
    }
  }
}

TEST(SqliteValueDescribe, NamesTypeAndLengthOnly) {
  EXPECT_EQ(describe_type(Value{}), "NULL");
  EXPECT_EQ(describe_type(Value{true}), "boolean");
  EXPECT_EQ(describe_type(Value{std::int64_t{42}}), "integer");
  EXPECT_EQ(describe_type(Value{1.5}), "real");
  EXPECT_EQ(describe_type(Value{std::string("secret-password")}), "text(15 bytes)");
  EXPECT_EQ(describe_type(Value{Blob{{1, 2, 3}}}), "blob(3 bytes)");
  EXPECT_EQ(describe_type(Value{now_utc()}), "timestamp");
}

}  // namespace
}  // namespace lunadb::sql
