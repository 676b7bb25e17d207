#include "plan/baselines.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <set>
#include <vector>

#include "plan/plan_test_util.h"

namespace orbitflow {
namespace {

using plan_test::A100Llama8B;
using plan_test::Candidate;
using plan_test::IdValues;
using plan_test::Input;
using plan_test::Llama8BWithFits;

constexpr int kLayers = 32;
constexpr int64_t kBudget = 611 * 32;  // the paper's "32k" cap: 19,552 layer-blocks
constexpr double kAvgTrace = 3000;

std::unique_ptr<Planner> Make(std::string_view name) {
  StatusOr<std::unique_ptr<Planner>> p = MakeBaselinePlanner(name);
  EXPECT_TRUE(p.ok()) << p.status().ToString();
  return std::move(p).value();
}

// Contexts 5000 / 12000 / 20000 tokens, arriving in that order: b = 313, 750, 1250.
std::vector<PlanCandidate> ThreeLongRequests() {
  return {Candidate(1, 5000, 0), Candidate(2, 12000, 1), Candidate(3, 20000, 2)};
}

// ---- Factory ----

TEST(BaselineFactoryTest, NamesRoundTripAndUnknownNamesListTheKnownOnes) {
  const std::vector<std::string> names = BaselinePolicyNames();
  EXPECT_EQ(names, (std::vector<std::string>{"all-device", "deepspeed", "flexgen", "flexgen-plus",
                                             "slo-aware", "dynamic-heuristic"}));
  for (const std::string& n : names) EXPECT_EQ(Make(n)->name(), n);
  EXPECT_EQ(Make("FlexGen-Plus")->name(), "flexgen-plus");

  StatusOr<std::unique_ptr<Planner>> bad = MakeBaselinePlanner("vllm");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kNotFound);
  for (const std::string& n : names) {
    EXPECT_NE(bad.status().message().find(n), std::string::npos) << bad.status().message();
  }
}

TEST(BaselineFactoryTest, PerStepPoliciesUseWindowOneOthersALongWindow) {
  const CostModel cost = A100Llama8B();
  const std::vector<PlanCandidate> batch = {Candidate(1, 1000, 0)};
  for (const std::string& n : BaselinePolicyNames()) {
    std::unique_ptr<Planner> p = Make(n);
    const bool per_step = n == "all-device" || n == "dynamic-heuristic";
    EXPECT_EQ(p->ReplanEveryStep(), per_step) << n;
    StatusOr<PlanDecision> got = p->Plan(Input(batch, kBudget, cost, kAvgTrace));
    ASSERT_TRUE(got.ok()) << n << ": " << got.status().ToString();
    EXPECT_EQ(got->window_steps, per_step ? 1 : BaselineOptions{}.batch_window_steps) << n;
  }
  StatusOr<std::unique_ptr<Planner>> custom =
      MakeBaselinePlanner("flexgen", {.batch_window_steps = 64});
  ASSERT_TRUE(custom.ok());
  EXPECT_EQ((*custom)->Plan(Input(batch, kBudget, cost))->window_steps, 64);
}

// ---- all-device ----

TEST(AllDeviceTest, MinDeviceBlocksIsEveryLayerPlusLookahead) {
  AllDevicePlanner p;
  EXPECT_EQ(p.MinDeviceBlocks(20000, kLayers), 32 * (1250 + 1));  // 40032
  EXPECT_EQ(p.MinDeviceBlocks(16, kLayers), 32 * 2);
  EXPECT_EQ(p.MinDeviceBlocks(17, kLayers), 32 * 3);
  EXPECT_EQ(p.MinDeviceBlocks(0, kLayers), 32);
  // Offloading baselines can always fall back to d = 0, which keeps no KV on the device.
  for (const std::string& n : BaselinePolicyNames()) {
    if (n != "all-device") {
      EXPECT_EQ(Make(n)->MinDeviceBlocks(20000, kLayers), 0) << n;
    }
  }
}

TEST(AllDeviceTest, SwapPreemptsTheMostRecentArrival) {
  const CostModel cost = A100Llama8B();
  const std::vector<PlanCandidate> batch = ThreeLongRequests();
  // Request 3 keeps its first layer (1250 blocks) on the device once paused.
  const int64_t budget = 32 * 1100 + 1250;  // 36450
  // Needs 32 x (314 + 751 + 1251) = 74112 > 36450: pause request 3 (latest);
  // 32 x (314 + 751) + 1250 = 35330 <= 36450 fits.
  StatusOr<PlanDecision> got = AllDevicePlanner().Plan(Input(batch, budget, cost));
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(IdValues(got->pause), (std::vector<int64_t>{3}));
  EXPECT_EQ(IdValues(got->ids), (std::vector<int64_t>{1, 2}));
  EXPECT_EQ(got->distances, (std::vector<Distance>(2, Distance::AllDevice())));
  // No offload: the step is f_compute(5000 + 12000).
  EXPECT_NEAR(got->predicted_step.count(), 8.89e-7 * 17000 + 4.83e-2, 1e-12);
}

TEST(AllDeviceTest, ARequestLargerThanThePoolIsInfeasible) {
  const CostModel cost = A100Llama8B();
  const std::vector<PlanCandidate> batch = {Candidate(3, 20000, 0)};
  StatusOr<PlanDecision> got = AllDevicePlanner().Plan(Input(batch, 32 * 1100, cost));
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().code(), StatusCode::kInfeasible);
}

