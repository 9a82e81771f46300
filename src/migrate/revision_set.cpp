#include "migrate/revision_set.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <fstream>
#include <sstream>

#include "lunadb/error.hpp"
#include "migrate/embedded.hpp"

namespace lunadb::migrate {

std::optional<RelativeTarget> parse_relative(std::string_view target) {
  auto sign = target.find_last_of("+-");
  if (sign == std::string_view::npos || sign + 1 >= target.size()) return std::nullopt;
  std::string_view digits = target.substr(sign + 1);
  int n = 0;
  auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
  if (ec != std::errc() || ptr != digits.data() + digits.size()) return std::nullopt;
  return RelativeTarget{std::string(target.substr(0, sign)), target[sign] == '-' ? -n : n};
}

namespace {
bool contains_id(const std::vector<std::string>& ids, const std::string& id) {
  return std::find(ids.begin(), ids.end(), id) != ids.end();
}
}  // namespace

RevisionSet::RevisionSet(std::vector<Revision> revisions, std::string origin) : origin_(std::move(origin)) {
  for (auto& revision : revisions) {
    std::string id = revision.id;
    std::string source = revision.source;
    auto [it, inserted] = revisions_.emplace(id, std::move(revision));
    if (!inserted)
      throw Error(ErrorKind::migration, fmt::format("revision {} is defined twice: in {} and in {} ({})", id, it->second.source, source, origin_));
    children_[id];
  }
  for (auto& [id, revision] : revisions_) {
    for (auto& parent : revision.down_revisions) {
      if (!revisions_.count(parent))
        throw Error(ErrorKind::migration, fmt::format("{}: down_revision {} is not a known revision ({})", revision.source, parent, origin_));
      children_[parent].push_back(id);
    }
  }
  for (auto& [id, kids] : children_) std::sort(kids.begin(), kids.end());
  // A cycle would leave revisions out of the topological order.
  RevisionIds all;
  for (auto& [id, revision] : revisions_) all.insert(id);
  if (topological(all).size() != all.size())
    throw Error(ErrorKind::migration, fmt::format("the revisions ({}) contain a cycle in their down_revision links", origin_));
}

RevisionSet RevisionSet::embedded() {
  std::vector<Revision> revisions;
  for (auto& file : embedded_revision_files()) revisions.push_back(parse_revision(file.content, std::string(file.name)));
  return RevisionSet(std::move(revisions), "embedded");
}

RevisionSet RevisionSet::from_directory(const std::filesystem::path& dir) {
  std::string origin = "LUNADB_MIGRATIONS_DIR=" + dir.string();
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec))
    throw Error(ErrorKind::config, fmt::format("LUNADB_MIGRATIONS_DIR: {} is not a directory (expected a folder of *.rev revision files)", dir.string()));
  std::vector<std::filesystem::path> files;
  for (auto& entry : std::filesystem::directory_iterator(dir))
    if (entry.is_regular_file() && entry.path().extension() == ".rev") files.push_back(entry.path());
  std::sort(files.begin(), files.end());
  std::vector<Revision> revisions;
  for (auto& path : files) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw Error(ErrorKind::io, "cannot read revision file " + path.string());
    std::ostringstream text;
    text << in.rdbuf();
    revisions.push_back(parse_revision(text.str(), path.string()));
  }
  return RevisionSet(std::move(revisions), origin);
}

RevisionSet RevisionSet::for_settings(const Settings& settings) {
  if (settings.migrations_dir) return from_directory(*settings.migrations_dir);
  return embedded();
}

const Revision* RevisionSet::find(std::string_view id) const {
  auto it = revisions_.find(id);
  return it == revisions_.end() ? nullptr : &it->second;
}

const Revision& RevisionSet::get(std::string_view id) const {
  if (auto* r = find(id)) return *r;
  throw Error(ErrorKind::internal, fmt::format("revision {} looked up but not loaded", id));
}

std::vector<std::string> RevisionSet::heads() const {
  std::vector<std::string> out;
  for (auto& [id, kids] : children_)
    if (kids.empty()) out.push_back(id);
  return out;
}

std::vector<std::string> RevisionSet::bases() const {
  std::vector<std::string> out;
  for (auto& [id, revision] : revisions_)
    if (revision.down_revisions.empty()) out.push_back(id);
  return out;
}

