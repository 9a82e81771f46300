// lunadb serve's memory endpoints (/api/v2/lunadb/memory/...) driven through ChromaApi: the same
// operations `lunadb mcp` serves, over a Memory on a SQLite file and the loopback embedding server.
// The engine itself is tested on every backend in tests/memory.

#include <gtest/gtest.h>

#include "lunadb/embed.hpp"
#include "lunadb/error.hpp"
#include "lunadb/memory.hpp"
#include "lunadb/migrate.hpp"
#include "lunadb/serve.hpp"
#include "lunadb/store.hpp"
#include "lunadb/vector.hpp"
#include "support/fake_embedding_server.hpp"
#include "support/temp_dir.hpp"

namespace lunadb::serve {
namespace {

using nlohmann::json;

class MemoryEndpointsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    embed_server_.set_dimension(16);
    settings_.db.backend = Backend::sqlite;
    settings_.db.dialect = "sqlite";
    settings_.db.database = (dir_ / "luna.db").string();
    settings_.db_path = dir_ / "luna.db";
    settings_.ollama_base_url = embed_server_.base_url();
    settings_.ollama_embed_model = "test-model";
    settings_.embed_max_retries = 0;
    migrate::Migrator(settings_).upgrade("head");
    store_.emplace(store::Store::open(settings_));
    vectors_ = vector::VectorStore::open(dir_ / "chroma");
    embedder_ = make_embedder(settings_);
    memory_ = std::make_unique<memory::Memory>(*store_, *vectors_, *embedder_);
    options_.memory = memory_.get();
    api_ = std::make_unique<ChromaApi>(*vectors_, options_);
  }

  HttpReply post(const std::string& operation, const json& body) {
    return api_->handle({"POST", "/api/v2/lunadb/memory/" + operation, {}, body.dump()});
  }

  test::TempDir dir_{"lunadb-serve-memory"};
  test::FakeEmbeddingServer embed_server_;
  Settings settings_;
  std::optional<store::Store> store_;
  std::unique_ptr<vector::VectorStore> vectors_;
  std::unique_ptr<Embedder> embedder_;
  std::unique_ptr<memory::Memory> memory_;
  ServeOptions options_;
  std::unique_ptr<ChromaApi> api_;
};

TEST_F(MemoryEndpointsTest, RememberRecallForget) {
  HttpReply listed = api_->handle({"GET", "/api/v2/lunadb/memory", {}, ""});
  ASSERT_EQ(listed.status, 200) << listed.body;
  EXPECT_EQ(json::parse(listed.body)[0]["name"], "remember");

  HttpReply remembered = post("remember", {{"content", "Ana Vantrell plays the cello"}, {"category", "hobbies"}});
  ASSERT_EQ(remembered.status, 200) << remembered.body;
  const std::int64_t id = json::parse(remembered.body)["fact"]["id"];
  EXPECT_EQ(json::parse(remembered.body)["vector_pending"], false);
  ASSERT_EQ(post("remember", {{"content", "Kofi drives an old Volvo"}}).status, 200);

  HttpReply recalled = post("recall", {{"query", "Vantrell cello"}, {"k", 5}});
  ASSERT_EQ(recalled.status, 200) << recalled.body;
  json results = json::parse(recalled.body)["results"];
  ASSERT_FALSE(results.empty());
  EXPECT_EQ(results[0]["id"], id);
  EXPECT_TRUE(results[0]["has_vector"].get<bool>());
  EXPECT_EQ(results[0]["scores"]["keyword_rank"], 1);

  HttpReply receipt = post("forget", {{"fact_id", id}});
  ASSERT_EQ(receipt.status, 200) << receipt.body;
  EXPECT_EQ(json::parse(receipt.body)["facts"], 1);
  results = json::parse(post("recall", {{"query", "Vantrell cello"}}).body)["results"];
  for (const json& result : results) EXPECT_NE(result["id"], id);
  EXPECT_EQ(json::parse(post("pending", json::object()).body)["pending"], 0);
}

