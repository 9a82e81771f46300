// `lunadb bench vectors`: ingest, query latency beside recall@k, memory, disk and reopen time of
// the embedded vector store, on synthetic data (clustered like sentence embeddings, or uniform
// random unit vectors, the hard case) or on a data set file (.npy / .fvecs).
//
// Every run measures the same queries several ways: "default" (the effort left to the collection,
// what a user gets), "exact" (a full scan) and one row per ef of --ef-sweep. Recall is against
// the exact neighbours: a --ground-truth .ivecs file or, without one, a brute-force search here
// (multithreaded, with the collection's own distance kernel, so the exact row is recall 1).
// --export writes the very data, queries and ground truth as .fvecs/.ivecs, which
// bench/peers/run_ef_sweep.sh feeds to raw hnswlib for the same sweep and bench/peers/run_pgvector.sh
// to a hand-written psycopg client.
//
// Every record carries metadata {"bucket": row % 100}; the "filtered" row asks each query for its
// neighbours in one bucket (query q: bucket q % 100), a 1%-selective filter, against the exact
// neighbours within that bucket. --backend pgvector runs the same on VECTOR_URL (a collection
// made for the run and deleted after it); there is no reopen there, and no exact row (a
// sequential scan per query; the ground truth is the brute force here either way).
//
// Wall times and process CPU times are both reported: on a shared machine the CPU figures are
// the steadier ones. The bench holds the data in memory (`input_mb`), which RSS includes.

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <exception>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <unistd.h>

#include "cli/commands.hpp"
#include "lunadb/error.hpp"
#include "lunadb/pgvector.hpp"
#include "lunadb/vector.hpp"
#include "vector/dataset_file.hpp"
#include "vector/distance.hpp"

namespace lunadb::cli {

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using vector::detail::FloatMatrix;
using vector::detail::IdMatrix;

struct BenchOptions {
  std::size_t count = 10000;
  int dim = 384;
  std::string data_file;
  std::string distribution = "clustered";
  std::string queries = "1000";
  std::string ground_truth;
  std::size_t k = 10;
  std::string ef_sweep = "10,20,40,80,100,200,400";
  std::string export_dir;
  std::string distance = "cosine";
  std::size_t batch = 1000;
  unsigned threads = 0;
  bool json = false;
  std::string path;
  std::string backend = "embedded";
  vector::IndexParams index;
};

// 1%-selective metadata filter: 100 buckets, row r in bucket r % 100, query q asks for bucket q % 100.
constexpr std::size_t kFilterBuckets = 100;

// What the bench runs on: the collection's rows (id "id<row>") and queries, both held in memory.
struct Workload {
  FloatMatrix data;
  FloatMatrix queries;
  IdMatrix truth;           // rows = queries, k columns: row numbers of `data`
  IdMatrix filtered_truth;  // the same within each query's bucket
  std::string data_source, query_source, truth_source;
};

void normalise(float* v, std::size_t dim) {
  double s = 0;
  for (std::size_t d = 0; d < dim; ++d) s += double(v[d]) * v[d];
  const float inv = static_cast<float>(1.0 / std::sqrt(s));
  for (std::size_t d = 0; d < dim; ++d) v[d] *= inv;
}

// Clustered: unit vectors around random centres (n / 200 of them), like sentence embeddings and
// easy for a graph. Uniform: unit vectors in uniformly random directions, where neighbours are
// barely nearer than anything else and a graph search must work hard. Queries come from the
// same distribution in their own random stream, so none of them is in the collection.
class SyntheticSource {
 public:
  SyntheticSource(bool clustered, std::size_t n, std::size_t dim, std::uint32_t seed) : dim_(dim), rng_(seed) {
    if (clustered) {
      const std::size_t clusters = std::max<std::size_t>(10, n / 200);
      centres_.assign(clusters, std::vector<float>(dim_));
      for (auto& c : centres_) {
        for (auto& x : c) x = normal_(rng_);
        normalise(c.data(), dim_);
      }
      noise_ = 0.35f / std::sqrt(static_cast<float>(dim_));
    }
    data_seed_ = rng_();
    query_seed_ = rng_();
  }
  FloatMatrix data(std::size_t rows) { return draw(data_seed_, rows); }
  FloatMatrix queries(std::size_t rows) { return draw(query_seed_, rows); }

