// `lunadb bench memory`: the memory engine on a generated memory (cli/bench_memory_data.hpp) with
// a labelled query set.
//   1. remember: every fact through Memory::remember / supersede, with the background worker
//      embedding the outbox in batches; facts/s until the last vector is applied
//   2. quality: recall@10 and MRR@10 of vector-only, keyword-only and hybrid recall, overall and
//      per query kind
//   3. latency: recall p50/p95 per method, the query's embedding call excluded (query vectors are
//      fetched first, in batches, and answered from memory while the clock runs)
// Embeddings come from an Ollama-compatible server (--embed-url): bench/embed_server.sh serves
// all-MiniLM-L6-v2 for quality, or hashed words (--hashed 384) for throughput and latency.
// The database is a fresh SQLite file under --dir unless --url names an empty server database.

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <iostream>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <unordered_map>

#include "cli/bench_memory_data.hpp"
#include "cli/bench_support.hpp"
#include "cli/commands.hpp"
#include "lunadb/embed.hpp"
#include "lunadb/error.hpp"
#include "lunadb/memory.hpp"
#include "lunadb/migrate.hpp"
#include "lunadb/store.hpp"
#include "lunadb/vector.hpp"

namespace lunadb::cli {

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

struct Options {
  std::size_t facts = 100000;
  std::size_t queries = 1000;
  std::uint64_t seed = 42;
  std::string dir;
  std::string url;
  std::string embed_url = "http://127.0.0.1:11435";
  std::string model = "all-minilm";
  std::size_t batch = 256;
  bool json = false;
};

// Answers the texts it was primed with from memory, so the recall clock excludes the embedding
// server; anything else goes to the real embedder.
class PrimedEmbedder : public Embedder {
 public:
  explicit PrimedEmbedder(Embedder& inner) : inner_(inner) {}
  void prime(const std::vector<std::string>& texts, std::size_t batch) {
    for (std::size_t begin = 0; begin < texts.size(); begin += batch) {
      std::vector<std::string> slice(texts.begin() + static_cast<std::ptrdiff_t>(begin),
                                     texts.begin() + static_cast<std::ptrdiff_t>(std::min(texts.size(), begin + batch)));
      auto vectors = inner_.embed(slice);
      std::lock_guard lock(mutex_);
      for (std::size_t i = 0; i < slice.size(); ++i) primed_[slice[i]] = std::move(vectors[i]);
    }
  }
  std::vector<std::vector<float>> embed(const std::vector<std::string>& texts) override {
    {
      std::lock_guard lock(mutex_);
      std::vector<std::vector<float>> out;
      for (const auto& text : texts) {
        auto found = primed_.find(text);
        if (found == primed_.end()) break;
        out.push_back(found->second);
      }
      if (out.size() == texts.size()) return out;
    }
    return inner_.embed(texts);
  }
  const std::string& model() const override { return inner_.model(); }
  const char* provider() const override { return inner_.provider(); }
  const std::string& endpoint() const override { return inner_.endpoint(); }
  std::optional<std::size_t> dimension() const override { return inner_.dimension(); }

 private:
  Embedder& inner_;
  std::mutex mutex_;
  std::unordered_map<std::string, std::vector<float>> primed_;
};

struct Quality {
  double recall_at_10 = 0;
  double mrr = 0;
  std::size_t queries = 0;
};

struct MethodResult {
  std::string method;
  Quality overall;
  std::map<std::string, Quality> by_kind;
  double p50_ms = 0;
  double p95_ms = 0;
};

double percentile(std::vector<double> values, double p) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  return values[std::min(values.size() - 1, static_cast<std::size_t>(p * static_cast<double>(values.size())))];
}

