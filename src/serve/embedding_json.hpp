#pragma once
// A fast path for the one large field of a request body: a list of embeddings. A 768-dimensional
// query is ~15 kB of JSON numbers, and nlohmann's DOM parse of it (a lexer that copies each
// number into a buffer, then strtod, then a json node per number) was a fifth of the server's
// time per query. Here the list is parsed straight into floats, and nlohmann parses only the
// rest of the body, with the list's value replaced by `null`.
//
// The fast path decides nothing about errors: it takes a body only when it can prove the body is
// well-formed and the list is a list of lists of numbers. Anything else (a malformed body, a
// duplicate or escaped key, a null or a string inside the list) returns nullopt, and the caller
// parses the whole body as before, so every error keeps its message and its error name.

#include <optional>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace lunadb::serve::detail {

struct SplitBody {
  nlohmann::json rest;                          // the body, with `key`'s value replaced by null
  std::vector<std::vector<float>> embeddings;   // `key`'s value
};

// Splits `body` (a JSON object) into its `key` member, parsed as a list of lists of numbers, and
// the rest. The floats are bit for bit what nlohmann::json::parse(body)[key][i][j].get<float>()
// gives (an integer token converted from int64/uint64, any other from the correctly rounded
// double). nullopt when the fast path does not apply.
std::optional<SplitBody> split_embeddings(std::string_view body, std::string_view key);

// One JSON number token (the whole of `token`, strict JSON grammar) as nlohmann would read it and
// get<float>() convert it; nullopt when `token` is not a JSON number, or is one beyond double's
// range, which nlohmann refuses. Exposed for the tests.
std::optional<float> json_number_as_float(std::string_view token);

}  // namespace lunadb::serve::detail
