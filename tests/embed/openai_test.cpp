#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>

#include "embed/embed_fixture.hpp"

namespace lunadb::test {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr const char* api_key = "sk-test-0123456789abcdefSECRET";

TEST(EmbedOpenAi, SendsBearerKeyAndReturnsVectorsInOrder) {
  FakeEmbeddingServer server;
  server.set_required_api_key(api_key);
  auto embedder = make_embedder(openai_settings(server, api_key), fast_retries());
  const std::vector<std::string> texts = {"first", "second", "třetí"};

  EXPECT_EQ(embedder->embed(texts), expected_vectors(openai_model, texts));

  const auto requests = server.requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].path, "/v1/embeddings");
  EXPECT_EQ(requests[0].authorization, std::string("Bearer ") + api_key);
  EXPECT_EQ(requests[0].json()["model"], openai_model);
  EXPECT_EQ(requests[0].json()["input"], nlohmann::json(texts));
  EXPECT_STREQ(embedder->provider(), "openai-compatible");
  EXPECT_EQ(embedder->endpoint(), server.openai_base_url());
}

TEST(EmbedOpenAi, OmitsAuthorizationWhenKeyIsEmpty) {
  FakeEmbeddingServer server;
  auto embedder = make_embedder(openai_settings(server, ""), fast_retries());
  EXPECT_EQ(embedder->embed({"a"}), expected_vectors(openai_model, {"a"}));
  EXPECT_FALSE(server.requests().at(0).has_authorization);
}

TEST(EmbedOpenAi, OrdersVectorsByIndexNotByPosition) {
  FakeEmbeddingServer server;
  server.set_response_mutator([](nlohmann::json& answer, const nlohmann::json&) {
    std::reverse(answer["data"].begin(), answer["data"].end());
  });
  auto embedder = make_embedder(openai_settings(server), fast_retries());
  const auto texts = numbered_texts(4);
  EXPECT_EQ(embedder->embed(texts), expected_vectors(openai_model, texts));
}

TEST(EmbedOpenAi, SplitsInputIntoBatches) {
  FakeEmbeddingServer server;
  auto settings = openai_settings(server);
  settings.embed_batch_size = 3;
  auto embedder = make_embedder(settings, fast_retries());
  const auto texts = numbered_texts(7);
  EXPECT_EQ(embedder->embed(texts), expected_vectors(openai_model, texts));
  const auto requests = server.requests();
  ASSERT_EQ(requests.size(), 3u);
  EXPECT_EQ(requests[0].json()["input"].size(), 3u);
  EXPECT_EQ(requests[1].json()["input"].size(), 3u);
  EXPECT_EQ(requests[2].json()["input"], nlohmann::json(std::vector<std::string>{texts[6]}));
}

TEST(EmbedOpenAi, RejectedKeyIsReportedWithoutTheKey) {
  FakeEmbeddingServer server;
  server.set_required_api_key("sk-the-right-one");
  auto embedder = make_embedder(openai_settings(server, api_key), fast_retries());

  const auto message = error_message(ErrorKind::connection, [&] { embedder->embed({"a"}); });

  EXPECT_THAT(message, HasSubstr("401"));
  EXPECT_THAT(message, HasSubstr("; check OPENAI_API_KEY"));
  EXPECT_THAT(message, HasSubstr("Incorrect API key provided: Bearer ***"));  // the server's words survive
  EXPECT_THAT(message, Not(HasSubstr(api_key)));
  EXPECT_THAT(message, Not(HasSubstr("SECRET")));
  EXPECT_EQ(server.request_count(), 1u);  // a 4xx is not retried
}

