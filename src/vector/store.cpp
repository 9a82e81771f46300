#include <algorithm>
#include <map>
#include <thread>

#include "lunadb/error.hpp"
#include "lunadb/vector.hpp"
#include "vector/collection.hpp"
#include "vector/io.hpp"
#include "vector/record_db.hpp"
#include "vector/validation.hpp"

namespace lunadb::vector {

const char* to_string(Distance distance) noexcept {
  switch (distance) {
    case Distance::cosine: return "cosine";
    case Distance::l2: return "l2";
    case Distance::ip: return "ip";
  }
  return "cosine";
}

Distance parse_distance(std::string_view text) {
  if (text == "cosine") return Distance::cosine;
  if (text == "l2") return Distance::l2;
  if (text == "ip") return Distance::ip;
  throw Error(ErrorKind::invalid_argument, "unknown distance '" + std::string(text) + "' (expected cosine, l2 or ip)");
}

namespace detail {
namespace {

class StoreImpl final : public VectorStore {
 public:
  StoreImpl(const std::filesystem::path& directory, const OpenOptions& options) {
    std::error_code ec;
    std::filesystem::create_directories(directory, ec);
    if (ec) throw Error(ErrorKind::io, "cannot create the vector store folder " + directory.string() + ": " + ec.message());
    lock_ = std::make_unique<DirectoryLock>(directory / "LOCK");
    core_ = std::make_shared<StoreCore>();
    core_->directory = std::filesystem::absolute(directory);
    core_->options = options;
    core_->options.flat_threshold = std::max<std::size_t>(options.flat_threshold, 1);
    core_->options.snapshot_every = std::max<std::size_t>(options.snapshot_every, 1);
    unsigned hw = std::max(1u, std::thread::hardware_concurrency());
    core_->index_threads = options.index_threads > 0 ? options.index_threads : std::min(4u, hw);
    core_->db = std::make_unique<RecordDb>(core_->directory / kRecordsFileName);
    for (auto& c : core_->db->collections()) catalog_.emplace(c.config.name, Entry{c.id, c.config, nullptr});
  }

  ~StoreImpl() override {
    try {
      std::lock_guard lock(core_->db_mutex);
      for (auto& [name, entry] : catalog_) {
        if (entry.loaded) entry.loaded->save_snapshot_if_dirty();
      }
      core_->open = false;
      core_->db.reset();
    } catch (...) {
      // Records are durable already; nothing may escape a destructor.
    }
  }

  std::shared_ptr<Collection> create_collection(const CollectionConfig& config) override {
    validate_collection_config(config);
    std::lock_guard lock(core_->db_mutex);
    if (catalog_.count(config.name)) {
      throw Error(ErrorKind::constraint, "collection '" + config.name + "' already exists");
    }
    return create_locked(config);
  }

  std::shared_ptr<Collection> get_collection(std::string_view name) override {
    std::lock_guard lock(core_->db_mutex);
    auto it = catalog_.find(std::string(name));
    if (it == catalog_.end()) throw Error(ErrorKind::not_found, "collection '" + std::string(name) + "' does not exist");
    return load_locked(it->second);
  }

  std::shared_ptr<Collection> get_or_create_collection(const CollectionConfig& config) override {
    validate_collection_config(config);
    std::lock_guard lock(core_->db_mutex);
    auto it = catalog_.find(config.name);
    if (it == catalog_.end()) return create_locked(config);
    const auto& existing = it->second.config;
    if (existing.dimension != config.dimension || existing.distance != config.distance ||
        existing.embedding_model != config.embedding_model) {
      throw Error(ErrorKind::invalid_argument, collection_mismatch_message(existing, config));
    }
    return load_locked(it->second);
  }

  void delete_collection(std::string_view name) override {
    std::lock_guard lock(core_->db_mutex);
    auto it = catalog_.find(std::string(name));
    if (it == catalog_.end()) throw Error(ErrorKind::not_found, "collection '" + std::string(name) + "' does not exist");
    core_->db->delete_collection(it->second.id);
    if (it->second.loaded) it->second.loaded->mark_dropped();
    std::error_code ec;
    std::filesystem::remove_all(core_->directory / "index" / std::to_string(it->second.id), ec);
    catalog_.erase(it);
  }

  std::vector<CollectionConfig> list_collections() const override {
    std::lock_guard lock(core_->db_mutex);
    std::vector<CollectionConfig> out;
    for (const auto& [name, entry] : catalog_) out.push_back(entry.config);
    return out;
  }

  void flush() override {
    std::vector<std::shared_ptr<CollectionImpl>> loaded;
    {
      std::lock_guard lock(core_->db_mutex);
      for (auto& [name, entry] : catalog_) {
        if (entry.loaded) loaded.push_back(entry.loaded);
      }
    }
    for (auto& c : loaded) c->flush();
  }

  const std::filesystem::path& directory() const override { return core_->directory; }

 private:
  struct Entry {
    std::int64_t id;
    CollectionConfig config;
    std::shared_ptr<CollectionImpl> loaded;
  };

  std::shared_ptr<Collection> create_locked(const CollectionConfig& config) {
    auto id = core_->db->create_collection(config);
    // A folder left by a crash between folder and catalog updates must not be mistaken for ours.
    std::error_code ec;
    std::filesystem::remove_all(core_->directory / "index" / std::to_string(id), ec);
    auto& entry = catalog_.emplace(config.name, Entry{id, config, nullptr}).first->second;
    return load_locked(entry);
  }

  std::shared_ptr<Collection> load_locked(Entry& entry) {
    if (!entry.loaded) entry.loaded = std::make_shared<CollectionImpl>(core_, entry.id, entry.config);
    return entry.loaded;
  }

  std::unique_ptr<DirectoryLock> lock_;
  std::shared_ptr<StoreCore> core_;
  std::map<std::string, Entry> catalog_;
};

}  // namespace
}  // namespace detail

std::unique_ptr<VectorStore> VectorStore::open(const std::filesystem::path& directory, const OpenOptions& options) {
  return std::make_unique<detail::StoreImpl>(directory, options);
}

}  // namespace lunadb::vector
