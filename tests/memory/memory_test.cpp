// The memory engine on SQLite, PostgreSQL and MariaDB: each test gets a fresh database migrated to
// the head by the migration engine (the outbox and the keyword indexes come from the revision), a
// fresh embedded vector store and the loopback deterministic embedding server.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
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

// An embedder in front of a real one (HTTP to the loopback server): counts embed() calls, runs
// `before_call` before each (what the test does "meanwhile"), and from call `fail_from` on throws
// as an embedding server that went away does.
class ScriptedEmbedder : public Embedder {
 public:
  explicit ScriptedEmbedder(std::unique_ptr<Embedder> inner) : inner_(std::move(inner)) {}
  std::vector<std::vector<float>> embed(const std::vector<std::string>& texts) override {
    ++calls;
    if (before_call) before_call(calls);
    if (fail_from && calls >= *fail_from) throw Error(ErrorKind::connection, "scripted: the embedding server went away");
    return inner_->embed(texts);
  }
  const std::string& model() const override { return inner_->model(); }
  const char* provider() const override { return inner_->provider(); }
  const std::string& endpoint() const override { return inner_->endpoint(); }
  std::optional<std::size_t> dimension() const override { return inner_->dimension(); }

  std::size_t calls = 0;
  std::optional<std::size_t> fail_from;
  std::function<void(std::size_t call)> before_call;

 private:
  std::unique_ptr<Embedder> inner_;
};

