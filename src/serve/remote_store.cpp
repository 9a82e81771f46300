// The client side of lunadb's own endpoints: a VectorStore over HTTP, used by `lunadb vectors`
// when a server holds the store. The address file lets those commands find the server.

#include <fcntl.h>
#include <unistd.h>

#include <httplib.h>

#include <fstream>
#include <mutex>

#include <fmt/format.h>

#include "lunadb/error.hpp"
#include "lunadb/serve.hpp"
#include "serve/wire.hpp"

namespace lunadb::serve {

namespace fs = std::filesystem;
using wire::Json;

// ---- the address file ---------------------------------------------------------------------------

void write_address_file(const fs::path& store_directory, const std::string& url) {
  const fs::path file = store_directory / kAddressFileName;
  const fs::path temporary = store_directory / (std::string(kAddressFileName) + ".tmp");
  const std::string line = url + "\n";
  const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  const bool written = fd >= 0 && ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size()) &&
                       ::fsync(fd) == 0;
  if (fd >= 0) ::close(fd);
  std::error_code ignored;
  if (!written || ::rename(temporary.c_str(), file.c_str()) != 0) {
    fs::remove(temporary, ignored);
    throw Error(ErrorKind::io, fmt::format("cannot write the server's address to {}", file.string()));
  }
}

void remove_address_file(const fs::path& store_directory) noexcept {
  std::error_code ignored;
  fs::remove(store_directory / kAddressFileName, ignored);
}

std::optional<std::string> read_address_file(const fs::path& store_directory) {
  std::ifstream in(store_directory / kAddressFileName);
  std::string url;
  if (!in || !std::getline(in, url)) return std::nullopt;
  if (url.rfind("http://", 0) != 0 || url.size() > 300) return std::nullopt;
  return url;
}

std::string local_url(const std::string& host, int port) {
  std::string reach = host;
  if (host == "0.0.0.0" || host.empty() || host == "localhost") reach = "127.0.0.1";
  else if (host == "::" || host == "[::]") reach = "[::1]";
  else if (host.find(':') != std::string::npos && host.front() != '[') reach = "[" + host + "]";
  return fmt::format("http://{}:{}", reach, port);
}

// ---- the remote store -----------------------------------------------------------------------------

namespace {

// A large import batch or an exact scan of a big collection may take this long.
constexpr std::chrono::seconds kReadTimeout{600};

class Connection {
 public:
  Connection(std::string url, const std::string& token) : url_(std::move(url)), client_(url_) {
    client_.set_connection_timeout(std::chrono::seconds(5));
    client_.set_read_timeout(kReadTimeout);
    client_.set_write_timeout(std::chrono::seconds(60));
    client_.set_keep_alive(true);
    if (!token.empty()) client_.set_bearer_token_auth(token);
  }

  const std::string& url() const { return url_; }

  // Error(connection) unless a server answers at the URL.
  void probe() {
    std::lock_guard lock(mutex_);
    // Something that accepts connections but does not answer must not hold a command for long.
    client_.set_read_timeout(std::chrono::seconds(5));
    httplib::Result result = client_.Get("/api/v2/heartbeat");
    client_.set_read_timeout(kReadTimeout);
    if (!result) {
      throw Error(ErrorKind::connection,
                  fmt::format("lunadb serve at {} does not answer: {}", url_, httplib::to_string(result.error())));
    }
  }

  Json call(const char* method, const std::string& path, const Json* body = nullptr) {
    std::lock_guard lock(mutex_);
    const std::string target = "/api/v2/lunadb/" + path;
    httplib::Result result = [&] {
      std::string text;
      try {
        if (body) text = body->dump(-1, ' ', false, Json::error_handler_t::strict);
      } catch (const Json::exception&) {
        throw Error(ErrorKind::invalid_argument, "the request holds text that is not valid UTF-8");
      }
      if (std::string_view(method) == "GET") return client_.Get(target);
      if (std::string_view(method) == "DELETE") return client_.Delete(target);
      return client_.Post(target, text, "application/json");
    }();
    if (!result) {
      throw Error(ErrorKind::connection, fmt::format("cannot reach lunadb serve at {}: {}", url_,
                                                     httplib::to_string(result.error())));
    }
    if (result->status == 401) {
      throw Error(ErrorKind::connection,
                  fmt::format("lunadb serve at {} refused the request: set LUNADB_SERVE_TOKEN to the server's token", url_));
    }
    if (result->status < 200 || result->status >= 300) throw wire::error_from(result->status, result->body);
    Json parsed = Json::parse(result->body, nullptr, false);
    if (parsed.is_discarded()) {
      throw Error(ErrorKind::connection, fmt::format("lunadb serve at {} answered {} with a body that is not JSON", url_, target));
    }
    return parsed;
  }