std::vector<std::string> RevisionSet::children(std::string_view id) const {
  auto it = children_.find(id);
  return it == children_.end() ? std::vector<std::string>{} : it->second;
}

std::string RevisionSet::unknown_revision_hint() const {
  return fmt::format(" (known revisions: {}, {} revision(s))", origin_, revisions_.size());
}

std::string RevisionSet::resolve_id(std::string_view partial) const {
  if (find(partial)) return std::string(partial);
  std::vector<std::string> matches;
  if (!partial.empty())
    for (auto it = revisions_.lower_bound(partial); it != revisions_.end() && it->first.starts_with(partial); ++it)
      matches.push_back(it->first);
  if (matches.size() == 1) return matches.front();
  if (matches.empty())
    throw Error(ErrorKind::not_found, fmt::format("No such revision or branch '{}'{}", partial, unknown_revision_hint()));
  std::string list;
  for (auto& m : matches) list += (list.empty() ? "" : ", ") + m;
  throw Error(ErrorKind::usage, fmt::format("Multiple revisions start with '{}': {}", partial, list));
}

RevisionIds RevisionSet::with_ancestors(const RevisionIds& ids) const {
  RevisionIds out;
  std::vector<std::string> stack(ids.begin(), ids.end());
  while (!stack.empty()) {
    std::string id = std::move(stack.back());
    stack.pop_back();
    if (!out.insert(id).second) continue;
    for (auto& parent : get(id).down_revisions) stack.push_back(parent);
  }
  return out;
}

RevisionIds RevisionSet::descendants(std::string_view id) const {
  RevisionIds out;
  std::vector<std::string> stack = children(id);
  while (!stack.empty()) {
    std::string next = std::move(stack.back());
    stack.pop_back();
    if (!out.insert(next).second) continue;
    for (auto& child : children(next)) stack.push_back(child);
  }
  return out;
}

std::vector<std::string> RevisionSet::heads_of(const RevisionIds& applied) const {
  std::vector<std::string> out;
  for (auto& id : applied) {
    bool has_applied_child = false;
    for (auto& child : children(id)) has_applied_child |= applied.count(child) > 0;
    if (!has_applied_child) out.push_back(id);
  }
  return out;
}

std::vector<std::string> RevisionSet::topological(const RevisionIds& ids) const {
  auto before = [this](const std::string& a, const std::string& b) {
    const auto& ra = get(a);
    const auto& rb = get(b);
    if (ra.create_date != rb.create_date) return ra.create_date < rb.create_date;
    return a < b;
  };
  std::map<std::string, int> waiting;  // parents inside `ids` not yet emitted
  for (auto& id : ids) {
    int n = 0;
    for (auto& parent : get(id).down_revisions) n += ids.count(parent) ? 1 : 0;
    waiting[id] = n;
  }
  std::vector<std::string> ready;
  for (auto& [id, n] : waiting)
    if (n == 0) ready.push_back(id);
  std::vector<std::string> order;
  while (!ready.empty()) {
    auto it = std::min_element(ready.begin(), ready.end(), before);
    std::string id = *it;
    ready.erase(it);
    order.push_back(id);
    for (auto& child : children(id)) {
      auto w = waiting.find(child);
      if (w != waiting.end() && --w->second == 0) ready.push_back(child);
    }
  }
  return order;
}

std::vector<std::string> RevisionSet::newest_first() const {
  RevisionIds all;
  for (auto& [id, revision] : revisions_) all.insert(id);
  auto order = topological(all);
  std::reverse(order.begin(), order.end());
  return order;
}

std::string RevisionSet::single_head(std::string_view argument) const {
  auto h = heads();
  if (h.size() > 1)
    throw Error(ErrorKind::migration,
                fmt::format("Multiple head revisions are present for given argument '{}'; please specify a specific "
                            "target revision, '<branchname>@head' to narrow to a specific head, or 'heads' for all heads "
                            "(heads: {})",
                            argument, fmt::join(h, ", ")));
  if (h.empty()) return "";
  return h.front();
}

