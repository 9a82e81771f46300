// Search quality at default parameters on clustered unit vectors (the shape of sentence
// embeddings): recall@10 against exact search. A quality property, not a timing.

#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "lunadb/vector.hpp"
#include "support/temp_dir.hpp"
#include "vector_test_util.hpp"

namespace lunadb::vector {
namespace {

double exact_cosine(const std::vector<float>& a, const std::vector<float>& b) {
  double dot = 0;
  for (std::size_t i = 0; i < a.size(); ++i) dot += double(a[i]) * b[i];
  return 1 - dot;  // both are unit vectors
}

TEST(VectorRecall, DefaultParamsReachRecallAt10OnClusteredData) {
  test::TempDir dir{"lunadb-vector-recall"};
  constexpr int kDim = 64;
  constexpr std::size_t kN = 6000;
  auto data = testing::clustered_vectors(kN, kDim, 40, 11);
  auto queries = testing::clustered_vectors(100, kDim, 40, 11);  // same centres (same seed), fresh noise
  std::mt19937 rng(3);
  for (auto& q : queries) {
    for (auto& x : q) x += 0.02f * std::normal_distribution<float>(0, 1)(rng);
  }
  auto store = VectorStore::open(dir.path());
  CollectionConfig config;
  config.name = "recall";
  config.dimension = kDim;
  auto c = store->create_collection(config);
  std::vector<Record> batch;
  for (std::size_t i = 0; i < kN; ++i) batch.push_back(testing::make_record(std::to_string(i), data[i], std::nullopt, {{"even", i % 2 == 0}}));
  c->add(batch);
  ASSERT_TRUE(c->stats().hnsw_active);

  auto recall_for = [&](const Json& where) {
    QueryRequest q;
    q.embeddings = queries;
    q.n_results = 10;
    q.where = where;
    auto results = c->query(q);
    std::size_t hits = 0, total = 0;
    for (std::size_t qi = 0; qi < queries.size(); ++qi) {
      std::vector<std::pair<double, std::size_t>> exact;
      for (std::size_t i = 0; i < kN; ++i) {
        if (!where.is_null() && i % 2 != 0) continue;
        exact.emplace_back(exact_cosine(queries[qi], data[i]), i);
      }
      std::partial_sort(exact.begin(), exact.begin() + 10, exact.end());
      std::set<std::string> truth;
      for (int i = 0; i < 10; ++i) truth.insert(std::to_string(exact[static_cast<std::size_t>(i)].second));
      for (const auto& id : results[qi].ids) hits += truth.count(id);
      total += 10;
    }
    return double(hits) / double(total);
  };
  EXPECT_GE(recall_for(nullptr), 0.99);
  EXPECT_GE(recall_for({{"even", true}}), 0.99) << "filtered search over-fetches from the graph";
}

}  // namespace
}  // namespace lunadb::vector