 private:
  FloatMatrix draw(std::uint32_t seed, std::size_t rows) {
    std::mt19937 rng(seed);
    FloatMatrix out{rows, dim_, std::vector<float>(rows * dim_)};
    for (std::size_t r = 0; r < rows; ++r) {
      float* v = out.values.data() + r * dim_;
      const std::vector<float>* centre = centres_.empty() ? nullptr : &centres_[rng() % centres_.size()];
      for (std::size_t d = 0; d < dim_; ++d) v[d] = (centre ? (*centre)[d] + noise_ * normal_(rng) : normal_(rng));
      normalise(v, dim_);
    }
    return out;
  }

  std::size_t dim_;
  std::mt19937 rng_;
  std::normal_distribution<float> normal_{0.0f, 1.0f};
  std::vector<std::vector<float>> centres_;
  float noise_ = 0;
  std::uint32_t data_seed_ = 0, query_seed_ = 0;
};

std::optional<std::size_t> parse_count(const std::string& text) {
  std::size_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

std::vector<std::size_t> parse_sweep(const std::string& text) {
  std::vector<std::size_t> out;
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, ',')) {
    if (item.empty()) continue;
    const auto ef = parse_count(item);
    if (!ef || *ef == 0) throw Error(ErrorKind::usage, "--ef-sweep: '" + item + "' is not a positive integer (e.g. 10,20,40,80)");
    out.push_back(*ef);
  }
  return out;
}

// Moves `count` rows chosen by a seeded shuffle out of `data` into the returned matrix.
FloatMatrix hold_out(FloatMatrix& data, std::size_t count) {
  std::vector<std::size_t> order(data.rows);
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::shuffle(order.begin(), order.end(), std::mt19937(13));
  std::vector<char> is_query(data.rows, 0);
  for (std::size_t i = 0; i < count; ++i) is_query[order[i]] = 1;
  FloatMatrix queries{0, data.cols, {}}, kept{0, data.cols, {}};
  for (std::size_t r = 0; r < data.rows; ++r) {
    auto& to = is_query[r] ? queries : kept;
    const auto row = data.row(r);
    to.values.insert(to.values.end(), row.begin(), row.end());
    ++to.rows;
  }
  data = std::move(kept);
  return queries;
}

// The k nearest rows of `data` for every query, by the collection's own distance on its own
// element form (so ties and rounding agree with the exact scan); with `buckets`, only rows in the
// query's bucket (row % buckets == query % buckets). One thread per slice of queries; nothing in a
// worker throws past it.
IdMatrix brute_force(const FloatMatrix& data, const FloatMatrix& queries, std::size_t k, vector::Distance distance,
                     unsigned threads, std::size_t buckets = 0) {
  const std::size_t dim = data.cols, stride = vector::detail::element_floats(distance, dim);
  auto elements_of = [&](const FloatMatrix& m) {
    std::vector<float> out(m.rows * stride);
    for (std::size_t r = 0; r < m.rows; ++r) vector::detail::make_element(distance, m.row(r).data(), dim, out.data() + r * stride);
    return out;
  };
  const auto data_elements = elements_of(data), query_elements = elements_of(queries);
  const auto measure = vector::detail::element_distance(distance);
  IdMatrix truth{queries.rows, k, std::vector<std::int32_t>(queries.rows * k)};
  if (threads == 0) threads = std::max(1u, std::thread::hardware_concurrency());
  threads = static_cast<unsigned>(std::min<std::size_t>(threads, queries.rows));
  std::vector<std::exception_ptr> failures(threads);
  auto work = [&](unsigned worker) {
    try {
      std::vector<std::pair<float, std::size_t>> heap;  // max-heap of the k nearest so far
      for (std::size_t q = worker; q < queries.rows; q += threads) {
        heap.clear();
        const float* query = query_elements.data() + q * stride;
        const std::size_t first = buckets ? q % buckets : 0, step = buckets ? buckets : 1;
        for (std::size_t r = first; r < data.rows; r += step) {
          const float d = measure(query, data_elements.data() + r * stride, &dim);
          if (heap.size() < k) {
            heap.emplace_back(d, r);
            std::push_heap(heap.begin(), heap.end());
          } else if (std::make_pair(d, r) < heap.front()) {
            std::pop_heap(heap.begin(), heap.end());
            heap.back() = {d, r};
            std::push_heap(heap.begin(), heap.end());
          }
        }
        std::sort_heap(heap.begin(), heap.end());
        // A bucket smaller than k: the rest of the row is -1, which no result matches.
        for (std::size_t i = 0; i < k; ++i) truth.values[q * k + i] = i < heap.size() ? static_cast<std::int32_t>(heap[i].second) : -1;
      }
    } catch (...) {
      failures[worker] = std::current_exception();
    }
  };
  std::vector<std::thread> pool;
  for (unsigned t = 1; t < threads; ++t) pool.emplace_back(work, t);
  work(0);
  for (auto& t : pool) t.join();
  for (auto& failure : failures) {
    if (failure) std::rethrow_exception(failure);
  }
  return truth;
}

