#include <chrono>
#include <thread>

#include "sql/value.hpp"
#include "store_fixture.hpp"

namespace lunadb::store_test {
namespace {

using namespace std::chrono_literals;

class StoreRecords : public StoreTest {};

// The audit log offers no way to change or remove a row.
template <typename Repository>
concept HasUpdate = requires(Repository& r, const store::AuditEntry& e) { r.update(e); };
template <typename Repository>
concept HasRemove = requires(Repository& r) { r.remove(std::int64_t{1}); };
static_assert(!HasUpdate<store::AuditLogRepository>);
static_assert(!HasRemove<store::AuditLogRepository>);
static_assert(HasRemove<store::TaskRepository>);

TEST_P(StoreRecords, EpisodeUpsertKeepsOneEpisodePerConversation) {
  auto conversation = db().conversations().add({});
  store::Episode episode;
  episode.conversation_id = conversation.id;
  episode.summary = "Talked about tea.";
  episode.key_fact_ids = "[1, 2]";  // jsonb's spelling (see StoreValidation.JsonColumnsKeepTheDocument)
  episode.key_entities = R"(["tea", "Kyoto"])";
  auto first = db().episodes().upsert(episode);
  EXPECT_GT(first.id, 0);
  EXPECT_EQ(first.importance, 0.5);
  EXPECT_EQ(first.key_entities, R"(["tea", "Kyoto"])");

  std::this_thread::sleep_for(2ms);
  episode.summary = "Talked about tea and coffee.";
  episode.importance = 0.9;
  episode.key_fact_ids = "[1, 2, 3]";
  auto second = db().episodes().upsert(episode);
  EXPECT_EQ(second.id, first.id);
  EXPECT_EQ(second.summary, episode.summary);
  EXPECT_EQ(second.importance, 0.9);
  EXPECT_EQ(second.key_fact_ids, "[1, 2, 3]");
  EXPECT_EQ(second.created_at, first.created_at);
  EXPECT_GT(second.updated_at, first.updated_at);
  EXPECT_EQ(count_rows("episodes"), 1);
  EXPECT_EQ(*db().episodes().get(first.id), second);
  EXPECT_EQ(*db().episodes().for_conversation(conversation.id), second);

  auto other = db().conversations().add({});
  episode.conversation_id = other.id;
  episode.importance = 0.2;
  auto minor = db().episodes().upsert(episode);
  auto ranked = db().episodes().most_important(10);
  ASSERT_EQ(ranked.size(), 2u);
  EXPECT_EQ(ranked[0].id, first.id);
  EXPECT_EQ(db().episodes().most_important(1).size(), 1u);

  EXPECT_TRUE(db().episodes().remove(minor.id));
  EXPECT_FALSE(db().episodes().for_conversation(other.id));
  EXPECT_FALSE(db().episodes().remove(minor.id));
}

TEST_P(StoreRecords, EpisodeOfAMissingConversationIsAConstraintError) {
  store::Episode episode;
  episode.conversation_id = 123456;
  episode.summary = "nobody";
  EXPECT_EQ(expect_error([&] { db().episodes().upsert(episode); }).kind(), ErrorKind::constraint);
  EXPECT_EQ(count_rows("episodes"), 0);
}

TEST_P(StoreRecords, PersonalityStateReadsDefaultsAndUpdatesRowOne) {
  auto initial = db().personality().get();
  EXPECT_EQ(initial.current_mood, "neutral");
  EXPECT_EQ(initial.formality, 0.35);
  EXPECT_EQ(initial.total_interactions, 0);
  EXPECT_FALSE(initial.last_interaction);

  auto changed = initial;
  changed.current_mood = "playful";
  changed.humor = 0.85;
  changed.total_interactions = 42;
  changed.positive_signals = 7;
  changed.last_interaction = sql::now_utc();
  auto stored = db().personality().update(changed);
  EXPECT_GE(stored.updated_at, changed.last_interaction.value());
  EXPECT_EQ(db().personality().get(), stored);
  EXPECT_EQ(count_rows("personality_state"), 1);

  // Moods are an open set in Luna's schema (no CHECK): a new one is stored as written.
  changed.current_mood = "grumpy";
  db().personality().update(changed);
  EXPECT_EQ(db().personality().get().current_mood, "grumpy");

  {
    auto lease = raw();
    lease->execute("DELETE FROM " + q("personality_state"));
  }
  EXPECT_EQ(expect_error([&] { db().personality().get(); }).kind(), ErrorKind::not_found);
  EXPECT_EQ(expect_error([&] { db().personality().update(stored); }).kind(), ErrorKind::not_found);
}

TEST_P(StoreRecords, StateEventsByHourAndWindow) {
  auto base = std::chrono::floor<std::chrono::days>(sql::now_utc());
  auto event_at = [&](sql::Timestamp when, int hour, std::string state) {
    store::StateEvent e;
    e.timestamp = when;
    e.hour = hour;
    e.day_of_week = 2;
    e.inferred_state = std::move(state);
    return e;
  };
  auto morning = event_at(base + 7h, 7, "JUST_WOKE_UP");
  morning.transcript = "good morning";
  morning.volume = 0.12;
  morning.pc_active = false;
  morning.idle_seconds = 3600.5;
  auto m1 = db().state_events().add(morning);
  auto m2 = db().state_events().add(event_at(base - 24h + 7h + 30min, 7, "LOW_ENERGY"));
  auto evening = db().state_events().add(event_at(base + 22h, 22, "RELAXING"));
  EXPECT_EQ(*db().state_events().get(m1.id), m1);

  auto at_seven = db().state_events().by_hour(7);
  ASSERT_EQ(at_seven.size(), 2u);
  EXPECT_EQ(at_seven[0].id, m2.id);  // oldest first
  EXPECT_EQ(at_seven[1].id, m1.id);
  EXPECT_TRUE(db().state_events().by_hour(3).empty());

  auto today = db().state_events().between(base, base + 24h);
  ASSERT_EQ(today.size(), 2u);
  EXPECT_EQ(today[1].id, evening.id);
  EXPECT_EQ(db().state_events().between(base + 7h, base + 22h).size(), 1u);  // [from, to)

  auto changed = evening;
  changed.inferred_state = "STAYING_UP";
  changed.active_app = "editor";
  EXPECT_TRUE(db().state_events().update(changed));
  EXPECT_EQ(*db().state_events().get(evening.id), changed);
  EXPECT_TRUE(db().state_events().remove(evening.id));
  EXPECT_FALSE(db().state_events().get(evening.id));

  auto bad_hour = event_at(base, 24, "NORMAL");
  auto error = expect_error([&] { db().state_events().add(bad_hour); });
  EXPECT_EQ(error.kind(), ErrorKind::invalid_argument);
  EXPECT_NE(std::string(error.what()).find("state_events.hour"), std::string::npos);
  EXPECT_EQ(count_rows("state_events"), 2);
  // Inferred states are Luna's UserState values, an open set here: a new one is kept as written.
  auto dreaming = db().state_events().add(event_at(base, 1, "DREAMING"));
  EXPECT_EQ(db().state_events().get(dreaming.id)->inferred_state, "DREAMING");
}

TEST_P(StoreRecords, TasksPastDueAndCompletion) {
  auto now = sql::now_utc();
  auto task = [](std::string title, std::optional<sql::Timestamp> due) {
    store::Task t;
    t.title = std::move(title);
    t.due_date = due;
    return t;
  };
  auto overdue = db().tasks().add(task("file taxes", now - 48h));
  auto slightly_overdue = db().tasks().add(task("call mum", now - 1h));
  db().tasks().add(task("plan holiday", now + 24h));
  db().tasks().add(task("someday", std::nullopt));
  auto done = task("buy milk", now - 2h);
  done.completed = true;
  done.completed_at = now - 3h;
  db().tasks().add(done);

  auto past_due = db().tasks().incomplete_past_due(now);
  ASSERT_EQ(past_due.size(), 2u);
  EXPECT_EQ(past_due[0].id, overdue.id);
  EXPECT_EQ(past_due[1].id, slightly_overdue.id);

  EXPECT_TRUE(db().tasks().complete(overdue.id));
  auto completed = db().tasks().get(overdue.id);
  EXPECT_TRUE(completed->completed);
  ASSERT_TRUE(completed->completed_at);
  EXPECT_GE(*completed->completed_at, now);
  EXPECT_EQ(db().tasks().incomplete_past_due(now).size(), 1u);
  EXPECT_FALSE(db().tasks().complete(424242));

  auto edited = *db().tasks().get(slightly_overdue.id);
  edited.priority = "high";
  edited.description = "about the weekend";
  EXPECT_TRUE(db().tasks().update(edited));
  auto reloaded = db().tasks().get(edited.id);
  EXPECT_EQ(reloaded->priority, "high");
  EXPECT_EQ(reloaded->description, "about the weekend");
  EXPECT_GE(reloaded->updated_at, edited.updated_at);
  EXPECT_TRUE(db().tasks().remove(edited.id));
  EXPECT_FALSE(db().tasks().get(edited.id));

  auto urgent = task("bad priority", std::nullopt);
  urgent.priority = "urgent";
  auto stored_urgent = db().tasks().add(urgent);
  EXPECT_EQ(db().tasks().get(stored_urgent.id)->priority, "urgent");
}

TEST_P(StoreRecords, CalendarEventsStartingInAHalfOpenWindow) {
  auto now = std::chrono::floor<std::chrono::seconds>(sql::now_utc());
  auto event = [](std::string title, sql::Timestamp start) {
    store::CalendarEvent e;
    e.title = std::move(title);
    e.start_datetime = start;
    return e;
  };
  auto at_start = event("standup", now);
  at_start.end_datetime = now + 15min;
  at_start.recurring = "daily";
  at_start.location = "Room 4";
  auto standup = db().calendar_events().add(at_start);
  auto lunch = db().calendar_events().add(event("lunch", now + 30min + 1us));
  db().calendar_events().add(event("at the end", now + 1h));
  db().calendar_events().add(event("yesterday", now - 24h));
  EXPECT_EQ(*db().calendar_events().get(standup.id), standup);

  auto soon = db().calendar_events().starting_between(now, now + 1h);
  ASSERT_EQ(soon.size(), 2u);
  EXPECT_EQ(soon[0].id, standup.id);
  EXPECT_EQ(soon[1].id, lunch.id);
  EXPECT_EQ(soon[1].start_datetime, now + 30min + 1us);

  lunch.location = "Café Ümlaut";
  EXPECT_TRUE(db().calendar_events().update(lunch));
  EXPECT_EQ(db().calendar_events().get(lunch.id)->location, "Café Ümlaut");
  EXPECT_TRUE(db().calendar_events().remove(lunch.id));
  EXPECT_FALSE(db().calendar_events().remove(lunch.id));

  auto backwards = event("ends before it starts", now);
  backwards.end_datetime = now - 1min;
  // Luna's schema has no CHECK on the order: the store keeps what the caller gives.
  auto stored_backwards = db().calendar_events().add(backwards);
  EXPECT_EQ(db().calendar_events().get(stored_backwards.id)->end_datetime, now - 1min);
}

TEST_P(StoreRecords, ProactiveLogAnswersTheLastMessagePerReason) {
  EXPECT_FALSE(db().proactive_log().last_for_reason("morning_greeting"));
  store::ProactiveMessage message;
  message.reason = "morning_greeting";
  message.message = "Good morning!";
  db().proactive_log().add(message);
  std::this_thread::sleep_for(2ms);
  message.message = "Rise and shine!";
  auto latest_greeting = db().proactive_log().add(message);
  std::this_thread::sleep_for(2ms);
  message.reason = "overdue_tasks";
  message.message = "Two tasks are overdue.";
  auto tasks_nudge = db().proactive_log().add(message);

  auto last = db().proactive_log().last_for_reason("morning_greeting");
  ASSERT_TRUE(last);
  EXPECT_EQ(*last, latest_greeting);
  EXPECT_EQ(*db().proactive_log().last_for_reason("overdue_tasks"), tasks_nudge);
  EXPECT_EQ(*db().proactive_log().get(tasks_nudge.id), tasks_nudge);

  tasks_nudge.message = "Three tasks are overdue.";
  EXPECT_TRUE(db().proactive_log().update(tasks_nudge));
  EXPECT_EQ(db().proactive_log().get(tasks_nudge.id)->message, "Three tasks are overdue.");
  EXPECT_TRUE(db().proactive_log().remove(tasks_nudge.id));
  EXPECT_FALSE(db().proactive_log().last_for_reason("overdue_tasks"));
}

TEST_P(StoreRecords, AuditLogAppendsAndReads) {
  auto conversation = db().conversations().add({});
  store::AuditEntry entry;
  entry.tool = "web_search";
  entry.args = R"({"query": "weather Kyoto"})";
  entry.result = "sunny";
  entry.mode = "allow";
  entry.status = "ok";
  entry.duration_ms = 412;
  entry.conversation_id = conversation.id;
  auto first = db().audit_log().append(entry);
  std::this_thread::sleep_for(1ms);
  entry.tool = "shell";
  entry.status = "denied";
  entry.mode = "block";
  entry.args.reset();
  entry.conversation_id.reset();
  auto second = db().audit_log().append(entry);

  EXPECT_EQ(*db().audit_log().get(first.id), first);
  auto recent = db().audit_log().recent();
  ASSERT_EQ(recent.size(), 2u);
  EXPECT_EQ(recent[0], second);
  EXPECT_EQ(db().audit_log().recent({1, 1}), std::vector<store::AuditEntry>{first});
  EXPECT_EQ(db().audit_log().for_conversation(conversation.id), std::vector<store::AuditEntry>{first});

  entry.status = "maybe";
  auto maybe = db().audit_log().append(entry);
  EXPECT_EQ(db().audit_log().get(maybe.id)->status, "maybe");
  entry.status = "ok";
  entry.conversation_id = 99999;
  EXPECT_EQ(expect_error([&] { db().audit_log().append(entry); }).kind(), ErrorKind::constraint);
  EXPECT_EQ(count_rows("audit_log"), 3);
}

INSTANTIATE_TEST_SUITE_P(Backends, StoreRecords, ::testing::ValuesIn(store_backends()), backend_name);

}  // namespace
}  // namespace lunadb::store_test