double cosine(const std::vector<float>& a, const std::vector<float>& b) {
  if (a.size() != b.size()) return -2;
  double dot = 0, na = 0, nb = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    dot += double(a[i]) * b[i];
    na += double(a[i]) * a[i];
    nb += double(b[i]) * b[i];
  }
  return dot / std::sqrt(na * nb);
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
    embed_server_.set_model_dimension("model-b", 24);
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
  std::unique_ptr<Embedder> embedder_of(const std::string& model) {
    auto settings = settings_;
    settings.ollama_embed_model = model;
    return make_embedder(settings, RetryPolicy{1ms, 2ms, 10ms});
  }
  std::unique_ptr<ScriptedEmbedder> scripted(const std::string& model) {
    return std::make_unique<ScriptedEmbedder>(embedder_of(model));
  }
  // The nearest vector alone: texts differing by one short word tie on keywords (MariaDB drops
  // words under three characters), which would let fusion put another fact first.
  static RecallOptions by_meaning_only() {
    RecallOptions o;
    o.k = 1;
    o.use_keywords = false;
    return o;
  }
  std::set<std::string> collection_names() {
    std::set<std::string> names;
    for (const auto& config : vectors_->list_collections()) names.insert(config.name);
    return names;
  }
  std::vector<std::int64_t> fact_ids() {
    std::vector<std::int64_t> ids;
    auto lease = source_->acquire();
    auto st = lease->prepare("SELECT " + lease->dialect().quote("id") + " FROM " + lease->dialect().quote("facts") +
                             " ORDER BY " + lease->dialect().quote("id"));
    while (st->step()) ids.push_back(st->get_int64(0));
    return ids;
  }
  // Every record of `collection`, by id: its vector, document and metadata.
  std::map<std::string, vector::Record> records_of(const std::string& collection) {
    vector::GetRequest get;
    get.include = vector::include_embeddings | vector::include_documents | vector::include_metadatas;
    auto got = vectors_->get_collection(collection)->get(get);
    std::map<std::string, vector::Record> out;
    for (std::size_t i = 0; i < got.ids.size(); ++i)
      out[got.ids[i]] = vector::Record{got.ids[i], got.embeddings[i], got.documents[i], got.metadatas[i]};
    return out;
  }
  // The collection holds exactly one vector per facts row, each `model`'s embedding of the row's
  // current text, stamped with `model` and mirroring the row's activity: what an uninterrupted
  // reindex writes.
  void expect_collection_mirrors_facts(const std::string& collection, const std::string& model, std::size_t dimension) {
    auto records = records_of(collection);
    auto ids = fact_ids();
    ASSERT_EQ(records.size(), ids.size()) << collection;
    for (auto id : ids) {
      auto record = records.find(std::to_string(id));
      ASSERT_NE(record, records.end()) << "fact " << id << " has no vector in " << collection;
      auto row = store_->facts().get(id);
      ASSERT_TRUE(row);
      EXPECT_EQ(record->second.document, row->content);
      EXPECT_EQ(record->second.metadata["model"], model) << "fact " << id;
      EXPECT_EQ(record->second.metadata["is_active"], row->is_active) << "fact " << id;
      ASSERT_EQ(record->second.embedding.size(), dimension) << "fact " << id;
      EXPECT_NEAR(cosine(record->second.embedding, test::FakeEmbeddingServer::vector_for(model, row->content, dimension)),
                  1.0, 1e-5)
          << "fact " << id;
    }
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

// data/chroma deleted: the rows are all that is left. reindex() rebuilds every vector from them
// into the next generation, switches memory_collections to it and deletes the collection a write
// made meanwhile; verify() finds nothing.
TEST_P(MemoryTest, ReindexAfterTheVectorStoreWasDeletedRestoresEveryVector) {
  std::vector<std::int64_t> active;
  for (int i = 0; i < 6; ++i) active.push_back(memory().remember(fact("life", "User fact number " + std::to_string(i))).fact.id);
  auto replacement = memory().supersede(active[0], fact("life", "User fact number zero, corrected")).fact;
  auto inactive = active[0];
  active[0] = replacement.id;
  auto conversation = store_->conversations().add({});
  store::Episode draft;
  draft.conversation_id = conversation.id;
  draft.summary = "Talked about the user's facts";
  auto episode = memory().add_episode(draft);

  memory_.reset();
  vectors_.reset();
  std::filesystem::remove_all(scratch_ / "chroma");
  vectors_ = vector::VectorStore::open(scratch_ / "chroma");
  // A write after the loss recreates the recorded collection with its one vector.
  active.push_back(memory().remember(fact("life", "User fact written after the loss")).fact.id);
  auto lost = memory().verify();
  EXPECT_EQ(lost.kinds[0].missing.size(), 7u);
  EXPECT_EQ(lost.kinds[1].missing, std::vector<std::int64_t>{episode.id});

  ReindexOptions o;
  o.batch_size = 3;
  std::vector<ReindexProgress> seen;
  o.progress = [&](const ReindexProgress& p) { seen.push_back(p); };
  auto results = memory().reindex(std::nullopt, std::nullopt, o);
  ASSERT_EQ(results.size(), 2u);
  EXPECT_EQ(results[0].from_collection, kFactsCollection);
  EXPECT_EQ(results[0].to_collection, std::string(kFactsCollection) + "_g2");
  EXPECT_EQ(results[0].to_model, "test-model");
  EXPECT_EQ(results[0].embedded, 8u);
  EXPECT_EQ(results[0].total, 8u);
  EXPECT_EQ(results[0].dimension, 16u);
  EXPECT_FALSE(results[0].resumed);
  EXPECT_TRUE(results[0].dropped_old);
  EXPECT_EQ(results[1].to_collection, std::string(kEpisodesCollection) + "_g2");
  EXPECT_EQ(results[1].embedded, 1u);
  EXPECT_FALSE(results[1].dropped_old) << "the episodes' collection was never recreated";
  ASSERT_GE(seen.size(), 3u);
  EXPECT_EQ(seen.front().done, 3u);
  EXPECT_EQ(seen.front().total, 8u);
  EXPECT_TRUE(std::any_of(seen.begin(), seen.end(), [](const ReindexProgress& p) { return p.switched; }));

  auto after = memory().verify();
  EXPECT_TRUE(after.clean());
  EXPECT_EQ(after.kinds[0].collection, std::string(kFactsCollection) + "_g2");
  EXPECT_EQ(after.kinds[0].generation, 2);
  EXPECT_EQ(after.kinds[0].vectors, 8u);
  EXPECT_FALSE(after.kinds[0].reindex);
  EXPECT_EQ(after.kinds[1].vectors, 1u);
  EXPECT_EQ(collection_names(), (std::set<std::string>{std::string(kFactsCollection) + "_g2",
                                                       std::string(kEpisodesCollection) + "_g2"}));
  expect_collection_mirrors_facts(after.kinds[0].collection, "test-model", 16);
  EXPECT_EQ(records_of(after.kinds[0].collection)[std::to_string(inactive)].metadata["is_active"], false);
  for (auto id : active) {
    auto row = store_->facts().get(id);
    auto found = memory().recall(row->content, by_meaning_only());
    ASSERT_EQ(found.size(), 1u) << row->content;
    EXPECT_EQ(found.front().id, id);
    ASSERT_TRUE(found.front().scores.vector_similarity) << "found by meaning: " << row->content;
    EXPECT_NEAR(*found.front().scores.vector_similarity, 1.0, 1e-5);
  }
  // The new generation is where the outbox writes now.
  auto later = memory().remember(fact("life", "User fact after the reindex"));
  EXPECT_FALSE(later.vector_pending);
  EXPECT_TRUE(has_vector((std::string(kFactsCollection) + "_g2").c_str(), later.fact.id));
  EXPECT_TRUE(memory().verify().clean());
}

// Moving to another model of another dimension: every vector ends from the new model, the
// recorded model and dimension switch, the other kind is left alone; a Memory still on the old
// model neither queries the new vectors with its query vectors nor writes its vectors into them.
TEST_P(MemoryTest, ReindexToAnotherModelSwitchesModelAndDimension) {
  for (int i = 0; i < 10; ++i) memory().remember(fact("topic", "User topic " + std::to_string(i) + " is interesting"));
  auto conversation = store_->conversations().add({});
  store::Episode draft;
  draft.conversation_id = conversation.id;
  draft.summary = "An episode about topics";
  memory().add_episode(draft);

  auto model_b = scripted("model-b");
  ReindexOptions o;
  o.embedder = model_b.get();
  o.batch_size = 4;
  auto results = memory().reindex(std::string(kFactsCollection), std::string("model-b"), o);
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].from_model, "test-model");
  EXPECT_EQ(results[0].to_model, "model-b");
  EXPECT_EQ(results[0].dimension, 24u);
  EXPECT_EQ(results[0].embedded, 10u);
  EXPECT_EQ(model_b->calls, 3u) << "10 rows in batches of 4";

  auto report = memory().verify();
  EXPECT_TRUE(report.clean());
  EXPECT_EQ(report.kinds[0].model, "model-b");
  EXPECT_EQ(report.kinds[0].dimension, 24u);
  EXPECT_EQ(report.kinds[0].collection, std::string(kFactsCollection) + "_g2");
  EXPECT_EQ(report.kinds[1].model, "test-model") << "only the facts were reindexed";
  EXPECT_EQ(report.kinds[1].collection, kEpisodesCollection);
  expect_collection_mirrors_facts(report.kinds[0].collection, "model-b", 24);
  EXPECT_FALSE(collection_names().count(kFactsCollection)) << "the old generation is deleted";

  // The old model's Memory: keyword results only, and its new fact waits rather than mixing models.
  const std::string probe = "User topic 3 is interesting";
  auto old_view = memory().recall(probe, opts([](RecallOptions& r) { r.k = 1; }));
  ASSERT_EQ(old_view.size(), 1u);
  EXPECT_FALSE(old_view.front().scores.vector_rank);
  EXPECT_TRUE(old_view.front().scores.keyword_rank);
  auto waiting = memory().remember(fact("topic", "User topic waiting for the new model"));
  EXPECT_TRUE(waiting.vector_pending);
  EXPECT_EQ(memory().pending_count(), 1u);
  memory_.reset();

  // Opened with the new model: the waiting fact is applied, queries find by meaning again.
  auto new_embedder = embedder_of("model-b");
  Memory on_b(*store_, *vectors_, *new_embedder, options());
  EXPECT_EQ(on_b.pending_count(), 0u);
  auto new_view = on_b.recall(probe, by_meaning_only());
  ASSERT_EQ(new_view.size(), 1u);
  ASSERT_TRUE(new_view.front().scores.vector_similarity);
  EXPECT_NEAR(*new_view.front().scores.vector_similarity, 1.0, 1e-5);
  expect_collection_mirrors_facts(std::string(kFactsCollection) + "_g2", "model-b", 24);
  EXPECT_TRUE(on_b.verify().clean());
}

