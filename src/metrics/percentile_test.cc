#include "metrics/percentile.h"

#include <array>
#include <cmath>
#include <limits>

#include <gtest/gtest.h>

namespace orbitflow {
namespace {

TEST(PercentileTest, LinearInterpolationLikeNumpy) {
  // numpy.percentile([1, 2, 3, 4], p): rank = p/100 * 3.
  const std::vector<double> v = {4, 1, 3, 2};  // order does not matter
  EXPECT_DOUBLE_EQ(Percentile(v, 0), 1.0);
  EXPECT_DOUBLE_EQ(Percentile(v, 100), 4.0);
  EXPECT_DOUBLE_EQ(Percentile(v, 50), 2.5);   // rank 1.5
  EXPECT_DOUBLE_EQ(Percentile(v, 25), 1.75);  // rank 0.75
  EXPECT_DOUBLE_EQ(Percentile(v, 90), 3.7);   // rank 2.7
  EXPECT_DOUBLE_EQ(Percentile(v, 95), 3.85);  // rank 2.85
}

TEST(PercentileTest, TenValues) {
  // numpy.percentile(range(10, 110, 10), 95) == 95.5 (rank 8.55 between 90 and 100).
  std::vector<double> v;
  for (int i = 1; i <= 10; ++i) v.push_back(10.0 * i);
  EXPECT_NEAR(Percentile(v, 95), 95.5, 1e-12);
  EXPECT_NEAR(Percentile(v, 99), 99.1, 1e-12);
  EXPECT_NEAR(Percentile(v, 50), 55.0, 1e-12);
}

TEST(PercentileTest, EdgeCases) {
  EXPECT_TRUE(std::isnan(Percentile({}, 50)));
  EXPECT_DOUBLE_EQ(Percentile({7}, 0), 7.0);
  EXPECT_DOUBLE_EQ(Percentile({7}, 99), 7.0);
  EXPECT_DOUBLE_EQ(Percentile({1, 2}, -5), 1.0);   // clamped to 0
  EXPECT_DOUBLE_EQ(Percentile({1, 2}, 250), 2.0);  // clamped to 100
  const double inf = std::numeric_limits<double>::infinity();
  EXPECT_EQ(Percentile({1, inf, inf}, 100), inf);  // not NaN from inf - inf
}

TEST(PercentileTest, ManyAtOnceMatchesOneByOne) {
  const std::vector<double> v = {0.5, 0.5, 1.5, 1.0, 0.5, 1.0};
  const std::array<double, 4> ps = {50, 90, 95, 99};
  const std::vector<double> got = Percentiles(v, ps);
  ASSERT_EQ(got.size(), 4u);
  // Sorted: 0.5 0.5 0.5 1 1 1.5; ranks 2.5, 4.5, 4.75, 4.95.
  EXPECT_NEAR(got[0], 0.75, 1e-12);
  EXPECT_NEAR(got[1], 1.25, 1e-12);
  EXPECT_NEAR(got[2], 1.375, 1e-12);
  EXPECT_NEAR(got[3], 1.475, 1e-12);
  for (size_t i = 0; i < ps.size(); ++i) EXPECT_DOUBLE_EQ(got[i], Percentile(v, ps[i]));
}

TEST(StatsTest, MeanMedianStd) {
  const std::vector<double> v = {2, 4, 4, 4, 5, 5, 7, 9};
  EXPECT_DOUBLE_EQ(Mean(v), 5.0);
  EXPECT_DOUBLE_EQ(Median(v), 4.5);
  EXPECT_DOUBLE_EQ(StdDev(v), 2.0);  // population std: sqrt(32 / 8)
  EXPECT_DOUBLE_EQ(Median({3, 1, 2}), 2.0);
  EXPECT_TRUE(std::isnan(Mean({})));
  EXPECT_TRUE(std::isnan(StdDev({})));
  EXPECT_DOUBLE_EQ(StdDev(std::vector<double>{3}), 0.0);
}

}  // namespace
}  // namespace orbitflow
