// `lunadb bench vectors`: ingest, query latency, recall@10, memory, disk and reopen time of the
// embedded vector store on synthetic clustered unit vectors. Wall times and process CPU times are
// both reported: on a shared machine the CPU figures are the steadier ones. bench/peers/run_vectors.sh runs the
// same workload on ChromaDB and raw hnswlib and prints the ratios.

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <ctime>
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
#include "vector/distance.hpp"

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
  vector::IndexParams index;
};

// Unit vectors around random centres, like sentence embeddings. The data are produced batch by
// batch (and produced again for the exact search behind recall@10), so the benchmark process
// holds one batch, not all N vectors: its RSS is the store's.
class ClusteredSource {
 public:
  ClusteredSource(std::size_t n, int dim, std::uint32_t seed) : dim_(static_cast<std::size_t>(dim)), rng_(seed) {
    const std::size_t clusters = std::max<std::size_t>(10, n / 200);
    centres_.assign(clusters, std::vector<float>(dim_));
    for (auto& c : centres_) {
      for (auto& x : c) x = normal_(rng_);
      normalise(c);
    }
    noise_ = 0.35f / std::sqrt(static_cast<float>(dim));
    data_seed_ = rng_();
    query_seed_ = rng_();
    restart();
  }
  void restart() { data_rng_.seed(data_seed_); }
  std::vector<float> next() { return draw(data_rng_); }
  // Queries come from the same clusters but their own stream.
  std::vector<std::vector<float>> queries(std::size_t count) {
    std::mt19937 rng(query_seed_);
    std::vector<std::vector<float>> out;
    for (std::size_t i = 0; i < count; ++i) out.push_back(draw(rng));
    return out;
  }

 private:
  static void normalise(std::vector<float>& v) {
    double s = 0;
    for (float x : v) s += double(x) * x;
    const float inv = static_cast<float>(1.0 / std::sqrt(s));
    for (float& x : v) x *= inv;
  }
  std::vector<float> draw(std::mt19937& rng) {
    const auto& c = centres_[rng() % centres_.size()];
    std::vector<float> v(dim_);
    for (std::size_t d = 0; d < dim_; ++d) v[d] = c[d] + noise_ * normal_(rng);
    normalise(v);
    return v;
  }

  std::size_t dim_;
  std::mt19937 rng_;
  std::normal_distribution<float> normal_{0.0f, 1.0f};
  std::vector<std::vector<float>> centres_;
  float noise_ = 0;
  std::uint32_t data_seed_ = 0, query_seed_ = 0;
  std::mt19937 data_rng_;
};

double cpu_seconds() {  // the whole process: every thread
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return double(ts.tv_sec) + double(ts.tv_nsec) * 1e-9;
}