Workload load_workload(const BenchOptions& options, bool count_given, vector::Distance distance) {
  Workload w;
  const auto query_count = parse_count(options.queries);
  if (query_count && *query_count == 0) throw Error(ErrorKind::usage, "--queries: at least one query is needed");
  if (!options.data_file.empty()) {
    w.data = vector::detail::read_vectors_file(options.data_file);
    w.data_source = options.data_file;
    if (count_given && options.count < w.data.rows) {
      w.data.rows = options.count;
      w.data.values.resize(w.data.rows * w.data.cols);
      w.data_source += " (first " + std::to_string(options.count) + " rows)";
    }
    if (query_count) {
      if (*query_count >= w.data.rows) {
        throw Error(ErrorKind::usage, "--queries " + options.queries + ": the data file has only " + std::to_string(w.data.rows) +
                                          " rows, and the queries are held out of them");
      }
      w.queries = hold_out(w.data, *query_count);
      w.query_source = std::to_string(*query_count) + " rows held out of the data file";
    }
  } else {
    if (options.distribution != "clustered" && options.distribution != "uniform") {
      throw Error(ErrorKind::usage, "--distribution must be clustered or uniform, not '" + options.distribution + "'");
    }
    SyntheticSource source(options.distribution == "clustered", options.count, static_cast<std::size_t>(options.dim), 42);
    w.data = source.data(options.count);
    w.data_source = options.distribution + " synthetic unit vectors";
    if (query_count) {
      w.queries = source.queries(*query_count);
      w.query_source = std::to_string(*query_count) + " drawn from the same distribution";
    }
  }
  if (!query_count) {
    w.queries = vector::detail::read_vectors_file(options.queries);
    w.query_source = options.queries;
    if (w.queries.cols != w.data.cols) {
      throw Error(ErrorKind::usage, "--queries " + options.queries + " has dimension " + std::to_string(w.queries.cols) +
                                        " but the data have " + std::to_string(w.data.cols));
    }
  }
  const std::size_t k = std::min(options.k, w.data.rows);
  if (!options.ground_truth.empty()) {
    const auto file = vector::detail::read_ivecs(options.ground_truth);
    if (file.rows != w.queries.rows || file.cols < k) {
      throw Error(ErrorKind::usage, "--ground-truth " + options.ground_truth + " has " + std::to_string(file.rows) + " rows of " +
                                        std::to_string(file.cols) + " ids; " + std::to_string(w.queries.rows) +
                                        " rows (one per query) of at least k = " + std::to_string(k) + " are needed");
    }
    w.truth = {file.rows, k, std::vector<std::int32_t>(file.rows * k)};
    for (std::size_t q = 0; q < file.rows; ++q) {
      for (std::size_t i = 0; i < k; ++i) {
        const auto id = file.values[q * file.cols + i];
        if (id < 0 || static_cast<std::size_t>(id) >= w.data.rows) {
          throw Error(ErrorKind::invalid_argument, "--ground-truth " + options.ground_truth + ": row " + std::to_string(q) +
                                                       " names row " + std::to_string(id) + " but the data have " +
                                                       std::to_string(w.data.rows) + " rows");
        }
        w.truth.values[q * k + i] = id;
      }
    }
    w.truth_source = options.ground_truth;
  } else {
    w.truth = brute_force(w.data, w.queries, k, distance, options.threads);
    w.truth_source = "brute force";
  }
  w.filtered_truth = brute_force(w.data, w.queries, k, distance, options.threads, kFilterBuckets);
  return w;
}

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

