// The memory engine on SQLite, PostgreSQL and MariaDB: each test gets a fresh database migrated to
// the head by the migration engine (the outbox and the keyword indexes come from the revision), a
// fresh embedded vector store and the loopback deterministic embedding server.
#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "lunadb/embed.hpp"
#include "lunadb/error.hpp"
#include "lunadb/memory.hpp"
#include "lunadb/migrate.hpp"
#include "lunadb/store.hpp"
#include "lunadb/vector.hpp"
#include "sql/dialect.hpp"
#include "sql/pool.hpp"
#include "support/fake_embedding_server.hpp"
#include "support/servers.hpp"
#include "support/temp_dir.hpp"

namespace lunadb::memory {
namespace {

using namespace std::chrono_literals;

struct Backend {
  std::string name;
  std::string (*server_url)();  // nullptr for SQLite
};

RecallOptions opts(void (*edit)(RecallOptions&)) {
  RecallOptions o;
  edit(o);
  return o;
}

ForgetFilter filter_category(const std::string& category) {
  ForgetFilter f;
  f.category = category;
  return f;
}

void PrintTo(const Backend& backend, std::ostream* out) { *out << backend.name; }

Settings settings_with(const DbUrl& url, const std::string& embed_base_url) {
  Settings settings;
  settings.db = url;
  if (url.backend == lunadb::Backend::sqlite) settings.db_path = url.database;
  settings.busy_timeout_ms = 10000;
  settings.ollama_base_url = embed_base_url;
  settings.ollama_embed_model = "test-model";
  settings.embed_max_retries = 0;
  settings.embed_timeout_s = 5;
  return settings;
}

class MemoryTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    if (GetParam().server_url) {
      LUNADB_REQUIRE_SERVER(GetParam().server_url());
      server_db_ = std::make_unique<test::FreshDatabase>(GetParam().server_url());
      url_ = server_db_->url();
    } else {
      url_.backend = lunadb::Backend::sqlite;
      url_.dialect = "sqlite";
      url_.database = (scratch_ / "luna.db").string();
    }
    embed_server_.set_dimension(16);
    settings_ = settings_with(url_, embed_server_.base_url());
    migrate::Migrator(settings_).upgrade("head");
    source_ = sql::make_connection_source(settings_);
    store_.emplace(*source_);
    vectors_ = vector::VectorStore::open(scratch_ / "chroma");
    embedder_ = make_embedder(settings_, RetryPolicy{1ms, 2ms, 10ms});
  }
  void TearDown() override {
    memory_.reset();
    vectors_.reset();
    store_.reset();
    if (source_) source_->dispose();
    source_.reset();
    server_db_.reset();
  }

  Memory& memory() {
    if (!memory_) memory_ = std::make_unique<Memory>(*store_, *vectors_, *embedder_, options());
    return *memory_;
  }
  MemoryOptions options() const {
    MemoryOptions o;
    o.retry_backoff = 1ms;
    o.max_retry_backoff = 5ms;
    return o;
  }
  // An embedder whose server is down.
  std::unique_ptr<Embedder> dead_embedder() {
    auto settings = settings_with(url_, "http://127.0.0.1:" + std::to_string(test::closed_loopback_port()));
    return make_embedder(settings, RetryPolicy{1ms, 2ms, 10ms});
  }
  std::size_t vector_count(const char* collection) {
    try {
      return vectors_->get_collection(collection)->count();
    } catch (const Error&) {
      return 0;
    }
  }
  bool has_vector(const char* collection, std::int64_t id) {
    try {
      vector::GetRequest get;
      get.ids = {std::to_string(id)};
      get.include = 0;
      return !vectors_->get_collection(collection)->get(get).ids.empty();
    } catch (const Error&) {
      return false;
    }
  }
  vector::Json metadata_of(std::int64_t id) {
    vector::GetRequest get;
    get.ids = {std::to_string(id)};
    get.include = vector::include_metadatas;
    auto got = vectors_->get_collection(kFactsCollection)->get(get);
    return got.ids.empty() ? vector::Json() : got.metadatas.front();
  }
  std::int64_t count_rows(const std::string& table) {
    auto lease = source_->acquire();
    auto st = lease->prepare("SELECT COUNT(*) FROM " + lease->dialect().quote(table));
    return st->step() ? st->get_int64(0) : -1;
  }
  static store::Fact fact(std::string category, std::string content, double importance = 0.5) {
    store::Fact f;
    f.category = std::move(category);
    f.content = std::move(content);
    f.importance = importance;
    return f;
  }
  static std::optional<RecallResult> find(const std::vector<RecallResult>& results, std::int64_t id,
                                          Kind kind = Kind::fact) {
    for (const auto& r : results)
      if (r.id == id && r.kind == kind) return r;
    return std::nullopt;
  }

