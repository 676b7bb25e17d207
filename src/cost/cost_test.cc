#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>

#include "cost/cost_model.h"
#include "cost/cost_profile.h"

namespace orbitflow {
namespace {

CostModel A100Llama8B() {
  ModelSpec m = *LookupModelSpec("llama-3.1-8b");
  HardwareProfile hw = *LookupHardware("A100");
  return CostModel(m, BuiltinCostProfile(m, hw));
}

TEST(CostProfileTest, ReferenceFitsAreUsedWhereKnown) {
  ModelSpec m = *LookupModelSpec("llama-3.1-8b");
  CostProfile p = BuiltinCostProfile(m, *LookupHardware("rtx-a6000"));
  EXPECT_DOUBLE_EQ(p.decode_step.a, 6.74e-07);
  EXPECT_DOUBLE_EQ(p.decode_step.b, 4.06e-02);
  EXPECT_DOUBLE_EQ(p.transfer_step.a, 1.87e-05);
  EXPECT_NE(p.source.find("profiled"), std::string::npos);
  CostProfile h = BuiltinCostProfile(m, *LookupHardware("h100"));
  EXPECT_NE(h.source.find("roofline"), std::string::npos);
  // H100 reads HBM 3350/2039 times faster than A100: the scaled fit is that much smaller.
  EXPECT_NEAR(h.decode_step.a, 8.89e-07 * 2039 / 3350, 1e-12);
  EXPECT_NEAR(h.decode_step.b, 4.83e-02 * 2039 / 3350, 1e-9);
}

TEST(CostProfileTest, TensorParallelShardHalvesPerDeviceCosts) {
  HardwareProfile hw = *LookupHardware("a100");
  CostProfile tp1 = BuiltinCostProfile(*LookupModelSpec("llama-3-70b"), hw);
  CostProfile tp2 = BuiltinCostProfile(*LookupModelSpec("llama-3-70b-tp2"), hw);
  EXPECT_NEAR(tp2.decode_step.a, tp1.decode_step.a / 2, 1e-15);
  EXPECT_NEAR(tp2.decode_step.b, tp1.decode_step.b / 2, 1e-12);
}

TEST(CostModelTest, LinkBandwidthInBlocksMatchesReference) {
  CostModel cm = A100Llama8B();
  // 25.19 GiB/s / 65,536 B = 412,713 blocks/s (spec section 3).
  EXPECT_NEAR(cm.LinkBlocksPerSecond(), 412712.96, 0.01);
  EXPECT_NEAR(cm.LinkTime(int64_t{1}).count() * 1e6, 2.423, 0.001);
}

TEST(CostModelTest, ClosedFormsByHand) {
  CostModel cm = A100Llama8B();
  const double B = 25.19 * 16384;                  // blocks per second
  const double c = (8.89e-7 * 4000 + 4.83e-2) / 32;  // per-layer compute at 4000 batch tokens

  // d = 1, b = 100: each offloaded layer moves 101 blocks in 0.245 ms < c: no stall.
  RequestLoad light{Distance::Every(1), 100};
  EXPECT_NEAR(cm.StepTimePerLayer({&light, 1}, 4000).count(), 32 * c, 1e-12);
  EXPECT_NEAR(cm.StepTimePrefixFlow({&light, 1}, 4000).count(), 32 * c, 1e-12);

  // d = 0, b = 1000: every layer moves 1001 blocks, comm > c: the link is the bottleneck.
  const double comm = 1001 / B;
  ASSERT_GT(comm, c);
  RequestLoad heavy{Distance::Every(0), 1000};
  EXPECT_NEAR(cm.StepTimePerLayer({&heavy, 1}, 4000).count(), 32 * c + comm + 31 * (comm - c), 1e-12);
  EXPECT_NEAR(cm.StepTimePrefixFlow({&heavy, 1}, 4000).count(), c + 32 * comm, 1e-12);

  // Mixed: d = 15 (spec layers 16 and 32 on host) with b = 3000, and d = 1 with b = 100.
  RequestLoad mixed[] = {{Distance::Every(15), 3000}, {Distance::Every(1), 100}};
  const double big = 3001 / B, small = 101 / B;
  // Per-layer form: layers 16 and 32 carry big + small, the other even layers small (< c).
  const double per_layer = 32 * c + 2 * std::max(0.0, big + small - c);
  EXPECT_NEAR(cm.StepTimePerLayer(mixed, 4000).count(), per_layer, 1e-12);
  // Prefix flow: the link may work from the start; the binding prefix is the whole step
  // (16 small + 2 big blocks against 31 layers of compute) or layer 16's prefix.
  const double stall = std::max({0.0, 8 * small + big - 15 * c, 16 * small + 2 * big - 31 * c});
  EXPECT_NEAR(cm.StepTimePrefixFlow(mixed, 4000).count(), 32 * c + stall, 1e-12);
  EXPECT_LE(cm.StepTimePrefixFlow(mixed, 4000), cm.StepTimePerLayer(mixed, 4000));
}

TEST(CostModelTest, BaseSloIsComputeAtFullDevice) {
  CostModel cm = A100Llama8B();
  // 611 blocks per layer x 16 tokens (the paper-32k device cap).
  EXPECT_NEAR(cm.BaseSlo(611).count(), 8.89e-7 * 611 * 16 + 4.83e-2, 1e-12);
}

TEST(CostProfileTest, JsonRoundTripAndErrors) {
  ModelSpec m = *LookupModelSpec("llama-3.1-8b");
  CostProfile p = BuiltinCostProfile(m, *LookupHardware("a100"));
  const auto path = std::filesystem::temp_directory_path() / "of_cost_profile_test.json";
  ASSERT_TRUE(SaveCostProfile(p, path.string()).ok());
  auto back = LoadCostProfile(path.string());
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_DOUBLE_EQ(back->decode_step.a, p.decode_step.a);
  EXPECT_DOUBLE_EQ(back->prefill.c2, p.prefill.c2);
  EXPECT_DOUBLE_EQ(back->link_bytes_per_s, p.link_bytes_per_s);
  EXPECT_EQ(back->model, "llama-3.1-8b");
  std::filesystem::remove(path);

  EXPECT_EQ(LoadCostProfile("/nonexistent/p.json").status().code(), StatusCode::kNotFound);
  auto bad = ParseCostProfileJson(R"({"decode_step": {"a": "x", "b": 1}})", "p.json");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("decode_step.a"), std::string::npos);
  EXPECT_FALSE(ParseCostProfileJson("{not json", "p.json").ok());
}

TEST(HardwareTest, UnknownGpuListsKnownOnes) {
  auto hw = LookupHardware("tpu");
  ASSERT_FALSE(hw.ok());
  EXPECT_NE(hw.status().message().find("a100-80gb"), std::string::npos);
}

}  // namespace
}  // namespace orbitflow
