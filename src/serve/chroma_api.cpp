// ChromaDB's HTTP API v2 (as chromadb 1.5's client sends it: chromadb/api/fastapi.py) translated
// onto lunadb's VectorStore. Error bodies are Chroma's {"error": NAME, "message": TEXT}, with the
// NAMEs of chromadb/errors.py so that the client raises the same exception classes.

#include <algorithm>
#include <chrono>
#include <map>
#include <mutex>
#include <regex>
#include <set>
#include <shared_mutex>
#include <string_view>
#include <unordered_set>

#include <fmt/format.h>

#include "lunadb/error.hpp"
#include "lunadb/serve.hpp"
#include "serve/memory_ops.hpp"
#include "serve/catalog.hpp"
#include "serve/embedding_json.hpp"
#include "serve/routes.hpp"
#include "serve/wire.hpp"

namespace lunadb::serve {

namespace {

using vector::Json;
using detail::Catalog;
using detail::CollectionEntry;
using detail::kDefaultDatabase;
using detail::kDefaultTenant;

constexpr const char* kChromaVersion = "1.5.0";

// A failure with the status code and Chroma error name the client maps to an exception class.
struct ApiError {
  int status;
  std::string name;
  std::string message;
};

[[noreturn]] void invalid(const std::string& message) { throw ApiError{400, "InvalidArgumentError", message}; }
[[noreturn]] void not_found(const std::string& message) { throw ApiError{404, "NotFoundError", message}; }

ApiError from_lunadb_error(const Error& error) {
  switch (error.kind()) {
    case ErrorKind::not_found: return {404, "NotFoundError", error.what()};
    case ErrorKind::invalid_argument:
    case ErrorKind::usage: return {400, "InvalidArgumentError", error.what()};
    case ErrorKind::constraint: return {409, "UniqueConstraintError", error.what()};
    case ErrorKind::unsupported: return {501, "ChromaError", error.what()};
    case ErrorKind::busy: return {503, "ChromaError", error.what()};
    default: return {500, "InternalError", error.what()};
  }
}

HttpReply json_reply(int status, const Json& body) {
  // Invalid UTF-8 cannot reach here from the store (it validates), but a message may quote input.
  return {status, body.dump(-1, ' ', false, Json::error_handler_t::replace)};
}

HttpReply error_reply(const ApiError& error) {
  return json_reply(error.status, {{"error", error.name}, {"message", error.message}});
}

// ---- JSON field access that names the field at fault -------------------------------------------

const Json& field(const Json& body, const char* name) {
  static const Json null_value;
  if (!body.is_object()) return null_value;
  auto found = body.find(name);
  return found == body.end() ? null_value : *found;
}

std::string string_field(const Json& body, const char* name) {
  const Json& value = field(body, name);
  if (!value.is_string()) invalid(fmt::format("'{}' must be a string", name));
  return value.get<std::string>();
}

std::optional<std::size_t> count_field(const Json& value, const char* name) {
  if (value.is_null()) return std::nullopt;
  if (!value.is_number_integer() || value.get<std::int64_t>() < 0) {
    invalid(fmt::format("'{}' must be a whole number >= 0", name));
  }
  return static_cast<std::size_t>(value.get<std::int64_t>());
}

std::optional<std::size_t> count_param(const HttpRequest& request, const char* name) {
  auto found = request.query.find(name);
  if (found == request.query.end() || found->second.empty()) return std::nullopt;
  std::size_t value = 0;
  for (char c : found->second) {
    if (c < '0' || c > '9' || value > (std::size_t{1} << 40)) {
      invalid(fmt::format("query parameter '{}' must be a whole number >= 0", name));
    }
    value = value * 10 + static_cast<std::size_t>(c - '0');
  }
  return value;
}

std::vector<std::string> string_list(const Json& value, const char* name) {
  std::vector<std::string> out;
  if (value.is_null()) return out;
  if (!value.is_array()) invalid(fmt::format("'{}' must be a list of strings", name));
  out.reserve(value.size());
  for (const auto& item : value) {
    if (!item.is_string()) invalid(fmt::format("'{}' must be a list of strings", name));
    out.push_back(item.get<std::string>());
  }
  return out;
}

std::vector<float> embedding_from(const Json& value, const char* name) {
  if (!value.is_array()) invalid(fmt::format("each of '{}' must be a list of numbers", name));
  std::vector<float> out;
  out.reserve(value.size());
  for (const auto& number : value) {
    if (!number.is_number()) invalid(fmt::format("each of '{}' must be a list of numbers", name));
    out.push_back(number.get<float>());
  }
  return out;
}

// A list that is either absent (null) or has exactly one entry per id.
const Json* per_record(const Json& body, const char* name, std::size_t count) {
  const Json& value = field(body, name);
  if (value.is_null()) return nullptr;
  if (!value.is_array()) invalid(fmt::format("'{}' must be a list", name));
  if (value.size() != count) {
    invalid(fmt::format("'{}' has {} entries for {} ids; give one per id", name, value.size(), count));
  }
  return &value;
}

Json filter_from(const Json& value) {
  // The client sends {} for "no filter" in some paths; lunadb means the same by null.
  if (value.is_object() && value.empty()) return Json();
  return value;
}

unsigned include_from(const Json& value, unsigned fallback, bool allow_distances) {
  if (value.is_null()) return fallback;
  if (!value.is_array()) invalid("'include' must be a list of strings");
  unsigned include = 0;
  for (const auto& item : value) {
    const std::string name = item.is_string() ? item.get<std::string>() : item.dump();
    if (name == "embeddings") include |= vector::include_embeddings;
    else if (name == "documents") include |= vector::include_documents;
    else if (name == "metadatas") include |= vector::include_metadatas;
    else if (name == "distances" && allow_distances) include |= vector::include_distances;
    else if (name == "uris" || name == "data") continue;  // never stored: answered with nulls
    else invalid(fmt::format("'include' holds {}: expected documents, embeddings, metadatas, uris{}", name,
                             allow_distances ? ", distances" : ""));
  }
  return include;
}

Json include_echo(const Json& value, const Json& fallback) { return value.is_null() ? fallback : value; }

void check_unique_ids(const std::vector<std::string>& ids) {
  std::unordered_set<std::string_view> seen;
  for (const auto& id : ids) {
    if (!seen.insert(id).second) throw ApiError{400, "DuplicateID", fmt::format("id '{}' is given more than once", id)};
  }
}

// Chroma's rules for collection and database names: 3-512 of [a-zA-Z0-9._-], starting and ending
// with a letter or digit, no "..", not an IPv4 address. They also keep '/' out of every path.
void check_chroma_name(const std::string& name, const char* what) {
  static const std::regex allowed("^[a-zA-Z0-9][a-zA-Z0-9._-]{1,510}[a-zA-Z0-9]$");
  static const std::regex ipv4("^[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,3}$");
  const bool ok = name.size() >= 3 && name.size() <= 512 && std::regex_match(name, allowed) &&
                  name.find("..") == std::string::npos && !std::regex_match(name, ipv4);
  if (!ok) {
    invalid(fmt::format("{} name '{}' is invalid: 3-512 characters of [a-zA-Z0-9._-], starting and ending with a "
                        "letter or digit, without '..', not an IPv4 address",
                        what, name.size() > 600 ? name.substr(0, 600) + "..." : name));
  }
}

// Tenants and databases: 1-512 characters without '/' and other than "." and "..", since their
// names travel in URL paths.
void check_tenant_name(const std::string& name, const char* what) {
  const bool control = std::any_of(name.begin(), name.end(), [](char c) { return static_cast<unsigned char>(c) < 0x20; });
  if (name.empty() || name.size() > 512 || name.find('/') != std::string::npos || name == "." || name == ".." ||
      control) {
    invalid(fmt::format("{} name '{}' is invalid: 1-512 characters, no '/' or control characters, not '.' or '..'",
                        what, name.size() > 600 ? name.substr(0, 600) : name));
  }
}

// lunadb's collection names are stricter ([A-Za-z0-9][A-Za-z0-9._-]{0,127}); a Chroma name that
// fits and is free is used as is, so `lunadb vectors` shows the same names.
bool fits_store_name(const std::string& name) {
  static const std::regex store_name("^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$");
  return std::regex_match(name, store_name);
}

}  // namespace

// ---- the API state ------------------------------------------------------------------------------

struct ChromaApi::State {
  vector::VectorStore& store;
  ServeOptions options;
  // Guards the catalog. Reads share it; a write that changes the catalog or the records holds it
  // exclusively (the store serialises writes anyway, so this costs no write parallelism), which
  // also makes add's "skip ids already present" check and the write one atomic step.
  mutable std::shared_mutex mutex;
  Catalog catalog;
  // Chroma's collection "version" counts compactions, which clients (and Chroma's own tests) wait
  // for after writing. lunadb applies every write to its index before answering, so each write
  // request is a compaction: the version counts them, from the collection's last sequence
  // number at the first look after a start (so it does not fall back across restarts that
  // followed real writes). Guarded by `mutex`, written under its exclusive hold.
  mutable std::map<std::string, std::int64_t> versions;

