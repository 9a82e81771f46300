#pragma once
// A real HTTP server on 127.0.0.1 (ephemeral port) that speaks the Ollama embedding API
// (POST /api/embed, and the older POST /api/embeddings) and the OpenAI one (POST /v1/embeddings).
// Vectors are a pure function of (model, text, dimension): see vector_for().
//
// Tests script it: replies to play before normal service (500-then-200, 429 + Retry-After, ...),
// a delay, the models it has, a pre-0.3 Ollama without /api/embed, a required API key, and a
// mutator that edits normal answers (wrong count, NaN, shuffled order). Every request to an
// embedding endpoint is recorded.
//
// Thread-safety: all members may be called from any thread while the server runs.

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

namespace httplib {
class Server;
}

namespace lunadb::test {

struct ScriptedReply {
  ScriptedReply(int status_code, std::string reply_body, std::string reply_content_type = "application/json",
                std::vector<std::pair<std::string, std::string>> reply_headers = {},
                std::chrono::milliseconds reply_delay = std::chrono::milliseconds(0))
      : status(status_code),
        body(std::move(reply_body)),
        content_type(std::move(reply_content_type)),
        headers(std::move(reply_headers)),
        delay(reply_delay) {}

  int status = 200;
  // Sent as is, except that "{{authorization}}" becomes the request's Authorization header.
  std::string body;
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;
  std::chrono::milliseconds delay{0};
};

struct RecordedRequest {
  std::string path;
  std::string body;
  std::string authorization;  // empty when the header was absent
  bool has_authorization = false;
  nlohmann::json json() const { return nlohmann::json::parse(body, nullptr, false); }
};

class FakeEmbeddingServer {
 public:
  // `worker_threads` requests are served at once; more wait in the listen backlog. Use 1 in tests
  // run under ThreadSanitizer: the uninstrumented libcpp-httplib shares lazily built std::regex
  // state between its workers in a way TSan cannot see as synchronised, and reports a race.
  explicit FakeEmbeddingServer(std::size_t worker_threads = 8);
  ~FakeEmbeddingServer();
  FakeEmbeddingServer(const FakeEmbeddingServer&) = delete;
  FakeEmbeddingServer& operator=(const FakeEmbeddingServer&) = delete;

  int port() const { return port_; }
  std::string base_url() const;         // http://127.0.0.1:PORT (OLLAMA_BASE_URL)
  std::string openai_base_url() const;  // http://127.0.0.1:PORT/v1 (OPENAI_BASE_URL)

  // The next embedding request gets `reply` instead of normal service; replies queue up in order.
  void enqueue(ScriptedReply reply);
  // Normal answers wait this long (interrupted when the server stops).
  void set_delay(std::chrono::milliseconds delay);
  void set_dimension(std::size_t dimension);  // default 8
  // `model`'s vectors get this length instead (two "models" of different dimensions, for reindex).
  void set_model_dimension(const std::string& model, std::size_t dimension);
  // Models the server has; until called, it has every model.
  void set_available_models(std::set<std::string> models);
  // Behave like Ollama before 0.3.4: /api/embed answers 404 "404 page not found".
  void set_legacy_ollama(bool legacy);
  // OpenAI endpoint answers 401 unless "Authorization: Bearer <key>"; the 401 body echoes the
  // Authorization header it received, as some servers do.
  void set_required_api_key(std::string key);
  // Edits each normal JSON answer before it is sent; gets the answer and the request.
  void set_response_mutator(std::function<void(nlohmann::json& answer, const nlohmann::json& request)> mutator);

  std::vector<RecordedRequest> requests() const;
  std::size_t request_count(const std::string& path = "") const;  // "" counts every path

  // The vector this server returns for `text` under `model`: deterministic, values in [-1, 1].
  static std::vector<float> vector_for(const std::string& model, const std::string& text, std::size_t dimension);

 private:
  using Reply = ScriptedReply;
  Reply serve(const RecordedRequest& request);
  Reply serve_normally(const RecordedRequest& request, const nlohmann::json& body);
  void wait(std::chrono::milliseconds delay);

  mutable std::mutex mutex_;
  std::condition_variable stopping_cv_;
  bool stopping_ = false;
  std::deque<ScriptedReply> script_;
  std::chrono::milliseconds delay_{0};
  std::size_t dimension_ = 8;
  std::map<std::string, std::size_t> model_dimensions_;
  std::optional<std::set<std::string>> models_;
  bool legacy_ollama_ = false;
  std::optional<std::string> required_api_key_;
  std::function<void(nlohmann::json&, const nlohmann::json&)> mutator_;
  std::vector<RecordedRequest> requests_;

  std::unique_ptr<httplib::Server> server_;
  int port_ = 0;
  std::thread thread_;
};

// A loopback port with nothing listening on it (bound, then closed), for "server down" tests.
int closed_loopback_port();

}  // namespace lunadb::test
