#include "cost/step_calibration.h"

#include <gtest/gtest.h>

namespace orbitflow {
namespace {

TEST(StepCalibrationTest, OneUntilEnoughSamplesThenTheQuantileOfTheRatios) {
  StepCalibration c({.quantile = 0.9, .window = 10, .min_samples = 10, .max_factor = 4});
  for (int i = 1; i <= 9; ++i) c.Add(Seconds(0.010), Seconds(0.010 * (1 + 0.1 * i)));
  EXPECT_EQ(c.Factor(), 1.0);  // 9 < min_samples
  c.Add(Seconds(0.010), Seconds(0.020));
  // Ratios 1.1 .. 2.0 in steps of 0.1: the 9th of 10 (nearest rank of 0.9) is 1.9.
  EXPECT_NEAR(c.Factor(), 1.9, 1e-12);
}

TEST(StepCalibrationTest, TheWindowForgetsOldStepsAndTheFactorIsBounded) {
  StepCalibration c({.quantile = 0.5, .window = 4, .min_samples = 2, .max_factor = 3});
  for (int i = 0; i < 4; ++i) c.Add(Seconds(1), Seconds(10));
  EXPECT_EQ(c.Factor(), 3.0);  // 10 clamped to max_factor
  for (int i = 0; i < 4; ++i) c.Add(Seconds(1), Seconds(0.5));
  EXPECT_EQ(c.samples(), 4u);
  EXPECT_EQ(c.Factor(), 1.0);  // a model that over-predicts never loosens the SLO
  c.Add(Seconds(0), Seconds(1));  // ignored
  c.Add(Seconds(1), Seconds(-1));  // ignored
  EXPECT_EQ(c.samples(), 4u);
  EXPECT_EQ(c.Factor(), 1.0);
  for (int i = 0; i < 4; ++i) c.Add(Seconds(1), Seconds(2));
  EXPECT_EQ(c.Factor(), 2.0);
  c.Reset();
  EXPECT_EQ(c.samples(), 0u);
  EXPECT_EQ(c.Factor(), 1.0);
  c.Add(Seconds(1), Seconds(1.5));
  c.Add(Seconds(1), Seconds(1.5));
  EXPECT_EQ(c.Factor(), 1.5);
}

TEST(StepCalibrationTest, OptionsAreValidated) {
  EXPECT_TRUE(ValidateStepCalibrationOptions({}).ok());
  EXPECT_FALSE(ValidateStepCalibrationOptions({.quantile = 0}).ok());
  EXPECT_FALSE(ValidateStepCalibrationOptions({.quantile = 1.5}).ok());
  EXPECT_FALSE(ValidateStepCalibrationOptions({.window = 4, .min_samples = 8}).ok());
  EXPECT_FALSE(ValidateStepCalibrationOptions({.max_factor = 0.5}).ok());
}

}  // namespace
}  // namespace orbitflow