// The embedding server dies after two batches: the reindex stops with the progress of those two
// recorded, queries still use the old vectors only, another model cannot take over the half-built
// collection, and running it again (a new Memory, as after a restart) embeds only the rest and
// ends as an uninterrupted reindex does.
TEST_P(MemoryTest, ReindexInterruptedHalfWayResumesToTheSameResult) {
  std::vector<store::Fact> facts;
  for (int i = 0; i < 10; ++i) facts.push_back(memory().remember(fact("note", "User note " + std::to_string(i) + " about tea")).fact);

  auto dying = scripted("model-b");
  dying->fail_from = 3;
  ReindexOptions o;
  o.embedder = dying.get();
  o.batch_size = 4;
  EXPECT_THROW(memory().reindex(std::string(kFactsCollection), std::string("model-b"), o), Error);

  auto midway = memory().verify();
  EXPECT_TRUE(midway.clean()) << "the current collection is untouched";
  EXPECT_EQ(midway.kinds[0].collection, kFactsCollection);
  EXPECT_EQ(midway.kinds[0].model, "test-model");
  ASSERT_TRUE(midway.kinds[0].reindex);
  EXPECT_EQ(midway.kinds[0].reindex->collection, std::string(kFactsCollection) + "_g2");
  EXPECT_EQ(midway.kinds[0].reindex->model, "model-b");
  EXPECT_EQ(midway.kinds[0].reindex->after_id, facts[7].id);
  EXPECT_EQ(records_of(std::string(kFactsCollection) + "_g2").size(), 8u);
  // Queries in between: the old model's vectors, found at similarity 1 by the old model's query.
  for (const auto& f : facts) {
    auto found = memory().recall(f.content, by_meaning_only());
    ASSERT_EQ(found.size(), 1u);
    EXPECT_EQ(found.front().id, f.id);
    ASSERT_TRUE(found.front().scores.vector_similarity);
    EXPECT_NEAR(*found.front().scores.vector_similarity, 1.0, 1e-5);
  }
  for (const auto& [id, record] : records_of(kFactsCollection)) EXPECT_EQ(record.metadata["model"], "test-model") << id;

  auto model_c = scripted("model-c");
  ReindexOptions other;
  other.embedder = model_c.get();
  try {
    memory().reindex(std::string(kFactsCollection), std::string("model-c"), other);
    ADD_FAILURE() << "another model must not take over a reindex in progress";
  } catch (const Error& error) {
    EXPECT_EQ(error.kind(), ErrorKind::usage) << error.what();
  }
  EXPECT_EQ(model_c->calls, 0u);

  memory_.reset();  // as after a restart
  auto resumed_with = scripted("model-b");
  ReindexOptions again;
  again.embedder = resumed_with.get();
  again.batch_size = 4;
  auto results = memory().reindex(std::string(kFactsCollection), std::nullopt, again);
  ASSERT_EQ(results.size(), 1u);
  EXPECT_TRUE(results[0].resumed);
  EXPECT_EQ(results[0].resumed_after, facts[7].id);
  EXPECT_EQ(results[0].embedded, 2u);
  EXPECT_EQ(resumed_with->calls, 1u) << "only the rows after the recorded progress are embedded";
  EXPECT_EQ(results[0].to_model, "model-b");
  auto report = memory().verify();
  EXPECT_EQ(report.kinds[0].model, "model-b");
  EXPECT_EQ(report.kinds[0].dimension, 24u);
  EXPECT_FALSE(report.kinds[0].reindex);
  EXPECT_TRUE(report.clean());
  expect_collection_mirrors_facts(report.kinds[0].collection, "model-b", 24);
}

