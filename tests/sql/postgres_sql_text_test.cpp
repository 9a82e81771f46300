// Server-less pieces of the PostgreSQL/MySQL code: placeholder rewriting, default parsing, the
// comment encoding, and the DDL the dialects render.
#include <gtest/gtest.h>

#include "schema/model.hpp"
#include "support/dialect_schema.hpp"
#include "sql/dialect.hpp"
#include "sql/postgres_mysql_ddl.hpp"
#include "sql/postgres_sql.hpp"

namespace lunadb::sql {
namespace {

TEST(PostgresPlaceholders, RewritesQuestionMarksOutsideQuotesAndComments) {
  auto r = postgres::rewrite_placeholders("SELECT ?, '?', \"a?\", ? -- ?\n, E'\\'?', $$ ? $$, $tag$ ? $tag$ /* ? */ , ?");
  EXPECT_EQ(r.text, "SELECT $1, '?', \"a?\", $2 -- ?\n, E'\\'?', $$ ? $$, $tag$ ? $tag$ /* ? */ , $3");
  EXPECT_EQ(r.parameter_count, 3);
}

TEST(PostgresPlaceholders, DoubledQuotesStayInsideTheString) {
  auto r = postgres::rewrite_placeholders("SELECT 'it''s ?' || ?, \"x\"\"?\" FROM t WHERE a = ?::int");
  EXPECT_EQ(r.text, "SELECT 'it''s ?' || $1, \"x\"\"?\" FROM t WHERE a = $2::int");
  EXPECT_EQ(r.parameter_count, 2);
}

TEST(PostgresPlaceholders, UnterminatedQuoteDoesNotCrashAndCountsNothingInside) {
  auto r = postgres::rewrite_placeholders("SELECT '?");
  EXPECT_EQ(r.text, "SELECT '?");
  EXPECT_EQ(r.parameter_count, 0);
  EXPECT_EQ(postgres::rewrite_placeholders("").parameter_count, 0);
}

TEST(PostgresPlaceholders, PositionalDollarParametersAreNotDollarQuotes) {
  auto r = postgres::rewrite_placeholders("SELECT $1, ?");
  EXPECT_EQ(r.text, "SELECT $1, $1");  // mixing styles is the caller's problem, but nothing is swallowed
  EXPECT_EQ(r.parameter_count, 1);
}

TEST(PostgresNumeric, BinaryNumericToText) {
  // 12345.678: ndigits 3, weight 1, sign +, dscale 3, digits 1 2345 6780
  const unsigned char bytes[] = {0, 3, 0, 1, 0, 0, 0, 3, 0, 1, 0x09, 0x29, 0x1A, 0x7C};
  EXPECT_EQ(postgres::numeric_to_string(reinterpret_cast<const char*>(bytes), sizeof bytes), "12345.678");
  // -0.05: ndigits 1, weight -1, sign -, dscale 2, digits 500
  const unsigned char small[] = {0, 1, 0xFF, 0xFF, 0x40, 0, 0, 2, 0x01, 0xF4};
  EXPECT_EQ(postgres::numeric_to_string(reinterpret_cast<const char*>(small), sizeof small), "-0.05");
  const unsigned char nan[] = {0, 0, 0, 0, 0xC0, 0, 0, 0};
  EXPECT_EQ(postgres::numeric_to_string(reinterpret_cast<const char*>(nan), sizeof nan), "NaN");
}

TEST(ServerDefaults, ParsesWhatPostgresAndMariaDbReport) {
  using schema::ColumnType;
  using schema::TypeKind;
  const ColumnType str{TypeKind::string, 16}, real{TypeKind::real, 0}, integer{TypeKind::integer, 0},
      boolean{TypeKind::boolean, 0}, json{TypeKind::json, 0}, ts{TypeKind::timestamp, 0};
  using server_ddl::parse_default;
  EXPECT_EQ(parse_default("'long'::character varying", str), schema::DefaultValue{std::string("long")});
  EXPECT_EQ(parse_default("'it''s'", str), schema::DefaultValue{std::string("it's")});
  EXPECT_EQ(parse_default("'[]'::jsonb", json), schema::DefaultValue{std::string("[]")});
  EXPECT_EQ(parse_default("('[]')", json), schema::DefaultValue{std::string("[]")});
  EXPECT_EQ(parse_default("0.7", real), schema::DefaultValue{0.7});
  EXPECT_EQ(parse_default("'-0.5'::double precision", real), schema::DefaultValue{-0.5});
  EXPECT_EQ(parse_default("1", real), schema::DefaultValue{1.0});
  EXPECT_EQ(parse_default("'-1'::integer", integer), schema::DefaultValue{std::int64_t{-1}});
  EXPECT_EQ(parse_default("true", boolean), schema::DefaultValue{true});
  EXPECT_EQ(parse_default("0", boolean), schema::DefaultValue{false});
  EXPECT_EQ(parse_default("CURRENT_TIMESTAMP", ts), schema::DefaultValue{schema::CurrentTimestamp{}});
  EXPECT_EQ(parse_default("current_timestamp(6)", ts), schema::DefaultValue{schema::CurrentTimestamp{}});
  EXPECT_EQ(parse_default("now()", ts), schema::DefaultValue{schema::CurrentTimestamp{}});
  EXPECT_EQ(parse_default("NULL", str), schema::DefaultValue{});
  EXPECT_EQ(parse_default("", str), schema::DefaultValue{});
}

TEST(ServerComments, StringListsRoundTrip) {
  const std::vector<std::string> items{"ck_a", "{a} IN ('x', \"y\")", "back\\slash", "", "tab\tnewline\n😀"};
  EXPECT_EQ(server_ddl::decode_strings(server_ddl::encode_strings(items)), items);
  EXPECT_TRUE(server_ddl::decode_strings("not json").empty());
  EXPECT_TRUE(server_ddl::decode_strings("[\"unterminated").empty());
  EXPECT_TRUE(server_ddl::decode_strings("[]").empty());
}

TEST(ServerDialectText, TypesQuotingAndUpserts) {
  const auto& pg = dialect_for(Backend::postgresql);
  const auto& my = dialect_for(Backend::mysql);
  EXPECT_EQ(pg.column_type({schema::TypeKind::id, 0}), "SERIAL");
  EXPECT_EQ(pg.column_type({schema::TypeKind::json, 0}), "JSON");
  EXPECT_EQ(pg.column_type({schema::TypeKind::timestamp, 0}), "TIMESTAMP WITHOUT TIME ZONE");
  EXPECT_EQ(pg.column_type({schema::TypeKind::string, 0}), "VARCHAR");
  EXPECT_EQ(my.column_type({schema::TypeKind::string, 0}), "VARCHAR(255)");
  EXPECT_EQ(my.column_type({schema::TypeKind::id, 0}), "INTEGER");
  EXPECT_EQ(my.column_type({schema::TypeKind::timestamp, 0}), "DATETIME(6)");
  EXPECT_EQ(my.column_type({schema::TypeKind::text, 0}), "LONGTEXT");
  EXPECT_EQ(pg.quote("a\"b"), "\"a\"\"b\"");
  EXPECT_EQ(my.quote("a`b"), "`a``b`");
  EXPECT_EQ(pg.insert("t", {"a"}, true), "INSERT INTO \"t\" (\"a\") VALUES (?) RETURNING \"id\"");
  EXPECT_TRUE(pg.insert_returns_row());
  EXPECT_FALSE(my.insert_returns_row());
  EXPECT_EQ(pg.upsert("t", {"a", "b"}, {"a"}, {"b"}),
            "INSERT INTO \"t\" (\"a\", \"b\") VALUES (?, ?) ON CONFLICT (\"a\") DO UPDATE SET \"b\" = EXCLUDED.\"b\"");
  EXPECT_EQ(my.upsert("t", {"a", "b"}, {"a"}, {"b"}),
            "INSERT INTO `t` (`a`, `b`) VALUES (?, ?) ON DUPLICATE KEY UPDATE `b` = VALUES(`b`)");
  EXPECT_EQ(my.insert("t", {}, false), "INSERT INTO `t` () VALUES ()");
  EXPECT_EQ(my.literal(Value{std::string("a'b\\c")}), "'a''b\\\\c'");
  EXPECT_FALSE(my.transactional_ddl());
  EXPECT_TRUE(pg.transactional_ddl());
  for (const auto& table : test::dialect_test_schema().tables) {
    const auto statements = my.create_table(table);
    ASSERT_FALSE(statements.empty());
    EXPECT_NE(statements[0].find("ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci"), std::string::npos)
        << statements[0];
  }
}

}  // namespace
}  // namespace lunadb::sql
