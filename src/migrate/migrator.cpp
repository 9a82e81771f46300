#include <fmt/format.h>

#include <algorithm>
#include <fstream>
#include <optional>
#include <thread>
#include <chrono>

#include "lunadb/error.hpp"
#include "lunadb/migrate.hpp"
#include "migrate/autogenerate.hpp"
#include "migrate/adoption.hpp"
#include "migrate/operations.hpp"
#include "migrate/revision_set.hpp"
#include "schema/model.hpp"
#include "sql/dialect.hpp"
#include "sql/driver.hpp"

namespace lunadb::migrate {
namespace {

// How long a server-backend run waits for another process's migration run to finish.
constexpr double kMigrationLockTimeoutS = 300;

std::string quote_literal(std::string_view id) { return "'" + std::string(id) + "'"; }

VersionStatement insert_version(const std::string& id) {
  return {"INSERT INTO alembic_version (version_num) VALUES (" + quote_literal(id) + ")", false, "", id};
}
VersionStatement update_version(const std::string& from, const std::string& to) {
  return {"UPDATE alembic_version SET version_num=" + quote_literal(to) + " WHERE alembic_version.version_num = " + quote_literal(from),
          true, from, to};
}
VersionStatement delete_version(const std::string& id) {
  return {"DELETE FROM alembic_version WHERE alembic_version.version_num = " + quote_literal(id), true, id, ""};
}

bool contains(const std::vector<std::string>& items, const std::string& item) {
  return std::find(items.begin(), items.end(), item) != items.end();
}

// Alembic's HeadMaintainer transitions: the rows are always the maximal applied revisions.
std::vector<VersionStatement> upgrade_transition(const Revision& revision, const std::vector<std::string>& rows) {
  std::vector<std::string> replaced;
  for (auto& parent : revision.down_revisions)
    if (contains(rows, parent)) replaced.push_back(parent);
  if (replaced.empty()) return {insert_version(revision.id)};
  std::vector<VersionStatement> out;
  for (std::size_t i = 0; i + 1 < replaced.size(); ++i) out.push_back(delete_version(replaced[i]));
  out.push_back(update_version(replaced.back(), revision.id));
  return out;
}

std::vector<VersionStatement> downgrade_transition(const RevisionSet& set, const Revision& revision, const RevisionIds& applied) {
  RevisionIds remaining = applied;
  remaining.erase(revision.id);
  std::vector<std::string> uncovered;
  for (auto& parent : revision.down_revisions) {
    if (!remaining.count(parent)) continue;
    auto kids = set.children(parent);
    bool still_covered = std::any_of(kids.begin(), kids.end(), [&](const std::string& k) { return remaining.count(k) > 0; });
    if (!still_covered) uncovered.push_back(parent);
  }
  if (uncovered.empty()) return {delete_version(revision.id)};
  std::vector<VersionStatement> out{update_version(revision.id, uncovered.front())};
  for (std::size_t i = 1; i < uncovered.size(); ++i) out.push_back(insert_version(uncovered[i]));
  return out;
}

std::string arrow(const std::vector<std::string>& from, const std::string& to) {
  return fmt::format("{} -> {}", fmt::join(from, ", "), to);
}

std::string running_line(Direction direction, const Revision& r, const std::vector<std::string>& downgrade_to = {}) {
  if (direction == Direction::upgrade) return fmt::format("Running upgrade {}, {}", arrow(r.down_revisions, r.id), r.message);
  return fmt::format("Running downgrade {} -> {}, {}", r.id, fmt::join(downgrade_to, ", "), r.message);
}

std::vector<std::string> read_rows(sql::Connection& c) {
  std::vector<std::string> rows;
  if (!c.dialect().table_exists(c, kVersionTable)) return rows;
  auto statement = c.prepare("SELECT version_num FROM alembic_version");
  while (statement->step()) rows.push_back(statement->get_text(0));
  std::sort(rows.begin(), rows.end());
  return rows;
}

void execute_version(sql::Connection& c, const VersionStatement& v) {
  std::int64_t matched = c.execute(v.sql);
  if (v.must_match_one && matched != 1) {
    throw Error(ErrorKind::migration,
                v.to.empty() ? fmt::format("Online migration expected to match one row when deleting '{}' in 'alembic_version'; {} found", v.from, matched)
                             : fmt::format("Online migration expected to match one row when updating '{}' to '{}' in 'alembic_version'; {} found",
                                           v.from, v.to, matched));
  }
}

// Server backends: one process migrates at a time. SQLite serialises with BEGIN IMMEDIATE.
class MigrationLock {
 public:
  explicit MigrationLock(sql::Connection& c) : c_(c), held_(c.backend() != Backend::sqlite) {
    if (held_) c_.dialect().acquire_migration_lock(c_, kMigrationLockTimeoutS);
  }
  ~MigrationLock() {
    if (held_) c_.dialect().release_migration_lock(c_);
  }
  MigrationLock(const MigrationLock&) = delete;
  MigrationLock& operator=(const MigrationLock&) = delete;

