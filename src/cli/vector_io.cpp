#include "cli/vector_io.hpp"

#include <charconv>
#include <cmath>
#include <limits>

#include "lunadb/error.hpp"

namespace lunadb::cli::vectors {

namespace {

[[noreturn]] void bad_line(const std::string& where, const std::string& why) {
  throw Error(ErrorKind::invalid_argument, where + ": " + why);
}

const char* type_name(const Json& value) {
  return value.type_name();
}

std::vector<float> parse_embedding(const Json& value, const std::string& where) {
  if (!value.is_array()) bad_line(where, std::string("\"embedding\" must be an array of numbers, got ") + type_name(value));
  if (value.empty()) bad_line(where, "\"embedding\" is an empty array");
  std::vector<float> embedding;
  embedding.reserve(value.size());
  for (std::size_t i = 0; i < value.size(); ++i) {
    const Json& element = value[i];
    if (!element.is_number()) {
      bad_line(where, "\"embedding\" value " + std::to_string(i) + " is " + type_name(element) + ", not a number");
    }
    const double number = element.get<double>();
    if (!std::isfinite(number) || std::fabs(number) > std::numeric_limits<float>::max()) {
      bad_line(where, "\"embedding\" value " + std::to_string(i) + " does not fit a 32-bit float");
    }
    embedding.push_back(static_cast<float>(number));
  }
  return embedding;
}

// The shortest decimal that reads back as `value`, stored as the double of that decimal so
// nlohmann's (double) printer spells it the same way.
double shortest_double(float value) {
  char buffer[32];
  auto printed = std::to_chars(buffer, buffer + sizeof buffer, value);
  double result = 0;
  std::from_chars(buffer, printed.ptr, result);
  return result;
}

Json documents_json(const std::vector<std::optional<std::string>>& documents) {
  Json out = Json::array();
  for (const auto& document : documents) out.push_back(document ? Json(*document) : Json());
  return out;
}

}  // namespace

ImportLine parse_import_line(std::string_view text, std::size_t line_number, const std::string& where) {
  const Json value = vector::parse_json(text, where);
  if (!value.is_object()) bad_line(where, std::string("expected a JSON object, got ") + type_name(value));
  ImportLine line;
  line.line_number = line_number;
  for (const auto& [key, field] : value.items()) {
    if (key == "id") {
      if (!field.is_string()) bad_line(where, std::string("\"id\" must be a string, got ") + type_name(field));
      line.record.id = field.get<std::string>();
    } else if (key == "embedding") {
      if (!field.is_null()) line.record.embedding = parse_embedding(field, where);
    } else if (key == "document") {
      if (!field.is_null() && !field.is_string()) {
        bad_line(where, std::string("\"document\" must be a string or null, got ") + type_name(field));
      }
      if (field.is_string()) line.record.document = field.get<std::string>();
    } else if (key == "metadata") {
      if (!field.is_null() && !field.is_object()) {
        bad_line(where, std::string("\"metadata\" must be an object or null, got ") + type_name(field));
      }
      line.record.metadata = field;
    } else {
      bad_line(where, "unknown field \"" + key + "\" (expected id, embedding, document, metadata)");
    }
  }
  if (!value.contains("id")) bad_line(where, "missing \"id\"");
  if (line.record.embedding.empty()) {
    if (!line.record.document) bad_line(where, "no \"embedding\" and no \"document\" to embed");
    line.needs_embedding = true;
  }
  return line;
}

std::string export_line(const std::string& id, const std::vector<float>* embedding,
                        const std::optional<std::string>& document, const Json& metadata) {
  // Built by hand so the fields keep the documented order (Json objects sort their keys).
  std::string line = "{\"id\":" + Json(id).dump();
  if (embedding) line += ",\"embedding\":" + float_array(*embedding).dump();
  line += ",\"document\":" + (document ? Json(*document) : Json()).dump();
  line += ",\"metadata\":" + metadata.dump() + "}";
  return line;
}

Json float_array(const std::vector<float>& values) {
  Json out = Json::array();
  out.get_ref<Json::array_t&>().reserve(values.size());
  for (float value : values) out.push_back(shortest_double(value));
  return out;
}

unsigned parse_include(const std::vector<std::string>& words, unsigned allowed) {
  unsigned include = 0;
  for (const auto& word : words) {
    if (word.empty()) continue;  // --include '' asks for ids only, as ChromaDB's include=[]
    unsigned bit = 0;
    if (word == "embeddings") bit = vector::include_embeddings;
    else if (word == "documents") bit = vector::include_documents;
    else if (word == "metadatas") bit = vector::include_metadatas;
    else if (word == "distances") bit = vector::include_distances;
    if (bit == 0 || (bit & allowed) == 0) {
      std::string expected = "embeddings, documents, metadatas";
      if (allowed & vector::include_distances) expected += ", distances";
      throw Error(ErrorKind::usage, "--include: unknown field '" + word + "' (expected " + expected + ")");
    }
    include |= bit;
  }
  return include;
}

OrderedJson get_result_json(const vector::GetResult& result, unsigned include) {
  OrderedJson out = OrderedJson::object();
  out["ids"] = result.ids;
  if (include & vector::include_embeddings) {
    Json embeddings = Json::array();
    for (const auto& e : result.embeddings) embeddings.push_back(float_array(e));
    out["embeddings"] = std::move(embeddings);
  }
  if (include & vector::include_documents) out["documents"] = documents_json(result.documents);
  if (include & vector::include_metadatas) out["metadatas"] = result.metadatas;
  return out;
}

OrderedJson query_result_json(const std::vector<vector::Matches>& results, unsigned include) {
  OrderedJson out = OrderedJson::object();
  Json ids = Json::array(), distances = Json::array(), embeddings = Json::array(), documents = Json::array(),
       metadatas = Json::array();
  for (const auto& matches : results) {
    ids.push_back(matches.ids);
    distances.push_back(float_array(matches.distances));
    Json vectors = Json::array();
    for (const auto& e : matches.embeddings) vectors.push_back(float_array(e));
    embeddings.push_back(std::move(vectors));
    documents.push_back(documents_json(matches.documents));
    metadatas.push_back(matches.metadatas);
  }
  out["ids"] = std::move(ids);
  if (include & vector::include_distances) out["distances"] = std::move(distances);
  if (include & vector::include_embeddings) out["embeddings"] = std::move(embeddings);
  if (include & vector::include_documents) out["documents"] = std::move(documents);
  if (include & vector::include_metadatas) out["metadatas"] = std::move(metadatas);
  return out;
}

}  // namespace lunadb::cli::vectors
