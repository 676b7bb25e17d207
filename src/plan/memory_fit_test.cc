#include "plan/memory_fit.h"

#include <gtest/gtest.h>

#include <vector>

#include "plan/plan_test_util.h"

namespace orbitflow {
namespace {

using plan_test::A100Llama8B;
using plan_test::Candidate;
using plan_test::IdValues;
using plan_test::Input;

constexpr int kLayers = 32;
constexpr int64_t kBudget = 611 * 32;  // 19,552 layer-blocks

UniformDistanceRule Fixed(Distance d) {
  return [d](std::span<const PlanCandidate>, int64_t) { return d; };
}

TEST(MemoryFitTest, DeviceBlocksCountLookaheadPerDeviceLayer) {
  // b = 313 (5000 tokens): each device layer holds 313 + 1 blocks.
  EXPECT_EQ(DeviceBlocksWithLookahead(Distance::AllDevice(), 313, kLayers), 32 * 314);  // 10048
  EXPECT_EQ(DeviceBlocksWithLookahead(Distance::Every(1), 313, kLayers), 16 * 314);     // 5024
  EXPECT_EQ(DeviceBlocksWithLookahead(Distance::Every(7), 313, kLayers), 28 * 314);     // n_off 4
  EXPECT_EQ(DeviceBlocksWithLookahead(Distance::Every(0), 313, kLayers), 0);
  const std::vector<PlanCandidate> batch = {Candidate(1, 5000, 0), Candidate(2, 12000, 1)};
  // b = 313 and 750: 16 x (314 + 751) = 17040.
  EXPECT_EQ(UniformDeviceBlocks(batch, Distance::Every(1), kLayers), 17040);
}

TEST(MemoryFitTest, PreemptionOrderIsLifoByArrivalThenByPosition) {
  const std::vector<PlanCandidate> batch = {Candidate(10, 100, 5), Candidate(11, 100, 1),
                                            Candidate(12, 100, 3), Candidate(13, 100, 3)};
  // Latest arrival (5) first; the tie at 3 goes to the later position (index 3) first.
  EXPECT_EQ(PreemptionOrder(batch), (std::vector<size_t>{0, 3, 2, 1}));
}

TEST(MemoryFitTest, PausesMostRecentArrivalsUntilThePoolHolds) {
  const CostModel cost = A100Llama8B();
  // Input order is not arrival order: 5000 tokens arrived last, 12000 first.
  const std::vector<PlanCandidate> batch = {Candidate(1, 5000, 5), Candidate(2, 12000, 1),
                                            Candidate(3, 20000, 3)};
  // d = 1 keeps 16 layers: 16 x (314 + 751 + 1251) = 37056 > 19552 -> pause request 1 (t=5);
  // 16 x (751 + 1251) = 32032 > 19552 -> pause request 3 (t=3); 16 x 751 = 12016 fits.
  StatusOr<PlanDecision> got =
      FitOrPreempt(Input(batch, kBudget, cost), Fixed(Distance::Every(1)), {});
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(IdValues(got->pause), (std::vector<int64_t>{1, 3}));
  EXPECT_EQ(IdValues(got->ids), (std::vector<int64_t>{2}));
  EXPECT_EQ(got->distances, (std::vector<Distance>{Distance::Every(1)}));
  EXPECT_FALSE(got->fallback);
  EXPECT_LE(UniformDeviceBlocks(std::span(batch).subspan(1, 1), Distance::Every(1), kLayers),
            kBudget);
}

TEST(MemoryFitTest, RuleIsAskedAgainForTheSmallerBatch) {
  const CostModel cost = A100Llama8B();
  const std::vector<PlanCandidate> batch = {Candidate(1, 5000, 0), Candidate(2, 12000, 1),
                                            Candidate(3, 20000, 2)};
  std::vector<size_t> sizes;
  // Offload every other layer while three requests run, nothing once fewer do: three need
  // 37056 > 19552 at d = 1, so request 3 is paused; two at AllDevice need
  // 32 x (314 + 751) = 34080 > 19552, so request 2 is paused; one at AllDevice: 10048 fits.
  const UniformDistanceRule rule = [&](std::span<const PlanCandidate> b, int64_t) {
    sizes.push_back(b.size());
    return b.size() >= 3 ? Distance::Every(1) : Distance::AllDevice();
  };
  StatusOr<PlanDecision> got = FitOrPreempt(Input(batch, kBudget, cost), rule, {});
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(sizes, (std::vector<size_t>{3, 2, 1}));
  EXPECT_EQ(IdValues(got->pause), (std::vector<int64_t>{3, 2}));
  EXPECT_EQ(got->distances, (std::vector<Distance>{Distance::AllDevice()}));
}

TEST(MemoryFitTest, APausedRequestsRetainedLayerComesOutOfTheBudget) {
  const CostModel cost = A100Llama8B();
  const std::vector<PlanCandidate> batch = {Candidate(1, 5000, 0), Candidate(2, 12000, 1)};
  // Request 1 alone at AllDevice needs 32 x 314 = 10048 <= 10148, but request 2, once paused,
  // keeps its first layer (750 blocks): 10048 + 750 > 10148, so request 1 must offload.
  const int64_t budget = 32 * 314 + 100;
  std::vector<int64_t> budgets;
  const UniformDistanceRule rule = [&](std::span<const PlanCandidate>, int64_t b) {
    budgets.push_back(b);
    return Distance::AllDevice();
  };
  StatusOr<PlanDecision> got = FitOrPreempt(Input(batch, budget, cost), rule, {});
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(IdValues(got->pause), (std::vector<int64_t>{2}));
  EXPECT_EQ(got->distances, (std::vector<Distance>{Distance::Every(0)}));
  EXPECT_TRUE(got->fallback);
  EXPECT_EQ(budgets, (std::vector<int64_t>{budget, budget - 750}));
}

TEST(MemoryFitTest, LastRequestFallsBackToFullOffload) {
  const CostModel cost = A100Llama8B();
  // 20000 tokens at d = 1: 16 x 1251 = 20016 > 19552, and it is the only request.
  const std::vector<PlanCandidate> batch = {Candidate(7, 20000, 0)};
  StatusOr<PlanDecision> got =
      FitOrPreempt(Input(batch, kBudget, cost), Fixed(Distance::Every(1)), {});
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_TRUE(got->pause.empty());
  EXPECT_EQ(got->distances, (std::vector<Distance>{Distance::Every(0)}));
  EXPECT_TRUE(got->fallback);
}

TEST(MemoryFitTest, LastRequestIsInfeasibleWithoutOffload) {
  const CostModel cost = A100Llama8B();
  const std::vector<PlanCandidate> batch = {Candidate(7, 20000, 0)};
  const MemoryFitOptions options{.last_request = LastRequestPolicy::kInfeasible};
  // AllDevice needs 32 x 1251 = 40032 > 19552.
  StatusOr<PlanDecision> got =
      FitOrPreempt(Input(batch, kBudget, cost), Fixed(Distance::AllDevice()), options);
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().code(), StatusCode::kInfeasible);
  EXPECT_NE(got.status().message().find("40032"), std::string::npos) << got.status().message();
}

TEST(MemoryFitTest, PredictsStepTimeOfThePlacementAndCopiesTheWindow) {
  const CostModel cost = A100Llama8B();
  const std::vector<PlanCandidate> batch = {Candidate(1, 5000, 0), Candidate(2, 12000, 1)};
  StatusOr<PlanDecision> got = FitOrPreempt(Input(batch, kBudget, cost),
                                            Fixed(Distance::Every(0)), {.window_steps = 77});
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(got->window_steps, 77);
  // Every layer moves 314 + 751 = 1065 blocks; c = f_compute(17000) / 32. The link is slower
  // than compute, so T = 32 c + comm + 31 (comm - c) = c + 32 comm.
  const double c = (8.89e-7 * 17000 + 4.83e-2) / 32;
  const double comm = 1065 / (25.19 * 16384);
  ASSERT_GT(comm, c);
  EXPECT_NEAR(got->predicted_step.count(), c + 32 * comm, 1e-12);
}

TEST(MemoryFitTest, EmptyBatchAndBadInput) {
  const CostModel cost = A100Llama8B();
  const std::vector<PlanCandidate> none;
  StatusOr<PlanDecision> empty = FitOrPreempt(Input(none, 0, cost), Fixed(Distance::Every(1)), {});
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->ids.empty());
  EXPECT_TRUE(empty->pause.empty());
  EXPECT_EQ(empty->predicted_step.count(), 0.0);

  const std::vector<PlanCandidate> one = {Candidate(1, 100, 0)};
  PlanInput no_cost = Input(one, kBudget, cost);
  no_cost.cost = nullptr;
  EXPECT_EQ(FitOrPreempt(no_cost, Fixed(Distance::Every(1)), {}).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(FitOrPreempt(Input(one, -1, cost), Fixed(Distance::Every(1)), {}).status().code(),
            StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace orbitflow