std::vector<float> row_vector(const FloatMatrix& m, std::size_t r) {
  const auto row = m.row(r);
  return {row.begin(), row.end()};
}

std::string row_id(std::size_t row) { return "id" + std::to_string(row); }

// One way of searching, timed query by query (one at a time, one thread), with its recall@k;
// `filtered`: each query within its bucket, against the bucket's exact neighbours.
nlohmann::json measure_row(const vector::Collection& collection, const Workload& w, const std::string& name,
                           std::optional<std::size_t> ef, bool exact, bool filtered = false) {
  const IdMatrix& truth_of = filtered ? w.filtered_truth : w.truth;
  const std::size_t k = truth_of.cols;
  std::vector<double> latencies, cpu_latencies;
  std::size_t hits = 0;
  std::vector<std::size_t> truth_row(k);
  for (std::size_t q = 0; q < w.queries.rows; ++q) {
    vector::QueryRequest request;
    request.embeddings = {row_vector(w.queries, q)};
    request.n_results = k;
    request.include = vector::include_distances;
    request.ef_search = ef;
    request.exact = exact;
    if (filtered) request.where = {{"bucket", static_cast<std::int64_t>(q % kFilterBuckets)}};
    const double c0 = cpu_seconds();
    const auto t0 = Clock::now();
    const auto found = collection.query(request);
    latencies.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
    cpu_latencies.push_back((cpu_seconds() - c0) * 1e6);
    const auto truth = truth_of.row(q);
    for (const auto& id : found[0].ids) {
      std::size_t row = 0;
      std::from_chars(id.data() + 2, id.data() + id.size(), row);
      hits += std::count(truth.begin(), truth.end(), static_cast<std::int32_t>(row)) > 0 ? 1 : 0;
    }
  }
  nlohmann::json row;
  row["search"] = name;
  row["ef"] = ef ? nlohmann::json(*ef) : nlohmann::json(nullptr);
  row["recall"] = double(hits) / double(w.queries.rows * k);
  row["p50_us"] = std::round(percentile_us(latencies, 0.50));
  row["p95_us"] = std::round(percentile_us(latencies, 0.95));
  row["p99_us"] = std::round(percentile_us(latencies, 0.99));
  row["cpu_p50_us"] = std::round(percentile_us(cpu_latencies, 0.50));
  row["cpu_p95_us"] = std::round(percentile_us(cpu_latencies, 0.95));
  return row;
}

void export_workload(const Workload& w, const fs::path& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw Error(ErrorKind::io, "--export " + dir.string() + ": cannot create the folder: " + ec.message());
  vector::detail::write_fvecs(dir / "data.fvecs", w.data);
  vector::detail::write_fvecs(dir / "queries.fvecs", w.queries);
  vector::detail::write_ivecs(dir / "gt.ivecs", w.truth);
  vector::detail::write_ivecs(dir / "gt_filtered.ivecs", w.filtered_truth);
}

// The store the bench measures: a fresh embedded store in `dir`, or VECTOR_URL's pgvector database.
std::unique_ptr<vector::VectorStore> open_bench_store(const std::optional<Settings>& pgvector, const fs::path& dir) {
  if (pgvector) return vector::open_pgvector_store(*pgvector);
  return vector::VectorStore::open(dir);
}

