#include "plan/ilp/exact_solver.h"

#include <gtest/gtest.h>

#include <random>

#include "plan/ilp/ilp_test_util.h"
#include "plan/ilp/planner_bench.h"

namespace orbitflow {
namespace {

using testing_util::BruteForceGoodput;
using testing_util::BruteForceMinStep;
using testing_util::NoExtraHeadroom;
using testing_util::Request;
using testing_util::RoundCostModel;

// The hand-made instances use L = 4, whose candidates are AllDevice (index 0), d = 3 (1: layer
// 4 offloaded), d = 1 (2: layers 2 and 4) and d = 0 (3: every layer); their prefix demands per
// unit weight at j = 1..4 are 0000, 0001, 0112 and 1234. A request of b blocks moves w = b + 1
// blocks per offloaded layer. The link moves B = 1000 blocks/s; beta = B c is the compute of one
// layer in blocks, and the stall is max(0, max_j (D_j - beta (j - 1))) blocks.
struct Hand {
  CostModel cost;
  std::vector<PlanCandidate> requests;
  int64_t device_blocks;
  IlpInstance Build(IlpOptions o = NoExtraHeadroom()) const {
    PlanInput in;
    in.requests = requests;
    in.device_blocks = device_blocks;
    in.cost = &cost;
    return *BuildIlpInstance(in, o);
  }
};

TEST(ExactSolverTest, MemoryBoundTwoRequests) {
  // b = 5 and 3 (w = 6, 4), c = 10 ms so beta = 10 blocks: the link hides any single offload.
  // All on device needs 4 x 8 = 32 blocks, M = 34 - 8 = 26: offload value >= 6.
  //   r2 at d = 1: value 6, D = 0,4,4,8 -> no stall, traffic 8.
  //   r1 and r2 at d = 3: value 8, D_4 = 10 -> no stall, traffic 10.
  // T = 4 x 10 ms = 40 ms either way; the tie-break (less traffic) picks r2 at d = 1.
  Hand h{RoundCostModel(4, 0.01, 1000), {Request(1, 5, 1.0), Request(2, 3, 1.0)}, 34};
  ExactSolver solver;
  auto s = solver.Solve(h.Build());
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(s->verdict, SolveVerdict::kOptimal);
  EXPECT_NEAR(s->step_s, 0.040, 1e-12);
  EXPECT_EQ(s->assignment.option, (std::vector<int>{0, 2}));
  EXPECT_TRUE(s->tie_break_exact);
}

TEST(ExactSolverTest, LinkBoundTwoRequests) {
  // Same requests, c = 1 ms so beta = 1 block, M = 28 - 8 = 20: offload value >= 12.
  //   r1 d = 1 (10) + r2 d = 3 (3): D = 0,6,6,16, D - beta(j-1) = 0,5,4,13 -> stall 13.
  //   r2 d = 0 (12): D = 4,8,12,16 -> 4,7,10,13 -> stall 13 (same traffic 16, 4 layers vs 3).
  //   r1 d = 1 + r2 d = 1: stall 17; anything with r1 at d = 0: stall >= 21.
  // T = 4 ms + 13 blocks / 1000 = 17 ms, at (d = 1, d = 3): fewer offloaded layers.
  // (Each layer's transfer overlapping only the previous layer would give 18 ms.)
  Hand h{RoundCostModel(4, 0.001, 1000), {Request(1, 5, 1.0), Request(2, 3, 1.0)}, 28};
  ExactSolver solver;
  const IlpInstance inst = h.Build();
  auto s = solver.Solve(inst);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->verdict, SolveVerdict::kOptimal);
  EXPECT_NEAR(s->step_s, 0.017, 1e-12);
  EXPECT_EQ(s->assignment.option, (std::vector<int>{2, 1}));
  EXPECT_NEAR(BruteForceMinStep(inst), 0.017, 1e-12);
  std::vector<RequestLoad> loads = {{Distance::Every(1), 5}, {Distance::Every(3), 3}};
  EXPECT_NEAR(h.cost.StepTimePerLayer(loads, 0).count(), 0.018, 1e-12);
}

TEST(ExactSolverTest, ThreeRequestsWithEqualSizes) {
  // b = 5, 3, 3, beta = 1, all on device 44, M = 50 - 12 = 38: value >= 6.
  //   one b = 3 request at d = 1: D = 0,4,4,8 -> 0,3,2,5 -> stall 5 (traffic 8, 2 layers);
  //   both b = 3 at d = 3: D_4 = 8 -> stall 5 (traffic 8, 2 layers); r1 at d = 3 with a b = 3 at
  //   d = 3: D_4 = 10 -> 7; r1 at d = 1: 9. T = 4 ms + 5 ms = 9 ms.
  Hand h{RoundCostModel(4, 0.001, 1000), {Request(1, 5, 1.0), Request(2, 3, 1.0), Request(3, 3, 1.0)}, 50};
  ExactSolver solver;
  const IlpInstance inst = h.Build();
  auto s = solver.Solve(inst);
  ASSERT_TRUE(s.ok());
  EXPECT_NEAR(s->step_s, 0.009, 1e-12);
  EXPECT_NEAR(BruteForceMinStep(inst), 0.009, 1e-12);
  auto e = Evaluate(inst, s->assignment);
  ASSERT_TRUE(e.ok());
  EXPECT_TRUE(e->memory_ok);
  EXPECT_EQ(e->link_blocks, 8);
}

TEST(ExactSolverTest, DepositModelNeedsTheDepositToCoverTheLag) {
  // The link-bound instance (T* = 17 ms) with S = 15 ms, F = 0, the deposit miss model: without
  // a deposit any T above S misses, so it is SLO-infeasible.
  IlpOptions o = NoExtraHeadroom();
  ASSERT_EQ(o.miss_model, SloMissModel::kDeposit);
  ASSERT_EQ(o.slo_budget_f, 0.0);
  Hand dry{RoundCostModel(4, 0.001, 1000), {Request(1, 5, 0.015), Request(2, 3, 0.015)}, 28};
  ExactSolver solver;
  auto s = solver.Solve(dry.Build(o));
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->verdict, SolveVerdict::kSloInfeasible);
  // A deposit of 4 tokens covers the 2 ms lag of 30 steps, not 32: still infeasible. 5 tokens
  // cover 37.5 steps: T_max = 15 ms x (1 + 5 / 32) = 17.34 ms >= 17 ms, feasible.
  Hand four{RoundCostModel(4, 0.001, 1000), {Request(1, 5, 0.015, 4), Request(2, 3, 0.015, 5)}, 28};
  s = solver.Solve(four.Build(o));
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->verdict, SolveVerdict::kSloInfeasible);
  Hand five{RoundCostModel(4, 0.001, 1000), {Request(1, 5, 0.015, 5), Request(2, 3, 0.015, 5)}, 28};
  const IlpInstance inst = five.Build(o);
  EXPECT_NEAR(inst.max_step_s, 0.015 * (1 + 5.0 / 32), 1e-15);
  s = solver.Solve(inst);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->verdict, SolveVerdict::kOptimal);
  EXPECT_NEAR(s->step_s, 0.017, 1e-12);
}

