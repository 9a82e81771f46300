#pragma once
// The memory for `lunadb bench memory` (bench/README.md): a user's facts about thousands of people,
// generated from a fixed seed, with a labelled query set. Built so that neither retrieval method
// wins alone, as in a real assistant's memory:
//   - every person has dozens of facts, so the person's rare name narrows a keyword search to
//     their facts but not to the one asked about;
//   - queries paraphrase the attribute ("What instrument does Ana Vantrell play?" for "Ana
//     Vantrell plays the cello on weekends"), which embeddings match and words mostly do not;
//   - identifier queries ("LC-48213-Q") that words match exactly and embeddings poorly;
//   - paraphrased near-duplicates (both relevant), contradictions (the older fact superseded, so
//     inactive and not relevant), and created_at spread over two years.

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace lunadb::cli {

struct BenchFact {
  std::string category;
  std::string content;
  double importance = 0.5;
  std::int64_t age_seconds = 0;       // created this long before the run started
  bool active = true;                 // false: superseded by the fact at `superseded_by`
  std::size_t superseded_by = 0;      // index into facts, when !active
};

struct BenchQuery {
  std::string text;
  std::string kind;                   // "paraphrase", "identifier", "name"
  std::vector<std::size_t> relevant;  // indexes into facts (active ones only)
};

struct MemoryBenchData {
  std::vector<BenchFact> facts;
  std::vector<BenchQuery> queries;
};

// Deterministic for (facts, queries, seed) on every platform: it uses its own generator, not the
// standard library's distributions, whose results differ between implementations.
MemoryBenchData generate_memory_bench_data(std::size_t facts, std::size_t queries, std::uint64_t seed);

}  // namespace lunadb::cli
