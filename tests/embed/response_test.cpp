// Answers that are not one finite vector of one dimension per text.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "embed/embed_fixture.hpp"

namespace lunadb::test {
namespace {

using ::testing::HasSubstr;

std::unique_ptr<Embedder> ollama_embedder(FakeEmbeddingServer& server) {
  return make_embedder(ollama_settings(server), fast_retries());
}

TEST(EmbedResponse, TooFewVectorsIsRejected) {
  FakeEmbeddingServer server;
  server.set_response_mutator([](nlohmann::json& answer, const nlohmann::json&) { answer["embeddings"].erase(2); });
  auto embedder = ollama_embedder(server);
  const auto message = error_message(ErrorKind::embedding, [&] { embedder->embed({"a", "b", "c"}); });
  EXPECT_THAT(message, HasSubstr("returned 2 vector(s) for 3 texts"));
  EXPECT_THAT(message, HasSubstr("inputs 0 to 2"));
}

TEST(EmbedResponse, TooManyVectorsIsRejected) {
  FakeEmbeddingServer server;
  server.set_response_mutator([](nlohmann::json& answer, const nlohmann::json&) {
    answer["embeddings"].push_back(answer["embeddings"][0]);
  });
  auto settings = ollama_settings(server);
  settings.embed_batch_size = 2;
  auto embedder = make_embedder(settings, fast_retries());
  const auto message = error_message(ErrorKind::embedding, [&] { embedder->embed({"a", "b", "c"}); });
  EXPECT_THAT(message, HasSubstr("returned 3 vector(s) for 2 texts"));
}

TEST(EmbedResponse, InconsistentDimensionIsRejected) {
  FakeEmbeddingServer server;
  server.set_response_mutator([](nlohmann::json& answer, const nlohmann::json&) { answer["embeddings"][1].erase(0); });
  auto embedder = ollama_embedder(server);
  const auto message = error_message(ErrorKind::embedding, [&] { embedder->embed({"a", "b"}); });
  EXPECT_THAT(message, HasSubstr("inconsistent dimension"));
  EXPECT_THAT(message, HasSubstr("input 1 has 7"));
}

TEST(EmbedResponse, InconsistentDimensionAcrossBatchesIsRejected) {
  FakeEmbeddingServer server;
  auto settings = ollama_settings(server);
  settings.embed_batch_size = 1;
  int calls = 0;
  server.set_response_mutator([&calls](nlohmann::json& answer, const nlohmann::json&) {
    if (++calls == 2) answer["embeddings"][0].push_back(0.5);
  });
  auto embedder = make_embedder(settings, fast_retries());
  const auto message = error_message(ErrorKind::embedding, [&] { embedder->embed({"a", "b"}); });
  EXPECT_THAT(message, HasSubstr("input 1 has 9"));
}

TEST(EmbedResponse, DimensionChangeBetweenCallsIsRejected) {
  FakeEmbeddingServer server;
  auto embedder = ollama_embedder(server);
  embedder->embed({"a"});
  server.set_dimension(16);
  const auto message = error_message(ErrorKind::embedding, [&] { embedder->embed({"a"}); });
  EXPECT_THAT(message, HasSubstr("dimension 16"));
  EXPECT_THAT(message, HasSubstr("dimension 8 before"));
  EXPECT_EQ(embedder->dimension(), 8u);
}

TEST(EmbedResponse, ValueOverflowingFloatIsRejected) {
  FakeEmbeddingServer server;
  server.set_response_mutator([](nlohmann::json& answer, const nlohmann::json&) { answer["embeddings"][0][3] = 1e300; });
  auto embedder = ollama_embedder(server);
  const auto message = error_message(ErrorKind::embedding, [&] { embedder->embed({"a"}); });
  EXPECT_THAT(message, HasSubstr("non-finite"));
  EXPECT_THAT(message, HasSubstr("input 0"));
  EXPECT_THAT(message, HasSubstr("position 3"));
}

TEST(EmbedResponse, NaNLiteralIsRejected) {
  FakeEmbeddingServer server;
  server.enqueue({200, R"({"embeddings":[[0.1, NaN, 0.3]]})"});
  auto embedder = ollama_embedder(server);
  const auto message = error_message(ErrorKind::embedding, [&] { embedder->embed({"a"}); });
  EXPECT_THAT(message, HasSubstr("NaN"));
}

TEST(EmbedResponse, NumberOutOfDoubleRangeIsRejected) {
  FakeEmbeddingServer server;
  server.enqueue({200, R"({"embeddings":[[0.1, 1e999, 0.3]]})"});
  auto embedder = ollama_embedder(server);
  const auto message = error_message(ErrorKind::embedding, [&] { embedder->embed({"a"}); });
  EXPECT_THAT(message, HasSubstr("out of range"));
}

TEST(EmbedResponse, MalformedJsonIsRejected) {
  FakeEmbeddingServer server;
  server.enqueue({200, R"({"embeddings":[[0.1, 0.2)"});
  auto embedder = ollama_embedder(server);
  const auto message = error_message(ErrorKind::embedding, [&] { embedder->embed({"a"}); });
  EXPECT_THAT(message, HasSubstr("malformed JSON"));
  EXPECT_THAT(message, HasSubstr("/api/embed"));
}

TEST(EmbedResponse, MissingEmbeddingsFieldIsRejected) {
  FakeEmbeddingServer server;
  server.enqueue({200, R"({"model":"nomic-embed-text"})"});
  auto embedder = ollama_embedder(server);
  const auto message = error_message(ErrorKind::embedding, [&] { embedder->embed({"a"}); });
  EXPECT_THAT(message, HasSubstr("without an \"embeddings\" array"));
}

TEST(EmbedResponse, NonNumericElementIsRejected) {
  FakeEmbeddingServer server;
  server.set_response_mutator([](nlohmann::json& answer, const nlohmann::json&) { answer["embeddings"][1][2] = "0.5"; });
  auto embedder = ollama_embedder(server);
  const auto message = error_message(ErrorKind::embedding, [&] { embedder->embed({"a", "b"}); });
  EXPECT_THAT(message, HasSubstr("input 1"));
  EXPECT_THAT(message, HasSubstr("not a number"));
}

TEST(EmbedResponse, EmptyVectorIsRejected) {
  FakeEmbeddingServer server;
  server.set_legacy_ollama(true);
  server.set_response_mutator([](nlohmann::json& answer, const nlohmann::json&) {
    answer["embedding"] = nlohmann::json::array();  // what old Ollama sends for a chat-only model
  });
  auto embedder = ollama_embedder(server);
  const auto message = error_message(ErrorKind::embedding, [&] { embedder->embed({"a"}); });
  EXPECT_THAT(message, HasSubstr("empty vector for input 0"));
}

TEST(EmbedResponse, VectorThatIsNotAnArrayIsRejected) {
  FakeEmbeddingServer server;
  server.set_response_mutator([](nlohmann::json& answer, const nlohmann::json&) { answer["data"][0]["embedding"] = "AAAA"; });
  auto embedder = make_embedder(openai_settings(server), fast_retries());
  const auto message = error_message(ErrorKind::embedding, [&] { embedder->embed({"a"}); });
  EXPECT_THAT(message, HasSubstr("not an array of numbers"));
}

}  // namespace
}  // namespace lunadb::test