  test::TempDir scratch_{"lunadb-memory"};
  std::unique_ptr<test::FreshDatabase> server_db_;
  DbUrl url_;
  test::FakeEmbeddingServer embed_server_;
  Settings settings_;
  std::unique_ptr<sql::ConnectionSource> source_;
  std::optional<store::Store> store_;
  std::unique_ptr<vector::VectorStore> vectors_;
  std::unique_ptr<Embedder> embedder_;
  std::unique_ptr<Memory> memory_;
};

TEST_P(MemoryTest, RememberWritesRowAndVectorAndEmptiesTheOutbox) {
  auto conversation = store_->conversations().add({});
  auto draft = fact("preference", "User drinks green tea every morning", 0.8);
  draft.source_conversation_id = conversation.id;
  auto result = memory().remember(draft);
  EXPECT_GT(result.fact.id, 0);
  EXPECT_FALSE(result.vector_pending);
  EXPECT_EQ(memory().pending_count(), 0u);
  EXPECT_EQ(vector_count(kFactsCollection), 1u);
  auto meta = metadata_of(result.fact.id);
  EXPECT_EQ(meta["category"], "preference");
  EXPECT_EQ(meta["memory_type"], "long");
  EXPECT_EQ(meta["is_active"], true);
  EXPECT_EQ(meta["is_private"], false);
  EXPECT_EQ(meta["conversation_id"], conversation.id);
  EXPECT_DOUBLE_EQ(meta["importance"].get<double>(), 0.8);

  memory().remember(fact("goal", "Run a marathon in spring"));
  auto found = memory().recall("green tea");
  ASSERT_FALSE(found.empty());
  EXPECT_EQ(found.front().id, result.fact.id);
  EXPECT_TRUE(found.front().scores.keyword_rank.has_value());
  EXPECT_TRUE(found.front().scores.vector_rank.has_value());
  EXPECT_TRUE(found.front().has_vector);
  EXPECT_GT(found.front().scores.score, 0);
  EXPECT_TRUE(store_->facts().get(result.fact.id)->last_accessed.has_value()) << "recall touches last_accessed";

  // The exact text is the nearest vector: similarity 1.
  auto exact = memory().recall("Run a marathon in spring", opts([](RecallOptions& o) { o.k = 1; }));
  ASSERT_EQ(exact.size(), 1u);
  EXPECT_NEAR(*exact.front().scores.vector_similarity, 1.0, 1e-5);
}

TEST_P(MemoryTest, UpdateAndSupersedeKeepVectorMetadataInStep) {
  auto old_fact = memory().remember(fact("location", "User lives in Lisbon")).fact;
  auto replaced = memory().supersede(old_fact.id, fact("location", "User lives in Porto"));
  EXPECT_FALSE(replaced.vector_pending);
  EXPECT_EQ(memory().pending_count(), 0u);
  EXPECT_EQ(metadata_of(old_fact.id)["is_active"], false) << "inactive facts keep their vector, marked";
  EXPECT_EQ(store_->facts().get(old_fact.id)->superseded_by, replaced.fact.id);

  auto active = memory().recall("User lives in Lisbon");
  EXPECT_FALSE(find(active, old_fact.id)) << "default recall is active facts only";
  EXPECT_TRUE(find(active, replaced.fact.id));
  auto any = memory().recall("User lives in Lisbon", opts([](RecallOptions& o) { o.active = std::nullopt; }));
  EXPECT_TRUE(find(any, old_fact.id));

  auto changed = *store_->facts().get(replaced.fact.id);
  changed.content = "User lives in Coimbra";
  changed.is_private = true;
  ASSERT_TRUE(memory().update(changed));
  EXPECT_EQ(metadata_of(changed.id)["is_private"], true);
  auto coimbra = memory().recall("Coimbra", opts([](RecallOptions& o) { o.is_private = true; }));
  ASSERT_TRUE(find(coimbra, changed.id));
  EXPECT_TRUE(find(coimbra, changed.id)->scores.keyword_rank) << "the keyword index follows the update";
  EXPECT_FALSE(find(memory().recall("Coimbra", opts([](RecallOptions& o) { o.is_private = false; })), changed.id));
  EXPECT_THROW(memory().supersede(999999, fact("x", "y")), Error);
}

