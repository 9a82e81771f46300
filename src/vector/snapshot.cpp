#include "vector/snapshot.hpp"

#include <cstring>
#include <system_error>

#include "lunadb/error.hpp"
#include "vector/io.hpp"

namespace lunadb::vector::detail {

namespace {

constexpr char kMagic[8] = {'L', 'U', 'N', 'A', 'V', 'I', 'D', 'X'};
// 2: CRC-32C checksums and element layout (raw vector, + inverse norm for cosine) in the graph.
// Version 1 snapshots fail the checks and are rebuilt from the records.
constexpr std::uint32_t kFormatVersion = 2;
constexpr std::size_t kMaxIdBytes = 4096;

class Writer {
 public:
  template <typename T>
  void put(T value) {
    auto* p = reinterpret_cast<const std::uint8_t*>(&value);
    bytes.insert(bytes.end(), p, p + sizeof(T));
  }
  void put_bytes(const void* data, std::size_t n) {
    auto* p = static_cast<const std::uint8_t*>(data);
    bytes.insert(bytes.end(), p, p + n);
  }
  std::vector<std::uint8_t> bytes;
};

class Reader {
 public:
  Reader(const std::string& data, const std::filesystem::path& file) : data_(data), file_(file) {}
  template <typename T>
  T get() {
    need(sizeof(T));
    T value;
    std::memcpy(&value, data_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    return value;
  }
  std::string get_string(std::size_t n) {
    need(n);
    std::string s = data_.substr(pos_, n);
    pos_ += n;
    return s;
  }
  void need(std::size_t n) const {
    if (data_.size() - pos_ < n) throw Error(ErrorKind::corrupt, "index snapshot " + file_.string() + " is truncated");
  }
  std::size_t remaining() const { return data_.size() - pos_; }

 private:
  const std::string& data_;
  const std::filesystem::path& file_;
  std::size_t pos_ = 0;
};

std::string hnsw_file_name(std::uint64_t generation) { return "index-" + std::to_string(generation) + ".hnsw"; }

[[noreturn]] void corrupt(const std::filesystem::path& file, const std::string& why) {
  throw Error(ErrorKind::corrupt, "index snapshot " + file.string() + ": " + why);
}

}  // namespace

std::vector<std::uint8_t> encode_snapshot_meta(const SnapshotMeta& meta) {
  Writer w;
  w.put_bytes(kMagic, sizeof(kMagic));
  w.put<std::uint32_t>(kFormatVersion);
  w.put<std::uint32_t>(static_cast<std::uint32_t>(meta.distance));
  w.put<std::uint32_t>(static_cast<std::uint32_t>(meta.dimension));
  w.put<std::uint32_t>(static_cast<std::uint32_t>(meta.m));
  w.put<std::int64_t>(meta.collection_id);
  w.put<std::int64_t>(meta.last_seq);
  w.put<std::uint64_t>(meta.generation);
  w.put<std::uint64_t>(meta.hnsw_size);
  w.put<std::uint32_t>(meta.hnsw_crc);
  w.put<std::uint64_t>(meta.entries.size());
  for (const auto& e : meta.entries) {
    w.put<std::uint32_t>(e.label);
    w.put<std::int64_t>(e.seq);
    w.put<std::uint32_t>(static_cast<std::uint32_t>(e.id.size()));
    w.put_bytes(e.id.data(), e.id.size());
  }
  w.put<std::uint32_t>(crc32c(w.bytes));
  return std::move(w.bytes);
}

SnapshotMeta decode_snapshot_meta(const std::string& bytes, const std::filesystem::path& file) {
  if (bytes.size() < sizeof(kMagic) + 4) corrupt(file, "too short");
  std::uint32_t stored_crc;
  std::memcpy(&stored_crc, bytes.data() + bytes.size() - 4, 4);
  auto body = std::span(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size() - 4);
  if (crc32c(body) != stored_crc) corrupt(file, "checksum mismatch");
  if (std::memcmp(bytes.data(), kMagic, sizeof(kMagic)) != 0) corrupt(file, "bad magic");
  Reader r(bytes, file);
  r.get_string(sizeof(kMagic));
  auto version = r.get<std::uint32_t>();
  if (version != kFormatVersion) corrupt(file, "unsupported format version " + std::to_string(version));
  SnapshotMeta meta;
  auto distance = r.get<std::uint32_t>();
  if (distance > static_cast<std::uint32_t>(Distance::ip)) corrupt(file, "bad distance");
  meta.distance = static_cast<Distance>(distance);
  meta.dimension = static_cast<int>(r.get<std::uint32_t>());
  meta.m = static_cast<int>(r.get<std::uint32_t>());
  meta.collection_id = r.get<std::int64_t>();
  meta.last_seq = r.get<std::int64_t>();
  meta.generation = r.get<std::uint64_t>();
  meta.hnsw_size = r.get<std::uint64_t>();
  meta.hnsw_crc = r.get<std::uint32_t>();
  auto count = r.get<std::uint64_t>();
  // Each entry takes at least 16 bytes: bound the count before reserving memory for it.
  if (count > r.remaining() / 16) corrupt(file, "entry count exceeds file size");
  meta.entries.reserve(count);
  for (std::uint64_t i = 0; i < count; ++i) {
    SnapshotEntry e;
    e.label = r.get<std::uint32_t>();
    e.seq = r.get<std::int64_t>();
    auto length = r.get<std::uint32_t>();
    if (length == 0 || length > kMaxIdBytes) corrupt(file, "bad id length");
    e.id = r.get_string(length);
    meta.entries.push_back(std::move(e));
  }
  if (r.remaining() != 4) corrupt(file, "trailing bytes");
  return meta;
}

void write_snapshot(const std::filesystem::path& directory, const HnswIndex& index, SnapshotMeta& meta) {
  std::filesystem::create_directories(directory);
  const auto final_name = directory / hnsw_file_name(meta.generation);
  auto temp = final_name;
  temp += ".tmp";
  index.save(temp);
  fsync_file(temp);
  meta.hnsw_crc = crc32c_of_file(temp, &meta.hnsw_size);
  std::filesystem::rename(temp, final_name);
  write_file_atomically(directory / kMetaFileName, encode_snapshot_meta(meta));  // the commit point
  const std::string keep = final_name.filename().string();
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(directory, ec)) {
    const std::string name = entry.path().filename().string();
    if (name != keep && name.rfind("index-", 0) == 0) std::filesystem::remove(entry.path(), ec);
  }
}

LoadedSnapshot load_snapshot(const std::filesystem::path& directory, const SnapshotMeta& expected, std::size_t capacity) {
  const auto meta_file = directory / kMetaFileName;
  if (!std::filesystem::exists(meta_file)) throw Error(ErrorKind::not_found, "no index snapshot in " + directory.string());
  LoadedSnapshot loaded;
  loaded.meta = decode_snapshot_meta(read_file(meta_file, std::uint64_t{1} << 32), meta_file);
  const auto& meta = loaded.meta;
  if (meta.collection_id != expected.collection_id || meta.dimension != expected.dimension ||
      meta.distance != expected.distance || meta.m != expected.m) {
    corrupt(meta_file, "written for another collection or configuration");
  }
  const auto hnsw_file = directory / hnsw_file_name(meta.generation);
  std::uint64_t size = 0;
  std::uint32_t crc = crc32c_of_file(hnsw_file, &size);
  if (size != meta.hnsw_size || crc != meta.hnsw_crc) corrupt(hnsw_file, "size or checksum does not match index.meta");
  loaded.index = HnswIndex::load(hnsw_file, meta.distance, meta.dimension, meta.m, capacity);
  return loaded;
}

}  // namespace lunadb::vector::detail
