#pragma once
// The index snapshot of one collection (format in docs/vector-store.md): a meta file
// `index.meta` (own header, label table, CRC-32) naming a hnswlib dump `index-<generation>.hnsw`
// whose size and CRC-32 it records. Replacing the meta file is the atomic commit point.

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "lunadb/vector.hpp"
#include "vector/hnsw_index.hpp"

namespace lunadb::vector::detail {

struct SnapshotEntry {
  std::uint32_t label = 0;
  std::int64_t seq = 0;  // the record's sequence number when its vector was indexed
  std::string id;
};

struct SnapshotMeta {
  std::int64_t collection_id = 0;
  int dimension = 0;
  Distance distance = Distance::cosine;
  int m = 0;
  std::int64_t last_seq = 0;
  std::uint64_t generation = 0;
  std::uint64_t hnsw_size = 0;
  std::uint32_t hnsw_crc = 0;
  std::vector<SnapshotEntry> entries;  // live labels only
};

constexpr const char* kMetaFileName = "index.meta";

std::vector<std::uint8_t> encode_snapshot_meta(const SnapshotMeta& meta);
// Throws Error(corrupt) naming `file` for any inconsistency.
SnapshotMeta decode_snapshot_meta(const std::string& bytes, const std::filesystem::path& file);

// Writes index + meta durably into `directory` (generation = meta.generation) and removes
// older generations. Fills in hnsw_size and hnsw_crc.
void write_snapshot(const std::filesystem::path& directory, const HnswIndex& index, SnapshotMeta& meta);

struct LoadedSnapshot {
  SnapshotMeta meta;
  std::unique_ptr<HnswIndex> index;
};
// Throws Error(corrupt / io) when the snapshot is missing, damaged or for another collection.
LoadedSnapshot load_snapshot(const std::filesystem::path& directory, const SnapshotMeta& expected, std::size_t capacity);

}  // namespace lunadb::vector::detail