TEST(ExactSolverTest, MemoryReservesTheWindowsGrowth) {
  // Two requests of 64 tokens (4 blocks per layer) with 100 tokens still to produce, L = 4, 40
  // device blocks, M = 40 - 8 = 32: today's 32 blocks fit all on device, but in W_min = 32 steps
  // each holds 95 tokens (6 blocks): 48 > 32, so a plan that holds for the window offloads.
  const CostModel cost = RoundCostModel(4, 0.01, 1000);
  std::vector<PlanCandidate> reqs = {Request(1, 4, 1.0), Request(2, 4, 1.0)};
  for (PlanCandidate& c : reqs) c.remaining_tokens = 100;
  PlanInput in;
  in.requests = reqs;
  in.device_blocks = 40;
  in.cost = &cost;
  IlpOptions o = NoExtraHeadroom();
  auto grown = BuildIlpInstance(in, o);
  ASSERT_TRUE(grown.ok());
  EXPECT_EQ(grown->requests[0].blocks, 6);
  EXPECT_EQ(grown->requests[0].link_blocks, 7);
  ExactSolver solver;
  auto s = solver.Solve(*grown);
  ASSERT_TRUE(s.ok());
  auto e = Evaluate(*grown, s->assignment);
  ASSERT_TRUE(e.ok());
  EXPECT_LE(e->device_blocks, 32);
  EXPECT_GT(e->offloaded_layers, 0);
  // A request with 3 tokens left writes 2 more into the cache (66 tokens, 5 blocks); with its
  // last token to produce it writes none.
  reqs[0].remaining_tokens = 3;
  in.requests = reqs;
  EXPECT_EQ(BuildIlpInstance(in, o)->requests[0].blocks, 5);
  reqs[0].remaining_tokens = 1;
  in.requests = reqs;
  EXPECT_EQ(BuildIlpInstance(in, o)->requests[0].blocks, 4);
  // The reference's sizing: today's blocks, all on device.
  o.reserve_window_growth = false;
  auto today = BuildIlpInstance(in, o);
  ASSERT_TRUE(today.ok());
  EXPECT_EQ(today->requests[1].blocks, 4);
  s = solver.Solve(*today);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->assignment.option, (std::vector<int>{0, 0}));
}

