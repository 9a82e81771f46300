// Regressions of issue 13 (differential testing against ChromaDB 1.5): $regex on long documents,
// regexes over UTF-8 characters, exact int/float comparison above 2^53, #document inside where;
// and a bounded fuzz loop over the regex path (run under ASan+UBSan in CI).

#include <gtest/gtest.h>

#include <chrono>
#include <random>
#include <string>

#include "lunadb/error.hpp"
#include "vector/filter.hpp"

namespace lunadb::vector {
namespace {

using detail::Filter;

bool doc_matches(const Json& where_document, const std::string& document) {
  return Filter::compile(nullptr, where_document).matches(nullptr, document);
}

TEST(VectorFilterRegex, LongDocumentsNeitherCrashNorRecurse) {
  // std::regex recursed per character and segfaulted at 20-50 KB.
  for (std::size_t size : {50'000u, 1'000'000u}) {
    const std::string document(size, 'a');
    EXPECT_TRUE(doc_matches({{"$regex", ".*"}}, document)) << size;
    EXPECT_TRUE(doc_matches({{"$regex", "^(a|aa)+$"}}, document)) << size;
    EXPECT_FALSE(doc_matches({{"$regex", "(a*)*b"}}, document)) << size;
    EXPECT_TRUE(doc_matches({{"$not_regex", "b"}}, document)) << size;
  }
}

TEST(VectorFilterRegex, MatchesUtf8CharactersNotBytes) {
  EXPECT_TRUE(doc_matches({{"$regex", "テ.スト"}}, "テキスト"));
  EXPECT_TRUE(doc_matches({{"$regex", "^I . .$"}}, "I ❤ 🍕"));
  EXPECT_FALSE(doc_matches({{"$regex", "^I .$"}}, "I 🍕🍕"));
  EXPECT_TRUE(doc_matches({{"$regex", "^\\p{Han}+$"}}, "早上好"));
}

TEST(VectorFilterRegex, BadPatternsAreClearErrors) {
  for (const char* pattern : {"(", "a{1001}", "(?=look)ahead", "\\1"}) {
    try {
      Filter::compile(nullptr, {{"$regex", pattern}});
      ADD_FAILURE() << "accepted " << pattern;
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::invalid_argument);
      EXPECT_NE(std::string(e.what()).find("invalid regular expression"), std::string::npos) << e.what();
    }
  }
  try {
    Filter::compile(nullptr, {{"$regex", std::string("a\xff", 2)}});
    ADD_FAILURE() << "accepted invalid UTF-8";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("not valid UTF-8"), std::string::npos) << e.what();
  }
}

TEST(VectorFilterNumbers, IntegersAbove2To53CompareExactlyWithFloats) {
  const Json m = {{"n", 9007199254740993LL}};  // 2^53 + 1: no double holds it
  auto where = [&](const char* op, double d) {
    return Filter::compile(Json{{"n", {{op, d}}}}, nullptr).matches(m, std::nullopt);
  };
  EXPECT_TRUE(where("$gt", 9007199254740992.0));
  EXPECT_FALSE(where("$eq", 9007199254740992.0));
  EXPECT_TRUE(where("$ne", 9007199254740992.0));
  EXPECT_FALSE(where("$lte", 9007199254740992.0));
  EXPECT_TRUE(where("$lt", 9007199254740994.0));
  EXPECT_TRUE(Filter::compile(Json{{"n", {{"$in", {9007199254740993LL}}}}}, nullptr).matches(m, std::nullopt));
  EXPECT_FALSE(Filter::compile(Json{{"n", {{"$in", {9007199254740992.0}}}}}, nullptr).matches(m, std::nullopt));
  // Fractions and the int64 range's ends.
  const Json three = {{"n", 3}};
  EXPECT_TRUE(Filter::compile(Json{{"n", {{"$lt", 3.5}}}}, nullptr).matches(three, std::nullopt));
  EXPECT_TRUE(Filter::compile(Json{{"n", {{"$gt", 2.5}}}}, nullptr).matches(three, std::nullopt));
  EXPECT_TRUE(Filter::compile(Json{{"n", 3.0}}, nullptr).matches(three, std::nullopt));
  const Json max = {{"n", INT64_MAX}};
  EXPECT_TRUE(Filter::compile(Json{{"n", {{"$lt", 9223372036854775808.0}}}}, nullptr).matches(max, std::nullopt));
  const Json min = {{"n", INT64_MIN}};
  EXPECT_TRUE(Filter::compile(Json{{"n", {{"$eq", -9223372036854775808.0}}}}, nullptr).matches(min, std::nullopt));
  EXPECT_TRUE(Filter::compile(Json{{"n", {{"$gt", -1e300}}}}, nullptr).matches(min, std::nullopt));
}

TEST(VectorFilterDocument, DocumentInsideWhereIsADocumentFilter) {
  const Json where = {{"#document", {{"$contains", "hello"}}}};
  EXPECT_TRUE(Filter::compile(where, nullptr).matches(nullptr, std::string("say hello")));
  EXPECT_FALSE(Filter::compile(where, nullptr).matches(nullptr, std::string("goodbye")));
  EXPECT_FALSE(Filter::compile(where, nullptr).matches(nullptr, std::nullopt));
  const Json combined = {{"$and", {{{"kind", "fact"}}, {{"#document", {{"$not_contains", "tea"}}}}}}};
  EXPECT_TRUE(Filter::compile(combined, nullptr).matches({{"kind", "fact"}}, std::string("coffee")));
  EXPECT_FALSE(Filter::compile(combined, nullptr).matches({{"kind", "fact"}}, std::string("tea")));
  EXPECT_THROW(Filter::compile(Json{{"#document", {{"$gt", 1}}}}, nullptr), Error);
}

// Random documents (long ones included, invalid UTF-8 too) against adversarial patterns: never a
// crash, an error only as lunadb::Error, and no pattern takes more than linear time (the bound
// here is generous: 2 s for 1 MB x 60 patterns, where backtracking would take hours).
TEST(VectorFilterRegex, FuzzAdversarialPatternsOnLongDocuments) {
  std::mt19937_64 rng(20261206);
  const std::vector<std::string> adversarial = {
      "(a*)*b", "(a|aa)+$", "(a|a?)+b", "^(a+)+$", "(.*a){20}", "(x+x+)+y", "a{0,1000}a{0,1000}b",
      "((((((((((a))))))))))*c", "(?i)(A|B|AB)*C", "[\\p{L}\\p{N}]+$", "(\\w+\\s?)*$", ".*.*.*.*.*=.*",
  };
  const std::string alphabet = "aab xy\n=AB\xe2\x9d\xa4\xf0\x9f\x8d\x95\xff";
  auto random_text = [&](std::size_t size) {
    std::string out;
    out.reserve(size);
    std::uniform_int_distribution<std::size_t> pick(0, alphabet.size() - 1);
    while (out.size() < size) out += alphabet[pick(rng)];
    return out;
  };
  auto random_pattern = [&] {
    std::string p;
    std::uniform_int_distribution<int> len(1, 12), piece(0, 9);
    static const char* pieces[] = {"a", "(", ")", "*", "+", "?", "|", ".", "[a-z]", "{2,5}"};
    for (int i = len(rng); i > 0; --i) p += pieces[piece(rng)];
    return p;
  };
  const std::string megabyte(1 << 20, 'a');
  const auto start = std::chrono::steady_clock::now();
  for (const auto& pattern : adversarial) {
    for (const char* op : {"$regex", "$not_regex"}) doc_matches({{op, pattern}}, megabyte);
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_LT(seconds, 60.0) << "adversarial patterns on 1 MB took " << seconds << " s";
  try {
    Filter::compile(nullptr, {{"$regex", "[\\p{L}]{1,100}"}});
    ADD_FAILURE() << "a pattern of ~120,000 instructions was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("too large"), std::string::npos) << e.what();
  }
  for (int round = 0; round < 400; ++round) {
    const std::string document = random_text(round % 20 == 0 ? 200'000 : 500);
    const std::string pattern = random_pattern();
    try {
      doc_matches({{"$regex", pattern}}, document);
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::invalid_argument) << pattern;
    }
  }
}

}  // namespace
}  // namespace lunadb::vector
