#include <chrono>
#include <thread>

#include "sql/value.hpp"
#include "store_fixture.hpp"

namespace lunadb::store_test {
namespace {

using namespace std::chrono_literals;
using store::Fact;
using store::FactRelationship;

Fact fact(std::string category, std::string content, double importance = 0.7) {
  Fact f;
  f.category = std::move(category);
  f.content = std::move(content);
  f.importance = importance;
  return f;
}

class StoreFacts : public StoreTest {};

TEST_P(StoreFacts, CrudByIdRoundTripsEveryColumn) {
  auto conversation = db().conversations().add({});
  Fact draft = fact("preference", "User prefers dark mode", 0.9);
  draft.memory_type = "short";
  draft.confidence = 0.6;
  draft.source = "explicit";
  draft.source_conversation_id = conversation.id;
  draft.is_private = true;
  draft.expires_at = sql::Timestamp{} + 1'800'000'000'123'456us;
  auto added = db().facts().add(draft);
  EXPECT_GT(added.id, 0);
  EXPECT_EQ(added.created_at, added.updated_at);
  auto loaded = db().facts().get(added.id);
  ASSERT_TRUE(loaded);
  EXPECT_EQ(*loaded, added);
  EXPECT_EQ(loaded->expires_at, draft.expires_at);  // microseconds survive

  std::this_thread::sleep_for(2ms);
  auto newer = db().facts().add(fact("preference", "User prefers light mode"));
  Fact changed = *loaded;
  changed.is_active = false;
  changed.superseded_by = newer.id;
  changed.content = "User preferred dark mode";
  ASSERT_TRUE(db().facts().update(changed));
  auto reloaded = db().facts().get(added.id);
  EXPECT_FALSE(reloaded->is_active);
  EXPECT_EQ(reloaded->superseded_by, newer.id);
  EXPECT_EQ(reloaded->content, changed.content);
  EXPECT_EQ(reloaded->created_at, added.created_at);
  EXPECT_GT(reloaded->updated_at, added.updated_at);

  EXPECT_TRUE(db().facts().remove(added.id));
  EXPECT_FALSE(db().facts().get(added.id));
  EXPECT_FALSE(db().facts().remove(added.id));
  EXPECT_FALSE(db().facts().update(changed));
}

TEST_P(StoreFacts, ActiveByCategoryMostImportantFirst) {
  auto low = db().facts().add(fact("preference", "likes jazz", 0.3));
  auto high = db().facts().add(fact("preference", "likes tea", 0.95));
  auto inactive = fact("preference", "likes coffee", 0.99);
  inactive.is_active = false;
  db().facts().add(inactive);
  db().facts().add(fact("goal", "run a marathon", 1.0));
  auto found = db().facts().active_by_category("preference");
  ASSERT_EQ(found.size(), 2u);
  EXPECT_EQ(found[0].id, high.id);
  EXPECT_EQ(found[1].id, low.id);
  EXPECT_TRUE(db().facts().active_by_category("unknown").empty());
}

TEST_P(StoreFacts, DueToExpireListsActiveFactsPastTheirExpiry) {
  auto now = sql::now_utc();
  auto expired = fact("context", "is in a meeting");
  expired.memory_type = "short";
  expired.expires_at = now - 1h;
  auto expired_id = db().facts().add(expired).id;
  auto exactly_now = expired;
  exactly_now.expires_at = now;
  auto exactly_now_id = db().facts().add(exactly_now).id;
  auto later = expired;
  later.expires_at = now + 1h;
  db().facts().add(later);
  auto inactive = expired;
  inactive.is_active = false;
  db().facts().add(inactive);
  db().facts().add(fact("identity", "name is Sam"));  // never expires

  auto due = db().facts().due_to_expire(now);
  ASSERT_EQ(due.size(), 2u);
  EXPECT_EQ(due[0].id, expired_id);
  EXPECT_EQ(due[1].id, exactly_now_id);
}

TEST_P(StoreFacts, TouchSetsLastAccessedOnEveryListedFact) {
  std::vector<std::int64_t> ids;
  for (int i = 0; i < 1200; ++i) ids.push_back(db().facts().add(fact("routine", "fact " + std::to_string(i))).id);
  auto untouched = db().facts().add(fact("routine", "not listed"));
  std::vector<std::int64_t> listed = ids;
  listed.push_back(987654321);  // unknown ids are ignored
  auto before = sql::now_utc();
  EXPECT_EQ(db().facts().touch(listed), 1200);
  auto first = db().facts().get(ids.front());
  auto last = db().facts().get(ids.back());
  ASSERT_TRUE(first->last_accessed);
  EXPECT_GE(*first->last_accessed, before);
  EXPECT_EQ(first->last_accessed, last->last_accessed);  // one timestamp for the batch
  EXPECT_FALSE(db().facts().get(untouched.id)->last_accessed);
  EXPECT_EQ(count_rows("facts", q("last_accessed") + " IS NOT NULL"), 1200);
  EXPECT_EQ(db().facts().touch(std::vector<std::int64_t>{}), 0);
}

TEST_P(StoreFacts, LinkingAPairAgainUpdatesTheSameEdge) {
  auto a = db().facts().add(fact("preference", "likes tea"));
  auto b = db().facts().add(fact("preference", "dislikes tea"));
  FactRelationship edge;
  edge.fact_id_a = a.id;
  edge.fact_id_b = b.id;
  edge.relationship = "RELATED";
  auto first = db().fact_relationships().link(edge);
  EXPECT_GT(first.id, 0);
  EXPECT_EQ(first.confidence, 0.8);
  EXPECT_FALSE(first.note);

  std::this_thread::sleep_for(2ms);
  edge.relationship = "CONTRADICTS";
  edge.confidence = 0.95;
  edge.note = "opposite statements";
  auto second = db().fact_relationships().link(edge);
  EXPECT_EQ(second.id, first.id);
  EXPECT_EQ(second.relationship, "CONTRADICTS");
  EXPECT_EQ(second.confidence, 0.95);
  EXPECT_EQ(second.note, "opposite statements");
  EXPECT_EQ(second.created_at, first.created_at);
  EXPECT_GT(second.updated_at, first.updated_at);
  EXPECT_EQ(count_rows("fact_relationships"), 1);

  // The reverse direction is a different edge.
  std::swap(edge.fact_id_a, edge.fact_id_b);
  auto reverse = db().fact_relationships().link(edge);
  EXPECT_NE(reverse.id, first.id);
  EXPECT_EQ(db().fact_relationships().for_fact(a.id).size(), 2u);
  EXPECT_EQ(*db().fact_relationships().find(a.id, b.id), second);
  EXPECT_EQ(*db().fact_relationships().get(reverse.id), reverse);

  reverse.relationship = "CONFIRMS";
  EXPECT_TRUE(db().fact_relationships().update(reverse));
  EXPECT_EQ(db().fact_relationships().get(reverse.id)->relationship, "CONFIRMS");
  EXPECT_TRUE(db().fact_relationships().remove(reverse.id));
  EXPECT_FALSE(db().fact_relationships().remove(reverse.id));
  EXPECT_FALSE(db().fact_relationships().find(b.id, a.id));
}

TEST_P(StoreFacts, LinkingAMissingFactIsAConstraintErrorAndLunasKindsAreKept) {
  auto a = db().facts().add(fact("preference", "likes tea"));
  FactRelationship edge;
  edge.fact_id_a = a.id;
  edge.fact_id_b = 777777;
  edge.relationship = "RELATED";
  auto missing = expect_database_error([&] { db().fact_relationships().link(edge); });
  EXPECT_EQ(missing.kind(), ErrorKind::constraint);
  EXPECT_FALSE(missing.native_code().empty());
  EXPECT_EQ(count_rows("fact_relationships"), 0);

  // What Luna's memory manager writes: lower case, kinds of its own.
  auto b = db().facts().add(fact("preference", "likes coffee"));
  edge.fact_id_b = b.id;
  for (const char* kind : {"contradicts", "related_to", "pattern"}) {
    edge.relationship = kind;
    EXPECT_EQ(db().fact_relationships().link(edge).relationship, kind);
  }
  EXPECT_EQ(count_rows("fact_relationships"), 1);
  EXPECT_EQ(db().fact_relationships().find(a.id, b.id)->relationship, "pattern");
}

TEST_P(StoreFacts, LinkUpdatesTheOldestEdgeWhenLunaStoredAPairTwice) {
  auto a = db().facts().add(fact("preference", "likes tea"));
  auto b = db().facts().add(fact("preference", "likes coffee"));
  FactRelationship edge;
  edge.fact_id_a = a.id;
  edge.fact_id_b = b.id;
  edge.relationship = "contradicts";
  auto first = db().fact_relationships().link(edge);
  // Luna's ORM adds a relationship without looking for the pair: a second row for the same pair.
  {
    auto lease = raw();
    auto insert = lease->prepare(
        "INSERT INTO fact_relationships (fact_id_a, fact_id_b, relationship, confidence) VALUES (?, ?, ?, ?)");
    insert->bind(1, sql::Value{a.id});
    insert->bind(2, sql::Value{b.id});
    insert->bind(3, sql::Value{std::string("confirms")});
    insert->bind(4, sql::Value{0.5});
    insert->execute();
  }
  EXPECT_EQ(count_rows("fact_relationships"), 2);
  edge.relationship = "updates";
  edge.confidence = 0.9;
  auto linked = db().fact_relationships().link(edge);
  EXPECT_EQ(linked.id, first.id);
  EXPECT_EQ(linked.relationship, "updates");
  EXPECT_EQ(count_rows("fact_relationships"), 2);
  EXPECT_EQ(db().fact_relationships().find(a.id, b.id)->id, first.id);
}

TEST_P(StoreFacts, ValuesLunaWritesAreStoredAsWritten) {
  auto pattern = fact("routine", "runs on Sundays");
  pattern.source = "pattern_mining";  // Luna's scheduler
  pattern.importance = 1.5;           // Luna does not bound it; neither does its schema
  pattern.memory_type = "forever";
  auto stored = db().facts().add(pattern);
  auto read = db().facts().get(stored.id);
  ASSERT_TRUE(read);
  EXPECT_EQ(read->source, "pattern_mining");
  EXPECT_EQ(read->importance, 1.5);
  EXPECT_EQ(read->memory_type, "forever");
  // Defaults are Luna's.
  store::Fact defaults;
  EXPECT_EQ(defaults.importance, 0.5);
  EXPECT_EQ(defaults.confidence, 1.0);
  EXPECT_EQ(defaults.source, "inferred");
}

TEST_P(StoreFacts, RowsLunaWroteWithNullsReadAsLunasDefaults) {
  {
    auto lease = raw();
    lease->execute("INSERT INTO facts (category, content) VALUES ('personal', 'written by Luna')");
  }
  // A writer that names only Luna's NOT NULL columns gets Luna's defaults from the database.
  EXPECT_EQ(db().facts().active_by_category("personal").size(), 1u);
  auto lease = raw();
  auto st = lease->prepare("SELECT id FROM facts WHERE content = 'written by Luna'");
  ASSERT_TRUE(st->step());
  const std::int64_t id = st->get_int64(0);
  auto read = db().facts().get(id);
  ASSERT_TRUE(read);
  EXPECT_EQ(read->importance, 0.5);   // the server default
  EXPECT_EQ(read->confidence, 1.0);
  EXPECT_EQ(read->source, "inferred");
  EXPECT_EQ(read->memory_type, "long");
  EXPECT_TRUE(read->is_active);
  EXPECT_EQ(read->created_at, Timestamp{});  // NULL: the epoch
  EXPECT_EQ(read->updated_at, Timestamp{});
}

TEST_P(StoreFacts, DeletingAFactRemovesItsEdgesAndNotesAndNullsSupersededBy) {
  auto old_fact = db().facts().add(fact("preference", "likes tea"));
  auto new_fact = db().facts().add(fact("preference", "likes coffee"));
  auto bystander = db().facts().add(fact("goal", "sleep more"));
  auto superseded = fact("preference", "liked tea once");
  superseded.is_active = false;
  superseded.superseded_by = old_fact.id;
  auto superseded_id = db().facts().add(superseded).id;

  FactRelationship edge;
  edge.relationship = "UPDATES";
  edge.fact_id_a = new_fact.id;
  edge.fact_id_b = old_fact.id;
  db().fact_relationships().link(edge);
  edge.fact_id_a = old_fact.id;
  edge.fact_id_b = bystander.id;
  db().fact_relationships().link(edge);
  edge.fact_id_a = new_fact.id;
  edge.fact_id_b = bystander.id;
  auto surviving_edge = db().fact_relationships().link(edge);

  store::ContradictionNote note;
  note.new_fact_id = new_fact.id;
  note.old_fact_id = old_fact.id;
  note.note = "tea or coffee?";
  db().contradiction_notes().add(note);
  note.old_fact_id = bystander.id;
  auto surviving_note = db().contradiction_notes().add(note);

  ASSERT_TRUE(db().facts().remove(old_fact.id));
  EXPECT_FALSE(db().facts().get(old_fact.id));
  EXPECT_TRUE(db().fact_relationships().for_fact(old_fact.id).empty());
  EXPECT_EQ(db().fact_relationships().for_fact(new_fact.id), std::vector<FactRelationship>{surviving_edge});
  auto notes = db().contradiction_notes().unconsumed();
  ASSERT_EQ(notes.size(), 1u);
  EXPECT_EQ(notes[0].id, surviving_note.id);
  auto orphan = db().facts().get(superseded_id);
  ASSERT_TRUE(orphan);
  EXPECT_FALSE(orphan->superseded_by);
  EXPECT_EQ(count_rows("facts"), 3);
}

TEST_P(StoreFacts, ContradictionNotesAreConsumedOnce) {
  auto a = db().facts().add(fact("preference", "likes tea"));
  auto b = db().facts().add(fact("preference", "hates tea"));
  store::ContradictionNote note;
  note.new_fact_id = b.id;
  note.old_fact_id = a.id;
  note.note = "first";
  auto n1 = db().contradiction_notes().add(note);
  std::this_thread::sleep_for(1ms);
  note.note = "second";
  auto n2 = db().contradiction_notes().add(note);
  EXPECT_EQ(*db().contradiction_notes().get(n1.id), n1);

  auto pending = db().contradiction_notes().unconsumed();
  ASSERT_EQ(pending.size(), 2u);
  EXPECT_EQ(pending[0].id, n1.id);
  EXPECT_EQ(pending[1].id, n2.id);

  std::vector<std::int64_t> ids{n1.id};
  EXPECT_EQ(db().contradiction_notes().mark_consumed(ids), 1);
  EXPECT_EQ(db().contradiction_notes().mark_consumed(ids), 0);  // already consumed
  auto consumed = db().contradiction_notes().get(n1.id);
  ASSERT_TRUE(consumed->consumed_at);
  auto first_consumed_at = *consumed->consumed_at;
  std::vector<std::int64_t> both{n1.id, n2.id};
  EXPECT_EQ(db().contradiction_notes().mark_consumed(both), 1);
  EXPECT_EQ(db().contradiction_notes().get(n1.id)->consumed_at, first_consumed_at);
  EXPECT_TRUE(db().contradiction_notes().unconsumed().empty());

  n2.note = "edited";
  EXPECT_TRUE(db().contradiction_notes().update(n2));
  EXPECT_EQ(db().contradiction_notes().get(n2.id)->note, "edited");
  EXPECT_TRUE(db().contradiction_notes().remove(n2.id));
  EXPECT_FALSE(db().contradiction_notes().get(n2.id));

  note.old_fact_id = 99999;
  EXPECT_EQ(expect_error([&] { db().contradiction_notes().add(note); }).kind(), ErrorKind::constraint);
}

INSTANTIATE_TEST_SUITE_P(Backends, StoreFacts, ::testing::ValuesIn(store_backends()), backend_name);

}  // namespace
}  // namespace lunadb::store_test
