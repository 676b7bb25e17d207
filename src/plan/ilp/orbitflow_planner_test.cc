#include "plan/ilp/orbitflow_planner.h"

#include <gtest/gtest.h>

#include <random>

#include "plan/ilp/ilp_test_util.h"
#include "plan/ilp/planner_bench.h"

namespace orbitflow {
namespace {

using testing_util::Request;
using testing_util::RoundCostModel;

PlanCandidate Candidate(int64_t id, int64_t prompt, int64_t generated, double slo_s) {
  PlanCandidate c = Request(id, 1, slo_s);
  c.prompt_tokens = prompt;
  c.generated_tokens = generated;
  c.context_tokens = prompt + generated;
  return c;
}

TEST(PauseVictimTest, OrderPerStrategy) {
  // Tokens 300, 100, 500, 100; SLOs 50, 20, 20, 80 ms.
  std::vector<PlanCandidate> r = {Candidate(1, 200, 100, 0.05), Candidate(2, 90, 10, 0.02),
                                  Candidate(3, 500, 0, 0.02), Candidate(4, 100, 0, 0.08)};
  std::mt19937_64 rng(1);
  auto order = [&](PauseStrategy s) {
    std::vector<uint8_t> kept(r.size(), 1);
    std::vector<int64_t> ids;
    while (auto v = ChoosePauseVictim(r, kept, s, &rng)) {
      kept[*v] = 0;
      ids.push_back(r[*v].id.value());
    }
    return ids;
  };
  EXPECT_EQ(order(PauseStrategy::kLongest), (std::vector<int64_t>{3, 1, 4, 2}));   // ties: later first
  EXPECT_EQ(order(PauseStrategy::kShortest), (std::vector<int64_t>{4, 2, 1, 3}));
  EXPECT_EQ(order(PauseStrategy::kSloLoose), (std::vector<int64_t>{4, 1, 3, 2}));
  EXPECT_EQ(order(PauseStrategy::kSloStrict), (std::vector<int64_t>{3, 2, 1, 4}));
  std::vector<int64_t> random = order(PauseStrategy::kRandom);
  std::sort(random.begin(), random.end());
  EXPECT_EQ(random, (std::vector<int64_t>{1, 2, 3, 4}));
  // Seeded: the same seed gives the same order.
  std::mt19937_64 a(7), b(7);
  std::vector<uint8_t> kept(r.size(), 1);
  EXPECT_EQ(ChoosePauseVictim(r, kept, PauseStrategy::kRandom, &a), ChoosePauseVictim(r, kept, PauseStrategy::kRandom, &b));
}

TEST(OrbitFlowNamesTest, ParseAndPolicies) {
  EXPECT_EQ(*ParsePauseStrategy("slo_loose"), PauseStrategy::kSloLoose);
  EXPECT_EQ(*ParsePauseStrategy("longest"), PauseStrategy::kLongest);
  EXPECT_FALSE(ParsePauseStrategy("oldest").ok());
  EXPECT_EQ(*ParseBackend("milp"), Backend::kMilp);
  EXPECT_FALSE(ParseBackend("gurobi").ok());
  for (const std::string& name : OrbitFlowPolicyNames()) {
    auto p = MakeOrbitFlowPlanner(name, OrbitFlowOptions{});
    ASSERT_TRUE(p.ok()) << name;
    EXPECT_EQ((*p)->name(), name);
  }
  EXPECT_EQ(MakeOrbitFlowPlanner("flexgen", {}).status().code(), StatusCode::kNotFound);
  for (const std::string& name : OrbitFlowAblationChain()) EXPECT_TRUE(MakeOrbitFlowPlanner(name, {}).ok()) << name;
  auto combined = MakeOrbitFlowPlanner("orbitflow-no-pause-uniform", {});
  ASSERT_TRUE(combined.ok());
  const auto& opts = static_cast<const OrbitFlowPlanner&>(**combined).options();
  EXPECT_TRUE(opts.ilp.uniform);
  EXPECT_FALSE(opts.pause_enabled);
  EXPECT_TRUE(opts.ilp.use_deposit);
  EXPECT_EQ(MakeOrbitFlowPlanner("orbitflow-uniform-uniform", {}).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(MakeOrbitFlowPlanner("orbitflow-fast", {}).status().code(), StatusCode::kNotFound);
  OrbitFlowOptions bad;
  bad.fallback_steps = 0;
  EXPECT_EQ(MakeOrbitFlowPlanner("orbitflow", bad).status().code(), StatusCode::kInvalidArgument);
}

// L = 4, c = 1 ms, B = 1000 blocks/s (see exact_solver_test.cc). Three requests of 5 blocks with
// 10 ms SLOs and F = 0.5: offloading anything stalls the link, so keeping all three misses the
// budget when memory is tight.
struct Fixture {
  CostModel cost = RoundCostModel(4, 0.001, 1000);
  std::vector<PlanCandidate> reqs;
  PlanInput Input(int64_t device_blocks, int64_t step = 0) const {
    PlanInput in;
    in.step = step;
    in.requests = reqs;
    in.device_blocks = device_blocks;
    in.cost = &cost;
    return in;
  }
};

OrbitFlowOptions TightOptions() {
  OrbitFlowOptions o;
  o.ilp.headroom.fraction = 0;
  o.ilp.headroom.min_blocks = 0;
  o.ilp.miss_model = SloMissModel::kRate;  // the shares in the comments are the reference's
  o.ilp.slo_budget_f = 0.5;
  return o;
}

TEST(OrbitFlowPlannerTest, FeasibleBatchIsPlacedWithoutPauses) {
  Fixture f;
  f.reqs = {Candidate(1, 80, 0, 0.05), Candidate(2, 48, 0, 0.05)};  // b = 5 and 3
  auto p = MakeOrbitFlowPlanner("orbitflow", TightOptions());
  ASSERT_TRUE(p.ok());
  // The link-bound hand-made instance: T = 17 ms <= T_max.
  auto d = (*p)->Plan(f.Input(28));
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_FALSE(d->fallback);
  EXPECT_TRUE(d->pause.empty());
  EXPECT_EQ(d->ids, (std::vector<RequestId>{RequestId(1), RequestId(2)}));
  EXPECT_EQ(d->distances, (std::vector<Distance>{Distance::Every(1), Distance::Every(3)}));
  EXPECT_NEAR(d->predicted_step.count(), 0.017, 1e-12);
  EXPECT_EQ(d->window_steps, 32);
}

TEST(OrbitFlowPlannerTest, WindowExpiryKeepsAFeasibleCurrentPlan) {
  Fixture f;
  f.reqs = {Candidate(1, 80, 0, 0.05), Candidate(2, 48, 0, 0.05)};  // b = 5 and 3
  // The optimum is (d = 1, d = 3) at 17 ms; both at d = 1 (D = 0,10,10,20: T = 21 ms) also fits memory
  // and the 50 ms SLO, so a window expiry keeps it rather than moving KV.
  f.reqs[0].current = Distance::Every(1);
  f.reqs[1].current = Distance::Every(1);
  OrbitFlowPlanner planner("orbitflow", TightOptions());
  PlanInput in = f.Input(28);
  in.cause = ReplanCause::kWindowExpired;
  auto keep = planner.Plan(in);
  ASSERT_TRUE(keep.ok());
  EXPECT_EQ(keep->distances, (std::vector<Distance>{Distance::Every(1), Distance::Every(1)}));
  EXPECT_GT(keep->predicted_step.count(), 0.017);
  // A batch change re-solves.
  in.cause = ReplanCause::kBatchChanged;
  auto solved = planner.Plan(in);
  ASSERT_TRUE(solved.ok());
  EXPECT_EQ(solved->distances, (std::vector<Distance>{Distance::Every(1), Distance::Every(3)}));
  // A current plan that no longer fits memory is not kept: all on device needs 32 > 28 - 8.
  f.reqs[0].current = f.reqs[1].current = Distance::AllDevice();
  in = f.Input(28);
  in.cause = ReplanCause::kWindowExpired;
  auto refit = planner.Plan(in);
  ASSERT_TRUE(refit.ok());
  EXPECT_EQ(refit->distances, (std::vector<Distance>{Distance::Every(1), Distance::Every(3)}));
  // Off: every expiry re-solves.
  OrbitFlowOptions o = TightOptions();
  o.keep_feasible_plan = false;
  OrbitFlowPlanner always("orbitflow", o);
  f.reqs[0].current = f.reqs[1].current = Distance::Every(1);
  in = f.Input(28);
  in.cause = ReplanCause::kWindowExpired;
  EXPECT_EQ(always.Plan(in)->distances, (std::vector<Distance>{Distance::Every(1), Distance::Every(3)}));
}

TEST(OrbitFlowPlannerTest, PausesByStrategyUntilFeasible) {
  Fixture f;
  // b = 5 each (80 tokens) but prompt/generated splits and SLOs differ; all-on-device needs 60.
  f.reqs = {Candidate(1, 70, 10, 0.010), Candidate(2, 60, 20, 0.012), Candidate(3, 80, 0, 0.011)};
  // All three: M = 44 - 12 = 32, offload value >= 28, e.g. d = 0 plus d = 1: stall 33 blocks,
  // T = 37 ms, every share ~0.7 > F. One paused (its first layer, 5 blocks, stays):
  // M = 44 - 8 - 5 = 31 against 40 on device, value >= 9: stall 9, T = 13 ms, shares <= 0.39.
  for (auto [strategy, victim] : {std::pair{PauseStrategy::kSloLoose, 2}, std::pair{PauseStrategy::kSloStrict, 1}}) {
    OrbitFlowOptions o = TightOptions();
    o.pause_strategy = strategy;
    OrbitFlowPlanner planner("orbitflow", o);
    auto d = planner.Plan(f.Input(44));
    ASSERT_TRUE(d.ok()) << d.status().ToString();
    ASSERT_FALSE(d->pause.empty()) << PauseStrategyName(strategy);
    EXPECT_EQ(d->pause.front(), RequestId(victim)) << PauseStrategyName(strategy);
    EXPECT_EQ(d->ids.size() + d->pause.size(), 3u);
    for (RequestId id : d->pause) EXPECT_EQ(std::count(d->ids.begin(), d->ids.end(), id), 0);
  }
}

TEST(OrbitFlowPlannerTest, SingleRequestFallbackLastsFallbackSteps) {
  Fixture f;
  f.reqs = {Candidate(1, 80, 0, 0.05), Candidate(2, 48, 0, 0.05)};
  OrbitFlowOptions o = TightOptions();
  o.fallback_steps = 10;
  OrbitFlowPlanner planner("orbitflow", o);
  // 7 device blocks < headroom 8: infeasible; pause the longest (1), then 2 alone still
  // has M = 7 - 4 - 5 < 0: the dynamic heuristic for 10 steps.
  auto d = planner.Plan(f.Input(7, /*step=*/100));
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_TRUE(d->fallback);
  EXPECT_EQ(d->pause, (std::vector<RequestId>{RequestId(1)}));
  EXPECT_EQ(d->ids, (std::vector<RequestId>{RequestId(2)}));
  EXPECT_EQ(d->window_steps, 10);
  // Within the period every plan is the heuristic, with the steps left as its window.
  d = planner.Plan(f.Input(1000, /*step=*/104));
  ASSERT_TRUE(d.ok());
  EXPECT_TRUE(d->fallback);
  EXPECT_EQ(d->window_steps, 6);
  EXPECT_EQ(d->ids.size(), 2u);
  // After it, the ILP again (everything fits now).
  d = planner.Plan(f.Input(1000, /*step=*/110));
  ASSERT_TRUE(d.ok());
  EXPECT_FALSE(d->fallback);
  EXPECT_EQ(d->distances, (std::vector<Distance>{Distance::AllDevice(), Distance::AllDevice()}));
}

TEST(OrbitFlowPlannerTest, NoPauseRunsMinimalStepTimeAnyway) {
  Fixture f;
  f.reqs = {Candidate(1, 80, 0, 0.010), Candidate(2, 48, 0, 0.010)};
  OrbitFlowOptions o = TightOptions();
  // SLO-infeasible (T* = 17 ms > T_max = 13.3 ms): placed anyway, nobody paused.
  auto p = MakeOrbitFlowPlanner("orbitflow-no-pause", o);
  ASSERT_TRUE(p.ok());
  auto d = (*p)->Plan(f.Input(28));
  ASSERT_TRUE(d.ok());
  EXPECT_FALSE(d->fallback);
  EXPECT_TRUE(d->pause.empty());
  EXPECT_NEAR(d->predicted_step.count(), 0.017, 1e-12);
  // The full planner pauses instead.
  auto full = MakeOrbitFlowPlanner("orbitflow", o);
  d = (*full)->Plan(f.Input(28));
  ASSERT_TRUE(d.ok());
  EXPECT_FALSE(d->pause.empty());
  // Memory-infeasible without pausing: the dynamic heuristic.
  d = (*p)->Plan(f.Input(7, /*step=*/1));
  ASSERT_TRUE(d.ok());
  EXPECT_TRUE(d->fallback);
  EXPECT_TRUE(d->pause.empty());
}

TEST(OrbitFlowPlannerTest, UniformVariantUsesOneDistance) {
  Fixture f;
  f.reqs = {Candidate(1, 80, 0, 0.05), Candidate(2, 48, 0, 0.05)};
  auto p = MakeOrbitFlowPlanner("orbitflow-uniform", TightOptions());
  auto d = (*p)->Plan(f.Input(28));
  ASSERT_TRUE(d.ok());
  ASSERT_EQ(d->distances.size(), 2u);
  EXPECT_EQ(d->distances[0], d->distances[1]);
  EXPECT_NEAR(d->predicted_step.count(), 0.021, 1e-12);
}

TEST(OrbitFlowPlannerTest, BackendsAgreeAndGoodputPlans) {
  std::mt19937_64 rng(4);
  ScenarioOptions so;
  so.requests_min = 2;
  so.requests_max = 6;
  so.layers = 16;
  OrbitFlowOptions exact_o, milp_o;
  milp_o.backend = Backend::kMilp;
  milp_o.milp.flow = FlowForm::kCumulative;
  OrbitFlowPlanner exact("orbitflow", exact_o), milp("orbitflow", milp_o);
  auto goodput = MakeOrbitFlowPlanner("orbitflow-goodput", exact_o);
  ASSERT_TRUE(goodput.ok());
  for (int i = 0; i < (testing_util::kSanitized ? 5 : 25); ++i) {
    const PlannerScenario sc = RandomPlannerScenario(so, rng);
    auto a = exact.Plan(sc.Input());
    auto b = milp.Plan(sc.Input());
    ASSERT_TRUE(a.ok() && b.ok());
    EXPECT_EQ(a->pause, b->pause) << "instance " << i;
    EXPECT_EQ(a->fallback, b->fallback) << "instance " << i;
    if (!a->fallback) {
      EXPECT_NEAR(a->predicted_step.count(), b->predicted_step.count(), 1e-9 * b->predicted_step.count());
    }
    auto g = (*goodput)->Plan(sc.Input());
    ASSERT_TRUE(g.ok());
    EXPECT_EQ(g->ids.size() + g->pause.size(), sc.requests.size());
  }
}

}  // namespace
}  // namespace orbitflow