// ---- deepspeed, flexgen ----

TEST(FixedDistanceTest, DeepSpeedOffloadsEverythingAndNeverPauses) {
  const CostModel cost = A100Llama8B();
  const std::vector<PlanCandidate> batch = ThreeLongRequests();
  StatusOr<PlanDecision> got = Make("deepspeed")->Plan(Input(batch, 0, cost));
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_TRUE(got->pause.empty());
  EXPECT_EQ(got->distances, (std::vector<Distance>(3, Distance::Every(0))));
  EXPECT_FALSE(got->fallback);
  // Every layer moves 314 + 751 + 1251 = 2316 blocks, slower than a layer's compute:
  // T = c + 32 comm with c = f_compute(37000) / 32.
  const double c = (8.89e-7 * 37000 + 4.83e-2) / 32;
  const double comm = 2316 / (25.19 * 16384);
  EXPECT_NEAR(got->predicted_step.count(), c + 32 * comm, 1e-12);
}

TEST(FixedDistanceTest, FlexGenKeepsDistanceOneAndPreemptsToFit) {
  const CostModel cost = A100Llama8B();
  const std::vector<PlanCandidate> batch = ThreeLongRequests();
  // d = 1 keeps 16 layers: 16 x 2316 = 37056 > 19552 -> pause request 3;
  // 16 x (314 + 751) = 17040 <= 19552.
  StatusOr<PlanDecision> got = Make("flexgen")->Plan(Input(batch, kBudget, cost));
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(IdValues(got->pause), (std::vector<int64_t>{3}));
  EXPECT_EQ(IdValues(got->ids), (std::vector<int64_t>{1, 2}));
  EXPECT_EQ(got->distances, (std::vector<Distance>(2, Distance::Every(1))));
}

// ---- flexgen-plus ----

TEST(FlexGenPlusTest, PaperCapWithThreeLongRequests) {
  const CostModel cost = A100Llama8B();
  const std::vector<PlanCandidate> batch = ThreeLongRequests();
  // All contexts exceed the 3000-token average: blocks_per_layer = (313 + 1) + (750 + 1) +
  // (1250 + 1) = 2316; on_dev = min(32, floor(19552 / 2316)) = 8; off = 24;
  // d = max(1, floor(32 / 24) - 1) = 1. Memory: 16 x 2316 = 37056 > 19552, so request 3 (the
  // latest) is paused and the rule asked again: blocks_per_layer = 314 + 751 = 1065;
  // on_dev = floor(19552 / 1065) = 18; off = 14; d = max(1, 2 - 1) = 1; 16 x 1065 = 17040 fits.
  EXPECT_EQ(UniformLayerBlocks(batch, kAvgTrace, 1), 2316);
  StatusOr<PlanDecision> got = Make("flexgen-plus")->Plan(Input(batch, kBudget, cost, kAvgTrace));
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(IdValues(got->pause), (std::vector<int64_t>{3}));
  EXPECT_EQ(IdValues(got->ids), (std::vector<int64_t>{1, 2}));
  EXPECT_EQ(got->distances, (std::vector<Distance>(2, Distance::Every(1))));
}

TEST(FlexGenPlusTest, FitsWithoutPausingInTheMiddleRange) {
  const CostModel cost = A100Llama8B();
  const std::vector<PlanCandidate> batch = {Candidate(1, 5000, 0), Candidate(2, 6000, 1)};
  // blocks_per_layer = (313 + 1) + (375 + 1) = 690; on_dev = floor(19552 / 690) = 28; off = 4;
  // d = floor(32 / 4) - 1 = 7 (n_off 4). Memory: 28 x 690 = 19320 <= 19552.
  StatusOr<PlanDecision> got = Make("flexgen-plus")->Plan(Input(batch, kBudget, cost, kAvgTrace));
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_TRUE(got->pause.empty());
  EXPECT_EQ(got->distances, (std::vector<Distance>(2, Distance::Every(7))));
}