TEST_P(MemoryTest, FiltersByCategoryTypeAndTime) {
  auto a = memory().remember(fact("food", "likes spicy ramen")).fact;
  auto b_draft = fact("work", "likes spicy deadlines");
  b_draft.memory_type = "short";
  auto b = memory().remember(b_draft).fact;
  auto food = memory().recall("spicy", opts([](RecallOptions& o) { o.category = "food"; }));
  ASSERT_EQ(food.size(), 1u);
  EXPECT_EQ(food.front().id, a.id);
  auto shorts = memory().recall("spicy", opts([](RecallOptions& o) { o.memory_type = "short"; }));
  ASSERT_EQ(shorts.size(), 1u);
  EXPECT_EQ(shorts.front().id, b.id);
  auto future = memory().recall("spicy", opts([](RecallOptions& o) { o.created_from = sql::now_utc() + 1h; }));
  EXPECT_TRUE(future.empty());
  auto past = memory().recall("spicy", opts([](RecallOptions& o) { o.created_to = sql::now_utc() + 1h; }));
  EXPECT_EQ(past.size(), 2u);
}

TEST_P(MemoryTest, NearDuplicatesOfTheSameCategoryAreReported) {
  auto first = memory().remember(fact("preference", "User loves black coffee")).fact;
  auto again = memory().remember(fact("preference", "User loves black coffee"));
  ASSERT_EQ(again.near_duplicates.size(), 1u);
  EXPECT_EQ(again.near_duplicates.front().fact_id, first.id);
  EXPECT_NEAR(again.near_duplicates.front().similarity, 1.0, 1e-5);
  auto other_category = memory().remember(fact("habit", "User loves black coffee"));
  EXPECT_TRUE(other_category.near_duplicates.empty());
  auto different = memory().remember(fact("preference", "User hates loud music"));
  EXPECT_TRUE(different.near_duplicates.empty());
}

TEST_P(MemoryTest, EmbeddingServerDownThenBack) {
  auto dead = dead_embedder();
  auto fact_id = std::int64_t{0};
  {
    Memory down(*store_, *vectors_, *dead, options());
    auto result = down.remember(fact("pet", "User has a cat named Miso"));
    fact_id = result.fact.id;
    EXPECT_TRUE(result.vector_pending);
    EXPECT_TRUE(store_->facts().get(fact_id)) << "the fact is committed";
    EXPECT_EQ(down.pending_count(), 1u);
    auto found = down.recall("Miso");
    ASSERT_EQ(found.size(), 1u) << "found by keyword";
    EXPECT_EQ(found.front().id, fact_id);
    EXPECT_FALSE(found.front().has_vector);
    EXPECT_FALSE(found.front().scores.vector_rank);
    EXPECT_TRUE(found.front().scores.keyword_rank);
    auto stats = down.process_pending();
    EXPECT_EQ(stats.failed, 1u);
    EXPECT_EQ(stats.pending, 1u);
    EXPECT_THROW(down.flush(), Error);
  }
  // The server is back: opening replays the outbox.
  Memory up(*store_, *vectors_, *embedder_, options());
  EXPECT_EQ(up.replay_stats().applied, 1u);
  EXPECT_EQ(up.pending_count(), 0u);
  EXPECT_TRUE(has_vector(kFactsCollection, fact_id));
  auto found = up.recall("Miso");
  ASSERT_EQ(found.size(), 1u);
  EXPECT_TRUE(found.front().has_vector);
}

