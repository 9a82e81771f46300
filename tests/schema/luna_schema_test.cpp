// luna_schema() against schema.md: table and column names and order, types, nullability, defaults,
// keys and the naming rules. The expected lists are transcribed from shared/spec/schema.md.
#include <gtest/gtest.h>

#include <map>
#include <set>

#include "schema/model.hpp"

namespace lunadb::schema {
namespace {

const std::vector<std::pair<std::string, std::vector<std::string>>>& expected_columns() {
  static const std::vector<std::pair<std::string, std::vector<std::string>>> tables = {
      {"conversations", {"id", "title", "summary", "metadata", "started_at", "updated_at", "ended_at", "message_count"}},
      {"messages", {"id", "conversation_id", "role", "content", "created_at", "sentiment_score"}},
      {"facts",
       {"id", "category", "content", "memory_type", "importance", "confidence", "source", "source_conversation_id",
        "is_active", "is_private", "superseded_by", "expires_at", "created_at", "updated_at", "last_accessed"}},
      {"fact_relationships",
       {"id", "fact_id_a", "fact_id_b", "relationship", "confidence", "note", "created_at", "updated_at"}},
      {"episodes",
       {"id", "conversation_id", "summary", "key_fact_ids", "key_entities", "importance", "created_at", "updated_at"}},
      {"personality_state",
       {"id", "current_mood", "mood_intensity", "energy_level", "verbosity", "formality", "humor", "depth",
        "emotional_support", "question_frequency", "total_interactions", "positive_signals", "negative_signals",
        "last_interaction", "updated_at"}},
      {"state_events",
       {"id", "timestamp", "hour", "day_of_week", "transcript", "emotion", "volume", "speech_speed", "speech_duration",
        "pc_active", "active_app", "idle_seconds", "inferred_state"}},
      {"tasks",
       {"id", "title", "description", "due_date", "priority", "completed", "completed_at", "created_at", "updated_at"}},
      {"calendar_events",
       {"id", "title", "description", "start_datetime", "end_datetime", "recurring", "location", "created_at"}},
      {"proactive_log", {"id", "message", "reason", "sent_at"}},
      {"audit_log", {"id", "ts", "conversation_id", "tool", "args", "result", "mode", "status", "duration_ms"}},
      {"contradiction_notes",
       {"id", "new_fact_id", "old_fact_id", "conversation_id", "note", "created_at", "consumed_at"}},
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

TEST(LunaSchema, TwelveTablesWithTheColumnsOfSchemaMdInOrder) {
  const auto& schema = luna_schema();
  ASSERT_EQ(schema.tables.size(), 12u);
  for (std::size_t i = 0; i < expected_columns().size(); ++i) {
    const auto& [name, columns] = expected_columns()[i];
    const Table& table = schema.tables[i];
    EXPECT_EQ(table.name, name);
    std::vector<std::string> actual;
    for (const auto& column : table.columns) actual.push_back(column.name);
    EXPECT_EQ(actual, columns) << name;
  }
}

TEST(LunaSchema, TypesNullabilityAndDefaults) {
  EXPECT_EQ(column_of("conversations", "id").type.kind, TypeKind::id);
  EXPECT_FALSE(column_of("conversations", "id").nullable);
  EXPECT_EQ(column_of("conversations", "title").type, (ColumnType{TypeKind::string, 255}));
  EXPECT_TRUE(column_of("conversations", "title").nullable);
  EXPECT_EQ(column_of("conversations", "metadata").type.kind, TypeKind::json);
  EXPECT_EQ(column_of("conversations", "updated_at").default_value, DefaultValue{CurrentTimestamp{}});
  EXPECT_EQ(column_of("conversations", "message_count").default_value, DefaultValue{std::int64_t{0}});
  EXPECT_EQ(column_of("messages", "conversation_id").type.kind, TypeKind::bigint);
  EXPECT_EQ(column_of("messages", "role").type, (ColumnType{TypeKind::string, 16}));
  EXPECT_EQ(column_of("messages", "sentiment_score").type.kind, TypeKind::real);
  EXPECT_EQ(column_of("facts", "memory_type").default_value, DefaultValue{std::string("long")});
  EXPECT_EQ(column_of("facts", "importance").default_value, DefaultValue{0.7});
  EXPECT_EQ(column_of("facts", "confidence").default_value, DefaultValue{0.85});
  EXPECT_EQ(column_of("facts", "source").default_value, DefaultValue{std::string("conversation")});
  EXPECT_EQ(column_of("facts", "is_active").default_value, DefaultValue{true});
  EXPECT_EQ(column_of("facts", "is_private").default_value, DefaultValue{false});
  EXPECT_EQ(column_of("facts", "is_active").type.kind, TypeKind::boolean);
  EXPECT_TRUE(column_of("facts", "last_accessed").nullable);
  EXPECT_EQ(column_of("fact_relationships", "confidence").default_value, DefaultValue{0.8});
  EXPECT_EQ(column_of("episodes", "key_fact_ids").default_value, DefaultValue{std::string("[]")});
  EXPECT_EQ(column_of("episodes", "key_entities").type.kind, TypeKind::json);
  EXPECT_EQ(column_of("personality_state", "id").type.kind, TypeKind::integer);
  EXPECT_EQ(column_of("personality_state", "id").default_value, DefaultValue{std::int64_t{1}});
  EXPECT_EQ(column_of("personality_state", "formality").default_value, DefaultValue{0.35});
  EXPECT_EQ(column_of("personality_state", "energy_level").default_value, DefaultValue{1.0});
  EXPECT_EQ(column_of("personality_state", "current_mood").default_value, DefaultValue{std::string("neutral")});
  EXPECT_TRUE(column_of("personality_state", "last_interaction").nullable);
  EXPECT_EQ(column_of("state_events", "hour").type.kind, TypeKind::smallint);
  EXPECT_TRUE(column_of("state_events", "pc_active").nullable);
  EXPECT_FALSE(column_of("state_events", "inferred_state").nullable);
  EXPECT_EQ(column_of("state_events", "timestamp").default_value, DefaultValue{});
  EXPECT_EQ(column_of("tasks", "title").type, (ColumnType{TypeKind::string, 500}));
  EXPECT_EQ(column_of("tasks", "priority").default_value, DefaultValue{std::string("medium")});
  EXPECT_EQ(column_of("calendar_events", "created_at").default_value, DefaultValue{CurrentTimestamp{}});
  EXPECT_TRUE(column_of("calendar_events", "end_datetime").nullable);
  EXPECT_EQ(column_of("proactive_log", "sent_at").default_value, DefaultValue{});
  EXPECT_EQ(column_of("audit_log", "duration_ms").type.kind, TypeKind::integer);
  EXPECT_TRUE(column_of("audit_log", "conversation_id").nullable);
  EXPECT_FALSE(column_of("contradiction_notes", "note").nullable);
}

TEST(LunaSchema, ForeignKeysAndTheirDeleteRules) {
  std::map<std::string, OnDelete> expected = {
      {"messages.conversation_id", OnDelete::cascade},
      {"facts.source_conversation_id", OnDelete::set_null},
      {"facts.superseded_by", OnDelete::set_null},
      {"fact_relationships.fact_id_a", OnDelete::cascade},
      {"fact_relationships.fact_id_b", OnDelete::cascade},
      {"episodes.conversation_id", OnDelete::cascade},
      {"audit_log.conversation_id", OnDelete::set_null},
      {"contradiction_notes.new_fact_id", OnDelete::cascade},
      {"contradiction_notes.old_fact_id", OnDelete::cascade},
      {"contradiction_notes.conversation_id", OnDelete::set_null},
  };
  std::map<std::string, OnDelete> actual;
  for (const auto& table : luna_schema().tables) {
    for (const auto& fk : table.foreign_keys) {
      ASSERT_EQ(fk.columns.size(), 1u);
      EXPECT_EQ(fk.referred_columns, std::vector<std::string>{"id"});
      EXPECT_EQ(fk.name, "fk_" + table.name + "_" + fk.columns[0] + "_" + fk.referred_table);
      actual[table.name + "." + fk.columns[0]] = fk.on_delete;
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
  std::set<std::string> indexes, uniques;
  for (const auto& table : luna_schema().tables) {
    EXPECT_EQ(table.primary_key, std::vector<std::string>{"id"}) << table.name;
    EXPECT_EQ(table.primary_key_name, "pk_" + table.name);
    for (const auto& index : table.indexes) {
      EXPECT_FALSE(index.unique);
      std::string name = "ix_" + table.name;
      for (const auto& column : index.columns) {
        name += "_" + column;
        EXPECT_NE(table.find_column(column), nullptr) << index.name;
      }
      EXPECT_EQ(index.name, name);
      indexes.insert(index.name);
    }
    for (const auto& unique : table.uniques) uniques.insert(unique.name);
  }
  EXPECT_EQ(indexes, (std::set<std::string>{
                         "ix_conversations_updated_at", "ix_messages_conversation_id_created_at",
                         "ix_facts_is_active_category", "ix_facts_expires_at", "ix_facts_last_accessed",
                         "ix_fact_relationships_fact_id_b", "ix_episodes_importance", "ix_state_events_timestamp",
                         "ix_tasks_completed_due_date", "ix_calendar_events_start_datetime",
                         "ix_proactive_log_reason_sent_at", "ix_audit_log_ts", "ix_audit_log_conversation_id"}));
  EXPECT_EQ(uniques, (std::set<std::string>{"uq_fact_relationships_fact_id_a_fact_id_b", "uq_episodes_conversation_id"}));
}

TEST(LunaSchema, ChecksForClosedEnumerationsAndRangesOnly) {
  std::map<std::string, std::string> checks;
  for (const auto& table : luna_schema().tables) {
    for (const auto& check : table.checks) {
      EXPECT_EQ(check.name.rfind("ck_" + table.name + "_", 0), 0u) << check.name;
      checks[check.name] = check.expression;
    }
  }
  EXPECT_EQ(checks["ck_messages_role"], "{role} IN ('user', 'assistant', 'system', 'tool')");
  EXPECT_EQ(checks["ck_personality_state_id"], "{id} = 1");
  EXPECT_EQ(checks["ck_state_events_hour"], "{hour} BETWEEN 0 AND 23");
  EXPECT_EQ(checks["ck_state_events_day_of_week"], "{day_of_week} BETWEEN 0 AND 6");
  EXPECT_EQ(checks["ck_calendar_events_end_datetime"], "{end_datetime} >= {start_datetime}");
  EXPECT_EQ(checks["ck_tasks_priority"], "{priority} IN ('low', 'medium', 'high')");
  EXPECT_EQ(checks["ck_messages_sentiment_score"], "{sentiment_score} BETWEEN -1 AND 1");
  for (const char* name : {"ck_facts_memory_type", "ck_facts_source", "ck_facts_importance", "ck_facts_confidence",
                           "ck_fact_relationships_relationship", "ck_personality_state_current_mood",
                           "ck_state_events_inferred_state", "ck_calendar_events_recurring", "ck_audit_log_mode",
                           "ck_audit_log_status"}) {
    EXPECT_EQ(checks.count(name), 1u) << name;
  }
  // Open sets stay open.
  EXPECT_EQ(checks.count("ck_facts_category"), 0u);
  EXPECT_EQ(checks.count("ck_proactive_log_reason"), 0u);
  EXPECT_EQ(checks.size(), 17u);
  // Every identifier in a check is a {placeholder} of a real column.
  for (const auto& table : luna_schema().tables) {
    for (const auto& check : table.checks) {
      std::size_t placeholders = 0;
      schema::render_check_expression(check.expression, [&](std::string_view name) {
        ++placeholders;
        EXPECT_NE(table.find_column(name), nullptr) << check.name << ": " << name;
        return std::string(name);
      });
      EXPECT_GE(placeholders, 1u) << check.name;
    }
  }
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
        if (column->type.kind == TypeKind::string) {
          EXPECT_LE(column->type.length, 191) << index.name;
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