void run(const Options& options) {
  fs::path dir = options.dir.empty() ? fs::temp_directory_path() / fmt::format("lunadb-bench-memory-{}", ::getpid())
                                     : fs::path(options.dir);
  if (fs::exists(dir / "luna.db") || fs::exists(dir / "chroma"))
    throw Error(ErrorKind::usage, "bench memory --dir " + dir.string() + " already holds a memory; give an empty folder");
  fs::create_directories(dir);
  Settings settings = sqlite_file_settings(dir / "luna.db");
  if (!options.url.empty()) {
    settings.db = parse_db_url(options.url, "bench memory --url");
    settings.db_path.clear();
  }
  settings.embedding_provider = EmbeddingProvider::ollama;
  settings.ollama_base_url = options.embed_url;
  settings.ollama_embed_model = options.model;
  settings.embed_batch_size = static_cast<int>(options.batch);

  std::cerr << fmt::format("generating {} facts and {} queries (seed {})\n", options.facts, options.queries, options.seed);
  const MemoryBenchData data = generate_memory_bench_data(options.facts, options.queries, options.seed);
  migrate::Migrator(settings).upgrade("head");
  auto store = store::Store::open(settings);
  auto vectors = vector::VectorStore::open(dir / "chroma");
  auto http_embedder = make_embedder(settings);
  PrimedEmbedder embedder(*http_embedder);

  memory::MemoryOptions memory_options = memory::options_from(settings);
  memory_options.batch_size = options.batch;
  memory_options.start_worker = true;
  memory_options.worker_poll = std::chrono::milliseconds(50);
  memory::Memory memory(store, *vectors, embedder, memory_options);

  // 1. remember
  std::vector<std::int64_t> ids(data.facts.size(), 0);
  std::unordered_map<std::size_t, std::size_t> replaces;  // newer index -> older index
  for (std::size_t i = 0; i < data.facts.size(); ++i)
    if (!data.facts[i].active) replaces[data.facts[i].superseded_by] = i;
  const auto now = std::chrono::time_point_cast<std::chrono::microseconds>(std::chrono::system_clock::now());
  const auto remember_start = Clock::now();
  for (std::size_t i = 0; i < data.facts.size(); ++i) {
    store::Fact fact;
    fact.category = data.facts[i].category;
    fact.content = data.facts[i].content;
    fact.importance = data.facts[i].importance;
    fact.source = "explicit";
    fact.created_at = now - std::chrono::seconds(data.facts[i].age_seconds);
    auto older = replaces.find(i);
    ids[i] = older == replaces.end() ? memory.remember(fact).fact.id : memory.supersede(ids[older->second], fact).fact.id;
    if ((i + 1) % 10000 == 0) std::cerr << fmt::format("  remembered {}\n", i + 1);
  }
  const double rows_seconds = std::chrono::duration<double>(Clock::now() - remember_start).count();
  memory.flush();
  const double remember_seconds = std::chrono::duration<double>(Clock::now() - remember_start).count();

  // 2 and 3. recall, per method
  std::vector<std::string> texts;
  for (const auto& q : data.queries) texts.push_back(q.text);
  embedder.prime(texts, options.batch);
  std::vector<MethodResult> results;
  for (const char* method : {"vector", "keyword", "hybrid"}) {
    MethodResult result{method, {}, {}, 0, 0};
    std::vector<double> latencies;
    for (const auto& query : data.queries) {
      memory::RecallOptions recall;
      recall.k = 10;
      recall.use_vectors = std::string(method) != "keyword";
      recall.use_keywords = std::string(method) != "vector";
      const auto start = Clock::now();
      auto found = memory.recall(query.text, recall);
      latencies.push_back(std::chrono::duration<double, std::milli>(Clock::now() - start).count());
      std::size_t hits = 0;
      double reciprocal = 0;
      for (std::size_t rank = 0; rank < found.size(); ++rank) {
        bool relevant = std::any_of(query.relevant.begin(), query.relevant.end(),
                                    [&](std::size_t index) { return ids[index] == found[rank].id; });
        if (relevant) {
          ++hits;
          if (reciprocal == 0) reciprocal = 1.0 / static_cast<double>(rank + 1);
        }
      }
      const double recall_10 =
          static_cast<double>(hits) / static_cast<double>(std::min<std::size_t>(query.relevant.size(), 10));
      for (Quality* q : {&result.overall, &result.by_kind[query.kind]}) {
        q->recall_at_10 += recall_10;
        q->mrr += reciprocal;
        ++q->queries;
      }
    }
    const auto average = [](Quality& q) {
      q.recall_at_10 /= static_cast<double>(std::max<std::size_t>(q.queries, 1));
      q.mrr /= static_cast<double>(std::max<std::size_t>(q.queries, 1));
    };
    average(result.overall);
    for (auto& [kind, q] : result.by_kind) average(q);
    result.p50_ms = percentile(latencies, 0.50);
    result.p95_ms = percentile(latencies, 0.95);
    results.push_back(std::move(result));
  }

  const double facts_per_second = static_cast<double>(data.facts.size()) / remember_seconds;
  if (options.json) {
    nlohmann::json out{{"facts", data.facts.size()},
                       {"queries", data.queries.size()},
                       {"seed", options.seed},
                       {"backend", to_string(settings.db.backend)},
                       {"model", options.model},
                       {"remember_facts_per_s", facts_per_second},
                       {"rows_committed_s", rows_seconds},
                       {"remember_total_s", remember_seconds}};
    for (const auto& r : results) {
      nlohmann::json by_kind = nlohmann::json::object();
      for (const auto& [kind, q] : r.by_kind)
        by_kind[kind] = {{"recall_at_10", q.recall_at_10}, {"mrr", q.mrr}, {"queries", q.queries}};
      out["methods"][r.method] = {{"recall_at_10", r.overall.recall_at_10}, {"mrr", r.overall.mrr},
                                  {"p50_ms", r.p50_ms},                    {"p95_ms", r.p95_ms},
                                  {"by_kind", by_kind}};
    }
    std::cout << out.dump(2) << "\n";
  } else {
    std::cout << fmt::format("memory of {} facts on {} ({}), {} queries, model {}\n", data.facts.size(),
                             to_string(settings.db.backend), dir.string(), data.queries.size(), options.model);
    std::cout << fmt::format("remember: {:.0f} facts/s ({:.1f} s rows committed, {:.1f} s until every vector applied)\n",
                             facts_per_second, rows_seconds, remember_seconds);
    std::cout << fmt::format("{:<8} {:>10} {:>7} {:>9} {:>9}   recall@10 by kind\n", "method", "recall@10", "MRR",
                             "p50 ms", "p95 ms");
    for (const auto& r : results) {
      std::string kinds;
      for (const auto& [kind, q] : r.by_kind) kinds += fmt::format("  {} {:.3f} ({})", kind, q.recall_at_10, q.queries);
      std::cout << fmt::format("{:<8} {:>10.3f} {:>7.3f} {:>9.2f} {:>9.2f} {}\n", r.method, r.overall.recall_at_10,
                               r.overall.mrr, r.p50_ms, r.p95_ms, kinds);
    }
  }
}

}  // namespace

void register_bench_memory(CLI::App& bench, Context& /*context*/) {
  auto options = std::make_shared<Options>();
  CLI::App* command = bench.add_subcommand(
      "memory", "The memory engine: remember throughput, recall@10 / MRR of vector, keyword and hybrid recall, latency");
  command->add_option("--facts", options->facts, "Facts in the generated memory")->check(CLI::Range(100, 10000000));
  command->add_option("--queries", options->queries, "Labelled queries")->check(CLI::Range(1, 1000000));
  command->add_option("--seed", options->seed, "Seed of the generated memory");
  command->add_option("--dir", options->dir, "Empty folder for the SQLite file and the vector store (default: a temporary one)");
  command->add_option("--url", options->url, "An empty server database instead of SQLite");
  command->add_option("--embed-url", options->embed_url, "Ollama-compatible embedding server (bench/embed_server.sh)");
  command->add_option("--model", options->model, "Model name sent to it");
  command->add_option("--batch", options->batch, "Texts per embedding request and outbox batch")->check(CLI::Range(1, 4096));
  command->add_flag("--json", options->json, "Print the results as JSON");
  command->callback([options] { run(*options); });
}

}  // namespace lunadb::cli