TEST(ExactSolverTest, SloInfeasibleAndDepositMakesItFeasible) {
  // The link-bound instance (T* = 17 ms) with S = 10 ms for both and F = 0.5.
  // No deposit: 2 (1 - 10 / T) <= 0.5 iff T <= 13.33 ms < 17 ms: SLO-infeasible.
  // Deposit 16 tokens each over W = 32: 2 (0.5 - 10 / T) <= 0.5 iff T <= 40 ms: feasible.
  IlpOptions o = NoExtraHeadroom();
  o.miss_model = SloMissModel::kRate;  // the reference's constraint 6
  o.slo_budget_f = 0.5;
  Hand dry{RoundCostModel(4, 0.001, 1000), {Request(1, 5, 0.01), Request(2, 3, 0.01)}, 28};
  ExactSolver solver;
  auto s = solver.Solve(dry.Build(o));
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->verdict, SolveVerdict::kSloInfeasible);
  ASSERT_TRUE(s->has_assignment);  // the minimal-T assignment anyway
  EXPECT_NEAR(s->step_s, 0.017, 1e-12);

  Hand deposit{RoundCostModel(4, 0.001, 1000), {Request(1, 5, 0.01, 16), Request(2, 3, 0.01, 16)}, 28};
  const IlpInstance with = deposit.Build(o);
  EXPECT_NEAR(with.max_step_s, 0.04, 1e-15);
  s = solver.Solve(with);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->verdict, SolveVerdict::kOptimal);
  EXPECT_NEAR(s->step_s, 0.017, 1e-12);

  o.use_deposit = false;  // the ablation ignores the deposit: infeasible again
  s = solver.Solve(deposit.Build(o));
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->verdict, SolveVerdict::kSloInfeasible);

  ExactSolver verdict_only(ExactSolverOptions{.slo_infeasible = SloInfeasibleDetail::kVerdictOnly});
  s = verdict_only.Solve(dry.Build(o));
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->verdict, SolveVerdict::kSloInfeasible);
  EXPECT_FALSE(s->has_assignment);
}

TEST(ExactSolverTest, MemoryInfeasibleWhenHeadroomExceedsDevice) {
  Hand h{RoundCostModel(4, 0.001, 1000), {Request(1, 5, 1.0), Request(2, 3, 1.0)}, 7};
  ExactSolver solver;
  auto s = solver.Solve(h.Build());
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->verdict, SolveVerdict::kMemoryInfeasible);
  EXPECT_FALSE(s->has_assignment);
}

