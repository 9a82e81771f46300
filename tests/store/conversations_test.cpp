#include <chrono>
#include <cstdlib>
#include <thread>

#include "sql/value.hpp"
#include "store_fixture.hpp"

namespace lunadb::store_test {
namespace {

using store::Conversation;
using store::Message;

Message message(std::string role, std::string content, std::optional<double> sentiment = std::nullopt) {
  Message m;
  m.role = std::move(role);
  m.content = std::move(content);
  m.sentiment_score = sentiment;
  return m;
}

void tick() { std::this_thread::sleep_for(std::chrono::milliseconds(2)); }

class StoreConversations : public StoreTest {};

TEST_P(StoreConversations, CrudByIdRoundTripsEveryColumn) {
  Conversation draft;
  draft.title = "Planning the trip";
  // Written the way PostgreSQL's jsonb prints it, so it comes back byte for byte everywhere
  // (JsonColumnsKeepTheDocument covers other spellings).
  draft.metadata = R"({"tags": ["travel"], "channel": "voice"})";
  auto before = sql::now_utc();
  auto added = db().conversations().add(draft);
  EXPECT_GT(added.id, 0);
  EXPECT_GE(added.started_at, before);
  EXPECT_EQ(added.started_at, added.updated_at);
  EXPECT_EQ(added.message_count, 0);

  auto loaded = db().conversations().get(added.id);
  ASSERT_TRUE(loaded);
  EXPECT_EQ(*loaded, added);
  EXPECT_FALSE(loaded->summary);
  EXPECT_FALSE(loaded->ended_at);

  tick();
  Conversation changed = *loaded;
  changed.summary = "We planned a trip to Kyoto.";
  changed.ended_at = sql::now_utc();
  changed.message_count = 999;  // store-maintained: ignored
  ASSERT_TRUE(db().conversations().update(changed));
  auto reloaded = db().conversations().get(added.id);
  ASSERT_TRUE(reloaded);
  EXPECT_EQ(reloaded->summary, changed.summary);
  EXPECT_EQ(reloaded->ended_at, changed.ended_at);
  EXPECT_EQ(reloaded->message_count, 0);
  EXPECT_GT(reloaded->updated_at, added.updated_at);
  EXPECT_EQ(reloaded->started_at, added.started_at);

  EXPECT_TRUE(db().conversations().remove(added.id));
  EXPECT_FALSE(db().conversations().get(added.id));
  EXPECT_FALSE(db().conversations().remove(added.id));
  EXPECT_FALSE(db().conversations().update(changed));
}

TEST_P(StoreConversations, RecentSortsByLastActivityAndPages) {
  auto first = db().conversations().add({});
  tick();
  auto second = db().conversations().add({});
  tick();
  auto third = db().conversations().add({});
  auto ids = [](const std::vector<Conversation>& list) {
    std::vector<std::int64_t> out;
    for (const auto& c : list) out.push_back(c.id);
    return out;
  };
  EXPECT_EQ(ids(db().conversations().recent()), (std::vector<std::int64_t>{third.id, second.id, first.id}));

  tick();
  db().messages().add([&] {
    auto m = message("user", "hello again");
    m.conversation_id = first.id;
    return m;
  }());
  EXPECT_EQ(ids(db().conversations().recent()), (std::vector<std::int64_t>{first.id, third.id, second.id}));
  EXPECT_EQ(ids(db().conversations().recent({2, 0})), (std::vector<std::int64_t>{first.id, third.id}));
  EXPECT_EQ(ids(db().conversations().recent({2, 2})), (std::vector<std::int64_t>{second.id}));
  EXPECT_EQ(ids(db().conversations().recent({std::nullopt, 1})), (std::vector<std::int64_t>{third.id, second.id}));
}

TEST_P(StoreConversations, MessageInsertAndDeleteKeepCountAndActivity) {
  auto conversation = db().conversations().add({});
  tick();
  auto m = message("user", "What's the weather?", 0.25);
  m.conversation_id = conversation.id;
  auto first = db().messages().add(m);
  auto after_first = db().conversations().get(conversation.id);
  ASSERT_TRUE(after_first);
  EXPECT_EQ(after_first->message_count, 1);
  EXPECT_EQ(after_first->updated_at, first.created_at);
  EXPECT_GT(after_first->updated_at, conversation.updated_at);

  tick();
  m.role = "assistant";
  m.content = "Sunny, 21 °C.";
  m.sentiment_score.reset();
  auto second = db().messages().add(m);
  EXPECT_EQ(db().conversations().get(conversation.id)->message_count, 2);

  auto loaded = db().messages().get(first.id);
  ASSERT_TRUE(loaded);
  EXPECT_EQ(*loaded, first);
  EXPECT_EQ(loaded->sentiment_score, 0.25);
  EXPECT_FALSE(db().messages().get(second.id)->sentiment_score);

  tick();
  EXPECT_TRUE(db().messages().remove(first.id));
  auto after_delete = db().conversations().get(conversation.id);
  EXPECT_EQ(after_delete->message_count, 1);
  EXPECT_GT(after_delete->updated_at, second.created_at);
  EXPECT_FALSE(db().messages().remove(first.id));
  EXPECT_EQ(db().conversations().get(conversation.id)->message_count, 1);
  EXPECT_EQ(count_rows("messages"), 1);
}

TEST_P(StoreConversations, MessageToMissingConversationIsNotFoundAndWritesNothing) {
  auto m = message("user", "orphan");
  m.conversation_id = 4242;
  auto error = expect_error([&] { db().messages().add(m); });
  EXPECT_EQ(error.kind(), ErrorKind::not_found);
  EXPECT_NE(std::string(error.what()).find("4242"), std::string::npos);
  std::vector<Message> batch{message("user", "a"), message("user", "b")};
  EXPECT_EQ(expect_error([&] { db().messages().add_many(4242, batch); }).kind(), ErrorKind::not_found);
  EXPECT_EQ(count_rows("messages"), 0);
}

TEST_P(StoreConversations, MessageUpdateChangesContentOnly) {
  auto conversation = db().conversations().add({});
  auto m = message("assistant", "draft");
  m.conversation_id = conversation.id;
  auto added = db().messages().add(m);
  added.content = "final";
  added.sentiment_score = -0.5;
  ASSERT_TRUE(db().messages().update(added));
  auto loaded = db().messages().get(added.id);
  EXPECT_EQ(*loaded, added);
  EXPECT_EQ(db().conversations().get(conversation.id)->message_count, 1);
  added.id = 999999;
  EXPECT_FALSE(db().messages().update(added));
}

TEST_P(StoreConversations, MessagesReadOldestFirstWithOffsetAndKeysetPaging) {
  auto conversation = db().conversations().add({});
  auto other = db().conversations().add({});
  std::vector<Message> batch;
  for (int i = 0; i < 25; ++i) batch.push_back(message(i % 2 ? "assistant" : "user", "message " + std::to_string(i)));
  auto ids = db().messages().add_many(conversation.id, batch);
  ASSERT_EQ(ids.size(), 25u);
  db().messages().add_many(other.id, std::vector<Message>{message("user", "elsewhere")});

  auto all = db().messages().for_conversation(conversation.id);
  ASSERT_EQ(all.size(), 25u);
  for (int i = 0; i < 25; ++i) {
    EXPECT_EQ(all[i].id, ids[i]);
    EXPECT_EQ(all[i].content, "message " + std::to_string(i));
    EXPECT_EQ(all[i].conversation_id, conversation.id);
  }
  auto page3 = db().messages().for_conversation(conversation.id, {10, 20});
  ASSERT_EQ(page3.size(), 5u);
  EXPECT_EQ(page3.front().content, "message 20");

  std::vector<std::string> walked;
  auto page = db().messages().for_conversation(conversation.id, {10, 0});
  while (!page.empty()) {
    for (const auto& m : page) walked.push_back(m.content);
    page = db().messages().for_conversation_after(conversation.id, page.back(), 10);
  }
  ASSERT_EQ(walked.size(), 25u);
  EXPECT_EQ(walked.back(), "message 24");

  auto latest = db().messages().latest(conversation.id, 5);
  ASSERT_EQ(latest.size(), 5u);
  EXPECT_EQ(latest.front().content, "message 20");
  EXPECT_EQ(latest.back().content, "message 24");
  EXPECT_EQ(db().messages().latest(conversation.id, 100).size(), 25u);
}

TEST_P(StoreConversations, AddManyCountsTheBatchAtomically) {
  auto conversation = db().conversations().add({});
  std::vector<Message> batch;
  // Enough rows for several multi-row statements plus a shorter last one.
  for (int i = 0; i < 1050; ++i) {
    batch.push_back(message(i % 3 ? "user" : "tool", "row " + std::to_string(i), i % 2 ? std::optional(-0.5) : std::nullopt));
  }
  auto other = db().conversations().add({});
  db().messages().add(Message{0, other.id, "user", "before", {}, {}});
  auto ids = db().messages().add_many(conversation.id, batch);
  ASSERT_EQ(ids.size(), 1050u);
  for (std::size_t i = 0; i < ids.size(); i += 7) {
    auto stored = db().messages().get(ids[i]);
    ASSERT_TRUE(stored) << i;
    EXPECT_EQ(stored->content, batch[i].content);
    EXPECT_EQ(stored->role, batch[i].role);
    EXPECT_EQ(stored->sentiment_score, batch[i].sentiment_score);
    EXPECT_EQ(stored->conversation_id, conversation.id);
  }
  EXPECT_EQ(db().messages().get(ids.back())->content, "row 1049");
  EXPECT_EQ(db().conversations().get(conversation.id)->message_count, 1050);
  EXPECT_EQ(db().conversations().get(other.id)->message_count, 1);
  EXPECT_TRUE(db().messages().add_many(conversation.id, std::vector<Message>{}).empty());
  EXPECT_EQ(db().conversations().get(conversation.id)->message_count, 1050);
}

TEST_P(StoreConversations, AddManyRollsBackEverythingOnAConstraintViolation) {
  // Luna's schema has no CHECK on roles; the test adds a rule of its own that the middle row breaks,
  // so that the database itself rejects row 2 of the batch.
  {
    auto lease = raw();
    if (url_.backend == Backend::sqlite) {
      lease->execute("CREATE TRIGGER no_narrator BEFORE INSERT ON messages WHEN NEW.role = 'narrator' "
                     "BEGIN SELECT RAISE(ABORT, 'no narrator'); END");
    } else {
      lease->execute("ALTER TABLE messages ADD CONSTRAINT ck_test_no_narrator CHECK (role <> 'narrator')");
    }
  }
  auto conversation = db().conversations().add({});
  std::vector<Message> batch{message("user", "ok"), message("narrator", "bad role"), message("user", "ok too")};
  auto error = expect_database_error([&] { db().messages().add_many(conversation.id, batch); });
  EXPECT_EQ(error.kind(), ErrorKind::constraint);
  EXPECT_EQ(error.backend(), to_string(url_.backend));
  EXPECT_FALSE(error.native_code().empty());
  EXPECT_EQ(count_rows("messages"), 0);
  EXPECT_EQ(db().conversations().get(conversation.id)->message_count, 0);
}

TEST_P(StoreConversations, DeletingAConversationRemovesDependantsAndNullsReferences) {
  auto doomed = db().conversations().add({});
  auto kept = db().conversations().add({});
  std::vector<Message> batch{message("user", "one"), message("assistant", "two")};
  db().messages().add_many(doomed.id, batch);
  db().messages().add_many(kept.id, batch);
  store::Episode episode;
  episode.conversation_id = doomed.id;
  episode.summary = "talked";
  db().episodes().upsert(episode);
  episode.conversation_id = kept.id;
  db().episodes().upsert(episode);
  store::Fact fact;
  fact.category = "preference";
  fact.content = "likes tea";
  fact.source_conversation_id = doomed.id;
  auto f1 = db().facts().add(fact);
  fact.content = "likes coffee";
  auto f2 = db().facts().add(fact);
  store::AuditEntry audit;
  audit.tool = "web_search";
  audit.status = "ok";
  audit.conversation_id = doomed.id;
  auto a1 = db().audit_log().append(audit);
  store::ContradictionNote note;
  note.new_fact_id = f2.id;
  note.old_fact_id = f1.id;
  note.conversation_id = doomed.id;
  note.note = "tea vs coffee";
  auto n1 = db().contradiction_notes().add(note);

  ASSERT_TRUE(db().conversations().remove(doomed.id));
  EXPECT_FALSE(db().conversations().get(doomed.id));
  EXPECT_TRUE(db().messages().for_conversation(doomed.id).empty());
  EXPECT_FALSE(db().episodes().for_conversation(doomed.id));
  EXPECT_FALSE(db().facts().get(f1.id)->source_conversation_id);
  EXPECT_FALSE(db().facts().get(f2.id)->source_conversation_id);
  EXPECT_FALSE(db().audit_log().get(a1.id)->conversation_id);
  auto kept_note = db().contradiction_notes().get(n1.id);
  ASSERT_TRUE(kept_note);
  EXPECT_FALSE(kept_note->conversation_id);
  // The other conversation is untouched.
  EXPECT_EQ(db().messages().for_conversation(kept.id).size(), 2u);
  EXPECT_TRUE(db().episodes().for_conversation(kept.id));
  EXPECT_EQ(db().conversations().get(kept.id)->message_count, 2);
  EXPECT_EQ(count_rows("messages"), 2);
}

TEST_P(StoreConversations, StoreOpenedFromSettingsSeesTheSameDatabase) {
  auto opened = store::Store::open(settings_);
  EXPECT_EQ(opened.backend(), url_.backend);
  auto conversation = opened.conversations().add({});
  auto moved = std::move(opened);  // repositories stay valid when the Store moves
  auto m = message("user", "via settings");
  m.conversation_id = conversation.id;
  moved.messages().add(m);
  EXPECT_EQ(db().conversations().get(conversation.id)->message_count, 1);
  EXPECT_EQ(moved.personality().get().current_mood, "neutral");
  EXPECT_GE(moved.connection_source().stats().checkouts, 3u);
}

// Luna's DateTime columns hold naive UTC wall time. On PostgreSQL the column is TIMESTAMP WITHOUT
// TIME ZONE, so a session TimeZone other than UTC (PGTZ for the store's connections, SET TimeZone
// for the reader) must change neither what is stored nor what the store reads back.
TEST_P(StoreConversations, TimestampsAreStoredAsNaiveUtcWallTime) {
  using namespace std::chrono;
  const sql::Timestamp written = sys_days{2026y / March / 1} + 23h + 34min + 56s + 123456us;
  const bool plain_postgres = GetParam().name == "postgresql";
  std::optional<std::string> saved_pgtz;
  if (const char* value = std::getenv("PGTZ")) saved_pgtz = value;
  if (plain_postgres) ::setenv("PGTZ", "Asia/Kolkata", 1);
  std::int64_t id = 0;
  {
    auto opened = store::Store::open(settings_);
    Conversation draft;
    draft.ended_at = written;
    id = opened.conversations().add(draft).id;
    auto read = opened.conversations().get(id);
    ASSERT_TRUE(read);
    EXPECT_EQ(read->ended_at, written) << "read through a session whose TimeZone is not UTC";
  }
  if (saved_pgtz) {
    ::setenv("PGTZ", saved_pgtz->c_str(), 1);
  } else {
    ::unsetenv("PGTZ");
  }
  auto read = db().conversations().get(id);
  ASSERT_TRUE(read);
  EXPECT_EQ(read->ended_at, written);

  auto lease = raw();
  std::string wall_time_sql;
  switch (url_.backend) {
    case Backend::sqlite: wall_time_sql = "SELECT ended_at FROM conversations WHERE id = "; break;
    case Backend::mysql:
      wall_time_sql = "SELECT DATE_FORMAT(ended_at, '%Y-%m-%d %H:%i:%s.%f') FROM conversations WHERE id = ";
      break;
    default:
      if (plain_postgres) lease->execute("SET TimeZone TO 'America/Los_Angeles'");
      wall_time_sql = "SELECT to_char(ended_at, 'YYYY-MM-DD HH24:MI:SS.US') FROM conversations WHERE id = ";
      break;
  }
  auto st = lease->prepare(wall_time_sql + std::to_string(id));
  ASSERT_TRUE(st->step());
  EXPECT_EQ(st->get_text(0), "2026-03-01 23:34:56.123456");
  if (plain_postgres) lease->execute("RESET TimeZone");
}

INSTANTIATE_TEST_SUITE_P(Backends, StoreConversations, ::testing::ValuesIn(store_backends()), backend_name);

}  // namespace
}  // namespace lunadb::store_test
