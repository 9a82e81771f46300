// The schema as built: Luna's own seventeen tables (Luna's models and its alembic revision 001 are
// the compatibility contract: a database Luna made must be one lunadb reads, and the reverse), the
// indexes Luna's models declare, and lunadb's additions: the seed's audit_log and
// contradiction_notes tables, a few nullable columns and the indexes of the store's queries.
// docs/schema.md states it table by table; the revisions under migrations/versions build it.
//
// What follows from Luna's contract:
//   - ids are Luna's Integer (32-bit) primary keys; foreign keys are Integer and have no ON DELETE
//     action, as Luna's: the store deletes dependants itself, in the same transaction.
//   - no CHECK constraints: Luna writes enumerations in whatever case its code uses
//     ('contradicts', 'pattern_mining', any proactive reason), so the set of values is open.
//   - nullability is Luna's: only what Luna declares nullable=False is NOT NULL. Server defaults
//     equal Luna's Python-side defaults (constants only; timestamps are always written by the
//     writer, as Luna's ORM does, because a database's "now" is not UTC on every backend).
//   - Luna's String has no length: string() with length 0, which SQLite and PostgreSQL render as
//     VARCHAR and MySQL / SQL Server, which need a length, as VARCHAR(255) / NVARCHAR(255).
//   - columns Luna reads with json.loads (episodes.key_fact_ids, traces.attributes, ...) are TEXT,
//     as in Luna; feedback_log.response_features is Luna's one JSON column.
//
// Names are deterministic: pk_<table>, fk_<table>_<column>_<referred table>, uq_<table>_<columns>,
// ix_<table>_<columns> (Luna's own index names follow the same ix_ rule).
#include <initializer_list>

#include "schema/model.hpp"

namespace lunadb::schema {

namespace {

ColumnType id() { return {TypeKind::id, 0}; }
ColumnType integer() { return {TypeKind::integer, 0}; }
ColumnType real() { return {TypeKind::real, 0}; }
ColumnType boolean() { return {TypeKind::boolean, 0}; }
ColumnType str(int length = 0) { return {TypeKind::string, length}; }
ColumnType text() { return {TypeKind::text, 0}; }
ColumnType json() { return {TypeKind::json, 0}; }
ColumnType timestamp() { return {TypeKind::timestamp, 0}; }

constexpr bool null = true;
constexpr bool not_null = false;

Column column(std::string name, ColumnType type, bool nullable, DefaultValue default_value = {}) {
  return Column{std::move(name), type, nullable, std::move(default_value)};
}

std::string joined(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& name : names) out += (out.empty() ? "" : "_") + name;
  return out;
}

class TableBuilder {
 public:
  TableBuilder(std::string name, std::vector<Column> columns) {
    table_.name = std::move(name);
    table_.columns = std::move(columns);
    table_.primary_key_name = "pk_" + table_.name;
    table_.primary_key = {"id"};
  }
  TableBuilder& foreign_key(const std::string& column, const std::string& referred,
                            OnDelete on_delete = OnDelete::no_action) {
    table_.foreign_keys.push_back(
        {"fk_" + table_.name + "_" + column + "_" + referred, {column}, referred, {"id"}, on_delete});
    return *this;
  }
  TableBuilder& unique(const std::vector<std::string>& columns) {
    table_.uniques.push_back({"uq_" + table_.name + "_" + joined(columns), columns});
    return *this;
  }
  TableBuilder& check(const std::string& what, std::string expression) {
    table_.checks.push_back({"ck_" + table_.name + "_" + what, std::move(expression)});
    return *this;
  }
  TableBuilder& one_of(const std::string& column, std::initializer_list<const char*> values) {
    std::string expression = "{" + column + "} IN (";
    bool first = true;
    for (const char* value : values) {
      expression += std::string(first ? "" : ", ") + "'" + value + "'";
      first = false;
    }
    return check(column, expression + ")");
  }
  TableBuilder& between(const std::string& column, const char* low, const char* high) {
    return check(column, "{" + column + "} BETWEEN " + low + " AND " + high);
  }
  TableBuilder& index(const std::vector<std::string>& columns) {
    table_.indexes.push_back({"ix_" + table_.name + "_" + joined(columns), columns, false});
    return *this;
  }
  TableBuilder& unique_index(const std::vector<std::string>& columns) {
    table_.indexes.push_back({"ix_" + table_.name + "_" + joined(columns), columns, true});
    return *this;
  }
  Table build() { return std::move(table_); }

