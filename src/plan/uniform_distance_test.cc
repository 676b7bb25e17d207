#include "plan/uniform_distance.h"

#include <gtest/gtest.h>

#include "plan/plan_test_util.h"

namespace orbitflow {
namespace {

constexpr int kLayers = 32;
constexpr int64_t kBudget = 611 * 32;  // the paper's "32k" cap: 611 blocks per layer = 19,552

TEST(CapacityUniformDistanceTest, EverythingFitsIsAllDevice) {
  // on_dev = min(32, floor(19552 / 611)) = 32, off = 0.
  EXPECT_EQ(CapacityUniformDistance(kLayers, kBudget, 611), Distance::AllDevice());
  // on_dev = min(32, floor(19552 / 100) = 195) = 32.
  EXPECT_EQ(CapacityUniformDistance(kLayers, kBudget, 100), Distance::AllDevice());
  // A batch that needs nothing fits anywhere, even in an empty pool.
  EXPECT_EQ(CapacityUniformDistance(kLayers, 0, 0), Distance::AllDevice());
}

TEST(CapacityUniformDistanceTest, NothingFitsIsDistanceOne) {
  // on_dev = floor(0 / 611) = 0, off = 32: d = max(1, floor(32 / 32) - 1 = 0) = 1.
  EXPECT_EQ(CapacityUniformDistance(kLayers, 0, 611), Distance::Every(1));
  // Less than one layer's worth: on_dev = floor(610 / 611) = 0, same.
  EXPECT_EQ(CapacityUniformDistance(kLayers, 610, 611), Distance::Every(1));
  // A negative budget counts as none.
  EXPECT_EQ(CapacityUniformDistance(kLayers, -5, 611), Distance::Every(1));
}

TEST(CapacityUniformDistanceTest, OneLayerShortOffloadsOneLayer) {
  // on_dev = floor((19552 - 1) / 611) = 31, off = 1: d = floor(32 / 1) - 1 = 31, n_off = 1.
  const Distance d = CapacityUniformDistance(kLayers, kBudget - 1, 611);
  EXPECT_EQ(d, Distance::Every(31));
  EXPECT_EQ(d.NumOffloaded(kLayers), 1);
}

TEST(CapacityUniformDistanceTest, HandComputedMiddleCases) {
  // needed 690: on_dev = floor(19552 / 690) = 28 (690 x 28 = 19320), off = 4, d = 8 - 1 = 7.
  EXPECT_EQ(CapacityUniformDistance(kLayers, kBudget, 690), Distance::Every(7));
  // needed 800: on_dev = 24 (19552 / 800 = 24.44), off = 8, d = 4 - 1 = 3.
  EXPECT_EQ(CapacityUniformDistance(kLayers, kBudget, 800), Distance::Every(3));
  // needed 880: on_dev = 22 (19552 / 880 = 22.2), off = 10, d = floor(3.2) - 1 = 2.
  EXPECT_EQ(CapacityUniformDistance(kLayers, kBudget, 880), Distance::Every(2));
  // needed 2316: on_dev = 8 (2316 x 8 = 18528), off = 24, d = max(1, 1 - 1) = 1.
  EXPECT_EQ(CapacityUniformDistance(kLayers, kBudget, 2316), Distance::Every(1));
}

}  // namespace
}  // namespace orbitflow
