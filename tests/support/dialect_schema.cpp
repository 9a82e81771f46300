// A schema for the dialect tests: twelve tables that use every feature a dialect renders (CHECK
// constraints over enumerations and ranges, ON DELETE CASCADE and SET NULL, named uniques,
// CURRENT_TIMESTAMP defaults, bounded strings, JSON). It is lunadb's first, pre-Luna schema
// (shared/spec/schema.md), kept here because Luna's own schema, which the product now builds,
// uses few of these features; foreign keys are 32-bit, as the ids are.
#include "support/dialect_schema.hpp"

#include <initializer_list>

namespace lunadb::test {

using namespace schema;

namespace {


ColumnType id() { return {TypeKind::id, 0}; }
ColumnType smallint() { return {TypeKind::smallint, 0}; }
ColumnType integer() { return {TypeKind::integer, 0}; }
ColumnType bigint() { return {TypeKind::integer, 0}; }  // references 32-bit ids
ColumnType real() { return {TypeKind::real, 0}; }
ColumnType boolean() { return {TypeKind::boolean, 0}; }
ColumnType str(int length) { return {TypeKind::string, length}; }
ColumnType text() { return {TypeKind::text, 0}; }
ColumnType json() { return {TypeKind::json, 0}; }
ColumnType timestamp() { return {TypeKind::timestamp, 0}; }

constexpr bool null = true;
constexpr bool not_null = false;
const DefaultValue now = CurrentTimestamp{};

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
  TableBuilder& foreign_key(const std::string& column, const std::string& referred, OnDelete on_delete) {
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
  Table build() { return std::move(table_); }

 private:
  Table table_;
};

Schema build_dialect_test_schema() {
  Schema schema;
  auto& tables = schema.tables;

  tables.push_back(TableBuilder("conversations", {
                                                     column("id", id(), not_null),
                                                     column("title", str(255), null),
                                                     column("summary", text(), null),
                                                     column("metadata", json(), null),
                                                     column("started_at", timestamp(), not_null, now),
                                                     column("updated_at", timestamp(), not_null, now),
                                                     column("ended_at", timestamp(), null),
                                                     column("message_count", integer(), not_null, std::int64_t{0}),
                                                 })
                       .index({"updated_at"})
                       .build());

  tables.push_back(TableBuilder("messages", {
                                                column("id", id(), not_null),
                                                column("conversation_id", bigint(), not_null),
                                                column("role", str(16), not_null),
                                                column("content", text(), not_null),
                                                column("created_at", timestamp(), not_null, now),
                                                column("sentiment_score", real(), null),
                                            })
                       .foreign_key("conversation_id", "conversations", OnDelete::cascade)
                       .one_of("role", {"user", "assistant", "system", "tool"})
                       .between("sentiment_score", "-1", "1")
                       .index({"conversation_id", "created_at"})
                       .build());

  tables.push_back(TableBuilder("facts", {
                                             column("id", id(), not_null),
                                             column("category", str(64), not_null),
                                             column("content", text(), not_null),
                                             column("memory_type", str(16), not_null, std::string("long")),
                                             column("importance", real(), not_null, 0.7),
                                             column("confidence", real(), not_null, 0.85),
                                             column("source", str(32), not_null, std::string("conversation")),
                                             column("source_conversation_id", bigint(), null),
                                             column("is_active", boolean(), not_null, true),
                                             column("is_private", boolean(), not_null, false),
                                             column("superseded_by", bigint(), null),
                                             column("expires_at", timestamp(), null),
                                             column("created_at", timestamp(), not_null, now),
                                             column("updated_at", timestamp(), not_null, now),
                                             column("last_accessed", timestamp(), null),
                                         })
                       .foreign_key("source_conversation_id", "conversations", OnDelete::set_null)
                       .foreign_key("superseded_by", "facts", OnDelete::set_null)
                       .one_of("memory_type", {"short", "long", "persistent"})
                       .between("importance", "0", "1")
                       .between("confidence", "0", "1")
                       .one_of("source", {"conversation", "explicit", "inferred", "observed", "compaction"})
                       .index({"is_active", "category"})
                       .index({"expires_at"})
                       .index({"last_accessed"})
                       .build());

  tables.push_back(TableBuilder("fact_relationships", {
                                                          column("id", id(), not_null),
                                                          column("fact_id_a", bigint(), not_null),
                                                          column("fact_id_b", bigint(), not_null),
                                                          column("relationship", str(32), not_null),
                                                          column("confidence", real(), not_null, 0.8),
                                                          column("note", text(), null),
                                                          column("created_at", timestamp(), not_null, now),
                                                          column("updated_at", timestamp(), not_null, now),
                                                      })
                       .foreign_key("fact_id_a", "facts", OnDelete::cascade)
                       .foreign_key("fact_id_b", "facts", OnDelete::cascade)
                       .unique({"fact_id_a", "fact_id_b"})
                       .one_of("relationship",
                               {"CONTRADICTS", "CONFIRMS", "UPDATES", "RELATED", "CAUSED_BY", "PRECEDES", "PART_OF"})
                       .index({"fact_id_b"})
                       .build());

  tables.push_back(TableBuilder("episodes", {
                                                column("id", id(), not_null),
                                                column("conversation_id", bigint(), not_null),
                                                column("summary", text(), not_null),
                                                column("key_fact_ids", json(), not_null, std::string("[]")),
                                                column("key_entities", json(), not_null, std::string("[]")),
                                                column("importance", real(), not_null, 0.5),
                                                column("created_at", timestamp(), not_null, now),
                                                column("updated_at", timestamp(), not_null, now),
                                            })
                       .foreign_key("conversation_id", "conversations", OnDelete::cascade)
                       .unique({"conversation_id"})
                       .index({"importance"})
                       .build());

  tables.push_back(TableBuilder("personality_state", {
                                                         column("id", integer(), not_null, std::int64_t{1}),
                                                         column("current_mood", str(16), not_null, std::string("neutral")),
                                                         column("mood_intensity", real(), not_null, 0.5),
                                                         column("energy_level", real(), not_null, 1.0),
                                                         column("verbosity", real(), not_null, 0.5),
                                                         column("formality", real(), not_null, 0.35),
                                                         column("humor", real(), not_null, 0.6),
                                                         column("depth", real(), not_null, 0.55),
                                                         column("emotional_support", real(), not_null, 0.7),
                                                         column("question_frequency", real(), not_null, 0.5),
                                                         column("total_interactions", integer(), not_null, std::int64_t{0}),
                                                         column("positive_signals", integer(), not_null, std::int64_t{0}),
                                                         column("negative_signals", integer(), not_null, std::int64_t{0}),
                                                         column("last_interaction", timestamp(), null),
                                                         column("updated_at", timestamp(), not_null, now),
                                                     })
                       .check("id", "{id} = 1")
                       .one_of("current_mood", {"happy", "playful", "thoughtful", "excited", "concerned", "warm",
                                                "neutral", "curious", "melancholic"})
                       .build());

  tables.push_back(TableBuilder("state_events", {
                                                    column("id", id(), not_null),
                                                    column("timestamp", timestamp(), not_null),
                                                    column("hour", smallint(), not_null),
                                                    column("day_of_week", smallint(), not_null),
                                                    column("transcript", text(), null),
                                                    column("emotion", str(32), null),
                                                    column("volume", real(), null),
                                                    column("speech_speed", real(), null),
                                                    column("speech_duration", real(), null),
                                                    column("pc_active", boolean(), null),
                                                    column("active_app", str(255), null),
                                                    column("idle_seconds", real(), null),
                                                    column("inferred_state", str(32), not_null),
                                                })
                       .between("hour", "0", "23")
                       .between("day_of_week", "0", "6")
                       .one_of("inferred_state", {"SLEEPING", "JUST_WOKE_UP", "AWAY", "BACK_FROM_WORK", "FOCUS_MODE",
                                                  "RELAXING", "STAYING_UP", "LOW_ENERGY", "NORMAL"})
                       .index({"timestamp"})
                       .build());

  tables.push_back(TableBuilder("tasks", {
                                             column("id", id(), not_null),
                                             column("title", str(500), not_null),
                                             column("description", text(), null),
                                             column("due_date", timestamp(), null),
                                             column("priority", str(8), not_null, std::string("medium")),
                                             column("completed", boolean(), not_null, false),
                                             column("completed_at", timestamp(), null),
                                             column("created_at", timestamp(), not_null, now),
                                             column("updated_at", timestamp(), not_null, now),
                                         })
                       .one_of("priority", {"low", "medium", "high"})
                       .index({"completed", "due_date"})
                       .build());

  // created_at defaults to now here too (schema.md, Conventions), though the table lists no default.
  tables.push_back(TableBuilder("calendar_events", {
                                                       column("id", id(), not_null),
                                                       column("title", str(500), not_null),
                                                       column("description", text(), null),
                                                       column("start_datetime", timestamp(), not_null),
                                                       column("end_datetime", timestamp(), null),
                                                       column("recurring", str(16), null),
                                                       column("location", str(500), null),
                                                       column("created_at", timestamp(), not_null, now),
                                                   })
                       .check("end_datetime", "{end_datetime} >= {start_datetime}")
                       .one_of("recurring", {"daily", "weekly", "monthly", "yearly"})
                       .index({"start_datetime"})
                       .build());

  tables.push_back(TableBuilder("proactive_log", {
                                                     column("id", id(), not_null),
                                                     column("message", text(), not_null),
                                                     column("reason", str(64), not_null),
                                                     column("sent_at", timestamp(), not_null),
                                                 })
                       .index({"reason", "sent_at"})
                       .build());

  tables.push_back(TableBuilder("audit_log", {
                                                 column("id", id(), not_null),
                                                 column("ts", timestamp(), not_null),
                                                 column("conversation_id", bigint(), null),
                                                 column("tool", str(128), not_null),
                                                 column("args", json(), null),
                                                 column("result", text(), null),
                                                 column("mode", str(16), null),
                                                 column("status", str(16), not_null),
                                                 column("duration_ms", integer(), null),
                                             })
                       .foreign_key("conversation_id", "conversations", OnDelete::set_null)
                       .one_of("mode", {"allow", "confirm", "block"})
                       .one_of("status", {"ok", "error", "denied"})
                       .index({"ts"})
                       .index({"conversation_id"})
                       .build());

  tables.push_back(TableBuilder("contradiction_notes", {
                                                           column("id", id(), not_null),
                                                           column("new_fact_id", bigint(), not_null),
                                                           column("old_fact_id", bigint(), not_null),
                                                           column("conversation_id", bigint(), null),
                                                           column("note", text(), not_null),
                                                           column("created_at", timestamp(), not_null, now),
                                                           column("consumed_at", timestamp(), null),
                                                       })
                       .foreign_key("new_fact_id", "facts", OnDelete::cascade)
                       .foreign_key("old_fact_id", "facts", OnDelete::cascade)
                       .foreign_key("conversation_id", "conversations", OnDelete::set_null)
                       .build());

  return schema;
}

}  // namespace

const Schema& dialect_test_schema() {
  static const Schema schema = build_dialect_test_schema();
  return schema;
}

}  // namespace lunadb::test
