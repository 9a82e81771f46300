// Many readers with one writer (and a flusher) on one collection; run under ThreadSanitizer in CI.

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "lunadb/error.hpp"
#include "lunadb/vector.hpp"
#include "support/temp_dir.hpp"
#include "vector_test_util.hpp"

namespace lunadb::vector {
namespace {

TEST(VectorConcurrency, ReadersSeeConsistentResultsWhileOneWriterWrites) {
  test::TempDir dir{"lunadb-vector-conc"};
  OpenOptions options;
  options.flat_threshold = 50;
  options.snapshot_every = 100;
  options.index_threads = 2;
  auto store = VectorStore::open(dir.path(), options);
  CollectionConfig config;
  config.name = "luna_facts";
  config.dimension = 16;
  auto c = store->create_collection(config);
  constexpr int kBatches = 12;
  constexpr int kBatch = 70;  // above 64: inserted into the graph by two threads
  auto vectors = testing::clustered_vectors(kBatches * kBatch, 16, 6, 5);

  std::atomic<bool> done{false};
  std::atomic<int> reader_failures{0};
  std::atomic<long> reads{0};
  auto reader = [&](int which) {
    std::mt19937 rng(static_cast<std::uint32_t>(which));
    while (!done) {
      try {
        QueryRequest q;
        q.embeddings = {vectors[rng() % vectors.size()]};
        q.n_results = 5;
        if (which % 2) q.where = {{"batch", {{"$gte", 3}}}};
        auto r = c->query(q)[0];
        if (r.ids.size() > 5 || r.ids.size() != r.distances.size()) ++reader_failures;
        for (std::size_t i = 1; i < r.distances.size(); ++i) {
          if (r.distances[i - 1] > r.distances[i] + 1e-6f) ++reader_failures;
        }
        GetRequest g;
        g.limit = 10;
        g.where = {{"batch", static_cast<int>(rng() % kBatches)}};
        if (c->get(g).ids.size() > static_cast<std::size_t>(kBatch)) ++reader_failures;
        c->count();
        c->stats();
        ++reads;
      } catch (const std::exception& e) {
        ++reader_failures;
      }
    }
  };
  std::vector<std::thread> readers;
  for (int i = 0; i < 3; ++i) readers.emplace_back(reader, i);

  std::thread flusher([&] {
    while (!done) {
      try {
        store->flush();
      } catch (...) {
        ++reader_failures;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  });

  std::size_t expected = 0;
  for (int b = 0; b < kBatches; ++b) {
    std::vector<Record> batch;
    for (int i = 0; i < kBatch; ++i) {
      auto index = static_cast<std::size_t>(b * kBatch + i);
      batch.push_back(testing::make_record("r" + std::to_string(index), vectors[index], "doc " + std::to_string(index), {{"batch", b}}));
    }
    c->add(batch);
    expected += kBatch;
    if (b % 3 == 2) {
      c->upsert({testing::make_record("r" + std::to_string(b), vectors[static_cast<std::size_t>(b) + 1], std::nullopt, {{"touched", true}})});
      expected -= c->remove(DeleteRequest{{"r" + std::to_string(b * kBatch + 1)}, nullptr, nullptr});
    }
  }
  done = true;
  for (auto& t : readers) t.join();
  flusher.join();
  EXPECT_EQ(reader_failures.load(), 0);
  EXPECT_GT(reads.load(), 0);
  EXPECT_EQ(c->count(), expected);
}

TEST(VectorConcurrency, ConcurrentWritersAreSerialised) {
  test::TempDir dir{"lunadb-vector-conc"};
  auto store = VectorStore::open(dir.path());
  CollectionConfig config;
  config.name = "c";
  config.dimension = 4;
  auto c = store->create_collection(config);
  std::vector<std::thread> writers;
  for (int w = 0; w < 3; ++w) {
    writers.emplace_back([&, w] {
      std::mt19937 rng(static_cast<std::uint32_t>(w));
      for (int i = 0; i < 20; ++i) {
        c->upsert({testing::make_record("w" + std::to_string(w) + "-" + std::to_string(i), testing::random_vector(rng, 4))});
      }
    });
  }
  for (auto& t : writers) t.join();
  EXPECT_EQ(c->count(), 60u);
}

}  // namespace
}  // namespace lunadb::vector
