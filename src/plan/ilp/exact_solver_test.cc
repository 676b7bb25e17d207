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

TEST(ExactSolverTest, SloInfeasibleAndDepositMakesItFeasible) {
  // The link-bound instance (T* = 17 ms) with S = 10 ms for both and F = 0.5.
  // No deposit: 2 (1 - 10 / T) <= 0.5 iff T <= 13.33 ms < 17 ms: SLO-infeasible.
  // Deposit 16 tokens each over W = 32: 2 (0.5 - 10 / T) <= 0.5 iff T <= 40 ms: feasible.
  IlpOptions o = NoExtraHeadroom();
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
