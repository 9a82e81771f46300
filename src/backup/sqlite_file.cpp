#include "backup/sqlite_file.hpp"

#include <sqlite3.h>

#include <memory>
#include <vector>

#include "lunadb/error.hpp"
#include "vector/io.hpp"

namespace lunadb::backup::detail {
namespace {

[[noreturn]] void fail(ErrorKind kind, const std::filesystem::path& file, const std::string& what, sqlite3* db, int rc) {
  const std::string message = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  throw Error(kind, file.string() + ": " + what + ": " + message + " (SQLite code " + std::to_string(rc) + ")");
}

ErrorKind kind_of(int rc) {
  switch (rc & 0xff) {
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB: return ErrorKind::corrupt;
    case SQLITE_BUSY:
    case SQLITE_LOCKED: return ErrorKind::busy;
    default: return ErrorKind::io;
  }
}

struct StatementDeleter {
  void operator()(sqlite3_stmt* st) const { sqlite3_finalize(st); }
};
using Statement = std::unique_ptr<sqlite3_stmt, StatementDeleter>;

Statement prepare(sqlite3* db, const std::filesystem::path& file, const std::string& sql) {
  sqlite3_stmt* st = nullptr;
  const int rc = sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr);
  if (rc != SQLITE_OK) fail(kind_of(rc), file, "cannot run '" + sql + "'", db, rc);
  return Statement(st);
}

std::string quote_identifier(const std::string& name) {
  std::string out = "\"";
  for (char c : name) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

}  // namespace

SqliteFile::SqliteFile(const std::filesystem::path& file, bool read_only) : file_(file) {
  const int flags = read_only ? SQLITE_OPEN_READONLY : (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
  const int rc = sqlite3_open_v2(file.c_str(), &db_, flags | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    std::string message = db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
    sqlite3_close(db_);
    db_ = nullptr;
    throw Error(kind_of(rc), file.string() + ": cannot open: " + message + " (SQLite code " + std::to_string(rc) + ")");
  }
  sqlite3_busy_timeout(db_, 10000);
  sqlite3_extended_result_codes(db_, 1);
  // Reading the schema is where a file that is not a database shows it.
  try {
    (void)scalar("SELECT count(*) FROM sqlite_master");
  } catch (...) {
    sqlite3_close(db_);
    db_ = nullptr;
    throw;
  }
}

SqliteFile::~SqliteFile() { sqlite3_close(db_); }

void SqliteFile::copy_to(const std::filesystem::path& target, Sync sync) const {
  sqlite3* out = nullptr;
  int rc = sqlite3_open_v2(target.c_str(), &out, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    sqlite3_close(out);
    throw Error(ErrorKind::io, target.string() + ": cannot create the copy: " + sqlite3_errstr(rc));
  }
  std::unique_ptr<sqlite3, int (*)(sqlite3*)> guard(out, sqlite3_close);
  sqlite3_busy_timeout(out, 10000);
  // The copy is a new file that nothing reads until it has been checked and fsynced whole (below,
  // or by the caller): SQLite's own syncs at the commit and at the journal-mode change would
  // only wait for the disk twice more.
  char* error = nullptr;
  rc = sqlite3_exec(out, "PRAGMA synchronous=OFF", nullptr, nullptr, &error);
  sqlite3_free(error);
  if (rc != SQLITE_OK) fail(kind_of(rc), target, "cannot set synchronous=OFF on the copy", out, rc);
  sqlite3_backup* copy = sqlite3_backup_init(out, "main", db_, "main");
  if (!copy) fail(ErrorKind::io, target, "cannot start the online copy", out, sqlite3_errcode(out));
  // -1: every page in one step, inside one read transaction of the source (a consistent copy;
  // stepping in pieces would restart whenever another process commits).
  rc = sqlite3_backup_step(copy, -1);
  const int finish = sqlite3_backup_finish(copy);
  if (rc != SQLITE_DONE) fail(kind_of(rc), file_, "online copy to " + target.string() + " failed", nullptr, rc);
  if (finish != SQLITE_OK) fail(kind_of(finish), target, "online copy failed", out, finish);
  // A copy is one self-contained file: no WAL beside it.
  rc = sqlite3_exec(out, "PRAGMA journal_mode=DELETE", nullptr, nullptr, &error);
  sqlite3_free(error);
  if (rc != SQLITE_OK) fail(kind_of(rc), target, "cannot set journal_mode of the copy", out, rc);
  guard.reset();
  if (sync == Sync::now) {
    vector::detail::fsync_file(target);
  } else {
    vector::detail::start_writeback(target);
  }
}

void SqliteFile::pin_snapshot() const {
  char* error = nullptr;
  const int rc = sqlite3_exec(db_, "BEGIN", nullptr, nullptr, &error);
  sqlite3_free(error);
  if (rc != SQLITE_OK) fail(kind_of(rc), file_, "cannot begin a read transaction", db_, rc);
  // A deferred transaction takes its snapshot at its first read.
  (void)scalar("SELECT count(*) FROM sqlite_master");
}

namespace {

// Runs a checking pragma; Error(corrupt) with the first problems it reports.
void run_check(sqlite3* db, const std::filesystem::path& file, const std::string& pragma, bool ok_is_single_ok) {
  auto st = prepare(db, file, pragma);
  std::vector<std::string> problems;
  int rc;
  while ((rc = sqlite3_step(st.get())) == SQLITE_ROW) {
    std::string row;
    for (int c = 0; c < sqlite3_column_count(st.get()); ++c) {
      const auto* text = sqlite3_column_text(st.get(), c);
      if (c) row += " ";
      row += text ? reinterpret_cast<const char*>(text) : "NULL";
    }
    if (ok_is_single_ok && row == "ok") continue;
    if (problems.size() < 5) problems.push_back(row);
  }
  if (rc != SQLITE_DONE) fail(ErrorKind::corrupt, file, pragma + " failed", db, rc);
  if (!problems.empty()) {
    std::string joined;
    for (const auto& p : problems) joined += (joined.empty() ? "" : "; ") + p;
    throw Error(ErrorKind::corrupt, file.string() + ": " + pragma + " reports: " + joined);
  }
}

}  // namespace

void SqliteFile::check_pages() const { run_check(db_, file_, "PRAGMA integrity_check", true); }
void SqliteFile::check_foreign_keys() const { run_check(db_, file_, "PRAGMA foreign_key_check", false); }

void SqliteFile::check_integrity() const {
  check_pages();
  check_foreign_keys();
}

std::map<std::string, std::uint64_t> SqliteFile::count_rows() const {
  std::vector<std::string> tables;
  {
    auto st = prepare(db_, file_, "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%' ORDER BY name");
    while (sqlite3_step(st.get()) == SQLITE_ROW) tables.emplace_back(reinterpret_cast<const char*>(sqlite3_column_text(st.get(), 0)));
  }
  std::map<std::string, std::uint64_t> out;
  for (const auto& table : tables) out[table] = std::stoull(scalar("SELECT count(*) FROM " + quote_identifier(table)));
  return out;
}

bool SqliteFile::has_table(const std::string& name) const {
  auto st = prepare(db_, file_, "SELECT 1 FROM sqlite_master WHERE type='table' AND name=?");
  sqlite3_bind_text(st.get(), 1, name.c_str(), -1, SQLITE_TRANSIENT);
  return sqlite3_step(st.get()) == SQLITE_ROW;
}

std::string SqliteFile::scalar(const std::string& sql) const {
  auto st = prepare(db_, file_, sql);
  const int rc = sqlite3_step(st.get());
  if (rc == SQLITE_DONE) return {};
  if (rc != SQLITE_ROW) fail(kind_of(rc), file_, "cannot run '" + sql + "'", db_, rc);
  const auto* text = sqlite3_column_text(st.get(), 0);
  return text ? reinterpret_cast<const char*>(text) : "";
}

void SqliteFile::checkpoint_truncate() const {
  const int rc = sqlite3_wal_checkpoint_v2(db_, nullptr, SQLITE_CHECKPOINT_TRUNCATE, nullptr, nullptr);
  if (rc != SQLITE_OK) fail(kind_of(rc), file_, "cannot checkpoint the WAL", db_, rc);
}

}  // namespace lunadb::backup::detail