  State(vector::VectorStore& s, const ServeOptions& o)
      : store(s), options(o), catalog(s.directory() / detail::kCatalogFileName) {
    adopt_store_collections();
  }

  // Collections made by the C++ API or `lunadb vectors` join default_tenant/default_database.
  void adopt_store_collections() {
    bool changed = false;
    for (const auto& config : store.list_collections()) {
      if (catalog.store_name_taken(config.name)) continue;
      std::string name = config.name;
      if (catalog.find_by_name(kDefaultTenant, kDefaultDatabase, name)) name = config.name + "-" + detail::new_uuid().substr(0, 8);
      Json configuration = {{"hnsw",
                             {{"space", vector::to_string(config.distance)},
                              {"ef_construction", config.index.ef_construction},
                              {"ef_search", config.index.ef_search},
                              {"max_neighbors", config.index.m}}},
                            {"spann", nullptr},
                            {"embedding_function", {{"type", "legacy"}}}};
      CollectionEntry entry{detail::new_uuid(), kDefaultTenant, kDefaultDatabase, name, config.name, Json(),
                            configuration};
      catalog.collections.emplace(entry.id, std::move(entry));
      changed = true;
    }
    if (changed) catalog.save();
  }

  // -- tenants and databases --

  void require_database(const std::string& tenant, const std::string& database) const {
    if (!catalog.has_tenant(tenant)) not_found(fmt::format("tenant '{}' does not exist", tenant));
    if (tenant == kDefaultTenant && database == kDefaultDatabase) return;
    if (!catalog.find_database(tenant, database)) {
      not_found(fmt::format("database '{}' does not exist in tenant '{}'", database, tenant));
    }
  }

  Json database_json(const std::string& tenant, const std::string& name) const {
    if (tenant == kDefaultTenant && name == kDefaultDatabase) {
      return {{"id", "00000000-0000-0000-0000-000000000000"}, {"name", name}, {"tenant", tenant}};
    }
    const auto* entry = catalog.find_database(tenant, name);
    return {{"id", entry->id}, {"name", entry->name}, {"tenant", entry->tenant}};
  }

  // -- collections --

  Json collection_json(const CollectionEntry& entry) const {
    const auto collection = open_backing(entry);
    const Json dimension = collection ? Json(collection->config().dimension) : Json();
    return {{"id", entry.id},
            {"name", entry.name},
            {"configuration_json", entry.configuration},
            {"metadata", entry.metadata},
            {"dimension", dimension},
            {"tenant", entry.tenant},
            {"database", entry.database},
            {"version", version_of(entry, collection.get())},
            {"log_position", 0},
            {"schema", nullptr}};
  }

  // `backing` is the entry's lunadb collection, or null when it has none yet.
  std::int64_t version_of(const CollectionEntry& entry, const vector::Collection* backing) const {
    auto found = versions.find(entry.id);
    if (found != versions.end()) return found->second;
    return backing ? backing->stats().last_seq : 0;
  }

