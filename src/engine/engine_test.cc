#include <gtest/gtest.h>

#include <functional>
#include <random>

#include "cost/cost_model.h"
#include "engine/engine.h"
#include "engine/simulation.h"
#include "exec/sim/sim_executor.h"

namespace orbitflow {
namespace {

// A planner whose decisions a test scripts: one distance for everyone, optional pauses.
class ScriptedPlanner : public Planner {
 public:
  Distance distance = Distance::AllDevice();
  int64_t min_blocks_per_layer_block = 0;  // >0: behaves like all-device at admission
  std::function<std::vector<RequestId>(const PlanInput&)> pause;
  int calls = 0;
  int window = 1000;
  bool predict = false;   // report the cost model's decode step time as the prediction
  Seconds last_slo{0};    // the SLO of the last candidate seen

  std::string_view name() const override { return "scripted"; }
  StatusOr<PlanDecision> Plan(const PlanInput& in) override {
    ++calls;
    PlanDecision d;
    std::vector<RequestId> p = pause ? pause(in) : std::vector<RequestId>{};
    for (const PlanCandidate& c : in.requests) {
      if (std::find(p.begin(), p.end(), c.id) != p.end()) continue;
      d.ids.push_back(c.id);
      d.distances.push_back(distance);
    }
    d.pause = p;
    d.window_steps = window;
    if (!in.requests.empty()) last_slo = in.requests.back().slo;
    if (predict) {
      int64_t tokens = 0;
      for (const PlanCandidate& c : in.requests) tokens += c.context_tokens;
      d.predicted_step = in.cost->DecodeStep(tokens);
    }
    return d;
  }
  int64_t MinDeviceBlocks(int64_t tokens, int layers) const override {
    return min_blocks_per_layer_block ? layers * (BlocksForTokens(tokens) + 1) : 0;
  }
};

CostModel SmallCost() {
  ModelSpec m = *LookupModelSpec("llama-3.1-8b");
  return CostModel(m, BuiltinCostProfile(m, *LookupHardware("a100")));
}

struct Rig {
  CostModel cost = SmallCost();
  VirtualClock clock;
  SimExecutor exec{cost, &clock, SimOptions{}};
  ScriptedPlanner planner;
  std::unique_ptr<Engine> engine;