TEST(ExactSolverTest, UniformPicksOneDistance) {
  // Link-bound instance, uniform: d = 1 for both (value 16 >= 12): D = 0,10,10,20 -> 17;
  // d = 0 for both: 10,20,30,40 -> 37; d = 3: value 8 < 12. T = 4 + 17 = 21 ms.
  Hand h{RoundCostModel(4, 0.001, 1000), {Request(1, 5, 1.0), Request(2, 3, 1.0)}, 28};
  IlpOptions o = NoExtraHeadroom();
  o.uniform = true;
  ExactSolver solver;
  auto s = solver.Solve(h.Build(o));
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->assignment.option, (std::vector<int>{2, 2}));
  EXPECT_NEAR(s->step_s, 0.021, 1e-12);
}

TEST(ExactSolverTest, MatchesBruteForceOnSmallRandomInstances) {
  std::mt19937_64 rng(3);
  ScenarioOptions so;
  so.requests_min = 1;
  so.requests_max = 5;
  ExactSolver solver;
  const int count = testing_util::kSanitized ? 60 : 400;
  for (int i = 0; i < count; ++i) {
    so.layers = std::vector<int>{5, 8, 16, 32}[i % 4];
    so.requests_max = so.layers >= 32 ? 4 : 5;
    const PlannerScenario sc = RandomPlannerScenario(so, rng);
    IlpOptions o;
    o.uniform = i % 7 == 0;
    auto inst = BuildIlpInstance(sc.Input(), o);
    ASSERT_TRUE(inst.ok());
    auto s = solver.Solve(*inst);
    ASSERT_TRUE(s.ok());
    if (o.uniform) continue;  // brute force is over non-uniform assignments
    const double brute = BruteForceMinStep(*inst);
    if (std::isinf(brute)) {
      EXPECT_EQ(s->verdict, SolveVerdict::kMemoryInfeasible) << "instance " << i;
      continue;
    }
    ASSERT_TRUE(s->has_assignment) << "instance " << i;
    EXPECT_NEAR(s->step_s, brute, 1e-12 * brute) << "instance " << i;
    EXPECT_EQ(s->verdict == SolveVerdict::kOptimal, brute <= inst->max_step_s) << "instance " << i;
  }
}

TEST(ExactSolverTest, GoodputMatchesBruteForce) {
  std::mt19937_64 rng(9);
  ScenarioOptions so;
  so.requests_min = 1;
  so.requests_max = 4;
  ExactSolver solver;
  int paused_some = 0;
  const int count = testing_util::kSanitized ? 40 : 250;
  for (int i = 0; i < count; ++i) {
    so.layers = std::vector<int>{5, 8, 16}[i % 3];
    const PlannerScenario sc = RandomPlannerScenario(so, rng);
    IlpOptions o;
    o.objective = Objective::kGoodput;
    o.slo_budget_f = i % 2 == 0 ? 2.0 : 0.3;
    o.miss_model = i % 4 < 2 ? SloMissModel::kDeposit : SloMissModel::kRate;
    auto inst = BuildIlpInstance(sc.Input(), o);
    ASSERT_TRUE(inst.ok());
    auto s = solver.Solve(*inst);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    const double brute = BruteForceGoodput(*inst);
    if (brute < 0) {
      EXPECT_FALSE(s->has_assignment) << "instance " << i;
      continue;
    }
    ASSERT_TRUE(s->has_assignment) << "instance " << i;
    EXPECT_NEAR(s->objective, brute, 1e-9 * brute) << "instance " << i;
    for (uint8_t p : s->assignment.paused) paused_some += p;
  }
  EXPECT_GT(paused_some, 0);  // the instances exercise pausing
}

}  // namespace
}  // namespace orbitflow