// Between two batches of a reindex the memory is used: recall sees the old model only, and a
// remember, a supersede, an update and a forget made then are all in the new collection after the
// switch (through the catch-up entries the outbox leaves for the reindex).
TEST_P(MemoryTest, WritesDuringAReindexEndInTheNewCollection) {
  std::vector<store::Fact> facts;
  for (int i = 0; i < 6; ++i) facts.push_back(memory().remember(fact("hobby", "User hobby " + std::to_string(i) + " is chess")).fact);

  auto model_b = scripted("model-b");
  std::int64_t added = 0;
  std::int64_t replacement = 0;
  std::size_t catch_up_seen = 0;
  model_b->before_call = [&](std::size_t call) {
    if (call != 2) return;
    // The first batch is in the next collection; the switch is still ahead.
    auto found = memory().recall(facts[4].content, by_meaning_only());
    ASSERT_EQ(found.size(), 1u);
    EXPECT_EQ(found.front().id, facts[4].id);
    ASSERT_TRUE(found.front().scores.vector_similarity) << "the old model's collection answers by meaning";
    EXPECT_NEAR(*found.front().scores.vector_similarity, 1.0, 1e-5);
    auto remembered = memory().remember(fact("hobby", "User took up the violin"));
    EXPECT_FALSE(remembered.vector_pending) << "the current collection keeps being written";
    added = remembered.fact.id;
    replacement = memory().supersede(facts[0].id, fact("hobby", "User hobby 0 is go, not chess")).fact.id;
    auto changed = *store_->facts().get(facts[5].id);
    changed.content = "User hobby 5 is now climbing";
    EXPECT_TRUE(memory().update(changed));
    memory().forget_fact(facts[1].id);
    auto during = memory().verify();
    EXPECT_TRUE(during.clean());
    ASSERT_TRUE(during.kinds[0].reindex);
    catch_up_seen = during.kinds[0].reindex->catch_up;
    for (const auto& [id, record] : records_of(kFactsCollection)) EXPECT_EQ(record.metadata["model"], "test-model") << id;
  };
  ReindexOptions o;
  o.embedder = model_b.get();
  o.batch_size = 2;
  auto results = memory().reindex(std::string(kFactsCollection), std::string("model-b"), o);
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(catch_up_seen, 5u) << "added, replacement, superseded, updated, forgotten";
  EXPECT_EQ(results[0].caught_up, 5u);
  EXPECT_EQ(memory().pending_count(), 0u);

  const std::string next = std::string(kFactsCollection) + "_g2";
  expect_collection_mirrors_facts(next, "model-b", 24);
  auto records = records_of(next);
  EXPECT_TRUE(records.count(std::to_string(added)));
  EXPECT_TRUE(records.count(std::to_string(replacement)));
  EXPECT_FALSE(records.count(std::to_string(facts[1].id))) << "forgotten during the reindex";
  EXPECT_EQ(records[std::to_string(facts[0].id)].metadata["is_active"], false);
  EXPECT_EQ(records[std::to_string(facts[5].id)].document, "User hobby 5 is now climbing");
  auto report = memory().verify();
  EXPECT_TRUE(report.clean());
  EXPECT_EQ(report.kinds[0].model, "model-b");
  EXPECT_EQ(count_rows("memory_outbox"), 0);
}

