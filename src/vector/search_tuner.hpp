#pragma once
// How an indexed collection searches when the caller leaves the effort to it: with which HNSW
// candidate list (ef), or by an exact scan.
//
// A fixed ef cannot be right for every collection: on sentence embeddings ef 100 reaches recall@10
// 0.99, while on 100k uniform random vectors of d=384 the same graph gives 0.12 and even ef 800
// (costing nearly a full scan) gives 0.50. So the collection measures instead of guessing. The
// first `samples` unfiltered queries after the collection reached its size are each answered
// exactly (their answers are right) and also searched in the graph at a ladder of ef values
// (base, 2 base, 4 base, ...) until the graph finds that query's exact answer or costs more than
// the scan did. The plan is then the smallest ef whose mean sampled recall reaches the target and
// whose median time is below the scan's median, or the exact scan when no ef does. Sampling the
// caller's own queries keeps the estimate honest: queries drawn from the collection itself would
// sit on graph edges and overstate recall.
//
// The plan is redone when the live count leaves [half, double] of the count it was made at.
//
// Thread-safety: every member function may be called from any thread concurrently.

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

namespace lunadb::vector::detail {

class SearchTuner {
 public:
  struct Settings {
    double target_recall = 0.99;  // <= 0: never sample; always use base_ef
    std::size_t samples = 32;
    std::size_t base_ef = 100;    // the collection's ef_search
  };

  enum class Mode { fixed, sampling, graph, exact };

  // What one query should do.
  struct Plan {
    Mode mode = Mode::fixed;
    std::size_t ef = 0;            // the candidate list for Mode::fixed / Mode::graph
    std::vector<std::size_t> ladder;  // Mode::sampling: the ef values to measure, increasing
    std::uint64_t round = 0;          // which measuring round handed this plan out
  };

  // What a sampled query measured: the exact scan's time, and per ladder rung tried (in order)
  // the recall against the exact answer and the time. Rungs not tried because an earlier one
  // already found the exact answer count as recall 1; rungs skipped because an earlier one was
  // slower than the scan count as too slow.
  struct Sample {
    double exact_seconds = 0;
    std::vector<double> recall;
    std::vector<double> seconds;
    bool stopped_on_full_recall = false;
  };

  struct Status {
    Mode mode = Mode::fixed;
    std::size_t ef = 0;
    std::size_t samples_taken = 0;
    std::size_t samples_wanted = 0;
    double sampled_recall = 0;  // of the chosen ef, or of the best rung when exact was chosen
    std::size_t planned_at_count = 0;
    double target_recall = 0;
    std::string describe() const;
  };

  explicit SearchTuner(Settings settings);

  // `live` is the collection's live count, `k` the query's n_results.
  Plan plan(std::size_t live, std::size_t k);
  // Reports what a query given a Mode::sampling plan measured.
  void record(const Plan& plan, const Sample& sample);
  Status status() const;

 private:
  struct Rung {
    std::size_t ef = 0;
    double recall_sum = 0;
    std::size_t recall_count = 0;
    std::vector<double> seconds;
    std::size_t too_slow = 0;
  };
  void reset_locked(std::size_t live, std::size_t k);
  void decide_locked();

  const Settings settings_;
  mutable std::mutex mutex_;
  Mode mode_ = Mode::fixed;
  std::size_t ef_ = 0;
  std::size_t planned_at_ = 0;  // live count the current plan or sampling round is for
  std::uint64_t round_ = 0;
  std::size_t taken_ = 0;       // samples recorded in this round
  double sampled_recall_ = 0;
  std::vector<Rung> rungs_;
  std::vector<double> exact_seconds_;
};

}  // namespace lunadb::vector::detail