TEST(EmbedOpenAi, ErrorBodiesThatEchoTheKeyAreRedacted) {
  FakeEmbeddingServer server;
  // A 500 retried to exhaustion, and a 400: both echo the Authorization header back.
  for (int i = 0; i < 3; ++i) {
    server.enqueue({500, R"({"error":{"message":"upstream failed for {{authorization}}"}})"});
  }
  server.enqueue({400, "bad request; you sent {{authorization}} and key " + std::string(api_key), "text/plain"});
  auto embedder = make_embedder(openai_settings(server, api_key), fast_retries());

  const auto server_error = error_message(ErrorKind::embedding, [&] { embedder->embed({"a"}); });
  EXPECT_THAT(server_error, HasSubstr("HTTP 500"));
  EXPECT_THAT(server_error, HasSubstr("upstream failed"));
  EXPECT_THAT(server_error, Not(HasSubstr("SECRET")));

  const auto client_error = error_message(ErrorKind::embedding, [&] { embedder->embed({"a"}); });
  EXPECT_THAT(client_error, HasSubstr("HTTP 400"));
  EXPECT_THAT(client_error, HasSubstr("bad request"));
  EXPECT_THAT(client_error, Not(HasSubstr("SECRET")));
  // The server did see the real key: redaction happened on our side.
  EXPECT_EQ(server.requests().back().authorization, std::string("Bearer ") + api_key);
}

TEST(EmbedOpenAi, KeyCutByTruncationDoesNotLeakAPrefix) {
  FakeEmbeddingServer server;
  // The key sits right where a summary would be cut.
  server.enqueue({400, std::string(295, 'x') + api_key, "text/plain"});
  auto embedder = make_embedder(openai_settings(server, api_key), fast_retries());
  const auto message = error_message(ErrorKind::embedding, [&] { embedder->embed({"a"}); });
  EXPECT_THAT(message, Not(HasSubstr("sk-te")));
}

TEST(EmbedOpenAi, MissingModelIsNamed) {
  FakeEmbeddingServer server;
  server.set_available_models({"text-embedding-3-large"});
  auto embedder = make_embedder(openai_settings(server), fast_retries());
  const auto message = error_message(ErrorKind::embedding, [&] { embedder->embed({"a"}); });
  EXPECT_THAT(message, HasSubstr("text-embedding-3-small"));
  EXPECT_THAT(message, HasSubstr("OPENAI_EMBED_MODEL"));
  EXPECT_EQ(server.request_count(), 1u);
}

TEST(EmbedOpenAi, IndexOutOfRangeIsRejected) {
  FakeEmbeddingServer server;
  server.set_response_mutator([](nlohmann::json& answer, const nlohmann::json&) { answer["data"][1]["index"] = 7; });
  auto embedder = make_embedder(openai_settings(server), fast_retries());
  const auto message = error_message(ErrorKind::embedding, [&] { embedder->embed({"a", "b"}); });
  EXPECT_THAT(message, HasSubstr("index 7"));
}

TEST(EmbedOpenAi, DuplicateIndexIsRejected) {
  FakeEmbeddingServer server;
  server.set_response_mutator([](nlohmann::json& answer, const nlohmann::json&) { answer["data"][1]["index"] = 0; });
  auto embedder = make_embedder(openai_settings(server), fast_retries());
  const auto message = error_message(ErrorKind::embedding, [&] { embedder->embed({"a", "b"}); });
  EXPECT_THAT(message, HasSubstr("two vectors with index 0"));
}

TEST(EmbedOpenAi, WrongNumberOfVectorsIsRejected) {
  FakeEmbeddingServer server;
  server.set_response_mutator([](nlohmann::json& answer, const nlohmann::json&) { answer["data"].erase(0); });
  auto embedder = make_embedder(openai_settings(server), fast_retries());
  const auto message = error_message(ErrorKind::embedding, [&] { embedder->embed({"a", "b", "c"}); });
  EXPECT_THAT(message, HasSubstr("returned 2 vector(s) for 3 texts"));
}

TEST(EmbedOpenAi, AnswerWithoutDataIsRejected) {
  FakeEmbeddingServer server;
  server.enqueue({200, R"({"object":"list","embeddings":[[1,2]]})"});
  auto embedder = make_embedder(openai_settings(server), fast_retries());
  const auto message = error_message(ErrorKind::embedding, [&] { embedder->embed({"a"}); });
  EXPECT_THAT(message, HasSubstr("without a \"data\" array"));
}

}  // namespace
}  // namespace lunadb::test