// A model of the same dimension: nothing but the recorded model tells the two vector spaces apart,
// and after the switch a Memory still on the old model neither queries the new vectors with its
// query vector nor writes its own vectors among them.
TEST_P(MemoryTest, AfterAReindexToAModelOfTheSameDimensionTheOldModelNeverMixesIn) {
  std::vector<store::Fact> facts;
  for (int i = 0; i < 3; ++i) facts.push_back(memory().remember(fact("pet", "User pet number " + std::to_string(i))).fact);
  auto model_c = scripted("model-c");
  ReindexOptions o;
  o.embedder = model_c.get();
  auto results = memory().reindex(std::string(kFactsCollection), std::string("model-c"), o);
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].dimension, 16u);

  auto found = memory().recall(facts[1].content, by_meaning_only());
  EXPECT_TRUE(found.empty()) << "a test-model query vector must not be compared with model-c vectors";
  auto waiting = memory().remember(fact("pet", "User pet written by the old model's Memory"));
  EXPECT_TRUE(waiting.vector_pending);
  auto report = memory().verify();
  EXPECT_EQ(report.kinds[0].model, "model-c");
  EXPECT_EQ(report.kinds[0].missing, std::vector<std::int64_t>{waiting.fact.id});
  EXPECT_TRUE(report.kinds[0].wrong_model.empty());
  EXPECT_EQ(report.pending, 1u);
}

