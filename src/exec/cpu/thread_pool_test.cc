#include "exec/cpu/thread_pool.h"

#include <atomic>
#include <cstdint>
#include <vector>

#include <gtest/gtest.h>

namespace orbitflow {
namespace {

// Every index in [0, n) is visited exactly once, for sizes around the chunking boundaries.
TEST(ThreadPoolTest, CoversEveryIndexExactlyOnce) {
  for (int threads : {1, 2, 3, 8}) {
    ThreadPool pool(threads);
    EXPECT_EQ(pool.num_threads(), threads);
    for (int64_t n : {0, 1, 2, 3, 7, 8, 31, 32, 33, 1000, 100003}) {
      std::vector<std::atomic<int>> hits(n);
      pool.ParallelFor(n, [&](int64_t begin, int64_t end) {
        ASSERT_LE(0, begin);
        ASSERT_LT(begin, end);
        ASSERT_LE(end, n);
        for (int64_t i = begin; i < end; ++i) hits[i].fetch_add(1, std::memory_order_relaxed);
      });
      for (int64_t i = 0; i < n; ++i) {
        ASSERT_EQ(hits[i].load(), 1) << "threads=" << threads << " n=" << n << " i=" << i;
      }
    }
  }
}

// Worker ids are in range and never shared by two threads at once, so per-worker scratch is safe.
TEST(ThreadPoolTest, WorkerIdsAreExclusive) {
  ThreadPool pool(4);
  std::vector<std::atomic<int>> busy(pool.num_threads());
  std::atomic<int> overlaps{0}, bad_ids{0};
  for (int rep = 0; rep < 200; ++rep) {
    pool.ParallelForWorker(64, [&](int worker, int64_t begin, int64_t end) {
      if (worker < 0 || worker >= pool.num_threads()) {
        bad_ids.fetch_add(1);
        return;
      }
      if (busy[worker].fetch_add(1) != 0) overlaps.fetch_add(1);
      volatile int64_t sink = 0;
      for (int64_t i = begin; i < end; ++i) sink = sink + i;
      busy[worker].fetch_sub(1);
    });
  }
  EXPECT_EQ(bad_ids.load(), 0);
  EXPECT_EQ(overlaps.load(), 0);
}

// Many short back-to-back calls (the decode pattern) see all writes of the previous call.
TEST(ThreadPoolTest, BackToBackCallsAreOrdered) {
  ThreadPool pool(3);
  std::vector<int64_t> data(4096, 0);
  for (int rep = 0; rep < 2000; ++rep) {
    pool.ParallelFor(static_cast<int64_t>(data.size()), [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) data[i] += 1;
    });
  }
  for (int64_t v : data) ASSERT_EQ(v, 2000);
}

TEST(ThreadPoolTest, DestroysCleanlyWhileIdleAndAfterSleeping) {
  for (int i = 0; i < 20; ++i) {
    ThreadPool pool(3);
    if (i % 2 == 0) pool.ParallelFor(10, [](int64_t, int64_t) {});
  }
  SUCCEED();
}

}  // namespace
}  // namespace orbitflow
