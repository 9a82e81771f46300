// Timeouts, retries and unreachable servers.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>

#include "embed/embed_fixture.hpp"

namespace lunadb::test {
namespace {

using ::testing::HasSubstr;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

TEST(EmbedTransport, OllamaServerDownIsNamedWithItsSetting) {
  Settings settings;
  settings.ollama_base_url = "http://127.0.0.1:" + std::to_string(closed_loopback_port());
  settings.embed_max_retries = 1;
  settings.embed_timeout_s = 2;
  auto embedder = make_embedder(settings, fast_retries());

  const auto message = error_message(ErrorKind::connection, [&] { embedder->embed({"a"}); });

  EXPECT_THAT(message, HasSubstr("cannot reach the Ollama server at " + settings.ollama_base_url +
                                 " (OLLAMA_BASE_URL) after 2 attempts"));
  EXPECT_THAT(message, HasSubstr("ollama serve"));
}

TEST(EmbedTransport, OpenAiServerDownIsNamedWithItsSetting) {
  Settings settings;
  settings.embedding_provider = EmbeddingProvider::openai_compatible;
  settings.openai_base_url = "http://127.0.0.1:" + std::to_string(closed_loopback_port()) + "/v1";
  settings.openai_api_key = "sk-down-SECRET";
  settings.embed_max_retries = 0;
  auto embedder = make_embedder(settings, fast_retries());
  const auto message = error_message(ErrorKind::connection, [&] { embedder->embed({"a"}); });
  EXPECT_THAT(message, HasSubstr("cannot reach"));
  EXPECT_THAT(message, HasSubstr("(OPENAI_BASE_URL)"));
  EXPECT_THAT(message, ::testing::Not(HasSubstr("SECRET")));
}

TEST(EmbedTransport, SlowerThanTimeoutNamesEmbedTimeoutAndRetries) {
  FakeEmbeddingServer server;
  server.set_delay(milliseconds(3000));
  auto settings = ollama_settings(server);
  settings.embed_timeout_s = 0.3;
  settings.embed_max_retries = 1;
  auto embedder = make_embedder(settings, fast_retries());

  const auto message = error_message(ErrorKind::connection, [&] { embedder->embed({"a"}); });

  EXPECT_THAT(message, HasSubstr("EMBED_TIMEOUT"));
  EXPECT_THAT(message, HasSubstr("0.3 s"));
  EXPECT_THAT(message, HasSubstr("after 2 attempts"));
  EXPECT_EQ(server.request_count(), 2u);
}

TEST(EmbedTransport, SlowButWithinTimeoutSucceeds) {
  FakeEmbeddingServer server;
  server.set_delay(milliseconds(100));
  auto settings = ollama_settings(server);
  settings.embed_timeout_s = 3;
  auto embedder = make_embedder(settings, fast_retries());
  EXPECT_EQ(embedder->embed({"a"}), expected_vectors(ollama_model, {"a"}));
  EXPECT_EQ(server.request_count(), 1u);
}

TEST(EmbedTransport, ServerErrorThenSuccessIsRetried) {
  FakeEmbeddingServer server;
  server.enqueue({500, R"({"error":"llama runner process has terminated"})"});
  auto embedder = make_embedder(ollama_settings(server), fast_retries());
  EXPECT_EQ(embedder->embed({"a", "b"}), expected_vectors(ollama_model, {"a", "b"}));
  EXPECT_EQ(server.request_count(), 2u);
  // The retry resends the same batch.
  EXPECT_EQ(server.requests()[0].body, server.requests()[1].body);
}

TEST(EmbedTransport, ServerErrorsGiveUpAfterMaxRetries) {
  FakeEmbeddingServer server;
  for (int i = 0; i < 5; ++i) server.enqueue({503, R"({"error":"overloaded"})"});
  auto settings = ollama_settings(server);
  settings.embed_max_retries = 2;
  auto embedder = make_embedder(settings, fast_retries());
  const auto message = error_message(ErrorKind::embedding, [&] { embedder->embed({"a"}); });
  EXPECT_THAT(message, HasSubstr("HTTP 503"));
  EXPECT_THAT(message, HasSubstr("after 3 attempts"));
  EXPECT_THAT(message, HasSubstr("overloaded"));
  EXPECT_EQ(server.request_count(), 3u);
}

TEST(EmbedTransport, ZeroRetriesMeansOneAttempt) {
  FakeEmbeddingServer server;
  server.enqueue({502, "bad gateway", "text/plain"});
  auto settings = ollama_settings(server);
  settings.embed_max_retries = 0;
  auto embedder = make_embedder(settings, fast_retries());
  const auto message = error_message(ErrorKind::embedding, [&] { embedder->embed({"a"}); });
  EXPECT_THAT(message, HasSubstr("HTTP 502"));
  EXPECT_EQ(server.request_count(), 1u);
}

TEST(EmbedTransport, ClientErrorIsNotRetried) {
  FakeEmbeddingServer server;
  server.enqueue({400, R"({"error":"input length exceeds the context length"})"});
  auto embedder = make_embedder(ollama_settings(server), fast_retries());
  const auto message = error_message(ErrorKind::embedding, [&] { embedder->embed({"a"}); });
  EXPECT_THAT(message, HasSubstr("HTTP 400"));
  EXPECT_THAT(message, HasSubstr("input length exceeds the context length"));
  EXPECT_EQ(server.request_count(), 1u);
}

TEST(EmbedTransport, RateLimitHonoursRetryAfter) {
  FakeEmbeddingServer server;
  server.enqueue({429, R"({"error":{"message":"Rate limit reached"}})", "application/json", {{"Retry-After", "1"}}});
  auto embedder = make_embedder(openai_settings(server), fast_retries());
  const auto start = Clock::now();
  EXPECT_EQ(embedder->embed({"a"}), expected_vectors(openai_model, {"a"}));
  // The backoff alone would be a few milliseconds: the wait came from Retry-After.
  EXPECT_GE(seconds_since(start), 0.9);
  EXPECT_EQ(server.request_count(), 2u);
}

TEST(EmbedTransport, RetryAfterMillisecondsHeaderIsUnderstood) {
  FakeEmbeddingServer server;
  server.enqueue({429, "{}", "application/json", {{"retry-after-ms", "400"}, {"Retry-After", "1"}}});
  auto embedder = make_embedder(openai_settings(server), fast_retries());
  const auto start = Clock::now();
  EXPECT_EQ(embedder->embed({"a"}), expected_vectors(openai_model, {"a"}));
  EXPECT_GE(seconds_since(start), 0.35);
  EXPECT_EQ(server.request_count(), 2u);
}

TEST(EmbedTransport, RetryAfterIsCappedByPolicy) {
  FakeEmbeddingServer server;
  server.enqueue({429, "{}", "application/json", {{"Retry-After", "3600"}}});
  auto policy = fast_retries();
  policy.max_retry_after = milliseconds(50);
  auto embedder = make_embedder(openai_settings(server), policy);
  // Finishing at all (the test has no hour to spare) shows the cap applied.
  EXPECT_EQ(embedder->embed({"a"}), expected_vectors(openai_model, {"a"}));
  EXPECT_EQ(server.request_count(), 2u);
}

TEST(EmbedTransport, PersistentRateLimitGivesUpWithAdvice) {
  FakeEmbeddingServer server;
  for (int i = 0; i < 3; ++i) server.enqueue({429, R"({"error":{"message":"slow down"}})"});
  auto settings = openai_settings(server);
  settings.embed_max_retries = 2;
  auto embedder = make_embedder(settings, fast_retries());
  const auto message = error_message(ErrorKind::embedding, [&] { embedder->embed({"a"}); });
  EXPECT_THAT(message, HasSubstr("HTTP 429"));
  EXPECT_THAT(message, HasSubstr("EMBED_MAX_RETRIES"));
  EXPECT_THAT(message, HasSubstr("slow down"));
  EXPECT_EQ(server.request_count(), 3u);
}

TEST(EmbedTransport, OnlyTheFailedBatchIsRetried) {
  FakeEmbeddingServer server;
  const nlohmann::json first_batch = {{"embeddings", expected_vectors(ollama_model, {"a", "b"})}};
  server.enqueue({200, first_batch.dump()});
  server.enqueue({500, R"({"error":"busy"})"});
  auto settings = ollama_settings(server);
  settings.embed_batch_size = 2;
  auto embedder = make_embedder(settings, fast_retries());

  EXPECT_EQ(embedder->embed({"a", "b", "c", "d"}), expected_vectors(ollama_model, {"a", "b", "c", "d"}));

  const auto requests = server.requests();
  ASSERT_EQ(requests.size(), 3u);
  EXPECT_EQ(requests[1].json()["input"], nlohmann::json({"c", "d"}));
  EXPECT_EQ(requests[2].body, requests[1].body);
}

TEST(EmbedTransport, HttpErrorBodyIsSummarisedAndCut) {
  FakeEmbeddingServer server;
  server.enqueue({400, std::string(20000, 'z') + "\n\ttrailer", "text/plain"});
  auto embedder = make_embedder(ollama_settings(server), fast_retries());
  const auto message = error_message(ErrorKind::embedding, [&] { embedder->embed({"a"}); });
  EXPECT_LT(message.size(), 800u);
  EXPECT_THAT(message, HasSubstr("zzz..."));
  EXPECT_EQ(message.find('\n'), std::string::npos);
}

}  // namespace
}  // namespace lunadb::test
