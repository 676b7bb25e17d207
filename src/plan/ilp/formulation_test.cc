#include "plan/ilp/formulation.h"

#include <gtest/gtest.h>

#include <random>

#include "metrics/token_deposit.h"
#include "plan/ilp/ilp_test_util.h"
#include "plan/ilp/planner_bench.h"

namespace orbitflow {
namespace {

using testing_util::NoExtraHeadroom;
using testing_util::Request;
using testing_util::RoundCostModel;

TEST(FormulationTest, HeadroomTakesTheLargestTerm) {
  HeadroomOptions h;  // 0.1%, 100 blocks
  EXPECT_EQ(HeadroomBlocks(h, 1'000'000, 4, 32), 1000);  // the fraction
  EXPECT_EQ(HeadroomBlocks(h, 10'000, 2, 32), 100);      // the floor
  EXPECT_EQ(HeadroomBlocks(h, 10'000, 8, 32), 256);      // one block per request and layer
  h.min_blocks = 0;
  h.fraction = 0;
  EXPECT_EQ(HeadroomBlocks(h, 10'000, 3, 5), 15);
}

TEST(FormulationTest, BuildsCandidatesMemoryAndBudget) {
  const CostModel cost = RoundCostModel(4, 0.01, 1000);
  std::vector<PlanCandidate> reqs = {Request(1, 5, 0.05), Request(2, 3, 0.05)};
  PlanInput in;
  in.requests = reqs;
  in.device_blocks = 34;
  in.cost = &cost;
  auto inst = BuildIlpInstance(in, NoExtraHeadroom());
  ASSERT_TRUE(inst.ok()) << inst.status().ToString();
  // L = 4: AllDevice, d = 3 (n 1), d = 1 (n 2), d = 0 (n 4).
  ASSERT_EQ(inst->num_options(), 4);
  EXPECT_EQ(inst->offloaded, (std::vector<int>{0, 1, 2, 4}));
  EXPECT_EQ(inst->Prefix(2, 0), 0);  // d = 1 offloads layers 2 and 4
  EXPECT_EQ(inst->Prefix(2, 1), 1);
  EXPECT_EQ(inst->Prefix(2, 3), 2);
  EXPECT_EQ(inst->requests[0].link_blocks, 6);
  EXPECT_EQ(inst->Memory(0, 1), 15);
  EXPECT_EQ(inst->headroom_blocks, 8);
  EXPECT_EQ(inst->memory_blocks, 26);
  EXPECT_DOUBLE_EQ(inst->layer_compute_s, 0.01);
  EXPECT_NEAR(inst->link_blocks_per_s, 1000, 1e-9);
}

TEST(FormulationTest, RejectsBadInput) {
  const CostModel cost = RoundCostModel(4, 0.01, 1000);
  std::vector<PlanCandidate> reqs = {Request(1, 5, 0.0)};
  PlanInput in;
  in.requests = reqs;
  in.cost = &cost;
  EXPECT_EQ(BuildIlpInstance(in, IlpOptions{}).status().code(), StatusCode::kInvalidArgument);
  reqs[0].slo = Seconds(0.1);
  in.cost = nullptr;
  EXPECT_EQ(BuildIlpInstance(in, IlpOptions{}).status().code(), StatusCode::kInvalidArgument);
  in.cost = &cost;
  IlpOptions bad;
  bad.window_min = 50;
  bad.window_max = 40;
  EXPECT_EQ(BuildIlpInstance(in, bad).status().code(), StatusCode::kInvalidArgument);
}

TEST(FormulationTest, SloStepLimitByHand) {
  constexpr SloMissModel kRate = SloMissModel::kRate;
  // Two requests with S = 10 ms, no deposit, F = 0.5: 2 (1 - 0.01 / T) <= 0.5 iff T <= 0.01 / 0.75.
  std::vector<IlpRequest> r(2);
  r[0].slo_s = r[1].slo_s = 0.01;
  EXPECT_NEAR(SloStepLimit(r, 0.5, 32, kRate), 0.01 / 0.75, 1e-15);
  // A deposit of 16 tokens over W = 32 halves each share: 2 (0.5 - 0.01 / T) <= 0.5 iff T <= 0.04.
  r[0].deposit = r[1].deposit = 16;
  EXPECT_NEAR(SloStepLimit(r, 0.5, 32, kRate), 0.04, 1e-15);
  // With F = 1 the shares (at most 0.5 each) never exceed the budget.
  EXPECT_TRUE(std::isinf(SloStepLimit(r, 1.0, 32, kRate)));
  // A deposit covering the whole window never counts.
  r[0].deposit = r[1].deposit = 40;
  EXPECT_TRUE(std::isinf(SloStepLimit(r, 0.0, 32, kRate)));
}

TEST(FormulationTest, DepositMissModelByHand) {
  constexpr SloMissModel kDeposit = SloMissModel::kDeposit;
  // No deposit: any T above S misses every token, T <= S misses none.
  EXPECT_EQ(SloMiss(kDeposit, 0.01, 0, 0.01, 32), 0.0);
  EXPECT_EQ(SloMiss(kDeposit, 0.01, 0, 0.0101, 32), 1.0);
  // 8 tokens of deposit at T = 12 ms, S = 10 ms: each step drains 0.2 tokens, so the deposit
  // covers 40 steps, more than W = 32: nothing missed. Over W = 80, half the steps miss.
  EXPECT_EQ(SloMiss(kDeposit, 0.01, 8, 0.012, 32), 0.0);
  EXPECT_NEAR(SloMiss(kDeposit, 0.01, 8, 0.012, 80), 0.5, 1e-12);
  // The scorer agrees: 80 gaps of 12 ms after 8 tokens of deposit give 40 violations.
  TokenDeposit td(Seconds(0.01));
  for (int i = 0; i < 8; ++i) td.AddGap(Seconds(0.0));
  const int64_t before = td.violations();
  for (int i = 0; i < 80; ++i) td.AddGap(Seconds(0.012));
  EXPECT_NEAR(static_cast<double>(td.violations() - before), 40.0, 1.0);

  std::vector<IlpRequest> r(2);
  r[0].slo_s = 0.01;
  r[1].slo_s = 0.02;
  // F = 0 without deposits: T_max is the strictest SLO; F = 1 lets one request miss entirely.
  EXPECT_EQ(SloStepLimit(r, 0.0, 32, kDeposit), 0.01);
  EXPECT_EQ(SloStepLimit(r, 1.0, 32, kDeposit), 0.02);
  EXPECT_TRUE(std::isinf(SloStepLimit(r, 2.0, 32, kDeposit)));
  // 16 tokens each: r counts from tau = S (1 + 16 / 32) = 1.5 S, so with F = 0, T_max = 15 ms.
  r[0].deposit = r[1].deposit = 16;
  EXPECT_NEAR(SloStepLimit(r, 0.0, 32, kDeposit), 0.015, 1e-15);
  // With F = 0.5, inside (15 ms, 30 ms] only r0 counts: 1 - 0.16 / (32 (T - 0.01)) = 0.5 at
  // T = 20 ms.
  EXPECT_NEAR(SloStepLimit(r, 0.5, 32, kDeposit), 0.02, 1e-12);
}

TEST(FormulationTest, SloStepLimitMatchesBisection) {
  std::mt19937_64 rng(11);
  std::uniform_real_distribution<double> u(0, 1);
  for (int trial = 0; trial < 1000; ++trial) {
    const SloMissModel model = trial % 2 == 0 ? SloMissModel::kRate : SloMissModel::kDeposit;
    std::vector<IlpRequest> r(1 + trial % 9);
    for (IlpRequest& q : r) {
      // Some SLOs repeat, so the deposit model's jumps coincide.
      q.slo_s = u(rng) < 0.2 ? 0.05 : 0.01 + 0.2 * u(rng);
      q.deposit = u(rng) < 0.5 ? 0 : 50 * u(rng);
    }
    const double f = u(rng) < 0.2 ? 0.0 : 3 * u(rng);
    const double t_max = SloStepLimit(r, f, 32, model);
    if (std::isinf(t_max)) {
      EXPECT_LE(SloMissShare(r, 1e9, 32, model), f + 1e-9);
      continue;
    }
    // The share is <= F up to T_max and above it right after.
    EXPECT_LE(SloMissShare(r, t_max, 32, model), f + 1e-9) << trial;
    EXPECT_GT(SloMissShare(r, t_max * (1 + 1e-6), 32, model), f) << trial;
    double lo = 1e-9, hi = 1e9;
    for (int it = 0; it < 200; ++it) {
      const double mid = std::sqrt(lo * hi);
      (SloMissShare(r, mid, 32, model) <= f ? lo : hi) = mid;
    }
    EXPECT_NEAR(t_max, lo, 1e-9 * lo) << trial;
  }
}

TEST(FormulationTest, EvaluateIsTheCostModelsPrefixFlow) {
  std::mt19937_64 rng(5);
  ScenarioOptions so;
  so.requests_min = 1;
  so.requests_max = 10;
  for (int trial = 0; trial < 200; ++trial) {
    so.layers = std::vector<int>{5, 16, 32, 80}[trial % 4];
    const PlannerScenario sc = RandomPlannerScenario(so, rng);
    auto inst = BuildIlpInstance(sc.Input(), IlpOptions{});
    ASSERT_TRUE(inst.ok());
    IlpAssignment a;
    std::vector<RequestLoad> loads;
    for (int r = 0; r < inst->num_requests(); ++r) {
      a.option.push_back(static_cast<int>(rng() % inst->num_options()));
      loads.push_back({inst->distances[a.option.back()], inst->requests[r].blocks});
    }
    auto e = Evaluate(*inst, a);
    ASSERT_TRUE(e.ok());
    EXPECT_EQ(e->step_s, sc.cost->StepTimePrefixFlow(loads, inst->batch_tokens).count());
    EXPECT_LE(e->step_s, sc.cost->StepTimePerLayer(loads, inst->batch_tokens).count() * (1 + 1e-12));
  }
}

TEST(FormulationTest, RestrictKeepsFirstLayersOfPausedRequests) {
  const CostModel cost = RoundCostModel(4, 0.01, 1000);
  std::vector<PlanCandidate> reqs = {Request(1, 5, 0.05), Request(2, 3, 0.05), Request(3, 7, 0.05)};
  PlanInput in;
  in.requests = reqs;
  in.device_blocks = 100;
  in.cost = &cost;
  auto full = BuildIlpInstance(in, NoExtraHeadroom());
  ASSERT_TRUE(full.ok());
  EXPECT_EQ(full->memory_blocks, 100 - 12);
  std::vector<uint8_t> kept = {1, 0, 1};
  IlpInstance sub;
  RestrictIlpInstance(*full, kept, &sub);
  ASSERT_EQ(sub.num_requests(), 2);
  EXPECT_EQ(sub.requests[1].id, RequestId(3));
  // Headroom for two requests (8) and request 2's first layer (3 blocks) stay on the device.
  EXPECT_EQ(sub.memory_blocks, 100 - 8 - 3);
  // Evaluate counts the same when the pause is in the assignment instead.
  IlpAssignment a{{0, 0, 0}, {0, 1, 0}};
  auto e = Evaluate(*full, a);
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->kept, 2);
  EXPECT_EQ(e->device_blocks, 4 * 5 + 4 * 7 + 3);
  EXPECT_EQ(e->memory_ok, e->device_blocks <= sub.memory_blocks + 3);
}

TEST(FormulationTest, WindowRules) {
  const CostModel cost = RoundCostModel(4, 0.01, 1000);
  std::vector<PlanCandidate> reqs = {Request(1, 5, 0.01, 16), Request(2, 3, 0.01, 16)};
  PlanInput in;
  in.requests = reqs;
  in.device_blocks = 100;
  in.cost = &cost;
  IlpOptions o = NoExtraHeadroom();
  o.miss_model = SloMissModel::kRate;
  o.slo_budget_f = 0.5;
  auto inst = BuildIlpInstance(in, o);
  ASSERT_TRUE(inst.ok());
  EXPECT_EQ(ChooseWindow(*inst, 0.02), 32);
  inst->options.window_rule = WindowRule::kLongestWithinBudget;
  // At T = 20 ms each share is max(0, 0.5 - 16 / W): the sum stays <= 0.5 while 16 / W >= 0.25.
  EXPECT_EQ(ChooseWindow(*inst, 0.02), 64);
  // Without deposits every window is the same; the longest is W_max.
  inst->requests[0].deposit = inst->requests[1].deposit = 0;
  EXPECT_EQ(ChooseWindow(*inst, 0.011), 1000);
}

}  // namespace
}  // namespace orbitflow
