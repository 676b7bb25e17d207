#include "engine/planner_thread.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "cost/cost_model.h"
#include "engine/engine.h"
#include "exec/sim/sim_executor.h"

namespace orbitflow {
namespace {

CostModel Cost() {
  ModelSpec m = *LookupModelSpec("llama-3.1-8b");
  return CostModel(m, BuiltinCostProfile(m, *LookupHardware("a100")));
}

// Keeps every request on the device; can be held inside Plan to model a slow solve.
class GatedPlanner : public Planner {
 public:
  std::atomic<bool> hold{false};
  std::atomic<int> calls{0};
  int free_calls = 0;  // solves that are never held
  std::atomic<size_t> last_size{0};
  std::string_view name() const override { return "gated"; }
  StatusOr<PlanDecision> Plan(const PlanInput& in) override {
    while (hold.load() && calls.load() >= free_calls) std::this_thread::yield();
    ++calls;
    last_size = in.requests.size();
    PlanDecision d;
    for (const PlanCandidate& c : in.requests) {
      d.ids.push_back(c.id);
      d.distances.push_back(Distance::Every(1));
    }
    d.window_steps = 8;
    d.predicted_step = in.cost->DecodeStep(100);
    return d;
  }
};

TEST(PlannerThreadTest, SolvesACopyOfTheInputOffTheCallerThread) {
  const CostModel cost = Cost();
  GatedPlanner planner;
  PlannerThread thread(&planner);
  EXPECT_FALSE(thread.busy());
  EXPECT_FALSE(thread.TryTake().has_value());

  std::vector<PlanCandidate> cands = {{.id = RequestId(1), .context_tokens = 100, .slo = Seconds(0.1)},
                                      {.id = RequestId(2), .context_tokens = 200, .slo = Seconds(0.1)}};
  planner.hold = true;
  thread.Start(PlanInput{.step = 7, .requests = cands, .device_blocks = 1000,
                         .cause = ReplanCause::kPrefill, .cost = &cost},
               cost);
  cands.clear();  // the job owns its copy
  EXPECT_TRUE(thread.busy());
  EXPECT_FALSE(thread.TryTake().has_value());  // held: not ready, the caller goes on
  planner.hold = false;
  PlannerJobResult r = thread.Wait();
  EXPECT_FALSE(thread.busy());
  ASSERT_TRUE(r.decision.ok());
  EXPECT_EQ(r.decision->ids.size(), 2u);
  EXPECT_EQ(r.step, 7);
  EXPECT_EQ(r.cause, ReplanCause::kPrefill);
  EXPECT_GT(r.solve_time.count(), 0);
  EXPECT_EQ(planner.calls.load(), 1);
}

TEST(PlannerThreadTest, EngineWithAThreadedPlannerFinishesEverythingAndReturnsBlocks) {
  const CostModel cost = Cost();
  VirtualClock clock;
  SimExecutor exec(cost, &clock, SimOptions{});
  GatedPlanner planner;
  planner.free_calls = 1;  // the first solve places the first batch; later ones are held
  EngineOptions o;
  o.scheduler.max_batch = 4;
  o.device_blocks_per_layer = 200;
  o.plan_on_thread = true;
  Engine engine(o, &cost, &planner, &exec, &clock);
  for (int i = 0; i < 8; ++i) {
    ASSERT_TRUE(engine.Submit({.prompt_tokens = 300 + 50 * i, .max_output_tokens = 40}, clock.Now()).ok());
  }
  // Hold the first solve for a while: steps go on with the placement they have.
  planner.hold = true;
  for (int i = 0; i < 200 && engine.counters().late_plans < 4; ++i) {
    Status s = engine.Step().status();
    if (!s.ok()) planner.hold = false;  // let the worker finish before the test returns
    ASSERT_TRUE(s.ok()) << s.ToString();
  }
  EXPECT_GE(engine.counters().late_plans, 4);
  planner.hold = false;
  for (int i = 0; i < 100000 && engine.HasActive(); ++i) {
    Status s = engine.Step().status();
    ASSERT_TRUE(s.ok()) << s.ToString();
  }
  ASSERT_FALSE(engine.HasActive());
  std::vector<RequestRecord> done = engine.TakeFinished();
  ASSERT_EQ(done.size(), 8u);
  for (const RequestRecord& r : done) {
    EXPECT_EQ(r.reason, FinishReason::kLength) << r.failure_message;
    EXPECT_EQ(r.token_times.size(), 40u);
  }
  EXPECT_GT(planner.calls.load(), 1);
  int64_t replans = 0;
  for (int64_t n : engine.counters().replans) replans += n;
  // Every adopted solve is counted; the last one started may still be running at the end.
  EXPECT_LE(replans, planner.calls.load());
  EXPECT_GE(replans, planner.calls.load() - 1);
  EXPECT_EQ(engine.kv().device_pool().used(), 0);
  EXPECT_EQ(engine.kv().host_pool().used(), 0);
}

// Pauses every candidate on its first solve, places everyone on every later one. The first solve
// is always adopted before anyone decodes (a request with no placement waits for one), so the
// pause-everyone plan arrives whatever the thread timing.
class PauseAllOncePlanner : public Planner {
 public:
  std::atomic<int> calls{0};
  std::string_view name() const override { return "pause-all-once"; }
  StatusOr<PlanDecision> Plan(const PlanInput& in) override {
    const bool pause_all = ++calls == 1;
    PlanDecision d;
    for (const PlanCandidate& c : in.requests) {
      if (pause_all) {
        d.pause.push_back(c.id);
        continue;
      }
      d.ids.push_back(c.id);
      d.distances.push_back(Distance::Every(1));
    }
    d.window_steps = 8;
    d.predicted_step = in.cost->DecodeStep(100);
    return d;
  }
};

TEST(PlannerThreadTest, ABatchThePlanPausedEntirelyWaitsForTheNextSolveInsteadOfFailing) {
  // With the planner on its thread, the step after a plan paused everyone has nothing to run
  // and no plan to run on: it must wait for the solve that resumes them (it once failed the
  // largest request at once, while that solve was still running).
  const CostModel cost = Cost();
  VirtualClock clock;
  SimExecutor exec(cost, &clock, SimOptions{});
  PauseAllOncePlanner planner;
  EngineOptions o;
  o.scheduler.max_batch = 4;
  o.device_blocks_per_layer = 200;
  o.plan_on_thread = true;
  Engine engine(o, &cost, &planner, &exec, &clock);
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(engine.Submit({.prompt_tokens = 100 + 10 * i, .max_output_tokens = 30}, clock.Now()).ok());
  }
  for (int i = 0; i < 100000 && engine.HasActive(); ++i) {
    Status s = engine.Step().status();
    ASSERT_TRUE(s.ok()) << s.ToString();
  }
  std::vector<RequestRecord> done = engine.TakeFinished();
  ASSERT_EQ(done.size(), 3u);
  for (const RequestRecord& r : done) {
    EXPECT_EQ(r.reason, FinishReason::kLength) << r.failure_message;
    EXPECT_EQ(r.token_times.size(), 30u);
  }
  EXPECT_GE(planner.calls.load(), 2);
  EXPECT_GE(engine.counters().pauses, 1);
  EXPECT_EQ(engine.kv().device_pool().used(), 0);
}

}  // namespace
}  // namespace orbitflow
