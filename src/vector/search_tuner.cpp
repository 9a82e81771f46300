#include "vector/search_tuner.hpp"

#include <algorithm>

#include <fmt/format.h>

namespace lunadb::vector::detail {
namespace {

double median(std::vector<double> values) {
  if (values.empty()) return 0;
  auto middle = values.begin() + static_cast<std::ptrdiff_t>(values.size() / 2);
  std::nth_element(values.begin(), middle, values.end());
  return *middle;
}

// Ladders stop at this ef: beyond it a graph search visits so much of any collection that it
// loses to the scan anyway.
constexpr std::size_t kLargestEf = 16384;

}  // namespace

SearchTuner::SearchTuner(Settings settings) : settings_(settings) {}

SearchTuner::Plan SearchTuner::plan(std::size_t live, std::size_t k) {
  const std::size_t start = std::max(settings_.base_ef, 2 * k);
  if (settings_.target_recall <= 0 || settings_.samples == 0) return Plan{Mode::fixed, start, {}, 0};
  std::lock_guard lock(mutex_);
  const bool outgrown = planned_at_ == 0 || live > 2 * planned_at_ || 2 * live < planned_at_;
  // A query asking for more results than the plan was measured with needs its own measurement
  // only when the plan is a graph search; an exact scan is exact for every k.
  const bool wider_k = mode_ == Mode::graph && 2 * k > ef_;
  if (outgrown || wider_k) reset_locked(live, k);
  switch (mode_) {
    case Mode::sampling: {
      Plan p{Mode::sampling, 0, {}, round_};
      for (const auto& rung : rungs_) p.ladder.push_back(rung.ef);
      return p;
    }
    case Mode::graph:
      return Plan{Mode::graph, std::max(ef_, 2 * k), {}, round_};
    case Mode::exact:
      return Plan{Mode::exact, 0, {}, round_};
    case Mode::fixed:
      break;
  }
  return Plan{Mode::fixed, start, {}, round_};
}

void SearchTuner::reset_locked(std::size_t live, std::size_t k) {
  ++round_;
  mode_ = Mode::sampling;
  planned_at_ = live;
  taken_ = 0;
  sampled_recall_ = 0;
  exact_seconds_.clear();
  rungs_.clear();
  const std::size_t start = std::max(settings_.base_ef, 2 * k);
  const std::size_t largest = std::max(start, std::min(kLargestEf, live));
  for (std::size_t ef = start; ef <= largest; ef *= 2) rungs_.push_back(Rung{ef, 0, 0, {}, 0});
}

void SearchTuner::record(const Plan& plan, const Sample& sample) {
  std::lock_guard lock(mutex_);
  if (mode_ != Mode::sampling || plan.round != round_) return;  // a plan of an earlier round
  for (std::size_t i = 0; i < rungs_.size(); ++i) {
    Rung& rung = rungs_[i];
    if (i < sample.recall.size()) {
      rung.recall_sum += sample.recall[i];
      ++rung.recall_count;
      rung.seconds.push_back(sample.seconds[i]);
    } else if (sample.stopped_on_full_recall) {
      rung.recall_sum += 1.0;
      ++rung.recall_count;
    } else {
      ++rung.too_slow;
    }
  }
  exact_seconds_.push_back(sample.exact_seconds);
  if (++taken_ >= settings_.samples) decide_locked();
}

void SearchTuner::decide_locked() {
  const double scan = median(exact_seconds_);
  double best_affordable_recall = 0;
  double previous_seconds = 0;
  for (const auto& rung : rungs_) {
    // Most samples gave up on this rung because a cheaper one already cost more than the scan.
    if (2 * rung.too_slow > taken_) break;
    const double recall = rung.recall_count ? rung.recall_sum / double(rung.recall_count) : 0;
    // Rungs that every sample skipped (each found its answer lower) cost about twice the rung
    // below; they are never cheaper than it, so this only matters for the comparison with the scan.
    const double seconds = rung.seconds.empty() ? 2 * previous_seconds : median(rung.seconds);
    previous_seconds = seconds;
    if (seconds >= scan) break;
    best_affordable_recall = std::max(best_affordable_recall, recall);
    if (recall >= settings_.target_recall) {
      mode_ = Mode::graph;
      ef_ = rung.ef;
      sampled_recall_ = recall;
      return;
    }
  }
  mode_ = Mode::exact;
  ef_ = 0;
  sampled_recall_ = best_affordable_recall;
}

SearchTuner::Status SearchTuner::status() const {
  std::lock_guard lock(mutex_);
  Status s;
  s.mode = mode_;
  s.ef = mode_ == Mode::fixed ? settings_.base_ef : ef_;
  s.samples_taken = taken_;
  s.samples_wanted = settings_.samples;
  s.sampled_recall = sampled_recall_;
  s.planned_at_count = planned_at_;
  s.target_recall = settings_.target_recall;
  return s;
}

std::string SearchTuner::Status::describe() const {
  switch (mode) {
    case Mode::fixed:
      return fmt::format("hnsw, ef {} (fixed)", ef);
    case Mode::sampling:
      return fmt::format("hnsw, measuring recall ({} of {} sampled queries done)", samples_taken, samples_wanted);
    case Mode::graph:
      return fmt::format("hnsw, ef {} (sampled recall@k {:.3f}, target {:.2f}, measured at {} records)", ef,
                         sampled_recall, target_recall, planned_at_count);
    case Mode::exact:
      return fmt::format(
          "exact scan (the graph reached only recall@k {:.3f} below the scan's cost, target {:.2f}, measured at {} records)",
          sampled_recall, target_recall, planned_at_count);
  }
  return {};
}

}  // namespace lunadb::vector::detail