TEST_P(MemoryTest, ReplayConvergesAfterACrashBetweenRowAndVector) {
  auto kept = memory().remember(fact("a", "kept fact")).fact;
  // As if the process died after committing rows but before applying: a row written with its
  // outbox entry by hand, and a vector whose row was deleted with its entry left behind.
  auto orphan = memory().remember(fact("a", "orphan fact")).fact;
  memory_.reset();
  auto unapplied = store_->facts().add(fact("a", "unapplied fact"));
  {
    auto lease = source_->acquire();
    const auto& d = lease->dialect();
    for (auto id : {unapplied.id, orphan.id}) {
      auto st = lease->prepare("INSERT INTO " + d.quote("memory_outbox") + " (" + d.quote("kind") + ", " +
                               d.quote("row_id") + ", " + d.quote("created_at") + ", " + d.quote("attempts") +
                               ") VALUES ('fact', ?, ?, 0)");
      st->bind(1, id);
      st->bind(2, sql::now_utc());
      st->execute();
    }
  }
  ASSERT_TRUE(store_->facts().remove(orphan.id));
  EXPECT_TRUE(has_vector(kFactsCollection, orphan.id));
  auto& m = memory();  // opens and replays
  EXPECT_EQ(m.replay_stats().applied, 1u);
  EXPECT_EQ(m.replay_stats().removed, 1u);
  EXPECT_EQ(m.pending_count(), 0u);
  EXPECT_TRUE(has_vector(kFactsCollection, kept.id));
  EXPECT_TRUE(has_vector(kFactsCollection, unapplied.id));
  EXPECT_FALSE(has_vector(kFactsCollection, orphan.id));
  EXPECT_EQ(vector_count(kFactsCollection), 2u);
}

TEST_P(MemoryTest, ForgetConversationRemovesEverythingOfIt) {
  auto conversation = store_->conversations().add({});
  store::Message message;
  message.conversation_id = conversation.id;
  message.role = "user";
  message.content = "my secret is pineapple";
  store_->messages().add(message);
  store_->messages().add(message);
  auto f1 = fact("secret", "User secret word is pineapple");
  f1.source_conversation_id = conversation.id;
  auto f2 = fact("secret", "User pineapple allergy");
  f2.source_conversation_id = conversation.id;
  auto a = memory().remember(f1).fact;
  auto b = memory().remember(f2).fact;
  auto other = memory().remember(fact("secret", "pineapple pizza is fine")).fact;
  memory().link(a.id, b.id, "confirms");
  memory().link(a.id, other.id, "contradicts");
  store::Episode episode;
  episode.conversation_id = conversation.id;
  episode.summary = "Talked about pineapple secrets";
  auto ep = memory().add_episode(episode);
  EXPECT_TRUE(has_vector(kEpisodesCollection, ep.id));
  auto before = memory().recall("pineapple", opts([](RecallOptions& o) { o.episodes = true; }));
  EXPECT_EQ(before.size(), 4u);

  auto receipt = memory().forget_conversation(conversation.id);
  EXPECT_EQ(receipt.what, "conversation " + std::to_string(conversation.id));
  EXPECT_EQ(receipt.facts, 2);
  EXPECT_EQ(receipt.messages, 2);
  EXPECT_EQ(receipt.episodes, 1);
  EXPECT_EQ(receipt.conversations, 1);
  EXPECT_EQ(receipt.relationships, 2);
  EXPECT_EQ(receipt.vectors, 3);
  EXPECT_FALSE(receipt.vectors_pending);
  EXPECT_GT(receipt.at.time_since_epoch().count(), 0);

  auto after = memory().recall("pineapple", opts([](RecallOptions& o) { o.active = std::nullopt; o.episodes = true; }));
  ASSERT_EQ(after.size(), 1u);
  EXPECT_EQ(after.front().id, other.id);
  auto exact = memory().recall("User secret word is pineapple", opts([](RecallOptions& o) { o.active = std::nullopt; o.episodes = true; }));
  EXPECT_FALSE(find(exact, a.id));
  EXPECT_FALSE(store_->facts().get(a.id));
  EXPECT_FALSE(store_->conversations().get(conversation.id));
  EXPECT_FALSE(has_vector(kFactsCollection, a.id));
  EXPECT_FALSE(has_vector(kFactsCollection, b.id));
  EXPECT_FALSE(has_vector(kEpisodesCollection, ep.id));
  EXPECT_EQ(count_rows("messages"), 0);
  EXPECT_EQ(count_rows("fact_relationships"), 0);
  EXPECT_EQ(count_rows("memory_outbox"), 0);
}