 private:
  const std::string url_;
  std::mutex mutex_;
  httplib::Client client_;
};

std::string collection_path(const std::string& name, const char* operation = nullptr) {
  return operation ? fmt::format("collections/{}/{}", name, operation) : fmt::format("collections/{}", name);
}

std::size_t count_from(const Json& value, const char* what) {
  if (!value.is_number_unsigned()) throw Error(ErrorKind::connection, fmt::format("lunadb serve answered {} with a non-count", what));
  return value.get<std::size_t>();
}

class RemoteCollection final : public vector::Collection {
 public:
  RemoteCollection(std::shared_ptr<Connection> connection, vector::CollectionConfig config)
      : connection_(std::move(connection)), config_(std::move(config)) {}

  const vector::CollectionConfig& config() const override { return config_; }

  void add(const std::vector<vector::Record>& records) override {
    const Json body = wire::to_json(records);
    connection_->call("POST", collection_path(config_.name, "add"), &body);
  }
  void upsert(const std::vector<vector::Record>& records) override {
    const Json body = wire::to_json(records);
    connection_->call("POST", collection_path(config_.name, "upsert"), &body);
  }
  std::size_t update(const std::vector<vector::RecordUpdate>& updates) override {
    const Json body = wire::to_json(updates);
    return count_from(connection_->call("POST", collection_path(config_.name, "update"), &body), "update");
  }
  std::size_t remove(const vector::DeleteRequest& request) override {
    const Json body = wire::to_json(request);
    return count_from(connection_->call("POST", collection_path(config_.name, "delete"), &body), "delete");
  }
  vector::GetResult get(const vector::GetRequest& request) const override {
    const Json body = wire::to_json(request);
    return wire::get_result_from(connection_->call("POST", collection_path(config_.name, "get"), &body));
  }
  std::vector<vector::Matches> query(const vector::QueryRequest& request) const override {
    const Json body = wire::to_json(request);
    return wire::matches_from(connection_->call("POST", collection_path(config_.name, "query"), &body));
  }
  std::size_t count() const override {
    return count_from(connection_->call("GET", collection_path(config_.name, "count")), "count");
  }
  vector::CollectionStats stats() const override {
    return wire::stats_from(connection_->call("GET", collection_path(config_.name, "stats")));
  }
  void flush() override {
    const Json body = Json::object();
    connection_->call("POST", collection_path(config_.name, "flush"), &body);
  }

 private:
  std::shared_ptr<Connection> connection_;
  vector::CollectionConfig config_;
};

class RemoteStore final : public vector::VectorStore {
 public:
  RemoteStore(std::shared_ptr<Connection> connection, fs::path directory)
      : connection_(std::move(connection)), directory_(std::move(directory)) {}

  std::shared_ptr<vector::Collection> create_collection(const vector::CollectionConfig& config) override {
    return make(config, false);
  }
  std::shared_ptr<vector::Collection> get_collection(std::string_view name) override {
    const Json config = connection_->call("GET", collection_path(std::string(name)));
    return std::make_shared<RemoteCollection>(connection_, wire::config_from(config));
  }
  std::shared_ptr<vector::Collection> get_or_create_collection(const vector::CollectionConfig& config) override {
    return make(config, true);
  }
  void delete_collection(std::string_view name) override {
    connection_->call("DELETE", collection_path(std::string(name)));
  }
  std::vector<vector::CollectionConfig> list_collections() const override {
    std::vector<vector::CollectionConfig> out;
    const Json all = connection_->call("GET", "collections");
    if (!all.is_array()) throw Error(ErrorKind::connection, "lunadb serve answered the collection list with a non-list");
    for (const auto& config : all) out.push_back(wire::config_from(config));
    return out;
  }
  void flush() override {
    for (const auto& config : list_collections()) RemoteCollection(connection_, config).flush();
  }
  const fs::path& directory() const override { return directory_; }

 private:
  std::shared_ptr<vector::Collection> make(const vector::CollectionConfig& config, bool get_or_create) {
    const Json body = {{"config", wire::to_json(config)}, {"get_or_create", get_or_create}};
    const Json created = connection_->call("POST", "collections", &body);
    return std::make_shared<RemoteCollection>(connection_, wire::config_from(created));
  }

  std::shared_ptr<Connection> connection_;
  fs::path directory_;
};

}  // namespace

std::unique_ptr<vector::VectorStore> connect_remote_store(const std::string& url, const std::string& token,
                                                          const fs::path& directory) {
  auto connection = std::make_shared<Connection>(url, token);
  connection->probe();
  return std::make_unique<RemoteStore>(std::move(connection), directory);
}

}  // namespace lunadb::serve
