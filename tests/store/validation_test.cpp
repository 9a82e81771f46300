#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>

#include "store_fixture.hpp"

namespace lunadb::store_test {
namespace {

class StoreValidation : public StoreTest {
 protected:
  std::int64_t conversation_id() {
    if (conversation_id_ == 0) conversation_id_ = db().conversations().add({}).id;
    return conversation_id_;
  }
  store::Message message(std::string content) {
    store::Message m;
    m.conversation_id = conversation_id();
    m.role = "user";
    m.content = std::move(content);
    return m;
  }
  void expect_invalid(const Error& error, const std::string& field) {
    EXPECT_EQ(error.kind(), ErrorKind::invalid_argument) << error.what();
    EXPECT_NE(std::string(error.what()).find(field), std::string::npos) << error.what();
  }

 private:
  std::int64_t conversation_id_ = 0;
};

TEST_P(StoreValidation, UnicodeRoundTripsByteForByte) {
  const std::vector<std::string> samples = {
      "Emoji 😀🎉👩‍👩‍👧‍👦 and flags 🇯🇵",
      "中文 日本語 한국어",
      "עברית and العربية mixed with LTR",
      "combining: e\xCC\x81 vs \xC3\xA9, zero width\xE2\x80\x8Bspace",
      "max code point \xF4\x8F\xBF\xBF and BOM \xEF\xBB\xBF",
      "quotes ' \" ` ; -- /* not sql */",
  };
  for (const auto& text : samples) {
    auto stored = db().messages().add(message(text));
    EXPECT_EQ(db().messages().get(stored.id)->content, text);
  }
  store::Fact fact;
  fact.category = "personal";
  fact.content = samples[0] + samples[1];
  auto stored_fact = db().facts().add(fact);
  EXPECT_EQ(db().facts().get(stored_fact.id)->content, fact.content);

  store::Conversation conversation;
  conversation.title = "タイトル 🌙";
  conversation.metadata = R"({"note": "😀 中文 עברית"})";
  auto stored_conversation = db().conversations().add(conversation);
  auto loaded = db().conversations().get(stored_conversation.id);
  EXPECT_EQ(loaded->title, conversation.title);
  EXPECT_EQ(loaded->metadata, conversation.metadata);
}

// JSON columns hold the document, not its spelling: PostgreSQL's jsonb (schema.md) stores a parsed
// form and prints it with its own spacing and key order, as it does for SQLAlchemy. Every backend
// returns the same document, and the spelling is kept where the type is text-based.
TEST_P(StoreValidation, JsonColumnsKeepTheDocument) {
  const std::string compact = R"({"b":[1,2.5,"três 🌙"],"a":{"nested":true,"none":null},"c":"x"})";
  store::Conversation conversation;
  conversation.metadata = compact;
  auto stored = db().conversations().add(conversation);
  auto loaded = db().conversations().get(stored.id);
  ASSERT_TRUE(loaded && loaded->metadata);
  EXPECT_EQ(nlohmann::json::parse(*loaded->metadata), nlohmann::json::parse(compact));
  if (url_.backend != Backend::postgresql) {
    EXPECT_EQ(*loaded->metadata, compact);
  }
}

// add_many takes each backend's bulk path (COPY's text format on PostgreSQL, multi-row INSERTs
// elsewhere): characters that delimit COPY fields and rows, its escape character and its NULL
// marker must come back as written, and ids must match the messages in order.
TEST_P(StoreValidation, BatchInsertKeepsDelimitersEscapesAndNulls) {
  const std::vector<std::string> contents = {
      "tab\there", "line\nbreak", "carriage\rreturn", "back\\slash", "\\N", "\\.", "", "end\\",
      "😀 中文 עברית", std::string("nul-free \x01\x1f control"), std::string(70000, 'x') + "\t\n"};
  const auto conversation = db().conversations().add({});
  std::vector<store::Message> batch;
  for (std::size_t i = 0; i < contents.size(); ++i) {
    store::Message m;
    m.role = i % 2 == 0 ? "user" : "assistant";
    m.content = contents[i];
    if (i % 3 == 0) m.sentiment_score = -0.125 * static_cast<double>(i % 8);
    batch.push_back(m);
  }
  const auto ids = db().messages().add_many(conversation.id, batch);
  ASSERT_EQ(ids.size(), contents.size());
  for (std::size_t i = 0; i < ids.size(); ++i) {
    const auto loaded = db().messages().get(ids[i]);
    ASSERT_TRUE(loaded) << "message " << i;
    EXPECT_EQ(loaded->content, contents[i]) << "message " << i;
    EXPECT_EQ(loaded->role, batch[i].role) << "message " << i;
    EXPECT_EQ(loaded->sentiment_score, batch[i].sentiment_score) << "message " << i;
    if (i > 0) {
      EXPECT_GT(ids[i], ids[i - 1]);
    }
  }
  EXPECT_EQ(db().conversations().get(conversation.id)->message_count, static_cast<std::int64_t>(contents.size()));
  // The ids the store handed out are the ones new rows go on from: a later insert does not collide.
  EXPECT_GT(db().messages().add([&] {
              store::Message m;
              m.conversation_id = conversation.id;
              m.role = "user";
              m.content = "after";
              return m;
            }()).id,
            ids.back());
}

TEST_P(StoreValidation, OneMegabyteMessageRoundTrips) {
  std::string big;
  const std::string unit = "Luna 🌙 月 ";
  while (big.size() < (1u << 20)) big += unit;
  auto stored = db().messages().add(message(big));
  auto loaded = db().messages().get(stored.id);
  ASSERT_TRUE(loaded);
  EXPECT_EQ(loaded->content.size(), big.size());
  EXPECT_TRUE(loaded->content == big);
}

TEST_P(StoreValidation, InvalidUtf8IsRejectedNamingTheFieldAndWritesNothing) {
  const std::vector<std::string> bad = {
      std::string("truncated \xF0\x9F\x98"),  // emoji cut short
      std::string("lone continuation \x80"),
      std::string("overlong \xC0\xAF"),
      std::string("surrogate \xED\xA0\x80"),
      std::string("beyond U+10FFFF \xF4\x90\x80\x80"),
      std::string("latin-1 caf\xE9"),
  };
  for (const auto& text : bad) {
    expect_invalid(expect_error([&] { db().messages().add(message(text)); }), "messages.content");
  }
  std::vector<store::Message> batch{message("fine"), message(bad[0])};
  expect_invalid(expect_error([&] { db().messages().add_many(conversation_id(), batch); }), "messages.content");
  EXPECT_EQ(count_rows("messages"), 0);
  EXPECT_EQ(db().conversations().get(conversation_id())->message_count, 0);

  store::Conversation conversation;
  conversation.title = bad[1];
  expect_invalid(expect_error([&] { db().conversations().add(conversation); }), "conversations.title");

  store::Fact fact;
  fact.category = "preference";
  fact.content = bad[2];
  expect_invalid(expect_error([&] { db().facts().add(fact); }), "facts.content");
  fact.content = "fine";
  fact.category = bad[3];
  expect_invalid(expect_error([&] { db().facts().add(fact); }), "facts.category");
  EXPECT_EQ(count_rows("facts"), 0);

  store::AuditEntry entry;
  entry.tool = "shell";
  entry.status = "ok";
  entry.result = bad[4];
  expect_invalid(expect_error([&] { db().audit_log().append(entry); }), "audit_log.result");

  store::Task task;
  task.title = bad[5];
  expect_invalid(expect_error([&] { db().tasks().add(task); }), "tasks.title");
  EXPECT_EQ(count_rows("conversations"), 1);
  EXPECT_EQ(count_rows("audit_log"), 0);
  EXPECT_EQ(count_rows("tasks"), 0);
}

TEST_P(StoreValidation, InvalidJsonIsRejectedNamingTheField) {
  store::Conversation conversation;
  conversation.metadata = "{not json";
  expect_invalid(expect_error([&] { db().conversations().add(conversation); }), "conversations.metadata");
  conversation.metadata = "";
  expect_invalid(expect_error([&] { db().conversations().add(conversation); }), "conversations.metadata");

  store::Episode episode;
  episode.conversation_id = conversation_id();
  episode.summary = "s";
  episode.key_entities = "['single quotes']";
  expect_invalid(expect_error([&] { db().episodes().upsert(episode); }), "episodes.key_entities");
  episode.key_entities = "[]";
  episode.key_fact_ids = "[1,2,";
  expect_invalid(expect_error([&] { db().episodes().upsert(episode); }), "episodes.key_fact_ids");

  store::AuditEntry entry;
  entry.tool = "shell";
  entry.status = "ok";
  entry.args = R"({"cmd": "ls",})";
  expect_invalid(expect_error([&] { db().audit_log().append(entry); }), "audit_log.args");

  EXPECT_EQ(count_rows("conversations"), 1);
  EXPECT_EQ(count_rows("episodes"), 0);
  EXPECT_EQ(count_rows("audit_log"), 0);
  // Valid JSON of every shape is accepted.
  conversation.metadata = R"([1, "two", {"three": null}, true])";
  EXPECT_EQ(db().conversations().add(conversation).metadata, conversation.metadata);
}

TEST_P(StoreValidation, NonFiniteNumbersAreRejected) {
  auto m = message("hi");
  m.sentiment_score = std::numeric_limits<double>::quiet_NaN();
  expect_invalid(expect_error([&] { db().messages().add(m); }), "messages.sentiment_score");
  store::Fact fact;
  fact.category = "goal";
  fact.content = "x";
  fact.importance = std::numeric_limits<double>::infinity();
  expect_invalid(expect_error([&] { db().facts().add(fact); }), "facts.importance");
  auto state = db().personality().get();
  state.humor = -std::numeric_limits<double>::infinity();
  expect_invalid(expect_error([&] { db().personality().update(state); }), "personality_state.humor");
  EXPECT_EQ(count_rows("messages"), 0);
  EXPECT_EQ(count_rows("facts"), 0);
}

INSTANTIATE_TEST_SUITE_P(Backends, StoreValidation, ::testing::ValuesIn(store_backends()), backend_name);

}  // namespace
}  // namespace lunadb::store_test
