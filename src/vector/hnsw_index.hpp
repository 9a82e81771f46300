#pragma once
// The HNSW graph (hnswlib) behind a narrow interface. Labels are the collection's slot numbers.
// This is the only translation unit that includes hnswlib: its 0.6.2 header defines non-inline
// functions.
//
// The graph stores elements (distance.hpp: the raw embedding, plus its inverse norm for cosine)
// and is the only in-memory copy of an indexed collection's vectors: element() reads them back.
//
// Thread-safety: search() may run concurrently with other search() calls; everything else
// needs exclusive access (the collection's shared_mutex provides it).

#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <utility>
#include <vector>

#include "lunadb/vector.hpp"

namespace lunadb::vector::detail {

class HnswIndex {
 public:
  HnswIndex(Distance distance, int dimension, int m, int ef_construction, std::size_t capacity);
  // Loads a file written by save(). Validates hnswlib's own header against the expected
  // dimension/M and the file size before hnswlib reads it; throws Error(corrupt) otherwise.
  static std::unique_ptr<HnswIndex> load(const std::filesystem::path& file, Distance distance, int dimension, int m,
                                         std::size_t capacity);
  ~HnswIndex();

  // Inserts or replaces elements (a deleted label is revived) using `threads` threads; labels
  // must be distinct. Grows the capacity as needed.
  void add_batch(std::span<const std::pair<const float*, std::uint32_t>> items, unsigned threads);
  void mark_deleted(std::uint32_t label);  // no-op when absent or already deleted
  bool contains_live(std::uint32_t label) const;
  // Up to k nearest (distance, label) to a query element, nearest first, searching with
  // candidate list `ef`.
  std::vector<std::pair<float, std::uint32_t>> search(const float* query, std::size_t k, std::size_t ef) const;
  // The stored element of `label` (deleted or not), or nullptr when the graph has none. Valid
  // until the next add_batch().
  const float* element(std::uint32_t label) const;
  void save(const std::filesystem::path& file) const;

  std::size_t element_count() const;  // including deleted
  std::size_t deleted_count() const;
  std::vector<std::uint32_t> labels() const;  // every label present, deleted or not

 private:
  struct Impl;
  explicit HnswIndex(std::unique_ptr<Impl> impl);
  void reserve(std::size_t needed);
  void note_labels(std::span<const std::pair<const float*, std::uint32_t>> items);
  std::unique_ptr<Impl> impl_;
  // label -> hnswlib's internal id (kNone when absent): a plain array beside hnswlib's hash map,
  // since labels are dense slot numbers.
  static constexpr std::uint32_t kNone = 0xFFFFFFFFu;
  std::vector<std::uint32_t> internal_of_label_;
};

}  // namespace lunadb::vector::detail
