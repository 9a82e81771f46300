#pragma once
// The input rules every VectorStore implementation applies before it writes or searches, so that
// the embedded store and the pgvector backend refuse the same calls with the same messages.
// All throw Error(invalid_argument) naming the collection, the record and the rule.

#include <string>
#include <vector>

#include "lunadb/vector.hpp"

namespace lunadb::vector::detail {

void validate_collection_config(const CollectionConfig& config);
void validate_record_id(const std::string& id, const std::string& what);
void validate_embedding(const CollectionConfig& config, const std::vector<float>& embedding, const std::string& context);
// add / upsert: every record, and no id twice in the call. `operation` is "add" or "upsert".
void validate_records(const CollectionConfig& config, const std::vector<Record>& records, const char* operation);
void validate_updates(const CollectionConfig& config, const std::vector<RecordUpdate>& updates);
// The query vectors (dimension, model, finiteness) and n_results.
void validate_query(const CollectionConfig& config, const QueryRequest& request);
// An empty delete request would delete everything: refused.
void validate_delete(const CollectionConfig& config, const DeleteRequest& request);

// The messages for an add whose id is already stored (Error(constraint)), and for a
// get_or_create_collection whose existing collection differs (Error(invalid_argument)).
std::string id_exists_message(const CollectionConfig& config, const char* operation, const std::string& id);
std::string collection_mismatch_message(const CollectionConfig& existing, const CollectionConfig& wanted);

}  // namespace lunadb::vector::detail
