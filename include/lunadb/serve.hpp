#pragma once
// `lunadb serve`: ChromaDB's HTTP API v2 over a lunadb vector store, so that chromadb's
// HttpClient (and everything built on it) works unchanged and many processes share one store.
// Endpoints, differences from Chroma and the security model: docs/serve.md.
//
// Thread-safety: ChromaApi::handle() may be called from any number of threads at once; reads run
// in parallel, writes are serialised (the store serialises them anyway). Server::run() blocks the
// calling thread; Server::stop() may be called from any thread (not from a signal handler: see
// run_until_signal) and makes run() return after the in-flight requests finished.
// Neither class lets an exception escape a request: every failure becomes an error response.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "lunadb/vector.hpp"

namespace lunadb::memory {
class Memory;
}

namespace lunadb::serve {

struct ServeOptions {
  std::string host = "127.0.0.1";  // LUNADB_SERVE_HOST
  int port = 8000;                 // LUNADB_SERVE_PORT; 0 picks a free port (see Server::port)
  std::string token;               // LUNADB_SERVE_TOKEN: a secret, never logged
  bool allow_reset = false;        // POST /api/v2/reset deletes everything only when set
  std::size_t max_body_bytes = 256u << 20;  // 1000 x 3072 float32 embeddings as JSON fit
  unsigned worker_threads = 8;     // the bounded request pool
  std::size_t max_queued_connections = 256;  // beyond this, new connections wait in the listen backlog
  std::chrono::seconds read_timeout{30};     // a client that stalls mid-request is cut off
  std::chrono::seconds write_timeout{30};
  std::chrono::seconds keep_alive_timeout{5};
  // What pre-flight-checks announces; the client splits larger adds. Lower than Chroma's 41666
  // so that a full batch of 768-dimensional embeddings as JSON stays under max_body_bytes.
  int max_batch_size = 10000;
  // The memory engine behind POST /api/v2/lunadb/memory/{remember,recall,forget,pending}; it must
  // outlive the server. Null: those endpoints answer 503 with `memory_unavailable` as the reason.
  memory::Memory* memory = nullptr;
  std::string memory_unavailable = "the server was started without the memory engine";
};

// A loopback address: 127.0.0.0/8, ::1, or "localhost". Anything else needs a token.
bool is_loopback_host(const std::string& host);

struct HttpRequest {
  std::string method;  // "GET", "POST", ...
  std::string path;    // without the query string
  std::multimap<std::string, std::string> query;  // decoded query parameters
  std::string body;
};

struct HttpReply {
  int status = 200;
  std::string body;  // JSON text
};

// The request routing and JSON translation, independent of the HTTP library (tests drive it
// directly). The catalog of tenants, databases and collection ids lives in the store's folder
// (lunadb-serve.json); see docs/serve.md.
class ChromaApi {
 public:
  ChromaApi(vector::VectorStore& store, const ServeOptions& options);
  ~ChromaApi();
  ChromaApi(const ChromaApi&) = delete;
  ChromaApi& operator=(const ChromaApi&) = delete;

  HttpReply handle(const HttpRequest& request) noexcept;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// Request counts and latency percentiles, served at GET /api/v2/lunadb/stats.
class RequestStats {
 public:
  RequestStats();
  ~RequestStats();
  void record(const std::string& route, int status, std::chrono::microseconds duration) noexcept;
  nlohmann::json snapshot() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// While `lunadb serve` holds a store, it writes its address ("http://127.0.0.1:8000") to this file
// beside the store's lock, so that other processes that find the store locked can go through the
// server (docs/serve.md, "One store, many processes"). Removed when the server stops cleanly; a
// file left by a killed server is ignored, since then the lock is free.
inline constexpr const char* kAddressFileName = "lunadb-serve.address";
// Atomic: temporary file, fsync, rename. Error(io) naming the file.
void write_address_file(const std::filesystem::path& store_directory, const std::string& url);
void remove_address_file(const std::filesystem::path& store_directory) noexcept;
// The address, or nullopt when there is no (readable, well-formed) file.
std::optional<std::string> read_address_file(const std::filesystem::path& store_directory);
// The URL other processes on this machine use to reach a server listening on `host`:`port`
// (a wildcard address such as 0.0.0.0 becomes loopback).
std::string local_url(const std::string& host, int port);

// A VectorStore whose every call goes to the `lunadb serve` at `url` (lunadb's own endpoints,
// which keep the local semantics: see serve/wire.hpp). `token` is sent as a bearer token when not
// empty. `directory` is what directory() reports (the server's CHROMA_PATH). Thread-safe: calls
// are serialised over one connection. Failures to reach the server are Error(connection) naming
// the URL (connect_remote_store checks that a server answers); errors the server reports keep
// their kind.
std::unique_ptr<vector::VectorStore> connect_remote_store(const std::string& url, const std::string& token,
                                                          const std::filesystem::path& directory);

class Server {
 public:
  // Error(usage) when `options.host` is not loopback and no token is set; Error(io) when the
  // address cannot be bound (after construction, port() is the bound port).
  Server(vector::VectorStore& store, const ServeOptions& options);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  int port() const noexcept;
  void run();   // serves until stop(); returns after the in-flight requests finished
  void stop() noexcept;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace lunadb::serve
