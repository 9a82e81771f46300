#include "lunadb/backup.hpp"

#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <fstream>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <set>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "backup/logical_dump.hpp"
#include "backup/pg_dump.hpp"
#include "backup/sqlite_file.hpp"
#include "backup/table_copy.hpp"
#include "lunadb/error.hpp"
#include "lunadb/migrate.hpp"
#include "sql/driver.hpp"
#include "vector/io.hpp"
#include "vector/record_db.hpp"

namespace lunadb::backup {
namespace fs = std::filesystem;
using Json = nlohmann::ordered_json;

namespace {

constexpr const char* kManifestName = "manifest.json";
constexpr const char* kDatabaseName = "luna.db";
constexpr const char* kVectorsFolder = "vectors";
constexpr const char* kDumpFolder = "database";  // a server database's logical dump
constexpr const char* kNativeDumpName = "pg_dump.custom";
constexpr const char* kServeCatalogName = "lunadb-serve.json";  // serve/catalog.hpp
constexpr const char* kPartialPrefix = ".partial-";
constexpr const char* kSetPrefix = "luna-";
// Rows per COPY (PostgreSQL) in a restore: a round trip every thousand rows was a third of the
// load. Other backends cap it at their bound-parameter limit (TableWriter).
constexpr std::size_t kRestoreBatchRows = 20000;

[[noreturn]] void io_error(const fs::path& file, const std::string& what, int error_number) {
  throw Error(ErrorKind::io, file.string() + ": " + what + ": " + std::strerror(error_number));
}

std::string utc_stamp(const char* format) {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buffer[64];
  std::strftime(buffer, sizeof buffer, format, &tm);
  return buffer;
}

// SHA-256, fed in pieces; hex() once.
class Sha256 {
 public:
  Sha256() : ctx_(EVP_MD_CTX_new(), EVP_MD_CTX_free) {
    if (!ctx_ || EVP_DigestInit_ex(ctx_.get(), EVP_sha256(), nullptr) != 1) throw Error(ErrorKind::internal, "SHA-256 is not available");
  }
  void update(const char* data, std::size_t size) {
    if (size) EVP_DigestUpdate(ctx_.get(), data, size);
    bytes_ += size;
  }
  std::uint64_t bytes() const { return bytes_; }
  std::string hex() {
    std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
    unsigned int length = 0;
    EVP_DigestFinal_ex(ctx_.get(), digest.data(), &length);
    std::string out;
    for (unsigned int i = 0; i < length; ++i) out += fmt::format("{:02x}", digest[i]);
    return out;
  }

 private:
  std::unique_ptr<EVP_MD_CTX, void (*)(EVP_MD_CTX*)> ctx_;
  std::uint64_t bytes_ = 0;
};

// SHA-256 of a file, streamed; Error(io) when it cannot be read.
std::string sha256_of_file(const fs::path& file, std::uint64_t* bytes) {
  std::ifstream in(file, std::ios::binary);
  if (!in) io_error(file, "cannot read", errno);
  Sha256 sha;
  std::vector<char> buffer(1 << 20);
  while (in) {
    in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
    sha.update(buffer.data(), static_cast<std::size_t>(in.gcount()));
  }
  if (in.bad()) io_error(file, "read failed", errno);
  if (bytes) *bytes = sha.bytes();
  return sha.hex();
}

// The SHA-256 and size of files of a set, by path relative to the set, as they are written:
// filled from several threads.
class FileHashes {
 public:
  void put(const std::string& path, std::string sha256, std::uint64_t bytes) {
    std::lock_guard hold(mutex_);
    files_[path] = ManifestFile{path, bytes, std::move(sha256)};
  }
  void hash(const fs::path& root, const std::string& path) {
    std::uint64_t bytes = 0;
    std::string sha = sha256_of_file(root / path, &bytes);
    put(path, std::move(sha), bytes);
  }
  std::optional<ManifestFile> find(const std::string& path) const {
    std::lock_guard hold(mutex_);
    const auto it = files_.find(path);
    return it == files_.end() ? std::nullopt : std::optional<ManifestFile>(it->second);
  }

