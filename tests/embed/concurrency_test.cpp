// embed() from several threads at once on one shared embedder.

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "embed/embed_fixture.hpp"

namespace lunadb::test {
namespace {

constexpr int thread_count = 6;
// One server worker (see FakeEmbeddingServer): the clients still run concurrently; the server
// takes their connections one at a time.
constexpr std::size_t server_workers = 1;
constexpr int calls_per_thread = 5;

// Each thread embeds its own texts and checks it got its own vectors back; any failure is
// collected (an exception must not escape a thread).
void run_concurrently(Embedder& embedder, const std::string& model, std::atomic<int>& failures) {
  std::vector<std::thread> threads;
  for (int t = 0; t < thread_count; ++t) {
    threads.emplace_back([&, t] {
      for (int call = 0; call < calls_per_thread; ++call) {
        const auto texts = numbered_texts(5, "thread " + std::to_string(t) + " call " + std::to_string(call));
        try {
          if (embedder.embed(texts) != expected_vectors(model, texts)) ++failures;
        } catch (const std::exception&) {
          ++failures;
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
}

TEST(EmbedConcurrency, SharedOllamaEmbedderFromManyThreads) {
  FakeEmbeddingServer server(server_workers);
  server.set_delay(std::chrono::milliseconds(5));
  auto settings = ollama_settings(server);
  settings.embed_batch_size = 2;
  auto embedder = make_embedder(settings, fast_retries());
  std::atomic<int> failures{0};

  run_concurrently(*embedder, ollama_model, failures);

  EXPECT_EQ(failures.load(), 0);
  // 5 texts in batches of 2: 3 requests per call.
  EXPECT_EQ(server.request_count("/api/embed"), static_cast<std::size_t>(thread_count * calls_per_thread * 3));
  EXPECT_EQ(embedder->dimension(), 8u);
}

TEST(EmbedConcurrency, SharedOpenAiEmbedderWithRetriesFromManyThreads) {
  FakeEmbeddingServer server(server_workers);
  for (int i = 0; i < thread_count; ++i) server.enqueue({503, R"({"error":{"message":"warming up"}})"});
  auto settings = openai_settings(server, "sk-concurrent");
  settings.embed_max_retries = thread_count;  // every thread may meet every 503
  auto embedder = make_embedder(settings, fast_retries());
  std::atomic<int> failures{0};

  run_concurrently(*embedder, openai_model, failures);

  EXPECT_EQ(failures.load(), 0);
  // 5 texts in batches of 4: 2 requests per call, plus one retry per scripted 503.
  EXPECT_EQ(server.request_count(), static_cast<std::size_t>(thread_count * calls_per_thread * 2 + thread_count));
}

TEST(EmbedConcurrency, LegacyFallbackDiscoveredByManyThreadsAtOnce) {
  FakeEmbeddingServer server(server_workers);
  server.set_legacy_ollama(true);
  auto embedder = make_embedder(ollama_settings(server), fast_retries());
  std::atomic<int> failures{0};

  run_concurrently(*embedder, ollama_model, failures);

  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(server.request_count("/api/embeddings"), static_cast<std::size_t>(thread_count * calls_per_thread * 5));
  // Each thread probes /api/embed at most once before the fallback is remembered.
  EXPECT_LE(server.request_count("/api/embed"), static_cast<std::size_t>(thread_count));
  EXPECT_GE(server.request_count("/api/embed"), 1u);
}

}  // namespace
}  // namespace lunadb::test
