#pragma once
// The SQLite side of a backup: an online copy of a live database file, and checks of a copy.
// The sql component's driver has no backup API (it is SQLite's alone), so this talks to sqlite3
// directly, through a small RAII handle.

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>

struct sqlite3;

namespace lunadb::backup::detail {

class SqliteFile {
 public:
  // read_only opens without creating and never writes; Error(io/corrupt) naming the file.
  SqliteFile(const std::filesystem::path& file, bool read_only);
  ~SqliteFile();
  SqliteFile(const SqliteFile&) = delete;
  SqliteFile& operator=(const SqliteFile&) = delete;

  // Copies the whole database into `target` (a new file) in one step of the backup API: one read
  // transaction, so the copy is the database as of one commit while writers in other
  // connections and processes go on (WAL). With Sync::now the target is fsynced; with
  // Sync::later its writeback is only started, and the caller fsyncs it before relying on it (a
  // backup does, before its manifest), so the disk writes while the copy is being checked.
  enum class Sync { now, later };
  void copy_to(const std::filesystem::path& target, Sync sync = Sync::now) const;
  // Opens a read transaction and reads, so that this connection sees the database as of now
  // until it is closed: a copy_to() made later, on any thread, is still of this moment. A
  // backup pins the vector store's records this way before it takes the database's snapshot,
  // then copies both at once and keeps the order "records, then database" all the same.
  void pin_snapshot() const;
  // PRAGMA integrity_check and foreign_key_check; Error(corrupt) naming the file with the first
  // problems reported. The two halves apart, for running them on two connections at once.
  void check_integrity() const;
  void check_pages() const;        // PRAGMA integrity_check
  void check_foreign_keys() const;  // PRAGMA foreign_key_check
  std::map<std::string, std::uint64_t> count_rows() const;  // every table but sqlite_*
  bool has_table(const std::string& name) const;
  // The single value of a query returning one text or integer cell ("" when no row).
  std::string scalar(const std::string& sql) const;
  // Folds the WAL into the main file and truncates it (before the file is replaced).
  void checkpoint_truncate() const;
  sqlite3* handle() const { return db_; }
  const std::filesystem::path& path() const { return file_; }

 private:
  std::filesystem::path file_;
  sqlite3* db_ = nullptr;
};

}  // namespace lunadb::backup::detail