 private:
  sql::Connection& c_;
  bool held_;
};

// The dialect's before/after statements (SQLite: foreign keys off/on), outside any transaction.
class ForeignKeysOff {
 public:
  explicit ForeignKeysOff(sql::Connection& c) : c_(c) {
    for (auto& s : c_.dialect().before_migration()) c_.execute(s);
  }
  ~ForeignKeysOff() {
    try {
      if (c_.in_transaction()) c_.rollback();
      for (auto& s : c_.dialect().after_migration()) c_.execute(s);
    } catch (...) {
      // The connection is closed by the caller soon; foreign keys are per connection.
    }
  }
  ForeignKeysOff(const ForeignKeysOff&) = delete;
  ForeignKeysOff& operator=(const ForeignKeysOff&) = delete;

 private:
  sql::Connection& c_;
};

// Another process's migration run holds the write lock between its revisions and re-takes it at
// once; SQLite's busy handler is not fair, so waiting only DB_BUSY_TIMEOUT_MS could starve this run
// behind a long one. Keep retrying for as long as a server run waits for its migration lock.
void begin_waiting(sql::Connection& c) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(kMigrationLockTimeoutS);
  for (;;) {
    try {
      c.begin(sql::TransactionMode::write);
      return;
    } catch (const Error& e) {
      if (e.kind() != ErrorKind::busy || std::chrono::steady_clock::now() > deadline) throw;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

std::string numbered(const std::vector<std::string>& statements, std::size_t first, std::size_t end) {
  std::string out;
  for (std::size_t i = first; i < end; ++i) out += fmt::format("  {}. {}\n", i + 1, statements[i]);
  return out;
}

// Without transactional DDL every statement before the failing one has committed on its own
// (MySQL commits DDL implicitly), so the user must know exactly where the database now stands.
// `failed` is the index of the failing statement (statements.size(): the alembic_version update).
std::string non_transactional_report(const sql::Dialect& d, const std::vector<std::string>& statements, std::size_t failed,
                                     const std::vector<std::string>& rows) {
  const std::size_t total = statements.size();
  const char* name = d.backend() == Backend::mysql ? "MySQL" : d.backend() == Backend::mssql ? "SQL Server" : "this database's";
  std::string out = fmt::format("{} DDL is not transactional, so this revision is partly applied.\n", name);
  out += failed == 0 ? std::string("Applied and kept: none\n")
                     : fmt::format("Applied and kept ({} of {}):\n{}", failed, total, numbered(statements, 0, failed));
  if (failed < total) {
    out += fmt::format("Failed: {}. {}\n", failed + 1, statements[failed]);
    out += failed + 1 == total ? std::string("Not run: none\n")
                               : fmt::format("Not run ({} of {}):\n{}", total - failed - 1, total, numbered(statements, failed + 1, total));
  } else {
    out += "Failed: the alembic_version update after the last statement\n";
  }
  out += fmt::format("alembic_version still names {}. Undo the applied statements (or finish the revision) by hand "
                     "before retrying.",
                     rows.empty() ? std::string("no revision (base)") : fmt::format("{}", fmt::join(rows, ", ")));
  return out;
}

std::string_view trim(std::string_view s) {
  auto first = s.find_first_not_of(" \t");
  if (first == std::string_view::npos) return {};
  return s.substr(first, s.find_last_not_of(" \t") - first + 1);
}


// Writes a new revision on top of `heads` holding `diff`'s operations.
std::filesystem::path write_revision_file(const RevisionSet& set, const std::vector<std::string>& heads, std::string_view message,
                                          const SchemaDiff& diff, std::optional<std::string> compared_with,
                                          const std::filesystem::path& out_dir) {
  Revision revision;
  do {
    revision.id = new_revision_id();
  } while (set.find(revision.id));
  revision.down_revisions = heads;
  for (char ch : message) revision.message += (ch == '\n' || ch == '\r') ? ' ' : ch;
  revision.create_date = sql::format_timestamp(sql::now_utc());
  revision.upgrade = diff.upgrade;
  revision.downgrade = diff.downgrade;

  std::string text = format_revision(revision);
  std::string note;
  if (compared_with) {
    note = "# Generated by `lunadb revision --autogenerate` against " + *compared_with +
           "; review it before committing.\n"
           "# Renames are never guessed: a renamed table or column appears as a drop plus an add, which\n"
           "# loses its data. Rewrite such pairs by hand (for example with `sql <backend>: ...` lines).\n";
    if (diff.empty()) note += "# No differences were detected: this revision does nothing yet.\n";
  } else {
    note = "# Written by `lunadb revision`: add the operations by hand (docs/migrations.md).\n";
  }
  text.insert(text.find("\nupgrade:\n") + 1, note + "\n");

  std::filesystem::create_directories(out_dir);
  auto path = out_dir / (revision.id + "_" + slugify(revision.message) + ".rev");
  std::ofstream file(path, std::ios::binary | std::ios::trunc);
  file << text;
  file.flush();
  if (!file) throw Error(ErrorKind::io, "cannot write revision file " + path.string());
  return path;
}

std::vector<std::string> single_head_for_new_revision(const RevisionSet& set) {
  auto heads = set.heads();
  if (heads.size() > 1)
    throw Error(ErrorKind::migration,
                fmt::format("Multiple heads are present; please specify the head revision on which the new revision "
                            "should be based, or perform a merge. (heads: {})",
                            fmt::join(heads, ", ")));
  return heads;
}

}  // namespace

struct Migrator::Impl {
  std::optional<Settings> settings;
  sql::Connection* connection = nullptr;
  std::unique_ptr<sql::Connection> owned;
  std::shared_ptr<const RevisionSet> revisions;
  Log log;

  sql::Connection& conn() {
    if (!connection) {
      owned = sql::open_connection(settings->db, sql::connect_options_from(*settings));
      connection = owned.get();
    }
    return *connection;
  }

  const sql::Dialect& dialect() const { return connection ? connection->dialect() : sql::dialect_for(settings->db.backend); }

  void say(const std::string& line) const {
    if (log) log(line);
  }

  const RevisionSet& set() const { return *revisions; }

  void check_known(const std::vector<std::string>& rows) const {
    for (auto& row : rows)
      if (!set().find(row))
        throw Error(ErrorKind::migration,
                    fmt::format("database is at revision {}, which none of the known revisions ({}) contains; "
                                "use the lunadb that created it, or point LUNADB_MIGRATIONS_DIR at its revisions",
                                row, set().origin()));
  }

  // A database file that does not exist yet is at base; reading must not create it.
  bool sqlite_file_missing() const {
    if (connection || !settings || settings->db.backend != Backend::sqlite || settings->db.sqlite_in_memory()) return false;
    std::error_code ec;
    return !std::filesystem::exists(settings->db.database, ec);
  }

  // Runs one revision in one direction: renders every statement first (so a malformed operation
  // fails before anything runs), then executes them and the alembic_version change.
  void run_revision(sql::Connection& c, const Revision& r, Direction direction, const std::vector<std::string>& rows,
                    const RevisionIds& applied) {
    const auto& d = c.dialect();
    schema::Schema state = d.introspect(c);
    std::vector<std::string> statements;
    for (auto& op : direction == Direction::upgrade ? r.upgrade : r.downgrade) {
      auto more = render_operation(op, r, state, d);
      statements.insert(statements.end(), more.begin(), more.end());
    }
    auto versions = direction == Direction::upgrade ? upgrade_transition(r, rows) : downgrade_transition(set(), r, applied);
    const char* verb = direction == Direction::upgrade ? "upgrade" : "downgrade";
    std::size_t done = 0;
    try {
      for (; done < statements.size(); ++done) c.execute(statements[done]);
      // Without transactional DDL the statements have committed one by one; the alembic_version
      // rows (plain DML, transactional on InnoDB) still change together, so a merge's DELETE +
      // UPDATE never half-happens.
      std::optional<sql::Transaction> version_change;
      if (!d.transactional_ddl()) version_change.emplace(c, sql::TransactionMode::write);
      for (auto& v : versions) execute_version(c, v);
      d.check_foreign_keys(c);
      if (version_change) version_change->commit();
    } catch (const Error& e) {
      std::string where = done < statements.size() ? fmt::format("statement {} of {}:\n  {}\n", done + 1, statements.size(), statements[done])
                                                   : std::string("the alembic_version update or the foreign key check\n");
      std::string outcome = d.transactional_ddl() ? std::string("The revision was rolled back; the database is unchanged.")
                                                  : non_transactional_report(d, statements, done, rows);
      std::string message = fmt::format("{} {} ({}) failed at {}{}\n{}", verb, r.id, r.source, where, e.what(), outcome);
      if (auto* db = dynamic_cast<const DatabaseError*>(&e))
        throw DatabaseError(db->kind(), message, {db->backend(), db->native_code(), db->connection_usable(), db->retryable()});
      throw Error(e.kind(), message);
    }
  }

  // stamp's work, while the caller holds the MigrationLock.
  void stamp_locked(std::string_view target, bool purge) {
    auto new_rows = set().heads_of(set().position(target));
    sql::Connection& c = conn();
    sql::Transaction tx(c, sql::TransactionMode::write);
    auto rows = read_rows(c);
    if (!purge) check_known(rows);
    if (!c.dialect().table_exists(c, kVersionTable)) c.execute(create_version_table_sql());
    c.execute("DELETE FROM alembic_version");
    for (auto& id : new_rows) execute_version(c, insert_version(id));
    tx.commit();
    say(fmt::format("Running stamp_revision {} -> {}", fmt::join(rows, ", "), fmt::join(new_rows, ", ")));
  }

  // The common loop of upgrade and downgrade, run while the caller holds the MigrationLock: each
  // step re-reads alembic_version inside its own write transaction, so a revision another process
  // applied meanwhile is skipped, not repeated.
  template <class NextStep>
  std::vector<std::string> run(Direction direction, NextStep next_step) {
    sql::Connection& c = conn();
    std::vector<std::string> done;
    for (;;) {
      ForeignKeysOff foreign_keys_off(c);
      bool transactional = c.dialect().transactional_ddl();
      if (transactional) begin_waiting(c);
      auto rows = read_rows(c);
      check_known(rows);
      RevisionIds applied = set().with_ancestors(RevisionIds(rows.begin(), rows.end()));
      std::optional<std::string> next = next_step(applied);
      if (!next) {
        if (transactional) c.rollback();
        break;
      }
      const Revision& r = set().get(*next);
      if (direction == Direction::upgrade) {
        say(running_line(direction, r));
        if (!c.dialect().table_exists(c, kVersionTable)) c.execute(create_version_table_sql());
      } else {
        RevisionIds after = applied;
        after.erase(r.id);
        std::vector<std::string> to;
        for (auto& p : r.down_revisions)
          if (after.count(p)) to.push_back(p);
        say(running_line(direction, r, to));
      }
      run_revision(c, r, direction, rows, applied);
      if (transactional) c.commit();
      done.push_back(r.id);
    }
    return done;
  }
};

Migrator::Migrator(const Settings& settings, Log log) : impl_(std::make_unique<Impl>()) {
  impl_->settings = settings;
  impl_->revisions = std::make_shared<const RevisionSet>(RevisionSet::for_settings(settings));
  impl_->log = std::move(log);
}

Migrator::Migrator(sql::Connection& connection, std::shared_ptr<const RevisionSet> revisions, Log log)
    : impl_(std::make_unique<Impl>()) {
  impl_->connection = &connection;
  impl_->revisions = std::move(revisions);
  impl_->log = std::move(log);
}

Migrator::~Migrator() = default;

std::string Migrator::revisions_origin() const { return impl_->set().origin(); }

std::vector<std::string> Migrator::heads() const { return impl_->set().heads(); }

Adoption Migrator::inspect_adoption() {
  sql::Connection& c = impl_->conn();
  return migrate::inspect_adoption(c, impl_->set(), read_rows(c));
}

Adoption Migrator::adopt() {
  sql::Connection& c = impl_->conn();
  MigrationLock lock(c);
  Adoption adoption = migrate::inspect_adoption(c, impl_->set(), read_rows(c));
  if (adoption.state == Adoption::State::adoptable) impl_->stamp_locked(adoption.revision, false);
  return adoption;
}

std::vector<std::string> Migrator::upgrade(std::string_view target) {
  if (target.find(':') != std::string_view::npos)
    throw Error(ErrorKind::usage, fmt::format("Range revision not allowed: '{}' (a START:END range works only with --sql)", target));
  const RevisionSet& set = impl_->set();
  sql::Connection& c = impl_->conn();
  // Held from the first look on: without transactional DDL (MySQL) another process's upgrade that
  // is half way through revision 001 shows Luna's tables without an alembic_version row, which
  // must not be mistaken for a database create_all() made.
  MigrationLock lock(c);
  auto rows = read_rows(c);
  if (rows.empty()) {
    // A database Luna's create_all() made has its tables but no alembic_version: creating them
    // again would fail on the first one, so it is taken over first.
    const Adoption adoption = migrate::inspect_adoption(c, set, rows);
    // SQLite takes no lock for this first look: another run may have committed its first revision
    // (tables and version row together) between the two reads, and then its row decides.
    if (c.backend() == Backend::sqlite && adoption.state != Adoption::State::adoptable) {
      if (auto again = read_rows(c); !again.empty()) rows = std::move(again);
    }
    if (rows.empty() && adoption.state == Adoption::State::mismatch) {
      throw Error(ErrorKind::migration,
                  fmt::format("the database has Luna's tables but no alembic_version, and it differs from Luna's schema:\n  {}\n"
                              "nothing was changed; `lunadb adopt` shows the same report",
                              fmt::join(adoption.differences, "\n  ")));
    }
    if (rows.empty() && adoption.state == Adoption::State::adoptable) {
      impl_->say(fmt::format("Adopting a database made by Luna's create_all(): it matches revision {}", adoption.revision));
      impl_->stamp_locked(adoption.revision, false);
      rows = read_rows(c);
    }
  }
  impl_->check_known(rows);
  // Relative targets (+N) are fixed against the state before the run.
  RevisionIds goal = set.upgrade_goal(target, set.with_ancestors(RevisionIds(rows.begin(), rows.end())));
  return impl_->run(Direction::upgrade, [&](const RevisionIds& applied) -> std::optional<std::string> {
    RevisionIds todo;
    for (auto& id : goal)
      if (!applied.count(id)) todo.insert(id);
    if (todo.empty()) return std::nullopt;
    return set.topological(todo).front();
  });
}

std::vector<std::string> Migrator::downgrade(std::string_view target) {
  if (target.find(':') != std::string_view::npos)
    throw Error(ErrorKind::usage, fmt::format("Range revision not allowed: '{}' (a START:END range works only with --sql)", target));
  const RevisionSet& set = impl_->set();
  sql::Connection& c = impl_->conn();
  MigrationLock lock(c);
  auto rows = read_rows(c);
  impl_->check_known(rows);
  RevisionIds removal = set.downgrade_removal(target, set.with_ancestors(RevisionIds(rows.begin(), rows.end())));
  return impl_->run(Direction::downgrade, [&](const RevisionIds& applied) -> std::optional<std::string> {
    RevisionIds todo;
    for (auto& id : removal)
      if (applied.count(id)) todo.insert(id);
    if (todo.empty()) return std::nullopt;
    return set.topological(todo).back();
  });
}

std::vector<std::string> Migrator::current() {
  if (impl_->sqlite_file_missing()) return {};
  auto rows = read_rows(impl_->conn());
  impl_->check_known(rows);
  return rows;
}

std::vector<RevisionSummary> Migrator::history(bool indicate_current) {
  const RevisionSet& set = impl_->set();
  std::vector<std::string> rows;
  if (indicate_current) rows = current();
  RevisionIds applied_heads(rows.begin(), rows.end());
  auto heads = set.heads();
  std::vector<RevisionSummary> out;
  for (auto& id : set.newest_first()) {
    const Revision& r = set.get(id);
    out.push_back({r.id, r.down_revisions, r.message, r.create_date, contains(heads, id), set.is_branch_point(id),
                   applied_heads.count(id) > 0});
  }
  return out;
}

void Migrator::stamp(std::string_view target, bool purge) {
  if (target.find(':') != std::string_view::npos)
    throw Error(ErrorKind::usage, fmt::format("Range revision not allowed: '{}' (a START:END range works only with --sql)", target));
  MigrationLock lock(impl_->conn());
  impl_->stamp_locked(target, purge);
}

std::string Migrator::offline_sql(std::string_view range, Direction direction) {
  const RevisionSet& set = impl_->set();
  std::string start = "base";
  std::string end(trim(range));
  auto colon = range.find(':');
  if (colon != std::string_view::npos) {
    start = std::string(trim(range.substr(0, colon)));
    end = std::string(trim(range.substr(colon + 1)));
    if (range.find(':', colon + 1) != std::string_view::npos)
      throw Error(ErrorKind::usage, fmt::format("revision range '{}' has more than one ':' (expected START:END)", range));
    if (start.empty()) start = "base";
  } else if (direction == Direction::downgrade) {
    throw Error(ErrorKind::usage, "downgrade with --sql requires <fromrev>:<torev>");
  }
  if (end.empty()) throw Error(ErrorKind::usage, fmt::format("revision range '{}' has no end revision", range));

  const sql::Dialect& d = impl_->dialect();
  RevisionIds applied = set.position(start);
  schema::Schema state;
  for (auto& id : set.topological(applied))
    for (auto& op : set.get(id).upgrade) render_operation(op, set.get(id), state, d);
  std::vector<std::string> rows = set.heads_of(applied);

  const std::string terminator = d.statement_terminator();
  std::string out;
  auto emit = [&](const std::string& statement) { out += statement + terminator + "\n\n"; };
  for (auto& s : d.before_migration()) emit(s);
  if (d.transactional_ddl()) emit(d.begin_transaction_statement());

  if (direction == Direction::upgrade) {
    if (applied.empty()) emit(create_version_table_sql());
    RevisionIds goal = set.upgrade_goal(end, applied);
    RevisionIds todo;
    for (auto& id : goal)
      if (!applied.count(id)) todo.insert(id);
    for (auto& id : set.topological(todo)) {
      const Revision& r = set.get(id);
      out += "-- " + running_line(direction, r) + "\n\n";
      for (auto& op : r.upgrade)
        for (auto& s : render_operation(op, r, state, d)) emit(s);
      for (auto& v : upgrade_transition(r, rows)) emit(v.sql);
      applied.insert(id);
      rows = set.heads_of(applied);
    }
  } else {
    RevisionIds removal = set.downgrade_removal(end, applied);
    auto order = set.topological(removal);
    std::reverse(order.begin(), order.end());
    for (auto& id : order) {
      const Revision& r = set.get(id);
      RevisionIds after = applied;
      after.erase(id);
      std::vector<std::string> to;
      for (auto& p : r.down_revisions)
        if (after.count(p)) to.push_back(p);
      out += "-- " + running_line(direction, r, to) + "\n\n";
      for (auto& op : r.downgrade)
        for (auto& s : render_operation(op, r, state, d)) emit(s);
      for (auto& v : downgrade_transition(set, r, applied)) emit(v.sql);
      applied = std::move(after);
      rows = set.heads_of(applied);
    }
    if (applied.empty()) emit(drop_version_table_sql());
  }
  if (d.transactional_ddl()) emit("COMMIT");
  for (auto& s : d.after_migration()) emit(s);
  return out;
}

std::filesystem::path Migrator::autogenerate(std::string_view message, const std::filesystem::path& out_dir) {
  const RevisionSet& set = impl_->set();
  auto heads = single_head_for_new_revision(set);
  sql::Connection& c = impl_->conn();
  auto rows = read_rows(c);
  impl_->check_known(rows);
  if (rows != heads)
    throw Error(ErrorKind::migration,
                fmt::format("Target database is not up to date: it is at {} but the revisions' head is {}; run `lunadb upgrade head` first",
                            rows.empty() ? "base" : fmt::format("{}", fmt::join(rows, ", ")),
                            heads.empty() ? "base" : heads.front()));
  schema::Schema live = c.dialect().introspect(c);
  SchemaDiff diff = compare_schemas(live, schema::luna_schema(), c.dialect());

  auto path = write_revision_file(set, heads, message, diff, to_string(c.backend()), out_dir);
  for (auto& line : diff.differences) impl_->say("Detected " + line);
  impl_->say(fmt::format("Generating {} ... done", path.string()));
  return path;
}

std::filesystem::path Migrator::create_revision(std::string_view message, const std::filesystem::path& out_dir) {
  auto heads = single_head_for_new_revision(impl_->set());
  auto path = write_revision_file(impl_->set(), heads, message, SchemaDiff{}, std::nullopt, out_dir);
  impl_->say(fmt::format("Generating {} ... done", path.string()));
  return path;
}

std::vector<std::string> Migrator::check() {
  DbUrl url;
  url.backend = Backend::sqlite;
  url.dialect = "sqlite";
  url.database = ":memory:";
  auto memory = sql::open_connection(url, sql::ConnectOptions{});
  if (!impl_->set().empty()) {
    Migrator at_head(*memory, impl_->revisions);
    at_head.upgrade("heads");
  }
  schema::Schema live = memory->dialect().introspect(*memory);
  return compare_schemas(live, schema::luna_schema(), memory->dialect()).differences;
}

}  // namespace lunadb::migrate
