// `lunadb bench vectors`: ingest, query latency, recall@10, memory, disk and reopen time of the
// embedded vector store on synthetic clustered unit vectors. bench/peers/run_vectors.sh runs the
// same workload on ChromaDB and raw hnswlib and prints the ratios.

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "cli/commands.hpp"
#include "lunadb/error.hpp"
#include "lunadb/vector.hpp"

namespace lunadb::cli {

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

struct BenchOptions {
  std::size_t n = 10000;
  int dim = 384;
  std::size_t queries = 1000;
  std::size_t recall_queries = 200;
  std::size_t batch = 1000;
  bool json = false;
  std::string path;
};

// Unit vectors around random centres, like sentence embeddings; the last `extra` are queries.
std::vector<std::vector<float>> clustered(std::size_t n, int dim, std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  const std::size_t clusters = std::max<std::size_t>(10, n / 200);
  auto normalise = [](std::vector<float>& v) {
    double s = 0;
    for (float x : v) s += double(x) * x;
    const float inv = static_cast<float>(1.0 / std::sqrt(s));
    for (float& x : v) x *= inv;
  };
  std::vector<std::vector<float>> centres(clusters, std::vector<float>(static_cast<std::size_t>(dim)));
  for (auto& c : centres) {
    for (auto& x : c) x = normal(rng);
    normalise(c);
  }
  const float noise = 0.35f / std::sqrt(static_cast<float>(dim));
  std::vector<std::vector<float>> out(n, std::vector<float>(static_cast<std::size_t>(dim)));
  for (auto& v : out) {
    const auto& c = centres[rng() % clusters];
    for (std::size_t d = 0; d < v.size(); ++d) v[d] = c[d] + noise * normal(rng);
    normalise(v);
  }
  return out;
}

double rss_mb() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::strtod(line.c_str() + 6, nullptr) / 1024.0;
  }
  return 0;
}

double disk_mb(const fs::path& dir) {
  std::uintmax_t total = 0;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    if (e.is_regular_file()) total += e.file_size();
  }
  return static_cast<double>(total) / (1024.0 * 1024.0);
}

double percentile_us(std::vector<double> samples, double p) {
  if (samples.empty()) return 0;
  std::sort(samples.begin(), samples.end());
  auto index = static_cast<std::size_t>(std::min<double>(double(samples.size() - 1), std::ceil(p * double(samples.size())) - 1));
  return samples[index];
}

nlohmann::json run(const BenchOptions& options) {
  fs::path dir;
  bool temporary = options.path.empty();
  if (temporary) {
    std::string pattern = (fs::temp_directory_path() / "lunadb-bench-vectors-XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) throw Error(ErrorKind::io, "cannot create a temporary folder");
    dir = pattern;
  } else {
    dir = options.path;
    if (fs::exists(dir) && !fs::is_empty(dir)) {
      throw Error(ErrorKind::usage, "--path " + dir.string() + " must be empty or missing (the benchmark writes a fresh store)");
    }
  }
  auto all = clustered(options.n + options.queries, options.dim, 42);
  std::vector<std::vector<float>> queries(all.begin() + static_cast<std::ptrdiff_t>(options.n), all.end());
  all.resize(options.n);

  nlohmann::json result;
  result["n"] = options.n;
  result["dim"] = options.dim;
  vector::CollectionConfig config;
  config.name = "bench";
  config.dimension = options.dim;
  {
    auto store = vector::VectorStore::open(dir);
    auto collection = store->create_collection(config);
    auto start = Clock::now();
    for (std::size_t begin = 0; begin < options.n; begin += options.batch) {
      std::vector<vector::Record> batch;
      for (std::size_t i = begin; i < std::min(options.n, begin + options.batch); ++i) {
        batch.push_back({"id" + std::to_string(i), all[i], std::nullopt, nullptr});
      }
      collection->add(batch);
    }
    double seconds = std::chrono::duration<double>(Clock::now() - start).count();
    result["ingest_per_s"] = std::round(double(options.n) / seconds);

    std::vector<double> latencies;
    std::vector<std::vector<std::string>> found;
    for (const auto& q : queries) {
      vector::QueryRequest request;
      request.embeddings = {q};
      request.n_results = 10;
      request.include = vector::include_distances;
      auto t0 = Clock::now();
      auto hits = collection->query(request);
      latencies.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
      found.push_back(hits[0].ids);
    }
    result["query_p50_us"] = std::round(percentile_us(latencies, 0.50));
    result["query_p99_us"] = std::round(percentile_us(latencies, 0.99));

    std::size_t hits = 0, total = 0;
    for (std::size_t qi = 0; qi < std::min(options.recall_queries, queries.size()); ++qi) {
      std::vector<std::pair<float, std::size_t>> exact(options.n);
      for (std::size_t i = 0; i < options.n; ++i) {
        float dot = 0;
        for (std::size_t d = 0; d < queries[qi].size(); ++d) dot += queries[qi][d] * all[i][d];
        exact[i] = {1.0f - dot, i};
      }
      const std::size_t k = std::min<std::size_t>(10, exact.size());
      std::partial_sort(exact.begin(), exact.begin() + static_cast<std::ptrdiff_t>(k), exact.end());
      std::set<std::string> truth;
      for (std::size_t i = 0; i < k; ++i) truth.insert("id" + std::to_string(exact[i].second));
      for (const auto& id : found[qi]) hits += truth.count(id);
      total += k;
    }
    result["recall_at_10"] = total ? double(hits) / double(total) : 0.0;
    result["rss_mb"] = std::round(rss_mb());
  }  // closing saves the index snapshot
  result["disk_mb"] = std::round(disk_mb(dir) * 10) / 10;
  {
    auto start = Clock::now();
    auto store = vector::VectorStore::open(dir);
    auto collection = store->get_collection("bench");
    collection->count();
    result["reopen_ms"] = std::round(std::chrono::duration<double, std::milli>(Clock::now() - start).count());
  }
  if (temporary) {
    std::error_code ignored;
    fs::remove_all(dir, ignored);
  }
  return result;
}

}  // namespace

void register_bench_vectors(CLI::App& bench, Context& /*context*/) {
  auto options = std::make_shared<BenchOptions>();
  auto* command = bench.add_subcommand("vectors", "Vector store: ingest rate, query latency, recall@10, memory, disk, reopen");
  command->add_option("--n", options->n, "Number of vectors")->check(CLI::Range(std::size_t{1}, std::size_t{100000000}));
  command->add_option("--dim", options->dim, "Dimension")->check(CLI::Range(1, 65536));
  command->add_option("--queries", options->queries, "Number of timed queries")->check(CLI::Range(std::size_t{1}, std::size_t{1000000}));
  command->add_option("--recall-queries", options->recall_queries, "Queries checked against exact search for recall");
  command->add_option("--batch", options->batch, "Records per add() call")->check(CLI::Range(std::size_t{1}, std::size_t{1000000}));
  command->add_flag("--json", options->json, "One JSON object on one line");
  command->add_option("--path", options->path, "Store folder (empty or missing; default: a temporary folder, removed after)");
  command->callback([options] {
    auto result = run(*options);
    std::cout << (options->json ? result.dump() : result.dump(2)) << std::endl;
  });
}

}  // namespace lunadb::cli
