#pragma once
// The revision DAG (each revision names its parents in down_revision) and Alembic's target
// grammar over it: head, heads, base, full or partial ids, +N / -N and REV+N / REV-N.
//
// Thread-safety: immutable after construction; safe to share between threads.

#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "lunadb/config.hpp"
#include "migrate/revision_file.hpp"

namespace lunadb::migrate {

using RevisionIds = std::set<std::string>;

class RevisionSet {
 public:
  // Validates: unique ids, every down_revision known, no cycle. `origin` describes where the
  // files came from ("embedded" or "LUNADB_MIGRATIONS_DIR=/path") for error messages.
  RevisionSet(std::vector<Revision> revisions, std::string origin);

  // Every *.rev file compiled into the binary.
  static RevisionSet embedded();
  // Every *.rev file directly inside `dir`. Throws Error(config) naming LUNADB_MIGRATIONS_DIR
  // when the folder does not exist.
  static RevisionSet from_directory(const std::filesystem::path& dir);
  // LUNADB_MIGRATIONS_DIR when set, the embedded files otherwise.
  static RevisionSet for_settings(const Settings& settings);

  const std::string& origin() const { return origin_; }
  bool empty() const { return revisions_.empty(); }
  std::size_t size() const { return revisions_.size(); }
  const Revision* find(std::string_view id) const;
  const Revision& get(std::string_view id) const;  // throws Error(internal) when unknown

  std::vector<std::string> heads() const;     // revisions without children, sorted
  std::vector<std::string> bases() const;     // revisions without parents, sorted
  std::vector<std::string> children(std::string_view id) const;
  bool is_branch_point(std::string_view id) const { return children(id).size() > 1; }

  // A full id or a unique prefix of one. Throws Error(not_found) "No such revision ..." or
  // Error(usage) "Multiple revisions start with ...".
  std::string resolve_id(std::string_view partial) const;

  // `ids` plus all their ancestors.
  RevisionIds with_ancestors(const RevisionIds& ids) const;
  // All strict descendants of `id`.
  RevisionIds descendants(std::string_view id) const;
  // The maximal elements of an ancestor-closed set: what alembic_version holds for it.
  std::vector<std::string> heads_of(const RevisionIds& applied) const;
  // Parents before children; ties broken by create date, then id, so the order is stable.
  std::vector<std::string> topological(const RevisionIds& ids) const;
  // Every revision, children before parents (history order).
  std::vector<std::string> newest_first() const;

  // ---- Alembic target grammar ----
  // The set of revisions that must be applied after `upgrade target`, given the currently
  // applied (ancestor-closed) set. Accepts head, heads, base, REV (partial), +N, REV+N, REV-N.
  RevisionIds upgrade_goal(std::string_view target, const RevisionIds& applied) const;
  // The set of revisions to remove for `downgrade target`: base, REV (partial), -N, REV-N.
  RevisionIds downgrade_removal(std::string_view target, const RevisionIds& applied) const;
  // The ancestor-closed set a `stamp`/range endpoint denotes: base, head, heads, REV, REV+N, REV-N.
  RevisionIds position(std::string_view target) const;

 private:
  std::string single_head(std::string_view argument) const;
  // N revisions up from `applied` (one candidate per step, else ambiguous).
  RevisionIds step_up(RevisionIds applied, int n, std::string_view target) const;
  // Removes N maximal revisions from `applied` (one candidate per step, else ambiguous).
  RevisionIds step_down(RevisionIds applied, int n, std::string_view target) const;
  std::string unknown_revision_hint() const;

  std::map<std::string, Revision, std::less<>> revisions_;
  std::map<std::string, std::vector<std::string>, std::less<>> children_;
  std::string origin_;
};

// Splits "REV+N"/"+N"/"REV-N"/"-N" into the base part (may be empty) and the signed offset.
struct RelativeTarget {
  std::string base;
  int offset = 0;
};
std::optional<RelativeTarget> parse_relative(std::string_view target);

}  // namespace lunadb::migrate