TEST_P(MemoryTest, ForgetOneFactAndByFilter) {
  auto a = memory().remember(fact("tmp", "temporary note alpha")).fact;
  auto b = memory().remember(fact("tmp", "temporary note beta")).fact;
  auto c = memory().remember(fact("keep", "temporary note gamma")).fact;
  auto one = memory().forget_fact(a.id);
  EXPECT_EQ(one.facts, 1);
  EXPECT_EQ(one.vectors, 1);
  EXPECT_FALSE(has_vector(kFactsCollection, a.id));
  auto filtered = memory().forget(filter_category("tmp"));
  EXPECT_EQ(filtered.facts, 1);
  EXPECT_EQ(filtered.what, "filter category=tmp");
  auto left = memory().recall("temporary note", opts([](RecallOptions& o) { o.active = std::nullopt; }));
  ASSERT_EQ(left.size(), 1u);
  EXPECT_EQ(left.front().id, c.id);
  EXPECT_FALSE(has_vector(kFactsCollection, b.id));
  EXPECT_THROW(memory().forget(ForgetFilter{}), Error);
}

TEST_P(MemoryTest, EmojiCjkAndRightToLeftText) {
  auto emoji = memory().remember(fact("mood", "User loves 🍣 and 🎸 guitar")).fact;
  auto cjk = memory().remember(fact("place", "用户 住在 東京")).fact;
  auto arabic = memory().remember(fact("greeting", "User says مرحبا every morning")).fact;
  auto hebrew = memory().remember(fact("greeting", "User says שלום to friends")).fact;
  for (auto id : {emoji.id, cjk.id, arabic.id, hebrew.id}) {
    auto stored = store_->facts().get(id);
    ASSERT_TRUE(stored);
    EXPECT_TRUE(has_vector(kFactsCollection, id));
  }
  EXPECT_EQ(store_->facts().get(cjk.id)->content, "用户 住在 東京");
  // Exact texts are found by vector on every backend.
  for (const auto& f : {emoji, cjk, arabic, hebrew}) {
    auto found = memory().recall(f.content, opts([](RecallOptions& o) { o.k = 1; }));
    ASSERT_EQ(found.size(), 1u) << f.content;
    EXPECT_EQ(found.front().id, f.id) << f.content;
  }
  // Space-separated words of any script are keywords on every backend (docs/memory.md).
  auto by_arabic = memory().recall("مرحبا");
  ASSERT_TRUE(find(by_arabic, arabic.id));
  EXPECT_TRUE(find(by_arabic, arabic.id)->scores.keyword_rank);
  auto by_hebrew = memory().recall("שלום");
  ASSERT_TRUE(find(by_hebrew, hebrew.id));
  EXPECT_TRUE(find(by_hebrew, hebrew.id)->scores.keyword_rank);
  if (GetParam().name != "mysql") {
    // InnoDB's FULLTEXT drops words shorter than innodb_ft_min_token_size (3): 東京 is two.
    auto by_cjk = memory().recall("東京");
    ASSERT_TRUE(find(by_cjk, cjk.id));
    EXPECT_TRUE(find(by_cjk, cjk.id)->scores.keyword_rank);
  }
  // An emoji-only query has no keyword on any backend and must not fail.
  EXPECT_NO_THROW(memory().recall("🍣"));
  EXPECT_NO_THROW(memory().recall("\"quoted\" OR * NEAR( -x"));
}

