// The search tuner's decisions, from measured samples fed in directly, and its thread-safety.

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "vector/search_tuner.hpp"

namespace lunadb::vector::detail {
namespace {

using Mode = SearchTuner::Mode;

SearchTuner::Settings settings(std::size_t samples = 4) { return SearchTuner::Settings{0.99, samples, 100}; }

// Feeds `samples` identical samples whose recall per rung comes from `recall_at` and whose
// graph time per rung doubles from 1 ms, against a scan of `scan_ms`.
void feed(SearchTuner& tuner, std::size_t live, std::size_t samples, const std::vector<double>& recall_at, double scan_ms) {
  for (std::size_t i = 0; i < samples; ++i) {
    auto plan = tuner.plan(live, 10);
    ASSERT_EQ(plan.mode, Mode::sampling);
    SearchTuner::Sample sample;
    sample.exact_seconds = scan_ms / 1000;
    double ms = 1;
    for (std::size_t r = 0; r < plan.ladder.size() && r < recall_at.size(); ++r, ms *= 2) {
      sample.recall.push_back(recall_at[r]);
      sample.seconds.push_back(ms / 1000);
      if (recall_at[r] >= 1.0) {
        sample.stopped_on_full_recall = true;
        break;
      }
      if (ms >= scan_ms) break;
    }
    tuner.record(plan, sample);
  }
}

TEST(SearchTuner, KeepsTheBaseEfWhenItReachesTheTarget) {
  SearchTuner tuner(settings());
  feed(tuner, 50000, 4, {0.995, 1.0}, 50);
  auto plan = tuner.plan(50000, 10);
  EXPECT_EQ(plan.mode, Mode::graph);
  EXPECT_EQ(plan.ef, 100u);
  EXPECT_NEAR(tuner.status().sampled_recall, 0.995, 1e-9);
}

TEST(SearchTuner, RaisesEfUntilTheSampledRecallReachesTheTarget) {
  SearchTuner tuner(settings());
  feed(tuner, 50000, 4, {0.80, 0.93, 0.991, 1.0}, 50);
  auto plan = tuner.plan(50000, 10);
  EXPECT_EQ(plan.mode, Mode::graph);
  EXPECT_EQ(plan.ef, 400u);
  // A query asking for many results gets at least 2k.
  EXPECT_EQ(tuner.plan(50000, 5).ef, 400u);
}

TEST(SearchTuner, ScansExactlyWhenNoAffordableEfReachesTheTarget) {
  SearchTuner tuner(settings());
  // Graph times 1, 2, 4, 8 ms against a 6 ms scan: ef 800 would be slower than the scan.
  feed(tuner, 50000, 4, {0.12, 0.2, 0.34, 0.5}, 6);
  auto plan = tuner.plan(50000, 10);
  EXPECT_EQ(plan.mode, Mode::exact);
  auto status = tuner.status();
  EXPECT_NEAR(status.sampled_recall, 0.34, 1e-9) << "the best recall among rungs cheaper than the scan";
  EXPECT_NE(status.describe().find("exact scan"), std::string::npos) << status.describe();
}

TEST(SearchTuner, MeasuresAgainWhenTheCollectionDoublesOrHalves) {
  SearchTuner tuner(settings());
  feed(tuner, 10000, 4, {1.0}, 10);
  EXPECT_EQ(tuner.plan(10000, 10).mode, Mode::graph);
  EXPECT_EQ(tuner.plan(19000, 10).mode, Mode::graph) << "within [half, double]: the plan stands";
  EXPECT_EQ(tuner.plan(20001, 10).mode, Mode::sampling);
  feed(tuner, 20001, 4, {1.0}, 10);
  EXPECT_EQ(tuner.plan(20001, 10).mode, Mode::graph);
  EXPECT_EQ(tuner.plan(9000, 10).mode, Mode::sampling);
}

TEST(SearchTuner, MeasuresAgainForAWiderKThanTheGraphPlanCovers) {
  SearchTuner tuner(settings());
  feed(tuner, 10000, 4, {1.0}, 10);
  EXPECT_EQ(tuner.plan(10000, 10).mode, Mode::graph);
  auto wide = tuner.plan(10000, 80);  // 2k = 160 > ef 100
  EXPECT_EQ(wide.mode, Mode::sampling);
  EXPECT_EQ(wide.ladder.front(), 160u);
}

TEST(SearchTuner, IgnoresSamplesOfAnEarlierRound) {
  SearchTuner tuner(settings(2));
  auto stale = tuner.plan(10000, 10);
  tuner.plan(30000, 10);  // the collection tripled: a new round
  SearchTuner::Sample sample{0.01, {0.1}, {0.001}, false};
  tuner.record(stale, sample);
  tuner.record(stale, sample);
  EXPECT_EQ(tuner.status().mode, Mode::sampling);
  EXPECT_EQ(tuner.status().samples_taken, 0u);
}

TEST(SearchTuner, TargetZeroTurnsTheTunerOff) {
  SearchTuner tuner(SearchTuner::Settings{0, 32, 64});
  auto plan = tuner.plan(100000, 10);
  EXPECT_EQ(plan.mode, Mode::fixed);
  EXPECT_EQ(plan.ef, 64u);
  EXPECT_EQ(tuner.plan(100000, 50).ef, 100u);
}

TEST(SearchTunerConcurrency, PlansRecordsAndStatusFromManyThreads) {
  SearchTuner tuner(settings(64));
  std::atomic<std::size_t> sampled{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 400; ++i) {
        std::size_t live = 10000 + std::size_t(t % 2) * 15000;  // two sizes: rounds get replaced
        auto plan = tuner.plan(live, 10);
        if (plan.mode == Mode::sampling) {
          ++sampled;
          tuner.record(plan, SearchTuner::Sample{0.01, {0.5, 1.0}, {0.001, 0.002}, true});
        }
        (void)tuner.status().describe();
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_GT(sampled.load(), 0u);
}

}  // namespace
}  // namespace lunadb::vector::detail
