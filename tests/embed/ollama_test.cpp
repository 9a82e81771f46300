#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "embed/embed_fixture.hpp"

namespace lunadb::test {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(EmbedOllama, ReturnsOneVectorPerTextInOrder) {
  FakeEmbeddingServer server;
  auto embedder = make_embedder(ollama_settings(server), fast_retries());
  const std::vector<std::string> texts = {"I like tea", "Mi piace il caffè ☕", "日本語のテキスト"};

  const auto vectors = embedder->embed(texts);

  EXPECT_EQ(vectors, expected_vectors(ollama_model, texts));
  ASSERT_EQ(server.request_count("/api/embed"), 1u);
  const auto request = server.requests().front().json();
  EXPECT_EQ(request["model"], ollama_model);
  EXPECT_EQ(request["input"], nlohmann::json(texts));
  EXPECT_EQ(embedder->model(), ollama_model);
  EXPECT_STREQ(embedder->provider(), "ollama");
  EXPECT_EQ(embedder->endpoint(), server.base_url());
  EXPECT_EQ(embedder->dimension(), 8u);
}

TEST(EmbedOllama, SameTextGetsSameVectorAcrossCalls) {
  FakeEmbeddingServer server;
  auto embedder = make_embedder(ollama_settings(server), fast_retries());
  const auto first = embedder->embed({"alpha", "beta"});
  const auto second = embedder->embed({"beta", "alpha"});
  EXPECT_EQ(first[0], second[1]);
  EXPECT_EQ(first[1], second[0]);
  EXPECT_NE(first[0], first[1]);
}

TEST(EmbedOllama, SplitsInputIntoBatchesOfBatchSize) {
  FakeEmbeddingServer server;
  auto settings = ollama_settings(server);
  settings.embed_batch_size = 4;
  auto embedder = make_embedder(settings, fast_retries());
  const auto texts = numbered_texts(10);

  const auto vectors = embedder->embed(texts);

  EXPECT_EQ(vectors, expected_vectors(ollama_model, texts));
  const auto requests = server.requests();
  ASSERT_EQ(requests.size(), 3u);
  EXPECT_EQ(requests[0].json()["input"], nlohmann::json(std::vector<std::string>(texts.begin(), texts.begin() + 4)));
  EXPECT_EQ(requests[1].json()["input"], nlohmann::json(std::vector<std::string>(texts.begin() + 4, texts.begin() + 8)));
  EXPECT_EQ(requests[2].json()["input"], nlohmann::json(std::vector<std::string>(texts.begin() + 8, texts.end())));
}

TEST(EmbedOllama, BatchSizeOneSendsOneRequestPerText) {
  FakeEmbeddingServer server;
  auto settings = ollama_settings(server);
  settings.embed_batch_size = 1;
  auto embedder = make_embedder(settings, fast_retries());
  const auto texts = numbered_texts(3);
  EXPECT_EQ(embedder->embed(texts), expected_vectors(ollama_model, texts));
  EXPECT_EQ(server.request_count("/api/embed"), 3u);
}

TEST(EmbedOllama, EmptyInputMakesNoRequest) {
  FakeEmbeddingServer server;
  auto embedder = make_embedder(ollama_settings(server), fast_retries());
  EXPECT_TRUE(embedder->embed({}).empty());
  EXPECT_EQ(server.request_count(), 0u);
}

TEST(EmbedOllama, DimensionIsTheKnownOneUntilTheServerAnswers) {
  FakeEmbeddingServer server;
  server.set_dimension(5);
  auto embedder = make_embedder(ollama_settings(server), fast_retries());
  EXPECT_EQ(embedder->dimension(), 768u);  // nomic-embed-text's documented size
  embedder->embed({"x"});
  EXPECT_EQ(embedder->dimension(), 5u);  // what the server really returns wins
}

TEST(EmbedOllama, UnknownModelHasNoDimensionUntilTheServerAnswers) {
  FakeEmbeddingServer server;
  auto settings = ollama_settings(server);
  settings.ollama_embed_model = "my-own-embedder";
  auto embedder = make_embedder(settings, fast_retries());
  EXPECT_EQ(embedder->dimension(), std::nullopt);
  EXPECT_EQ(embedder->embed({"x"}), expected_vectors("my-own-embedder", {"x"}));
  EXPECT_EQ(embedder->dimension(), 8u);
}

TEST(EmbedOllama, FallsBackToLegacyEndpointAndRemembersIt) {
  FakeEmbeddingServer server;
  server.set_legacy_ollama(true);
  auto embedder = make_embedder(ollama_settings(server), fast_retries());
  const auto texts = numbered_texts(6);

  EXPECT_EQ(embedder->embed(texts), expected_vectors(ollama_model, texts));
  EXPECT_EQ(server.request_count("/api/embed"), 1u);
  EXPECT_EQ(server.request_count("/api/embeddings"), 6u);
  const auto legacy_request = server.requests().at(1).json();
  EXPECT_EQ(legacy_request["model"], ollama_model);
  EXPECT_EQ(legacy_request["prompt"], texts[0]);

  // The second call goes straight to the old endpoint.
  EXPECT_EQ(embedder->embed({"later"}), expected_vectors(ollama_model, {"later"}));
  EXPECT_EQ(server.request_count("/api/embed"), 1u);
  EXPECT_EQ(server.request_count("/api/embeddings"), 7u);
}

TEST(EmbedOllama, MissingModelSaysToPullIt) {
  FakeEmbeddingServer server;
  server.set_available_models({"all-minilm"});
  auto embedder = make_embedder(ollama_settings(server), fast_retries());

  const auto message = error_message(ErrorKind::embedding, [&] { embedder->embed({"hello"}); });

  EXPECT_THAT(message, HasSubstr("ollama pull nomic-embed-text"));
  EXPECT_THAT(message, HasSubstr("OLLAMA_EMBED_MODEL"));
  EXPECT_THAT(message, HasSubstr("not found"));
  // A missing model is not a missing endpoint: no fallback, no retry.
  EXPECT_EQ(server.request_count(), 1u);
  EXPECT_EQ(server.request_count("/api/embeddings"), 0u);
}

TEST(EmbedOllama, MissingModelOnLegacyServerSaysToPullIt) {
  FakeEmbeddingServer server;
  server.set_legacy_ollama(true);
  server.set_available_models({"all-minilm"});
  auto embedder = make_embedder(ollama_settings(server), fast_retries());
  const auto message = error_message(ErrorKind::embedding, [&] { embedder->embed({"hello"}); });
  EXPECT_THAT(message, HasSubstr("ollama pull nomic-embed-text"));
  EXPECT_EQ(server.request_count("/api/embeddings"), 1u);
}

TEST(EmbedOllama, ServerWithNeitherEndpointIsNamed) {
  FakeEmbeddingServer server;
  server.enqueue({404, "404 page not found", "text/plain"});
  server.enqueue({404, "<html>Not Found</html>", "text/html"});
  auto embedder = make_embedder(ollama_settings(server), fast_retries());
  const auto message = error_message(ErrorKind::embedding, [&] { embedder->embed({"hello"}); });
  EXPECT_THAT(message, HasSubstr("neither /api/embed nor /api/embeddings"));
  EXPECT_THAT(message, HasSubstr("OLLAMA_BASE_URL"));
  EXPECT_EQ(server.request_count(), 2u);
}

TEST(EmbedOllama, BaseUrlWithTrailingSlashWorks) {
  FakeEmbeddingServer server;
  auto settings = ollama_settings(server);
  settings.ollama_base_url += "/";
  auto embedder = make_embedder(settings, fast_retries());
  EXPECT_EQ(embedder->embed({"a"}), expected_vectors(ollama_model, {"a"}));
  EXPECT_EQ(server.request_count("/api/embed"), 1u);
}

TEST(EmbedOllama, SendsNoAuthorizationHeader) {
  FakeEmbeddingServer server;
  auto settings = ollama_settings(server);
  settings.openai_api_key = "sk-not-for-ollama";
  make_embedder(settings, fast_retries())->embed({"a"});
  EXPECT_FALSE(server.requests().at(0).has_authorization);
}

}  // namespace
}  // namespace lunadb::test
