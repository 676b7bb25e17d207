// The schedule and concurrency logic with a fake sender (no network).
#include "bench/load_runner.h"

#include <atomic>
#include <thread>

#include <gtest/gtest.h>

namespace orbitflow {
namespace {

std::vector<BenchRequest> Schedule(std::vector<double> arrivals) {
  std::vector<BenchRequest> v(arrivals.size());
  for (size_t i = 0; i < v.size(); ++i) {
    v[i].index = static_cast<int64_t>(i);
    v[i].arrival_s = arrivals[i];
  }
  return v;
}

TEST(LoadRunnerTest, SendsAtArrivalTimesAndKeepsRequestOrder) {
  const auto requests = Schedule({0.0, 0.0, 0.05, 0.10});
  LoadResult r = RunLoad(requests, [&](size_t i, std::chrono::steady_clock::time_point start) {
    RequestOutcome o;
    o.index = static_cast<int64_t>(i);
    o.send_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    o.success = true;
    return o;
  }, {.progress = ProgressBarOptions::Mode::kOff});
  ASSERT_EQ(r.outcomes.size(), 4u);
  for (size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(r.outcomes[i].index, static_cast<int64_t>(i));
    EXPECT_GE(r.outcomes[i].send_s, requests[i].arrival_s - 1e-3);
  }
  EXPECT_GE(r.duration_s, 0.10 - 1e-3);
}

TEST(LoadRunnerTest, ConcurrencyLimitHolds) {
  const auto requests = Schedule(std::vector<double>(12, 0.0));
  std::atomic<int> now{0}, peak{0};
  LoadResult r = RunLoad(requests, [&](size_t i, std::chrono::steady_clock::time_point) {
    const int n = ++now;
    for (int p = peak.load(); n > p && !peak.compare_exchange_weak(p, n);) {
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    --now;
    RequestOutcome o;
    o.index = static_cast<int64_t>(i);
    return o;
  }, {.max_in_flight = 3, .progress = ProgressBarOptions::Mode::kOff});
  EXPECT_EQ(peak.load(), 3);
  EXPECT_EQ(r.max_concurrent, 3);
  EXPECT_EQ(r.outcomes.size(), 12u);
}

TEST(LoadRunnerTest, EmptySchedule) {
  LoadResult r = RunLoad({}, [](size_t, std::chrono::steady_clock::time_point) { return RequestOutcome{}; },
                         {.progress = ProgressBarOptions::Mode::kOff});
  EXPECT_TRUE(r.outcomes.empty());
  EXPECT_EQ(r.duration_s, 0);
}

}  // namespace
}  // namespace orbitflow
