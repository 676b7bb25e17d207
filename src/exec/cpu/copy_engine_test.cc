#include "exec/cpu/copy_engine.h"

#include <gtest/gtest.h>

#include <chrono>
#include <vector>

namespace orbitflow {
namespace {

TEST(CopyEngineTest, CopiesEveryJobAndSignalsPerLayer) {
  CopyEngine engine(CopyEngineOptions{});
  for (int round = 0; round < 50; ++round) {
    std::vector<float> src(4 * 100), dst(4 * 100, 0.0f);
    for (size_t i = 0; i < src.size(); ++i) src[i] = static_cast<float>(i + round);
    engine.Begin(4);
    for (int l = 0; l < 4; ++l) {
      engine.AddJob(l == 0 ? CopyKind::kMove : CopyKind::kPrefetch, l, /*start_after=*/l,
                    {{src.data() + l * 100, dst.data() + l * 100, 100}});
    }
    engine.Start();
    for (int l = 0; l < 4; ++l) {
      engine.WaitLayer(l, /*include_prefetch=*/true);
      // The layer's copy is complete and visible once WaitLayer returns.
      for (int i = 0; i < 100; ++i) ASSERT_EQ(dst[l * 100 + i], src[l * 100 + i]);
      engine.SetProgress(l + 1);
    }
    const CopyEngine::Totals t = engine.Finish();
    EXPECT_EQ(t.moved, Bytes(400 * sizeof(float)));
    EXPECT_EQ(t.moves, Bytes(100 * sizeof(float)));
  }
}

TEST(CopyEngineTest, JobWaitsForItsReleasePoint) {
  CopyEngine engine(CopyEngineOptions{});
  std::vector<float> src(64, 1.0f), dst(64, 0.0f);
  engine.Begin(3);
  engine.AddJob(CopyKind::kPrefetch, 2, /*start_after=*/2, {{src.data(), dst.data(), 64}});
  engine.Start();
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  // Not released: progress is 0. (Reading dst here would race; WaitLayer on layer 0 with no
  // jobs returns at once.)
  EXPECT_EQ(engine.WaitLayer(0, true), Seconds(0));
  engine.SetProgress(2);
  engine.WaitLayer(2, true);
  EXPECT_EQ(dst[63], 1.0f);
  engine.Finish();
}

TEST(CopyEngineTest, FinishReleasesAnUnstartedBatch) {
  CopyEngine engine(CopyEngineOptions{});
  std::vector<float> src(16, 2.0f), dst(16, 0.0f);
  engine.Begin(1);
  engine.AddJob(CopyKind::kPrefetch, 0, 5, {{src.data(), dst.data(), 16}});
  engine.Finish();
  EXPECT_EQ(dst[0], 2.0f);
}

TEST(CopyEngineTest, PacesToTheLinkBandwidth) {
  // 1 GB/s: 4 MB takes at least 4 ms.
  CopyEngine engine(CopyEngineOptions{.link_gbps = 1.0});
  std::vector<float> src(1 << 20, 3.0f), dst(1 << 20, 0.0f);
  engine.Begin(1);
  std::vector<CopySpan> spans;
  for (int i = 0; i < 16; ++i) spans.push_back({src.data() + i * 65536, dst.data() + i * 65536, 65536});
  engine.AddJob(CopyKind::kMove, 0, 0, spans);
  const auto start = std::chrono::steady_clock::now();
  engine.Start();
  engine.WaitLayer(0, true);
  const double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  engine.Finish();
  EXPECT_GE(took, 0.004);
  EXPECT_EQ(dst.back(), 3.0f);
}

}  // namespace
}  // namespace orbitflow
