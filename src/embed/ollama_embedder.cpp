// Ollama: POST /api/embed (Ollama 0.3.4+, batched), or the older POST /api/embeddings (one prompt
// per request) on servers that answer 404 "page not found" for /api/embed.

#include <atomic>

#include "embed/http_embedder.hpp"
#include "embed/text.hpp"

namespace lunadb::embed_detail {
namespace {

constexpr const char* batch_path = "/api/embed";
constexpr const char* legacy_path = "/api/embeddings";

// Ollama answers an unknown model with 404 {"error":"model \"x\" not found, try pulling it first"};
// a server without the endpoint answers 404 with a plain-text page instead.
bool is_model_missing(const HttpResult& result) {
  if (result.status != 404) return false;
  const auto body = nlohmann::json::parse(result.body, nullptr, /*allow_exceptions=*/false);
  if (!body.is_object() || !body.contains("error") || !body["error"].is_string()) return false;
  const auto message = body["error"].get<std::string>();
  return message.find("not found") != std::string::npos && message.find("model") != std::string::npos;
}

class OllamaEmbedder final : public HttpEmbedder {
 public:
  using HttpEmbedder::HttpEmbedder;

 protected:
  std::vector<std::vector<float>> embed_batch(HttpSession& session, const std::vector<std::string>& texts,
                                              std::size_t first, std::size_t count) override {
    if (!legacy_api_.load(std::memory_order_relaxed)) {
      nlohmann::json request = {{"model", model()}, {"input", nlohmann::json::array()}};
      for (std::size_t i = first; i < first + count; ++i) request["input"].push_back(texts[i]);
      const Answer answer = post(session, batch_path, request);
      if (answer.http.status / 100 == 2) return parse_batch(answer, first);
      if (is_model_missing(answer.http)) fail_model_missing(answer);
      if (answer.http.status != 404) fail_http(answer, batch_path);
      legacy_api_.store(true, std::memory_order_relaxed);
    }
    std::vector<std::vector<float>> vectors;
    vectors.reserve(count);
    for (std::size_t i = first; i < first + count; ++i) {
      const nlohmann::json request = {{"model", model()}, {"prompt", texts[i]}};
      const Answer answer = post(session, legacy_path, request);
      if (answer.http.status / 100 != 2) {
        if (is_model_missing(answer.http)) fail_model_missing(answer);
        if (answer.http.status == 404) {
          fail(ErrorKind::embedding, where() + " has neither " + batch_path + " nor " + legacy_path +
                                         " (HTTP 404): " + body_summary(answer.http) + "; is " +
                                         info().url_setting + " the address of an Ollama server?");
        }
        fail_http(answer, legacy_path);
      }
      const auto body = parse_body(answer, legacy_path);
      if (!body.is_object() || !body.contains("embedding")) {
        fail(ErrorKind::embedding, where() + " answered " + legacy_path + " without an \"embedding\" field: " +
                                       summarize_body(answer.http.body, 120));
      }
      vectors.push_back(to_vector(body["embedding"], i));
    }
    return vectors;
  }

 private:
  std::vector<std::vector<float>> parse_batch(const Answer& answer, std::size_t first) const {
    const auto body = parse_body(answer, batch_path);
    if (!body.is_object() || !body.contains("embeddings") || !body["embeddings"].is_array()) {
      fail(ErrorKind::embedding, where() + " answered " + batch_path + " without an \"embeddings\" array: " +
                                     summarize_body(answer.http.body, 120));
    }
    std::vector<std::vector<float>> vectors;
    vectors.reserve(body["embeddings"].size());
    std::size_t input = first;
    for (const auto& value : body["embeddings"]) vectors.push_back(to_vector(value, input++));
    return vectors;
  }

  [[noreturn]] void fail_model_missing(const Answer& answer) const {
    fail(ErrorKind::embedding, "the model '" + model() + "' (" + info().model_setting + ") is not available on " +
                                   where() + ": " + body_summary(answer.http) + ". Run `ollama pull " + model() +
                                   "` on that machine, or set " + info().model_setting +
                                   " to a model it has (`ollama list`)");
  }

  // Set once a server has shown it lacks /api/embed; never cleared, as servers do not downgrade.
  std::atomic<bool> legacy_api_{false};
};

}  // namespace

std::unique_ptr<Embedder> make_ollama_embedder(const Settings& settings, const RetryPolicy& retry) {
  ServerInfo info{
      "ollama",
      "Ollama server",
      "OLLAMA_BASE_URL",
      "OLLAMA_EMBED_MODEL",
      "Is Ollama running there (`ollama serve`), and is OLLAMA_BASE_URL right?",
      "Ollama needs no key, so a proxy in front of OLLAMA_BASE_URL refused it",
  };
  return std::make_unique<OllamaEmbedder>(std::move(info), settings.ollama_base_url, settings.ollama_embed_model,
                                          std::string(), settings, retry);
}

}  // namespace lunadb::embed_detail
