#pragma once
// Shared set-up for the embedding tests: settings that point at a FakeEmbeddingServer, with
// timeouts and backoffs short enough to keep the whole suite fast.

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include "lunadb/config.hpp"
#include "lunadb/embed.hpp"
#include "lunadb/error.hpp"
#include "support/fake_embedding_server.hpp"

namespace lunadb::test {

inline constexpr const char* ollama_model = "nomic-embed-text";
inline constexpr const char* openai_model = "text-embedding-3-small";

inline RetryPolicy fast_retries() {
  using std::chrono::milliseconds;
  return RetryPolicy{milliseconds(1), milliseconds(5), milliseconds(3000)};
}

inline Settings ollama_settings(const FakeEmbeddingServer& server) {
  Settings settings;
  settings.embedding_provider = EmbeddingProvider::ollama;
  settings.ollama_base_url = server.base_url();
  settings.ollama_embed_model = ollama_model;
  settings.embed_timeout_s = 5;
  settings.embed_max_retries = 2;
  settings.embed_batch_size = 4;
  return settings;
}

inline Settings openai_settings(const FakeEmbeddingServer& server, const std::string& key = "") {
  Settings settings;
  settings.embedding_provider = EmbeddingProvider::openai_compatible;
  settings.openai_base_url = server.openai_base_url();
  settings.openai_api_key = key;
  settings.openai_embed_model = openai_model;
  settings.embed_timeout_s = 5;
  settings.embed_max_retries = 2;
  settings.embed_batch_size = 4;
  return settings;
}

inline std::vector<std::vector<float>> expected_vectors(const std::string& model,
                                                        const std::vector<std::string>& texts,
                                                        std::size_t dimension = 8) {
  std::vector<std::vector<float>> vectors;
  for (const auto& text : texts) vectors.push_back(FakeEmbeddingServer::vector_for(model, text, dimension));
  return vectors;
}

inline std::vector<std::string> numbered_texts(std::size_t count, const std::string& prefix = "text") {
  std::vector<std::string> texts;
  for (std::size_t i = 0; i < count; ++i) texts.push_back(prefix + " " + std::to_string(i));
  return texts;
}

// Runs `call`, expects a lunadb::Error of `kind`, and returns its message.
template <typename Call>
std::string error_message(ErrorKind kind, Call&& call) {
  try {
    call();
  } catch (const Error& error) {
    EXPECT_EQ(error.kind(), kind) << "message: " << error.what();
    return error.what();
  } catch (const std::exception& error) {
    ADD_FAILURE() << "expected lunadb::Error, got: " << error.what();
    return error.what();
  }
  ADD_FAILURE() << "expected lunadb::Error (" << to_string(kind) << "), nothing was thrown";
  return "";
}

}  // namespace lunadb::test