 private:
  mutable std::mutex mutex_;
  std::map<std::string, ManifestFile> files_;
};

// Where a copy goes and whether to hash what is written: the backup hashes the bytes as it
// writes them (they are the file's bytes; the restore's verify reads them back from disk) and
// fsyncs every file once, at the end, after starting the writeback of each.
struct CopySink {
  FileHashes* hashes = nullptr;
  fs::path root;  // the set, for the relative paths
  bool sync_now = true;
};

// Copies a regular file and fsyncs the copy (or, with !sink.sync_now, starts its writeback).
// False when the source vanished (an index snapshot replaced while it was being copied): the
// restored store rebuilds what it lacks.
bool copy_file_durably(const fs::path& from, const fs::path& to, const CopySink& sink = {}) {
  std::ifstream in(from, std::ios::binary);
  if (!in) {
    if (errno == ENOENT) return false;
    io_error(from, "cannot read", errno);
  }
  std::optional<Sha256> sha;
  if (sink.hashes) sha.emplace();
  {
    std::ofstream out(to, std::ios::binary | std::ios::trunc);
    if (!out) io_error(to, "cannot create", errno);
    std::vector<char> buffer(1 << 20);
    while (in) {
      in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
      out.write(buffer.data(), in.gcount());
      if (!out) io_error(to, "write failed (is the disk full?)", errno);
      if (sha) sha->update(buffer.data(), static_cast<std::size_t>(in.gcount()));
    }
    if (in.bad()) io_error(from, "read failed", errno);
    out.flush();
    if (!out) io_error(to, "write failed (is the disk full?)", errno);
  }
  if (sha) {
    const std::uint64_t bytes = sha->bytes();
    sink.hashes->put(fs::relative(to, sink.root).generic_string(), sha->hex(), bytes);
  }
  if (sink.sync_now) {
    vector::detail::fsync_file(to);
  } else {
    vector::detail::start_writeback(to);
  }
  return true;
}

void copy_tree_durably(const fs::path& from, const fs::path& to, const CopySink& sink = {}) {
  fs::create_directories(to);
  std::error_code ec;
  for (fs::directory_iterator it(from, ec), end; !ec && it != end; it.increment(ec)) {
    const auto& entry = *it;
    if (entry.is_directory()) {
      copy_tree_durably(entry.path(), to / entry.path().filename(), sink);
    } else if (entry.is_regular_file() && entry.path().filename() != "LOCK") {
      copy_file_durably(entry.path(), to / entry.path().filename(), sink);
    }
  }
  if (ec && ec != std::errc::no_such_file_or_directory) io_error(from, "cannot list", ec.value());
  vector::detail::fsync_directory(to);
}

void remove_quietly(const fs::path& path) noexcept {
  std::error_code ec;
  fs::remove_all(path, ec);
}

std::vector<std::string> relative_files(const fs::path& root) {
  std::vector<std::string> out;
  for (const auto& entry : fs::recursive_directory_iterator(root)) {
    if (entry.is_regular_file()) out.push_back(fs::relative(entry.path(), root).generic_string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

Json to_json(const Manifest& m) {
  Json j;
  j["format"] = m.format;
  j["lunadb_version"] = m.lunadb_version;
  j["created_at"] = m.created_at;
  j["backend"] = m.backend;
  j["revision"] = m.revision;
  j["rows"] = Json::object();
  for (const auto& [table, rows] : m.rows) j["rows"][table] = rows;
  j["vectors"] = m.has_vectors;
  j["collections"] = Json::array();
  for (const auto& c : m.collections) j["collections"].push_back({{"name", c.name}, {"records", c.records}, {"last_seq", c.last_seq}});
  if (!m.dump.empty()) {
    j["dump"] = Json::array();
    for (const auto& t : m.dump) j["dump"].push_back({{"table", t.name}, {"file", t.file}, {"rows", t.rows}, {"sha256", t.sha256}});
  }
  if (!m.native_dump.empty()) j["native_dump"] = m.native_dump;
  j["files"] = Json::array();
  for (const auto& f : m.files) j["files"].push_back({{"path", f.path}, {"bytes", f.bytes}, {"sha256", f.sha256}});
  return j;
}

Manifest manifest_from_json(const Json& j, const fs::path& file) {
  try {
    Manifest m;
    m.format = j.at("format").get<int>();
    if (m.format > kManifestFormat) {
      throw Error(ErrorKind::unsupported, file.string() + ": the set was written by a newer lunadb (manifest format " +
                                              std::to_string(m.format) + "; this lunadb reads format " +
                                              std::to_string(kManifestFormat) + "); restore it with that version");
    }
    m.lunadb_version = j.at("lunadb_version").get<std::string>();
    m.created_at = j.at("created_at").get<std::string>();
    m.backend = j.at("backend").get<std::string>();
    m.revision = j.at("revision").get<std::string>();
    for (const auto& [table, rows] : j.at("rows").items()) m.rows[table] = rows.get<std::uint64_t>();
    m.has_vectors = j.at("vectors").get<bool>();
    for (const auto& c : j.at("collections")) {
      m.collections.push_back({c.at("name").get<std::string>(), c.at("records").get<std::uint64_t>(), c.at("last_seq").get<std::int64_t>()});
    }
    if (j.contains("dump")) {
      for (const auto& t : j.at("dump")) {
        m.dump.push_back({t.at("table").get<std::string>(), t.at("file").get<std::string>(), t.at("rows").get<std::uint64_t>(),
                          t.at("sha256").get<std::string>()});
      }
    }
    if (j.contains("native_dump")) m.native_dump = j.at("native_dump").get<std::string>();
    for (const auto& f : j.at("files")) {
      m.files.push_back({f.at("path").get<std::string>(), f.at("bytes").get<std::uint64_t>(), f.at("sha256").get<std::string>()});
    }
    return m;
  } catch (const Json::exception& e) {
    throw Error(ErrorKind::corrupt, file.string() + ": not a lunadb backup manifest: " + e.what());
  }
}

Manifest read_manifest(const fs::path& set) {
  const fs::path file = set / kManifestName;
  if (!fs::exists(file)) throw Error(ErrorKind::corrupt, file.string() + " is missing: " + set.string() + " is not a complete backup set");
  const std::string text = vector::detail::read_file(file, 64u << 20);
  Json j;
  try {
    j = Json::parse(text);
  } catch (const Json::exception& e) {
    throw Error(ErrorKind::corrupt, file.string() + ": not valid JSON: " + e.what());
  }
  return manifest_from_json(j, file);
}

fs::path sqlite_file_of(const Settings& settings) {
  if (settings.db.database.empty() || settings.db.database == ":memory:") {
    throw Error(ErrorKind::config, "DB_URL names an in-memory SQLite database: there is nothing on disk to back up or restore");
  }
  fs::path file = settings.db.database;
  return file.is_absolute() ? file : fs::absolute(file);
}

std::vector<CollectionCount> count_collections(const detail::SqliteFile& records) {
  std::vector<CollectionCount> out;
  const std::string names = records.scalar("SELECT group_concat(id || char(31) || name, char(30)) FROM (SELECT id, name FROM collections ORDER BY name)");
  std::size_t begin = 0;
  while (begin < names.size()) {
    std::size_t end = names.find('\x1e', begin);
    if (end == std::string::npos) end = names.size();
    const std::string item = names.substr(begin, end - begin);
    const std::size_t split = item.find('\x1f');
    const std::string id = item.substr(0, split);
    CollectionCount c;
    c.name = item.substr(split + 1);
    c.records = std::stoull(records.scalar("SELECT count(*) FROM records WHERE collection_id = " + id));
    const std::string seq = records.scalar("SELECT coalesce(max(seq), 0) FROM records WHERE collection_id = " + id);
    c.last_seq = std::stoll(seq.empty() ? "0" : seq);
    out.push_back(std::move(c));
    begin = end + 1;
  }
  return out;
}

std::string revision_of(const detail::SqliteFile& db) {
  if (!db.has_table("alembic_version")) return {};
  return db.scalar("SELECT group_concat(version_num, ',') FROM alembic_version");
}

std::vector<fs::path> complete_sets(const fs::path& directory) {
  std::vector<fs::path> out;
  std::error_code ec;
  for (fs::directory_iterator it(directory, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (it->is_directory() && name.rfind(kSetPrefix, 0) == 0) out.push_back(it->path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

fs::path backup_directory(const Settings& settings, const fs::path& chosen) {
  if (!chosen.empty()) return fs::absolute(chosen);
  return fs::absolute(settings.data_dir / "backups");
}

// A server database, opened and checked before anything is written: reachable, and at the head
// revision (the dump holds the tables as this lunadb knows them).
std::unique_ptr<sql::Connection> open_server_for_dump(const Settings& settings) {
  auto source = sql::open_connection(settings.db, sql::connect_options_from(settings));
  migrate::Migrator migrator(settings);
  const auto current = migrator.current();
  const auto heads = migrator.heads();
  if (current != heads) {
    throw Error(ErrorKind::migration, "backup: the database (" + settings.db.redacted() + ") is at revision " +
                                          (current.empty() ? std::string("(none)") : fmt::format("{}", fmt::join(current, ","))) +
                                          ", not at head (" + fmt::format("{}", fmt::join(heads, ",")) + "); run `lunadb upgrade head` first");
  }
  return source;
}

// The twelve-plus tables and alembic_version, each into database/<table>.jsonl.gz, in one
// snapshot; with `native`, pg_dump of that same snapshot beside them.
void dump_server_database(sql::Connection& source, const Settings& settings, const BackupOptions& options, const fs::path& partial, Manifest& m,
                          std::vector<std::string>& notes) {
  const fs::path folder = partial / kDumpFolder;
  fs::create_directories(folder);
  std::optional<fs::path> pg_dump;
  if (options.native) {
    if (source.backend() != Backend::postgresql) {
      throw Error(ErrorKind::usage, std::string("--native runs pg_dump and applies to PostgreSQL only; DB_URL is ") + to_string(source.backend()));
    }
    pg_dump = detail::find_on_path("pg_dump");
    if (!pg_dump) notes.push_back("--native: pg_dump is not installed (not on PATH); the set holds lunadb's logical dump only");
  }
  detail::begin_snapshot(source);
  try {
    std::vector<const schema::Table*> tables{&detail::alembic_version_table()};
    for (const auto& t : schema::luna_schema().tables) tables.push_back(&t);
    for (const schema::Table* table : tables) {
      const std::string file = std::string(kDumpFolder) + "/" + table->name + detail::kDumpSuffix;
      const auto dumped = detail::dump_table(source, *table, partial / file);
      m.dump.push_back({table->name, file, dumped.rows, dumped.sha256});
      m.rows[table->name] = dumped.rows;
      if (options.progress) options.progress(fmt::format("dumped {}: {} rows", table->name, dumped.rows));
    }
    std::string revision;
    detail::for_each_row(source, detail::alembic_version_table(), 100, [&](std::vector<sql::Value>&& row) {
      revision += (revision.empty() ? "" : ",") + std::get<std::string>(row[0]);
    });
    m.revision = revision;
    if (pg_dump) {
      auto st = source.prepare("SELECT pg_export_snapshot()");
      const std::string snapshot = st->step() ? st->get_text(0) : "";
      st.reset();
      if (options.progress) options.progress("running " + pg_dump->string() + " on the same snapshot");
      detail::run_pg_dump(*pg_dump, settings.db, snapshot, folder / kNativeDumpName);
      m.native_dump = std::string(kDumpFolder) + "/" + kNativeDumpName;
    }
  } catch (...) {
    detail::end_snapshot(source);
    throw;
  }
  detail::end_snapshot(source);
  vector::detail::fsync_directory(folder);
}

}  // namespace

BackupResult create_backup(const Settings& settings, const BackupOptions& options) {
  if (options.keep < 1) throw Error(ErrorKind::usage, "--keep must be at least 1: the set just written is always kept");
  const bool server = settings.db.backend != Backend::sqlite;
  const fs::path database = server ? fs::path() : sqlite_file_of(settings);
  const fs::path records = settings.chroma_path / vector::detail::kRecordsFileName;
  const bool have_database = server || fs::exists(database);
  const bool have_vectors = fs::exists(records);
  if (!have_database && !have_vectors) {
    throw Error(ErrorKind::not_found, "nothing to back up: neither the database " + database.string() + " (DB_URL / DB_PATH) nor a vector store in " +
                                          settings.chroma_path.string() + " (CHROMA_PATH) exists");
  }
  const fs::path directory = backup_directory(settings, options.directory);
  fs::create_directories(directory);
  vector::detail::DirectoryLock lock(directory / ".lock");
  std::unique_ptr<sql::Connection> server_source;

  BackupResult result;
  const std::string today = std::string(kSetPrefix) + utc_stamp("%Y%m%d");
  if (options.daily) {
    for (const auto& set : complete_sets(directory)) {
      if (set.filename().string().rfind(today, 0) == 0) {
        result.set = set;
        return result;
      }
    }
  }
  // Partial sets are left only by a killed or failed backup; under the lock none is in progress.
  std::error_code ec;
  for (fs::directory_iterator it(directory, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->path().filename().string().rfind(kPartialPrefix, 0) == 0) remove_quietly(it->path());
  }

  // Names sort in time order: a second set within the same second gets a suffix above every
  // suffix already used in that second (a pruned name is never reused out of order).
  const std::string base = std::string(kSetPrefix) + utc_stamp("%Y%m%d-%H%M%S");
  std::string name = base;
  int highest = 0;
  for (const auto& set : complete_sets(directory)) {
    const std::string existing = set.filename().string();
    if (existing == base) highest = std::max(highest, 1);
    if (existing.rfind(base + "-", 0) == 0) highest = std::max(highest, std::atoi(existing.c_str() + base.size() + 1));
  }
  if (highest > 0) name = base + "-" + std::to_string(highest + 1);
  if (server) server_source = open_server_for_dump(settings);
  const fs::path partial = directory / (kPartialPrefix + name);
  Manifest m;
  m.lunadb_version = LUNADB_VERSION;
  m.created_at = utc_stamp("%Y-%m-%dT%H:%M:%SZ");
  m.backend = to_string(settings.db.backend);
  m.format = server ? 2 : 1;  // an SQLite set stays readable by the lunadb that wrote format 1
  try {
    fs::create_directories(partial);
    // The checks and the hashing of each copy run on threads of their own while the next copy
    // is made (or the other check of the same copy runs): each copy is final before it is
    // checked or hashed, and nothing counts until every future below has delivered and every
    // file is fsynced. std::async hands a task's exception to get(); the futures are declared
    // in this block, so a failure here waits for them before the partial set is removed.
    FileHashes hashes;
    const CopySink sink{&hashes, partial, false};
    std::future<std::vector<CollectionCount>> vector_checks;
    std::future<std::pair<std::map<std::string, std::uint64_t>, std::string>> database_checks;
    // The vector store first: its vectors are derived from the database's rows, so a database
    // snapshot taken after theirs holds every row they were derived from. Within the store, the
    // index snapshots before the records, so that the records are at least as new as the
    // snapshots and the restored store only catches up forward, as after a crash. The records'
    // snapshot is pinned before the database's is taken; the two copies then run at once.
    if (have_vectors) {
      const fs::path vectors = partial / kVectorsFolder;
      fs::create_directories(vectors);
      if (fs::exists(settings.chroma_path / "index")) copy_tree_durably(settings.chroma_path / "index", vectors / "index", sink);
      // `lunadb serve`'s catalog (tenants, databases, Chroma collection ids and metadata; see
      // docs/serve.md). It is replaced by rename, so a plain copy is one whole version of it.
      if (fs::exists(settings.chroma_path / kServeCatalogName)) {
        copy_file_durably(settings.chroma_path / kServeCatalogName, vectors / kServeCatalogName, sink);
      }
      const fs::path copied = vectors / vector::detail::kRecordsFileName;
      auto source = std::make_shared<detail::SqliteFile>(records, true);
      source->pin_snapshot();
      vector_checks = std::async(std::launch::async, [&hashes, &partial, copied, source = std::move(source)]() mutable {
        source->copy_to(copied, detail::SqliteFile::Sync::later);
        source.reset();  // ends the read transaction: writers may checkpoint past it
        detail::SqliteFile copy(copied, true);
        copy.check_integrity();
        auto counts = count_collections(copy);
        hashes.hash(partial, fs::relative(copied, partial).generic_string());
        return counts;
      });
      m.has_vectors = true;
    }
    if (server) {
      dump_server_database(*server_source, settings, options, partial, m, result.notes);
    } else if (have_database) {
      const fs::path copied = partial / kDatabaseName;
      detail::SqliteFile(database, true).copy_to(copied, detail::SqliteFile::Sync::later);
      // integrity_check, the longest step, here; foreign keys, counts and the hash beside it.
      database_checks = std::async(std::launch::async, [&hashes, &partial, copied] {
        detail::SqliteFile copy(copied, true);
        copy.check_foreign_keys();
        auto rows = copy.count_rows();
        auto revision = revision_of(copy);
        hashes.hash(partial, kDatabaseName);
        return std::pair(std::move(rows), std::move(revision));
      });
      detail::SqliteFile(copied, true).check_pages();
    }
    if (vector_checks.valid()) {
      m.collections = vector_checks.get();
      vector::detail::fsync_directory(partial / kVectorsFolder);
    }
    if (database_checks.valid()) std::tie(m.rows, m.revision) = database_checks.get();
    for (const auto& file : relative_files(partial)) {
      auto f = hashes.find(file);
      if (f) {
        vector::detail::fsync_file(partial / file);  // copied with its writeback only started
      } else {  // written and fsynced by the server dump
        f.emplace();
        f->path = file;
        f->sha256 = sha256_of_file(partial / file, &f->bytes);
      }
      result.bytes += f->bytes;
      m.files.push_back(std::move(*f));
    }
    const std::string text = to_json(m).dump(2) + "\n";
    vector::detail::write_file_atomically(partial / kManifestName,
                                          std::span(reinterpret_cast<const std::uint8_t*>(text.data()), text.size()));
    vector::detail::fsync_directory(partial);
    fs::rename(partial, directory / name);
    vector::detail::fsync_directory(directory);
  } catch (const fs::filesystem_error& e) {
    remove_quietly(partial);
    throw Error(ErrorKind::io, std::string("backup into ") + directory.string() + " failed: " + e.what());
  } catch (...) {
    remove_quietly(partial);
    throw;
  }
  result.written = true;
  result.set = directory / name;
  result.manifest = std::move(m);

  std::vector<fs::path> older;
  for (const auto& set : complete_sets(directory)) {
    if (set != result.set) older.push_back(set);
  }
  for (std::size_t i = 0; older.size() - i + 1 > options.keep; ++i) {
    remove_quietly(older[i]);
    result.pruned.push_back(older[i]);
  }
  if (!result.pruned.empty()) vector::detail::fsync_directory(directory);
  return result;
}

std::vector<SetInfo> list_backups(const fs::path& directory) {
  std::vector<SetInfo> out;
  for (const auto& set : complete_sets(directory)) {
    SetInfo info;
    info.folder = set;
    info.name = set.filename().string();
    try {
      info.manifest = read_manifest(set);
    } catch (const Error& e) {
      info.problem = e.what();
    }
    out.push_back(std::move(info));
  }
  return out;
}

namespace {

// Reads a dump file through: every line parses, and its rows and checksum equal its trailer's
// and the manifest's; Error(corrupt) naming the file otherwise.
void check_dump_rows(const fs::path& file, const DumpedTableInfo& t, const Manifest& m, const detail::DumpedTable& read) {
  const auto counted = m.rows.find(t.name);
  if (read.rows != t.rows || read.sha256 != t.sha256 || counted == m.rows.end() || counted->second != t.rows) {
    throw Error(ErrorKind::corrupt, file.string() + ": its " + std::to_string(read.rows) + " rows differ from manifest.json's");
  }
}

std::unique_ptr<detail::DumpReader> open_dump(const fs::path& set, const DumpedTableInfo& t) {
  const fs::path file = set / t.file;
  auto reader = std::make_unique<detail::DumpReader>(file);
  if (reader->table().name != t.name) {
    throw Error(ErrorKind::corrupt, file.string() + ": holds table " + reader->table().name + ", manifest.json says " + t.name);
  }
  return reader;
}

// verify_backup; with !read_dumps the logical dump's lines are left to the caller, which reads
// them anyway (restore, inside its transaction). Their files' SHA-256 are checked either way.
Manifest verify_set(const fs::path& set, bool read_dumps) {
  if (!fs::is_directory(set)) throw Error(ErrorKind::not_found, "backup set " + set.string() + " does not exist");
  Manifest m = read_manifest(set);
  std::set<std::string> listed;
  for (const auto& f : m.files) {
    const fs::path file = set / f.path;
    listed.insert(f.path);
    if (!fs::exists(file)) throw Error(ErrorKind::corrupt, file.string() + " is missing from the backup set (listed in manifest.json)");
    std::uint64_t bytes = 0;
    const std::string sha = sha256_of_file(file, &bytes);
    if (bytes != f.bytes) {
      throw Error(ErrorKind::corrupt, file.string() + " has " + std::to_string(bytes) + " bytes; manifest.json says " + std::to_string(f.bytes));
    }
    if (sha != f.sha256) throw Error(ErrorKind::corrupt, file.string() + " does not match its SHA-256 in manifest.json (the file was changed or damaged)");
  }
  for (const auto& file : relative_files(set)) {
    if (file != kManifestName && !listed.count(file)) {
      throw Error(ErrorKind::corrupt, (set / file).string() + " is not listed in manifest.json (the set was changed after it was written)");
    }
  }
  if (fs::exists(set / kDatabaseName)) {
    detail::SqliteFile db(set / kDatabaseName, true);
    db.check_integrity();
    if (db.count_rows() != m.rows) throw Error(ErrorKind::corrupt, (set / kDatabaseName).string() + ": its row counts differ from manifest.json");
  }
  if (m.has_vectors) {
    const fs::path records = set / kVectorsFolder / vector::detail::kRecordsFileName;
    detail::SqliteFile db(records, true);
    db.check_integrity();
    auto counts = count_collections(db);
    bool same = counts.size() == m.collections.size();
    for (std::size_t i = 0; same && i < counts.size(); ++i) {
      same = counts[i].name == m.collections[i].name && counts[i].records == m.collections[i].records;
    }
    if (!same) throw Error(ErrorKind::corrupt, records.string() + ": its collection counts differ from manifest.json");
  }
  // A logical dump is read through: every line parses, and each table's rows and checksum equal
  // its trailer's and the manifest's.
  for (std::size_t i = 0; read_dumps && i < m.dump.size(); ++i) {
    const auto& t = m.dump[i];
    check_dump_rows(set / t.file, t, m, open_dump(set, t)->read_rows([](std::vector<sql::Value>&&) {}));
  }
  if (!m.native_dump.empty()) {
    if (const auto pg_restore = detail::find_on_path("pg_restore")) detail::check_pg_dump_file(*pg_restore, set / m.native_dump);
  }
  return m;
}

}  // namespace

Manifest verify_backup(const fs::path& set) { return verify_set(set, true); }

namespace {

// The set's logical dump into `target`, in one transaction: the old rows or the new, never a
// mix. Returns each loaded table as its dump describes it, for the count afterwards.
std::vector<schema::Table> load_dump(sql::Connection& target, const fs::path& set, const Manifest& m,
                                     const std::function<void(const std::string&)>& progress) {
  std::vector<schema::Table> loaded;
  std::vector<std::unique_ptr<detail::DumpReader>> readers;
  std::vector<const DumpedTableInfo*> infos;
  for (const auto& t : m.dump) {
    auto reader = open_dump(set, t);
    if (t.name == detail::alembic_version_table().name) {
      // The migrations wrote it (the revision was checked); it is only read through, as verify would.
      check_dump_rows(set / t.file, t, m, reader->read_rows([](std::vector<sql::Value>&&) {}));
      continue;
    }
    readers.push_back(std::move(reader));
    infos.push_back(&t);
    loaded.push_back(readers.back()->table());
  }
  std::vector<const schema::Table*> tables;
  for (const auto& t : loaded) tables.push_back(&t);
  sql::Transaction write(target);
  detail::empty_tables(target, tables);
  for (std::size_t i = 0; i < readers.size(); ++i) {
    detail::TableLoader loader(target, loaded[i], kRestoreBatchRows);
    const auto read = readers[i]->read_rows([&](std::vector<sql::Value>&& row) { loader.add(std::move(row)); });
    // The verify that restore_backup left to this read: a mismatch throws, and the transaction
    // rolls every loaded row back.
    check_dump_rows(set / infos[i]->file, *infos[i], m, read);
    const auto [rows, sha] = loader.finish();
    if (progress) progress(fmt::format("restored {}: {} rows", loaded[i].name, rows));
  }
  write.commit();
  for (const auto& t : loaded) detail::advance_identity(target, t);
  return loaded;
}

}  // namespace

RestoreResult restore_backup(const Settings& settings, const fs::path& set, const RestoreOptions& options) {
  RestoreResult result;
  // A logical dump's lines are read once, while they are loaded (load_dump): its files' SHA-256
  // are checked here before anything is written, and a line that fails its reading then rolls
  // the load back (and undoes the migrations run for it).
  result.manifest = verify_set(set, false);
  const Manifest& m = result.manifest;
  const bool logical = !m.dump.empty();
  const bool sqlite_target = settings.db.backend == Backend::sqlite;
  const std::string name = set.filename().string();
  if (!logical && fs::exists(set / kDatabaseName) && !sqlite_target) {
    throw Error(ErrorKind::usage, "restore: " + name + " holds an SQLite database file and DB_URL is " + to_string(settings.db.backend) +
                                      " (" + settings.db.redacted() + "); restore it into SQLite (DB_URL unset), then move it with `lunadb copy --to`");
  }
  const fs::path database = sqlite_target ? sqlite_file_of(settings) : fs::path();
  const fs::path store = settings.chroma_path;
  const fs::path records = store / vector::detail::kRecordsFileName;

  // What is there now. Left-overs of a killed restore are removed first: each is either a copy not
  // yet swapped in or an old store already swapped out.
  std::vector<fs::path> folders{store.parent_path()};
  if (sqlite_target) {
    fs::create_directories(database.parent_path());
    folders.push_back(database.parent_path());
  }
  for (const fs::path& folder : folders) {
    std::error_code ec;
    for (fs::directory_iterator it(folder, ec), end; !ec && it != end; it.increment(ec)) {
      const std::string entry = it->path().filename().string();
      if (entry.rfind(".lunadb-restore-", 0) == 0 || entry.rfind(".lunadb-replaced-", 0) == 0) remove_quietly(it->path());
    }
  }
  std::optional<vector::detail::DirectoryLock> store_lock;
  if (m.has_vectors && fs::exists(store)) {
    if (!fs::exists(records) && !fs::is_empty(store)) {
      throw Error(ErrorKind::usage, "CHROMA_PATH (" + store.string() +
                                        ") holds files that are not a lunadb vector store (ChromaDB's?); move them away before restoring");
    }
    if (fs::exists(records)) store_lock.emplace(store / "LOCK");  // Error(busy) while the store is open elsewhere
  }

  std::unique_ptr<sql::Connection> target;
  std::optional<migrate::Migrator> migrator;
  std::vector<std::string> held;
  bool needs_upgrade = false;
  if (logical) {
    target = sql::open_connection(settings.db, sql::connect_options_from(settings));
    migrator.emplace(settings);
    const auto current = migrator->current();
    const std::string at = fmt::format("{}", fmt::join(current, ","));
    if (!current.empty() && at != m.revision) {
      throw Error(ErrorKind::migration, "restore: the database (" + settings.db.redacted() + ") is at revision " + at + " and " + name +
                                            " at " + m.revision + "; restore into an empty database, or bring this one to " + m.revision +
                                            " first (`lunadb upgrade` / `lunadb downgrade`)");
    }
    needs_upgrade = current.empty();
    held = detail::user_rows(*target);
  } else if (fs::exists(database)) {
    detail::SqliteFile db(database, true);
    for (const auto& [table, rows] : db.count_rows()) {
      // The rows `lunadb upgrade` itself writes do not make a database "not empty".
      const bool seeded = table == "alembic_version" || (table == "personality_state" && rows <= 1);
      if (rows > 0 && !seeded) held.push_back(table + " " + std::to_string(rows));
    }
  }
  if (!options.force) {
    if (store_lock) {
      for (const auto& c : count_collections(detail::SqliteFile(records, true))) {
        if (c.records > 0) held.push_back("vectors/" + c.name + " " + std::to_string(c.records));
      }
    }
    if (!held.empty()) {
      std::string list;
      for (const auto& h : held) list += (list.empty() ? "" : ", ") + h;
      throw Error(ErrorKind::usage, "the target is not empty (" + list + "); pass --force to replace it with " + name);
    }
  }

  std::vector<schema::Table> loaded;
  if (logical) {
    if (needs_upgrade) {
      if (options.progress) options.progress("bringing the database to revision " + m.revision);
      migrator->upgrade(m.revision);
    }
    try {
      loaded = load_dump(*target, set, m, options.progress);
    } catch (const Error& e) {
      // A damaged set leaves the database as it was: empty, if the migrations above made its tables.
      if (needs_upgrade) {
        try {
          migrator->downgrade("base");
        } catch (const Error& undo) {
          throw Error(e.kind(), std::string(e.what()) + "; undoing the migrations it ran failed too: " + undo.what());
        }
      }
      throw;
    }
  } else if (fs::exists(set / kDatabaseName)) {
    const fs::path incoming = database.parent_path() / (".lunadb-restore-" + name + ".db");
    copy_file_durably(set / kDatabaseName, incoming);
    if (fs::exists(database)) {
      // The old WAL must not be applied to the new file: fold it into the old one and drop it.
      detail::SqliteFile(database, false).checkpoint_truncate();
      fs::remove(database.string() + "-wal");
      fs::remove(database.string() + "-shm");
    }
    fs::rename(incoming, database);
    vector::detail::fsync_directory(database.parent_path());
  }
  if (m.has_vectors) {
    fs::create_directories(store.parent_path());
    const fs::path incoming = store.parent_path() / (".lunadb-restore-" + name + "-vectors");
    copy_tree_durably(set / kVectorsFolder, incoming);
    if (fs::exists(store)) {
      const fs::path replaced = store.parent_path() / (".lunadb-replaced-" + name + "-vectors");
      fs::rename(store, replaced);
      fs::rename(incoming, store);
      vector::detail::fsync_directory(store.parent_path());
      store_lock.reset();
      remove_quietly(replaced);
    } else {
      fs::rename(incoming, store);
      vector::detail::fsync_directory(store.parent_path());
    }
  }

  if (logical) {
    // Read back from the database: counts and the backend-neutral checksums of the dump.
    for (const auto& table : loaded) {
      const auto [rows, sha] = detail::digest_table(*target, table);
      result.rows[table.name] = rows;
      const auto it = std::find_if(m.dump.begin(), m.dump.end(), [&](const DumpedTableInfo& t) { return t.name == table.name; });
      if (it != m.dump.end() && rows == it->rows && sha != it->sha256) {
        result.differences.push_back(fmt::format("table {}: the restored rows do not match the set's checksum", table.name));
      }
    }
    result.rows[detail::alembic_version_table().name] = migrator->current().size();
  } else if (fs::exists(database)) {
    result.rows = detail::SqliteFile(database, true).count_rows();
  }
  if (m.has_vectors) result.collections = count_collections(detail::SqliteFile(records, true));
  for (const auto& [table, rows] : m.rows) {
    const auto it = result.rows.find(table);
    const std::uint64_t got = it == result.rows.end() ? 0 : it->second;
    if (got != rows) result.differences.push_back(fmt::format("table {}: {} rows restored, the manifest says {}", table, got, rows));
  }
  for (const auto& expected : m.collections) {
    auto it = std::find_if(result.collections.begin(), result.collections.end(), [&](const CollectionCount& c) { return c.name == expected.name; });
    const std::uint64_t got = it == result.collections.end() ? 0 : it->records;
    if (got != expected.records) {
      result.differences.push_back(fmt::format("collection {}: {} records restored, the manifest says {}", expected.name, got, expected.records));
    }
  }
  return result;
}

}  // namespace lunadb::backup
