// lunadb serve: the API translation (driven directly), hostile input through real sockets, a
// bounded random fuzz of request decoding, parallel requests (run under TSan) and the token check.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <random>
#include <thread>

#include "lunadb/error.hpp"
#include "lunadb/serve.hpp"
#include "lunadb/vector.hpp"
#include "support/temp_dir.hpp"

namespace lunadb::serve {
namespace {

using nlohmann::json;
using test::TempDir;

const std::string kCollections = "/api/v2/tenants/default_tenant/databases/default_database/collections";

class ApiTest : public ::testing::Test {
 protected:
  TempDir dir_{"lunadb-serve"};
  std::unique_ptr<vector::VectorStore> store_ = vector::VectorStore::open(dir_ / "store");
  ServeOptions options_;
  std::unique_ptr<ChromaApi> api_ = std::make_unique<ChromaApi>(*store_, options_);

  HttpReply call(const std::string& method, const std::string& path, const std::string& body = "") {
    return api_->handle({method, path, {}, body});
  }
  json ok(const std::string& method, const std::string& path, const json& body = json()) {
    HttpReply reply = call(method, path, body.is_null() ? "" : body.dump());
    EXPECT_LT(reply.status, 300) << method << " " << path << ": " << reply.body;
    return json::parse(reply.body);
  }
  std::string error_name(const HttpReply& reply) { return json::parse(reply.body).value("error", ""); }
  std::string create(const std::string& name, const json& extra = json::object()) {
    json body = {{"name", name}, {"get_or_create", false}};
    body.update(extra);
    return ok("POST", kCollections, body)["id"].get<std::string>();
  }
};

TEST_F(ApiTest, CollectionLifecycleAndRecords) {
  const std::string id = create("notes", {{"configuration", {{"hnsw", {{"space", "cosine"}}}}}});
  EXPECT_EQ(ok("GET", kCollections + "/notes")["id"], id);
  EXPECT_EQ(ok("GET", kCollections + "/by-id/" + id)["name"], "notes");
  EXPECT_TRUE(ok("GET", kCollections + "/notes")["dimension"].is_null());  // fixed at the first add
  const std::string records = kCollections + "/" + id;
  ok("POST", records + "/add",
     {{"ids", {"a", "b"}}, {"embeddings", {{1, 0}, {0, 1}}}, {"documents", {"apple", nullptr}},
      {"metadatas", {{{"kind", "fruit"}}, nullptr}}});
  EXPECT_EQ(ok("GET", records + "/count"), 2);
  EXPECT_EQ(ok("GET", kCollections + "/notes")["dimension"], 2);
  // Chroma skips ids already present instead of failing the add.
  ok("POST", records + "/add", {{"ids", {"a", "c"}}, {"embeddings", {{5, 5}, {1, 1}}}});
  EXPECT_EQ(ok("GET", records + "/count"), 3);
  const json got = ok("POST", records + "/get", {{"ids", {"a"}}, {"include", {"embeddings", "documents"}}});
  EXPECT_EQ(got["embeddings"][0], json({1.0, 0.0}));
  EXPECT_EQ(got["documents"][0], "apple");
  EXPECT_TRUE(got["metadatas"].is_null());
  const json found = ok("POST", records + "/query",
                        {{"query_embeddings", {{1, 0.1}}}, {"n_results", 2}, {"where", {{"kind", "fruit"}}}});
  EXPECT_EQ(found["ids"], json({{"a"}}));
  EXPECT_EQ(found["distances"].size(), 1u);
  ok("POST", records + "/delete", {{"ids", {"b"}}});
  EXPECT_EQ(ok("GET", records + "/count"), 2);
  ok("PUT", records, {{"new_name", "renamed"}, {"new_metadata", {{"x", 1}}}});
  EXPECT_EQ(ok("GET", kCollections + "/renamed")["metadata"], json({{"x", 1}}));
  EXPECT_EQ(ok("GET", kCollections + "_count"), 1);
  ok("DELETE", kCollections + "/renamed");
  EXPECT_EQ(error_name(call("GET", kCollections + "/renamed")), "NotFoundError");
}

TEST_F(ApiTest, CatalogSurvivesReopen) {
  const std::string id = create("kept");
  ok("POST", "/api/v2/tenants", {{"name", "acme"}});
  ok("POST", "/api/v2/tenants/acme/databases", {{"name", "prod"}});
  api_.reset();
  api_ = std::make_unique<ChromaApi>(*store_, options_);
  EXPECT_EQ(ok("GET", kCollections + "/kept")["id"], id);
  EXPECT_EQ(ok("GET", "/api/v2/tenants/acme/databases/prod")["tenant"], "acme");
}

TEST_F(ApiTest, ErrorsCarryChromaNames) {
  create("dup");
  EXPECT_EQ(error_name(call("POST", kCollections, R"({"name":"dup"})")), "UniqueConstraintError");
  EXPECT_EQ(call("POST", kCollections, R"({"name":"dup","get_or_create":true})").status, 200);
  EXPECT_EQ(error_name(call("GET", kCollections + "/missing")), "NotFoundError");
  EXPECT_EQ(error_name(call("GET", kCollections + "/by-id/not-a-uuid")), "InvalidUUID");
  EXPECT_EQ(error_name(call("POST", kCollections, R"({"name":"../etc"})")), "InvalidArgumentError");
  EXPECT_EQ(error_name(call("POST", kCollections, R"({"name":"a/b/c"})")), "InvalidArgumentError");
  EXPECT_EQ(error_name(call("POST", kCollections, "{not json")), "InvalidArgumentError");
  EXPECT_EQ(error_name(call("POST", kCollections, R"({"name":42})")), "InvalidArgumentError");
  EXPECT_EQ(error_name(call("GET", "/api/v2/tenants/nobody/databases/x")), "NotFoundError");
  EXPECT_EQ(call("GET", "/nowhere").status, 404);
  EXPECT_EQ(call("POST", "/api/v2/reset").status, 403);  // not started with --allow-reset
  const std::string id = ok("GET", kCollections + "/dup")["id"];
  EXPECT_EQ(error_name(call("POST", kCollections + "/" + id + "/add",
                            R"({"ids":["x","x"],"embeddings":[[1],[2]]})")),
            "DuplicateID");
  EXPECT_EQ(error_name(call("POST", kCollections + "/" + id + "/add", R"({"ids":["x"],"embeddings":[["a"]]})")),
            "InvalidArgumentError");
  EXPECT_EQ(call("POST", kCollections + "/" + id + "/fork", R"({"new_name":"f"})").status, 501);
  EXPECT_EQ(call("POST", kCollections + "/" + id + "/search", "{}").status, 501);
}

// Random bytes, random JSON shapes and mutated valid bodies: every answer is a JSON error or a
// success, never an exception or a crash.
TEST_F(ApiTest, FuzzRequestDecoding) {
  const std::string id = create("fuzz");
  ok("POST", kCollections + "/" + id + "/add", {{"ids", {"a"}}, {"embeddings", {{1, 2}}}});
  const std::vector<std::string> seeds = {
      R"({"ids":["a"],"embeddings":[[1,2]],"metadatas":[{"k":1}],"documents":["d"]})",
      R"({"query_embeddings":[[1,2]],"n_results":3,"where":{"k":{"$gte":1}},"include":["documents"]})",
      R"({"where":{"$and":[{"k":1},{"j":{"$in":[1,2]}}]},"limit":2,"offset":1})",
      R"({"name":"abc","metadata":{"hnsw:space":"ip"},"configuration":{"hnsw":{"ef_search":5}}})",
      R"({"new_name":"xyz","new_metadata":{"a":[1,2]}})"};
  const std::vector<std::string> paths = {"add", "upsert", "update", "delete", "get", "query"};
  std::mt19937 random(12345);
  const std::string alphabet = "{}[]\":,0123456789.-eE tfnul\\abc$";
  for (int round = 0; round < 3000; ++round) {
    std::string body = seeds[random() % seeds.size()];
    const int edits = 1 + static_cast<int>(random() % 6);
    for (int e = 0; e < edits && !body.empty(); ++e) {
      const std::size_t at = random() % body.size();
      switch (random() % 3) {
        case 0: body[at] = alphabet[random() % alphabet.size()]; break;
        case 1: body.erase(at, 1 + random() % 4); break;
        default: body.insert(at, 1, alphabet[random() % alphabet.size()]);
      }
    }
    if (round % 10 == 0) {
      body.clear();
      for (int i = 0; i < 40; ++i) body.push_back(static_cast<char>(random() % 256));
    }
    const std::string target = round % 7 == 0 ? kCollections : kCollections + "/" + id + "/" + paths[random() % paths.size()];
    const HttpReply reply = call(round % 7 == 0 ? "POST" : (round % 13 == 0 ? "PUT" : "POST"), target, body);
    EXPECT_TRUE(json::accept(reply.body)) << body;
    ASSERT_TRUE(reply.status == 200 || reply.status == 201 || (reply.status >= 400 && reply.status < 600)) << body;
    ASSERT_NE(reply.status, 500) << body << " -> " << reply.body;
  }
}

// ---- through real sockets ------------------------------------------------------------------------

class RunningServer {
 public:
  RunningServer(vector::VectorStore& store, ServeOptions options) : server_(store, options) {
    thread_ = std::thread([this] { server_.run(); });
    httplib::Client probe("127.0.0.1", server_.port());
    for (int i = 0; i < 200 && !probe.Get("/api/v2/heartbeat"); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ~RunningServer() {
    server_.stop();
    thread_.join();
  }
  int port() const { return server_.port(); }

 private:
  Server server_;
  std::thread thread_;
};

ServeOptions test_options() {
  ServeOptions options;
  options.port = 0;
  options.worker_threads = 4;
  options.max_body_bytes = 1 << 20;
  options.read_timeout = std::chrono::seconds(1);
  options.keep_alive_timeout = std::chrono::seconds(1);
  return options;
}

// Sends raw bytes, returns what came back before the server closed or `wait` passed.
std::string raw_exchange(int port, const std::string& bytes, std::chrono::milliseconds wait) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<std::uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    ::close(fd);
    return "(connect failed)";
  }
  (void)::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
  timeval timeout{static_cast<time_t>(wait.count() / 1000), static_cast<suseconds_t>((wait.count() % 1000) * 1000)};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  std::string received;
  char buffer[4096];
  for (;;) {
    const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
    if (n <= 0) break;
    received.append(buffer, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return received;
}

class SocketTest : public ::testing::Test {
 protected:
  TempDir dir_{"lunadb-serve-socket"};
  std::unique_ptr<vector::VectorStore> store_ = vector::VectorStore::open(dir_ / "store");
};

TEST_F(SocketTest, HostileRequestsGetAnErrorOrAClosedConnection) {
  RunningServer server(*store_, test_options());
  httplib::Client client("127.0.0.1", server.port());
  // Too large a body: 413 (or the connection closed while sending it), never memory growth.
  auto huge = client.Post(kCollections.c_str(), std::string(3 << 20, 'x'), "application/json");
  if (huge) {
    EXPECT_EQ(huge->status, 413);
  }
  auto unknown = client.Get("/api/v2/no/such/thing");
  ASSERT_TRUE(unknown);
  EXPECT_EQ(unknown->status, 404);
  auto dotted = client.Get("/api/v2/tenants/default_tenant/databases/default_database/collections/../../x");
  ASSERT_TRUE(dotted);
  EXPECT_GE(dotted->status, 400);
  // Half a request, then silence: the read timeout (1 s here) closes the connection.
  const auto started = std::chrono::steady_clock::now();
  const std::string stalled = raw_exchange(server.port(), "POST /api/v2/tenants HTTP/1.1\r\nContent-Length: 100\r\n\r\n{\"na",
                                           std::chrono::milliseconds(5000));
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(4)) << stalled;
  // Garbage instead of HTTP.
  const std::string garbage = raw_exchange(server.port(), std::string("\x01\x02 \r\n\r\n", 7), std::chrono::milliseconds(3000));
  EXPECT_TRUE(garbage.empty() || garbage.find("400") != std::string::npos) << garbage;
  // A header far beyond the library's limit.
  const std::string long_header = raw_exchange(
      server.port(), "GET /api/v2/heartbeat HTTP/1.1\r\nX-Long: " + std::string(100000, 'a') + "\r\n\r\n",
      std::chrono::milliseconds(3000));
  EXPECT_TRUE(long_header.empty() || long_header.find(" 200 ") == std::string::npos) << long_header.substr(0, 200);
  // The server still answers.
  auto alive = client.Get("/api/v2/heartbeat");
  ASSERT_TRUE(alive);
  EXPECT_EQ(alive->status, 200);
}

TEST_F(SocketTest, TokenIsRequiredWhenSet) {
  ServeOptions options = test_options();
  options.token = "s3cret-token";
  RunningServer server(*store_, options);
  httplib::Client client("127.0.0.1", server.port());
  auto refused = client.Get("/api/v2/heartbeat");
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 401);
  EXPECT_EQ(refused->body.find("s3cret"), std::string::npos);
  auto chroma_header = client.Get("/api/v2/heartbeat", {{"X-Chroma-Token", "s3cret-token"}});
  ASSERT_TRUE(chroma_header);
  EXPECT_EQ(chroma_header->status, 200);
  auto bearer = client.Get("/api/v2/heartbeat", {{"Authorization", "Bearer s3cret-token"}});
  ASSERT_TRUE(bearer);
  EXPECT_EQ(bearer->status, 200);
  auto wrong = client.Get("/api/v2/heartbeat", {{"Authorization", "Bearer s3cret-tokem"}});
  ASSERT_TRUE(wrong);
  EXPECT_EQ(wrong->status, 401);
}

TEST_F(SocketTest, NonLoopbackNeedsAToken) {
  ServeOptions options = test_options();
  options.host = "0.0.0.0";
  try {
    Server server(*store_, options);
    FAIL() << "listening on 0.0.0.0 without a token was allowed";
  } catch (const Error& error) {
    EXPECT_EQ(error.kind(), ErrorKind::usage);
    EXPECT_NE(std::string(error.what()).find("LUNADB_SERVE_TOKEN"), std::string::npos);
  }
  EXPECT_TRUE(is_loopback_host("127.0.0.1"));
  EXPECT_TRUE(is_loopback_host("127.1.2.3"));
  EXPECT_TRUE(is_loopback_host("::1"));
  EXPECT_FALSE(is_loopback_host("127.0.0.1.evil.com"));
  EXPECT_FALSE(is_loopback_host("10.0.0.1"));
  EXPECT_FALSE(is_loopback_host("::"));
}

// Parallel readers and writers through the HTTP layer; run under TSan in CI.
TEST_F(SocketTest, ConcurrencyParallelRequests) {
  RunningServer server(*store_, test_options());
  httplib::Client setup("127.0.0.1", server.port());
  auto created = setup.Post(kCollections.c_str(), R"({"name":"shared"})", "application/json");
  ASSERT_TRUE(created);
  const std::string id = json::parse(created->body)["id"];
  const std::string base = kCollections + "/" + id;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 6; ++t) {
    threads.emplace_back([&, t] {
      httplib::Client client("127.0.0.1", server.port());
      for (int i = 0; i < 30; ++i) {
        const json upsert = {{"ids", {std::to_string(t) + "-" + std::to_string(i)}},
                             {"embeddings", {{static_cast<double>(t), static_cast<double>(i), 1.0}}}};
        httplib::Result result =
            t % 2 == 0 ? client.Post((base + "/upsert").c_str(), upsert.dump(), "application/json")
                       : client.Post((base + "/query").c_str(), R"({"query_embeddings":[[1,2,3]],"n_results":3})",
                                     "application/json");
        if (!result || result->status >= 300) ++failures;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
  auto count = setup.Get((base + "/count").c_str());
  ASSERT_TRUE(count);
  EXPECT_EQ(count->body, "90");
  auto stats = setup.Get("/api/v2/lunadb/stats");
  ASSERT_TRUE(stats);
  EXPECT_GE(json::parse(stats->body)["requests"].get<int>(), 180);
}


// `lunadb vectors` goes through a server that holds the store with the semantics it has locally:
// add refuses a present id, update and delete report counts, queries can scan exactly, errors
// keep their kind, and what it creates is visible to Chroma's clients.
TEST_F(SocketTest, RemoteStoreKeepsLocalSemantics) {
  RunningServer server(*store_, test_options());
  const std::string url = local_url("127.0.0.1", server.port());
  auto remote = connect_remote_store(url, "", dir_ / "store");
  EXPECT_EQ(remote->directory(), dir_ / "store");

  vector::CollectionConfig config;
  config.name = "facts";
  config.dimension = 3;
  config.distance = vector::Distance::l2;
  config.embedding_model = "all-minilm";
  auto facts = remote->create_collection(config);
  EXPECT_EQ(facts->config().embedding_model, "all-minilm");
  EXPECT_EQ(remote->get_or_create_collection(config)->config().dimension, 3);
  facts->add({{"a", {1, 0, 0}, std::string("likes tea"), json{{"kind", "taste"}, {"n", 7}}},
              {"b", {0, 1, 0}, std::nullopt, json()},
              {"c", {0, 0, 1}, std::string("lives in Lyon"), json{{"kind", "place"}}}});
  try {
    facts->add({{"a", {1, 1, 1}, std::nullopt, json()}});
    FAIL() << "adding a present id through the server succeeded";
  } catch (const Error& error) {
    EXPECT_EQ(error.kind(), ErrorKind::constraint) << error.what();
  }
  EXPECT_EQ(facts->count(), 3u);
  EXPECT_EQ(store_->get_collection("facts")->count(), 3u);  // the server's own store

  vector::GetRequest get;
  get.where = json{{"kind", "taste"}};
  get.include = vector::include_all & ~vector::include_distances;
  const vector::GetResult got = facts->get(get);
  ASSERT_EQ(got.ids, std::vector<std::string>{"a"});
  EXPECT_EQ(got.embeddings[0], (std::vector<float>{1, 0, 0}));
  EXPECT_EQ(got.documents[0], "likes tea");
  EXPECT_EQ(got.metadatas[0]["n"], 7);

  vector::QueryRequest query;
  query.embeddings = {{0.1f, 0.9f, 0.0f}};
  query.n_results = 2;
  query.exact = true;
  const auto matches = facts->query(query);
  ASSERT_EQ(matches.size(), 1u);
  ASSERT_EQ(matches[0].ids.size(), 2u);
  EXPECT_EQ(matches[0].ids[0], "b");
  EXPECT_FALSE(matches[0].documents[0].has_value());
  EXPECT_NEAR(matches[0].distances[0], 0.02f, 1e-5);

  EXPECT_EQ(facts->update({{"a", std::nullopt, std::string("likes green tea"), json{{"n", nullptr}}},
                           {"missing", std::nullopt, std::string("x"), json()}}),
            1u);
  vector::DeleteRequest remove;
  remove.ids = {"c", "missing"};
  EXPECT_EQ(facts->remove(remove), 1u);
  EXPECT_EQ(facts->stats().count, 2u);
  EXPECT_EQ(remote->list_collections().size(), 1u);

  // Wrong dimension: the store's own error, with its kind, over the wire.
  try {
    facts->add({{"d", {1, 2}, std::nullopt, json()}});
    FAIL() << "a 2-dimensional vector went into a 3-dimensional collection";
  } catch (const Error& error) {
    EXPECT_EQ(error.kind(), ErrorKind::invalid_argument) << error.what();
    EXPECT_NE(std::string(error.what()).find("dimension"), std::string::npos) << error.what();
  }
  try {
    remote->get_collection("nothing-here");
    FAIL() << "a missing collection was found";
  } catch (const Error& error) {
    EXPECT_EQ(error.kind(), ErrorKind::not_found);
  }

  // Chroma's clients see the collection the CLI created.
  httplib::Client client("127.0.0.1", server.port());
  auto listed = client.Get((kCollections + "/facts").c_str());
  ASSERT_TRUE(listed);
  EXPECT_EQ(listed->status, 200) << listed->body;
  EXPECT_EQ(json::parse(listed->body)["dimension"], 3);

  remote->delete_collection("facts");
  auto gone = client.Get((kCollections + "/facts").c_str());
  ASSERT_TRUE(gone);
  EXPECT_EQ(gone->status, 404);
}

// A TCP socket bound to a free loopback port (listening when `listen` is set): -1 on failure.
int loopback_socket(bool listen, int& port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
      (listen && ::listen(fd, 4) != 0) || ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    if (fd >= 0) ::close(fd);
    return -1;
  }
  port = ntohs(address.sin_port);
  return fd;
}

TEST_F(SocketTest, RemoteStoreNeedsTheTokenAndAnAnsweringServer) {
  ServeOptions options = test_options();
  options.token = "t0ken-value";
  RunningServer server(*store_, options);
  const std::string url = local_url("127.0.0.1", server.port());
  try {
    connect_remote_store(url, "wrong", dir_ / "store")->list_collections();
    FAIL() << "a wrong token was accepted";
  } catch (const Error& error) {
    EXPECT_EQ(error.kind(), ErrorKind::connection);
    EXPECT_NE(std::string(error.what()).find("LUNADB_SERVE_TOKEN"), std::string::npos);
    EXPECT_EQ(std::string(error.what()).find("t0ken"), std::string::npos);
  }
  EXPECT_TRUE(connect_remote_store(url, "t0ken-value", dir_ / "store")->list_collections().empty());
  // Nobody listens on the port of a server that is gone.
  int free_port = 0;
  ::close(loopback_socket(false, free_port));
  try {
    connect_remote_store(local_url("127.0.0.1", free_port), "", dir_ / "store");
    FAIL() << "connected to a port nobody listens on";
  } catch (const Error& error) {
    EXPECT_EQ(error.kind(), ErrorKind::connection);
  }
  // Something that accepts connections and never answers: the probe gives up within seconds.
  int silent_port = 0;
  const int silent = loopback_socket(true, silent_port);
  ASSERT_GE(silent, 0);
  const auto started = std::chrono::steady_clock::now();
  EXPECT_THROW(connect_remote_store(local_url("127.0.0.1", silent_port), "", dir_ / "store"), Error);
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(30));
  ::close(silent);
}

TEST(AddressFile, WrittenReadAndRemoved) {
  TempDir dir{"lunadb-serve-address"};
  EXPECT_FALSE(read_address_file(dir.path()).has_value());
  write_address_file(dir.path(), local_url("0.0.0.0", 8123));
  EXPECT_EQ(read_address_file(dir.path()), "http://127.0.0.1:8123");
  write_address_file(dir.path(), local_url("::", 9));
  EXPECT_EQ(read_address_file(dir.path()), "http://[::1]:9");
  remove_address_file(dir.path());
  EXPECT_FALSE(read_address_file(dir.path()).has_value());
  EXPECT_THROW(write_address_file(dir / "missing-folder", "http://127.0.0.1:1"), Error);
}

}  // namespace
}  // namespace lunadb::serve
