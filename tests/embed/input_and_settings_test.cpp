#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <limits>

#include "embed/embed_fixture.hpp"
#include "embed/text.hpp"

namespace lunadb::test {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
namespace detail = lunadb::embed_detail;

TEST(EmbedInput, InvalidUtf8NamesTheInputAndSendsNothing) {
  FakeEmbeddingServer server;
  auto embedder = make_embedder(ollama_settings(server), fast_retries());
  const auto message = error_message(ErrorKind::invalid_argument,
                                     [&] { embedder->embed({"fine", "also fine", "bad \xff byte"}); });
  EXPECT_THAT(message, HasSubstr("input 2"));
  EXPECT_THAT(message, HasSubstr("UTF-8"));
  EXPECT_THAT(message, HasSubstr("byte 4"));
  EXPECT_EQ(server.request_count(), 0u);
}

TEST(EmbedInput, InvalidUtf8IsCheckedBeforeAnyBatchIsSent) {
  FakeEmbeddingServer server;
  auto settings = openai_settings(server);
  settings.embed_batch_size = 1;
  auto embedder = make_embedder(settings, fast_retries());
  std::vector<std::string> texts = numbered_texts(5);
  texts[4] = std::string("\xc3", 1);  // truncated two-byte sequence
  const auto message = error_message(ErrorKind::invalid_argument, [&] { embedder->embed(texts); });
  EXPECT_THAT(message, HasSubstr("input 4"));
  EXPECT_EQ(server.request_count(), 0u);
}

TEST(EmbedInput, Utf8ValidatorAcceptsValidText) {
  EXPECT_EQ(detail::first_invalid_utf8(""), std::nullopt);
  EXPECT_EQ(detail::first_invalid_utf8("plain ascii"), std::nullopt);
  EXPECT_EQ(detail::first_invalid_utf8("é ☕ 😀 \xf4\x8f\xbf\xbf"), std::nullopt);  // up to U+10FFFF
  EXPECT_EQ(detail::first_invalid_utf8(std::string("nul\0inside", 10)), std::nullopt);
}

TEST(EmbedInput, Utf8ValidatorRejectsMalformedSequences) {
  EXPECT_EQ(detail::first_invalid_utf8("ab\x80"), 2u);              // lone continuation byte
  EXPECT_EQ(detail::first_invalid_utf8("\xc0\xaf"), 0u);            // overlong '/'
  EXPECT_EQ(detail::first_invalid_utf8("x\xe0\x80\xaf"), 1u);       // overlong three-byte
  EXPECT_EQ(detail::first_invalid_utf8("\xed\xa0\x80"), 0u);        // UTF-16 surrogate
  EXPECT_EQ(detail::first_invalid_utf8("\xf4\x90\x80\x80"), 0u);    // above U+10FFFF
  EXPECT_EQ(detail::first_invalid_utf8("\xf5\x80\x80\x80"), 0u);    // invalid lead byte
  EXPECT_EQ(detail::first_invalid_utf8("ok\xe2\x82"), 2u);          // truncated at the end
  EXPECT_EQ(detail::first_invalid_utf8("\xe2\x28\xa1"), 0u);        // bad continuation
}

TEST(EmbedText, RedactRemovesKeyAndBearerTokens) {
  EXPECT_EQ(detail::redact("key sk-1 and sk-1 again", "sk-1"), "key *** and *** again");
  EXPECT_EQ(detail::redact("got 'Bearer other-token' here", ""), "got 'Bearer ***' here");
  EXPECT_EQ(detail::redact("Bearer sk-1", "sk-1"), "Bearer ***");
  EXPECT_EQ(detail::redact("sent Bearer tok; check it", ""), "sent Bearer ***; check it");
  EXPECT_EQ(detail::redact("nothing secret", "sk-1"), "nothing secret");
}

TEST(EmbedText, RedactUrlMasksPassword) {
  EXPECT_EQ(detail::redact_url("http://user:pa55@host:11434/x"), "http://user:***@host:11434/x");
  EXPECT_EQ(detail::redact_url("http://host:11434"), "http://host:11434");
  EXPECT_EQ(detail::redact_url("http://user@host"), "http://user@host");
}

TEST(EmbedText, SummaryPrefersTheErrorMessage) {
  EXPECT_EQ(detail::summarize_body(R"({"error":"model not found"})"), "model not found");
  EXPECT_EQ(detail::summarize_body(R"({"error":{"message":"quota","type":"x"}})"), "quota");
  EXPECT_EQ(detail::summarize_body("line1\nline2"), "line1 line2");
  EXPECT_EQ(detail::summarize_body("   "), "(empty body)");
  EXPECT_EQ(detail::summarize_body("ok \xff tail"), "ok (non-UTF-8 bytes)");
}

TEST(EmbedText, TruncationKeepsUtf8Whole) {
  const std::string text = "aé";  // 'a' + two bytes
  EXPECT_EQ(detail::truncate_utf8(text, 2), "a...");
  EXPECT_EQ(detail::truncate_utf8(text, 3), text);
  EXPECT_EQ(detail::truncate_utf8("abcdef", 3), "abc...");
}

TEST(EmbedSettings, ProviderSelectsTheApi) {
  Settings settings;
  EXPECT_STREQ(make_embedder(settings)->provider(), "ollama");
  settings.embedding_provider = EmbeddingProvider::openai_compatible;
  auto embedder = make_embedder(settings);
  EXPECT_STREQ(embedder->provider(), "openai-compatible");
  EXPECT_EQ(embedder->model(), "text-embedding-3-small");
  EXPECT_EQ(embedder->dimension(), 1536u);
  EXPECT_EQ(embedder->endpoint(), "https://api.openai.com/v1");
}

TEST(EmbedSettings, BadBatchSizeIsAConfigError) {
  Settings settings;
  settings.embed_batch_size = 0;
  EXPECT_THAT(error_message(ErrorKind::config, [&] { make_embedder(settings); }), HasSubstr("EMBED_BATCH_SIZE"));
}

TEST(EmbedSettings, BadTimeoutIsAConfigError) {
  Settings settings;
  settings.embed_timeout_s = 0;
  EXPECT_THAT(error_message(ErrorKind::config, [&] { make_embedder(settings); }), HasSubstr("EMBED_TIMEOUT"));
  settings.embed_timeout_s = std::numeric_limits<double>::quiet_NaN();
  EXPECT_THAT(error_message(ErrorKind::config, [&] { make_embedder(settings); }), HasSubstr("EMBED_TIMEOUT"));
}

TEST(EmbedSettings, NegativeRetriesIsAConfigError) {
  Settings settings;
  settings.embed_max_retries = -1;
  EXPECT_THAT(error_message(ErrorKind::config, [&] { make_embedder(settings); }), HasSubstr("EMBED_MAX_RETRIES"));
}

TEST(EmbedSettings, BaseUrlWithoutSchemeIsAConfigError) {
  Settings settings;
  settings.ollama_base_url = "localhost:11434";
  EXPECT_THAT(error_message(ErrorKind::config, [&] { make_embedder(settings); }), HasSubstr("OLLAMA_BASE_URL"));
  settings.embedding_provider = EmbeddingProvider::openai_compatible;
  settings.openai_base_url = "ftp://example/v1";
  EXPECT_THAT(error_message(ErrorKind::config, [&] { make_embedder(settings); }), HasSubstr("OPENAI_BASE_URL"));
  settings.openai_base_url = "https://";
  EXPECT_THAT(error_message(ErrorKind::config, [&] { make_embedder(settings); }), HasSubstr("OPENAI_BASE_URL"));
}

TEST(EmbedSettings, EmptyModelIsAConfigError) {
  Settings settings;
  settings.ollama_embed_model.clear();
  EXPECT_THAT(error_message(ErrorKind::config, [&] { make_embedder(settings); }), HasSubstr("OLLAMA_EMBED_MODEL"));
}

TEST(EmbedSettings, PasswordInBaseUrlIsNeverShown) {
  Settings settings;
  settings.ollama_base_url = "http://luna:hunter2@127.0.0.1:" + std::to_string(closed_loopback_port());
  settings.embed_max_retries = 0;
  auto embedder = make_embedder(settings, fast_retries());
  EXPECT_THAT(embedder->endpoint(), Not(HasSubstr("hunter2")));
  const auto message = error_message(ErrorKind::connection, [&] { embedder->embed({"a"}); });
  EXPECT_THAT(message, HasSubstr("luna:***@"));
  EXPECT_THAT(message, Not(HasSubstr("hunter2")));

  settings.ollama_base_url = "luna:hunter2@nowhere";
  EXPECT_THAT(error_message(ErrorKind::config, [&] { make_embedder(settings); }), Not(HasSubstr("hunter2")));
}

TEST(EmbedSettings, KnownModelDimensions) {
  EXPECT_EQ(known_model_dimension("nomic-embed-text"), 768u);
  EXPECT_EQ(known_model_dimension("nomic-embed-text:latest"), 768u);
  EXPECT_EQ(known_model_dimension("text-embedding-3-large"), 3072u);
  EXPECT_EQ(known_model_dimension("something-else"), std::nullopt);
}

}  // namespace
}  // namespace lunadb::test
