#pragma once
// The JSON shapes of `lunadb vectors`: one JSON Lines record per line for import/export
// ({"id","embedding","document","metadata"}), and Chroma-shaped get/query answers.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lunadb/vector.hpp"

namespace lunadb::cli::vectors {

using vector::Json;
using OrderedJson = nlohmann::ordered_json;  // answers keep Chroma's key order

// A parsed import line. `record.embedding` is empty when the line has none (to be embedded
// from `record.document`).
struct ImportLine {
  vector::Record record;
  std::size_t line_number = 0;
  bool needs_embedding = false;
};

// Throws Error(invalid_argument) "<where>: ..." for malformed JSON, a missing or non-string id,
// a non-numeric embedding, a wrong field type, an unknown field, or a line with neither an
// embedding nor a document.
ImportLine parse_import_line(std::string_view text, std::size_t line_number, const std::string& where);

// One export line; without the "embedding" key when `embedding` is null.
std::string export_line(const std::string& id, const std::vector<float>* embedding,
                        const std::optional<std::string>& document, const Json& metadata);

// Floats as JSON numbers with their shortest round-trip spelling (0.1f prints as 0.1).
Json float_array(const std::vector<float>& values);

// Parses "--include documents,metadatas,..." words into vector::Include bits; Error(usage) for
// an unknown word or one not in `allowed`.
unsigned parse_include(const std::vector<std::string>& words, unsigned allowed);

// Chroma's get shape: {"ids":[...], "embeddings"?, "documents"?, "metadatas"?}.
OrderedJson get_result_json(const vector::GetResult& result, unsigned include);
// Chroma's query shape: one inner list per query vector.
OrderedJson query_result_json(const std::vector<vector::Matches>& results, unsigned include);

}  // namespace lunadb::cli::vectors
