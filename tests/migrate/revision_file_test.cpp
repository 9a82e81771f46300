#include <gtest/gtest.h>

#include "lunadb/error.hpp"
#include "migrate/revision_file.hpp"
#include "schema/model.hpp"

namespace lunadb::migrate {
namespace {

constexpr const char* kFull = R"(# a comment
revision: 1a2b3c4d5e6f
down_revision: none
message: first one
create_date: 2026-01-02 03:04:05.000006

upgrade:
create_table conversations
  column id id not null
  column title string(255) null
  column started_at timestamp not null default current_timestamp
  column count integer not null default 0
  column ratio real not null default 0.5
  column whole real not null default 1.0
  column flag boolean not null default true
  column label string(16) not null default 'it''s'
  column "end" text null
  column data json null
  column small smallint null
  column big bigint null
  column raw blob null
  primary_key pk_conversations (id)
  unique uq_conversations_title (title, label)
  check ck_conversations_count: {count} >= 0 AND {label} IN ('a', 'b')
  index ix_conversations_started_at (started_at)
  index ix_conversations_label (label) unique
end
create_table messages
  column id id not null
  column conversation_id bigint not null
  primary_key pk_messages (id)
  foreign_key fk_messages_conversation_id_conversations (conversation_id) references conversations (id) on_delete cascade
end
insert conversations (id, title, ratio, flag) values (1, 'x', -2.5, false), (2, null, 3e10, true)
sql sqlite: PRAGMA user_version = 1
sql postgresql, mysql <<END
UPDATE t
SET x = 1
END

downgrade:
drop_table messages
add_column conversations note text null default 'n'
drop_column conversations note
alter_column conversations title type string(300) not null default 'x'
alter_column conversations title no_default
create_index conversations ix_a (title, label) unique
drop_index conversations ix_a
add_unique conversations uq_a (title)
drop_unique conversations uq_a
add_check conversations ck_a: {count} < 10
drop_check conversations ck_a
add_foreign_key messages fk_b (conversation_id) references conversations (id) on_delete set_null
drop_foreign_key messages fk_b
drop_table conversations
)";

TEST(RevisionFile, ParsesEveryOperationAndHeaderField) {
  Revision r = parse_revision(kFull, "full.rev");
  EXPECT_EQ(r.id, "1a2b3c4d5e6f");
  EXPECT_TRUE(r.down_revisions.empty());
  EXPECT_EQ(r.message, "first one");
  EXPECT_EQ(r.create_date, "2026-01-02 03:04:05.000006");
  ASSERT_EQ(r.upgrade.size(), 5u);
  ASSERT_EQ(r.downgrade.size(), 14u);

  const auto& t = std::get<CreateTable>(r.upgrade[0].operation).table;
  EXPECT_EQ(r.upgrade[0].line, 8);
  ASSERT_EQ(t.columns.size(), 13u);
  EXPECT_EQ(t.columns[0].type.kind, schema::TypeKind::id);
  EXPECT_FALSE(t.columns[0].nullable);
  EXPECT_EQ(t.columns[1].type, (schema::ColumnType{schema::TypeKind::string, 255}));
  EXPECT_TRUE(t.columns[1].nullable);
  EXPECT_TRUE(std::holds_alternative<schema::CurrentTimestamp>(t.columns[2].default_value));
  EXPECT_EQ(std::get<std::int64_t>(t.columns[3].default_value), 0);
  EXPECT_EQ(std::get<double>(t.columns[4].default_value), 0.5);
  EXPECT_EQ(std::get<double>(t.columns[5].default_value), 1.0);  // 1.0 stays a double
  EXPECT_EQ(std::get<bool>(t.columns[6].default_value), true);
  EXPECT_EQ(std::get<std::string>(t.columns[7].default_value), "it's");
  EXPECT_EQ(t.columns[8].name, "end");
  EXPECT_EQ(t.columns[12].type.kind, schema::TypeKind::blob);
  EXPECT_EQ(t.primary_key_name, "pk_conversations");
  EXPECT_EQ(t.uniques.at(0).columns, (std::vector<std::string>{"title", "label"}));
  EXPECT_EQ(t.checks.at(0).expression, "{count} >= 0 AND {label} IN ('a', 'b')");
  EXPECT_FALSE(t.indexes.at(0).unique);
  EXPECT_TRUE(t.indexes.at(1).unique);

  const auto& fk = std::get<CreateTable>(r.upgrade[1].operation).table.foreign_keys.at(0);
  EXPECT_EQ(fk.referred_table, "conversations");
  EXPECT_EQ(fk.on_delete, schema::OnDelete::cascade);

  const auto& insert = std::get<InsertRows>(r.upgrade[2].operation);
  ASSERT_EQ(insert.rows.size(), 2u);
  EXPECT_EQ(std::get<double>(insert.rows[0][2]), -2.5);
  EXPECT_TRUE(sql::is_null(insert.rows[1][1]));
  EXPECT_EQ(std::get<double>(insert.rows[1][2]), 3e10);

  const auto& raw = std::get<RawSql>(r.upgrade[3].operation);
  EXPECT_EQ(raw.backends, std::vector<Backend>{Backend::sqlite});
  EXPECT_EQ(raw.sql, "PRAGMA user_version = 1");
  const auto& block = std::get<RawSql>(r.upgrade[4].operation);
  EXPECT_EQ(block.backends, (std::vector<Backend>{Backend::postgresql, Backend::mysql}));
  EXPECT_EQ(block.sql, "UPDATE t\nSET x = 1");

  const auto& alter = std::get<AlterColumn>(r.downgrade[3].operation);
  EXPECT_EQ(alter.type, (schema::ColumnType{schema::TypeKind::string, 300}));
  EXPECT_EQ(alter.nullable, false);
  const auto& no_default = std::get<AlterColumn>(r.downgrade[4].operation);
  ASSERT_TRUE(no_default.default_value.has_value());
  EXPECT_TRUE(std::holds_alternative<std::monostate>(*no_default.default_value));
  EXPECT_FALSE(no_default.type.has_value());
  EXPECT_EQ(std::get<AddForeignKey>(r.downgrade[11].operation).foreign_key.on_delete, schema::OnDelete::set_null);
}

TEST(RevisionFile, FormatThenParseIsTheSameRevision) {
  Revision r = parse_revision(kFull, "full.rev");
  std::string text = format_revision(r);
  Revision again = parse_revision(text, "again.rev");
  EXPECT_EQ(format_revision(again), text);
  ASSERT_EQ(again.upgrade.size(), r.upgrade.size());
  EXPECT_EQ(std::get<CreateTable>(again.upgrade[0].operation).table, std::get<CreateTable>(r.upgrade[0].operation).table);
}

TEST(RevisionFile, EveryLunaTableRoundTrips) {
  for (const auto& table : schema::luna_schema().tables) {
    std::string text = "revision: abc\ndown_revision: none\nmessage: m\ncreate_date: d\nupgrade:\n" +
                       format_operation(CreateTable{table}) + "\ndowngrade:\ndrop_table " + table.name + "\n";
    Revision r = parse_revision(text, "t.rev");
    EXPECT_EQ(std::get<CreateTable>(r.upgrade.at(0).operation).table, table) << table.name;
  }
}

TEST(RevisionFile, MergeRevisionListsSeveralParents) {
  Revision r = parse_revision("revision: m1\ndown_revision: a1, b2\nmessage: merge\ncreate_date: x\nupgrade:\ndowngrade:\n", "m.rev");
  EXPECT_EQ(r.down_revisions, (std::vector<std::string>{"a1", "b2"}));
  EXPECT_TRUE(r.upgrade.empty());
}

// Every malformed input names the file and the line.
struct BadInput {
  const char* name;
  std::string text;
  std::string expected;  // "file:line: <part of the message>"
};

std::string header(const std::string& rest) {
  return "revision: abc\ndown_revision: none\nmessage: m\ncreate_date: d\nupgrade:\n" + rest;
}

class RevisionFileErrors : public ::testing::TestWithParam<BadInput> {};

TEST_P(RevisionFileErrors, NameFileAndLine) {
  try {
    parse_revision(GetParam().text, "bad.rev");
    FAIL() << "parsed without error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::migration);
    EXPECT_NE(std::string(e.what()).find(GetParam().expected), std::string::npos) << e.what();
  }
}

INSTANTIATE_TEST_SUITE_P(
    All, RevisionFileErrors,
    ::testing::Values(
        BadInput{"missing_revision", "down_revision: none\nmessage: m\ncreate_date: d\nupgrade:\ndowngrade:\n", "bad.rev:4: header field 'revision' is missing"},
        BadInput{"bad_id", "revision: ABC\n", "bad.rev:1: revision id 'ABC'"},
        BadInput{"reserved_id", "revision: head\n", "bad.rev:1: revision id 'head'"},
        BadInput{"unknown_header", "revision: abc\nauthor: me\n", "bad.rev:2: unknown header field 'author'"},
        BadInput{"duplicate_header", "revision: abc\nrevision: abd\n", "bad.rev:2: header field 'revision' given twice"},
        BadInput{"self_parent", "revision: abc\ndown_revision: abc\nmessage: m\ncreate_date: d\nupgrade:\n", "bad.rev:5: a revision cannot be its own"},
        BadInput{"no_upgrade", "revision: abc\ndown_revision: none\nmessage: m\ncreate_date: d\n", "missing 'upgrade:'"},
        BadInput{"no_downgrade", header("drop_table x\n"), "bad.rev:6: missing 'downgrade:'"},
        BadInput{"unknown_op", header("rename_table a b\ndowngrade:\n"), "bad.rev:6: unknown operation 'rename_table'"},
        BadInput{"unknown_type", header("add_column t c varchar null\ndowngrade:\n"), "bad.rev:6: unknown column type 'varchar'"},
        BadInput{"string_unclosed_length", header("add_column t c string(12 null\ndowngrade:\n"), "bad.rev:6: expected ')'"},
        BadInput{"zero_length", header("add_column t c string(0) null\ndowngrade:\n"), "bad.rev:6: string length must be a positive integer"},
        BadInput{"missing_nullability", header("add_column t c text\ndowngrade:\n"), "bad.rev:6: expected 'null' or 'not null'"},
        BadInput{"default_null", header("add_column t c text null default null\ndowngrade:\n"), "bad.rev:6: 'default null'"},
        BadInput{"bad_number", header("add_column t c real null default 1.2.3\ndowngrade:\n"), "bad.rev:6: malformed number '1.2.3'"},
        BadInput{"unterminated_string", header("add_column t c text null default 'abc\ndowngrade:\n"), "bad.rev:6: unterminated string"},
        BadInput{"trailing_garbage", header("drop_table t extra\ndowngrade:\n"), "bad.rev:6: unexpected 'extra'"},
        BadInput{"unclosed_table", header("create_table t\n  column id id not null\n"), "bad.rev:6: create_table t is never closed"},
        BadInput{"bad_table_element", header("create_table t\n  column id id not null\n  colum x text null\nend\ndowngrade:\n"), "bad.rev:8: unknown table element 'colum'"},
        BadInput{"pk_unknown_column", header("create_table t\n  column id id not null\n  primary_key pk_t (idd)\nend\ndowngrade:\n"), "bad.rev:9: primary_key pk_t names column idd"},
        BadInput{"duplicate_column", header("create_table t\n  column id id not null\n  column id text null\nend\ndowngrade:\n"), "bad.rev:8: column id given twice"},
        BadInput{"empty_table", header("create_table t\nend\ndowngrade:\n"), "bad.rev:7: table t has no columns"},
        BadInput{"fk_arity", header("add_foreign_key t fk (a, b) references r (id)\ndowngrade:\n"), "bad.rev:6: foreign key fk has 2 columns but refers to 1"},
        BadInput{"bad_on_delete", header("add_foreign_key t fk (a) references r (id) on_delete restrict\ndowngrade:\n"), "bad.rev:6: unknown on_delete action 'restrict'"},
        BadInput{"alter_nothing", header("alter_column t c\ndowngrade:\n"), "bad.rev:6: alter_column changes nothing"},
        BadInput{"check_without_expression", header("add_check t ck:\ndowngrade:\n"), "bad.rev:6: expected the check expression"},
        BadInput{"insert_arity", header("insert t (a, b) values (1)\ndowngrade:\n"), "bad.rev:6: a row has 1 values for 2 columns"},
        BadInput{"unknown_backend", header("sql oracle: SELECT 1\ndowngrade:\n"), "bad.rev:6: unknown backend 'oracle'"},
        BadInput{"unclosed_sql_block", header("sql sqlite <<EOF\nSELECT 1\n"), "bad.rev:6: the SQL block '<<EOF' is never closed"},
        BadInput{"downgrade_first", "revision: abc\ndown_revision: none\nmessage: m\ncreate_date: d\ndowngrade:\n", "bad.rev:5: 'downgrade:' must come once"},
        BadInput{"bad_character", header("drop_table t;\ndowngrade:\n"), "bad.rev:6: unexpected character ';'"}),
    [](const ::testing::TestParamInfo<BadInput>& case_info) { return std::string(case_info.param.name); });

TEST(RevisionFile, QuotesIdentifiersThatAreNotPlainWords) {
  AddColumn op{"odd table", schema::Column{"null", {schema::TypeKind::text, 0}, true, {}}};
  std::string text = format_operation(op);
  EXPECT_EQ(text, "add_column \"odd table\" \"null\" text null");
  Revision r = parse_revision(header(text + "\ndowngrade:\n"), "q.rev");
  const auto& parsed = std::get<AddColumn>(r.upgrade.at(0).operation);
  EXPECT_EQ(parsed.table, "odd table");
  EXPECT_EQ(parsed.column.name, "null");
}

TEST(RevisionFile, ValidRevisionIds) {
  EXPECT_TRUE(valid_revision_id("1a2b3c4d5e6f"));
  EXPECT_TRUE(valid_revision_id("abc_1"));
  EXPECT_FALSE(valid_revision_id(""));
  EXPECT_FALSE(valid_revision_id("heads"));
  EXPECT_FALSE(valid_revision_id("a+1"));
  EXPECT_FALSE(valid_revision_id(std::string(33, 'a')));
}

}  // namespace
}  // namespace lunadb::migrate