  // Called with the exclusive lock held, after a write request succeeded.
  void count_write(const CollectionEntry& entry) {
    const std::int64_t current = version_of(entry, open_backing(entry).get());
    versions[entry.id] = current + 1;
  }

  void count_write_by_store_name(const std::string& store_name) {
    for (const auto& [id, entry] : catalog.collections) {
      if (entry.store_name == store_name) count_write(entry);
    }
  }

  // The lunadb collection's name behind an entry. Luna's own collections follow the memory
  // engine's reindex: a client of luna_facts reads and writes the generation memory_collections
  // records (luna_facts_g2 after one reindex), never the deleted old one.
  std::string backing_name(const CollectionEntry& entry) const {
    if (options.memory) {
      if (auto current = options.memory->current_collection_for(entry.store_name)) return *current;
    }
    return entry.store_name;
  }

  // The lunadb collection behind an entry, or null while nothing has been added to it.
  std::shared_ptr<vector::Collection> open_backing(const CollectionEntry& entry) const {
    try {
      return store.get_collection(backing_name(entry));
    } catch (const Error& error) {
      if (error.kind() == ErrorKind::not_found) return nullptr;
      throw;
    }
  }

  CollectionEntry& entry_by_id(const std::string& tenant, const std::string& database, const std::string& id) {
    require_database(tenant, database);
    CollectionEntry* entry = detail::is_uuid(id) ? catalog.find_by_id(id) : nullptr;
    if (!entry || entry->tenant != tenant || entry->database != database) {
      if (!detail::is_uuid(id)) throw ApiError{400, "InvalidUUID", fmt::format("collection id '{}' is not a UUID", id)};
      not_found(fmt::format("collection {} does not exist in {}/{}", id, tenant, database));
    }
    return *entry;
  }

  CollectionEntry& entry_by_name(const std::string& tenant, const std::string& database, const std::string& name) {
    require_database(tenant, database);
    CollectionEntry* entry = catalog.find_by_name(tenant, database, name);
    if (!entry) not_found(fmt::format("collection '{}' does not exist in {}/{}", name, tenant, database));
    return *entry;
  }

  static Json hnsw_section(const Json& configuration, const Json& metadata) {
    Json hnsw = field(configuration, "hnsw");
    if (!field(configuration, "spann").is_null()) {
      throw ApiError{501, "ChromaError", "SPANN indexes are not implemented by lunadb serve; use the hnsw configuration"};
    }
    if (hnsw.is_null()) hnsw = Json::object();
    if (!hnsw.is_object()) invalid("configuration 'hnsw' must be an object");
    // Chroma 0.x configured the index through metadata keys; the client still accepts them.
    static const std::pair<const char*, const char*> legacy_keys[] = {
        {"hnsw:space", "space"}, {"hnsw:construction_ef", "ef_construction"}, {"hnsw:search_ef", "ef_search"},
        {"hnsw:M", "max_neighbors"}};
    for (const auto& [legacy, modern] : legacy_keys) {
      const Json& value = field(metadata, legacy);
      if (!value.is_null() && !hnsw.contains(modern)) hnsw[modern] = value;
    }
    if (!hnsw.contains("space")) hnsw["space"] = "l2";  // Chroma's default space
    if (!hnsw.contains("ef_construction")) hnsw["ef_construction"] = 100;
    if (!hnsw.contains("ef_search")) hnsw["ef_search"] = 100;
    if (!hnsw.contains("max_neighbors")) hnsw["max_neighbors"] = 16;
    return hnsw;
  }

  static int positive_int(const Json& hnsw, const char* name, int maximum) {
    const Json& value = field(hnsw, name);
    if (!value.is_number_integer() || value.get<std::int64_t>() < 1 || value.get<std::int64_t>() > maximum) {
      invalid(fmt::format("hnsw '{}' must be a whole number from 1 to {}", name, maximum));
    }
    return value.get<int>();
  }

  vector::CollectionConfig store_config(const CollectionEntry& entry, int dimension) const {
    const Json& hnsw = field(entry.configuration, "hnsw");
    vector::CollectionConfig config;
    config.name = backing_name(entry);
    config.dimension = dimension;
    config.distance = vector::parse_distance(field(hnsw, "space").get<std::string>());
    config.index.m = positive_int(hnsw, "max_neighbors", 2048);
    config.index.ef_construction = positive_int(hnsw, "ef_construction", 1 << 20);
    config.index.ef_search = positive_int(hnsw, "ef_search", 1 << 20);
    return config;
  }

  std::string pick_store_name(const std::string& tenant, const std::string& database, const std::string& name,
                              const std::string& id) const {
    const bool default_namespace = tenant == kDefaultTenant && database == kDefaultDatabase;
    if (default_namespace && fits_store_name(name) && !catalog.store_name_taken(name)) {
      bool exists_in_store = false;
      for (const auto& config : store.list_collections()) exists_in_store |= config.name == name;
      if (!exists_in_store) return name;
    }
    return "chroma-" + id;
  }

  HttpReply create_collection(const std::string& tenant, const std::string& database, const Json& body) {
    const std::string name = string_field(body, "name");
    check_chroma_name(name, "collection");
    Json metadata = field(body, "metadata");
    if (!metadata.is_null() && !metadata.is_object()) invalid("'metadata' must be an object or null");
    if (metadata.is_object() && metadata.empty()) metadata = Json();
    const Json& get_or_create_value = field(body, "get_or_create");
    if (!get_or_create_value.is_null() && !get_or_create_value.is_boolean()) invalid("'get_or_create' must be a boolean");
    const bool get_or_create = get_or_create_value.is_boolean() && get_or_create_value.get<bool>();
    Json configuration = field(body, "configuration");
    if (!configuration.is_null() && !configuration.is_object()) invalid("'configuration' must be an object or null");
    if (configuration.is_null()) configuration = Json::object();

    std::unique_lock lock(mutex);
    require_database(tenant, database);
    if (CollectionEntry* existing = catalog.find_by_name(tenant, database, name)) {
      if (!get_or_create) {
        throw ApiError{409, "UniqueConstraintError", fmt::format("collection '{}' already exists in {}/{}", name, tenant, database)};
      }
      return json_reply(200, collection_json(*existing));
    }
    configuration["hnsw"] = hnsw_section(configuration, metadata);
    if (!configuration.contains("spann")) configuration["spann"] = nullptr;
    if (field(configuration, "embedding_function").is_null()) configuration["embedding_function"] = {{"type", "legacy"}};
    CollectionEntry entry{detail::new_uuid(), tenant, database, name, "", metadata, configuration};
    entry.store_name = pick_store_name(tenant, database, name, entry.id);
    store_config(entry, 1);  // validates the index parameters now rather than at the first add
    catalog.collections.emplace(entry.id, entry);
    try {
      catalog.save();
    } catch (...) {
      catalog.collections.erase(entry.id);
      throw;
    }
    return json_reply(200, collection_json(entry));
  }

