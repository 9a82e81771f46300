#pragma once
// Schema migrations with Alembic's workflow and version table (docs/migrations.md).
//
//   lunadb::migrate::Migrator migrator(settings);
//   migrator.upgrade("head");
//
// Revisions come from the files compiled into the binary, or from LUNADB_MIGRATIONS_DIR.
// The database records the applied heads in `alembic_version`, exactly like Alembic.
// Each revision runs in one transaction together with its alembic_version change wherever the
// backend has transactional DDL (SQLite, PostgreSQL, SQL Server); concurrent runs never apply a
// revision twice (SQLite: BEGIN IMMEDIATE and a re-read of alembic_version; servers: the
// dialect's migration lock).
//
// Thread-safety: a Migrator is used by one thread at a time. Separate Migrators (each with its own
// connection) may run concurrently, also in separate processes.

#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "lunadb/config.hpp"

namespace lunadb {
namespace sql {
class Connection;
}
namespace migrate {

class RevisionSet;

struct RevisionSummary {
  std::string id;
  std::vector<std::string> down_revisions;  // empty for a first revision, several for a merge
  std::string message;
  std::string create_date;
  bool is_head = false;
  bool is_branch_point = false;
  bool is_current = false;  // only filled in by history(true)
};

enum class Direction { upgrade, downgrade };

// What `lunadb adopt` finds in a database (docs/migrations.md, "Taking over a Luna database").
struct Adoption {
  enum class State {
    managed,    // alembic_version names a revision: nothing to adopt
    empty,      // none of Luna's tables: an ordinary upgrade from base
    adoptable,  // Luna's tables without alembic_version, matching `revision`
    mismatch,   // Luna's tables, but `differences` stop lunadb from naming a revision
  };
  State state = State::empty;
  std::string revision;                  // adoptable: the matched revision; managed: the current rows
  std::vector<std::string> differences;  // mismatch: what differs from Luna's schema
  std::vector<std::string> notes;        // what is kept as it is (extra tables, columns, nullability)
};

class Migrator {
 public:
  // Receives progress lines such as "Running upgrade 1a2b -> 3c4d, add tasks".
  using Log = std::function<void(const std::string& line)>;

  // Revisions from settings.migrations_dir (LUNADB_MIGRATIONS_DIR) or the embedded files. The
  // database connection is opened on first need: offline_sql(), heads() and check() never open it.
  explicit Migrator(const Settings& settings, Log log = {});
  // Works on an open connection the caller owns (must outlive the Migrator).
  Migrator(sql::Connection& connection, std::shared_ptr<const RevisionSet> revisions, Log log = {});
  ~Migrator();
  Migrator(const Migrator&) = delete;
  Migrator& operator=(const Migrator&) = delete;

  // Alembic targets: head, heads, +N, REV, REV+N, a unique id prefix. Returns the revisions
  // applied, in order. A START:END range is refused (ErrorKind::usage), as in Alembic.
  std::vector<std::string> upgrade(std::string_view target);
  // Targets: base, -N, REV, REV-N. Returns the revisions undone, in order.
  std::vector<std::string> downgrade(std::string_view target);
  // The rows of alembic_version (the applied heads), sorted; empty at base.
  std::vector<std::string> current();
  // Every revision, newest first; with `indicate_current`, marks the database's rows.
  std::vector<RevisionSummary> history(bool indicate_current);
  std::vector<std::string> heads() const;
  // Writes alembic_version without running migrations (base empties it). Unless `purge`, the
  // database's current rows must be known revisions.
  void stamp(std::string_view target, bool purge = false);
  // Looks at a database that has no alembic_version: is it one that Luna's create_all() made, and
  // at which revision? Reads only.
  Adoption inspect_adoption();
  // inspect_adoption(), and when the database is adoptable, stamps the matched revision (no row is
  // read or changed). A mismatch is returned, not thrown; nothing is written then.
  Adoption adopt();
  // upgrade() adopts first, saying so through the log, when the database is adoptable, and refuses
  // a mismatch with Error(migration) listing the differences.

  // The SQL an upgrade (range "[START:]END") or downgrade (range "START:END", required) would run,
  // without touching any database.
  std::string offline_sql(std::string_view range, Direction direction);
  // Compares luna_schema() with the live database (which must be at the head) and writes a new
  // revision file into `out_dir`. Returns its path.
  std::filesystem::path autogenerate(std::string_view message, const std::filesystem::path& out_dir);
  // Writes an empty revision on top of the single head into `out_dir` (no database needed).
  std::filesystem::path create_revision(std::string_view message, const std::filesystem::path& out_dir);
  // Differences between luna_schema() and the schema the revisions produce at their head
  // (computed in an in-memory SQLite database). Empty: nothing to generate.
  std::vector<std::string> check();
  // "embedded" or "LUNADB_MIGRATIONS_DIR=/path".
  std::string revisions_origin() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace migrate
}  // namespace lunadb
