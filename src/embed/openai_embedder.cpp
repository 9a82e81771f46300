// OpenAI-compatible servers: POST {OPENAI_BASE_URL}/embeddings {"model", "input": [...]}, answered
// with {"data": [{"index": i, "embedding": [...]}, ...]} in any order.

#include <limits>

#include "embed/http_embedder.hpp"
#include "embed/text.hpp"

namespace lunadb::embed_detail {
namespace {

constexpr const char* embeddings_path = "/embeddings";

class OpenAiEmbedder final : public HttpEmbedder {
 public:
  using HttpEmbedder::HttpEmbedder;

 protected:
  std::vector<std::vector<float>> embed_batch(HttpSession& session, const std::vector<std::string>& texts,
                                              std::size_t first, std::size_t count) override {
    nlohmann::json request = {{"model", model()}, {"input", nlohmann::json::array()}};
    for (std::size_t i = first; i < first + count; ++i) request["input"].push_back(texts[i]);
    const Answer answer = post(session, embeddings_path, request);
    if (answer.http.status / 100 != 2) {
      if (answer.http.status == 404 && mentions_model(answer.http)) {
        fail(ErrorKind::embedding, "the model '" + model() + "' (" + info().model_setting + ") is not available at " +
                                       where() + " (HTTP 404): " + body_summary(answer.http));
      }
      fail_http(answer, embeddings_path);
    }
    const auto body = parse_body(answer, embeddings_path);
    if (!body.is_object() || !body.contains("data") || !body["data"].is_array()) {
      fail(ErrorKind::embedding, where() + " answered " + embeddings_path + " without a \"data\" array: " +
                                     body_summary(answer.http));
    }
    const auto& data = body["data"];
    if (data.size() != count) {
      fail(ErrorKind::embedding, where() + " returned " + std::to_string(data.size()) + " vector(s) for " +
                                     std::to_string(count) + " texts (inputs " + std::to_string(first) + " to " +
                                     std::to_string(first + count - 1) + "); expected one per text");
    }
    // Entries carry their input's index and may come in any order.
    std::vector<std::vector<float>> vectors(count);
    std::vector<bool> filled(count, false);
    for (std::size_t position = 0; position < data.size(); ++position) {
      const auto& entry = data[position];
      if (!entry.is_object() || !entry.contains("embedding")) {
        fail(ErrorKind::embedding, where() + " returned a \"data\" entry without an \"embedding\" (entry " +
                                       std::to_string(position) + " for inputs starting at " + std::to_string(first) +
                                       ")");
      }
      std::size_t index = position;
      if (entry.contains("index")) {
        const auto& raw = entry["index"];
        if (!raw.is_number_integer() || raw.get<long long>() < 0 ||
            static_cast<unsigned long long>(raw.get<long long>()) >= count) {
          fail(ErrorKind::embedding, where() + " returned an entry with index " + raw.dump() +
                                         ", outside 0.." + std::to_string(count - 1) + " for a batch of " +
                                         std::to_string(count));
        }
        index = static_cast<std::size_t>(raw.get<long long>());
      }
      if (filled[index]) {
        fail(ErrorKind::embedding, where() + " returned two vectors with index " + std::to_string(index) +
                                       " (input " + std::to_string(first + index) + ")");
      }
      filled[index] = true;
      vectors[index] = to_vector(entry["embedding"], first + index);
    }
    return vectors;
  }

 private:
  static bool mentions_model(const HttpResult& result) {
    const auto body = nlohmann::json::parse(result.body, nullptr, /*allow_exceptions=*/false);
    if (!body.is_object() || !body.contains("error") || !body["error"].is_object()) return false;
    const auto& error = body["error"];
    if (error.contains("code") && error["code"] == "model_not_found") return true;
    return error.contains("message") && error["message"].is_string() &&
           error["message"].get<std::string>().find("model") != std::string::npos;
  }
};

}  // namespace

std::unique_ptr<Embedder> make_openai_embedder(const Settings& settings, const RetryPolicy& retry) {
  ServerInfo info{
      "openai-compatible",
      "OpenAI-compatible embedding server",
      "OPENAI_BASE_URL",
      "OPENAI_EMBED_MODEL",
      "Check OPENAI_BASE_URL and that the server is up.",
      settings.openai_api_key.empty() ? "OPENAI_API_KEY is empty: set it to the server's API key"
                                      : "check OPENAI_API_KEY",
  };
  return std::make_unique<OpenAiEmbedder>(std::move(info), settings.openai_base_url, settings.openai_embed_model,
                                          settings.openai_api_key, settings, retry);
}

}  // namespace lunadb::embed_detail