// `pgvector`: the settings of VECTOR_URL for --backend pgvector, else nullopt (the embedded store).
nlohmann::json run(const BenchOptions& options, bool count_given, const std::optional<Settings>& pgvector) {
  const auto distance = vector::parse_distance(options.distance);
  const auto sweep = parse_sweep(options.ef_sweep);
  fs::path dir;
  const bool temporary = options.path.empty() && !pgvector;
  if (!options.path.empty()) {
    if (pgvector) throw Error(ErrorKind::usage, "--path is for the embedded store; --backend pgvector writes to VECTOR_URL");
    dir = options.path;
    if (fs::exists(dir) && !fs::is_empty(dir)) {
      throw Error(ErrorKind::usage, "--path " + dir.string() + " must be empty or missing (the benchmark writes a fresh store)");
    }
  }
  const auto workload_start = Clock::now();
  const Workload w = load_workload(options, count_given, distance);
  const double workload_seconds = std::chrono::duration<double>(Clock::now() - workload_start).count();
  if (!options.export_dir.empty()) export_workload(w, options.export_dir);
  if (temporary) {
    std::string pattern = (fs::temp_directory_path() / "lunadb-bench-vectors-XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) throw Error(ErrorKind::io, "cannot create a temporary folder");
    dir = pattern;
  }
  const std::size_t n = w.data.rows, k = w.truth.cols;

  nlohmann::json result;
  result["data"] = w.data_source;
  result["queries_from"] = w.query_source;
  result["ground_truth"] = w.truth_source;
  result["n"] = n;
  result["dim"] = w.data.cols;
  result["queries"] = w.queries.rows;
  result["k"] = k;
  result["distance"] = vector::to_string(distance);
  result["backend"] = options.backend;
  result["batch"] = options.batch;
  result["filter_buckets"] = kFilterBuckets;
  result["kernels"] = vector::detail::kernel_name();
  result["m"] = options.index.m;
  result["ef_construction"] = options.index.ef_construction;
  result["ef_search"] = options.index.ef_search;
  result["input_mb"] = std::round(double((w.data.values.size() + w.queries.values.size()) * sizeof(float)) / (1024.0 * 1024.0));
  result["workload_s"] = std::round(workload_seconds * 10) / 10;
  vector::CollectionConfig config;
  // On a shared database a run must not meet an earlier or concurrent one's collection.
  config.name = pgvector ? "bench-" + std::to_string(getpid()) + "-" + std::to_string(std::time(nullptr)) : "bench";
  config.dimension = static_cast<int>(w.data.cols);
  config.distance = distance;
  config.index = options.index;
  try {
    auto store = open_bench_store(pgvector, dir);
    auto collection = store->create_collection(config);
    struct DropOnExit {  // a pgvector run's collection goes, however the run ends
      vector::VectorStore* store;
      std::string name;
      ~DropOnExit() {
        if (!store) return;
        try {
          store->delete_collection(name);
        } catch (const std::exception&) {
        }
      }
    } drop{pgvector ? store.get() : nullptr, config.name};
    double cpu = 0, seconds = 0;
    for (std::size_t begin = 0; begin < n; begin += options.batch) {
      std::vector<vector::Record> batch;
      for (std::size_t i = begin; i < std::min(n, begin + options.batch); ++i) {
        batch.push_back({row_id(i), row_vector(w.data, i), std::nullopt,
                         nlohmann::json{{"bucket", static_cast<std::int64_t>(i % kFilterBuckets)}}});
      }
      const double c0 = cpu_seconds();
      const auto t0 = Clock::now();
      collection->add(batch);
      seconds += std::chrono::duration<double>(Clock::now() - t0).count();
      cpu += cpu_seconds() - c0;
    }
    result["ingest_per_s"] = std::round(double(n) / seconds);
    result["ingest_cpu_s"] = std::round(cpu * 100) / 100;
    result["ingest_per_cpu_s"] = std::round(double(n) / cpu);

    // The default row first: the collection's search tuner samples the first queries that leave
    // the effort to it, and a user's first queries are those too.
    nlohmann::json rows = nlohmann::json::array();
    rows.push_back(measure_row(*collection, w, "default", std::nullopt, false));
    const auto stats = collection->stats();
    rows.back()["plan"] = stats.search_plan;
    if (stats.search_ef) rows.back()["ef"] = stats.search_ef;
    rows.push_back(measure_row(*collection, w, "filtered", std::nullopt, false, true));
    if (!pgvector) rows.push_back(measure_row(*collection, w, "exact", std::nullopt, true));
    for (const auto ef : sweep) rows.push_back(measure_row(*collection, w, "ef", ef, false));
    result["rows"] = rows;
    const auto& filtered = rows[1];
    result["filtered_p50_us"] = filtered["p50_us"];
    result["filtered_p99_us"] = filtered["p99_us"];
    result["filtered_cpu_p50_us"] = filtered["cpu_p50_us"];
    result["filtered_recall_at_k"] = filtered["recall"];
    if (k == 10) result["filtered_recall_at_10"] = filtered["recall"];
    // The keys of the earlier bench (bench/peers/run_vectors.sh reads them): the default row.
    const auto& user = rows.front();
    result["query_p50_us"] = user["p50_us"];
    result["query_p95_us"] = user["p95_us"];
    result["query_p99_us"] = user["p99_us"];
    result["query_cpu_p50_us"] = user["cpu_p50_us"];
    // What the default search used (pgvector: hnsw.ef_search = max(ef_search, 2k), at most 1000).
    result["default_ef"] = user["ef"];
    result["recall_at_k"] = user["recall"];
    if (k == 10) result["recall_at_10"] = user["recall"];
    result["search_plan"] = stats.search_plan;
    result["rss_mb"] = std::round(status_mb("VmRSS:"));
    result["rss_peak_mb"] = std::round(status_mb("VmHWM:"));
    if (pgvector) return result;  // drop deletes the collection; nothing on disk here, no reopen
    collection.reset();
    store.reset();  // closing saves the index snapshot

    result["disk_mb"] = std::round(disk_mb(dir) * 10) / 10;
    // Open, then one query: the same work as the ChromaDB peer's reopen (Chroma loads lazily).
    const double c0 = cpu_seconds();
    const auto start = Clock::now();
    store = vector::VectorStore::open(dir);
    collection = store->get_collection("bench");
    vector::QueryRequest request;
    request.embeddings = {row_vector(w.queries, 0)};
    request.n_results = 1;
    collection->query(request);
    result["reopen_ms"] = std::round(std::chrono::duration<double, std::milli>(Clock::now() - start).count());
    result["reopen_cpu_ms"] = std::round((cpu_seconds() - c0) * 1000);
    result["index_recovery"] = collection->stats().index_recovery;
  } catch (...) {
    if (temporary) {
      std::error_code ignored;
      fs::remove_all(dir, ignored);
    }
    throw;
  }
  if (temporary) {
    std::error_code ignored;
    fs::remove_all(dir, ignored);
  }
  return result;
}

void print_text(const nlohmann::json& r) {
  std::cout << fmt::format("data: {} ({} x {}, {})\nqueries: {} ({}), k = {}, ground truth: {}\n", r["data"].get<std::string>(),
                           r["n"].get<std::size_t>(), r["dim"].get<std::size_t>(), r["distance"].get<std::string>(),
                           r["queries"].get<std::size_t>(), r["queries_from"].get<std::string>(), r["k"].get<std::size_t>(),
                           r["ground_truth"].get<std::string>());
  std::cout << fmt::format("graph: M {}, ef_construction {}, collection ef_search {}; kernels {}\n", r["m"].get<int>(),
                           r["ef_construction"].get<int>(), r["ef_search"].get<int>(), r["kernels"].get<std::string>());
  if (r.contains("disk_mb")) {
    std::cout << fmt::format("ingest: {}/s ({}/CPU-s); rss {} MB (input {} MB); disk {} MB; reopen {} ms\n",
                             r["ingest_per_s"].get<double>(), r["ingest_per_cpu_s"].get<double>(), r["rss_mb"].get<double>(),
                             r["input_mb"].get<double>(), r["disk_mb"].get<double>(), r["reopen_ms"].get<double>());
  } else {  // pgvector: the work is in the server; this process's CPU is the client's share only
    std::cout << fmt::format("ingest: {}/s (client CPU {} s) in batches of {}; rss {} MB (input {} MB)\n",
                             r["ingest_per_s"].get<double>(), r["ingest_cpu_s"].get<double>(), r["batch"].get<std::size_t>(),
                             r["rss_mb"].get<double>(), r["input_mb"].get<double>());
  }
  std::cout << fmt::format("default search plan: {}\n\n", r["search_plan"].get<std::string>());
  std::cout << fmt::format("{:<16} {:>10} {:>9} {:>9} {:>9} {:>11}\n", "search", fmt::format("recall@{}", r["k"].get<std::size_t>()),
                           "p50 us", "p95 us", "p99 us", "CPU p50 us");
  for (const auto& row : r["rows"]) {
    std::string name = row["search"].get<std::string>();
    if (!row["ef"].is_null()) name += (name == "ef" ? " " : " (ef ") + std::to_string(row["ef"].get<std::size_t>()) + (name == "ef" ? "" : ")");
    std::cout << fmt::format("{:<16} {:>10.4f} {:>9} {:>9} {:>9} {:>11}\n", name, row["recall"].get<double>(),
                             row["p50_us"].get<double>(), row["p95_us"].get<double>(), row["p99_us"].get<double>(),
                             row["cpu_p50_us"].get<double>());
  }
}

}  // namespace

