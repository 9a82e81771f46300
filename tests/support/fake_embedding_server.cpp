#include "support/fake_embedding_server.hpp"

#include <arpa/inet.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <stdexcept>

namespace lunadb::test {
namespace {

std::uint64_t fnv1a(std::uint64_t hash, const std::string& text) {
  for (unsigned char c : text) {
    hash ^= c;
    hash *= 1099511628211ull;
  }
  return hash;
}

std::uint64_t splitmix64(std::uint64_t& state) {
  std::uint64_t z = (state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

std::string ollama_model_missing(const std::string& model) {
  return nlohmann::json{{"error", "model \"" + model + "\" not found, try pulling it first"}}.dump();
}

void replace_all(std::string& text, const std::string& from, const std::string& to) {
  for (auto at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size())) {
    text.replace(at, from.size(), to);
  }
}

}  // namespace

std::vector<float> FakeEmbeddingServer::vector_for(const std::string& model, const std::string& text,
                                                   std::size_t dimension) {
  std::uint64_t state = fnv1a(fnv1a(1469598103934665603ull, model) ^ 0xFF, text);
  std::vector<float> vector(dimension);
  for (auto& value : vector) {
    // 24 random bits -> an exactly representable float in [-1, 1).
    const auto bits = static_cast<std::uint32_t>(splitmix64(state) >> 40);
    value = static_cast<float>(bits) / static_cast<float>(1u << 23) - 1.0f;
  }
  return vector;
}

FakeEmbeddingServer::FakeEmbeddingServer(std::size_t worker_threads) : server_(std::make_unique<httplib::Server>()) {
  // A keep-alive connection holds its worker until the client closes it.
  server_->new_task_queue = [worker_threads] { return new httplib::ThreadPool(std::max<std::size_t>(1, worker_threads)); };
  // Without it, Nagle's algorithm and the client's delayed ACK add ~40 ms to each response.
  server_->set_tcp_nodelay(true);
  const auto handler = [this](const httplib::Request& http_request, httplib::Response& http_response) {
    RecordedRequest request;
    request.path = http_request.path;
    request.body = http_request.body;
    request.has_authorization = http_request.has_header("Authorization");
    request.authorization = http_request.get_header_value("Authorization");
    const Reply reply = serve(request);
    http_response.status = reply.status;
    for (const auto& [name, value] : reply.headers) http_response.set_header(name, value);
    http_response.set_content(reply.body, reply.content_type.c_str());
  };
  server_->Post("/api/embed", handler);
  server_->Post("/api/embeddings", handler);
  server_->Post("/v1/embeddings", handler);

  port_ = server_->bind_to_any_port("127.0.0.1");
  if (port_ <= 0) throw std::runtime_error("FakeEmbeddingServer: cannot bind 127.0.0.1");
  auto listener_ended = std::make_shared<std::atomic<bool>>(false);
  thread_ = std::thread([this, listener_ended] {
    server_->listen_after_bind();
    listener_ended->store(true);
  });
  // stop() before the accept loop starts would be lost and the thread would never end.
  while (!server_->is_running()) {
    if (listener_ended->load()) {
      thread_.join();
      throw std::runtime_error("FakeEmbeddingServer: the accept loop did not start");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

FakeEmbeddingServer::~FakeEmbeddingServer() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  stopping_cv_.notify_all();
  server_->stop();
  if (thread_.joinable()) thread_.join();
}

std::string FakeEmbeddingServer::base_url() const { return "http://127.0.0.1:" + std::to_string(port_); }
std::string FakeEmbeddingServer::openai_base_url() const { return base_url() + "/v1"; }

void FakeEmbeddingServer::enqueue(ScriptedReply reply) {
  std::lock_guard lock(mutex_);
  script_.push_back(std::move(reply));
}
void FakeEmbeddingServer::set_delay(std::chrono::milliseconds delay) {
  std::lock_guard lock(mutex_);
  delay_ = delay;
}
void FakeEmbeddingServer::set_dimension(std::size_t dimension) {
  std::lock_guard lock(mutex_);
  dimension_ = dimension;
}
void FakeEmbeddingServer::set_model_dimension(const std::string& model, std::size_t dimension) {
  std::lock_guard lock(mutex_);
  model_dimensions_[model] = dimension;
}
void FakeEmbeddingServer::set_available_models(std::set<std::string> models) {
  std::lock_guard lock(mutex_);
  models_ = std::move(models);
}
void FakeEmbeddingServer::set_legacy_ollama(bool legacy) {
  std::lock_guard lock(mutex_);
  legacy_ollama_ = legacy;
}
void FakeEmbeddingServer::set_required_api_key(std::string key) {
  std::lock_guard lock(mutex_);
  required_api_key_ = std::move(key);
}
void FakeEmbeddingServer::set_response_mutator(
    std::function<void(nlohmann::json& answer, const nlohmann::json& request)> mutator) {
  std::lock_guard lock(mutex_);
  mutator_ = std::move(mutator);
}

std::vector<RecordedRequest> FakeEmbeddingServer::requests() const {
  std::lock_guard lock(mutex_);
  return requests_;
}

std::size_t FakeEmbeddingServer::request_count(const std::string& path) const {
  std::lock_guard lock(mutex_);
  std::size_t count = 0;
  for (const auto& request : requests_) count += (path.empty() || request.path == path) ? 1 : 0;
  return count;
}

void FakeEmbeddingServer::wait(std::chrono::milliseconds delay) {
  if (delay.count() <= 0) return;
  std::unique_lock lock(mutex_);
  stopping_cv_.wait_for(lock, delay, [this] { return stopping_; });
}

FakeEmbeddingServer::Reply FakeEmbeddingServer::serve(const RecordedRequest& request) {
  std::optional<ScriptedReply> scripted;
  std::chrono::milliseconds delay;
  {
    std::lock_guard lock(mutex_);
    requests_.push_back(request);
    if (!script_.empty()) {
      scripted = std::move(script_.front());
      script_.pop_front();
    }
    delay = delay_;
  }
  if (scripted) {
    wait(scripted->delay);
    Reply reply{scripted->status, scripted->body, scripted->content_type, scripted->headers};
    replace_all(reply.body, "{{authorization}}", request.authorization);
    return reply;
  }
  wait(delay);
  const auto body = nlohmann::json::parse(request.body, nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded() || !body.is_object()) {
    return {400, nlohmann::json{{"error", "invalid JSON in request body"}}.dump()};
  }
  return serve_normally(request, body);
}

FakeEmbeddingServer::Reply FakeEmbeddingServer::serve_normally(const RecordedRequest& request,
                                                               const nlohmann::json& body) {
  std::lock_guard lock(mutex_);
  const std::string model = body.contains("model") && body["model"].is_string() ? body["model"].get<std::string>() : "";
  const bool has_model = !models_ || models_->count(model) > 0;
  const auto own_dimension = model_dimensions_.find(model);
  const std::size_t dimension = own_dimension == model_dimensions_.end() ? dimension_ : own_dimension->second;
  nlohmann::json answer;

  if (request.path == "/api/embed") {
    if (legacy_ollama_) return {404, "404 page not found", "text/plain"};
    if (model.empty()) return {400, nlohmann::json{{"error", "model is required"}}.dump()};
    if (!has_model) return {404, ollama_model_missing(model)};
    std::vector<std::string> inputs;
    if (body.contains("input") && body["input"].is_string()) {
      inputs.push_back(body["input"].get<std::string>());
    } else if (body.contains("input") && body["input"].is_array()) {
      for (const auto& input : body["input"]) {
        if (!input.is_string()) return {400, nlohmann::json{{"error", "invalid input type"}}.dump()};
        inputs.push_back(input.get<std::string>());
      }
    } else {
      return {400, nlohmann::json{{"error", "invalid input type"}}.dump()};
    }
    answer = {{"model", model}, {"embeddings", nlohmann::json::array()}};
    for (const auto& input : inputs) answer["embeddings"].push_back(vector_for(model, input, dimension));
  } else if (request.path == "/api/embeddings") {
    if (model.empty()) return {400, nlohmann::json{{"error", "model is required"}}.dump()};
    if (!has_model) return {404, ollama_model_missing(model)};
    if (!body.contains("prompt") || !body["prompt"].is_string()) {
      return {400, nlohmann::json{{"error", "prompt is required"}}.dump()};
    }
    answer = {{"embedding", vector_for(model, body["prompt"].get<std::string>(), dimension)}};
  } else {  // /v1/embeddings
    if (required_api_key_ && request.authorization != "Bearer " + *required_api_key_) {
      const nlohmann::json error = {
          {"error",
           {{"message", "Incorrect API key provided: " + request.authorization}, {"type", "invalid_request_error"},
            {"code", "invalid_api_key"}}}};
      return {401, error.dump()};
    }
    if (model.empty()) {
      return {400, nlohmann::json{{"error", {{"message", "you must provide a model parameter"}}}}.dump()};
    }
    if (!has_model) {
      const nlohmann::json error = {
          {"error",
           {{"message", "The model `" + model + "` does not exist or you do not have access to it."},
            {"type", "invalid_request_error"},
            {"code", "model_not_found"}}}};
      return {404, error.dump()};
    }
    std::vector<std::string> inputs;
    if (body.contains("input") && body["input"].is_string()) {
      inputs.push_back(body["input"].get<std::string>());
    } else if (body.contains("input") && body["input"].is_array()) {
      for (const auto& input : body["input"]) {
        if (!input.is_string()) {
          return {400, nlohmann::json{{"error", {{"message", "'input' must be strings"}}}}.dump()};
        }
        inputs.push_back(input.get<std::string>());
      }
    } else {
      return {400, nlohmann::json{{"error", {{"message", "'input' is a required property"}}}}.dump()};
    }
    answer = {{"object", "list"}, {"model", model}, {"data", nlohmann::json::array()}};
    for (std::size_t i = 0; i < inputs.size(); ++i) {
      answer["data"].push_back(
          {{"object", "embedding"}, {"index", i}, {"embedding", vector_for(model, inputs[i], dimension)}});
    }
    answer["usage"] = {{"prompt_tokens", 0}, {"total_tokens", 0}};
  }
  if (mutator_) mutator_(answer, body);
  return {200, answer.dump()};
}

int closed_loopback_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw std::runtime_error("closed_loopback_port: socket() failed");
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  socklen_t length = sizeof address;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    ::close(fd);
    throw std::runtime_error("closed_loopback_port: bind() failed");
  }
  ::close(fd);  // never listened: connections to it are refused
  return ntohs(address.sin_port);
}

}  // namespace lunadb::test