  HttpReply modify_collection(CollectionEntry& entry, const Json& body) {
    const Json& new_name = field(body, "new_name");
    const Json& new_metadata = field(body, "new_metadata");
    const Json& new_configuration = field(body, "new_configuration");
    CollectionEntry changed = entry;
    if (!new_name.is_null()) {
      if (!new_name.is_string()) invalid("'new_name' must be a string");
      const std::string name = new_name.get<std::string>();
      check_chroma_name(name, "collection");
      const CollectionEntry* clash = catalog.find_by_name(entry.tenant, entry.database, name);
      if (clash && clash->id != entry.id) {
        throw ApiError{409, "UniqueConstraintError", fmt::format("collection '{}' already exists in {}/{}", name, entry.tenant, entry.database)};
      }
      changed.name = name;
    }
    if (!new_metadata.is_null()) {
      if (!new_metadata.is_object()) invalid("'new_metadata' must be an object");
      if (new_metadata.contains("hnsw:space") &&
          field(new_metadata, "hnsw:space") != field(field(entry.configuration, "hnsw"), "space")) {
        invalid("changing the distance function of a collection is not supported");
      }
      changed.metadata = new_metadata.empty() ? Json() : new_metadata;
    }
    if (new_configuration.is_object() && !new_configuration.empty()) {
      const Json& hnsw = field(new_configuration, "hnsw");
      if (!field(new_configuration, "spann").is_null()) {
        throw ApiError{501, "ChromaError", "SPANN indexes are not implemented by lunadb serve"};
      }
      if (hnsw.is_object()) {
        for (const auto& [key, value] : hnsw.items()) {
          if (key != "ef_search") {
            throw ApiError{501, "ChromaError",
                           fmt::format("lunadb serve cannot change hnsw '{}' of an existing collection; only ef_search "
                                       "is recorded (queries choose their effort through lunadb's search tuner)",
                                       key)};
          }
          changed.configuration["hnsw"]["ef_search"] = value;
        }
        positive_int(changed.configuration["hnsw"], "ef_search", 1 << 20);
      }
      const Json& embedding_function = field(new_configuration, "embedding_function");
      if (!embedding_function.is_null()) changed.configuration["embedding_function"] = embedding_function;
    }
    const CollectionEntry before = entry;
    entry = changed;
    try {
      catalog.save();
    } catch (...) {
      entry = before;
      throw;
    }
    return json_reply(200, Json::object());
  }

  HttpReply delete_collection(const std::string& tenant, const std::string& database, const std::string& name) {
    std::unique_lock lock(mutex);
    CollectionEntry entry = entry_by_name(tenant, database, name);
    // The catalog first: should the process die before the store drops the records, the orphan
    // is adopted into default_database on the next start rather than a name pointing at nothing.
    catalog.collections.erase(entry.id);
    try {
      catalog.save();
    } catch (...) {
      catalog.collections.emplace(entry.id, entry);
      throw;
    }
    if (open_backing(entry)) store.delete_collection(backing_name(entry));
    return json_reply(200, Json());
  }

  // -- records --

  std::vector<vector::Record> records_from(const Json& body, bool embeddings_required, std::vector<std::string>& ids) {
    ids = string_list(field(body, "ids"), "ids");
    check_unique_ids(ids);
    const Json* embeddings = per_record(body, "embeddings", ids.size());
    const Json* documents = per_record(body, "documents", ids.size());
    const Json* metadatas = per_record(body, "metadatas", ids.size());
    const Json* uris = per_record(body, "uris", ids.size());
    if (uris) {
      for (const auto& uri : *uris) {
        if (!uri.is_null()) throw ApiError{501, "ChromaError", "lunadb serve does not store uris"};
      }
    }
    if (embeddings_required && !embeddings && !ids.empty()) {
      invalid("'embeddings' are required: lunadb serve does not embed documents (Chroma's client embeds them when the "
              "collection has an embedding function)");
    }
    std::vector<vector::Record> records(ids.size());
    for (std::size_t i = 0; i < ids.size(); ++i) {
      records[i].id = ids[i];
      if (embeddings) records[i].embedding = embedding_from((*embeddings)[i], "embeddings");
      if (documents && !(*documents)[i].is_null()) {
        if (!(*documents)[i].is_string()) invalid("each of 'documents' must be a string or null");
        records[i].document = (*documents)[i].get<std::string>();
      }
      if (metadatas && !(*metadatas)[i].is_null()) {
        if (!(*metadatas)[i].is_object()) invalid("each of 'metadatas' must be an object or null");
        records[i].metadata = (*metadatas)[i];
      }
    }
    return records;
  }

  static void drop_null_values(Json& metadata) {
    if (!metadata.is_object()) return;
    for (auto it = metadata.begin(); it != metadata.end();) {
      if (it->is_null()) it = metadata.erase(it);
      else ++it;
    }
    if (metadata.empty()) metadata = Json();
  }

  // The backing collection, created at the first write that brings embeddings (Chroma fixes a
  // collection's dimension then).
  std::shared_ptr<vector::Collection> backing_for_write(const CollectionEntry& entry,
                                                        const std::vector<vector::Record>& records) {
    if (auto existing = open_backing(entry)) return existing;
    if (records.empty() || records.front().embedding.empty()) return nullptr;
    return store.create_collection(store_config(entry, static_cast<int>(records.front().embedding.size())));
  }

