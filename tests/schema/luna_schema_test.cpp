// luna_schema() against Luna's own models (Sehastrajit/Luna, backend/models/database.py, and its
// alembic revision 001): table and column names and order, types, nullability, defaults, keys, and
// lunadb's additions at the end. The expected lists are transcribed from Luna's code, the
// compatibility contract (docs/schema.md).
#include <gtest/gtest.h>

#include <map>
#include <set>

#include "schema/model.hpp"

namespace lunadb::schema {
namespace {

const std::vector<std::pair<std::string, std::vector<std::string>>>& expected_columns() {
  static const std::vector<std::pair<std::string, std::vector<std::string>>> tables = {
      {"conversations", {"id", "title", "summary", "started_at", "ended_at", "message_count", "metadata", "updated_at"}},
      {"messages", {"id", "conversation_id", "role", "content", "created_at", "sentiment_score"}},
      {"facts",
       {"id", "category", "content", "confidence", "source_conversation_id", "created_at", "updated_at", "is_active",
        "importance", "expires_at", "is_private", "source", "superseded_by", "memory_type", "last_accessed"}},
      {"fact_relationships",
       {"id", "fact_id_a", "fact_id_b", "relationship", "confidence", "note", "created_at", "updated_at"}},
      {"tasks",
       {"id", "title", "description", "due_date", "completed", "completed_at", "priority", "created_at", "updated_at"}},
      {"calendar_events",
       {"id", "title", "description", "start_datetime", "end_datetime", "recurring", "location", "created_at"}},
      {"personality_state",
       {"id", "verbosity", "formality", "humor", "depth", "emotional_support", "question_frequency", "current_mood",
        "mood_intensity", "energy_level", "total_interactions", "positive_signals", "negative_signals",
        "last_interaction", "updated_at"}},
      {"feedback_log", {"id", "conversation_id", "reward_signal", "response_features", "created_at"}},
      {"proactive_log", {"id", "message", "reason", "sent_at"}},
      {"state_events",
       {"id", "timestamp", "hour", "day_of_week", "transcript", "emotion", "volume", "speech_speed", "speech_duration",
        "pc_active", "active_app", "idle_seconds", "inferred_state"}},
      {"sleep_logs", {"id", "sleep_start", "sleep_end", "duration_minutes", "label", "created_at"}},
      {"traces",
       {"id", "span_id", "parent_id", "name", "conversation_id", "start_time", "end_time", "latency_ms", "status",
        "attributes", "cost_usd", "created_at"}},
      {"episodes",
       {"id", "conversation_id", "summary", "key_fact_ids", "key_entities", "importance", "created_at", "updated_at"}},
      {"benchmark_results", {"id", "suite", "timestamp", "metrics", "errors", "duration_s", "created_at"}},
      {"plan_records",
       {"id", "plan_id", "goal", "conversation_id", "status", "steps_json", "critique_json", "created_at",
        "completed_at"}},
      {"health_metrics",
       {"id", "platform", "metric_type", "value", "unit", "date_str", "timestamp", "raw_json", "created_at"}},
      {"health_syncs",
       {"id", "platform", "last_sync_at", "status", "metrics_synced", "error_message", "updated_at"}},
      {"audit_log", {"id", "ts", "conversation_id", "tool", "args", "result", "mode", "status", "duration_ms"}},
      {"contradiction_notes",
       {"id", "new_fact_id", "old_fact_id", "conversation_id", "note", "created_at", "consumed_at"}},
      {"memory_outbox", {"id", "kind", "row_id", "created_at", "attempts", "next_attempt_at", "last_error"}},
      {"memory_collections",
       {"id", "kind", "collection", "model", "dimension", "generation", "next_collection", "next_model",
        "next_after_id", "updated_at"}},
  };
  return tables;
}

const Column& column_of(const std::string& table, const std::string& column) {
  const Table* found = luna_schema().find_table(table);
  EXPECT_NE(found, nullptr) << table;
  const Column* c = found->find_column(column);
  EXPECT_NE(c, nullptr) << table << "." << column;
  return *c;
}

TEST(LunaSchema, LunasSeventeenTablesThenLunadbsTwoWithTheirColumnsInOrder) {
  const auto& schema = luna_schema();
  ASSERT_EQ(schema.tables.size(), expected_columns().size());
  for (std::size_t i = 0; i < expected_columns().size(); ++i) {
    const auto& [name, columns] = expected_columns()[i];
    const Table& table = schema.tables[i];
    EXPECT_EQ(table.name, name);
    std::vector<std::string> actual;
    for (const auto& column : table.columns) actual.push_back(column.name);
    EXPECT_EQ(actual, columns) << name;
  }
}

TEST(LunaSchema, LunasTypesNullabilityAndPythonDefaults) {
  const ColumnType luna_string{TypeKind::string, 0};
  EXPECT_EQ(column_of("conversations", "id").type.kind, TypeKind::id);
  EXPECT_FALSE(column_of("conversations", "id").nullable);
  EXPECT_EQ(column_of("conversations", "title").type, luna_string);
  EXPECT_TRUE(column_of("conversations", "started_at").nullable);
  EXPECT_EQ(column_of("conversations", "started_at").default_value, DefaultValue{});
  EXPECT_EQ(column_of("conversations", "message_count").default_value, DefaultValue{std::int64_t{0}});
  EXPECT_TRUE(column_of("conversations", "message_count").nullable);
  EXPECT_EQ(column_of("conversations", "metadata").type.kind, TypeKind::json);
  EXPECT_EQ(column_of("messages", "conversation_id").type.kind, TypeKind::integer);
  EXPECT_FALSE(column_of("messages", "conversation_id").nullable);
  EXPECT_EQ(column_of("messages", "role").type, luna_string);
  EXPECT_FALSE(column_of("messages", "content").nullable);
  EXPECT_EQ(column_of("messages", "sentiment_score").type.kind, TypeKind::real);
  EXPECT_EQ(column_of("facts", "memory_type").default_value, DefaultValue{std::string("long")});
  EXPECT_EQ(column_of("facts", "importance").default_value, DefaultValue{0.5});
  EXPECT_EQ(column_of("facts", "confidence").default_value, DefaultValue{1.0});
  EXPECT_EQ(column_of("facts", "source").default_value, DefaultValue{std::string("inferred")});
  EXPECT_EQ(column_of("facts", "is_active").default_value, DefaultValue{true});
  EXPECT_EQ(column_of("facts", "is_private").default_value, DefaultValue{false});
  EXPECT_EQ(column_of("facts", "is_active").type.kind, TypeKind::boolean);
  EXPECT_TRUE(column_of("facts", "last_accessed").nullable);
  EXPECT_EQ(column_of("fact_relationships", "confidence").default_value, DefaultValue{0.8});
  // Luna reads these with json.loads: TEXT, not JSON.
  EXPECT_EQ(column_of("episodes", "key_fact_ids").type.kind, TypeKind::text);
  EXPECT_EQ(column_of("episodes", "key_entities").type.kind, TypeKind::text);
  EXPECT_EQ(column_of("traces", "attributes").type.kind, TypeKind::text);
  EXPECT_EQ(column_of("feedback_log", "response_features").type.kind, TypeKind::json);
  EXPECT_EQ(column_of("personality_state", "id").type.kind, TypeKind::id);
  EXPECT_EQ(column_of("personality_state", "formality").default_value, DefaultValue{0.35});
  EXPECT_EQ(column_of("personality_state", "energy_level").default_value, DefaultValue{1.0});
  EXPECT_EQ(column_of("personality_state", "current_mood").default_value, DefaultValue{std::string("neutral")});
  EXPECT_EQ(column_of("state_events", "hour").type.kind, TypeKind::integer);
  EXPECT_EQ(column_of("state_events", "idle_seconds").type.kind, TypeKind::integer);
  EXPECT_TRUE(column_of("state_events", "timestamp").nullable);
  EXPECT_FALSE(column_of("state_events", "inferred_state").nullable);
  EXPECT_EQ(column_of("tasks", "priority").default_value, DefaultValue{std::string("medium")});
  EXPECT_FALSE(column_of("calendar_events", "start_datetime").nullable);
  EXPECT_TRUE(column_of("proactive_log", "reason").nullable);
  EXPECT_TRUE(column_of("proactive_log", "sent_at").nullable);
  EXPECT_EQ(column_of("plan_records", "created_at").type.kind, TypeKind::real);  // Luna's monotonic seconds
  EXPECT_EQ(column_of("health_syncs", "status").default_value, DefaultValue{std::string("never")});
  EXPECT_EQ(column_of("audit_log", "tool").type, (ColumnType{TypeKind::string, 128}));
  EXPECT_FALSE(column_of("contradiction_notes", "note").nullable);
  // No timestamp has a server default: every writer sends the UTC time itself.
  for (const auto& table : luna_schema().tables) {
    for (const auto& column : table.columns) {
      EXPECT_FALSE(std::holds_alternative<CurrentTimestamp>(column.default_value)) << table.name << "." << column.name;
    }
  }
}

TEST(LunaSchema, ForeignKeysAreLunasWithoutDeleteActions) {
  const std::set<std::string> expected = {
      "messages.conversation_id",          "facts.source_conversation_id",  "facts.superseded_by",
      "fact_relationships.fact_id_a",      "fact_relationships.fact_id_b",  "feedback_log.conversation_id",
      "traces.conversation_id",            "episodes.conversation_id",      "plan_records.conversation_id",
      "audit_log.conversation_id",         "contradiction_notes.new_fact_id", "contradiction_notes.old_fact_id",
      "contradiction_notes.conversation_id",
  };
  std::set<std::string> actual;
  for (const auto& table : luna_schema().tables) {
    for (const auto& fk : table.foreign_keys) {
      ASSERT_EQ(fk.columns.size(), 1u);
      EXPECT_EQ(fk.referred_columns, std::vector<std::string>{"id"});
      EXPECT_EQ(fk.name, "fk_" + table.name + "_" + fk.columns[0] + "_" + fk.referred_table);
      EXPECT_EQ(fk.on_delete, OnDelete::no_action) << fk.name;
      actual.insert(table.name + "." + fk.columns[0]);
      // Referenced tables come first, so creating in order never references a missing table.
      bool seen = false;
      for (const auto& earlier : luna_schema().tables) {
        if (earlier.name == fk.referred_table) seen = true;
        if (earlier.name == table.name) break;
      }
      EXPECT_TRUE(seen || fk.referred_table == table.name) << fk.name;
    }
  }
  EXPECT_EQ(actual, expected);
}

TEST(LunaSchema, KeysUniquesAndIndexes) {
  std::set<std::string> indexes, unique_indexes, uniques;
  for (const auto& table : luna_schema().tables) {
    EXPECT_EQ(table.primary_key, std::vector<std::string>{"id"}) << table.name;
    EXPECT_EQ(table.primary_key_name, "pk_" + table.name);
    for (const auto& index : table.indexes) {
      std::string name = "ix_" + table.name;
      for (const auto& column : index.columns) {
        name += "_" + column;
        EXPECT_NE(table.find_column(column), nullptr) << index.name;
      }
      EXPECT_EQ(index.name, name);
      (index.unique ? unique_indexes : indexes).insert(index.name);
    }
    for (const auto& unique : table.uniques) uniques.insert(unique.name);
  }
  // Every Luna table but personality_state has Luna's ix_<table>_id.
  for (const auto& [name, columns] : expected_columns()) {
    if (name == "personality_state" || name == "audit_log" || name == "contradiction_notes" ||
        name.rfind("memory_", 0) == 0)
      continue;
    EXPECT_EQ(indexes.count("ix_" + name + "_id"), 1u) << name;
  }
  EXPECT_EQ(unique_indexes, (std::set<std::string>{"ix_traces_span_id", "ix_episodes_conversation_id",
                                                   "ix_plan_records_plan_id"}));
  for (const char* name :
       {"ix_state_events_timestamp", "ix_episodes_created_at", "ix_benchmark_results_suite", "ix_health_metrics_platform",
        "ix_health_metrics_metric_type", "ix_health_metrics_date_str", "ix_messages_conversation_id_created_at",
        "ix_facts_is_active_category", "ix_fact_relationships_fact_id_a_fact_id_b", "ix_tasks_completed_due_date",
        "ix_calendar_events_start_datetime", "ix_proactive_log_reason_sent_at", "ix_audit_log_ts"}) {
    EXPECT_EQ(indexes.count(name), 1u) << name;
  }
  EXPECT_EQ(uniques, (std::set<std::string>{"uq_traces_span_id", "uq_episodes_conversation_id",
                                            "uq_plan_records_plan_id", "uq_health_syncs_platform",
                                            "uq_memory_collections_kind"}));
}

TEST(LunaSchema, NoCheckConstraintsBecauseLunaWritesItsOwnCase) {
  for (const auto& table : luna_schema().tables) EXPECT_TRUE(table.checks.empty()) << table.name;
}

TEST(LunaSchema, NamesFitEveryBackendsIdentifierLimit) {
  for (const auto& table : luna_schema().tables) {
    std::vector<std::string> names = {table.primary_key_name};
    for (const auto& fk : table.foreign_keys) names.push_back(fk.name);
    for (const auto& unique : table.uniques) names.push_back(unique.name);
    for (const auto& check : table.checks) names.push_back(check.name);
    for (const auto& index : table.indexes) names.push_back(index.name);
    for (const auto& name : names) EXPECT_LE(name.size(), 63u) << name;  // PostgreSQL 63, MySQL 64
  }
}

TEST(LunaSchema, IndexedStringsFitAUtf8mb4Index) {
  for (const auto& table : luna_schema().tables) {
    for (const auto& index : table.indexes) {
      for (const auto& name : index.columns) {
        const Column* column = table.find_column(name);
        ASSERT_NE(column, nullptr);
        EXPECT_NE(column->type.kind, TypeKind::text) << index.name;
        // Luna's String() (length 0) is VARCHAR(255) on MySQL: 1020 bytes under utf8mb4, within
        // InnoDB's 3072-byte key limit (DYNAMIC rows, MariaDB 10.3+ / MySQL 5.7+).
        if (column->type.kind == TypeKind::string) {
          EXPECT_LE(column->type.length, 255) << index.name;
        }
      }
    }
  }
}

TEST(LunaSchemaModel, FindReturnsNullForUnknownNames) {
  EXPECT_EQ(luna_schema().find_table("nope"), nullptr);
  EXPECT_EQ(luna_schema().find_table("facts")->find_column("nope"), nullptr);
  EXPECT_EQ(&luna_schema(), &luna_schema());
}

TEST(LunaSchemaModel, RenderCheckExpressionQuotesEachPlaceholder) {
  auto rendered = render_check_expression("{a} IN ('x{y}') AND {b c} > 0",
                                          [](std::string_view name) { return "[" + std::string(name) + "]"; });
  // Placeholders are substituted everywhere, including inside literals: the model never puts
  // braces in its literals.
  EXPECT_EQ(rendered, "[a] IN ('x[y]') AND [b c] > 0");
}

}  // namespace
}  // namespace lunadb::schema
