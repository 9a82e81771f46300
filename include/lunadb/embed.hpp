#pragma once
// Embedding providers: turn texts into vectors through an HTTP embedding server.
//
//   ollama             POST {OLLAMA_BASE_URL}/api/embed  {"model", "input": [...]}
//                      (falls back to the pre-0.3 POST /api/embeddings, one text per request,
//                      when the server has no /api/embed; remembered for the embedder's lifetime)
//   openai-compatible  POST {OPENAI_BASE_URL}/embeddings {"model", "input": [...]}
//                      with "Authorization: Bearer OPENAI_API_KEY" when the key is not empty
//
// Texts are sent in batches of EMBED_BATCH_SIZE. Each request has a connect and a total timeout
// (EMBED_TIMEOUT) and is retried up to EMBED_MAX_RETRIES times, with exponential backoff and
// jitter, on HTTP 429 (Retry-After honoured up to RetryPolicy::max_retry_after), HTTP 5xx,
// timeouts and connection failures. Other HTTP 4xx answers are not retried.
//
// Errors (all lunadb::Error):
//   invalid_argument  an input text is not valid UTF-8 (the message names its index)
//   config            a setting makes no sense (names the setting)
//   connection        the server cannot be reached, timed out, or refused the credentials
//   embedding         the server answered with an error, or with something that is not one
//                     finite vector of one consistent dimension per input text
// Messages never contain the API key, nor a password written into a base URL.
//
// Thread-safety: an Embedder may be shared; embed() and the accessors may be called
// concurrently from any number of threads (each call uses its own HTTP connection).
// make_embedder() may also be called from any thread.

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "lunadb/config.hpp"

namespace lunadb {

class Embedder {
 public:
  virtual ~Embedder() = default;
  Embedder() = default;
  Embedder(const Embedder&) = delete;
  Embedder& operator=(const Embedder&) = delete;

  // One vector per text, in the order of `texts`. An empty list makes no request.
  virtual std::vector<std::vector<float>> embed(const std::vector<std::string>& texts) = 0;

  // The model name sent to the server (OLLAMA_EMBED_MODEL or OPENAI_EMBED_MODEL).
  virtual const std::string& model() const = 0;

  // "ollama" or "openai-compatible".
  virtual const char* provider() const = 0;

  // The server's base URL with any password masked: safe for logs.
  virtual const std::string& endpoint() const = 0;

  // The vector length: the one the server returned, once a call has succeeded; before that, the
  // documented length of a well-known model (nomic-embed-text: 768, text-embedding-3-small: 1536,
  // ...), or nullopt.
  virtual std::optional<std::size_t> dimension() const = 0;
};

// Backoff knobs that are not user settings; tests shorten them.
struct RetryPolicy {
  std::chrono::milliseconds initial_backoff{500};   // first wait; doubled on each retry
  std::chrono::milliseconds max_backoff{8000};      // cap on the doubled wait (before jitter)
  std::chrono::milliseconds max_retry_after{30000}; // a longer Retry-After is cut to this
};

// Builds the embedder named by EMBEDDING_PROVIDER. Checks the settings (base URL scheme,
// timeout > 0, retries >= 0, batch size >= 1) and throws Error(config) naming the bad one.
// Makes no request.
std::unique_ptr<Embedder> make_embedder(const Settings& settings, const RetryPolicy& retry = {});

// The documented vector length of well-known embedding models, or nullopt.
std::optional<std::size_t> known_model_dimension(const std::string& model);

}  // namespace lunadb
