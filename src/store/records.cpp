// Episodes, personality state, state events, tasks, calendar events, the proactive log and the
// audit log: single-table repositories.
#include "store/core.hpp"

namespace lunadb::store {

using detail::opt;
using detail::Values;

namespace {

Episode read_episode(const sql::Statement& row) {
  Episode e;
  e.id = row.get_int64(0);
  e.conversation_id = row.get_int64(1);
  e.summary = row.get_text(2);
  e.key_fact_ids = row.get_optional_text(3).value_or("[]");
  e.key_entities = row.get_optional_text(4).value_or("[]");
  e.importance = row.get_optional_double(5).value_or(0.5);
  e.created_at = row.get_optional_timestamp(6).value_or(Timestamp{});
  e.updated_at = row.get_optional_timestamp(7).value_or(e.created_at);
  return e;
}

PersonalityState read_personality(const sql::Statement& row) {
  PersonalityState p;
  const PersonalityState defaults;
  p.current_mood = row.get_optional_text(1).value_or(defaults.current_mood);
  p.mood_intensity = row.get_optional_double(2).value_or(defaults.mood_intensity);
  p.energy_level = row.get_optional_double(3).value_or(defaults.energy_level);
  p.verbosity = row.get_optional_double(4).value_or(defaults.verbosity);
  p.formality = row.get_optional_double(5).value_or(defaults.formality);
  p.humor = row.get_optional_double(6).value_or(defaults.humor);
  p.depth = row.get_optional_double(7).value_or(defaults.depth);
  p.emotional_support = row.get_optional_double(8).value_or(defaults.emotional_support);
  p.question_frequency = row.get_optional_double(9).value_or(defaults.question_frequency);
  p.total_interactions = row.get_optional_int64(10).value_or(0);
  p.positive_signals = row.get_optional_int64(11).value_or(0);
  p.negative_signals = row.get_optional_int64(12).value_or(0);
  p.last_interaction = row.get_optional_timestamp(13);
  p.updated_at = row.get_optional_timestamp(14).value_or(Timestamp{});
  return p;
}

StateEvent read_state_event(const sql::Statement& row) {
  StateEvent e;
  e.id = row.get_int64(0);
  e.timestamp = row.get_optional_timestamp(1).value_or(Timestamp{});
  e.hour = static_cast<int>(row.get_int64(2));
  e.day_of_week = static_cast<int>(row.get_int64(3));
  e.transcript = row.get_optional_text(4);
  e.emotion = row.get_optional_text(5);
  e.volume = row.get_optional_double(6);
  e.speech_speed = row.get_optional_double(7);
  e.speech_duration = row.get_optional_double(8);
  e.pc_active = row.get_optional_bool(9);
  e.active_app = row.get_optional_text(10);
  e.idle_seconds = row.get_optional_int64(11);
  e.inferred_state = row.get_text(12);
  return e;
}

Task read_task(const sql::Statement& row) {
  Task t;
  t.id = row.get_int64(0);
  t.title = row.get_text(1);
  t.description = row.get_optional_text(2);
  t.due_date = row.get_optional_timestamp(3);
  t.priority = row.get_optional_text(4).value_or("medium");
  t.completed = row.get_optional_bool(5).value_or(false);
  t.completed_at = row.get_optional_timestamp(6);
  t.created_at = row.get_optional_timestamp(7).value_or(Timestamp{});
  t.updated_at = row.get_optional_timestamp(8).value_or(t.created_at);
  return t;
}

CalendarEvent read_calendar_event(const sql::Statement& row) {
  CalendarEvent e;
  e.id = row.get_int64(0);
  e.title = row.get_text(1);
  e.description = row.get_optional_text(2);
  e.start_datetime = row.get_timestamp(3);
  e.end_datetime = row.get_optional_timestamp(4);
  e.recurring = row.get_optional_text(5);
  e.location = row.get_optional_text(6);
  e.created_at = row.get_optional_timestamp(7).value_or(Timestamp{});
  return e;
}

ProactiveMessage read_proactive(const sql::Statement& row) {
  ProactiveMessage m;
  m.id = row.get_int64(0);
  m.message = row.get_text(1);
  m.reason = row.get_optional_text(2);
  m.sent_at = row.get_optional_timestamp(3).value_or(Timestamp{});
  return m;
}

AuditEntry read_audit(const sql::Statement& row) {
  AuditEntry a;
  a.id = row.get_int64(0);
  a.ts = row.get_timestamp(1);
  a.conversation_id = row.get_optional_int64(2);
  a.tool = row.get_text(3);
  a.args = row.get_optional_text(4);
  a.result = row.get_optional_text(5);
  a.mode = row.get_optional_text(6);
  a.status = row.get_text(7);
  a.duration_ms = row.get_optional_int64(8);
  return a;
}

void validate(const Episode& e) {
  detail::check_utf8("episodes.summary", e.summary);
  detail::check_json("episodes.key_fact_ids", e.key_fact_ids);
  detail::check_json("episodes.key_entities", e.key_entities);
  detail::check_finite("episodes.importance", e.importance);
}

void validate(const PersonalityState& p) {
  detail::check_utf8("personality_state.current_mood", p.current_mood);
  const std::pair<const char*, double> numbers[] = {
      {"personality_state.mood_intensity", p.mood_intensity},
      {"personality_state.energy_level", p.energy_level},
      {"personality_state.verbosity", p.verbosity},
      {"personality_state.formality", p.formality},
      {"personality_state.humor", p.humor},
      {"personality_state.depth", p.depth},
      {"personality_state.emotional_support", p.emotional_support},
      {"personality_state.question_frequency", p.question_frequency},
  };
  for (const auto& [field, value] : numbers) detail::check_finite(field, value);
}

void validate(const StateEvent& e) {
  if (e.hour < 0 || e.hour > 23) {
    throw Error(ErrorKind::invalid_argument, "state_events.hour: must be 0..23, got " + std::to_string(e.hour));
  }
  if (e.day_of_week < 0 || e.day_of_week > 6) {
    throw Error(ErrorKind::invalid_argument,
                "state_events.day_of_week: must be 0 (Monday)..6, got " + std::to_string(e.day_of_week));
  }
  detail::check_utf8("state_events.transcript", e.transcript);
  detail::check_utf8("state_events.emotion", e.emotion);
  detail::check_utf8("state_events.active_app", e.active_app);
  detail::check_utf8("state_events.inferred_state", e.inferred_state);
  detail::check_finite("state_events.volume", e.volume);
  detail::check_finite("state_events.speech_speed", e.speech_speed);
  detail::check_finite("state_events.speech_duration", e.speech_duration);
}

void validate(const Task& t) {
  detail::check_utf8("tasks.title", t.title);
  detail::check_utf8("tasks.description", t.description);
  detail::check_utf8("tasks.priority", t.priority);
}

void validate(const CalendarEvent& e) {
  detail::check_utf8("calendar_events.title", e.title);
  detail::check_utf8("calendar_events.description", e.description);
  detail::check_utf8("calendar_events.recurring", e.recurring);
  detail::check_utf8("calendar_events.location", e.location);
}

void validate(const ProactiveMessage& m) {
  detail::check_utf8("proactive_log.message", m.message);
  detail::check_utf8("proactive_log.reason", m.reason);
}

void validate(const AuditEntry& a) {
  detail::check_utf8("audit_log.tool", a.tool);
  detail::check_json("audit_log.args", a.args);
  detail::check_utf8("audit_log.result", a.result);
  detail::check_utf8("audit_log.mode", a.mode);
  detail::check_utf8("audit_log.status", a.status);
}

std::string ordered(const detail::TableSql& t, std::string_view where, std::string_view order_column,
                    bool newest_first = false) {
  const char* direction = newest_first ? " DESC" : "";
  return t.select + (where.empty() ? "" : " WHERE " + std::string(where)) + " ORDER BY " + t.q(order_column) + direction +
         ", " + t.q("id") + direction;
}

}  // namespace

// ---- episodes ----

Episode EpisodeRepository::upsert(const Episode& episode) {
  validate(episode);
  const auto& t = core_->tables.episodes;
  const std::string sql = core_->dialect->upsert(
      "episodes", {"conversation_id", "summary", "key_fact_ids", "key_entities", "importance", "created_at", "updated_at"},
      {"conversation_id"}, {"summary", "key_fact_ids", "key_entities", "importance", "updated_at"});
  const std::string find = t.select + " WHERE " + t.q("conversation_id") + " = ?";
  const Timestamp now = sql::now_utc();
  Values values{episode.conversation_id, episode.summary, episode.key_fact_ids, episode.key_entities, episode.importance,
                now, now};
  Values key{episode.conversation_id};
  return core_->write([&](sql::Connection& c) {
    detail::execute(c, sql, values);
    auto stored = detail::query_one<Episode>(c, find, key, read_episode);
    if (!stored) throw Error(ErrorKind::internal, "episode missing right after its upsert");
    return *stored;
  });
}

std::optional<Episode> EpisodeRepository::get(std::int64_t id) {
  Values values{id};
  return core_->read([&](sql::Connection& c) {
    return detail::query_one<Episode>(c, core_->tables.episodes.select_by_id, values, read_episode);
  });
}

std::optional<Episode> EpisodeRepository::for_conversation(std::int64_t conversation_id) {
  const auto& t = core_->tables.episodes;
  const std::string sql = t.select + " WHERE " + t.q("conversation_id") + " = ?";
  Values values{conversation_id};
  return core_->read([&](sql::Connection& c) { return detail::query_one<Episode>(c, sql, values, read_episode); });
}

bool EpisodeRepository::remove(std::int64_t id) {
  Values values{id};
  return core_->write([&](sql::Connection& c) { return detail::execute(c, core_->tables.episodes.delete_by_id, values) > 0; });
}

std::vector<Episode> EpisodeRepository::most_important(std::int64_t limit) {
  const std::string sql = core_->dialect->paginate(ordered(core_->tables.episodes, "", "importance", true), limit, 0);
  return core_->read([&](sql::Connection& c) { return detail::query_all<Episode>(c, sql, {}, read_episode); });
}

// ---- personality state ----

namespace {
constexpr std::int64_t kPersonalityRow = 1;
Error personality_missing() {
  return Error(ErrorKind::not_found, "personality_state row 1 does not exist: the database schema is not initialised");
}
}  // namespace

PersonalityState PersonalityRepository::get() {
  Values values{kPersonalityRow};
  auto state = core_->read([&](sql::Connection& c) {
    return detail::query_one<PersonalityState>(c, core_->tables.personality_state.select_by_id, values, read_personality);
  });
  if (!state) throw personality_missing();
  return *state;
}

PersonalityState PersonalityRepository::update(const PersonalityState& state) {
  validate(state);
  PersonalityState stored = state;
  stored.updated_at = sql::now_utc();
  Values values{stored.current_mood,      stored.mood_intensity,     stored.energy_level,     stored.verbosity,
                stored.formality,         stored.humor,              stored.depth,            stored.emotional_support,
                stored.question_frequency, stored.total_interactions, stored.positive_signals, stored.negative_signals,
                opt(stored.last_interaction), stored.updated_at,     kPersonalityRow};
  bool found = core_->write([&](sql::Connection& c) {
    return detail::execute(c, core_->tables.personality_state.update_by_id, values) > 0;
  });
  if (!found) throw personality_missing();
  return stored;
}

// ---- state events ----

namespace {
Values state_event_values(const StateEvent& e) {
  return Values{e.timestamp,         std::int64_t{e.hour},  std::int64_t{e.day_of_week}, opt(e.transcript),
                opt(e.emotion),      opt(e.volume),         opt(e.speech_speed),         opt(e.speech_duration),
                opt(e.pc_active),    opt(e.active_app),     opt(e.idle_seconds),         e.inferred_state};
}
}  // namespace

StateEvent StateEventRepository::add(const StateEvent& event) {
  validate(event);
  StateEvent stored = event;
  Values values = state_event_values(event);
  stored.id = core_->write([&](sql::Connection& c) {
    return detail::insert_returning_id(c, core_->tables.state_events, values);
  });
  return stored;
}

std::optional<StateEvent> StateEventRepository::get(std::int64_t id) {
  Values values{id};
  return core_->read([&](sql::Connection& c) {
    return detail::query_one<StateEvent>(c, core_->tables.state_events.select_by_id, values, read_state_event);
  });
}

bool StateEventRepository::update(const StateEvent& event) {
  validate(event);
  Values values = state_event_values(event);
  values.emplace_back(event.id);
  return core_->write(
      [&](sql::Connection& c) { return detail::execute(c, core_->tables.state_events.update_by_id, values) > 0; });
}

bool StateEventRepository::remove(std::int64_t id) {
  Values values{id};
  return core_->write(
      [&](sql::Connection& c) { return detail::execute(c, core_->tables.state_events.delete_by_id, values) > 0; });
}

std::vector<StateEvent> StateEventRepository::by_hour(int hour) {
  const auto& t = core_->tables.state_events;
  const std::string sql = ordered(t, t.q("hour") + " = ?", "timestamp");
  Values values{std::int64_t{hour}};
  return core_->read([&](sql::Connection& c) { return detail::query_all<StateEvent>(c, sql, values, read_state_event); });
}

std::vector<StateEvent> StateEventRepository::between(Timestamp from, Timestamp to) {
  const auto& t = core_->tables.state_events;
  const std::string sql = ordered(t, t.q("timestamp") + " >= ? AND " + t.q("timestamp") + " < ?", "timestamp");
  Values values{from, to};
  return core_->read([&](sql::Connection& c) { return detail::query_all<StateEvent>(c, sql, values, read_state_event); });
}

// ---- tasks ----

Task TaskRepository::add(const Task& task) {
  validate(task);
  Task stored = task;
  stored.created_at = stored.updated_at = sql::now_utc();
  Values values{stored.title,     opt(stored.description),  opt(stored.due_date), stored.priority,
                stored.completed, opt(stored.completed_at), stored.created_at,    stored.updated_at};
  stored.id = core_->write(
      [&](sql::Connection& c) { return detail::insert_returning_id(c, core_->tables.tasks, values); });
  return stored;
}

std::optional<Task> TaskRepository::get(std::int64_t id) {
  Values values{id};
  return core_->read(
      [&](sql::Connection& c) { return detail::query_one<Task>(c, core_->tables.tasks.select_by_id, values, read_task); });
}

bool TaskRepository::update(const Task& task) {
  validate(task);
  Values values{task.title,     opt(task.description),  opt(task.due_date), task.priority,
                task.completed, opt(task.completed_at), sql::now_utc(),     task.id};
  return core_->write([&](sql::Connection& c) { return detail::execute(c, core_->tables.tasks.update_by_id, values) > 0; });
}

bool TaskRepository::remove(std::int64_t id) {
  Values values{id};
  return core_->write([&](sql::Connection& c) { return detail::execute(c, core_->tables.tasks.delete_by_id, values) > 0; });
}

bool TaskRepository::complete(std::int64_t id) {
  const auto& t = core_->tables.tasks;
  const std::string sql = "UPDATE " + t.name + " SET " + t.q("completed") + " = ?, " + t.q("completed_at") + " = ?, " +
                          t.q("updated_at") + " = ? WHERE " + t.q("id") + " = ?";
  const Timestamp now = sql::now_utc();
  Values values{true, now, now, id};
  return core_->write([&](sql::Connection& c) { return detail::execute(c, sql, values) > 0; });
}

std::vector<Task> TaskRepository::incomplete_past_due(Timestamp now) {
  const auto& t = core_->tables.tasks;
  const std::string sql = ordered(
      t, t.q("completed") + " = ? AND " + t.q("due_date") + " IS NOT NULL AND " + t.q("due_date") + " < ?", "due_date");
  Values values{false, now};
  return core_->read([&](sql::Connection& c) { return detail::query_all<Task>(c, sql, values, read_task); });
}

// ---- calendar events ----

CalendarEvent CalendarEventRepository::add(const CalendarEvent& event) {
  validate(event);
  CalendarEvent stored = event;
  stored.created_at = sql::now_utc();
  Values values{stored.title,         opt(stored.description), stored.start_datetime, opt(stored.end_datetime),
                opt(stored.recurring), opt(stored.location),   stored.created_at};
  stored.id = core_->write([&](sql::Connection& c) {
    return detail::insert_returning_id(c, core_->tables.calendar_events, values);
  });
  return stored;
}

std::optional<CalendarEvent> CalendarEventRepository::get(std::int64_t id) {
  Values values{id};
  return core_->read([&](sql::Connection& c) {
    return detail::query_one<CalendarEvent>(c, core_->tables.calendar_events.select_by_id, values, read_calendar_event);
  });
}

bool CalendarEventRepository::update(const CalendarEvent& event) {
  validate(event);
  Values values{event.title,         opt(event.description), event.start_datetime, opt(event.end_datetime),
                opt(event.recurring), opt(event.location),   event.id};
  return core_->write(
      [&](sql::Connection& c) { return detail::execute(c, core_->tables.calendar_events.update_by_id, values) > 0; });
}

bool CalendarEventRepository::remove(std::int64_t id) {
  Values values{id};
  return core_->write(
      [&](sql::Connection& c) { return detail::execute(c, core_->tables.calendar_events.delete_by_id, values) > 0; });
}

std::vector<CalendarEvent> CalendarEventRepository::starting_between(Timestamp from, Timestamp to) {
  const auto& t = core_->tables.calendar_events;
  const std::string sql =
      ordered(t, t.q("start_datetime") + " >= ? AND " + t.q("start_datetime") + " < ?", "start_datetime");
  Values values{from, to};
  return core_->read(
      [&](sql::Connection& c) { return detail::query_all<CalendarEvent>(c, sql, values, read_calendar_event); });
}

// ---- proactive log ----

ProactiveMessage ProactiveLogRepository::add(const ProactiveMessage& message) {
  validate(message);
  ProactiveMessage stored = message;
  stored.sent_at = sql::now_utc();
  Values values{stored.message, opt(stored.reason), stored.sent_at};
  stored.id = core_->write([&](sql::Connection& c) {
    return detail::insert_returning_id(c, core_->tables.proactive_log, values);
  });
  return stored;
}

std::optional<ProactiveMessage> ProactiveLogRepository::get(std::int64_t id) {
  Values values{id};
  return core_->read([&](sql::Connection& c) {
    return detail::query_one<ProactiveMessage>(c, core_->tables.proactive_log.select_by_id, values, read_proactive);
  });
}

bool ProactiveLogRepository::update(const ProactiveMessage& message) {
  validate(message);
  Values values{message.message, opt(message.reason), message.id};
  return core_->write(
      [&](sql::Connection& c) { return detail::execute(c, core_->tables.proactive_log.update_by_id, values) > 0; });
}

bool ProactiveLogRepository::remove(std::int64_t id) {
  Values values{id};
  return core_->write(
      [&](sql::Connection& c) { return detail::execute(c, core_->tables.proactive_log.delete_by_id, values) > 0; });
}

std::optional<ProactiveMessage> ProactiveLogRepository::last_for_reason(std::string_view reason) {
  const auto& t = core_->tables.proactive_log;
  const std::string sql = core_->dialect->paginate(ordered(t, t.q("reason") + " = ?", "sent_at", true), 1, 0);
  Values values{std::string(reason)};
  return core_->read([&](sql::Connection& c) { return detail::query_one<ProactiveMessage>(c, sql, values, read_proactive); });
}

// ---- audit log ----

AuditEntry AuditLogRepository::append(const AuditEntry& entry) {
  validate(entry);
  AuditEntry stored = entry;
  stored.ts = sql::now_utc();
  Values values{stored.ts,  opt(stored.conversation_id), stored.tool,   opt(stored.args),
                opt(stored.result), opt(stored.mode),    stored.status, opt(stored.duration_ms)};
  stored.id = core_->write([&](sql::Connection& c) {
    return detail::insert_returning_id(c, core_->tables.audit_log, values);
  });
  return stored;
}

std::optional<AuditEntry> AuditLogRepository::get(std::int64_t id) {
  Values values{id};
  return core_->read([&](sql::Connection& c) {
    return detail::query_one<AuditEntry>(c, core_->tables.audit_log.select_by_id, values, read_audit);
  });
}

std::vector<AuditEntry> AuditLogRepository::recent(Page page) {
  const std::string sql = core_->dialect->paginate(ordered(core_->tables.audit_log, "", "ts", true), page.limit, page.offset);
  return core_->read([&](sql::Connection& c) { return detail::query_all<AuditEntry>(c, sql, {}, read_audit); });
}

std::vector<AuditEntry> AuditLogRepository::for_conversation(std::int64_t conversation_id) {
  const auto& t = core_->tables.audit_log;
  const std::string sql = ordered(t, t.q("conversation_id") + " = ?", "ts");
  Values values{conversation_id};
  return core_->read([&](sql::Connection& c) { return detail::query_all<AuditEntry>(c, sql, values, read_audit); });
}

}  // namespace lunadb::store
