// The HTTP layer: cpp-httplib (Debian's libcpp-httplib) with a bounded worker pool, limits,
// token check and one log line per request. Everything about Chroma's API is in ChromaApi.

#include <httplib.h>
#include <spdlog/spdlog.h>

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

#include <fmt/format.h>

#include "lunadb/error.hpp"
#include "lunadb/serve.hpp"
#include "serve/routes.hpp"

namespace lunadb::serve {

namespace {

// httplib's own ThreadPool queues without bound. This one holds at most `capacity` accepted
// connections waiting for a worker; beyond that the accepting thread waits, so further clients
// wait in the kernel's listen backlog instead of costing memory here.
class BoundedPool final : public httplib::TaskQueue {
 public:
  BoundedPool(unsigned threads, std::size_t capacity) : capacity_(std::max<std::size_t>(capacity, 1)) {
    for (unsigned i = 0; i < std::max(threads, 1u); ++i) workers_.emplace_back([this] { work(); });
  }
  ~BoundedPool() override { shutdown(); }

  void enqueue(std::function<void()> task) override {
    std::unique_lock lock(mutex_);
    space_.wait(lock, [&] { return jobs_.size() < capacity_ || stopping_; });
    jobs_.push_back(std::move(task));
    ready_.notify_one();
  }

  void shutdown() override {
    {
      std::lock_guard lock(mutex_);
      if (stopping_ && workers_.empty()) return;
      stopping_ = true;
    }
    ready_.notify_all();
    space_.notify_all();
    for (auto& worker : workers_) {
      if (worker.joinable()) worker.join();
    }
    workers_.clear();
  }

 private:
  void work() {
    for (;;) {
      std::function<void()> task;
      {
        std::unique_lock lock(mutex_);
        ready_.wait(lock, [&] { return !jobs_.empty() || stopping_; });
        // Queued connections are still served after stop: they were accepted.
        if (jobs_.empty()) return;
        task = std::move(jobs_.front());
        jobs_.pop_front();
      }
      space_.notify_one();
      try {
        task();
      } catch (...) {
        // httplib's connection code does not throw past its own handlers; nothing may end a worker.
      }
    }
  }

  const std::size_t capacity_;
  std::mutex mutex_;
  std::condition_variable ready_;
  std::condition_variable space_;
  std::deque<std::function<void()>> jobs_;
  std::vector<std::thread> workers_;
  bool stopping_ = false;
};

// Constant-time comparison, so the answer time does not tell how much of a guess was right.
bool same_secret(const std::string& given, const std::string& expected) {
  unsigned char difference = given.size() == expected.size() ? 0 : 1;
  for (std::size_t i = 0; i < given.size(); ++i) {
    difference |= static_cast<unsigned char>(given[i] ^ expected[i % std::max<std::size_t>(expected.size(), 1)]);
  }
  return difference == 0;
}

std::string presented_token(const httplib::Request& request) {
  if (request.has_header("X-Chroma-Token")) return request.get_header_value("X-Chroma-Token");
  const std::string authorization = request.get_header_value("Authorization");
  constexpr std::string_view kBearer = "Bearer ";
  if (authorization.size() > kBearer.size() && authorization.compare(0, kBearer.size(), kBearer) == 0) {
    return authorization.substr(kBearer.size());
  }
  return {};
}

std::string error_body(const char* name, const std::string& message) {
  return nlohmann::json{{"error", name}, {"message", message}}.dump();
}

thread_local std::chrono::steady_clock::time_point request_started{};

}  // namespace

struct Server::State {
  vector::VectorStore& store;
  ServeOptions options;
  ChromaApi api;
  RequestStats stats;
  httplib::Server http;
  int bound_port = 0;

  State(vector::VectorStore& s, const ServeOptions& o) : store(s), options(o), api(s, o) {}

  void handle(const httplib::Request& request, httplib::Response& response) {
    try {
      if (request.path == "/api/v2/lunadb/stats" && request.method == "GET") {
        response.set_content(stats.snapshot().dump(), "application/json");
        return;
      }
      HttpRequest call{request.method, request.path, {}, request.body};
      for (const auto& [key, value] : request.params) call.query.emplace(key, value);
      HttpReply reply = api.handle(call);
      response.status = reply.status;
      response.set_content(std::move(reply.body), "application/json");
    } catch (...) {
      response.status = 500;
      response.set_content(R"({"error":"InternalError","message":"unexpected failure"})", "application/json");
    }
  }

