#pragma once
// lunadb's logical dump of a server database (PostgreSQL, MySQL/MariaDB, SQL Server): one
// gzip-compressed JSON-lines file per table, self-describing (its columns and their types come
// first, its row count and row checksum last), backend-neutral, written and read as a stream so
// that no table is ever held whole in memory. docs/backup.md gives the format.

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "schema/model.hpp"
#include "sql/driver.hpp"

namespace lunadb::backup::detail {

inline constexpr int kDumpFormat = 1;
inline constexpr const char* kDumpSuffix = ".jsonl.gz";

struct DumpedTable {
  std::string name;
  std::uint64_t rows = 0;
  std::string sha256;  // RowDigest of the rows (table_copy.hpp): equal on every backend
};

// alembic_version as a table, so that the dump holds it like any other.
const schema::Table& alembic_version_table();

// Writes `table`'s rows, read from `source` in pages, to `file` (created; fsynced). The caller
// holds the snapshot transaction. Error(io) naming the file when a write fails (a full disk).
DumpedTable dump_table(sql::Connection& source, const schema::Table& table, const std::filesystem::path& file);

// Reads a dump file: the table as its header describes it (name, columns, types, integer id
// key), then each row in order. Checks every line and the trailer's count and checksum;
// Error(corrupt) naming the file and line for anything else (truncated, damaged, not a dump).
class DumpReader {
 public:
  explicit DumpReader(const std::filesystem::path& file);
  ~DumpReader();
  DumpReader(const DumpReader&) = delete;
  DumpReader& operator=(const DumpReader&) = delete;

  const schema::Table& table() const { return table_; }
  // Calls `row` for every row, then checks the trailer; returns what was read.
  DumpedTable read_rows(const std::function<void(std::vector<sql::Value>&&)>& row);

 private:
  bool next_line(std::string& line);
  [[noreturn]] void corrupt(const std::string& what) const;

  std::filesystem::path file_;
  void* gz_ = nullptr;  // gzFile; zlib stays out of the header
  std::string buffer_;
  std::size_t buffer_pos_ = 0;
  bool eof_ = false;
  std::uint64_t line_number_ = 0;
  schema::Table table_;
};

}  // namespace lunadb::backup::detail
