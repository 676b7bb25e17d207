#include "plan/ilp/planner_bench.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace orbitflow {
namespace {

TEST(PlannerBenchTest, GeneratorCoversEveryRegime) {
  std::mt19937_64 rng(2);
  ScenarioOptions so;
  int fits = 0, offloads = 0, infeasible = 0;
  for (int i = 0; i < 300; ++i) {
    const PlannerScenario sc = RandomPlannerScenario(so, rng);
    ASSERT_EQ(sc.requests.size(), 16u);
    for (const PlanCandidate& c : sc.requests) {
      EXPECT_GE(c.context_tokens, 1);
      EXPECT_LE(c.context_tokens, 32768);
      EXPECT_GE(c.deposit_tokens, 0);
      EXPECT_LE(c.deposit_tokens, 50);
      EXPECT_GT(c.slo.count(), 0);
    }
    auto inst = BuildIlpInstance(sc.Input(), IlpOptions{});
    ASSERT_TRUE(inst.ok());
    int64_t all_device = 0;
    for (const IlpRequest& r : inst->requests) all_device += r.blocks * inst->num_layers;
    if (inst->memory_blocks < 0) {
      ++infeasible;
    } else if (all_device <= inst->memory_blocks) {
      ++fits;
    } else {
      ++offloads;
    }
  }
  EXPECT_GT(fits, 0);
  EXPECT_GT(offloads, 200);
  EXPECT_GT(infeasible, 0);
}

TEST(PlannerBenchTest, ReportsAsJson) {
  PlannerBenchOptions o;
  o.requests = 6;
  o.layers = 16;
  o.instances = 20;
  o.verify = true;
  auto r = RunPlannerBench(o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->instances, 20);
  EXPECT_LE(r->p50_us, r->p99_us);
  EXPECT_LE(r->p99_us, r->max_us);
  EXPECT_LE(r->max_gap, 1e-9);
  EXPECT_EQ(r->verdict_mismatches, 0);
  const auto j = nlohmann::json::parse(PlannerBenchReportJson(*r));
  for (const char* key : {"p50_us", "p99_us", "max_us", "max_gap", "instances", "milp_p50_us"}) {
    EXPECT_TRUE(j.contains(key)) << key;
  }
  o.instances = 0;
  EXPECT_EQ(RunPlannerBench(o).status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace orbitflow
