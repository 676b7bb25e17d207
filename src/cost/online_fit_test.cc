#include "cost/online_fit.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

namespace orbitflow {
namespace {

CostProfile Prior() {
  CostProfile p;
  p.decode_step = {1e-6, 0.04};   // 40 ms + 1 us per token
  p.transfer_step = {2e-5, 0.01};
  p.link_bytes_per_s = 25e9;
  return p;
}

TEST(OnlineFitTest, KeepsThePriorUntilEnoughSamples) {
  OnlineCostFit fit(Prior(), {.window = 64, .min_samples = 16});
  for (int i = 0; i < 15; ++i) fit.AddCompute(1000 + i * 100, Seconds(0.1));
  fit.Refit();
  EXPECT_EQ(ProfileChange(Prior(), fit.profile()), 0.0);
  EXPECT_EQ(fit.profile().decode_step.a, 1e-6);
  EXPECT_EQ(fit.profile().decode_step.b, 0.04);
}

TEST(OnlineFitTest, RecoversSlopeAndInterceptFromSpreadBatches) {
  // The hardware is 30% slower in the intercept and 50% in the slope: f(x) = 1.5e-6 x + 0.052.
  OnlineCostFit fit(Prior());
  for (int i = 0; i < 200; ++i) {
    const int64_t x = 1000 + 97 * i;
    fit.AddCompute(x, Seconds(1.5e-6 * static_cast<double>(x) + 0.052));
  }
  fit.Refit();
  EXPECT_NEAR(ProfileChange(Prior(), fit.profile()), 0.5, 1e-6);  // the slope moved most
  EXPECT_NEAR(fit.profile().decode_step.a, 1.5e-6, 1e-12);
  EXPECT_NEAR(fit.profile().decode_step.b, 0.052, 1e-9);
  const CostProfile before = fit.profile();
  fit.Refit();
  EXPECT_EQ(ProfileChange(before, fit.profile()), 0.0);  // nothing new: no change
}

TEST(OnlineFitTest, OneBatchSizeScalesThePrior) {
  // Every step had 8000 tokens: slope and intercept cannot be told apart, so the prior scales.
  OnlineCostFit fit(Prior());
  for (int i = 0; i < 50; ++i) fit.AddCompute(8000, Seconds(1.2 * (8000e-6 + 0.04)));
  fit.Refit();
  EXPECT_NEAR(fit.profile().decode_step.a, 1.2e-6, 1e-15);
  EXPECT_NEAR(fit.profile().decode_step.b, 0.048, 1e-12);
}

TEST(OnlineFitTest, OutliersDoNotMoveTheFit) {
  std::mt19937_64 rng(3);
  std::normal_distribution<double> noise(1.0, 0.01);
  OnlineCostFit fit(Prior());
  for (int i = 0; i < 240; ++i) {
    const int64_t x = 2000 + 50 * i;
    double t = (1e-6 * static_cast<double>(x) + 0.04) * noise(rng);
    if (i % 20 == 7) t *= 10;  // a descheduled thread: 5% of the steps take 10x
    fit.AddCompute(x, Seconds(t));
  }
  fit.Refit();
  EXPECT_NEAR(fit.profile().decode_step.a, 1e-6, 0.1e-6);
  EXPECT_NEAR(fit.profile().decode_step.b, 0.04, 0.004);
}

TEST(OnlineFitTest, BoundedByMaxRatio) {
  OnlineCostFit fit(Prior(), {.max_ratio = 2.0});
  for (int i = 0; i < 100; ++i) fit.AddCompute(4000, Seconds(10 * (4000e-6 + 0.04)));
  fit.Refit();
  EXPECT_DOUBLE_EQ(fit.profile().decode_step.a, 2e-6);
  EXPECT_DOUBLE_EQ(fit.profile().decode_step.b, 0.08);
}

TEST(OnlineFitTest, LinkBandwidthAndTransferFit) {
  OnlineCostFit fit(Prior());
  for (int i = 0; i < 40; ++i) fit.AddLink(Bytes(1'000'000 * (i + 1)), Seconds(1e-4 * (i + 1)));  // 10 GB/s
  fit.AddLink(Bytes(0), Seconds(1));   // ignored
  fit.AddLink(Bytes(10), Seconds(-1));  // ignored
  EXPECT_EQ(fit.link_samples(), 40);
  fit.Refit();
  EXPECT_NEAR(fit.profile().link_bytes_per_s, 1e10, 1);
  // 2.5x slower link: moving every layer takes 2.5x as long.
  EXPECT_NEAR(fit.profile().transfer_step.a, 5e-5, 1e-15);
  EXPECT_NEAR(fit.profile().transfer_step.b, 0.025, 1e-12);
}

TEST(OnlineFitTest, WindowForgetsOldBehaviour) {
  OnlineCostFit fit(Prior(), {.window = 32, .min_samples = 16});
  for (int i = 0; i < 32; ++i) fit.AddCompute(4000, Seconds(2 * (4000e-6 + 0.04)));
  fit.Refit();
  EXPECT_NEAR(fit.profile().decode_step.b, 0.08, 1e-12);
  for (int i = 0; i < 32; ++i) fit.AddCompute(4000, Seconds(4000e-6 + 0.04));
  fit.Refit();
  EXPECT_NEAR(fit.profile().decode_step.b, 0.04, 1e-12);
}

TEST(OnlineFitTest, ValidatesOptions) {
  EXPECT_TRUE(ValidateOnlineFitOptions({}).ok());
  EXPECT_FALSE(ValidateOnlineFitOptions({.window = 8, .min_samples = 16}).ok());
  EXPECT_FALSE(ValidateOnlineFitOptions({.min_samples = 1}).ok());
  EXPECT_FALSE(ValidateOnlineFitOptions({.outlier_mads = 0}).ok());
  EXPECT_FALSE(ValidateOnlineFitOptions({.max_ratio = 0.5}).ok());
}

}  // namespace
}  // namespace orbitflow