TEST(FlexGenPlusTest, ShortContextsCountAsTheTraceAverage) {
  const CostModel cost = A100Llama8B();
  const std::vector<PlanCandidate> batch = {Candidate(1, 1000, 0), Candidate(2, 2000, 1)};
  const int64_t budget = 32 * 300;  // 9600
  // Both below the 3000-token average: blocks_per_layer = 2 x (188 + 1) = 378;
  // on_dev = floor(9600 / 378) = 25; off = 7; d = floor(32 / 7) - 1 = 3 (n_off 8).
  // Memory at the real contexts: 24 x ((63 + 1) + (125 + 1)) = 4560 <= 9600.
  EXPECT_EQ(UniformLayerBlocks(batch, kAvgTrace, 1), 378);
  StatusOr<PlanDecision> got = Make("flexgen-plus")->Plan(Input(batch, budget, cost, kAvgTrace));
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(got->distances, (std::vector<Distance>(2, Distance::Every(3))));

  // The dynamic heuristic counts the real contexts with 2 look-ahead blocks:
  // (63 + 2) + (125 + 2) = 192; on_dev = min(32, floor(9600 / 192) = 50) = 32: no offload.
  EXPECT_EQ(UniformLayerBlocks(batch, 0, 2), 192);
  got = Make("dynamic-heuristic")->Plan(Input(batch, budget, cost, kAvgTrace));
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(got->distances, (std::vector<Distance>(2, Distance::AllDevice())));
}

// ---- slo-aware ----

TEST(SloAwareTest, DistanceFromTheComputeToTransferRatio) {
  // k = floor(0.75 / 0.125) = 6: d = max(1, floor(32 / 6)) = 5.
  EXPECT_EQ(SloAwareDistance(kLayers, Seconds(0.75), Seconds(0.125)), Distance::Every(5));
  // k = 2: d = 16.
  EXPECT_EQ(SloAwareDistance(kLayers, Seconds(0.5), Seconds(0.25)), Distance::Every(16));
  // k = 1 (also floor(1.2)): d = 32 = L, which means no offload.
  EXPECT_EQ(SloAwareDistance(kLayers, Seconds(0.25), Seconds(0.25)), Distance::AllDevice());
  EXPECT_EQ(SloAwareDistance(kLayers, Seconds(0.3), Seconds(0.25)), Distance::AllDevice());
  // k = 64 > L: floor(32 / 64) = 0, clamped to 1.
  EXPECT_EQ(SloAwareDistance(kLayers, Seconds(1.0), Seconds(1.0 / 64)), Distance::Every(1));
  // k < 1: transfer slower than compute.
  EXPECT_EQ(SloAwareDistance(kLayers, Seconds(0.1), Seconds(0.2)), Distance::Every(1));
  // Degenerate fits: free transfer (k = inf) and 0 / 0 both give d = 1, never a crash.
  EXPECT_EQ(SloAwareDistance(kLayers, Seconds(0.1), Seconds(0)), Distance::Every(1));
  EXPECT_EQ(SloAwareDistance(kLayers, Seconds(0), Seconds(0)), Distance::Every(1));
}

TEST(SloAwareTest, OnTheA100ProfileTransferAlwaysDominates) {
  const CostModel cost = A100Llama8B();
  std::vector<PlanCandidate> batch = ThreeLongRequests();
  // X = 5000 + 12000 + 20000 = 37000 (all above the average).
  // f_compute = 8.89e-7 x 37000 + 4.83e-2 = 0.081193; f_transfer = 1.81e-5 x 37000 + 6.31e-2 =
  // 0.7328; k = floor(0.1108) = 0 -> d = 1. Memory as FlexGen: request 3 is paused.
  EXPECT_EQ(SloAwareBatchTokens(batch, kAvgTrace), 37000);
  EXPECT_EQ(SloAwareDistance(kLayers, cost.DecodeStep(37000), cost.TransferAll(37000)),
            Distance::Every(1));
  StatusOr<PlanDecision> got = Make("slo-aware")->Plan(Input(batch, kBudget, cost, kAvgTrace));
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(IdValues(got->pause), (std::vector<int64_t>{3}));
  EXPECT_EQ(got->distances, (std::vector<Distance>(2, Distance::Every(1))));
  // Even an empty-context batch: 0.0483 / 0.0631 = 0.765 -> k = 0.
  EXPECT_EQ(SloAwareDistance(kLayers, cost.DecodeStep(0), cost.TransferAll(0)),
            Distance::Every(1));
}

