#pragma once
// The in-memory side of one collection: every live record (for filters and exact search), the
// optional HNSW index, and the write path that commits to the records database first.
//
// Each vector is held once: in `elements_` while the collection is small (no graph), inside the
// HNSW graph once there is one (HnswIndex::element). Documents and metadata stay in memory for
// the filters.

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "lunadb/vector.hpp"
#include "vector/distance.hpp"
#include "vector/filter.hpp"
#include "vector/hnsw_index.hpp"
#include "vector/io.hpp"
#include "vector/record_db.hpp"
#include "vector/search_tuner.hpp"

namespace lunadb::vector::detail {

// A shared mutex that lets a waiting writer in ahead of new readers: glibc's rwlock prefers
// readers, so a steady stream of queries would starve writes.
class WriterFirstMutex {
 public:
  void lock() {
    std::lock_guard gate(gate_);
    inner_.lock();
  }
  void unlock() { inner_.unlock(); }
  void lock_shared() {
    std::lock_guard gate(gate_);
    inner_.lock_shared();
  }
  void unlock_shared() { inner_.unlock_shared(); }

 private:
  std::mutex gate_;
  std::shared_mutex inner_;
};

// What the store shares with its collections. `db_mutex` guards `db` and serialises writes.
struct StoreCore {
  std::filesystem::path directory;
  OpenOptions options;
  std::mutex db_mutex;
  std::unique_ptr<RecordDb> db;
  std::atomic<bool> open{true};
  unsigned index_threads = 1;
};

class CollectionImpl final : public Collection {
 public:
  // Loads records and the index snapshot; call with core->db_mutex held.
  CollectionImpl(std::shared_ptr<StoreCore> core, std::int64_t collection_id, CollectionConfig config);

  const CollectionConfig& config() const override { return config_; }
  void add(const std::vector<Record>& records) override;
  void upsert(const std::vector<Record>& records) override;
  std::size_t update(const std::vector<RecordUpdate>& updates) override;
  std::size_t remove(const DeleteRequest& request) override;
  GetResult get(const GetRequest& request) const override;
  std::vector<Matches> query(const QueryRequest& request) const override;
  std::size_t count() const override;
  CollectionStats stats() const override;
  void flush() override;

  std::int64_t id() const { return collection_id_; }
  // Both with core->db_mutex held.
  void save_snapshot_if_dirty() noexcept;
  void mark_dropped() { dropped_ = true; }
  std::filesystem::path index_directory() const;

 private:
  struct Slot {
    std::string id;
    std::int64_t rid = 0;  // row in the records database
    std::int64_t seq = 0;
    std::int64_t added_seq = 0;
    std::optional<std::string> document;
    Json metadata;
    bool live = false;
  };

  void check_usable() const;
  void write(std::vector<StoredRecord> puts, std::vector<std::string> deletes);
  std::vector<StoredRecord> prepare_puts(const std::vector<Record>& records, bool upsert) const;

  // State helpers: the caller holds state_mutex_ (exclusive for the mutating ones).
  std::uint32_t take_slot();
  void place(std::uint32_t slot, StoredRecord&& record);  // everything but the vector
  void build_index();
  void maybe_compact();
  // The stored element (distance.hpp) of a live slot.
  const float* element_of(std::uint32_t slot) const {
    return index_ ? index_->element(slot) : elements_.data() + std::size_t{slot} * stride_;
  }
  // Loads every embedding from the records database into elements_ or a new graph.
  void load_all_elements();
  float distance_to(const std::vector<float>& query, std::uint32_t slot) const {
    return distance_fn_(query.data(), element_of(slot), &dim_);
  }
  // The graph is searched only when it exists and the collection is past flat_threshold.
  bool graph_searchable() const { return index_ != nullptr && live_ >= core_->options.flat_threshold; }
  // k nearest among `allowed` (all live records when null) with candidate list ef_base; an exact
  // scan when ef_base is 0 or the graph is not searchable.
  std::vector<std::pair<float, std::uint32_t>> search_one(const std::vector<float>& query, std::size_t k, std::size_t ef_base,
                                                          const std::vector<std::uint32_t>* allowed,
                                                          const std::vector<char>* allowed_mask) const;
  // The share of live records `filter` passes, from an even sample, when it is at least
  // kBroadFilterMinimumFraction; nullopt otherwise or when too few records were sampled.
  std::optional<double> estimate_broad_filter(const Filter& filter) const;
  static constexpr std::size_t kBroadFilterMinimumRecords = 4096;
  static constexpr std::size_t kBroadFilterSample = 512;
  static constexpr double kBroadFilterMinimumFraction = 0.25;
  // For a filter that most records pass: searches the graph and evaluates the filter only on the
  // hits, memoised, instead of on every record first. `fraction` is the share of records the filter
  // was estimated to pass. nullopt when the graph cannot deliver k matches (the filter is narrower
  // than estimated): the caller falls back to evaluating it on every record.
  std::optional<std::vector<std::pair<float, std::uint32_t>>> search_broad_filter(const std::vector<float>& query,
                                                                                  std::size_t k, std::size_t ef_base,
                                                                                  const Filter& filter,
                                                                                  double fraction) const;
  // Answers exactly and measures the graph on the plan's ladder for the tuner.
  std::vector<std::pair<float, std::uint32_t>> sample_search(const std::vector<float>& query, std::size_t k,
                                                             const SearchTuner::Plan& plan) const;
  std::vector<std::pair<float, std::uint32_t>> flat_search(const std::vector<float>& query, std::size_t k,
                                                           const std::vector<std::uint32_t>* allowed) const;
  void load(std::vector<StoredRecord> records);
  bool load_snapshot_into_slots(std::vector<StoredRecord>& records);
  void save_snapshot();

  std::shared_ptr<StoreCore> core_;
  const std::int64_t collection_id_;
  const CollectionConfig config_;
  const std::size_t dim_;
  const std::size_t stride_;  // floats per element
  const ElementDistance distance_fn_;
  std::atomic<bool> dropped_{false};
  std::atomic<bool> broken_{false};  // a graph insert failed part-way (see write())

  mutable WriterFirstMutex state_mutex_;
  std::vector<Slot> slots_;
  std::vector<float> elements_;  // slot-major; empty once index_ exists
  std::unordered_map<std::string, std::uint32_t> by_id_;
  std::vector<std::uint32_t> free_slots_;
  std::size_t live_ = 0;
  std::unique_ptr<HnswIndex> index_;
  std::int64_t last_seq_ = 0;
  std::int64_t snapshot_seq_ = 0;
  std::uint64_t generation_ = 0;
  std::size_t changes_since_snapshot_ = 0;
  std::string recovery_;
  mutable SearchTuner tuner_;
};

}  // namespace lunadb::vector::detail