RevisionIds RevisionSet::step_up(RevisionIds applied, int n, std::string_view target) const {
  for (int step = 0; step < n; ++step) {
    // The next revision continues one of the current heads (or starts from base), like Alembic's
    // relative steps: a sibling branch elsewhere in the graph is not "the next" one.
    auto tops = heads_of(applied);
    std::vector<std::string> candidates;
    for (auto& [id, revision] : revisions_) {
      if (applied.count(id)) continue;
      bool ready = std::all_of(revision.down_revisions.begin(), revision.down_revisions.end(),
                               [&](const std::string& p) { return applied.count(p) > 0; });
      bool continues = revision.down_revisions.empty()
                           ? applied.empty()
                           : std::any_of(revision.down_revisions.begin(), revision.down_revisions.end(),
                                         [&](const std::string& p) { return contains_id(tops, p); });
      if (ready && continues) candidates.push_back(id);
    }
    if (candidates.empty())
      throw Error(ErrorKind::migration, fmt::format("Relative revision {} didn't produce {} migrations", target, n));
    if (candidates.size() > 1)
      throw Error(ErrorKind::migration, fmt::format("Relative revision {} is ambiguous: the next revision may be any of {}; name one",
                                                    target, fmt::join(candidates, ", ")));
    applied.insert(candidates.front());
  }
  return applied;
}

RevisionIds RevisionSet::step_down(RevisionIds applied, int n, std::string_view target) const {
  for (int step = 0; step < n; ++step) {
    auto top = heads_of(applied);
    if (top.empty())
      throw Error(ErrorKind::migration, fmt::format("Relative revision {} didn't produce {} migrations", target, n));
    if (top.size() > 1)
      throw Error(ErrorKind::migration, fmt::format("Relative revision {} is ambiguous: the database has several heads ({}); name a revision",
                                                    target, fmt::join(top, ", ")));
    applied.erase(top.front());
  }
  return applied;
}

RevisionIds RevisionSet::position(std::string_view target) const {
  if (target == "base") return {};
  if (target == "heads") {
    auto h = heads();
    return with_ancestors(RevisionIds(h.begin(), h.end()));
  }
  if (target == "head") {
    auto h = single_head(target);
    return h.empty() ? RevisionIds{} : with_ancestors({h});
  }
  if (auto relative = parse_relative(target); relative && !relative->base.empty()) {
    RevisionIds from = position(relative->base);
    return relative->offset >= 0 ? step_up(from, relative->offset, target) : step_down(from, -relative->offset, target);
  }
  return with_ancestors({resolve_id(target)});
}

RevisionIds RevisionSet::upgrade_goal(std::string_view target, const RevisionIds& applied) const {
  if (auto relative = parse_relative(target); relative && relative->base.empty()) {
    if (relative->offset < 0) throw Error(ErrorKind::usage, fmt::format("upgrade target {} goes down; use downgrade", target));
    return step_up(applied, relative->offset, target);
  }
  RevisionIds goal = position(target);
  goal.insert(applied.begin(), applied.end());
  return goal;
}

RevisionIds RevisionSet::downgrade_removal(std::string_view target, const RevisionIds& applied) const {
  if (target == "base") return applied;
  if (auto relative = parse_relative(target); relative && relative->base.empty()) {
    if (relative->offset > 0) throw Error(ErrorKind::usage, fmt::format("downgrade target {} goes up; use upgrade", target));
    RevisionIds kept = step_down(applied, -relative->offset, target);
    RevisionIds removed;
    for (auto& id : applied)
      if (!kept.count(id)) removed.insert(id);
    return removed;
  }
  if (target == "head" || target == "heads")
    throw Error(ErrorKind::usage, fmt::format("downgrade target '{}' is above the database; use upgrade", target));
  RevisionIds keep = position(target);
  // Only what lies above the target moves: other branches stay where they are.
  RevisionIds above;
  for (auto& top : heads_of(keep)) {
    auto d = descendants(top);
    above.insert(d.begin(), d.end());
  }
  RevisionIds removed;
  for (auto& id : applied)
    if (above.count(id)) removed.insert(id);
  for (auto& id : keep)
    if (!applied.count(id))
      throw Error(ErrorKind::migration, fmt::format("downgrade target {} is not applied; the database is below it (use upgrade)", target));
  return removed;
}

}  // namespace lunadb::migrate