// A reindex to a model of the same dimension while one thread keeps writing and another keeps
// asking for a fact by its exact text: every answer comes from one model (the old one: the fact at
// similarity 1; after the switch the old model's Memory has no vector part: nothing), and the
// writes made meanwhile all end in the new collection.
TEST_P(MemoryConcurrency, ReindexWhileOtherThreadsWriteAndRecall) {
  const auto probe = memory().remember(fact("probe", "User probe fact that nobody changes")).fact;
  std::vector<std::int64_t> seeded;
  for (int i = 0; i < 12; ++i) seeded.push_back(memory().remember(fact("bulk", "User bulk fact " + std::to_string(i))).fact.id);
  embed_server_.set_delay(3ms);

  std::atomic<bool> stop{false};
  std::atomic<int> writes{0};
  std::atomic<int> old_answers{0};
  std::atomic<int> mixed{0};
  // The writer has a Memory of its own, as another process would: its own outbox processing,
  // ordered with the reindex only through the database.
  auto writer_embedder = embedder_of("test-model");
  Memory other_writer(*store_, *vectors_, *writer_embedder, options());
  std::thread writer([&] {
    std::mt19937 rng(7);
    for (int i = 0; !stop.load(); ++i) {
      try {
        const auto id = seeded[rng() % seeded.size()];
        switch (i % 3) {
          case 0: other_writer.remember(fact("bulk", "User fact written meanwhile " + std::to_string(i))); break;
          case 1: other_writer.supersede(id, fact("bulk", "User bulk fact replaced " + std::to_string(i))); break;
          default: other_writer.forget_fact(id); break;
        }
        ++writes;
      } catch (const Error&) {
        // Superseding or forgetting a fact that an earlier round forgot: not found.
      }
    }
  });
  std::thread reader([&] {
    while (!stop.load()) {
      auto found = memory().recall(probe.content, by_meaning_only());
      if (found.empty()) continue;  // after the switch: the old model does not query the new vectors
      if (found.front().id == probe.id && found.front().scores.vector_similarity &&
          std::abs(*found.front().scores.vector_similarity - 1.0) < 1e-5) {
        ++old_answers;
      } else {
        ++mixed;
      }
    }
  });
  auto model_c = scripted("model-c");
  ReindexOptions o;
  o.embedder = model_c.get();
  o.batch_size = 2;
  std::vector<ReindexResult> results;
  try {
    results = memory().reindex(std::string(kFactsCollection), std::string("model-c"), o);
  } catch (...) {
    stop = true;
    writer.join();
    reader.join();
    throw;
  }
  std::this_thread::sleep_for(50ms);
  stop = true;
  writer.join();
  reader.join();
  embed_server_.set_delay(0ms);
  ASSERT_EQ(results.size(), 1u);
  EXPECT_GT(writes.load(), 0);
  EXPECT_GT(old_answers.load(), 0);
  EXPECT_EQ(mixed.load(), 0) << "a query compared the old model's vector with the new model's vectors";

  memory_.reset();
  auto on_c = embedder_of("model-c");
  Memory reopened(*store_, *vectors_, *on_c, options());  // applies what waited for model-c
  reopened.flush();
  EXPECT_TRUE(reopened.verify().clean());
  expect_collection_mirrors_facts(std::string(kFactsCollection) + "_g2", "model-c", 16);
}

