// Search quality at default parameters on clustered unit vectors (the shape of sentence
// embeddings): recall@10 against exact search. A quality property, not a timing.

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
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

// A collection of `data` with ids "0", "1", ... and one boolean metadata key per record.
std::shared_ptr<Collection> filled_collection(VectorStore& store, const std::string& name,
                                              const std::vector<std::vector<float>>& data, const std::string& key,
                                              bool (*flag)(std::size_t)) {
  CollectionConfig config;
  config.name = name;
  config.dimension = static_cast<int>(data.front().size());
  auto c = store.create_collection(config);
  std::vector<Record> batch;
  for (std::size_t i = 0; i < data.size(); ++i)
    batch.push_back(testing::make_record(std::to_string(i), data[i], std::nullopt, {{key, flag(i)}}));
  c->add(batch);
  return c;
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
  auto c = filled_collection(*store, "recall", data, "even", [](std::size_t i) { return i % 2 == 0; });
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

// A filter most records pass is checked on the graph's hits only, with its share estimated from
// evenly spaced records. Here the filter passes exactly every 16th record, which is where such a
// sample of 8192 records looks: the estimate says "all", the graph's hits mostly fail, and the
// query must still return the exact k nearest passing records (fetching more from the graph, and
// when even that falls short, evaluating the filter on every record), while a filter that passes 15 in 16 keeps its recall through the hit checks.
TEST(VectorRecall, FiltersEstimatedBroadStillReturnTheNearestPassingRecords) {
  test::TempDir dir{"lunadb-vector-broad-filter"};
  constexpr int kDim = 32;
  constexpr std::size_t kN = 8192;
  auto data = testing::clustered_vectors(kN, kDim, 30, 5);
  auto queries = testing::clustered_vectors(40, kDim, 30, 5);
  auto store = VectorStore::open(dir.path());
  auto c = filled_collection(*store, "broad", data, "tick", [](std::size_t i) { return i % 16 == 0; });
  ASSERT_TRUE(c->stats().hnsw_active);

  auto recall_for = [&](bool tick) {
    QueryRequest q;
    q.embeddings = queries;
    q.n_results = 10;
    q.where = {{"tick", tick}};
    q.include = include_metadatas;
    auto results = c->query(q);
    std::size_t hits = 0;
    for (std::size_t qi = 0; qi < queries.size(); ++qi) {
      std::vector<std::pair<double, std::size_t>> exact;
      for (std::size_t i = 0; i < kN; ++i)
        if ((i % 16 == 0) == tick) exact.emplace_back(exact_cosine(queries[qi], data[i]), i);
      std::partial_sort(exact.begin(), exact.begin() + 10, exact.end());
      std::set<std::string> truth;
      for (int i = 0; i < 10; ++i) truth.insert(std::to_string(exact[static_cast<std::size_t>(i)].second));
      EXPECT_EQ(results[qi].ids.size(), 10u);
      for (std::size_t r = 0; r < results[qi].ids.size(); ++r) {
        EXPECT_EQ(results[qi].metadatas[r]["tick"], tick) << "a record the filter rejects was returned";
        hits += truth.count(results[qi].ids[r]);
      }
    }
    return double(hits) / double(10 * queries.size());
  };
  EXPECT_EQ(recall_for(true), 1.0) << "the narrow filter's fallback scans exactly";
  EXPECT_GE(recall_for(false), 0.99);
  // More results asked for than records pass: every passing record, as without the estimate.
  QueryRequest all;
  all.embeddings = {queries.front()};
  all.n_results = 600;
  all.where = {{"tick", true}};
  EXPECT_EQ(c->query(all).front().ids.size(), kN / 16);
}

std::vector<std::vector<float>> uniform_unit_vectors(std::size_t n, int dim, std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<std::vector<float>> out;
  for (std::size_t i = 0; i < n; ++i) {
    auto v = testing::random_vector(rng, dim);  // Gaussian, then normalised: uniform on the sphere
    double s = 0;
    for (float x : v) s += double(x) * x;
    for (float& x : v) x = static_cast<float>(x / std::sqrt(s));
    out.push_back(std::move(v));
  }
  return out;
}

double recall_at_10(const std::vector<std::vector<float>>& data, const std::vector<std::vector<float>>& queries,
                    const std::vector<Matches>& results) {
  std::size_t hits = 0;
  for (std::size_t qi = 0; qi < queries.size(); ++qi) {
    std::vector<std::pair<double, std::size_t>> exact;
    for (std::size_t i = 0; i < data.size(); ++i) exact.emplace_back(exact_cosine(queries[qi], data[i]), i);
    std::partial_sort(exact.begin(), exact.begin() + 10, exact.end());
    std::set<std::string> truth;
    for (int i = 0; i < 10; ++i) truth.insert(std::to_string(exact[static_cast<std::size_t>(i)].second));
    for (const auto& id : results[qi].ids) hits += truth.count(id);
  }
  return double(hits) / double(10 * queries.size());
}

// Uniform random vectors are the hard case for a graph index: at ef 100 recall@10 falls far below
// the target, and the tuner must notice from sampled queries and raise ef or scan exactly.
TEST(VectorRecall, DefaultsHoldTheTargetRecallOnUniformRandomVectors) {
  constexpr int kDim = 96;
  constexpr std::size_t kN = 5000;
  const auto data = uniform_unit_vectors(kN, kDim, 21);
  const auto warmup = uniform_unit_vectors(40, kDim, 22);    // the tuner's 32 samples come from these
  const auto queries = uniform_unit_vectors(150, kDim, 23);  // measured after the tuner has decided
  auto recall_with = [&](double target_recall, std::string* plan) {
    test::TempDir dir{"lunadb-vector-recall-uniform"};
    OpenOptions options;
    options.target_recall = target_recall;
    auto store = VectorStore::open(dir.path(), options);
    CollectionConfig config;
    config.name = "uniform";
    config.dimension = kDim;
    auto c = store->create_collection(config);
    std::vector<Record> batch;
    for (std::size_t i = 0; i < kN; ++i) batch.push_back(testing::make_record(std::to_string(i), data[i]));
    c->add(batch);
    QueryRequest q;
    q.n_results = 10;
    for (const auto& w : warmup) {
      q.embeddings = {w};
      c->query(q);  // one at a time, as an application asks
    }
    q.embeddings = queries;
    auto results = c->query(q);
    *plan = c->stats().search_plan;
    return recall_at_10(data, queries, results);
  };
  std::string fixed_plan, tuned_plan;
  const double fixed = recall_with(0, &fixed_plan);
  const double tuned = recall_with(0.99, &tuned_plan);
  RecordProperty("fixed_ef100_recall", std::to_string(fixed));
  RecordProperty("tuned_recall", std::to_string(tuned));
  RecordProperty("tuned_plan", tuned_plan);
  // The data must be hard, or this test shows nothing.
  EXPECT_LT(fixed, 0.97) << "fixed ef 100 on uniform data; plan: " << fixed_plan;
  EXPECT_GE(tuned, 0.98) << "plan: " << tuned_plan;
  EXPECT_EQ(tuned_plan.find("measuring"), std::string::npos) << "the tuner decided after its samples: " << tuned_plan;
}

}  // namespace
}  // namespace lunadb::vector
