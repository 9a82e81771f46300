#include "vector/validation.hpp"

#include <cctype>
#include <cmath>
#include <string_view>
#include <unordered_set>

#include "lunadb/error.hpp"
#include "sql/sqlite_driver.hpp"
#include "vector/distance.hpp"
#include "vector/filter.hpp"

namespace lunadb::vector::detail {

namespace {

constexpr std::size_t kMaxIdBytes = 4096;

[[noreturn]] void invalid(const std::string& message) { throw Error(ErrorKind::invalid_argument, message); }

}  // namespace

void validate_collection_config(const CollectionConfig& c) {
  auto bad = [&](const std::string& why) { invalid("collection '" + c.name + "': " + why); };
  if (c.name.empty() || c.name.size() > 128) bad("the name must have 1 to 128 characters");
  if (!std::isalnum(static_cast<unsigned char>(c.name[0]))) bad("the name must start with a letter or digit");
  for (char ch : c.name) {
    if (!std::isalnum(static_cast<unsigned char>(ch)) && ch != '_' && ch != '-' && ch != '.') {
      bad("the name may only contain letters, digits, '_', '-' and '.'");
    }
  }
  if (c.dimension <= 0 || c.dimension > 65536) bad("dimension must be between 1 and 65536");
  if (c.index.m < 2 || c.index.m > 256) bad("index M must be between 2 and 256");
  if (c.index.ef_construction < 1 || c.index.ef_construction > 10000) bad("ef_construction must be between 1 and 10000");
  if (c.index.ef_search < 1 || c.index.ef_search > 10000) bad("ef_search must be between 1 and 10000");
}

void validate_record_id(const std::string& id, const std::string& what) {
  if (id.empty()) invalid(what + ": record ids must be non-empty");
  if (id.size() > kMaxIdBytes) invalid(what + ": record id of " + std::to_string(id.size()) + " bytes; ids are limited to 4096 bytes");
  if (!sql::is_valid_utf8(id)) invalid(what + ": record id is not valid UTF-8");
}

void validate_embedding(const CollectionConfig& config, const std::vector<float>& embedding, const std::string& context) {
  const auto dim = static_cast<std::size_t>(config.dimension);
  if (embedding.size() != dim) {
    invalid(context + ": embedding has dimension " + std::to_string(embedding.size()) + " but collection '" + config.name +
            "' expects " + std::to_string(dim));
  }
  for (std::size_t i = 0; i < embedding.size(); ++i) {
    if (!std::isfinite(embedding[i])) invalid(context + ": embedding value " + std::to_string(i) + " is NaN or infinite");
  }
  if (config.distance == Distance::cosine && inverse_norm(embedding.data(), dim) == 0.0f) {
    invalid(context + ": a zero vector has no direction for cosine distance");
  }
}

void validate_records(const CollectionConfig& config, const std::vector<Record>& records, const char* operation) {
  std::unordered_set<std::string_view> seen;
  for (std::size_t i = 0; i < records.size(); ++i) {
    const Record& r = records[i];
    validate_record_id(r.id, std::string(operation) + " to '" + config.name + "', record " + std::to_string(i));
    const std::string context = std::string(operation) + " to '" + config.name + "', record '" + r.id + "'";
    if (!seen.insert(r.id).second) invalid(context + ": id appears more than once in this call");
    validate_embedding(config, r.embedding, context);
    if (r.document && !sql::is_valid_utf8(*r.document)) invalid(context + ": document is not valid UTF-8");
    validate_metadata(r.metadata, true, context);
  }
}

void validate_updates(const CollectionConfig& config, const std::vector<RecordUpdate>& updates) {
  std::unordered_set<std::string_view> seen;
  for (std::size_t i = 0; i < updates.size(); ++i) {
    const RecordUpdate& u = updates[i];
    validate_record_id(u.id, "update of '" + config.name + "', record " + std::to_string(i));
    const std::string context = "update of '" + config.name + "', record '" + u.id + "'";
    if (!seen.insert(u.id).second) invalid(context + ": id appears more than once in this call");
    if (u.embedding) validate_embedding(config, *u.embedding, context);
    if (u.document && !sql::is_valid_utf8(*u.document)) invalid(context + ": document is not valid UTF-8");
    validate_metadata(u.metadata, true, context);
  }
}

void validate_query(const CollectionConfig& config, const QueryRequest& request) {
  const std::string context = "query of '" + config.name + "'";
  if (!request.embedding_model.empty() && !config.embedding_model.empty() && request.embedding_model != config.embedding_model) {
    invalid(context + ": the query vectors come from model '" + request.embedding_model + "' but the collection was built with '" +
            config.embedding_model + "'; embed the query text with '" + config.embedding_model +
            "', or re-embed the collection (export the documents, create a new collection with the new model, add them)");
  }
  if (request.embeddings.empty()) invalid(context + ": no query vectors given");
  if (request.n_results == 0) invalid(context + ": n_results must be at least 1");
  const auto dim = static_cast<std::size_t>(config.dimension);
  for (std::size_t q = 0; q < request.embeddings.size(); ++q) {
    const auto& e = request.embeddings[q];
    if (e.size() != dim) {
      invalid(context + ": query vector " + std::to_string(q) + " has dimension " + std::to_string(e.size()) +
              " but the collection expects " + std::to_string(dim) +
              (config.embedding_model.empty() ? std::string()
                                              : " (vectors of model '" + config.embedding_model + "'); embed the query with that model"));
    }
    validate_embedding(config, e, context + ", vector " + std::to_string(q));
  }
}

void validate_delete(const CollectionConfig& config, const DeleteRequest& request) {
  if (request.ids.empty() && request.where.is_null() && request.where_document.is_null()) {
    invalid("delete from '" + config.name + "': give ids, where or where_document (an empty request would delete everything)");
  }
}

std::string id_exists_message(const CollectionConfig& config, const char* operation, const std::string& id) {
  return std::string(operation) + " to '" + config.name + "', record '" + id +
         "': id already exists (use upsert to replace it); nothing was written";
}

std::string collection_mismatch_message(const CollectionConfig& existing, const CollectionConfig& config) {
  return "collection '" + config.name + "' exists with dimension " + std::to_string(existing.dimension) + ", distance " +
         to_string(existing.distance) + " and model '" + existing.embedding_model + "', not dimension " +
         std::to_string(config.dimension) + ", " + to_string(config.distance) + ", '" + config.embedding_model +
         "'; re-embed into a new collection or delete this one";
}

}  // namespace lunadb::vector::detail