  HttpReply add(const CollectionEntry& entry, const Json& body, bool upsert) {
    std::vector<std::string> ids;
    std::vector<vector::Record> records = records_from(body, true, ids);
    if (!upsert) {
      for (auto& record : records) drop_null_values(record.metadata);
    }
    auto collection = backing_for_write(entry, records);
    if (!collection) return json_reply(201, true);
    if (upsert) {
      collection->upsert(records);
      return json_reply(200, true);
    }
    // Chroma skips ids that are already present instead of failing the whole add.
    vector::GetRequest present;
    present.ids = ids;
    present.include = 0;
    const auto found = collection->get(present);
    if (!found.ids.empty()) {
      const std::unordered_set<std::string> existing(found.ids.begin(), found.ids.end());
      std::erase_if(records, [&](const vector::Record& record) { return existing.count(record.id) > 0; });
    }
    if (!records.empty()) collection->add(records);
    return json_reply(201, true);
  }

  HttpReply update(const CollectionEntry& entry, const Json& body) {
    const std::vector<std::string> ids = string_list(field(body, "ids"), "ids");
    check_unique_ids(ids);
    const Json* embeddings = per_record(body, "embeddings", ids.size());
    const Json* documents = per_record(body, "documents", ids.size());
    const Json* metadatas = per_record(body, "metadatas", ids.size());
    const Json* uris = per_record(body, "uris", ids.size());
    if (uris && std::any_of(uris->begin(), uris->end(), [](const Json& uri) { return !uri.is_null(); })) {
      throw ApiError{501, "ChromaError", "lunadb serve does not store uris"};
    }
    std::vector<vector::RecordUpdate> updates(ids.size());
    for (std::size_t i = 0; i < ids.size(); ++i) {
      updates[i].id = ids[i];
      if (embeddings && !(*embeddings)[i].is_null()) updates[i].embedding = embedding_from((*embeddings)[i], "embeddings");
      if (documents && !(*documents)[i].is_null()) {
        if (!(*documents)[i].is_string()) invalid("each of 'documents' must be a string or null");
        updates[i].document = (*documents)[i].get<std::string>();
      }
      if (metadatas && !(*metadatas)[i].is_null()) {
        if (!(*metadatas)[i].is_object()) invalid("each of 'metadatas' must be an object or null");
        updates[i].metadata = (*metadatas)[i];
      }
    }
    if (auto collection = open_backing(entry); collection && !updates.empty()) collection->update(updates);
    return json_reply(200, true);
  }

  HttpReply remove(const CollectionEntry& entry, const Json& body) {
    vector::DeleteRequest request;
    request.ids = string_list(field(body, "ids"), "ids");
    request.where = filter_from(field(body, "where"));
    request.where_document = filter_from(field(body, "where_document"));
    const auto limit = count_field(field(body, "limit"), "limit");
    const bool has_ids = field(body, "ids").is_array();
    if (has_ids && request.ids.empty()) return json_reply(200, {{"deleted", 0}});
    if (!has_ids && request.where.is_null() && request.where_document.is_null()) {
      invalid("delete needs ids, where or where_document");
    }
    auto collection = open_backing(entry);
    if (collection && limit) {
      // The first `limit` matches in insertion order; the catalog lock held by the caller keeps
      // other writers out between the lookup and the delete.
      vector::GetRequest matching;
      matching.ids = request.ids;
      matching.where = request.where;
      matching.where_document = request.where_document;
      matching.limit = limit;
      matching.include = 0;
      request = vector::DeleteRequest{};
      request.ids = collection->get(matching).ids;
      if (request.ids.empty()) return json_reply(200, {{"deleted", 0}});
    }
    const std::size_t deleted = collection ? collection->remove(request) : 0;
    return json_reply(200, {{"deleted", deleted}});
  }

  HttpReply get(const CollectionEntry& entry, const Json& body) const {
    vector::GetRequest request;
    const Json& ids = field(body, "ids");
    request.ids = string_list(ids, "ids");
    request.where = filter_from(field(body, "where"));
    request.where_document = filter_from(field(body, "where_document"));
    request.limit = count_field(field(body, "limit"), "limit");
    request.offset = count_field(field(body, "offset"), "offset").value_or(0);
    const Json& include_value = field(body, "include");
    request.include = include_from(include_value, vector::include_documents | vector::include_metadatas, false);
    vector::GetResult result;
    auto collection = open_backing(entry);
    const bool empty_id_list = ids.is_array() && request.ids.empty();
    if (collection && !empty_id_list) result = collection->get(request);
    Json out = {{"ids", result.ids}, {"embeddings", nullptr}, {"documents", nullptr}, {"metadatas", nullptr},
                {"uris", nullptr}, {"data", nullptr},
                {"include", include_echo(include_value, Json::array({"metadatas", "documents"}))}};
    if (request.include & vector::include_embeddings) out["embeddings"] = result.embeddings;
    if (request.include & vector::include_documents) out["documents"] = wire::documents_json(result.documents);
    if (request.include & vector::include_metadatas) out["metadatas"] = result.metadatas;
    if (include_value.is_array() && std::count(include_value.begin(), include_value.end(), "uris") > 0) {
      out["uris"] = Json::array();
      for (std::size_t i = 0; i < result.ids.size(); ++i) out["uris"].push_back(nullptr);
    }
    return json_reply(200, out);
  }