TEST_P(MemoryTest, WorkerAppliesTheOutboxInTheBackground) {
  auto o = options();
  o.start_worker = true;
  o.worker_poll = 20ms;
  Memory m(*store_, *vectors_, *embedder_, o);
  auto result = m.remember(fact("w", "background worker fact"));
  for (int i = 0; i < 500 && m.pending_count() > 0; ++i) std::this_thread::sleep_for(10ms);
  EXPECT_EQ(m.pending_count(), 0u);
  EXPECT_TRUE(has_vector(kFactsCollection, result.fact.id));
}

// Rows written straight through the Store (as Luna's own Python code writes them: no outbox
// entry), a vector added straight to the collection, and a vector overwritten with another
// model's: verify() names each, repair() fixes them, and a fresh verify() is clean.
TEST_P(MemoryTest, VerifyAndRepairRowsAndVectorsWrittenBehindItsBack) {
  auto kept = memory().remember(fact("preference", "User likes jazz records")).fact;
  auto foreign = memory().remember(fact("preference", "User collects old maps")).fact;
  auto clean = memory().verify();
  EXPECT_TRUE(clean.clean());
  ASSERT_EQ(clean.kinds.size(), 2u);
  EXPECT_EQ(clean.kinds[0].rows, 2u);
  EXPECT_EQ(clean.kinds[0].vectors, 2u);
  EXPECT_EQ(clean.kinds[0].model, "test-model");
  EXPECT_EQ(clean.kinds[0].dimension, 16u);

  auto behind = store_->facts().add(fact("goal", "User wants to learn the cello"));
  auto conversation = store_->conversations().add({});
  store::Episode draft;
  draft.conversation_id = conversation.id;
  draft.summary = "Talked about learning the cello";
  auto episode = store_->episodes().upsert(draft);
  auto col = vectors_->get_collection(kFactsCollection);
  col->upsert({vector::Record{"987654", std::vector<float>(16, 0.25f), "a fact nobody has", {{"kind", "fact"}}}});
  col->update({vector::RecordUpdate{std::to_string(foreign.id),
                                    test::FakeEmbeddingServer::vector_for("other-model", foreign.content, 16),
                                    std::nullopt, {{"model", "other-model"}}}});

  auto found = memory().verify();
  EXPECT_FALSE(found.clean());
  EXPECT_EQ(found.kinds[0].missing, std::vector<std::int64_t>{behind.id});
  EXPECT_EQ(found.kinds[0].orphans, std::vector<std::string>{"987654"});
  EXPECT_EQ(found.kinds[0].wrong_model, std::vector<std::int64_t>{foreign.id});
  EXPECT_EQ(found.kinds[1].missing, std::vector<std::int64_t>{episode.id});
  EXPECT_TRUE(found.kinds[1].orphans.empty());

  // An embedder of another model than the recorded one would mix models: refused.
  {
    auto settings = settings_;
    settings.ollama_embed_model = "other-model";
    auto other = make_embedder(settings, RetryPolicy{1ms, 2ms, 10ms});
    auto o = options();
    o.replay_on_open = false;
    Memory wrong(*store_, *vectors_, *other, o);
    try {
      wrong.repair();
      ADD_FAILURE() << "repair with another model must be refused";
    } catch (const Error& error) {
      EXPECT_EQ(error.kind(), ErrorKind::usage);
    }
  }

  auto repaired = memory().repair();
  EXPECT_TRUE(repaired.clean());
  EXPECT_EQ(repaired.kinds[0].vectors, 3u);
  EXPECT_EQ(repaired.kinds[1].vectors, 1u);
  EXPECT_EQ(memory().pending_count(), 0u);
  EXPECT_FALSE(has_vector(kFactsCollection, 987654));
  EXPECT_TRUE(has_vector(kEpisodesCollection, episode.id));
  EXPECT_EQ(metadata_of(foreign.id)["model"], "test-model");
  EXPECT_EQ(metadata_of(behind.id)["category"], "goal");
  // The re-embedded vector is the current model's again: its own text is at similarity 1.
  auto exact = memory().recall(foreign.content, opts([](RecallOptions& o) { o.k = 1; }));
  ASSERT_EQ(exact.size(), 1u);
  EXPECT_EQ(exact.front().id, foreign.id);
  EXPECT_NEAR(*exact.front().scores.vector_similarity, 1.0, 1e-5);
  EXPECT_TRUE(memory().verify().clean());
  EXPECT_EQ(kept.id, memory().recall(kept.content, opts([](RecallOptions& o) { o.k = 1; })).front().id);

  auto stats = memory().stats();
  EXPECT_EQ(stats.facts, 3u);
  EXPECT_EQ(stats.episodes, 1u);
  EXPECT_EQ(stats.pending, 0u);
  EXPECT_EQ(stats.collections[0].vectors, 3u);
  EXPECT_EQ(stats.collections[0].collection, kFactsCollection);
}

