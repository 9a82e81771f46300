#pragma once
// What Chroma has and lunadb's store does not: tenants, databases, collection UUIDs, collection
// metadata and configuration, and collections whose dimension is not known yet (Chroma fixes it
// at the first add). Kept in lunadb-serve.json beside the store's records (docs/serve.md), and
// rewritten atomically (temporary file, fsync, rename, fsync of the folder) before a reply says
// a change was made. Not thread-safe: ChromaApi guards it with its lock.

#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace lunadb::serve::detail {

inline constexpr const char* kCatalogFileName = "lunadb-serve.json";
inline constexpr const char* kDefaultTenant = "default_tenant";
inline constexpr const char* kDefaultDatabase = "default_database";

struct DatabaseEntry {
  std::string id;  // UUID
  std::string tenant;
  std::string name;
};

struct CollectionEntry {
  std::string id;  // UUID, Chroma's collection id
  std::string tenant;
  std::string database;
  std::string name;        // Chroma's name (renamed by modify)
  std::string store_name;  // the lunadb collection; created at the first write with embeddings
  nlohmann::json metadata;       // object, or null for none
  nlohmann::json configuration;  // Chroma's configuration_json
};

class Catalog {
 public:
  explicit Catalog(std::filesystem::path file);  // loads the file when present; Error(corrupt)
  void save() const;                              // Error(io) naming the file

  std::set<std::string> tenants;  // beside default_tenant, which always exists
  std::vector<DatabaseEntry> databases;  // beside default_tenant/default_database
  std::map<std::string, CollectionEntry> collections;  // by id

  bool has_tenant(const std::string& tenant) const;
  const DatabaseEntry* find_database(const std::string& tenant, const std::string& name) const;
  CollectionEntry* find_by_name(const std::string& tenant, const std::string& database, const std::string& name);
  CollectionEntry* find_by_id(const std::string& id);
  bool store_name_taken(const std::string& store_name) const;

 private:
  std::filesystem::path file_;
};

std::string new_uuid();  // random (version 4), lower case
bool is_uuid(const std::string& text);

}  // namespace lunadb::serve::detail
