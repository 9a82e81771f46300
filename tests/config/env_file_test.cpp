// The env-file parser against python-dotenv's documented and observed behaviour.

#include "config/env_file.hpp"

#include <gtest/gtest.h>

#include <fstream>

#include "lunadb/error.hpp"
#include "support/temp_dir.hpp"

namespace lunadb::config_detail {
namespace {

// The value of the last entry named `key`, or "<unset>" / "<no value>".
std::string value_of(const ParsedEnvText& parsed, const std::string& key) {
  for (auto entry = parsed.entries.rbegin(); entry != parsed.entries.rend(); ++entry) {
    if (entry->key == key) return entry->value ? *entry->value : "<no value>";
  }
  return "<unset>";
}

TEST(EnvFile, PlainAssignmentsCommentsAndBlankLines) {
  const auto parsed = parse_env_text(
      "# Luna settings\n"
      "\n"
      "DB_PATH=data/luna.db\n"
      "   # indented comment\n"
      "DB_POOL_SIZE=10\n");
  ASSERT_EQ(parsed.entries.size(), 2u);
  EXPECT_EQ(value_of(parsed, "DB_PATH"), "data/luna.db");
  EXPECT_EQ(value_of(parsed, "DB_POOL_SIZE"), "10");
  EXPECT_TRUE(parsed.skipped_lines.empty());
}

TEST(EnvFile, ExportPrefixAndSpacesAroundEquals) {
  const auto parsed = parse_env_text("export DB_URL=sqlite://\n  SPACED_KEY =   parsed value  \nexport=1\n");
  EXPECT_EQ(value_of(parsed, "DB_URL"), "sqlite://");
  EXPECT_EQ(value_of(parsed, "SPACED_KEY"), "parsed value");
  EXPECT_EQ(value_of(parsed, "export"), "1");  // "export" without a following space is a key
}

TEST(EnvFile, InlineCommentNeedsWhitespaceBeforeHash) {
  const auto parsed = parse_env_text(
      "A=value # comment\n"
      "B=value#not-a-comment\n"
      "C=  # only a comment\n"
      "D=#starts-with-hash\n"
      "E=inline comments # work #very #well\n");
  EXPECT_EQ(value_of(parsed, "A"), "value");
  EXPECT_EQ(value_of(parsed, "B"), "value#not-a-comment");
  EXPECT_EQ(value_of(parsed, "C"), "");
  EXPECT_EQ(value_of(parsed, "D"), "#starts-with-hash");
  EXPECT_EQ(value_of(parsed, "E"), "inline comments");
}

TEST(EnvFile, SingleQuotesKeepBackslashesExceptQuoteAndBackslash) {
  const auto parsed = parse_env_text(R"(A='dont\nexpand'
B='it\'s'
C='  spaced  ' # comment
D='a\\b'
)");
  EXPECT_EQ(value_of(parsed, "A"), R"(dont\nexpand)");
  EXPECT_EQ(value_of(parsed, "B"), "it's");
  EXPECT_EQ(value_of(parsed, "C"), "  spaced  ");
  EXPECT_EQ(value_of(parsed, "D"), R"(a\b)");
}

TEST(EnvFile, DoubleQuotesDecodeEscapes) {
  const auto parsed = parse_env_text(R"(A="expand\nnew\nlines"
B="tab\there \"quoted\" back\\slash"
C="keeps \d unknown escapes"
D="# not a comment" # a comment
E=dontexpand\nunquoted
)");
  EXPECT_EQ(value_of(parsed, "A"), "expand\nnew\nlines");
  EXPECT_EQ(value_of(parsed, "B"), "tab\there \"quoted\" back\\slash");
  EXPECT_EQ(value_of(parsed, "C"), R"(keeps \d unknown escapes)");
  EXPECT_EQ(value_of(parsed, "D"), "# not a comment");
  EXPECT_EQ(value_of(parsed, "E"), R"(dontexpand\nunquoted)");
}

TEST(EnvFile, QuotedValuesMaySpanLines) {
  const auto parsed = parse_env_text("MULTI=\"THIS\nIS\nMULTILINE\"\nAFTER=1\n");
  EXPECT_EQ(value_of(parsed, "MULTI"), "THIS\nIS\nMULTILINE");
  EXPECT_EQ(value_of(parsed, "AFTER"), "1");
  EXPECT_EQ(parsed.entries.back().line, 4);
}

TEST(EnvFile, CrlfAndCrLineEndings) {
  const auto crlf = parse_env_text("A=1\r\nB=two words\r\nC=\"q\"\r\n");
  EXPECT_EQ(value_of(crlf, "A"), "1");
  EXPECT_EQ(value_of(crlf, "B"), "two words");
  EXPECT_EQ(value_of(crlf, "C"), "q");
  EXPECT_EQ(crlf.entries[2].line, 3);
  const auto cr_only = parse_env_text("A=1\rB=2\r");
  EXPECT_EQ(value_of(cr_only, "A"), "1");
  EXPECT_EQ(value_of(cr_only, "B"), "2");
}

TEST(EnvFile, Utf8ByteOrderMarkIsIgnored) {
  const auto parsed = parse_env_text(
      "\xEF\xBB\xBF"
      "DB_POOL_SIZE=5\n");
  ASSERT_EQ(parsed.entries.size(), 1u);
  EXPECT_EQ(parsed.entries[0].key, "DB_POOL_SIZE");
  EXPECT_EQ(value_of(parsed, "DB_POOL_SIZE"), "5");
}

TEST(EnvFile, BareKeyHasNoValueAndEmptyAssignmentIsEmpty) {
  const auto parsed = parse_env_text("BARE\nEMPTY=\nEMPTY_QUOTED=\"\"\n");
  EXPECT_EQ(value_of(parsed, "BARE"), "<no value>");
  EXPECT_EQ(value_of(parsed, "EMPTY"), "");
  EXPECT_EQ(value_of(parsed, "EMPTY_QUOTED"), "");
}

TEST(EnvFile, QuotedKey) {
  const auto parsed = parse_env_text("'DB_ECHO'=true\n");
  EXPECT_EQ(value_of(parsed, "DB_ECHO"), "true");
}

TEST(EnvFile, UnparseableStatementsAreSkippedAndReported) {
  const auto parsed = parse_env_text(
      "GOOD=1\n"
      "=no key\n"
      "BAD=\"closed\" trailing text\n"
      "ALSO_GOOD=2\n"
      "UNTERMINATED=\"never closed\n"
      "LAST=3\n");
  EXPECT_EQ(value_of(parsed, "GOOD"), "1");
  EXPECT_EQ(value_of(parsed, "ALSO_GOOD"), "2");
  EXPECT_EQ(value_of(parsed, "BAD"), "<unset>");
  EXPECT_EQ(value_of(parsed, "UNTERMINATED"), "<unset>");
  EXPECT_EQ(value_of(parsed, "LAST"), "3");
  EXPECT_EQ(parsed.skipped_lines, (std::vector<int>{2, 3, 5}));
}

TEST(EnvFile, NoTrailingNewline) {
  const auto parsed = parse_env_text("A=1\nB=last");
  EXPECT_EQ(value_of(parsed, "B"), "last");
}

TEST(EnvFile, ExpandsVariablesLikeDotenvValues) {
  auto parsed = parse_env_text(
      "BASE=/srv/luna\n"
      "DATA=${BASE}/data\n"
      "FALLBACK=${MISSING:-/default/path}\n"
      "FROM_OUTSIDE=${OUTSIDE_ONLY}\n"
      "FILE_WINS=${BASE}\n"
      "UNKNOWN=[${NOPE}]\n"
      "NOT_BRACED=$BASE\n"
      "UNTERMINATED=${BASE\n"
      "SINGLE='${BASE}'\n");
  expand_variables(parsed.entries, [](const std::string& name) -> std::optional<std::string> {
    if (name == "OUTSIDE_ONLY") return "outside";
    if (name == "BASE") return "environment-base";
    return std::nullopt;
  });
  EXPECT_EQ(value_of(parsed, "DATA"), "/srv/luna/data");
  EXPECT_EQ(value_of(parsed, "FALLBACK"), "/default/path");
  EXPECT_EQ(value_of(parsed, "FROM_OUTSIDE"), "outside");
  EXPECT_EQ(value_of(parsed, "FILE_WINS"), "/srv/luna");  // an earlier line beats the environment
  EXPECT_EQ(value_of(parsed, "UNKNOWN"), "[]");
  EXPECT_EQ(value_of(parsed, "NOT_BRACED"), "$BASE");
  EXPECT_EQ(value_of(parsed, "UNTERMINATED"), "${BASE");
  EXPECT_EQ(value_of(parsed, "SINGLE"), "/srv/luna");  // python-dotenv expands single-quoted values too
}

TEST(EnvFile, ReadMissingFileGivesNothing) {
  test::TempDir dir;
  EXPECT_FALSE(read_env_file(dir / "absent.env").has_value());
}

TEST(EnvFile, ReadReturnsBytes) {
  test::TempDir dir;
  std::ofstream(dir / "x.env", std::ios::binary) << "A=1\r\n";
  EXPECT_EQ(read_env_file(dir / "x.env"), std::optional<std::string>("A=1\r\n"));
}

TEST(EnvFile, ReadDirectoryIsConfigErrorNamingIt) {
  test::TempDir dir;
  std::filesystem::create_directory(dir / "dir.env");
  try {
    read_env_file(dir / "dir.env");
    FAIL() << "expected an error";
  } catch (const Error& error) {
    EXPECT_EQ(error.kind(), ErrorKind::config);
    EXPECT_NE(std::string(error.what()).find((dir / "dir.env").string()), std::string::npos) << error.what();
  }
}

}  // namespace
}  // namespace lunadb::config_detail