// Luna's Python code knows its collections by their base names: through the Chroma API, luna_facts
// keeps answering after a reindex moved the vectors to luna_facts_g2 and deleted the old ones.
TEST_F(MemoryEndpointsTest, ChromaClientsOfLunaFactsFollowAReindex) {
  ASSERT_EQ(post("remember", {{"content", "Ana Vantrell plays the cello"}}).status, 200);
  ASSERT_EQ(post("remember", {{"content", "Kofi drives an old Volvo"}}).status, 200);
  // A server started on this store lists the memory's collection under its own name.
  api_ = std::make_unique<ChromaApi>(*vectors_, options_);
  const std::string collections = "/api/v2/tenants/default_tenant/databases/default_database/collections";
  HttpReply created = api_->handle({"GET", collections + "/luna_facts", {}, ""});
  ASSERT_EQ(created.status, 200) << created.body;
  const std::string records = collections + "/" + json::parse(created.body)["id"].get<std::string>();
  auto count = [&] {
    HttpReply reply = api_->handle({"GET", records + "/count", {}, ""});
    EXPECT_EQ(reply.status, 200) << reply.body;
    return json::parse(reply.body).get<int>();
  };
  EXPECT_EQ(count(), 2);

  Settings other = settings_;
  other.ollama_embed_model = "test-model-2";
  auto second = make_embedder(other);
  memory::ReindexOptions reindex;
  reindex.embedder = second.get();
  memory_->reindex(std::string("luna_facts"), std::string("test-model-2"), reindex);
  EXPECT_EQ(memory_->current_collection_for("luna_facts"), std::optional<std::string>("luna_facts_g2"));
  EXPECT_EQ(memory_->current_collection_for("notes"), std::nullopt);
  EXPECT_THROW(vectors_->get_collection("luna_facts"), Error) << "the old generation should be deleted";

  EXPECT_EQ(count(), 2);
  HttpReply got = api_->handle({"POST", records + "/get", {}, json{{"include", {"metadatas"}}}.dump()});
  ASSERT_EQ(got.status, 200) << got.body;
  const json got_body = json::parse(got.body);
  ASSERT_EQ(got_body["metadatas"].size(), 2u) << got.body;
  for (const json& metadata : got_body["metadatas"]) EXPECT_EQ(metadata["model"], "test-model-2") << got.body;
  const auto probe = test::FakeEmbeddingServer::vector_for("test-model-2", "Kofi drives an old Volvo", 16);
  HttpReply queried = api_->handle({"POST", records + "/query", {},
                                    json{{"query_embeddings", {probe}}, {"n_results", 1}, {"include", {"documents"}}}.dump()});
  ASSERT_EQ(queried.status, 200) << queried.body;
  EXPECT_EQ(json::parse(queried.body)["documents"][0][0], "Kofi drives an old Volvo") << queried.body;
}

TEST_F(MemoryEndpointsTest, BadRequestsNameTheArgument) {
  HttpReply reply = post("recall", {{"k", 3}});
  EXPECT_EQ(reply.status, 400);
  EXPECT_NE(reply.body.find("argument 'query' is required"), std::string::npos) << reply.body;
  reply = post("remember", {{"content", "x"}, {"importance", 7}});
  EXPECT_EQ(reply.status, 400);
  EXPECT_NE(reply.body.find("argument 'importance': must be <= 1"), std::string::npos) << reply.body;
  reply = post("forget", json::object());
  EXPECT_EQ(reply.status, 400);
  EXPECT_EQ(post("teleport", json::object()).status, 404);
  reply = api_->handle({"POST", "/api/v2/lunadb/memory/recall", {}, "{not json"});
  EXPECT_EQ(reply.status, 400);
  reply = api_->handle({"POST", "/api/v2/lunadb/memory/remember", {}, "{\"content\": \"\xff\"}"});
  EXPECT_EQ(reply.status, 400) << reply.body;
}

TEST(MemoryEndpoints, WithoutAMemoryTheyAnswer503WithTheReason) {
  test::TempDir dir{"lunadb-serve-nomemory"};
  auto vectors = vector::VectorStore::open(dir / "chroma");
  ServeOptions options;
  options.memory_unavailable = "the database is at 001: run `lunadb upgrade head`";
  ChromaApi api(*vectors, options);
  HttpReply reply = api.handle({"POST", "/api/v2/lunadb/memory/recall", {}, R"({"query": "x"})"});
  EXPECT_EQ(reply.status, 503);
  EXPECT_NE(reply.body.find("lunadb upgrade head"), std::string::npos) << reply.body;
}

}  // namespace
}  // namespace lunadb::serve