// The keyword part ranks the best matches before filtering them (SQLite); when the filters reject
// all of those, the active matches further down must still be found.
TEST_P(MemoryTest, KeywordMatchesBehindManyFilteredOutOnesAreFound) {
  for (int i = 0; i < 100; ++i) {
    auto retired = fact("history", "harbour harbour harbour " + std::to_string(i));
    retired.is_active = false;
    store_->facts().add(retired);
  }
  auto a = memory().remember(fact("place", "User once walked along a long harbour wall near the old town")).fact;
  auto b = memory().remember(fact("place", "User grew up by a harbour with fishing boats and a lighthouse")).fact;
  auto found = memory().recall("harbour", opts([](RecallOptions& o) {
    o.k = 2;
    o.use_vectors = false;
  }));
  ASSERT_EQ(found.size(), 2u);
  EXPECT_EQ((std::set<std::int64_t>{found[0].id, found[1].id}), (std::set<std::int64_t>{a.id, b.id}));
  auto inactive = memory().recall("harbour", opts([](RecallOptions& o) {
    o.k = 5;
    o.use_vectors = false;
    o.active = false;
  }));
  ASSERT_EQ(inactive.size(), 5u);
  for (const auto& r : inactive) EXPECT_FALSE(r.is_active);
}

// Many threads on one Memory, with the background worker and explicit process_pending() racing
// it: writers remember, supersede and forget while readers recall. Named *Concurrency* so the
// ThreadSanitizer build runs it. Afterwards the store has converged: verify() is clean, every
// fact that should exist is found by its own keyword and by its own vector, and nothing forgotten
// or superseded comes back.
using MemoryConcurrency = MemoryTest;