  // `parsed`: the query embeddings when the fast path (embedding_json.hpp) has read them; `body`
  // then holds null in their place.
  HttpReply query(const CollectionEntry& entry, const Json& body, std::vector<std::vector<float>>* parsed) const {
    vector::QueryRequest request;
    if (parsed) {
      request.embeddings = std::move(*parsed);
    } else {
      const Json& embeddings = field(body, "query_embeddings");
      if (!embeddings.is_array()) {
        invalid("'query_embeddings' must be a list of embeddings: lunadb serve does not embed query texts");
      }
      for (const auto& embedding : embeddings) request.embeddings.push_back(embedding_from(embedding, "query_embeddings"));
    }
    const Json& ids = field(body, "ids");
    request.ids = string_list(ids, "ids");
    request.n_results = count_field(field(body, "n_results"), "n_results").value_or(10);
    request.where = filter_from(field(body, "where"));
    request.where_document = filter_from(field(body, "where_document"));
    const Json& include_value = field(body, "include");
    request.include = include_from(include_value, vector::include_default, true);
    std::vector<vector::Matches> matches;
    auto collection = open_backing(entry);
    const bool nothing_to_search = !collection || request.n_results == 0 || (ids.is_array() && request.ids.empty());
    if (!nothing_to_search && !request.embeddings.empty()) {
      matches = collection->query(request);
    } else {
      if (collection && !request.embeddings.empty()) {
        // Checks the dimension even when nothing is asked for, as Chroma does.
        const int dimension = collection->config().dimension;
        for (const auto& embedding : request.embeddings) {
          if (static_cast<int>(embedding.size()) != dimension) {
            invalid(fmt::format("query embedding has dimension {}, the collection {}", embedding.size(), dimension));
          }
        }
      }
      matches.resize(request.embeddings.size());
    }
    Json out = {{"ids", Json::array()}, {"embeddings", nullptr}, {"documents", nullptr}, {"metadatas", nullptr},
                {"distances", nullptr}, {"uris", nullptr}, {"data", nullptr},
                {"include", include_echo(include_value, Json::array({"metadatas", "documents", "distances"}))}};
    const auto lists = [&](unsigned flag) { return (request.include & flag) ? Json::array() : Json(); };
    out["embeddings"] = lists(vector::include_embeddings);
    out["documents"] = lists(vector::include_documents);
    out["metadatas"] = lists(vector::include_metadatas);
    out["distances"] = lists(vector::include_distances);
    for (const auto& match : matches) {
      out["ids"].push_back(match.ids);
      if (request.include & vector::include_embeddings) out["embeddings"].push_back(match.embeddings);
      if (request.include & vector::include_documents) out["documents"].push_back(wire::documents_json(match.documents));
      if (request.include & vector::include_metadatas) out["metadatas"].push_back(match.metadatas);
      if (request.include & vector::include_distances) out["distances"].push_back(match.distances);
    }
    return json_reply(200, out);
  }

  HttpReply reset() {
    if (!options.allow_reset) {
      throw ApiError{403, "AuthorizationError", "reset is disabled: start lunadb serve with --allow-reset to allow it"};
    }
    std::unique_lock lock(mutex);
    for (const auto& config : store.list_collections()) store.delete_collection(config.name);
    catalog.collections.clear();
    catalog.databases.clear();
    catalog.tenants.clear();
    catalog.save();
    return json_reply(200, true);
  }

  // -- lunadb's own endpoints (serve/wire.hpp): the VectorStore interface by store name --------

  // The memory engine's operations (serve/memory_ops.hpp), the same table `lunadb mcp` serves.
  template <typename Body>
  HttpReply memory_route(const std::vector<std::string>& parts, const std::string& method, const Body& body) {
    if (parts.size() == 4 && method == "GET") {
      Json listed = Json::array();
      for (const auto& operation : memory_operations())
        listed.push_back({{"name", operation.name}, {"description", operation.description},
                          {"input_schema", operation.input_schema}});
      return json_reply(200, listed);
    }
    if (parts.size() != 5 || method != "POST") not_found("no such memory endpoint: POST /api/v2/lunadb/memory/{operation}");
    if (!options.memory) throw ApiError{503, "ChromaError", "the memory is not available: " + options.memory_unavailable};
    Json arguments = body();
    if (arguments.is_null()) arguments = Json::object();
    return json_reply(200, run_memory_operation(*options.memory, parts[4], arguments));
  }

  template <typename Body>
  HttpReply lunadb_route(const std::vector<std::string>& parts, const std::string& method, const Body& body) {
    const auto reply = [](const Json& value) { return json_reply(200, value); };
    if (parts.size() >= 4 && parts[3] == "memory") return memory_route(parts, method, body);
    if (parts.size() == 4 && parts[3] == "collections") {
      if (method == "GET") {
        Json all = Json::array();
        for (const auto& config : store.list_collections()) all.push_back(wire::to_json(config));
        return reply(all);
      }
      if (method == "POST") {
        const Json request_body = body();
        const vector::CollectionConfig config = wire::config_from(field(request_body, "config"));
        const Json& mode = field(request_body, "get_or_create");
        std::unique_lock lock(mutex);
        auto collection = mode.is_boolean() && mode.get<bool>() ? store.get_or_create_collection(config)
                                                                  : store.create_collection(config);
        adopt_store_collections();
        return reply(wire::to_json(collection->config()));
      }
    }
    if (parts.size() < 5 || parts[3] != "collections") not_found("no such lunadb endpoint");
    const std::string& name = parts[4];
    if (parts.size() == 5) {
      if (method == "GET") return reply(wire::to_json(store.get_collection(name)->config()));
      if (method == "DELETE") {
        std::unique_lock lock(mutex);
        store.delete_collection(name);
        const Catalog before = catalog;
        std::erase_if(catalog.collections, [&](const auto& item) { return item.second.store_name == name; });
        try {
          catalog.save();
        } catch (...) {
          catalog = before;
          throw;
        }
        return reply(true);
      }
    }
    if (parts.size() != 6) not_found("no such lunadb endpoint");
    const std::string& operation = parts[5];
    if (method == "GET" && operation == "count") return reply(store.get_collection(name)->count());
    if (method == "GET" && operation == "stats") return reply(wire::to_json(store.get_collection(name)->stats()));
    if (method != "POST") not_found("no such lunadb endpoint");
    const Json request_body = body();
    // Reads do not touch the catalog: the store alone serves them, in parallel with writes.
    if (operation == "get") {
      return reply(wire::to_json(store.get_collection(name)->get(wire::get_request_from(request_body))));
    }
    if (operation == "query") {
      return reply(wire::to_json(store.get_collection(name)->query(wire::query_request_from(request_body))));
    }
    // Writes hold the catalog lock exclusively, as Chroma's do, so that Chroma's add (which skips
    // present ids, then writes) stays one step next to these.
    std::unique_lock lock(mutex);
    auto collection = store.get_collection(name);
    if (operation == "flush") {
      collection->flush();
      return reply(true);
    }
    Json result = true;
    if (operation == "add") {
      collection->add(wire::records_from(request_body));
    } else if (operation == "upsert") {
      collection->upsert(wire::records_from(request_body));
    } else if (operation == "update") {
      result = collection->update(wire::updates_from(request_body));
    } else if (operation == "delete") {
      result = collection->remove(wire::delete_request_from(request_body));
    } else {
      not_found("no such lunadb endpoint");
    }
    count_write_by_store_name(name);
    return reply(result);
  }

