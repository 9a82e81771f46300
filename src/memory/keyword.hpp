#pragma once
// Turning a user's query into the backend's keyword query (docs/memory.md, "Tokenisation").

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace lunadb::memory {

// The query's words: split at ASCII whitespace and punctuation; non-ASCII characters stay inside
// words (FTS5's unicode61 then splits them as it split the indexed text). A quote can never be
// inside a word: it is ASCII punctuation.
std::vector<std::string> query_words(std::string_view query);

// An FTS5 MATCH expression: the words, each a quoted string, joined by OR, so any word matches
// and bm25 ranks by how many and how rare. Empty when there is no word.
std::string fts5_match_expression(const std::vector<std::string>& words);
inline std::string fts5_match_expression(std::string_view query) { return fts5_match_expression(query_words(query)); }

// At most this many rows are weighed by bm25 for one query, as counted by the words' document
// frequencies (a bound on the cost, which grows with every row a word matches).
inline constexpr std::int64_t kKeywordRowBudget = 2000;

// The words worth searching for, rarest first: every word unless together they occur in more than
// `row_budget` rows, else the rarest ones that fit (always at least the rarest). Words in no row
// are dropped (they match nothing). `rows_containing` returns a word's document frequency, or -1
// when unknown (a non-ASCII word, whose folded form only the tokenizer knows: always kept).
std::vector<std::string> words_within_budget(const std::vector<std::string>& words,
                                             const std::function<std::int64_t(const std::string&)>& rows_containing,
                                             std::int64_t row_budget = kKeywordRowBudget);

}  // namespace lunadb::memory
