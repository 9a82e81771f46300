#pragma once
// lunadb's own request and reply shapes under /api/v2/lunadb/ (docs/serve.md, "The lunadb
// endpoints"): the VectorStore interface carried over HTTP, so that `lunadb vectors` commands
// reach a store that a server holds with exactly the semantics they have locally (add fails on
// an existing id, update reports how many records changed, queries can fix ef or scan exactly),
// which Chroma's endpoints do not express. Both the server and the remote store use these
// functions, so the two sides cannot drift apart.

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "lunadb/error.hpp"
#include "lunadb/vector.hpp"

namespace lunadb::serve::wire {

using Json = nlohmann::json;

Json to_json(const vector::CollectionConfig& config);
vector::CollectionConfig config_from(const Json& value);

Json to_json(const vector::CollectionStats& stats);
vector::CollectionStats stats_from(const Json& value);

Json to_json(const std::vector<vector::Record>& records);
std::vector<vector::Record> records_from(const Json& value);

Json to_json(const std::vector<vector::RecordUpdate>& updates);
std::vector<vector::RecordUpdate> updates_from(const Json& value);

Json to_json(const vector::GetRequest& request);
vector::GetRequest get_request_from(const Json& value);

Json to_json(const vector::GetResult& result);
vector::GetResult get_result_from(const Json& value);

Json to_json(const vector::QueryRequest& request);
vector::QueryRequest query_request_from(const Json& value);

Json to_json(const std::vector<vector::Matches>& matches);
std::vector<vector::Matches> matches_from(const Json& value);

Json to_json(const vector::DeleteRequest& request);
vector::DeleteRequest delete_request_from(const Json& value);

// Documents as Chroma and lunadb carry them: a string per record, null for none.
Json documents_json(const std::vector<std::optional<std::string>>& documents);

// Errors keep their kind across the wire: {"error": NAME, "message": TEXT, "lunadb_kind": KIND},
// KIND the ErrorKind's name ("not_found", "constraint", ...).
Json error_json(const char* chroma_name, const std::string& message, ErrorKind kind);
// The Error a reply body describes; `status` decides the kind when the body has none.
Error error_from(int status, const std::string& body);

}  // namespace lunadb::serve::wire
