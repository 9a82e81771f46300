#pragma once
// Backups of a Luna store: the relational database and the vector store copied at one moment
// into a backup *set* (a folder `luna-YYYYMMDD-HHMMSS` with a manifest of counts and SHA-256
// checksums), verified, pruned, and restored so that the target is either the old store or the
// restored one, never a mix. docs/backup.md describes the set format and each guarantee.
//
// Backends: an SQLite database is copied as a file (SQLite's online backup API); a server
// database (PostgreSQL, MySQL/MariaDB, SQL Server) is dumped logically, table by table in one
// snapshot transaction, compressed and backend-neutral, so that it restores into any backend.
// The embedded vector store is copied beside either.
//
// Thread-safety: the functions may be called from any thread. create_backup holds the backup
// folder's lock file (flock) while it writes and prunes: a second backup into the same folder
// meanwhile, from a thread or a process, fails with Error(busy) and changes nothing. The live store
// may be written by other threads and processes throughout a backup. restore_backup must not run
// while anything else uses the target (it holds the vector store's lock; stop Luna first).

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "lunadb/config.hpp"

namespace lunadb::backup {

// The highest manifest format this lunadb reads; a set written by a newer lunadb is refused.
// Format 1: an SQLite file set. Format 2: a set holding a logical dump (`dump` below).
inline constexpr int kManifestFormat = 2;

struct CollectionCount {
  std::string name;
  std::uint64_t records = 0;
  std::int64_t last_seq = 0;  // the highest sequence number the copy holds for the collection
};

struct ManifestFile {
  std::string path;  // relative to the set, '/'-separated
  std::uint64_t bytes = 0;
  std::string sha256;  // lower-case hex
};

// One table of a logical dump: `file` relative to the set, the rows it holds and their
// backend-neutral SHA-256 (the checksum `copy` uses), equal whichever backend reads them.
struct DumpedTableInfo {
  std::string name;
  std::string file;
  std::uint64_t rows = 0;
  std::string sha256;
};

struct Manifest {
  int format = 1;
  std::string lunadb_version;
  std::string created_at;  // UTC, ISO 8601
  std::string backend;     // "sqlite", "postgresql", "mysql", "mssql": where the rows came from
  std::string revision;    // alembic_version of the copy ("" when none)
  std::map<std::string, std::uint64_t> rows;  // per table
  bool has_vectors = false;
  std::vector<CollectionCount> collections;
  std::vector<DumpedTableInfo> dump;  // a server database's logical dump, in load order; empty for SQLite
  std::string native_dump;            // e.g. "database/pg_dump.custom" when --native wrote one
  std::vector<ManifestFile> files;
};

struct BackupOptions {
  std::filesystem::path directory;  // empty: <LUNA_DATA_DIR>/backups
  std::size_t keep = 7;             // complete sets kept after pruning (at least 1)
  bool daily = false;               // do nothing when a set of today (UTC) exists
  bool native = false;              // PostgreSQL: also `pg_dump -Fc` of the same snapshot, when installed
  std::function<void(const std::string&)> progress;  // one line per step, when set
};

struct BackupResult {
  bool written = false;  // false: --daily found today's set
  std::filesystem::path set;
  Manifest manifest;
  std::vector<std::filesystem::path> pruned;
  std::uint64_t bytes = 0;
  std::vector<std::string> notes;  // things the user should know, e.g. "pg_dump is not installed"
};

// Takes a backup set of the configured store. A server database must be at head (the dump is
// of the schema this lunadb knows). Error(connection) naming DB_URL (redacted) when the server
// cannot be reached, Error(io) naming the file for a write failure (a full disk): the partial
// set is removed.
BackupResult create_backup(const Settings& settings, const BackupOptions& options);

struct SetInfo {
  std::filesystem::path folder;
  std::string name;
  std::optional<Manifest> manifest;  // empty when the manifest cannot be read
  std::string problem;               // why not, when empty
};
// Complete sets in `directory` (never the partial ones), oldest first.
std::vector<SetInfo> list_backups(const std::filesystem::path& directory);

// Checks every file's size and SHA-256 against the manifest, then opens each part (SQLite
// integrity_check and foreign_key_check, row and record counts). Throws Error(corrupt) naming
// the file at fault, Error(unsupported) for a manifest of a newer format. Returns the manifest.
Manifest verify_backup(const std::filesystem::path& set);

struct RestoreOptions {
  bool force = false;  // overwrite a non-empty database / vector store
  std::function<void(const std::string&)> progress;  // one line per step, when set
};
struct RestoreResult {
  Manifest manifest;
  std::map<std::string, std::uint64_t> rows;  // counted in the restored database
  std::vector<CollectionCount> collections;   // counted in the restored vector store
  std::vector<std::string> differences;       // against the manifest; empty when equal
};
// Verifies `set`, then replaces the configured database and vector store with it. An SQLite
// file set restores into SQLite (by rename: old or new, never a mix); a logical dump restores
// into any backend, in one transaction (old rows or new), at the set's revision: an empty
// database is first brought to it, one at another revision is refused naming both; ids are kept
// and identities advanced. Error(usage) naming what is there when the target is not empty and
// !force; Error(busy) when the vector store is open in another process.
RestoreResult restore_backup(const Settings& settings, const std::filesystem::path& set, const RestoreOptions& options);

// `lunadb copy --to URL`: every row of the configured database into another backend's database
// (SQLite, PostgreSQL, MySQL/MariaDB; SQL Server through ODBC, untested here). The source must be
// at head; the target must be empty (absent tables, or only the rows migrations write) and at no
// revision or the source's; an empty target is first upgraded to the source's revision. Rows are
// read in one snapshot of the source and written in ONE target transaction (COPY on
// PostgreSQL, multi-row INSERTs elsewhere) with their ids; identities are then advanced past the
// highest id. An interrupted copy therefore commits nothing and a rerun starts over.
// Verified by reading the target back: per-table counts and SHA-256 of the rows in a
// backend-neutral text form. Error(usage) naming the counts for a non-empty target,
// Error(migration) naming both revisions for a target at another revision.
struct CopyOptions {
  std::string target_url;        // a DB_URL-style URL; its password never appears in messages
  std::size_t batch_rows = 1000;
  std::function<void(const std::string&)> progress;  // one line per step, when set
};
struct CopyResult {
  struct Table {
    std::string name;
    std::uint64_t rows = 0;
    std::string sha256;
  };
  std::string revision;
  std::vector<Table> tables;
  std::vector<std::string> differences;  // empty when the target reads back equal
  double seconds = 0;
};
CopyResult copy_database(const Settings& settings, const CopyOptions& options);

}  // namespace lunadb::backup