 private:
  Table table_;
};

Schema build_luna_schema() {
  Schema schema;
  auto& tables = schema.tables;

  // ---- revision 001: Luna's seventeen tables, as Luna's alembic/versions/001_initial_schema.py
  //      creates them (its order, columns, nullability, foreign keys, ix_<table>_id indexes) ----

  tables.push_back(TableBuilder("conversations", {
                                                     column("id", id(), not_null),
                                                     column("title", str(), null),
                                                     column("summary", text(), null),
                                                     column("started_at", timestamp(), null),
                                                     column("ended_at", timestamp(), null),
                                                     column("message_count", integer(), null, std::int64_t{0}),
                                                     // lunadb additions (revision a3d94c7e5f20)
                                                     column("metadata", json(), null),
                                                     column("updated_at", timestamp(), null),
                                                 })
                       .index({"id"})
                       .build());

  tables.push_back(TableBuilder("messages", {
                                                column("id", id(), not_null),
                                                column("conversation_id", integer(), not_null),
                                                column("role", str(), not_null),
                                                column("content", text(), not_null),
                                                column("created_at", timestamp(), null),
                                                column("sentiment_score", real(), null),
                                            })
                       .foreign_key("conversation_id", "conversations")
                       .index({"id"})
                       .index({"conversation_id", "created_at"})
                       .build());

  tables.push_back(TableBuilder("facts", {
                                             column("id", id(), not_null),
                                             column("category", str(), not_null),
                                             column("content", text(), not_null),
                                             column("confidence", real(), null, 1.0),
                                             column("source_conversation_id", integer(), null),
                                             column("created_at", timestamp(), null),
                                             column("updated_at", timestamp(), null),
                                             column("is_active", boolean(), null, true),
                                             column("importance", real(), null, 0.5),
                                             column("expires_at", timestamp(), null),
                                             column("is_private", boolean(), null, false),
                                             column("source", str(), null, std::string("inferred")),
                                             column("superseded_by", integer(), null),
                                             column("memory_type", str(), null, std::string("long")),
                                             // lunadb addition (revision a3d94c7e5f20)
                                             column("last_accessed", timestamp(), null),
                                         })
                       .foreign_key("source_conversation_id", "conversations")
                       .foreign_key("superseded_by", "facts")
                       .index({"id"})
                       .index({"is_active", "category"})
                       .index({"expires_at"})
                       .index({"last_accessed"})
                       .build());

  tables.push_back(TableBuilder("fact_relationships", {
                                                          column("id", id(), not_null),
                                                          column("fact_id_a", integer(), not_null),
                                                          column("fact_id_b", integer(), not_null),
                                                          column("relationship", str(), not_null),
                                                          column("confidence", real(), null, 0.8),
                                                          column("note", text(), null),
                                                          column("created_at", timestamp(), null),
                                                          // lunadb addition (revision a3d94c7e5f20)
                                                          column("updated_at", timestamp(), null),
                                                      })
                       .foreign_key("fact_id_a", "facts")
                       .foreign_key("fact_id_b", "facts")
                       .index({"id"})
                       .index({"fact_id_a", "fact_id_b"})
                       .index({"fact_id_b"})
                       .build());

  tables.push_back(TableBuilder("tasks", {
                                             column("id", id(), not_null),
                                             column("title", str(), not_null),
                                             column("description", text(), null),
                                             column("due_date", timestamp(), null),
                                             column("completed", boolean(), null, false),
                                             column("completed_at", timestamp(), null),
                                             column("priority", str(), null, std::string("medium")),
                                             column("created_at", timestamp(), null),
                                             // lunadb addition (revision a3d94c7e5f20)
                                             column("updated_at", timestamp(), null),
                                         })
                       .index({"id"})
                       .index({"completed", "due_date"})
                       .build());

  tables.push_back(TableBuilder("calendar_events", {
                                                       column("id", id(), not_null),
                                                       column("title", str(), not_null),
                                                       column("description", text(), null),
                                                       column("start_datetime", timestamp(), not_null),
                                                       column("end_datetime", timestamp(), null),
                                                       column("recurring", str(), null),
                                                       column("location", str(), null),
                                                       column("created_at", timestamp(), null),
                                                   })
                       .index({"id"})
                       .index({"start_datetime"})
                       .build());

  tables.push_back(TableBuilder("personality_state", {
                                                         column("id", id(), not_null),
                                                         column("verbosity", real(), null, 0.5),
                                                         column("formality", real(), null, 0.35),
                                                         column("humor", real(), null, 0.6),
                                                         column("depth", real(), null, 0.55),
                                                         column("emotional_support", real(), null, 0.7),
                                                         column("question_frequency", real(), null, 0.5),
                                                         column("current_mood", str(), null, std::string("neutral")),
                                                         column("mood_intensity", real(), null, 0.5),
                                                         column("energy_level", real(), null, 1.0),
                                                         column("total_interactions", integer(), null, std::int64_t{0}),
                                                         column("positive_signals", integer(), null, std::int64_t{0}),
                                                         column("negative_signals", integer(), null, std::int64_t{0}),
                                                         column("last_interaction", timestamp(), null),
                                                         column("updated_at", timestamp(), null),
                                                     })
                       .build());

  tables.push_back(TableBuilder("feedback_log", {
                                                    column("id", id(), not_null),
                                                    column("conversation_id", integer(), null),
                                                    column("reward_signal", real(), not_null),
                                                    column("response_features", json(), null),
                                                    column("created_at", timestamp(), null),
                                                })
                       .foreign_key("conversation_id", "conversations")
                       .index({"id"})
                       .build());

  tables.push_back(TableBuilder("proactive_log", {
                                                     column("id", id(), not_null),
                                                     column("message", text(), not_null),
                                                     column("reason", str(), null),
                                                     column("sent_at", timestamp(), null),
                                                 })
                       .index({"id"})
                       .index({"reason", "sent_at"})
                       .build());

  tables.push_back(TableBuilder("state_events", {
                                                    column("id", id(), not_null),
                                                    column("timestamp", timestamp(), null),
                                                    column("hour", integer(), not_null),
                                                    column("day_of_week", integer(), not_null),
                                                    column("transcript", text(), null),
                                                    column("emotion", str(), null),
                                                    column("volume", real(), null),
                                                    column("speech_speed", real(), null),
                                                    column("speech_duration", real(), null),
                                                    column("pc_active", boolean(), null),
                                                    column("active_app", str(), null),
                                                    column("idle_seconds", integer(), null),
                                                    column("inferred_state", str(), not_null),
                                                })
                       .index({"id"})
                       .index({"timestamp"})
                       .build());

  tables.push_back(TableBuilder("sleep_logs", {
                                                  column("id", id(), not_null),
                                                  column("sleep_start", timestamp(), not_null),
                                                  column("sleep_end", timestamp(), null),
                                                  column("duration_minutes", real(), null),
                                                  column("label", str(), null),
                                                  column("created_at", timestamp(), null),
                                              })
                       .index({"id"})
                       .build());

  tables.push_back(TableBuilder("traces", {
                                              column("id", id(), not_null),
                                              column("span_id", str(), not_null),
                                              column("parent_id", str(), null),
                                              column("name", str(), not_null),
                                              column("conversation_id", integer(), null),
                                              column("start_time", real(), not_null),
                                              column("end_time", real(), null),
                                              column("latency_ms", real(), null),
                                              column("status", str(), null, std::string("ok")),
                                              column("attributes", text(), null),
                                              column("cost_usd", real(), null, 0.0),
                                              column("created_at", timestamp(), null),
                                          })
                       .foreign_key("conversation_id", "conversations")
                       .unique({"span_id"})
                       .index({"id"})
                       .unique_index({"span_id"})
                       .build());

  tables.push_back(TableBuilder("episodes", {
                                                column("id", id(), not_null),
                                                column("conversation_id", integer(), not_null),
                                                column("summary", text(), not_null),
                                                column("key_fact_ids", text(), null),
                                                column("key_entities", text(), null),
                                                column("importance", real(), null, 0.5),
                                                column("created_at", timestamp(), null),
                                                // lunadb addition (revision a3d94c7e5f20)
                                                column("updated_at", timestamp(), null),
                                            })
                       .foreign_key("conversation_id", "conversations")
                       .unique({"conversation_id"})
                       .index({"id"})
                       .unique_index({"conversation_id"})
                       .index({"created_at"})
                       .index({"importance"})
                       .build());

  tables.push_back(TableBuilder("benchmark_results", {
                                                         column("id", id(), not_null),
                                                         column("suite", str(), not_null),
                                                         column("timestamp", real(), not_null),
                                                         column("metrics", text(), null),
                                                         column("errors", text(), null),
                                                         column("duration_s", real(), null),
                                                         column("created_at", timestamp(), null),
                                                     })
                       .index({"id"})
                       .index({"suite"})
                       .build());

  tables.push_back(TableBuilder("plan_records", {
                                                    column("id", id(), not_null),
                                                    column("plan_id", str(), not_null),
                                                    column("goal", text(), not_null),
                                                    column("conversation_id", integer(), null),
                                                    column("status", str(), not_null),
                                                    column("steps_json", text(), null),
                                                    column("critique_json", text(), null),
                                                    column("created_at", real(), null),
                                                    column("completed_at", real(), null),
                                                })
                       .foreign_key("conversation_id", "conversations")
                       .unique({"plan_id"})
                       .index({"id"})
                       .unique_index({"plan_id"})
                       .build());

  tables.push_back(TableBuilder("health_metrics", {
                                                      column("id", id(), not_null),
                                                      column("platform", str(), not_null),
                                                      column("metric_type", str(), not_null),
                                                      column("value", real(), not_null),
                                                      column("unit", str(), null),
                                                      column("date_str", str(), not_null),
                                                      column("timestamp", timestamp(), null),
                                                      column("raw_json", text(), null),
                                                      column("created_at", timestamp(), null),
                                                  })
                       .index({"id"})
                       .index({"platform"})
                       .index({"metric_type"})
                       .index({"date_str"})
                       .build());

  tables.push_back(TableBuilder("health_syncs", {
                                                    column("id", id(), not_null),
                                                    column("platform", str(), not_null),
                                                    column("last_sync_at", timestamp(), null),
                                                    column("status", str(), null, std::string("never")),
                                                    column("metrics_synced", integer(), null, std::int64_t{0}),
                                                    column("error_message", text(), null),
                                                    column("updated_at", timestamp(), null),
                                                })
                       .unique({"platform"})
                       .index({"id"})
                       .build());

  // ---- revision a3d94c7e5f20: the seed's two tables that Luna does not have ----

  tables.push_back(TableBuilder("audit_log", {
                                                 column("id", id(), not_null),
                                                 column("ts", timestamp(), not_null),
                                                 column("conversation_id", integer(), null),
                                                 column("tool", str(128), not_null),
                                                 column("args", json(), null),
                                                 column("result", text(), null),
                                                 column("mode", str(16), null),
                                                 column("status", str(16), not_null),
                                                 column("duration_ms", integer(), null),
                                             })
                       .foreign_key("conversation_id", "conversations")
                       .index({"ts"})
                       .index({"conversation_id"})
                       .build());

  tables.push_back(TableBuilder("contradiction_notes", {
                                                           column("id", id(), not_null),
                                                           column("new_fact_id", integer(), not_null),
                                                           column("old_fact_id", integer(), not_null),
                                                           column("conversation_id", integer(), null),
                                                           column("note", text(), not_null),
                                                           column("created_at", timestamp(), not_null),
                                                           column("consumed_at", timestamp(), null),
                                                       })
                       .foreign_key("new_fact_id", "facts")
                       .foreign_key("old_fact_id", "facts")
                       .foreign_key("conversation_id", "conversations")
                       .index({"new_fact_id"})
                       .index({"old_fact_id"})
                       .build());

  // ---- revision c8e41b7d2a90: the memory engine's outbox and collection records (docs/memory.md);
  // its keyword indexes are raw SQL in that revision, outside the model ----

  tables.push_back(TableBuilder("memory_outbox", {
                                                     column("id", id(), not_null),
                                                     column("kind", str(16), not_null),
                                                     column("row_id", integer(), not_null),
                                                     column("created_at", timestamp(), not_null),
                                                     column("attempts", integer(), not_null, std::int64_t{0}),
                                                     column("next_attempt_at", timestamp(), null),
                                                     column("last_error", text(), null),
                                                 })
                       .index({"kind", "row_id"})
                       .build());

  tables.push_back(TableBuilder("memory_collections", {
                                                          column("id", id(), not_null),
                                                          column("kind", str(16), not_null),
                                                          column("collection", str(128), not_null),
                                                          column("model", str(255), null),
                                                          column("dimension", integer(), null),
                                                          column("generation", integer(), not_null, std::int64_t{1}),
                                                          column("next_collection", str(128), null),
                                                          column("next_model", str(255), null),
                                                          column("next_after_id", integer(), null),
                                                          column("updated_at", timestamp(), not_null),
                                                      })
                       .unique({"kind"})
                       .build());

  return schema;
}

}  // namespace

const Schema& luna_schema() {
  static const Schema schema = build_luna_schema();
  return schema;
}

}  // namespace lunadb::schema
