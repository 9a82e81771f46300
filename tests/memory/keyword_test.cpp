// The keyword query built from a user's words: splitting, quoting and the row budget that keeps
// common words from making a query cost a scan of the memory.
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "memory/keyword.hpp"

namespace lunadb::memory {
namespace {

using Words = std::vector<std::string>;

TEST(MemoryKeywordQuery, WordsSplitAtAsciiPunctuationAndOperatorsAreQuoted) {
  EXPECT_EQ(query_words("Where does Zorbin live?"), (Words{"Where", "does", "Zorbin", "live"}));
  EXPECT_EQ(query_words("\"x\" OR * NEAR( -y"), (Words{"x", "OR", "NEAR", "y"}));
  EXPECT_EQ(query_words("東京 café"), (Words{"東京", "café"}));
  EXPECT_EQ(query_words("🍣!?"), (Words{"🍣"}));  // non-ASCII: a word for the tokenizer (which drops emoji)
  EXPECT_EQ(fts5_match_expression(Words{"a", "OR"}), "\"a\" OR \"OR\"");
  EXPECT_EQ(fts5_match_expression(Words{}), "");
}

TEST(MemoryKeywordQuery, RarestWordsWithinTheRowBudgetAreKept) {
  const std::map<std::string, std::int64_t> rows{{"is", 5690}, {"the", 2841}, {"zorbin", 26}, {"favourite", 960}, {"tea", 700}};
  std::vector<std::string> asked;
  auto lookup = [&](const std::string& word) -> std::int64_t {
    asked.push_back(word);
    auto found = rows.find(word);
    return found == rows.end() ? 0 : found->second;
  };
  // Lower-cased for the lookup, kept as typed for the query; rarest first; "the" and "is" exceed it.
  EXPECT_EQ(words_within_budget(query_words("What is Zorbin's favourite tea, the"), lookup, 2000),
            (Words{"Zorbin", "tea", "favourite"}));
  EXPECT_EQ(asked, (Words{"what", "is", "zorbin", "s", "favourite", "tea", "the"}));
  // Everything fits: nothing dropped but the words in no row.
  EXPECT_EQ(words_within_budget({"tea", "nowhere", "Tea"}, lookup, 2000), (Words{"tea", "Tea"}));
  // Even the rarest word is over the budget: it is kept, the rest dropped.
  EXPECT_EQ(words_within_budget({"the", "is"}, lookup, 100), (Words{"the"}));
  // Non-ASCII words have no folded form here: always kept, never looked up.
  asked.clear();
  EXPECT_EQ(words_within_budget({"東京", "is"}, lookup, 100), (Words{"東京"}));
  EXPECT_EQ(asked, (Words{"is"}));
}

}  // namespace
}  // namespace lunadb::memory