  // -- routing --

  HttpReply route(const HttpRequest& request) {
    const std::vector<std::string> parts = detail::split_path(request.path);
    const std::string& method = request.method;
    const auto is = [&](std::initializer_list<std::string_view> pattern) {
      if (parts.size() != pattern.size()) return false;
      std::size_t i = 0;
      for (std::string_view expected : pattern) {
        if (expected != "*" && parts[i] != expected) return false;
        ++i;
      }
      return true;
    };
    const auto body = [&]() -> Json {
      if (request.body.empty()) return Json::object();
      try {
        return Json::parse(request.body);
      } catch (const Json::exception& error) {
        invalid(fmt::format("the request body is not valid JSON: {}", error.what()));
      }
    };
    if (parts.size() < 2 || parts[0] != "api") not_found(fmt::format("no such path: {}", request.path));
    if (parts[1] == "v1") {
      throw ApiError{410, "ChromaError", "the v1 API is gone in chromadb 1.x; lunadb serve speaks /api/v2"};
    }
    if (parts[1] != "v2") not_found(fmt::format("no such path: {}", request.path));

    if (is({"api", "v2"}) || is({"api", "v2", "heartbeat"})) {
      const auto now = std::chrono::system_clock::now().time_since_epoch();
      return json_reply(200, {{"nanosecond heartbeat", std::chrono::duration_cast<std::chrono::nanoseconds>(now).count()}});
    }
    if (is({"api", "v2", "version"})) return json_reply(200, kChromaVersion);
    if (is({"api", "v2", "healthcheck"})) return json_reply(200, {{"is_executor_ready", true}, {"is_log_client_ready", true}});
    if (is({"api", "v2", "pre-flight-checks"})) {
      return json_reply(200, {{"max_batch_size", options.max_batch_size}, {"supports_base64_encoding", false}});
    }
    if (is({"api", "v2", "auth", "identity"})) {
      return json_reply(200, {{"user_id", ""}, {"tenant", kDefaultTenant}, {"databases", {"*"}}});
    }
    if (is({"api", "v2", "reset"}) && method == "POST") return reset();
    if (parts.size() >= 3 && parts[2] == "lunadb") return lunadb_route(parts, method, body);

    if (is({"api", "v2", "tenants"}) && method == "POST") {
      const std::string name = string_field(body(), "name");
      check_tenant_name(name, "tenant");
      std::unique_lock lock(mutex);
      if (catalog.has_tenant(name)) throw ApiError{409, "UniqueConstraintError", fmt::format("tenant '{}' already exists", name)};
      catalog.tenants.insert(name);
      try {
        catalog.save();
      } catch (...) {
        catalog.tenants.erase(name);
        throw;
      }
      return json_reply(200, Json::object());
    }
    if (is({"api", "v2", "tenants", "*"}) && method == "GET") {
      std::shared_lock lock(mutex);
      if (!catalog.has_tenant(parts[3])) not_found(fmt::format("tenant '{}' does not exist", parts[3]));
      return json_reply(200, {{"name", parts[3]}});
    }
    if (parts.size() < 5 || parts[2] != "tenants" || parts[4] != "databases") {
      not_found(fmt::format("no such path: {}", request.path));
    }
    const std::string& tenant = parts[3];

    if (is({"api", "v2", "tenants", "*", "databases"})) {
      if (method == "POST") {
        const std::string name = string_field(body(), "name");
        check_tenant_name(name, "database");
        std::unique_lock lock(mutex);
        if (!catalog.has_tenant(tenant)) not_found(fmt::format("tenant '{}' does not exist", tenant));
        if ((tenant == kDefaultTenant && name == kDefaultDatabase) || catalog.find_database(tenant, name)) {
          throw ApiError{409, "UniqueConstraintError", fmt::format("database '{}' already exists in tenant '{}'", name, tenant)};
        }
        catalog.databases.push_back({detail::new_uuid(), tenant, name});
        try {
          catalog.save();
        } catch (...) {
          catalog.databases.pop_back();
          throw;
        }
        return json_reply(200, Json::object());
      }
      if (method == "GET") {
        const auto limit = count_param(request, "limit");
        const std::size_t offset = count_param(request, "offset").value_or(0);
        std::shared_lock lock(mutex);
        if (!catalog.has_tenant(tenant)) not_found(fmt::format("tenant '{}' does not exist", tenant));
        Json all = Json::array();
        if (tenant == kDefaultTenant) all.push_back(database_json(tenant, kDefaultDatabase));
        for (const auto& database : catalog.databases) {
          if (database.tenant == tenant) all.push_back(database_json(tenant, database.name));
        }
        Json page = Json::array();
        for (std::size_t i = offset; i < all.size() && (!limit || page.size() < *limit); ++i) page.push_back(all[i]);
        return json_reply(200, page);
      }
    }
    if (parts.size() < 6) not_found(fmt::format("no such path: {}", request.path));
    const std::string& database = parts[5];

    if (is({"api", "v2", "tenants", "*", "databases", "*"})) {
      if (method == "GET") {
        std::shared_lock lock(mutex);
        require_database(tenant, database);
        return json_reply(200, database_json(tenant, database));
      }
      if (method == "DELETE") {
        std::unique_lock lock(mutex);
        require_database(tenant, database);
        if (tenant == kDefaultTenant && database == kDefaultDatabase) invalid("default_database cannot be deleted");
        std::vector<CollectionEntry> doomed;
        for (const auto& [id, entry] : catalog.collections) {
          if (entry.tenant == tenant && entry.database == database) doomed.push_back(entry);
        }
        const Catalog before = catalog;
        for (const auto& entry : doomed) catalog.collections.erase(entry.id);
        std::erase_if(catalog.databases, [&](const detail::DatabaseEntry& d) { return d.tenant == tenant && d.name == database; });
        try {
          catalog.save();
        } catch (...) {
          catalog = before;
          throw;
        }
        for (const auto& entry : doomed) {
          if (open_backing(entry)) store.delete_collection(backing_name(entry));
        }
        return json_reply(200, Json::object());
      }
    }
    if (is({"api", "v2", "tenants", "*", "databases", "*", "collections_count"}) && method == "GET") {
      std::shared_lock lock(mutex);
      require_database(tenant, database);
      std::size_t count = 0;
      for (const auto& [id, entry] : catalog.collections) count += entry.tenant == tenant && entry.database == database;
      return json_reply(200, count);
    }
    if (parts.size() < 7 || parts[6] != "collections") not_found(fmt::format("no such path: {}", request.path));

    if (is({"api", "v2", "tenants", "*", "databases", "*", "collections"})) {
      if (method == "POST") return create_collection(tenant, database, body());
      if (method == "GET") {
        const auto limit = count_param(request, "limit");
        const std::size_t offset = count_param(request, "offset").value_or(0);
        std::shared_lock lock(mutex);
        require_database(tenant, database);
        std::vector<const CollectionEntry*> entries;
        for (const auto& [id, entry] : catalog.collections) {
          if (entry.tenant == tenant && entry.database == database) entries.push_back(&entry);
        }
        std::sort(entries.begin(), entries.end(), [](const auto* a, const auto* b) { return a->name < b->name; });
        Json page = Json::array();
        for (std::size_t i = offset; i < entries.size() && (!limit || page.size() < *limit); ++i) {
          page.push_back(collection_json(*entries[i]));
        }
        return json_reply(200, page);
      }
    }
    if (is({"api", "v2", "tenants", "*", "databases", "*", "collections", "by-id", "*"}) && method == "GET") {
      std::shared_lock lock(mutex);
      return json_reply(200, collection_json(entry_by_id(tenant, database, parts[8])));
    }
    if (is({"api", "v2", "tenants", "*", "databases", "*", "collections", "*"})) {
      if (method == "GET") {
        std::shared_lock lock(mutex);
        return json_reply(200, collection_json(entry_by_name(tenant, database, parts[7])));
      }
      if (method == "DELETE") return delete_collection(tenant, database, parts[7]);
      if (method == "PUT") {
        const Json request_body = body();
        std::unique_lock lock(mutex);
        return modify_collection(entry_by_id(tenant, database, parts[7]), request_body);
      }
    }
    if (is({"api", "v2", "tenants", "*", "databases", "*", "collections", "*", "*"})) {
      const std::string& operation = parts[8];
      if (operation == "count" && method == "GET") {
        std::shared_lock lock(mutex);
        auto collection = open_backing(entry_by_id(tenant, database, parts[7]));
        return json_reply(200, collection ? collection->count() : 0);
      }
      if (method == "POST" && (operation == "get" || operation == "query")) {
        // A query's embeddings are nearly all of its body: read them without a DOM.
        std::optional<detail::SplitBody> split;
        if (operation == "query") split = detail::split_embeddings(request.body, "query_embeddings");
        const Json request_body = split ? std::move(split->rest) : body();
        CollectionEntry entry;
        {
          std::shared_lock lock(mutex);
          entry = entry_by_id(tenant, database, parts[7]);
        }
        return operation == "get" ? get(entry, request_body)
                                  : query(entry, request_body, split ? &split->embeddings : nullptr);
      }
      if (method == "POST" && (operation == "add" || operation == "upsert" || operation == "update" ||
                               operation == "delete")) {
        const Json request_body = body();
        std::unique_lock lock(mutex);
        const CollectionEntry& entry = entry_by_id(tenant, database, parts[7]);
        HttpReply reply = operation == "add"      ? add(entry, request_body, false)
                          : operation == "upsert" ? add(entry, request_body, true)
                          : operation == "update" ? update(entry, request_body)
                                                  : remove(entry, request_body);
        count_write(entry);
        return reply;
      }
      static const std::set<std::string_view> unimplemented = {"fork", "fork_count", "search", "indexing_status",
                                                                "functions", "attached_functions"};
      if (unimplemented.count(operation) > 0) {
        throw ApiError{501, "ChromaError",
                       fmt::format("lunadb serve does not implement collection '{}' (forks, the search endpoint, "
                                   "indexing status and attached functions are Chroma Cloud features)",
                                   operation)};
      }
    }
    if (parts.size() >= 9 && (parts[8] == "functions" || parts[8] == "attached_functions")) {
      throw ApiError{501, "ChromaError", "lunadb serve does not implement attached functions"};
    }
    not_found(fmt::format("no such path: {} {}", method, request.path));
  }
};

ChromaApi::ChromaApi(vector::VectorStore& store, const ServeOptions& options)
    : state_(std::make_unique<State>(store, options)) {}
ChromaApi::~ChromaApi() = default;

HttpReply ChromaApi::handle(const HttpRequest& request) noexcept {
  try {
    try {
      return state_->route(request);
    } catch (const ApiError& error) {
      return error_reply(error);
    } catch (const Error& error) {
      const ApiError api_error = from_lunadb_error(error);
      return json_reply(api_error.status, wire::error_json(api_error.name.c_str(), api_error.message, error.kind()));
    } catch (const Json::exception& error) {
      return error_reply({400, "InvalidArgumentError", fmt::format("bad JSON value: {}", error.what())});
    } catch (const std::bad_alloc&) {
      return error_reply({507, "InternalError", "out of memory while handling the request"});
    } catch (const std::exception& error) {
      return error_reply({500, "InternalError", error.what()});
    }
  } catch (...) {
    // Building the error reply itself failed (out of memory): a fixed answer needs no allocation
    // beyond the small string.
    return {500, R"({"error":"InternalError","message":"unexpected failure"})"};
  }
}

}  // namespace lunadb::serve
