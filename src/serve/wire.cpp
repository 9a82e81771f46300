#include "serve/wire.hpp"

#include <fmt/format.h>

#include <cstdint>
#include <limits>
#include <optional>

namespace lunadb::serve::wire {

namespace {

[[noreturn]] void bad(const std::string& message) { throw Error(ErrorKind::invalid_argument, message); }

const Json& member(const Json& object, const char* name) {
  static const Json null_value;
  if (!object.is_object()) return null_value;
  auto found = object.find(name);
  return found == object.end() ? null_value : *found;
}

const Json& require_object(const Json& value, const char* what) {
  if (!value.is_object()) bad(fmt::format("{} must be a JSON object", what));
  return value;
}

const Json& require_array(const Json& value, const char* what) {
  if (!value.is_array()) bad(fmt::format("'{}' must be a list", what));
  return value;
}

std::string text(const Json& value, const char* what) {
  if (!value.is_string()) bad(fmt::format("'{}' must be a string", what));
  return value.get<std::string>();
}

std::int64_t whole(const Json& value, const char* what, std::int64_t minimum = 0,
                   std::int64_t maximum = std::numeric_limits<std::int64_t>::max()) {
  const auto out_of_range = [&] { bad(fmt::format("'{}' must be from {} to {}", what, minimum, maximum)); };
  if (!value.is_number_integer()) bad(fmt::format("'{}' must be a whole number", what));
  if (value.is_number_unsigned() && value.get<std::uint64_t>() > static_cast<std::uint64_t>(maximum)) out_of_range();
  const auto number = value.get<std::int64_t>();
  if (number < minimum || number > maximum) out_of_range();
  return number;
}

std::vector<std::string> strings(const Json& value, const char* what) {
  std::vector<std::string> out;
  if (value.is_null()) return out;
  for (const auto& item : require_array(value, what)) out.push_back(text(item, what));
  return out;
}

std::vector<float> floats(const Json& value, const char* what) {
  std::vector<float> out;
  out.reserve(require_array(value, what).size());
  for (const auto& number : value) {
    if (!number.is_number()) bad(fmt::format("'{}' must hold only numbers", what));
    out.push_back(number.get<float>());
  }
  return out;
}

std::vector<std::vector<float>> float_lists(const Json& value, const char* what) {
  std::vector<std::vector<float>> out;
  if (value.is_null()) return out;
  for (const auto& list : require_array(value, what)) out.push_back(floats(list, what));
  return out;
}

std::vector<std::optional<std::string>> documents_from(const Json& value, const char* what) {
  std::vector<std::optional<std::string>> out;
  if (value.is_null()) return out;
  for (const auto& item : require_array(value, what)) {
    if (item.is_null()) out.emplace_back();
    else out.emplace_back(text(item, what));
  }
  return out;
}

std::vector<Json> metadatas_from(const Json& value, const char* what) {
  std::vector<Json> out;
  if (value.is_null()) return out;
  for (const auto& item : require_array(value, what)) {
    if (!item.is_null() && !item.is_object()) bad(fmt::format("each of '{}' must be an object or null", what));
    out.push_back(item);
  }
  return out;
}

Json optional_metadata(const Json& value, const char* what) {
  if (!value.is_null() && !value.is_object()) bad(fmt::format("'{}' must be an object or null", what));
  return value;
}

unsigned include_from(const Json& value, unsigned fallback) {
  if (value.is_null()) return fallback;
  return static_cast<unsigned>(whole(value, "include", 0, vector::include_all));
}

}  // namespace

Json documents_json(const std::vector<std::optional<std::string>>& documents) {
  Json out = Json::array();
  for (const auto& document : documents) out.push_back(document ? Json(*document) : Json());
  return out;
}

Json to_json(const vector::CollectionConfig& config) {
  return {{"name", config.name},
          {"dimension", config.dimension},
          {"distance", vector::to_string(config.distance)},
          {"m", config.index.m},
          {"ef_construction", config.index.ef_construction},
          {"ef_search", config.index.ef_search},
          {"embedding_model", config.embedding_model}};
}

vector::CollectionConfig config_from(const Json& value) {
  require_object(value, "a collection configuration");
  vector::CollectionConfig config;
  config.name = text(member(value, "name"), "name");
  config.dimension = static_cast<int>(whole(member(value, "dimension"), "dimension", 0, 1 << 20));
  config.distance = vector::parse_distance(text(member(value, "distance"), "distance"));
  if (!member(value, "m").is_null()) config.index.m = static_cast<int>(whole(member(value, "m"), "m", 1, 1 << 20));
  if (!member(value, "ef_construction").is_null()) {
    config.index.ef_construction = static_cast<int>(whole(member(value, "ef_construction"), "ef_construction", 1, 1 << 20));
  }
  if (!member(value, "ef_search").is_null()) {
    config.index.ef_search = static_cast<int>(whole(member(value, "ef_search"), "ef_search", 1, 1 << 20));
  }
  if (!member(value, "embedding_model").is_null()) config.embedding_model = text(member(value, "embedding_model"), "embedding_model");
  return config;
}

Json to_json(const vector::CollectionStats& stats) {
  return {{"name", stats.name},
          {"count", stats.count},
          {"hnsw_active", stats.hnsw_active},
          {"index_elements", stats.index_elements},
          {"index_deleted", stats.index_deleted},
          {"last_seq", stats.last_seq},
          {"snapshot_seq", stats.snapshot_seq},
          {"index_recovery", stats.index_recovery},
          {"search_plan", stats.search_plan},
          {"search_ef", stats.search_ef},
          {"sampled_recall", stats.sampled_recall}};
}

vector::CollectionStats stats_from(const Json& value) {
  require_object(value, "collection statistics");
  vector::CollectionStats stats;
  stats.name = text(member(value, "name"), "name");
  stats.count = static_cast<std::size_t>(whole(member(value, "count"), "count"));
  stats.hnsw_active = member(value, "hnsw_active").is_boolean() && member(value, "hnsw_active").get<bool>();
  stats.index_elements = static_cast<std::size_t>(whole(member(value, "index_elements"), "index_elements"));
  stats.index_deleted = static_cast<std::size_t>(whole(member(value, "index_deleted"), "index_deleted"));
  stats.last_seq = whole(member(value, "last_seq"), "last_seq");
  stats.snapshot_seq = whole(member(value, "snapshot_seq"), "snapshot_seq");
  stats.index_recovery = text(member(value, "index_recovery"), "index_recovery");
  stats.search_plan = text(member(value, "search_plan"), "search_plan");
  stats.search_ef = static_cast<std::size_t>(whole(member(value, "search_ef"), "search_ef"));
  if (!member(value, "sampled_recall").is_number()) bad("'sampled_recall' must be a number");
  stats.sampled_recall = member(value, "sampled_recall").get<double>();
  return stats;
}

Json to_json(const std::vector<vector::Record>& records) {
  Json out = Json::array();
  for (const auto& record : records) {
    out.push_back({{"id", record.id},
                   {"embedding", record.embedding},
                   {"document", record.document ? Json(*record.document) : Json()},
                   {"metadata", record.metadata}});
  }
  return out;
}

std::vector<vector::Record> records_from(const Json& value) {
  std::vector<vector::Record> out;
  for (const auto& item : require_array(value, "records")) {
    require_object(item, "each record");
    vector::Record record;
    record.id = text(member(item, "id"), "id");
    record.embedding = floats(member(item, "embedding"), "embedding");
    if (!member(item, "document").is_null()) record.document = text(member(item, "document"), "document");
    record.metadata = optional_metadata(member(item, "metadata"), "metadata");
    out.push_back(std::move(record));
  }
  return out;
}

Json to_json(const std::vector<vector::RecordUpdate>& updates) {
  Json out = Json::array();
  for (const auto& update : updates) {
    Json item = {{"id", update.id}, {"metadata", update.metadata}};
    if (update.embedding) item["embedding"] = *update.embedding;
    if (update.document) item["document"] = *update.document;
    out.push_back(std::move(item));
  }
  return out;
}

std::vector<vector::RecordUpdate> updates_from(const Json& value) {
  std::vector<vector::RecordUpdate> out;
  for (const auto& item : require_array(value, "updates")) {
    require_object(item, "each update");
    vector::RecordUpdate update;
    update.id = text(member(item, "id"), "id");
    if (!member(item, "embedding").is_null()) update.embedding = floats(member(item, "embedding"), "embedding");
    if (!member(item, "document").is_null()) update.document = text(member(item, "document"), "document");
    update.metadata = optional_metadata(member(item, "metadata"), "metadata");
    out.push_back(std::move(update));
  }
  return out;
}

Json to_json(const vector::GetRequest& request) {
  return {{"ids", request.ids},
          {"where", request.where},
          {"where_document", request.where_document},
          {"limit", request.limit ? Json(*request.limit) : Json()},
          {"offset", request.offset},
          {"include", request.include}};
}

vector::GetRequest get_request_from(const Json& value) {
  require_object(value, "a get request");
  vector::GetRequest request;
  request.ids = strings(member(value, "ids"), "ids");
  request.where = member(value, "where");
  request.where_document = member(value, "where_document");
  if (!member(value, "limit").is_null()) request.limit = static_cast<std::size_t>(whole(member(value, "limit"), "limit"));
  if (!member(value, "offset").is_null()) request.offset = static_cast<std::size_t>(whole(member(value, "offset"), "offset"));
  request.include = include_from(member(value, "include"), request.include);
  return request;
}

Json to_json(const vector::GetResult& result) {
  return {{"ids", result.ids},
          {"embeddings", result.embeddings},
          {"documents", documents_json(result.documents)},
          {"metadatas", result.metadatas}};
}

vector::GetResult get_result_from(const Json& value) {
  require_object(value, "a get result");
  vector::GetResult result;
  result.ids = strings(member(value, "ids"), "ids");
  result.embeddings = float_lists(member(value, "embeddings"), "embeddings");
  result.documents = documents_from(member(value, "documents"), "documents");
  result.metadatas = metadatas_from(member(value, "metadatas"), "metadatas");
  return result;
}

Json to_json(const vector::QueryRequest& request) {
  return {{"embeddings", request.embeddings},
          {"n_results", request.n_results},
          {"where", request.where},
          {"where_document", request.where_document},
          {"ids", request.ids},
          {"include", request.include},
          {"embedding_model", request.embedding_model},
          {"ef_search", request.ef_search ? Json(*request.ef_search) : Json()},
          {"exact", request.exact}};
}

vector::QueryRequest query_request_from(const Json& value) {
  require_object(value, "a query request");
  vector::QueryRequest request;
  request.embeddings = float_lists(member(value, "embeddings"), "embeddings");
  if (!member(value, "n_results").is_null()) {
    request.n_results = static_cast<std::size_t>(whole(member(value, "n_results"), "n_results", 0, 1 << 30));
  }
  request.where = member(value, "where");
  request.where_document = member(value, "where_document");
  request.ids = strings(member(value, "ids"), "ids");
  request.include = include_from(member(value, "include"), request.include);
  if (!member(value, "embedding_model").is_null()) request.embedding_model = text(member(value, "embedding_model"), "embedding_model");
  if (!member(value, "ef_search").is_null()) {
    request.ef_search = static_cast<std::size_t>(whole(member(value, "ef_search"), "ef_search", 1, 1 << 20));
  }
  const Json& exact = member(value, "exact");
  if (!exact.is_null() && !exact.is_boolean()) bad("'exact' must be true or false");
  request.exact = exact.is_boolean() && exact.get<bool>();
  return request;
}

Json to_json(const std::vector<vector::Matches>& matches) {
  Json out = Json::array();
  for (const auto& match : matches) {
    out.push_back({{"ids", match.ids},
                   {"distances", match.distances},
                   {"embeddings", match.embeddings},
                   {"documents", documents_json(match.documents)},
                   {"metadatas", match.metadatas}});
  }
  return out;
}

std::vector<vector::Matches> matches_from(const Json& value) {
  std::vector<vector::Matches> out;
  for (const auto& item : require_array(value, "matches")) {
    require_object(item, "each match list");
    vector::Matches match;
    match.ids = strings(member(item, "ids"), "ids");
    if (!member(item, "distances").is_null()) match.distances = floats(member(item, "distances"), "distances");
    match.embeddings = float_lists(member(item, "embeddings"), "embeddings");
    match.documents = documents_from(member(item, "documents"), "documents");
    match.metadatas = metadatas_from(member(item, "metadatas"), "metadatas");
    out.push_back(std::move(match));
  }
  return out;
}

Json to_json(const vector::DeleteRequest& request) {
  return {{"ids", request.ids}, {"where", request.where}, {"where_document", request.where_document}};
}

vector::DeleteRequest delete_request_from(const Json& value) {
  require_object(value, "a delete request");
  vector::DeleteRequest request;
  request.ids = strings(member(value, "ids"), "ids");
  request.where = member(value, "where");
  request.where_document = member(value, "where_document");
  return request;
}

namespace {

// By name, so that the wire does not depend on the order of ErrorKind.
constexpr std::pair<ErrorKind, const char*> kKindNames[] = {
    {ErrorKind::config, "config"},         {ErrorKind::usage, "usage"},
    {ErrorKind::connection, "connection"}, {ErrorKind::constraint, "constraint"},
    {ErrorKind::busy, "busy"},             {ErrorKind::pool_timeout, "pool_timeout"},
    {ErrorKind::not_found, "not_found"},   {ErrorKind::corrupt, "corrupt"},
    {ErrorKind::migration, "migration"},   {ErrorKind::invalid_argument, "invalid_argument"},
    {ErrorKind::unsupported, "unsupported"}, {ErrorKind::embedding, "embedding"},
    {ErrorKind::io, "io"},                 {ErrorKind::internal, "internal"}};

}  // namespace

Json error_json(const char* chroma_name, const std::string& message, ErrorKind kind) {
  const char* kind_name = "internal";
  for (const auto& [known, name] : kKindNames) {
    if (known == kind) kind_name = name;
  }
  return {{"error", chroma_name}, {"message", message}, {"lunadb_kind", kind_name}};
}

Error error_from(int status, const std::string& body) {
  ErrorKind kind = status == 404   ? ErrorKind::not_found
                   : status == 409 ? ErrorKind::constraint
                   : status == 401 || status == 403 ? ErrorKind::connection
                   : status == 400 ? ErrorKind::invalid_argument
                   : status == 501 ? ErrorKind::unsupported
                   : status == 503 ? ErrorKind::busy
                                   : ErrorKind::internal;
  std::string message = fmt::format("the server answered HTTP {}", status);
  const Json parsed = Json::parse(body, nullptr, false);
  if (parsed.is_object()) {
    const Json& text_value = member(parsed, "message");
    if (text_value.is_string()) message = text_value.get<std::string>();
    const Json& kind_value = member(parsed, "lunadb_kind");
    for (const auto& [known, name] : kKindNames) {
      if (kind_value.is_string() && kind_value.get<std::string>() == name) kind = known;
    }
  }
  return Error(kind, message);
}

}  // namespace lunadb::serve::wire