TEST_P(MemoryConcurrency, WritersReadersAndTheWorkerConverge) {
  constexpr int kWriters = 4;
  constexpr int kFactsPerWriter = 12;
  auto o = options();
  o.start_worker = true;
  o.worker_poll = 5ms;
  o.batch_size = 8;
  Memory m(*store_, *vectors_, *embedder_, o);

  // A keyword of its own per fact: "tok" + writer + "x" + index (one token on every backend).
  auto token = [](int writer, int index) { return "tok" + std::to_string(writer) + "x" + std::to_string(index); };
  std::mutex mutex;
  std::map<std::string, std::int64_t> alive;  // token -> id of the active fact holding it
  std::set<std::int64_t> gone;                // forgotten or superseded ids
  std::atomic<int> writers_left{kWriters};
  std::atomic<int> errors{0};
  std::vector<std::string> error_texts;
  auto record_error = [&](const std::exception& error) {
    std::lock_guard lock(mutex);
    ++errors;
    error_texts.emplace_back(error.what());
  };

  std::vector<std::thread> threads;
  for (int w = 0; w < kWriters; ++w) {
    threads.emplace_back([&, w] {
      try {
        for (int i = 0; i < kFactsPerWriter; ++i) {
          const std::string tok = token(w, i);
          auto made = m.remember(fact("c" + std::to_string(w), "writer fact " + tok + " about the harbour"));
          if (i % 4 == 3) {
            auto replaced = m.supersede(made.fact.id, fact("c" + std::to_string(w), "replacement fact " + tok + "r"));
            std::lock_guard lock(mutex);
            gone.insert(made.fact.id);
            alive[tok + "r"] = replaced.fact.id;
          } else if (i % 5 == 4) {
            m.forget_fact(made.fact.id);
            std::lock_guard lock(mutex);
            gone.insert(made.fact.id);
          } else {
            std::lock_guard lock(mutex);
            alive[tok] = made.fact.id;
          }
        }
      } catch (const std::exception& error) {
        record_error(error);
      }
      --writers_left;
    });
  }
  std::atomic<int> recalls{0};
  for (int r = 0; r < 2; ++r) {
    threads.emplace_back([&, r] {
      try {
        int i = 0;
        while (writers_left.load() > 0) {
          auto results = m.recall(token(i % kWriters, (i / kWriters) % kFactsPerWriter) + " harbour",
                                  opts([](RecallOptions& ro) { ro.k = 5; }));
          for (const auto& result : results)
            if (result.id <= 0 || result.text.empty()) throw std::runtime_error("recall returned an empty result");
          ++recalls;
          i += 1 + r;
        }
      } catch (const std::exception& error) {
        record_error(error);
      }
    });
  }
  threads.emplace_back([&] {
    try {
      while (writers_left.load() > 0) m.process_pending();
    } catch (const std::exception& error) {
      record_error(error);
    }
  });
  for (auto& thread : threads) thread.join();
  ASSERT_EQ(errors.load(), 0) << (error_texts.empty() ? "" : error_texts.front());
  EXPECT_GT(recalls.load(), 0);

  m.flush();
  auto report = m.verify();
  EXPECT_TRUE(report.clean()) << "missing " << report.kinds[0].missing.size() << ", orphans "
                              << report.kinds[0].orphans.size() << ", wrong model " << report.kinds[0].wrong_model.size();
  // Superseded facts keep their (inactive) vector; forgotten ones have neither row nor vector.
  const std::size_t superseded = kWriters * (kFactsPerWriter / 4);
  EXPECT_EQ(static_cast<std::size_t>(count_rows("facts")), alive.size() + superseded);
  EXPECT_EQ(vector_count(kFactsCollection), alive.size() + superseded);
  for (const auto& [tok, id] : alive) {
    auto by_keyword = m.recall(tok, opts([](RecallOptions& ro) { ro.k = 1; ro.use_vectors = false; ro.touch = false; }));
    ASSERT_EQ(by_keyword.size(), 1u) << tok;
    EXPECT_EQ(by_keyword.front().id, id) << tok;
    EXPECT_TRUE(by_keyword.front().has_vector) << tok;
    const std::string text = by_keyword.front().text;
    auto by_vector = m.recall(text, opts([](RecallOptions& ro) { ro.k = 1; ro.use_keywords = false; ro.touch = false; }));
    ASSERT_EQ(by_vector.size(), 1u) << tok;
    EXPECT_EQ(by_vector.front().id, id) << tok;
  }
  // SQLite hands a deleted highest id to the next insert, so forgotten ids are compared by what
  // the keyword search finds, not by id: exactly the active originals mention the harbour.
  std::set<std::int64_t> harbour_expected;
  for (const auto& [tok, id] : alive)
    if (tok.back() != 'r') harbour_expected.insert(id);
  std::set<std::int64_t> harbour_found;
  for (const auto& result :
       m.recall("harbour", opts([](RecallOptions& ro) { ro.k = 200; ro.use_vectors = false; ro.touch = false; })))
    harbour_found.insert(result.id);
  EXPECT_EQ(harbour_found, harbour_expected);
  EXPECT_FALSE(gone.empty());
}

INSTANTIATE_TEST_SUITE_P(Backends, MemoryTest,
                         ::testing::Values(Backend{"sqlite", nullptr}, Backend{"postgresql", test::pg_url},
                                           Backend{"mysql", test::mysql_url}),
                         [](const ::testing::TestParamInfo<Backend>& param_info) { return param_info.param.name; });

INSTANTIATE_TEST_SUITE_P(Backends, MemoryConcurrency,
                         ::testing::Values(Backend{"sqlite", nullptr}, Backend{"postgresql", test::pg_url},
                                           Backend{"mysql", test::mysql_url}),
                         [](const ::testing::TestParamInfo<Backend>& param_info) { return param_info.param.name; });

}  // namespace
}  // namespace lunadb::memory