  void configure() {
    http.new_task_queue = [this] {
      return new BoundedPool(options.worker_threads, options.max_queued_connections);
    };
    http.set_payload_max_length(options.max_body_bytes);
    http.set_read_timeout(options.read_timeout);
    http.set_write_timeout(options.write_timeout);
    http.set_keep_alive_timeout(options.keep_alive_timeout.count());
    http.set_keep_alive_max_count(1000);
    http.set_tcp_nodelay(true);

    http.set_pre_routing_handler([this](const httplib::Request& request, httplib::Response& response) {
      request_started = std::chrono::steady_clock::now();
      // Chroma's server sends its JSON uncompressed, and so does this one. httplib gzips every
      // JSON body for a request that accepts gzip (httpx, under chromadb's client, always says
      // so), which on loopback or a LAN costs more in deflate, and in the client's inflate, than
      // it saves on the wire: 3% of the server's time per query, seconds for a large get.
      // httplib 0.11 has no server switch for it, so the request forgets that it accepts gzip.
      // httplib parses into a mutable Request and passes it to handlers as const by convention
      // only, so the cast is well-defined.
      const_cast<httplib::Request&>(request).headers.erase("Accept-Encoding");
      if (options.token.empty()) return httplib::Server::HandlerResponse::Unhandled;
      if (same_secret(presented_token(request), options.token)) return httplib::Server::HandlerResponse::Unhandled;
      response.status = 401;
      response.set_content(error_body("AuthError", "a valid token is required: send it as X-Chroma-Token or "
                                                   "Authorization: Bearer (LUNADB_SERVE_TOKEN)"),
                           "application/json");
      return httplib::Server::HandlerResponse::Handled;
    });
    const auto handler = [this](const httplib::Request& request, httplib::Response& response) {
      handle(request, response);
    };
    http.Get(".*", handler);
    http.Post(".*", handler);
    http.Put(".*", handler);
    http.Delete(".*", handler);
    http.Patch(".*", handler);
    // Answers httplib makes itself (413 body too large, 400 unparsable request, 404 for an
    // unknown method) get Chroma's error shape too.
    http.set_error_handler([](const httplib::Request&, httplib::Response& response) {
      if (!response.body.empty()) return;
      const char* name = response.status == 413 ? "InvalidArgumentError" : "ChromaError";
      const char* message = response.status == 413 ? "the request body is larger than the server's limit"
                            : response.status == 400 ? "the request could not be parsed as HTTP/1.1"
                                                     : "the request was refused";
      response.set_content(error_body(name, fmt::format("HTTP {}: {}", response.status, message)), "application/json");
    });
    http.set_exception_handler([](const httplib::Request&, httplib::Response& response, std::exception_ptr) {
      response.status = 500;
      response.set_content(R"({"error":"InternalError","message":"unexpected failure"})", "application/json");
    });
    // One line per request: method, path, status, duration. Never bodies, headers or tokens.
    http.set_logger([this](const httplib::Request& request, const httplib::Response& response) {
      try {
        const auto now = std::chrono::steady_clock::now();
        const auto duration = request_started.time_since_epoch().count() == 0
                                  ? std::chrono::microseconds(0)
                                  : std::chrono::duration_cast<std::chrono::microseconds>(now - request_started);
        request_started = {};
        const std::string route = detail::route_key(request.method, request.path);
        stats.record(route, response.status, duration);
        spdlog::info("{} {} {} {:.3f}ms", request.method, request.path.size() > 300 ? request.path.substr(0, 300) + "..." : request.path,
                     response.status, static_cast<double>(duration.count()) / 1000.0);
      } catch (...) {
        // A failed log line must not take the connection down.
      }
    });
  }
};

Server::Server(vector::VectorStore& store, const ServeOptions& options) {
  if (!is_loopback_host(options.host) && options.token.empty()) {
    throw Error(ErrorKind::usage,
                fmt::format("refusing to listen on {} without a token: set LUNADB_SERVE_TOKEN (clients send it as "
                            "X-Chroma-Token or Authorization: Bearer), or listen on 127.0.0.1",
                            options.host));
  }
  state_ = std::make_unique<State>(store, options);
  state_->configure();
  // The socket layer wants IPv6 addresses without the brackets of URL notation.
  std::string host = options.host == "localhost" ? "127.0.0.1" : options.host;
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  if (options.port == 0) {
    state_->bound_port = state_->http.bind_to_any_port(host);
    if (state_->bound_port < 0) throw Error(ErrorKind::io, fmt::format("cannot listen on {} (any port)", options.host));
  } else {
    if (!state_->http.bind_to_port(host, options.port)) {
      throw Error(ErrorKind::io, fmt::format("cannot listen on {}:{} (LUNADB_SERVE_HOST / LUNADB_SERVE_PORT): the "
                                             "address is in use or not on this machine",
                                             options.host, options.port));
    }
    state_->bound_port = options.port;
  }
}

Server::~Server() = default;

int Server::port() const noexcept { return state_->bound_port; }

void Server::run() { state_->http.listen_after_bind(); }

void Server::stop() noexcept {
  try {
    state_->http.stop();
  } catch (...) {
    // stop() only closes the listening socket.
  }
}

}  // namespace lunadb::serve
