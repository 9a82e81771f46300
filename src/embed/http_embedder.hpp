#pragma once
// The part of an embedding provider that does not depend on the API: batching, retries, error
// messages, vector validation. Providers implement embed_batch().
//
// Thread-safety: embed() may run concurrently; the only state shared between calls is atomic.

#include <atomic>
#include <cstddef>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "embed/http.hpp"
#include "lunadb/config.hpp"
#include "lunadb/embed.hpp"
#include "lunadb/error.hpp"

namespace lunadb::embed_detail {

// How a provider names itself and its settings in error messages.
struct ServerInfo {
  const char* provider;          // "ollama", "openai-compatible"
  std::string label;             // "Ollama server"
  std::string url_setting;       // "OLLAMA_BASE_URL"
  std::string model_setting;     // "OLLAMA_EMBED_MODEL"
  std::string unreachable_hint;  // appended when the server cannot be reached
  std::string credentials_hint;  // appended to HTTP 401/403 errors
};

// The outcome of a request after retries: a response arrived (any status).
struct Answer {
  HttpResult http;
  int attempts = 1;
};

class HttpEmbedder : public Embedder {
 public:
  HttpEmbedder(ServerInfo info, const std::string& base_url, std::string model, std::string api_key,
               const Settings& settings, const RetryPolicy& retry);

  std::vector<std::vector<float>> embed(const std::vector<std::string>& texts) final;
  const std::string& model() const final { return model_; }
  const char* provider() const final { return info_.provider; }
  const std::string& endpoint() const final { return shown_url_; }
  std::optional<std::size_t> dimension() const final;

 protected:
  // Vectors for texts[first, first + count), in order. The count, dimensions and finiteness are
  // checked by the caller as well; the provider checks the shape of its own JSON.
  virtual std::vector<std::vector<float>> embed_batch(HttpSession& session,
                                                      const std::vector<std::string>& texts,
                                                      std::size_t first, std::size_t count) = 0;

  // POSTs `body` to base_url + path, retrying transient failures. Throws Error(connection) when no
  // response arrived after the last attempt; any HTTP status is returned to the caller.
  Answer post(HttpSession& session, const std::string& path, const nlohmann::json& body) const;

  // Throws the error for a non-2xx answer that the provider did not handle itself.
  [[noreturn]] void fail_http(const Answer& answer, const std::string& path) const;
  [[noreturn]] void fail(ErrorKind kind, const std::string& message) const;

  // Parses a 2xx body; throws Error(embedding) on malformed JSON.
  nlohmann::json parse_body(const Answer& answer, const std::string& path) const;
  // A JSON array of numbers as floats; throws Error(embedding) naming `input_index` otherwise.
  std::vector<float> to_vector(const nlohmann::json& value, std::size_t input_index) const;

  // The HTTP error body, redacted and cut to one line.
  std::string body_summary(const HttpResult& result) const;
  // "the Ollama server at http://host:11434 (OLLAMA_BASE_URL)"
  std::string where() const;
  const std::string& api_key() const { return api_key_; }
  const ServerInfo& info() const { return info_; }

 private:
  std::chrono::milliseconds backoff_before_retry(int retry_index, const HttpResult& last) const;

  ServerInfo info_;
  std::string base_url_;   // without a trailing slash
  std::string shown_url_;  // base_url_ with any password masked
  std::string model_;
  std::string api_key_;
  double timeout_s_;
  int max_retries_;
  std::size_t batch_size_;
  RetryPolicy retry_;
  std::atomic<std::size_t> observed_dimension_{0};  // 0: no successful call yet
};

std::unique_ptr<Embedder> make_ollama_embedder(const Settings& settings, const RetryPolicy& retry);
std::unique_ptr<Embedder> make_openai_embedder(const Settings& settings, const RetryPolicy& retry);

}  // namespace lunadb::embed_detail
