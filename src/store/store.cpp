#include "lunadb/store.hpp"

#include "store/core.hpp"

namespace lunadb::store {

namespace detail {

namespace {

std::string join_quoted(const sql::Dialect& dialect, const std::vector<std::string>& names,
                        std::string_view suffix = "") {
  std::string out;
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (i > 0) out += ", ";
    out += dialect.quote(names[i]);
    out += suffix;
  }
  return out;
}

}  // namespace

TableSql::TableSql(const sql::Dialect& dialect_ref, bool returning_id, std::string table,
                   std::vector<std::string> columns, const std::vector<std::string>& update_columns)
    : dialect(&dialect_ref) {
  name = q(table);
  column_list = join_quoted(dialect_ref, columns);
  select = "SELECT " + column_list + " FROM " + name;
  select_by_id = select + " WHERE " + q("id") + " = ?";
  std::vector<std::string> insert_columns(columns.begin() + 1, columns.end());
  returning = returning_id && dialect_ref.insert_returns_row();
  insert = dialect_ref.insert(table, insert_columns, returning);
  if (!update_columns.empty()) {
    update_by_id = "UPDATE " + name + " SET " + join_quoted(dialect_ref, update_columns, " = ?") + " WHERE " + q("id") +
                   " = ?";
  }
  delete_by_id = "DELETE FROM " + name + " WHERE " + q("id") + " = ?";
}

Tables::Tables(const sql::Dialect& d, bool r)
    : conversations(d, r, "conversations",
                    {"id", "title", "summary", "metadata", "started_at", "updated_at", "ended_at", "message_count"},
                    {"title", "summary", "metadata", "ended_at", "updated_at"}),
      messages(d, r, "messages", {"id", "conversation_id", "role", "content", "created_at", "sentiment_score"},
               {"role", "content", "sentiment_score"}),
      facts(d, r, "facts",
            {"id", "category", "content", "memory_type", "importance", "confidence", "source",
             "source_conversation_id", "is_active", "is_private", "superseded_by", "expires_at", "created_at",
             "updated_at", "last_accessed"},
            {"category", "content", "memory_type", "importance", "confidence", "source", "source_conversation_id",
             "is_active", "is_private", "superseded_by", "expires_at", "updated_at", "last_accessed"}),
      fact_relationships(d, r, "fact_relationships",
                         {"id", "fact_id_a", "fact_id_b", "relationship", "confidence", "note", "created_at",
                          "updated_at"},
                         {"relationship", "confidence", "note", "updated_at"}),
      episodes(d, r, "episodes",
               {"id", "conversation_id", "summary", "key_fact_ids", "key_entities", "importance", "created_at",
                "updated_at"},
               {"summary", "key_fact_ids", "key_entities", "importance", "updated_at"}),
      personality_state(d, r, "personality_state",
                        {"id", "current_mood", "mood_intensity", "energy_level", "verbosity", "formality", "humor",
                         "depth", "emotional_support", "question_frequency", "total_interactions",
                         "positive_signals", "negative_signals", "last_interaction", "updated_at"},
                        {"current_mood", "mood_intensity", "energy_level", "verbosity", "formality", "humor", "depth",
                         "emotional_support", "question_frequency", "total_interactions", "positive_signals",
                         "negative_signals", "last_interaction", "updated_at"}),
      state_events(d, r, "state_events",
                   {"id", "timestamp", "hour", "day_of_week", "transcript", "emotion", "volume", "speech_speed",
                    "speech_duration", "pc_active", "active_app", "idle_seconds", "inferred_state"},
                   {"timestamp", "hour", "day_of_week", "transcript", "emotion", "volume", "speech_speed",
                    "speech_duration", "pc_active", "active_app", "idle_seconds", "inferred_state"}),
      tasks(d, r, "tasks",
            {"id", "title", "description", "due_date", "priority", "completed", "completed_at", "created_at",
             "updated_at"},
            {"title", "description", "due_date", "priority", "completed", "completed_at", "updated_at"}),
      calendar_events(d, r, "calendar_events",
                      {"id", "title", "description", "start_datetime", "end_datetime", "recurring", "location",
                       "created_at"},
                      {"title", "description", "start_datetime", "end_datetime", "recurring", "location"}),
      proactive_log(d, r, "proactive_log", {"id", "message", "reason", "sent_at"}, {"message", "reason"}),
      audit_log(d, r, "audit_log",
                {"id", "ts", "conversation_id", "tool", "args", "result", "mode", "status", "duration_ms"}, {}),
      contradiction_notes(d, r, "contradiction_notes",
                          {"id", "new_fact_id", "old_fact_id", "conversation_id", "note", "created_at",
                           "consumed_at"},
                          {"conversation_id", "note", "consumed_at"}) {}

std::int64_t run_insert(sql::Connection& connection, const TableSql& table, sql::Statement& statement) {
  std::int64_t id = 0;
  if (table.returning) {
    if (!statement.step()) throw Error(ErrorKind::internal, "INSERT into " + table.name + " returned no id");
    id = statement.get_int64(0);
    while (statement.step()) {
    }
  } else {
    statement.execute();
    id = connection.last_insert_id();
  }
  statement.reset();
  return id;
}

std::int64_t insert_returning_id(sql::Connection& connection, const TableSql& table, std::span<const sql::Value> values) {
  auto statement = connection.prepare(table.insert);
  statement->bind_all(values);
  return run_insert(connection, table, *statement);
}

std::int64_t execute(sql::Connection& connection, const std::string& sql, std::span<const sql::Value> values) {
  auto statement = connection.prepare(sql);
  statement->bind_all(values);
  return statement->execute();
}

std::string in_placeholders(std::size_t count) {
  std::string out = " IN (";
  for (std::size_t i = 0; i < count; ++i) out += i == 0 ? "?" : ", ?";
  return out + ")";
}

}  // namespace detail

Store::Store(std::unique_ptr<detail::StoreCore> core) : core_(std::move(core)) { wire_repositories(); }

Store::Store(sql::ConnectionSource& source) : Store(std::make_unique<detail::StoreCore>(nullptr, source)) {}

Store Store::open(const Settings& settings) {
  auto source = sql::make_connection_source(settings);
  auto& source_ref = *source;
  return Store(std::make_unique<detail::StoreCore>(std::move(source), source_ref));
}

Store::Store(Store&&) noexcept = default;
Store& Store::operator=(Store&&) noexcept = default;
Store::~Store() = default;

void Store::wire_repositories() {
  auto& core = *core_;
  conversations_.reset(new ConversationRepository(core));
  messages_.reset(new MessageRepository(core));
  facts_.reset(new FactRepository(core));
  fact_relationships_.reset(new FactRelationshipRepository(core));
  episodes_.reset(new EpisodeRepository(core));
  personality_.reset(new PersonalityRepository(core));
  state_events_.reset(new StateEventRepository(core));
  tasks_.reset(new TaskRepository(core));
  calendar_events_.reset(new CalendarEventRepository(core));
  proactive_log_.reset(new ProactiveLogRepository(core));
  audit_log_.reset(new AuditLogRepository(core));
  contradiction_notes_.reset(new ContradictionNoteRepository(core));
}

Backend Store::backend() const { return core_->source->backend(); }

sql::ConnectionSource& Store::connection_source() { return *core_->source; }

}  // namespace lunadb::store