// Another Memory's outbox batch reads the collection before a switch and writes after it, before
// the old collection is deleted (its embedding call is held until the switch, the deletion until
// the batch is done): its write lands in the old generation, so its entry must stay, and a Memory
// on the new model applies it to the new collection.
TEST_P(MemoryTest, AnOutboxBatchSpanningTheSwitchIsNotLost) {
  std::vector<store::Fact> facts;
  for (int i = 0; i < 4; ++i) facts.push_back(memory().remember(fact("city", "User visited city " + std::to_string(i))).fact);
  std::mutex mutex;
  std::condition_variable changed_cv;
  bool writer_embedding = false;
  bool switched = false;
  const auto wait_for = [&](const bool& flag) {
    std::unique_lock lock(mutex);
    return changed_cv.wait_for(lock, 10s, [&] { return flag; });
  };
  const auto raise = [&](bool& flag) {
    {
      std::lock_guard lock(mutex);
      flag = true;
    }
    changed_cv.notify_all();
  };

  auto writer_embedder = scripted("test-model");
  writer_embedder->before_call = [&](std::size_t) {
    raise(writer_embedding);
    wait_for(switched);
  };
  auto o = options();
  o.replay_on_open = false;
  Memory other(*store_, *vectors_, *writer_embedder, o);
  const std::string new_text = "User visited city 0 twice";
  std::thread writer;
  std::atomic<bool> writer_done{false};
  auto model_c = scripted("model-c");
  model_c->before_call = [&](std::size_t call) {
    if (call != 2) return;  // city 0 is already in the next collection: only a catch-up can bring the change
    writer = std::thread([&] {
      auto changed = *store_->facts().get(facts[0].id);
      changed.content = new_text;
      other.update(changed);
      writer_done = true;
    });
    EXPECT_TRUE(wait_for(writer_embedding));
  };
  ReindexOptions ro;
  ro.embedder = model_c.get();
  ro.batch_size = 2;
  ro.progress = [&](const ReindexProgress& p) {
    if (!p.switched) return;
    raise(switched);
    if (writer.joinable()) writer.join();
  };
  std::vector<ReindexResult> results;
  try {
    results = memory().reindex(std::string(kFactsCollection), std::string("model-c"), ro);
  } catch (...) {
    raise(switched);
    if (writer.joinable()) writer.join();
    throw;
  }
  ASSERT_TRUE(writer_done.load()) << "the writer's batch ran across the switch";
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(memory().pending_count(), 1u) << "the batch that spanned the switch keeps its entry";

  auto on_c = embedder_of("model-c");
  Memory reopened(*store_, *vectors_, *on_c, options());
  EXPECT_EQ(reopened.pending_count(), 0u);
  EXPECT_TRUE(reopened.verify().clean());
  expect_collection_mirrors_facts(std::string(kFactsCollection) + "_g2", "model-c", 16);
  EXPECT_EQ(records_of(std::string(kFactsCollection) + "_g2")[std::to_string(facts[0].id)].document, new_text);
}

// SIGKILL at random points of a stream of remember / supersede / forget, with a slow embedding
// server, so kills land between a row's commit and its vector, inside embedding calls and inside
// vector writes. Each round is a child process (this binary in its helper mode below); after the
// last one a Memory opened over what they left replays the outbox and verify() finds nothing.
TEST_P(MemoryTest, KilledAtRandomPointsDuringAStreamOfWritesConverges) {
  const std::string db = server_db_ ? server_db_->url_string() : "sqlite:///" + url_.database;
  memory_.reset();
  vectors_.reset();  // the embedded store admits one process at a time
  embed_server_.set_delay(25ms);
  std::mt19937 rng(20261207);
  int killed = 0;
  int left_pending = 0;
  for (int round = 0; round < 8; ++round) {
    // Everything the child needs is built before fork(): after it only exec-safe calls.
    std::vector<std::string> environment;
    for (char** variable = environ; *variable; ++variable) environment.emplace_back(*variable);
    environment.push_back("LUNADB_STREAM_DB=" + db);
    environment.push_back("LUNADB_STREAM_CHROMA=" + (scratch_ / "chroma").string());
    environment.push_back("LUNADB_STREAM_EMBED=" + embed_server_.base_url());
    environment.push_back("LUNADB_STREAM_SEED=" + std::to_string(round));
    std::vector<char*> envp;
    for (auto& variable : environment) envp.push_back(variable.data());
    envp.push_back(nullptr);
    const pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      const int null = ::open("/dev/null", O_WRONLY);
      ::dup2(null, 1);
      ::dup2(null, 2);
      ::execle("/proc/self/exe", "memory-stream-child", "--gtest_filter=MemoryStreamChild.DISABLED_HelperModeWritesUntilKilled",
               "--gtest_also_run_disabled_tests",
               static_cast<char*>(nullptr), envp.data());
      ::_exit(127);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(150 + rng() % 400));
    ::kill(child, SIGKILL);
    int status = 0;
    ::waitpid(child, &status, 0);
    if (WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) ++killed;
    // A kill between a row's commit and its vector leaves its entry (the next round replays it).
    if (count_rows("memory_outbox") > 0) ++left_pending;
  }
  EXPECT_EQ(killed, 8) << "every round must be killed while it writes";
  EXPECT_GT(left_pending, 0) << "no kill landed between a row and its vector: the test proved nothing";
  embed_server_.set_delay(0ms);
  EXPECT_GT(count_rows("facts"), 0) << "the children wrote facts";
  {
    auto lease = source_->acquire();
    auto st = lease->prepare("SELECT COUNT(*) FROM " + lease->dialect().quote("facts") + " WHERE " +
                             lease->dialect().quote("is_active") + " = ?");
    st->bind(1, false);
    ASSERT_TRUE(st->step());
    EXPECT_GT(st->get_int64(0), 0) << "the children superseded facts";
  }

  vectors_ = vector::VectorStore::open(scratch_ / "chroma");
  auto& m = memory();  // opening replays what the kills left pending
  m.flush();
  EXPECT_EQ(m.pending_count(), 0u);
  auto report = m.verify();
  EXPECT_TRUE(report.clean()) << "missing " << report.kinds[0].missing.size() << ", orphans "
                              << report.kinds[0].orphans.size() << ", wrong model "
                              << report.kinds[0].wrong_model.size();
  EXPECT_EQ(report.kinds[0].vectors, static_cast<std::size_t>(count_rows("facts")));
  expect_collection_mirrors_facts(report.kinds[0].collection, "test-model", 16);
}

