#include <cmath>

#include "embed/http_embedder.hpp"
#include "embed/text.hpp"
#include "lunadb/embed.hpp"

namespace lunadb {
namespace {

[[noreturn]] void bad_setting(const std::string& message, const std::string& secret) {
  throw Error(ErrorKind::config, embed_detail::redact(message, secret));
}

void check_base_url(const std::string& url, const char* setting, const std::string& secret) {
  const std::string shown = embed_detail::redact(embed_detail::redact_url(url), secret);
  const bool http = url.starts_with("http://") || url.starts_with("https://");
  if (!http || url.find_first_not_of('/', url.find("://") + 3) == std::string::npos) {
    bad_setting(std::string(setting) + " must be an http:// or https:// URL such as " +
                    (std::string(setting) == "OLLAMA_BASE_URL" ? "http://localhost:11434"
                                                               : "https://api.openai.com/v1") +
                    ", got '" + shown + "'",
                secret);
  }
  if (auto bad = embed_detail::first_invalid_utf8(url); bad || url.find_first_of(" \t\r\n") != std::string::npos) {
    bad_setting(std::string(setting) + " contains whitespace or invalid characters: '" +
                    embed_detail::truncate_utf8(shown.substr(0, bad.value_or(shown.size())), 200) + "'",
                secret);
  }
}

}  // namespace

std::optional<std::size_t> known_model_dimension(const std::string& model) {
  // Ollama model names may carry a tag ("nomic-embed-text:latest"); the dimension is the same.
  const std::string name = model.substr(0, model.find(':'));
  static const std::pair<const char*, std::size_t> known[] = {
      {"nomic-embed-text", 768},       {"mxbai-embed-large", 1024},      {"all-minilm", 384},
      {"snowflake-arctic-embed", 1024}, {"bge-m3", 1024},                {"text-embedding-3-small", 1536},
      {"text-embedding-3-large", 3072}, {"text-embedding-ada-002", 1536},
  };
  for (const auto& [known_name, dimension] : known) {
    if (name == known_name) return dimension;
  }
  return std::nullopt;
}

std::unique_ptr<Embedder> make_embedder(const Settings& settings, const RetryPolicy& retry) {
  const std::string& secret = settings.openai_api_key;
  if (!(settings.embed_timeout_s > 0) || !std::isfinite(settings.embed_timeout_s)) {
    bad_setting("EMBED_TIMEOUT must be a positive number of seconds, got " + std::to_string(settings.embed_timeout_s),
                secret);
  }
  if (settings.embed_max_retries < 0) {
    bad_setting("EMBED_MAX_RETRIES must be 0 or more, got " + std::to_string(settings.embed_max_retries), secret);
  }
  if (settings.embed_batch_size < 1) {
    bad_setting("EMBED_BATCH_SIZE must be 1 or more, got " + std::to_string(settings.embed_batch_size), secret);
  }
  if (retry.initial_backoff.count() < 0 || retry.max_backoff.count() < 0 || retry.max_retry_after.count() < 0) {
    throw Error(ErrorKind::usage, "RetryPolicy durations must not be negative");
  }
  switch (settings.embedding_provider) {
    case EmbeddingProvider::ollama:
      check_base_url(settings.ollama_base_url, "OLLAMA_BASE_URL", secret);
      if (settings.ollama_embed_model.empty()) bad_setting("OLLAMA_EMBED_MODEL is empty: name a model, e.g. nomic-embed-text", secret);
      return embed_detail::make_ollama_embedder(settings, retry);
    case EmbeddingProvider::openai_compatible:
      check_base_url(settings.openai_base_url, "OPENAI_BASE_URL", secret);
      if (settings.openai_embed_model.empty()) {
        bad_setting("OPENAI_EMBED_MODEL is empty: name a model, e.g. text-embedding-3-small", secret);
      }
      if (settings.openai_api_key.find_first_of("\r\n") != std::string::npos) {
        bad_setting("OPENAI_API_KEY contains a line break", secret);
      }
      return embed_detail::make_openai_embedder(settings, retry);
  }
  throw Error(ErrorKind::config, "EMBEDDING_PROVIDER has an unknown value");
}

}  // namespace lunadb
