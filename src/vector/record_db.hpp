#pragma once
// The records database: the durable source of truth of the vector store (one SQLite file,
// WAL journal, synchronous=FULL). The HNSW snapshot is rebuilt from it when needed.
//
// Embeddings live in their own table, keyed by the record's rowid (`rid`): opening a collection
// whose snapshot is sound reads only the small record rows, never the vectors.
//
// Thread-safety: none; the store's db mutex serialises every call.

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "lunadb/vector.hpp"
#include "sql/driver.hpp"

namespace lunadb::vector::detail {

struct StoredRecord {
  std::int64_t rid = 0;        // rowid in `records`, stable while the record lives
  std::string id;
  std::int64_t seq = 0;        // sequence number of the last change
  std::int64_t added_seq = 0;  // sequence number of the first add: the get() order
  std::vector<float> embedding;  // empty when loaded without embeddings
  std::optional<std::string> document;
  Json metadata;
  bool reindex = true;  // not stored: false when only the document or metadata changed (embedding unused)
};

struct StoredCollection {
  std::int64_t id = 0;
  CollectionConfig config;
};

constexpr const char* kRecordsFileName = "lunadb-vectors.sqlite3";

class RecordDb {
 public:
  // Opens or creates the file. Error(corrupt) naming the file when it is damaged or not ours.
  explicit RecordDb(const std::filesystem::path& file);
  const std::filesystem::path& file() const { return file_; }

  std::int64_t last_seq() const { return last_seq_; }
  std::vector<StoredCollection> collections();
  std::int64_t create_collection(const CollectionConfig& config);
  void delete_collection(std::int64_t collection_id);
  // Every record of the collection without its embedding.
  void load_records(std::int64_t collection_id, const std::function<void(StoredRecord&&)>& sink);
  // Every embedding of the collection, by rid. Error(corrupt) when one has the wrong size.
  void load_embeddings(std::int64_t collection_id, int dimension,
                       const std::function<void(std::int64_t rid, const float* embedding)>& sink);
  // The embeddings of the given rids (missing ones are skipped).
  void read_embeddings(const std::vector<std::int64_t>& rids, int dimension,
                       const std::function<void(std::int64_t rid, const float* embedding)>& sink);

  // One transaction: writes `puts` (their embeddings only when `reindex`) and deletes `deletes`,
  // then records `new_last_seq`. Sets each put's rid.
  void write(std::int64_t collection_id, const std::vector<StoredRecord*>& puts,
             const std::vector<std::string>& deletes, std::int64_t new_last_seq);

 private:
  [[noreturn]] void rethrow_damaged(const std::exception& e, const std::string& during) const;
  void set_last_seq(std::int64_t seq);
  void migrate_from_v1();
  void checked_embedding(const sql::Blob& blob, int dimension, std::int64_t rid) const;

  std::filesystem::path file_;
  std::unique_ptr<sql::Connection> connection_;
  std::int64_t last_seq_ = 0;
};

}  // namespace lunadb::vector::detail