INSTANTIATE_TEST_SUITE_P(Backends, MemoryTest,
                         ::testing::Values(Backend{"sqlite", nullptr}, Backend{"postgresql", test::pg_url},
                                           Backend{"mysql", test::mysql_url}),
                         [](const ::testing::TestParamInfo<Backend>& param_info) { return param_info.param.name; });

INSTANTIATE_TEST_SUITE_P(Backends, MemoryConcurrency,
                         ::testing::Values(Backend{"sqlite", nullptr}, Backend{"postgresql", test::pg_url},
                                           Backend{"mysql", test::mysql_url}),
                         [](const ::testing::TestParamInfo<Backend>& param_info) { return param_info.param.name; });

// The helper mode of this binary for KilledAtRandomPointsDuringAStreamOfWritesConverges: run by it
// as a child process (LUNADB_STREAM_* set), it writes until it is killed. Run directly it has
// nothing to do; DISABLED_ keeps it out of ordinary runs.
TEST(MemoryStreamChild, DISABLED_HelperModeWritesUntilKilled) {
  const char* db = std::getenv("LUNADB_STREAM_DB");
  if (!db) GTEST_SKIP() << "the child process of KilledAtRandomPointsDuringAStreamOfWritesConverges";
  Settings settings = settings_with(parse_db_url(db), std::getenv("LUNADB_STREAM_EMBED"));
  if (settings.db.backend == lunadb::Backend::sqlite) settings.db_path = settings.db.database;
  auto source = sql::make_connection_source(settings);
  store::Store store(*source);
  auto vectors = vector::VectorStore::open(std::getenv("LUNADB_STREAM_CHROMA"));
  auto embedder = make_embedder(settings, RetryPolicy{1ms, 2ms, 10ms});
  Memory m(store, *vectors, *embedder, MemoryOptions{});
  std::mt19937 rng(static_cast<unsigned>(std::stoi(std::getenv("LUNADB_STREAM_SEED"))));
  std::vector<std::int64_t> ids;
  for (const auto& f : store.facts().active_by_category("stream")) ids.push_back(f.id);
  for (int i = 0;; ++i) {
    store::Fact draft;
    draft.category = "stream";
    draft.content = "stream fact " + std::to_string(rng()) + " number " + std::to_string(i);
    try {
      const unsigned op = ids.empty() ? 0 : rng() % 4;
      if (op <= 1) {
        ids.push_back(m.remember(draft).fact.id);
      } else if (op == 2) {
        auto& old_id = ids[rng() % ids.size()];
        old_id = m.supersede(old_id, draft).fact.id;
      } else {
        const auto at = ids.begin() + static_cast<std::ptrdiff_t>(rng() % ids.size());
        m.forget_fact(*at);
        ids.erase(at);
      }
    } catch (const Error&) {
      // A fact another round already superseded or forgot: go on with the next write.
    }
  }
}

}  // namespace
}  // namespace lunadb::memory
