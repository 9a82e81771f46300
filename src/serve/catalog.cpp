#include "serve/catalog.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>

#include <fmt/format.h>

#include "lunadb/error.hpp"

namespace lunadb::serve::detail {

namespace fs = std::filesystem;
using Json = nlohmann::json;

namespace {

[[noreturn]] void fail_io(const fs::path& file, const std::string& what) {
  throw Error(ErrorKind::io, fmt::format("{}: {}: {}", file.string(), what, std::strerror(errno)));
}

void fsync_path(const fs::path& path, int flags) {
  const int fd = ::open(path.c_str(), flags);
  if (fd < 0) fail_io(path, "cannot open for fsync");
  const bool synced = ::fsync(fd) == 0;
  ::close(fd);
  if (!synced) fail_io(path, "fsync failed");
}

}  // namespace

Catalog::Catalog(fs::path file) : file_(std::move(file)) {
  std::ifstream in(file_, std::ios::binary);
  if (!in) return;
  std::stringstream text;
  text << in.rdbuf();
  try {
    const Json root = Json::parse(text.str());
    for (const auto& tenant : root.at("tenants")) tenants.insert(tenant.get<std::string>());
    for (const auto& database : root.at("databases")) {
      databases.push_back({database.at("id").get<std::string>(), database.at("tenant").get<std::string>(),
                           database.at("name").get<std::string>()});
    }
    for (const auto& collection : root.at("collections")) {
      CollectionEntry entry{collection.at("id").get<std::string>(),
                            collection.at("tenant").get<std::string>(),
                            collection.at("database").get<std::string>(),
                            collection.at("name").get<std::string>(),
                            collection.at("store_name").get<std::string>(),
                            collection.value("metadata", Json()),
                            collection.value("configuration", Json::object())};
      collections.emplace(entry.id, std::move(entry));
    }
  } catch (const Json::exception& error) {
    throw Error(ErrorKind::corrupt, fmt::format("{}: not a lunadb serve catalog: {}", file_.string(), error.what()));
  }
}

void Catalog::save() const {
  Json root = {{"format", 1}, {"tenants", tenants}, {"databases", Json::array()}, {"collections", Json::array()}};
  for (const auto& database : databases) {
    root["databases"].push_back({{"id", database.id}, {"tenant", database.tenant}, {"name", database.name}});
  }
  for (const auto& [id, entry] : collections) {
    root["collections"].push_back({{"id", entry.id},
                                   {"tenant", entry.tenant},
                                   {"database", entry.database},
                                   {"name", entry.name},
                                   {"store_name", entry.store_name},
                                   {"metadata", entry.metadata},
                                   {"configuration", entry.configuration}});
  }
  const std::string text = root.dump(1);
  const fs::path temporary = file_.string() + ".tmp";
  {
    const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) fail_io(temporary, "cannot create");
    std::size_t written = 0;
    while (written < text.size()) {
      const ssize_t n = ::write(fd, text.data() + written, text.size() - written);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        ::close(fd);
        fail_io(temporary, "write failed");
      }
      written += static_cast<std::size_t>(n);
    }
    const bool synced = ::fsync(fd) == 0;
    ::close(fd);
    if (!synced) fail_io(temporary, "fsync failed");
  }
  if (::rename(temporary.c_str(), file_.c_str()) != 0) fail_io(file_, "cannot replace");
  fsync_path(file_.parent_path(), O_RDONLY | O_DIRECTORY);
}

bool Catalog::has_tenant(const std::string& tenant) const {
  return tenant == kDefaultTenant || tenants.count(tenant) > 0;
}

const DatabaseEntry* Catalog::find_database(const std::string& tenant, const std::string& name) const {
  for (const auto& database : databases) {
    if (database.tenant == tenant && database.name == name) return &database;
  }
  return nullptr;
}

CollectionEntry* Catalog::find_by_name(const std::string& tenant, const std::string& database,
                                       const std::string& name) {
  for (auto& [id, entry] : collections) {
    if (entry.tenant == tenant && entry.database == database && entry.name == name) return &entry;
  }
  return nullptr;
}

CollectionEntry* Catalog::find_by_id(const std::string& id) {
  auto found = collections.find(id);
  return found == collections.end() ? nullptr : &found->second;
}

bool Catalog::store_name_taken(const std::string& store_name) const {
  for (const auto& [id, entry] : collections) {
    if (entry.store_name == store_name) return true;
  }
  return false;
}

std::string new_uuid() {
  thread_local std::mt19937_64 generator{std::random_device{}()};
  std::uint64_t high = generator();
  std::uint64_t low = generator();
  high = (high & ~0xF000ull) | 0x4000ull;                    // version 4
  low = (low & ~(0xC000000000000000ull)) | 0x8000000000000000ull;  // RFC 4122 variant
  return fmt::format("{:08x}-{:04x}-{:04x}-{:04x}-{:012x}", high >> 32, (high >> 16) & 0xFFFF, high & 0xFFFF,
                     low >> 48, low & 0xFFFFFFFFFFFFull);
}

bool is_uuid(const std::string& text) {
  if (text.size() != 36) return false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (c != '-') return false;
    } else if (!std::isxdigit(static_cast<unsigned char>(c))) {
      return false;
    }
  }
  return true;
}

}  // namespace lunadb::serve::detail