double status_mb(const char* key) {
  std::ifstream status("/proc/self/status");
  std::string line;
  const std::size_t length = std::strlen(key);
  while (std::getline(status, line)) {
    if (line.compare(0, length, key) == 0) return std::strtod(line.c_str() + length, nullptr) / 1024.0;
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
  ClusteredSource source(options.n, options.dim, 42);
  const auto queries = source.queries(options.queries);

  nlohmann::json result;
  result["n"] = options.n;
  result["dim"] = options.dim;
  result["kernels"] = vector::detail::kernel_name();
  vector::CollectionConfig config;
  config.name = "bench";
  config.dimension = options.dim;
  config.index = options.index;
  result["m"] = options.index.m;
  result["ef_construction"] = options.index.ef_construction;
  result["ef_search"] = options.index.ef_search;
  std::vector<std::vector<std::string>> found;
  {
    auto store = vector::VectorStore::open(dir);
    auto collection = store->create_collection(config);
    double generate_seconds = 0, generate_cpu = 0;
    const double cpu0 = cpu_seconds();
    const auto start = Clock::now();
    for (std::size_t begin = 0; begin < options.n; begin += options.batch) {
      // Producing the vectors is not ingest work: its time is taken out again.
      const auto g0 = Clock::now();
      const double gc0 = cpu_seconds();
      std::vector<vector::Record> batch;
      for (std::size_t i = begin; i < std::min(options.n, begin + options.batch); ++i) {
        batch.push_back({"id" + std::to_string(i), source.next(), std::nullopt, nullptr});
      }
      generate_cpu += cpu_seconds() - gc0;
      generate_seconds += std::chrono::duration<double>(Clock::now() - g0).count();
      collection->add(batch);
    }
    const double seconds = std::chrono::duration<double>(Clock::now() - start).count() - generate_seconds;
    const double cpu = cpu_seconds() - cpu0 - generate_cpu;
    result["ingest_per_s"] = std::round(double(options.n) / seconds);
    result["ingest_cpu_s"] = std::round(cpu * 100) / 100;
    result["ingest_per_cpu_s"] = std::round(double(options.n) / cpu);

    std::vector<double> latencies, cpu_latencies;
    for (const auto& q : queries) {
      vector::QueryRequest request;
      request.embeddings = {q};
      request.n_results = 10;
      request.include = vector::include_distances;
      const double c0 = cpu_seconds();
      auto t0 = Clock::now();
      auto hits = collection->query(request);
      latencies.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
      cpu_latencies.push_back((cpu_seconds() - c0) * 1e6);
      found.push_back(hits[0].ids);
    }
    result["query_p50_us"] = std::round(percentile_us(latencies, 0.50));
    result["query_p99_us"] = std::round(percentile_us(latencies, 0.99));
    result["query_cpu_p50_us"] = std::round(percentile_us(cpu_latencies, 0.50));
    result["query_cpu_p99_us"] = std::round(percentile_us(cpu_latencies, 0.99));
    result["rss_mb"] = std::round(status_mb("VmRSS:"));
    result["rss_peak_mb"] = std::round(status_mb("VmHWM:"));
  }  // closing saves the index snapshot

  // recall@10 against exact search, streaming the data again.
  {
    const std::size_t count = std::min(options.recall_queries, queries.size());
    const std::size_t k = std::min<std::size_t>(10, options.n);
    std::vector<std::vector<std::pair<float, std::size_t>>> best(count);  // max-heaps of the k nearest
    source.restart();
    for (std::size_t i = 0; i < options.n; ++i) {
      const auto v = source.next();
      for (std::size_t qi = 0; qi < count; ++qi) {
        const float d = 1.0f - vector::detail::dot_product(queries[qi].data(), v.data(), v.size());
        auto& heap = best[qi];
        if (heap.size() < k) {
          heap.emplace_back(d, i);
          std::push_heap(heap.begin(), heap.end());
        } else if (d < heap.front().first) {
          std::pop_heap(heap.begin(), heap.end());
          heap.back() = {d, i};
          std::push_heap(heap.begin(), heap.end());
        }
      }
    }
    std::size_t hits = 0, total = 0;
    for (std::size_t qi = 0; qi < count; ++qi) {
      std::set<std::string> truth;
      for (const auto& [d, i] : best[qi]) truth.insert("id" + std::to_string(i));
      for (const auto& id : found[qi]) hits += truth.count(id);
      total += k;
    }
    result["recall_at_10"] = total ? double(hits) / double(total) : 0.0;
  }
  result["disk_mb"] = std::round(disk_mb(dir) * 10) / 10;
  {
    // Open, then one query: the same work as the ChromaDB peer's reopen (Chroma loads lazily).
    const double c0 = cpu_seconds();
    auto start = Clock::now();
    auto store = vector::VectorStore::open(dir);
    auto collection = store->get_collection("bench");
    vector::QueryRequest request;
    request.embeddings = {queries.front()};
    request.n_results = 1;
    collection->query(request);
    result["reopen_ms"] = std::round(std::chrono::duration<double, std::milli>(Clock::now() - start).count());
    result["reopen_cpu_ms"] = std::round((cpu_seconds() - c0) * 1000);
    result["index_recovery"] = collection->stats().index_recovery;
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
  command->add_option("--m", options->index.m, "HNSW M (default: the collection default)")->check(CLI::Range(2, 256));
  command->add_option("--ef-construction", options->index.ef_construction, "HNSW ef_construction")->check(CLI::Range(1, 10000));
  command->add_option("--ef-search", options->index.ef_search, "HNSW ef_search")->check(CLI::Range(1, 10000));
  command->add_flag("--json", options->json, "One JSON object on one line");
  command->add_option("--path", options->path, "Store folder (empty or missing; default: a temporary folder, removed after)");
  command->callback([options] {
    auto result = run(*options);
    std::cout << (options->json ? result.dump() : result.dump(2)) << std::endl;
  });
}

}  // namespace lunadb::cli