TEST(SloAwareTest, A6000ProfileAndTheTraceAverageFloor) {
  const ModelSpec m = *LookupModelSpec("llama-3.1-8b");
  const CostModel cost(m, BuiltinCostProfile(m, *LookupHardware("rtx-a6000")));
  // f_compute(X) = 6.74e-7 X + 4.06e-2, f_transfer(X) = 1.87e-5 X + 1.06e-2.
  // X = 100: 0.0406674 / 0.01247 = 3.26 -> k = 3 -> d = floor(32 / 3) = 10.
  const std::vector<PlanCandidate> short_batch = {Candidate(1, 100, 0)};
  StatusOr<PlanDecision> got = Make("slo-aware")->Plan(Input(short_batch, kBudget, cost));
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(got->distances, (std::vector<Distance>{Distance::Every(10)}));
  // With a 1000-token trace average the same request counts as X = 1000:
  // 0.041274 / 0.0293 = 1.41 -> k = 1 -> d = 32 = L -> no offload.
  EXPECT_EQ(SloAwareBatchTokens(short_batch, 1000), 1000);
  got = Make("slo-aware")->Plan(Input(short_batch, kBudget, cost, 1000));
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(got->distances, (std::vector<Distance>{Distance::AllDevice()}));
}

TEST(SloAwareTest, DistanceIsKeptUntilTheBatchChanges) {
  const ModelSpec m = *LookupModelSpec("llama-3.1-8b");
  const CostModel cost(m, BuiltinCostProfile(m, *LookupHardware("rtx-a6000")));
  std::unique_ptr<Planner> p = Make("slo-aware");
  std::vector<PlanCandidate> batch = {Candidate(1, 100, 0)};
  ASSERT_EQ(p->Plan(Input(batch, kBudget, cost))->distances[0], Distance::Every(10));
  // The context grows to X = 1000 (fresh choice: AllDevice, see above). A window or drift
  // re-plan of the same batch keeps d = 10; a batch change re-derives it.
  batch[0].context_tokens = 1000;
  for (ReplanCause cause : {ReplanCause::kWindowExpired, ReplanCause::kDrift,
                            ReplanCause::kApplyFailed, ReplanCause::kPrefill}) {
    EXPECT_EQ(p->Plan(Input(batch, kBudget, cost, 0, cause))->distances[0], Distance::Every(10))
        << ReplanCauseName(cause);
  }
  EXPECT_EQ(p->Plan(Input(batch, kBudget, cost, 0, ReplanCause::kBatchChanged))->distances[0],
            Distance::AllDevice());
  // A different set of requests is a batch change whatever the cause says: request 9 at
  // X = 100 gets a fresh d = 10, not the AllDevice kept for request 1.
  const std::vector<PlanCandidate> other = {Candidate(9, 100, 1)};
  EXPECT_EQ(p->Plan(Input(other, kBudget, cost, 0, ReplanCause::kWindowExpired))->distances[0],
            Distance::Every(10));
}

// ---- dynamic-heuristic ----

TEST(DynamicHeuristicTest, ThreeLongRequestsAtThePaperCap) {
  const CostModel cost = A100Llama8B();
  const std::vector<PlanCandidate> batch = ThreeLongRequests();
  // blocks_per_layer = (313 + 2) + (750 + 2) + (1250 + 2) = 2319; on_dev = floor(19552 / 2319)
  // = 8; off = 24; d = 1. Memory: 16 x 2316 = 37056 > 19552 -> pause request 3; then
  // 315 + 752 = 1067 -> on_dev = 18, off = 14, d = 1; 16 x 1065 = 17040 fits.
  EXPECT_EQ(UniformLayerBlocks(batch, 0, 2), 2319);
  StatusOr<PlanDecision> got = Make("dynamic-heuristic")->Plan(Input(batch, kBudget, cost));
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(IdValues(got->pause), (std::vector<int64_t>{3}));
  EXPECT_EQ(got->distances, (std::vector<Distance>(2, Distance::Every(1))));
}

