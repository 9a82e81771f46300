// Facts, the edges between them, and contradiction notes. Deleting a fact removes everything that
// names it in one transaction, explicitly, because SQL Server cannot cascade on these paths.
#include <algorithm>

#include "store/core.hpp"

namespace lunadb::store {

using detail::opt;
using detail::Values;

namespace {

// Keeps every IN list well under the smallest bound-parameter limit (SQLite before 3.32: 999).
constexpr std::size_t kIdsPerStatement = 500;

Fact read_fact(const sql::Statement& row) {
  Fact f;
  f.id = row.get_int64(0);
  f.category = row.get_text(1);
  f.content = row.get_text(2);
  f.memory_type = row.get_optional_text(3).value_or("long");
  f.importance = row.get_optional_double(4).value_or(0.5);
  f.confidence = row.get_optional_double(5).value_or(1.0);
  f.source = row.get_optional_text(6).value_or("inferred");
  f.source_conversation_id = row.get_optional_int64(7);
  f.is_active = row.get_optional_bool(8).value_or(true);
  f.is_private = row.get_optional_bool(9).value_or(false);
  f.superseded_by = row.get_optional_int64(10);
  f.expires_at = row.get_optional_timestamp(11);
  f.created_at = row.get_optional_timestamp(12).value_or(Timestamp{});
  f.updated_at = row.get_optional_timestamp(13).value_or(f.created_at);
  f.last_accessed = row.get_optional_timestamp(14);
  return f;
}

FactRelationship read_edge(const sql::Statement& row) {
  FactRelationship e;
  e.id = row.get_int64(0);
  e.fact_id_a = row.get_int64(1);
  e.fact_id_b = row.get_int64(2);
  e.relationship = row.get_text(3);
  e.confidence = row.get_optional_double(4).value_or(0.8);
  e.note = row.get_optional_text(5);
  e.created_at = row.get_optional_timestamp(6).value_or(Timestamp{});
  e.updated_at = row.get_optional_timestamp(7).value_or(e.created_at);
  return e;
}

ContradictionNote read_note(const sql::Statement& row) {
  ContradictionNote n;
  n.id = row.get_int64(0);
  n.new_fact_id = row.get_int64(1);
  n.old_fact_id = row.get_int64(2);
  n.conversation_id = row.get_optional_int64(3);
  n.note = row.get_text(4);
  n.created_at = row.get_timestamp(5);
  n.consumed_at = row.get_optional_timestamp(6);
  return n;
}

void validate(const Fact& f) {
  detail::check_utf8("facts.category", f.category);
  detail::check_utf8("facts.content", f.content);
  detail::check_utf8("facts.memory_type", f.memory_type);
  detail::check_utf8("facts.source", f.source);
  detail::check_finite("facts.importance", f.importance);
  detail::check_finite("facts.confidence", f.confidence);
}

void validate(const FactRelationship& e) {
  detail::check_utf8("fact_relationships.relationship", e.relationship);
  detail::check_utf8("fact_relationships.note", e.note);
  detail::check_finite("fact_relationships.confidence", e.confidence);
}

void validate(const ContradictionNote& n) { detail::check_utf8("contradiction_notes.note", n.note); }

// Runs `UPDATE ... WHERE <condition> AND id IN (...)` over `ids` in chunks, with `leading` values
// bound before the ids. Returns the rows changed. Runs inside the caller's transaction.
std::int64_t update_ids(sql::Connection& connection, const std::string& update_prefix, const Values& leading,
                        std::span<const std::int64_t> ids) {
  std::int64_t changed = 0;
  for (std::size_t start = 0; start < ids.size(); start += kIdsPerStatement) {
    auto chunk = ids.subspan(start, std::min(kIdsPerStatement, ids.size() - start));
    Values values = leading;
    for (auto id : chunk) values.emplace_back(id);
    changed += detail::execute(connection, update_prefix + detail::in_placeholders(chunk.size()), values);
  }
  return changed;
}

}  // namespace

// ---- facts ----

Fact FactRepository::add(const Fact& fact) {
  validate(fact);
  Fact stored = fact;
  stored.created_at = stored.updated_at = sql::now_utc();
  Values values{stored.category,   stored.content,    stored.memory_type,        stored.importance,
                stored.confidence, stored.source,     opt(stored.source_conversation_id), stored.is_active,
                stored.is_private, opt(stored.superseded_by), opt(stored.expires_at), stored.created_at,
                stored.updated_at, opt(stored.last_accessed)};
  stored.id = core_->write(
      [&](sql::Connection& c) { return detail::insert_returning_id(c, core_->tables.facts, values); });
  return stored;
}

std::optional<Fact> FactRepository::get(std::int64_t id) {
  Values values{id};
  return core_->read(
      [&](sql::Connection& c) { return detail::query_one<Fact>(c, core_->tables.facts.select_by_id, values, read_fact); });
}

bool FactRepository::update(const Fact& fact) {
  validate(fact);
  Values values{fact.category,   fact.content,    fact.memory_type, fact.importance, fact.confidence,
                fact.source,     opt(fact.source_conversation_id),  fact.is_active,  fact.is_private,
                opt(fact.superseded_by), opt(fact.expires_at), sql::now_utc(), opt(fact.last_accessed), fact.id};
  return core_->write(
      [&](sql::Connection& c) { return detail::execute(c, core_->tables.facts.update_by_id, values) > 0; });
}

bool FactRepository::remove(std::int64_t id) {
  const auto& tables = core_->tables;
  const auto& edges = tables.fact_relationships;
  const auto& notes = tables.contradiction_notes;
  const auto& facts = tables.facts;
  const std::string delete_edges = "DELETE FROM " + edges.name + " WHERE " + edges.q("fact_id_a") + " = ? OR " +
                                   edges.q("fact_id_b") + " = ?";
  const std::string delete_notes = "DELETE FROM " + notes.name + " WHERE " + notes.q("new_fact_id") + " = ? OR " +
                                   notes.q("old_fact_id") + " = ?";
  const std::string unlink_superseded = "UPDATE " + facts.name + " SET " + facts.q("superseded_by") + " = NULL WHERE " +
                                        facts.q("superseded_by") + " = ?";
  Values one{id};
  Values two{id, id};
  return core_->write([&](sql::Connection& c) {
    detail::execute(c, delete_edges, two);
    detail::execute(c, delete_notes, two);
    detail::execute(c, unlink_superseded, one);
    return detail::execute(c, facts.delete_by_id, one) > 0;
  });
}

std::vector<Fact> FactRepository::active_by_category(std::string_view category) {
  const auto& t = core_->tables.facts;
  const std::string sql = t.select + " WHERE " + t.q("is_active") + " = ? AND " + t.q("category") + " = ? ORDER BY " +
                          t.q("importance") + " DESC, " + t.q("id");
  Values values{true, std::string(category)};
  return core_->read([&](sql::Connection& c) { return detail::query_all<Fact>(c, sql, values, read_fact); });
}

std::vector<Fact> FactRepository::due_to_expire(Timestamp now) {
  const auto& t = core_->tables.facts;
  const std::string sql = t.select + " WHERE " + t.q("is_active") + " = ? AND " + t.q("expires_at") + " IS NOT NULL AND " +
                          t.q("expires_at") + " <= ? ORDER BY " + t.q("expires_at") + ", " + t.q("id");
  Values values{true, now};
  return core_->read([&](sql::Connection& c) { return detail::query_all<Fact>(c, sql, values, read_fact); });
}

std::int64_t FactRepository::touch(std::span<const std::int64_t> fact_ids) {
  if (fact_ids.empty()) return 0;
  const auto& t = core_->tables.facts;
  const std::string prefix = "UPDATE " + t.name + " SET " + t.q("last_accessed") + " = ? WHERE " + t.q("id");
  const Values leading{sql::now_utc()};
  return core_->write([&](sql::Connection& c) { return update_ids(c, prefix, leading, fact_ids); });
}

// ---- fact relationships ----

FactRelationship FactRelationshipRepository::link(const FactRelationship& edge) {
  validate(edge);
  const auto& t = core_->tables.fact_relationships;
  const auto& facts = core_->tables.facts;
  // Luna's schema has no unique key on (fact_id_a, fact_id_b) and databases Luna wrote may hold
  // the same pair twice, so there is no upsert to lean on: the pair is serialised on fact a's row
  // (a no-op UPDATE takes its row lock on every backend; SQLite's writers are serialised anyway),
  // then the oldest edge of the pair is updated or a new one inserted.
  const std::string lock = "UPDATE " + facts.name + " SET " + facts.q("is_active") + " = " + facts.q("is_active") +
                           " WHERE " + facts.q("id") + " = ?";
  const std::string find = core_->dialect->paginate(
      t.select + " WHERE " + t.q("fact_id_a") + " = ? AND " + t.q("fact_id_b") + " = ? ORDER BY " + t.q("id"), 1, 0);
  const std::string update = "UPDATE " + t.name + " SET " + t.q("relationship") + " = ?, " + t.q("confidence") +
                             " = ?, " + t.q("note") + " = ?, " + t.q("updated_at") + " = ? WHERE " + t.q("id") + " = ?";
  const Timestamp now = sql::now_utc();
  Values key{edge.fact_id_a, edge.fact_id_b};
  return core_->write([&](sql::Connection& c) {
    Values lock_values{edge.fact_id_a};
    detail::execute(c, lock, lock_values);
    std::int64_t id = 0;
    if (auto existing = detail::query_one<FactRelationship>(c, find, key, read_edge)) {
      id = existing->id;
      Values values{edge.relationship, edge.confidence, opt(edge.note), now, id};
      detail::execute(c, update, values);
    } else {
      Values values{edge.fact_id_a, edge.fact_id_b, edge.relationship, edge.confidence, opt(edge.note), now, now};
      id = detail::insert_returning_id(c, t, values);
    }
    Values by_id{id};
    auto stored = detail::query_one<FactRelationship>(c, t.select_by_id, by_id, read_edge);
    if (!stored) throw Error(ErrorKind::internal, "fact relationship missing right after it was written");
    return *stored;
  });
}

std::optional<FactRelationship> FactRelationshipRepository::get(std::int64_t id) {
  Values values{id};
  return core_->read([&](sql::Connection& c) {
    return detail::query_one<FactRelationship>(c, core_->tables.fact_relationships.select_by_id, values, read_edge);
  });
}

std::optional<FactRelationship> FactRelationshipRepository::find(std::int64_t fact_id_a, std::int64_t fact_id_b) {
  const auto& t = core_->tables.fact_relationships;
  const std::string sql = core_->dialect->paginate(
      t.select + " WHERE " + t.q("fact_id_a") + " = ? AND " + t.q("fact_id_b") + " = ? ORDER BY " + t.q("id"), 1, 0);
  Values values{fact_id_a, fact_id_b};
  return core_->read([&](sql::Connection& c) { return detail::query_one<FactRelationship>(c, sql, values, read_edge); });
}

bool FactRelationshipRepository::update(const FactRelationship& edge) {
  validate(edge);
  Values values{edge.relationship, edge.confidence, opt(edge.note), sql::now_utc(), edge.id};
  return core_->write([&](sql::Connection& c) {
    return detail::execute(c, core_->tables.fact_relationships.update_by_id, values) > 0;
  });
}

bool FactRelationshipRepository::remove(std::int64_t id) {
  Values values{id};
  return core_->write([&](sql::Connection& c) {
    return detail::execute(c, core_->tables.fact_relationships.delete_by_id, values) > 0;
  });
}

std::vector<FactRelationship> FactRelationshipRepository::for_fact(std::int64_t fact_id) {
  const auto& t = core_->tables.fact_relationships;
  const std::string sql = t.select + " WHERE " + t.q("fact_id_a") + " = ? OR " + t.q("fact_id_b") + " = ? ORDER BY " +
                          t.q("created_at") + ", " + t.q("id");
  Values values{fact_id, fact_id};
  return core_->read([&](sql::Connection& c) { return detail::query_all<FactRelationship>(c, sql, values, read_edge); });
}

// ---- contradiction notes ----

ContradictionNote ContradictionNoteRepository::add(const ContradictionNote& note) {
  validate(note);
  ContradictionNote stored = note;
  stored.created_at = sql::now_utc();
  Values values{stored.new_fact_id, stored.old_fact_id, opt(stored.conversation_id), stored.note, stored.created_at,
                opt(stored.consumed_at)};
  stored.id = core_->write([&](sql::Connection& c) {
    return detail::insert_returning_id(c, core_->tables.contradiction_notes, values);
  });
  return stored;
}

std::optional<ContradictionNote> ContradictionNoteRepository::get(std::int64_t id) {
  Values values{id};
  return core_->read([&](sql::Connection& c) {
    return detail::query_one<ContradictionNote>(c, core_->tables.contradiction_notes.select_by_id, values, read_note);
  });
}

bool ContradictionNoteRepository::update(const ContradictionNote& note) {
  validate(note);
  Values values{opt(note.conversation_id), note.note, opt(note.consumed_at), note.id};
  return core_->write([&](sql::Connection& c) {
    return detail::execute(c, core_->tables.contradiction_notes.update_by_id, values) > 0;
  });
}

bool ContradictionNoteRepository::remove(std::int64_t id) {
  Values values{id};
  return core_->write([&](sql::Connection& c) {
    return detail::execute(c, core_->tables.contradiction_notes.delete_by_id, values) > 0;
  });
}

std::vector<ContradictionNote> ContradictionNoteRepository::unconsumed() {
  const auto& t = core_->tables.contradiction_notes;
  const std::string sql =
      t.select + " WHERE " + t.q("consumed_at") + " IS NULL ORDER BY " + t.q("created_at") + ", " + t.q("id");
  return core_->read([&](sql::Connection& c) { return detail::query_all<ContradictionNote>(c, sql, {}, read_note); });
}

std::int64_t ContradictionNoteRepository::mark_consumed(std::span<const std::int64_t> note_ids) {
  if (note_ids.empty()) return 0;
  const auto& t = core_->tables.contradiction_notes;
  const std::string prefix = "UPDATE " + t.name + " SET " + t.q("consumed_at") + " = ? WHERE " + t.q("consumed_at") +
                             " IS NULL AND " + t.q("id");
  const Values leading{sql::now_utc()};
  return core_->write([&](sql::Connection& c) { return update_ids(c, prefix, leading, note_ids); });
}

}  // namespace lunadb::store
