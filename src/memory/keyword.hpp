#pragma once
// Turning a user's query into the backend's keyword query (docs/memory.md, "Tokenisation").

#include <string>
#include <string_view>

namespace lunadb::memory {

// An FTS5 MATCH expression: the query's words, each a quoted string, joined by OR, so any word
// matches and bm25 ranks by how many and how rare. Words are split at ASCII whitespace and
// punctuation; non-ASCII characters stay inside words (FTS5's unicode61 then splits them as it
// split the indexed text). Empty when the query has no word.
std::string fts5_match_expression(std::string_view query);

}  // namespace lunadb::memory