void register_bench_vectors(CLI::App& bench, Context& context) {
  auto options = std::make_shared<BenchOptions>();
  auto* command = bench.add_subcommand("vectors", "Vector store: ingest rate, query latency beside recall@k (default, exact, ef sweep), memory, disk, reopen");
  auto* count = command->add_option("--count,--n", options->count, "Synthetic: number of vectors; with --data: use the first N rows")
                    ->check(CLI::Range(std::size_t{1}, std::size_t{100000000}));
  auto* dim = command->add_option("--dim", options->dim, "Synthetic: dimension")->check(CLI::Range(1, 65536));
  auto* distribution =
      command->add_option("--distribution", options->distribution, "Synthetic data: clustered (easy, like sentence embeddings) or uniform (hard)")
          ->check(CLI::IsMember({"clustered", "uniform"}));
  // A file brings its own dimension and distribution: a --dim beside it would be silently ignored.
  command->add_option("--data", options->data_file, "Data set file instead of synthetic data: float32 .npy (2-D, C order) or .fvecs")
      ->excludes(dim)
      ->excludes(distribution);
  command->add_option("--queries", options->queries,
                      "A query file (.npy/.fvecs), or N: N queries from the synthetic distribution, or N rows held out of --data");
  command->add_option("--ground-truth", options->ground_truth,
                      ".ivecs of the k nearest data rows (0-based, in the order the rows are added) per query; default: brute force "
                      "(the filtered row's is always the brute force's)");
  command->add_option("--k", options->k, "Neighbours per query (recall@k)")->check(CLI::Range(std::size_t{1}, std::size_t{10000}));
  command->add_option("--ef-sweep", options->ef_sweep, "Comma-separated ef values, one row each ('' for none)");
  command->add_option("--export", options->export_dir, "Write data.fvecs, queries.fvecs and gt.ivecs here (for the peer scripts)");
  command->add_option("--distance", options->distance, "cosine, l2 or ip")->check(CLI::IsMember({"cosine", "l2", "ip"}));
  command->add_option("--threads", options->threads, "Threads of the brute-force ground truth (0: all cores)");
  command->add_option("--batch", options->batch, "Records per add() call")->check(CLI::Range(std::size_t{1}, std::size_t{1000000}));
  command->add_option("--m", options->index.m, "HNSW M (default: the collection default)")->check(CLI::Range(2, 256));
  command->add_option("--ef-construction", options->index.ef_construction, "HNSW ef_construction")->check(CLI::Range(1, 10000));
  command->add_option("--ef-search", options->index.ef_search, "The collection's base ef_search")->check(CLI::Range(1, 10000));
  command->add_flag("--json", options->json, "One JSON object on one line");
  command->add_option("--path", options->path, "Store folder (empty or missing; default: a temporary folder, removed after)");
  command->add_option("--backend", options->backend,
                      "embedded, or pgvector: a collection on VECTOR_URL (or DB_URL), made for the run and deleted after")
      ->check(CLI::IsMember({"embedded", "pgvector"}));
  command->callback([options, count, &context] {
    std::optional<Settings> pgvector;
    if (options->backend == "pgvector") {
      context.overrides["VECTOR_BACKEND"] = "pgvector";  // VECTOR_URL is resolved only for this backend
      pgvector = context.settings();
    }
    auto result = run(*options, count->count() > 0, pgvector);
    if (options->json) {
      std::cout << result.dump() << std::endl;
    } else {
      print_text(result);
    }
  });
}

}  // namespace lunadb::cli
