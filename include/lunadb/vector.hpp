#pragma once
// The embedded vector store: what ChromaDB's PersistentClient does for Luna, with the same
// record semantics (add/upsert/update/get/query/delete/count, `where` and `where_document`
// filters) and a documented, crash-safe on-disk format (docs/vector-store.md).
//
// A write is durable when the call returns: records live in a SQLite database (synchronous=FULL)
// and the HNSW index is only a checksummed snapshot that catches up from the records on open.
//
// Thread-safety: VectorStore and Collection are thread-safe. Reads (get, query, count, stats)
// run concurrently with each other; writes are serialised store-wide and block readers of the
// same collection only while they apply to memory, not during the commit. One process at a time
// may open a store directory: a second opener gets Error(busy) naming the lock file.
// A Collection handle stays valid after VectorStore is destroyed, but every call on it then
// throws Error(usage); the same after the collection is deleted.

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace lunadb::vector {

using Json = nlohmann::json;

enum class Distance {
  cosine,  // 1 - cos(a, b); the default
  l2,      // squared Euclidean distance
  ip,      // 1 - a.b
};
const char* to_string(Distance distance) noexcept;
Distance parse_distance(std::string_view text);  // "cosine" | "l2" | "ip"; Error(invalid_argument)

struct IndexParams {
  int m = 16;                 // HNSW max neighbours per node (hnswlib M)
  int ef_construction = 100;  // candidate list while building (ChromaDB's default too)
  int ef_search = 100;        // candidate list while searching; raised to 2k for larger k
};

struct CollectionConfig {
  std::string name;             // 1-128 chars of [A-Za-z0-9._-], starting with a letter or digit
  int dimension = 0;            // > 0
  Distance distance = Distance::cosine;
  IndexParams index;
  std::string embedding_model;  // the model the vectors come from; queries may declare theirs
};

// Metadata is a JSON object whose values are strings, integers, finite floats, booleans or
// non-empty lists of one of those types. In update/upsert a null value removes the key.
struct Record {
  std::string id;
  std::vector<float> embedding;
  std::optional<std::string> document;
  Json metadata;  // object, or null for none
};

// For update(): fields left empty are not touched; metadata is merged key by key.
struct RecordUpdate {
  std::string id;
  std::optional<std::vector<float>> embedding;
  std::optional<std::string> document;
  Json metadata;  // object to merge, or null for "leave as is"
};

// Which fields get()/query() return. ids always; distances only for query.
enum Include : unsigned {
  include_embeddings = 1u << 0,
  include_documents = 1u << 1,
  include_metadatas = 1u << 2,
  include_distances = 1u << 3,
  include_default = include_documents | include_metadatas | include_distances,
  include_all = include_embeddings | include_documents | include_metadatas | include_distances,
};

// Filters use ChromaDB's JSON grammar, e.g. {"$and": [{"kind": "fact"}, {"score": {"$gte": 0.5}}]}
// and where_document {"$contains": "coffee"}; null means no filter. See docs/vector-store.md.
struct GetRequest {
  std::vector<std::string> ids;  // empty: all records
  Json where;
  Json where_document;
  std::optional<std::size_t> limit;
  std::size_t offset = 0;
  unsigned include = include_documents | include_metadatas;
};

// Flat lists in insertion order (the order records were first added).
struct GetResult {
  std::vector<std::string> ids;
  std::vector<std::vector<float>> embeddings;           // when included
  std::vector<std::optional<std::string>> documents;    // when included
  std::vector<Json> metadatas;                          // when included; null when none
};

struct QueryRequest {
  std::vector<std::vector<float>> embeddings;  // one or more query vectors
  std::size_t n_results = 10;
  Json where;
  Json where_document;
  std::vector<std::string> ids;  // restrict the candidates to these ids (empty: no restriction)
  unsigned include = include_default;
  // The model the query vectors come from. When set and different from the collection's
  // embedding_model the query is refused (distances between models are meaningless).
  std::string embedding_model;
  // Search effort. Left empty, the collection chooses: its search tuner (OpenOptions) raises ef
  // until sampled queries reach the target recall, or scans exactly when that is cheaper.
  // ef_search fixes the HNSW candidate list for this query (at least n_results is used);
  // exact = true compares the query with every candidate record (recall 1, linear cost).
  std::optional<std::size_t> ef_search;
  bool exact = false;
};

// One per query vector, nearest first. Fewer than n_results when fewer records match.
struct Matches {
  std::vector<std::string> ids;
  std::vector<float> distances;
  std::vector<std::vector<float>> embeddings;
  std::vector<std::optional<std::string>> documents;
  std::vector<Json> metadatas;
};

struct DeleteRequest {
  std::vector<std::string> ids;  // with where/where_document: records must match all given
  Json where;
  Json where_document;
};

struct CollectionStats {
  std::string name;
  std::size_t count = 0;            // live records
  bool hnsw_active = false;         // false: exact flat search only (small collection)
  std::size_t index_elements = 0;   // HNSW slots in use, including deleted ones
  std::size_t index_deleted = 0;    // HNSW slots marked deleted (reused by later adds)
  std::int64_t last_seq = 0;        // highest sequence number written to this collection
  std::int64_t snapshot_seq = 0;    // sequence number the on-disk index snapshot covers (0: none)
  std::string index_recovery;       // why the index was rebuilt on open (empty: loaded cleanly)
  // How unfiltered queries that leave the effort to the collection are searched, in words, e.g.
  // "hnsw, ef 200 (sampled recall@k 0.994, ...)" or "exact scan (...)"; see OpenOptions.
  std::string search_plan;
  std::size_t search_ef = 0;        // the ef chosen; 0 for an exact scan
  double sampled_recall = 0;        // recall@k the tuner measured for its choice (0: not yet)
};

class Collection {
 public:
  virtual ~Collection() = default;
  virtual const CollectionConfig& config() const = 0;

  // All-or-nothing: any invalid record, duplicate id in the call or id already present throws
  // (invalid_argument / constraint) and nothing of the call is written.
  virtual void add(const std::vector<Record>& records) = 0;
  // Inserts missing ids; for existing ids replaces the embedding, replaces the document when
  // given and merges the metadata.
  virtual void upsert(const std::vector<Record>& records) = 0;
  // Ids that do not exist are skipped (as in ChromaDB). Returns how many records changed.
  virtual std::size_t update(const std::vector<RecordUpdate>& updates) = 0;
  // Deletes records matching all given criteria; an empty request is refused. Returns how many.
  virtual std::size_t remove(const DeleteRequest& request) = 0;

  virtual GetResult get(const GetRequest& request) const = 0;
  virtual std::vector<Matches> query(const QueryRequest& request) const = 0;
  virtual std::size_t count() const = 0;
  virtual CollectionStats stats() const = 0;
  // Writes the index snapshot now (records are always durable already).
  virtual void flush() = 0;
};

struct OpenOptions {
  // Below this many live records no HNSW index is kept and search is exact. Filters matching at
  // most this many records are also searched exactly.
  std::size_t flat_threshold = 2000;
  // The index snapshot is rewritten after max(snapshot_every, live records / 4) changed records:
  // this bounds the catch-up on open after a crash, while the total snapshot writing stays
  // linear in the collection size (each snapshot rewrites the whole graph).
  std::size_t snapshot_every = 20000;
  // Threads used to insert large batches into the HNSW index (0: up to 4, by hardware).
  unsigned index_threads = 0;
  // The search tuner. How well an HNSW graph finds neighbours depends on the data: ef 100 gives
  // recall@10 0.99 on sentence embeddings and 0.12 on 100k uniform random vectors of d=384. So
  // the first `tuning_samples` unfiltered queries (again whenever the collection has halved or
  // doubled since) are each answered by an exact scan and also measured in the graph at ef
  // ef_search, 2 ef_search, 4 ef_search, ...; later queries use the smallest ef whose sampled
  // recall@k reaches target_recall while costing less than the scan, else the exact scan.
  // target_recall <= 0 turns the tuner off: every query uses the collection's ef_search.
  double target_recall = 0.99;
  std::size_t tuning_samples = 32;
};

class VectorStore {
 public:
  // Opens (creating if needed) the store under `directory` (Luna's CHROMA_PATH). Throws
  // Error(busy) when another process has it open, Error(corrupt) naming the records file when
  // that is damaged. A damaged index snapshot is never an error: it is rebuilt from the records.
  static std::unique_ptr<VectorStore> open(const std::filesystem::path& directory,
                                           const OpenOptions& options = {});
  virtual ~VectorStore() = default;  // saves index snapshots; never throws

  // Error(constraint) when the name exists, Error(invalid_argument) for a bad config.
  virtual std::shared_ptr<Collection> create_collection(const CollectionConfig& config) = 0;
  // Error(not_found) when missing.
  virtual std::shared_ptr<Collection> get_collection(std::string_view name) = 0;
  // Returns the existing collection when its dimension, distance and model match `config`
  // (index params of the existing one win); Error(invalid_argument) when they differ.
  virtual std::shared_ptr<Collection> get_or_create_collection(const CollectionConfig& config) = 0;
  virtual void delete_collection(std::string_view name) = 0;  // Error(not_found) when missing
  virtual std::vector<CollectionConfig> list_collections() const = 0;  // by name
  virtual void flush() = 0;  // snapshots every collection's index
  virtual const std::filesystem::path& directory() const = 0;
};

// Parses JSON text (a filter or metadata given on a command line); Error(invalid_argument)
// naming `what` and the parse position when malformed, and naming the literal when an integer is
// outside int64 (such a literal would otherwise silently become a double).
Json parse_json(std::string_view text, std::string_view what);

}  // namespace lunadb::vector