  explicit Rig(int64_t blocks_per_layer, int batch = 4) {
    EngineOptions o;
    o.scheduler.max_batch = batch;
    o.device_blocks_per_layer = blocks_per_layer;
    o.default_slo = Seconds(0.1);
    engine = std::make_unique<Engine>(o, &cost, &planner, &exec, &clock, &clock);
  }
  void RunToEnd() {
    for (int i = 0; i < 100000 && engine->HasActive(); ++i) ASSERT_TRUE(engine->Step().ok());
    ASSERT_FALSE(engine->HasActive());
  }
};

TEST(EngineTest, RequestsCompleteAndEveryBlockReturns) {
  Rig rig(/*blocks_per_layer=*/100);
  for (int i = 0; i < 6; ++i) {
    ASSERT_TRUE(rig.engine->Submit({.prompt_tokens = 100 + 10 * i, .max_output_tokens = 20}, Seconds(0)).ok());
  }
  rig.RunToEnd();
  auto done = rig.engine->TakeFinished();
  ASSERT_EQ(done.size(), 6u);
  for (const RequestRecord& r : done) {
    EXPECT_EQ(r.reason, FinishReason::kLength);
    EXPECT_EQ(r.token_times.size(), 20u);
    EXPECT_TRUE(r.first_token.has_value());
    // Tokens come in time order.
    EXPECT_TRUE(std::is_sorted(r.token_times.begin(), r.token_times.end()));
  }
  EXPECT_EQ(rig.engine->kv().device_pool().used(), 0);
  EXPECT_EQ(rig.engine->kv().host_pool().used(), 0);
  EXPECT_EQ(rig.engine->counters().generation_tokens, 120);
}

TEST(EngineTest, CancelAndFailureReturnBlocks) {
  Rig rig(100);
  auto a = rig.engine->Submit({.prompt_tokens = 300, .max_output_tokens = 50}, Seconds(0));
  auto b = rig.engine->Submit({.prompt_tokens = 300, .max_output_tokens = 50}, Seconds(0));
  ASSERT_TRUE(a.ok() && b.ok());
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(rig.engine->Step().ok());
  EXPECT_GT(rig.engine->kv().device_pool().used(), 0);
  ASSERT_TRUE(rig.engine->Cancel(*a).ok());
  EXPECT_EQ(rig.engine->Cancel(*a).code(), StatusCode::kNotFound);
  rig.RunToEnd();
  auto done = rig.engine->TakeFinished();
  ASSERT_EQ(done.size(), 2u);
  EXPECT_EQ(done[0].reason, FinishReason::kCancelled);
  EXPECT_EQ(done[1].reason, FinishReason::kLength);
  EXPECT_EQ(rig.engine->kv().device_pool().used(), 0);
  EXPECT_EQ(rig.engine->kv().host_pool().used(), 0);
}

TEST(EngineTest, RequestThatCanNeverFitFailsWithAReason) {
  Rig rig(/*blocks_per_layer=*/10);
  rig.planner.min_blocks_per_layer_block = 1;  // all-device: needs L x (blocks + 1)
  auto s = rig.engine->Submit({.prompt_tokens = 1000, .max_output_tokens = 10}, Seconds(0));
  EXPECT_FALSE(s.ok());
  auto ok = rig.engine->Submit({.prompt_tokens = 50, .max_output_tokens = 10}, Seconds(0));
  EXPECT_TRUE(ok.ok());
  auto empty = rig.engine->Submit({.prompt_tokens = 0, .max_output_tokens = 10}, Seconds(0));
  EXPECT_FALSE(empty.ok());
  rig.RunToEnd();
  auto done = rig.engine->TakeFinished();
  ASSERT_EQ(done.size(), 3u);
  int failed = 0;
  for (const RequestRecord& r : done) {
    if (r.reason == FinishReason::kFailed) {
      ++failed;
      EXPECT_FALSE(r.failure_message.empty());
    }
  }
  EXPECT_EQ(failed, 2);
  EXPECT_EQ(rig.engine->kv().device_pool().used(), 0);
}

TEST(EngineTest, PausedRequestKeepsOneLayerAndResumesWhereItStopped) {
  Rig rig(1000);
  rig.planner.window = 1;  // re-plan every step, so the scripted pauses land on time
  rig.planner.pause = [&](const PlanInput& in) -> std::vector<RequestId> {
    // Pause request 1 on the first plans after both are decoding, then let it back.
    if (in.step >= 3 && in.step < 10) return {RequestId(1)};
    return {};
  };
  ASSERT_TRUE(rig.engine->Submit({.prompt_tokens = 64, .max_output_tokens = 30}, Seconds(0)).ok());
  ASSERT_TRUE(rig.engine->Submit({.prompt_tokens = 64, .max_output_tokens = 30}, Seconds(0)).ok());
  bool saw_paused = false;
  for (int i = 0; i < 10000 && rig.engine->HasActive(); ++i) {
    // Paused requests rejoin the candidates on batch changes (an arrival or a finish).
    ASSERT_TRUE(rig.engine->Step().ok());
    if (Request* r = rig.engine->scheduler().Find(RequestId(1)); r && r->state == RequestState::kPaused) {
      saw_paused = true;
      const RequestKv& kv = rig.engine->kv().Get(RequestId(1));
      EXPECT_EQ(kv.mask, LayerMask::Paused(32));
      EXPECT_EQ(kv.layers[0].device.size(), kv.layers[0].host.size());
      EXPECT_TRUE(kv.layers[1].device.empty());
    }
  }
  EXPECT_TRUE(saw_paused);
  auto done = rig.engine->TakeFinished();
  ASSERT_EQ(done.size(), 2u);
  for (const RequestRecord& r : done) {
    EXPECT_EQ(r.reason, FinishReason::kLength);
    EXPECT_EQ(r.token_times.size(), 30u);  // nothing lost across the pause
  }
  EXPECT_FALSE(done[1].pauses.empty());
  EXPECT_GE(rig.engine->counters().pauses, 1);
  EXPECT_EQ(rig.engine->kv().device_pool().used(), 0);
}

TEST(EngineTest, APlannedPauseIsNotABatchChange) {
  // A pause the plan chose must not count as a batch change: the paused request would rejoin at
  // the next step, be resumed and paused again, moving its KV every step.
  Rig rig(1000);
  rig.planner.window = 5;
  auto a = rig.engine->Submit({.prompt_tokens = 64, .max_output_tokens = 200}, Seconds(0));
  auto b = rig.engine->Submit({.prompt_tokens = 64, .max_output_tokens = 40}, Seconds(0));
  ASSERT_TRUE(a.ok() && b.ok());
  int offered_while_paused = 0;
  bool paused_once = false;
  rig.planner.pause = [&](const PlanInput& in) -> std::vector<RequestId> {
    for (const PlanCandidate& c : in.requests) offered_while_paused += c.was_paused;
    if (!paused_once && in.step >= 3 && in.requests.size() == 2) {
      paused_once = true;
      return {*a};
    }
    return {};
  };
  // Until the second request finishes nothing arrives or leaves, so the first stays out of the
  // plans (window expiries re-plan every 5 steps meanwhile).
  while (rig.engine->scheduler().Find(*b) != nullptr) ASSERT_TRUE(rig.engine->Step().ok());
  EXPECT_TRUE(paused_once);
  EXPECT_EQ(offered_while_paused, 0);
  EXPECT_EQ(rig.engine->counters().pauses, 1);
  EXPECT_GT(rig.planner.calls, 5);
  rig.RunToEnd();
  EXPECT_EQ(rig.engine->counters().resumes, 1);
  for (const RequestRecord& r : rig.engine->TakeFinished()) EXPECT_EQ(r.reason, FinishReason::kLength);
}

// Places every request only while `allow` says so, otherwise answers Infeasible.
class GatedPlanner : public ScriptedPlanner {
 public:
  std::function<bool(const PlanInput&)> allow;
  StatusOr<PlanDecision> Plan(const PlanInput& in) override {
    if (allow && !allow(in)) return Status(StatusCode::kInfeasible, "nothing fits");
    return ScriptedPlanner::Plan(in);
  }
};

TEST(EngineTest, ARequestNoPlanPlacedWaitsInsteadOfDecoding) {
  // The planner refuses every batch with two requests until step 50: the second request's prefill
  // runs (admission had room) but it has no placement, so it must not decode; it waits, paused,
  // and finishes once a plan places it.
  CostModel cost = SmallCost();
  VirtualClock clock;
  SimExecutor exec(cost, &clock, SimOptions{});
  GatedPlanner planner;
  planner.window = 1;
  planner.allow = [](const PlanInput& in) { return in.requests.size() < 2 || in.step >= 50; };
  EngineOptions o;
  o.scheduler.max_batch = 4;
  o.device_blocks_per_layer = 1000;
  o.default_slo = Seconds(0.1);
  Engine engine(o, &cost, &planner, &exec, &clock, &clock);
  ASSERT_TRUE(engine.Submit({.prompt_tokens = 64, .max_output_tokens = 100}, Seconds(0)).ok());
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(engine.Step().ok());
  ASSERT_TRUE(engine.Submit({.prompt_tokens = 64, .max_output_tokens = 20}, Seconds(0)).ok());
  for (int i = 0; i < 100000 && engine.HasActive(); ++i) ASSERT_TRUE(engine.Step().ok()) << "step " << i;
  auto done = engine.TakeFinished();
  ASSERT_EQ(done.size(), 2u);
  for (const RequestRecord& r : done) EXPECT_EQ(r.reason, FinishReason::kLength) << r.failure_message;
  EXPECT_GE(engine.counters().preemptions, 1);
  EXPECT_EQ(engine.kv().device_pool().used(), 0);
}

TEST(EngineTest, ResumedRequestsNeverOverflowTheBatch) {
  // A planner that pauses and resumes at random while requests keep arriving: paused requests
  // hold their seat, so resuming them never makes the batch larger than max_batch.
  Rig rig(1000, /*batch=*/4);
  rig.planner.window = 2;
  std::mt19937_64 rng(5);
  rig.planner.pause = [&](const PlanInput& in) {
    std::vector<RequestId> p;
    for (const PlanCandidate& c : in.requests) {
      if (std::uniform_int_distribution<int>(0, 3)(rng) == 0) p.push_back(c.id);
    }
    return p;
  };
  int submitted = 0;
  for (int i = 0; i < 100000 && (rig.engine->HasActive() || submitted < 24); ++i) {
    if (submitted < 24 && i % 7 == 0) {
      ASSERT_TRUE(rig.engine->Submit({.prompt_tokens = 32 + submitted, .max_output_tokens = 30}, Seconds(0)).ok());
      ++submitted;
    }
    ASSERT_TRUE(rig.engine->Step().ok());
  }
  ASSERT_FALSE(rig.engine->HasActive());
  int widest = 0;
  for (const StepRecord& s : rig.engine->steps()) widest = std::max(widest, s.decode_batch);
  EXPECT_LE(widest, 4);
  EXPECT_GT(rig.engine->counters().pauses, 10);
  EXPECT_EQ(rig.engine->TakeFinished().size(), 24u);
}

TEST(EngineTest, DevicePressurePreemptsAllDeviceAndNothingHangs) {
  // 40 blocks per layer; each request grows to ~30 blocks: two cannot both stay on device.
  Rig rig(40, /*batch=*/4);
  rig.planner.min_blocks_per_layer_block = 1;
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(rig.engine->Submit({.prompt_tokens = 200, .max_output_tokens = 250}, Seconds(0)).ok());
  }
  rig.RunToEnd();
  auto done = rig.engine->TakeFinished();
  ASSERT_EQ(done.size(), 3u);
  for (const RequestRecord& r : done) EXPECT_EQ(r.reason, FinishReason::kLength) << r.failure_message;
  EXPECT_GT(rig.engine->counters().preemptions, 0);
  EXPECT_EQ(rig.engine->kv().device_pool().used(), 0);
  EXPECT_EQ(rig.engine->kv().host_pool().used(), 0);
}

TEST(EngineTest, RefitLearnsASlowerGpuAndReplans) {
  // The simulated GPU computes 1.5x slower than the profile says and its link is 2x slower.
  CostModel cost = SmallCost();
  VirtualClock clock;
  SimExecutor exec(cost, &clock, SimOptions{.compute_scale = 1.5, .link_scale = 0.5});
  ScriptedPlanner planner;
  planner.distance = Distance::Every(1);  // half the layers over the link every step
  EngineOptions o;
  o.scheduler.max_batch = 4;
  o.device_blocks_per_layer = 1000;
  o.default_slo = Seconds(0.1);
  o.refit_cost = true;
  o.refit_every = 16;
  Engine engine(o, &cost, &planner, &exec, &clock, &clock);
  for (int i = 0; i < 4; ++i) {
    ASSERT_TRUE(engine.Submit({.prompt_tokens = 500 + 300 * i, .max_output_tokens = 200}, Seconds(0)).ok());
  }
  for (int i = 0; i < 100000 && engine.HasActive(); ++i) ASSERT_TRUE(engine.Step().ok());
  EXPECT_GE(engine.counters().cost_refits, 1);
  EXPECT_GE(engine.counters().replans[static_cast<size_t>(ReplanCause::kDrift)], 1);
  const CostProfile& learned = engine.cost().profile();
  // Batches of 4 requests shrink to 1 as they finish, so both coefficients are identifiable.
  EXPECT_NEAR(learned.decode_step.a / cost.profile().decode_step.a, 1.5, 0.05);
  EXPECT_NEAR(learned.decode_step.b / cost.profile().decode_step.b, 1.5, 0.05);
  EXPECT_NEAR(learned.link_bytes_per_s / cost.profile().link_bytes_per_s, 0.5, 1e-6);

  // Off: the planner keeps the profile it was given.
  VirtualClock clock2;
  SimExecutor exec2(cost, &clock2, SimOptions{.compute_scale = 1.5});
  o.refit_cost = false;
  Engine fixed(o, &cost, &planner, &exec2, &clock2, &clock2);
  ASSERT_TRUE(fixed.Submit({.prompt_tokens = 500, .max_output_tokens = 100}, Seconds(0)).ok());
  for (int i = 0; i < 100000 && fixed.HasActive(); ++i) ASSERT_TRUE(fixed.Step().ok());
  EXPECT_EQ(fixed.counters().cost_refits, 0);
  EXPECT_EQ(&fixed.cost(), &cost);
}

TEST(EngineTest, SloCalibrationLearnsWhatTheModelMissesAndTightensThePlannersSlo) {
  // The GPU computes 1.5x slower than the model and the model is not refit: the planner should
  // see its SLO divided by about 1.5 (the 0.9 quantile of measured / predicted step time).
  CostModel cost = SmallCost();
  VirtualClock clock;
  SimExecutor exec(cost, &clock, SimOptions{.compute_scale = 1.5});
  ScriptedPlanner planner;
  planner.predict = true;
  planner.window = 8;
  EngineOptions o;
  o.scheduler.max_batch = 4;
  o.device_blocks_per_layer = 1000;
  o.default_slo = Seconds(0.1);
  o.calibrate_slo = true;
  o.refit_every = 16;
  Engine engine(o, &cost, &planner, &exec, &clock, &clock);
  for (int i = 0; i < 4; ++i) {
    ASSERT_TRUE(engine.Submit({.prompt_tokens = 500 + 300 * i, .max_output_tokens = 200}, Seconds(0)).ok());
  }
  for (int i = 0; i < 100000 && engine.HasActive(); ++i) ASSERT_TRUE(engine.Step().ok());
  EXPECT_GT(engine.slo_calibration(), 1.45);
  EXPECT_LT(engine.slo_calibration(), 1.6);
  EXPECT_NEAR(planner.last_slo.count(), 0.1 / engine.slo_calibration(), 0.1 * 0.05);
  EXPECT_GE(engine.counters().replans[static_cast<size_t>(ReplanCause::kDrift)], 1);

  // Off (the default): the planner sees the requests' own SLO.
  VirtualClock clock2;
  SimExecutor exec2(cost, &clock2, SimOptions{.compute_scale = 1.5});
  o.calibrate_slo = false;
  Engine plain(o, &cost, &planner, &exec2, &clock2, &clock2);
  ASSERT_TRUE(plain.Submit({.prompt_tokens = 500, .max_output_tokens = 100}, Seconds(0)).ok());
  for (int i = 0; i < 100000 && plain.HasActive(); ++i) ASSERT_TRUE(plain.Step().ok());
  EXPECT_EQ(plain.slo_calibration(), 1.0);
  EXPECT_EQ(planner.last_slo, Seconds(0.1));
}

TEST(SimulationTest, DeterministicForTheSameSeed) {
  CostModel cost = SmallCost();
  Workload w;
  w.unit = ArrivalUnit::kSeconds;
  for (int i = 0; i < 20; ++i) {
    w.requests.push_back({.index = i, .arrival = 0.05 * i, .input_tokens = 500 + 37 * i, .output_tokens = 40 + i});
  }
  SimulationOptions o;
  o.engine.device_blocks_per_layer = 120;
  o.engine.scheduler.max_batch = 4;
  o.sim.compute_noise_sigma = 0.1;
  o.sim.seed = 7;
  ScriptedPlanner p1, p2;
  p1.distance = p2.distance = Distance::Every(1);
  auto a = RunSimulation(w, cost, p1, o);
  auto b = RunSimulation(w, cost, p2, o);
  ASSERT_TRUE(a.ok() && b.ok());
  ASSERT_EQ(a->records.size(), 20u);
  for (size_t i = 0; i < a->records.size(); ++i) {
    EXPECT_EQ(a->records[i].token_times, b->records[i].token_times);
  }
  EXPECT_EQ(a->summary.completed, 20);
}

}  // namespace
}  // namespace orbitflow