TEST(DynamicHeuristicTest, RecomputedEveryStepAsContextsGrow) {
  const CostModel cost = A100Llama8B();
  std::unique_ptr<Planner> p = Make("dynamic-heuristic");
  const int64_t budget = 32 * 200;  // 6400
  std::vector<PlanCandidate> batch = {Candidate(1, 1000, 0), Candidate(2, 2000, 1)};
  // (63 + 2) + (125 + 2) = 192; on_dev = min(32, 33) = 32 -> AllDevice; 32 x 190 = 6080 fits.
  EXPECT_EQ(p->Plan(Input(batch, budget, cost))->distances[0], Distance::AllDevice());
  // 1100 / 2100 tokens: (69 + 2) + (132 + 2) = 205; on_dev = floor(6400 / 205) = 31; off = 1;
  // d = 31 (n_off 1). Memory: 31 x (70 + 133) = 6293 <= 6400.
  batch[0].context_tokens = 1100;
  batch[1].context_tokens = 2100;
  StatusOr<PlanDecision> got =
      p->Plan(Input(batch, budget, cost, 0, ReplanCause::kEveryStep));
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_TRUE(got->pause.empty());
  EXPECT_EQ(got->distances, (std::vector<Distance>(2, Distance::Every(31))));
}

// ---- Invariants over every policy ----

// Random batches under tight pools: the kept placement fits the pool, the paused requests are
// the latest arrivals, ids stay in input order, and planning the kept batch again is stable.
TEST(BaselineInvariantsTest, PreemptionIsLifoAndThePoolHolds) {
  const CostModel cost = A100Llama8B();
  std::mt19937 rng(20260);
  std::uniform_int_distribution<int64_t> ctx(1, 40000);
  std::uniform_int_distribution<int> arrival(0, 20), count(1, 8);
  std::uniform_int_distribution<int64_t> per_layer(0, 3000);
  int pauses = 0, fallbacks = 0, infeasible = 0;  // the paths the trials must reach
  for (int trial = 0; trial < 300; ++trial) {
    std::vector<PlanCandidate> batch;
    const int n = count(rng);
    for (int i = 0; i < n; ++i) batch.push_back(Candidate(100 + i, ctx(rng), arrival(rng)));
    const int64_t budget = per_layer(rng) * kLayers;
    for (const std::string& name : BaselinePolicyNames()) {
      SCOPED_TRACE(name + " trial " + std::to_string(trial));
      std::unique_ptr<Planner> p = Make(name);
      StatusOr<PlanDecision> got = p->Plan(Input(batch, budget, cost, kAvgTrace));
      if (!got.ok()) {
        // Only the no-offload policy can fail, and only when its earliest request does not fit
        // beside the first layer every other (paused) request keeps.
        ASSERT_EQ(name, "all-device");
        ASSERT_EQ(got.status().code(), StatusCode::kInfeasible);
        const PlanCandidate& earliest = batch[PreemptionOrder(batch).back()];
        int64_t others = 0;
        for (const PlanCandidate& r : batch) others += r.blocks_per_layer();
        others -= earliest.blocks_per_layer();
        EXPECT_GT(p->MinDeviceBlocks(earliest.context_tokens, kLayers) + others, budget);
        ++infeasible;
        continue;
      }
      pauses += static_cast<int>(got->pause.size());
      fallbacks += got->fallback ? 1 : 0;
      const std::vector<int64_t> paused_ids = IdValues(got->pause);
      const std::set<int64_t> paused(paused_ids.begin(), paused_ids.end());
      std::vector<PlanCandidate> kept;
      for (const PlanCandidate& r : batch) {
        if (!paused.contains(r.id.value())) kept.push_back(r);
      }
      ASSERT_EQ(paused.size() + kept.size(), batch.size());
      ASSERT_EQ(got->ids.size(), kept.size());
      ASSERT_FALSE(kept.empty());
      int64_t used = 0;
      for (size_t i = 0; i < kept.size(); ++i) {
        EXPECT_EQ(got->ids[i], kept[i].id);
        used += DeviceBlocksWithLookahead(got->distances[i], kept[i].blocks_per_layer(), kLayers);
      }
      // Paused requests keep their first layer on the device: the kept placement fits beside it.
      int64_t retained = 0;
      for (const PlanCandidate& r : batch) {
        if (!paused.contains(r.id.value())) continue;
        retained += r.blocks_per_layer();
        for (const PlanCandidate& k : kept) EXPECT_GE(r.arrival, k.arrival);
      }
      // The full-offload fallback keeps nothing new on the device; only it may leave the
      // retained layers alone over a pool this small.
      if (!got->fallback) EXPECT_LE(used + retained, budget);
      StatusOr<PlanDecision> again = p->Plan(Input(kept, std::max<int64_t>(0, budget - retained), cost, kAvgTrace));
      ASSERT_TRUE(again.ok());
      EXPECT_TRUE(again->pause.empty());
      EXPECT_EQ(again->distances, got->distances);
    }
  }
  EXPECT_GT(pauses, 0);
  EXPECT_GT(fallbacks, 0);
  EXPECT_GT(infeasible, 0);
}

}  // namespace
}  // namespace orbitflow
