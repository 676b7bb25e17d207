// Placement invariance (DESIGN.md, CPU executor): greedy tokens of every request are bit-identical
// to its all-on-device single-request run whatever the plans, pauses and batch mixes.
#include <gtest/gtest.h>

#include <map>
#include <random>
#include <string>

#include "common/clock.h"
#include "cost/cost_model.h"
#include "engine/engine.h"
#include "exec/cpu/cpu_executor.h"
#include "model/loader.h"

namespace orbitflow {
namespace {

const Model& Stories260K() {
  static const Model* model = [] {
    auto m = LoadModel(std::string(ORBITFLOW_REPO_DIR) + "/models/stories260K/stories260K.bin");
    EXPECT_TRUE(m.ok()) << m.status().ToString();
    return new Model(std::move(m).value());
  }();
  return *model;
}

// Forwards to the CPU executor and keeps every request's tokens.
class RecordingExecutor final : public Executor {
 public:
  explicit RecordingExecutor(Executor* inner) : inner_(inner) {}
  std::string_view name() const override { return "recording"; }
  StatusOr<StepResult> Execute(const StepPlan& plan, const KvCacheManager& kv) override {
    auto r = inner_->Execute(plan, kv);
    if (r.ok()) {
      for (const TokenOutput& t : r->tokens) tokens[t.id.value()].push_back(t.token);
    }
    return r;
  }
  void Release(RequestId id) override { inner_->Release(id); }
  std::map<int64_t, std::vector<int32_t>> tokens;

 private:
  Executor* inner_;
};

// Random distance per request per plan, random pauses (never everyone), random windows.
class RandomPlanner final : public Planner {
 public:
  RandomPlanner(uint64_t seed, int layers, bool all_device)
      : rng_(seed), candidates_(CandidateDistances(layers)), all_device_(all_device) {}
  std::string_view name() const override { return "random"; }
  StatusOr<PlanDecision> Plan(const PlanInput& in) override {
    PlanDecision d;
    d.window_steps = all_device_ ? 1000 : 1 + static_cast<int>(rng_() % 3);
    for (const PlanCandidate& c : in.requests) {
      const bool pause = !all_device_ && rng_() % 5 == 0 && d.pause.size() + 1 < in.requests.size();
      if (pause) {
        d.pause.push_back(c.id);
        continue;
      }
      d.ids.push_back(c.id);
      d.distances.push_back(all_device_ ? Distance::AllDevice()
                                        : candidates_[rng_() % candidates_.size()]);
    }
    return d;
  }

 private:
  std::mt19937_64 rng_;
  std::vector<Distance> candidates_;
  bool all_device_;
};

struct Run {
  std::map<int64_t, std::vector<int32_t>> tokens;  // by submission order
};

std::vector<std::vector<int32_t>> Prompts() {
  std::vector<std::vector<int32_t>> p;
  std::mt19937 rng(5);
  for (int i = 0; i < 6; ++i) {
    std::vector<int32_t> ids = {1};
    const int n = 3 + 9 * i;
    for (int t = 0; t < n; ++t) ids.push_back(static_cast<int32_t>(3 + rng() % 500));
    p.push_back(ids);
  }
  return p;
}

// What the random runs exercised, so the test proves it moved bytes and paused requests.
int64_t g_pauses = 0;
int64_t g_h2d = 0;

// Runs `prompts` (indices) through an engine; returns tokens by prompt index.
std::map<int, std::vector<int32_t>> RunEngine(const std::vector<int>& which, uint64_t seed,
                                              bool all_device, int batch, int64_t chunk) {
  const Model& model = Stories260K();
  const int L = model.spec.n_layers;
  const int64_t per_layer = 64;
  CpuExecutorOptions eo{.num_threads = 2, .device_blocks = per_layer * L, .host_blocks = 4096,
                        .max_batch_tokens = 64, .max_batch = 8};
  auto cpu = CpuExecutor::Create(&model, eo);
  EXPECT_TRUE(cpu.ok());
  RecordingExecutor exec(cpu->get());
  RandomPlanner planner(seed, L, all_device);
  // The planner is scripted, so the cost model only needs the model's shape.
  CostModel cost(model.spec, BuiltinCostProfile(model.spec, *LookupHardware("a100")));
  SteadyClock clock;
  EngineOptions o;
  o.scheduler.max_batch = batch;
  o.scheduler.chunked_prefill = chunk > 0;
  if (chunk > 0) o.scheduler.prefill_chunk_tokens = chunk;
  o.device_blocks_per_layer = per_layer;
  o.host_blocks = 4096;
  Engine engine(o, &cost, &planner, &exec, &clock);
  const auto prompts = Prompts();
  std::map<int64_t, int> index;  // request id -> prompt index
  std::mt19937 rng(seed);
  size_t next = 0;
  for (int step = 0; step < 5000 && (next < which.size() || engine.HasActive()); ++step) {
    if (next < which.size() && (rng() % 3 == 0 || !engine.HasActive())) {
      const auto& p = prompts[which[next]];
      auto id = engine.Submit({.prompt_tokens = static_cast<int64_t>(p.size()),
                               .max_output_tokens = 24, .prompt = p}, clock.Now());
      EXPECT_TRUE(id.ok());
      index[id->value()] = which[next++];
    }
    auto s = engine.Step();
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    if (!s.ok()) break;
  }
  EXPECT_FALSE(engine.HasActive());
  g_pauses += engine.counters().pauses + engine.counters().preemptions;
  g_h2d += engine.counters().h2d.count();
  std::map<int, std::vector<int32_t>> out;
  for (auto& [id, t] : exec.tokens) out[index[id]] = t;
  return out;
}

TEST(CpuPlacementTest, GreedyTokensAreInvariantToPlacementPausesAndBatches) {
  const int n = static_cast<int>(Prompts().size());
  std::map<int, std::vector<int32_t>> ref;
  for (int i = 0; i < n; ++i) {
    auto one = RunEngine({i}, 0, /*all_device=*/true, /*batch=*/1, /*chunk=*/0);
    ASSERT_EQ(one[i].size(), 24u);
    ref[i] = one[i];
  }
  for (uint64_t seed = 1; seed <= 12; ++seed) {
    std::vector<int> which;
    for (int i = 0; i < n; ++i) which.push_back((i + static_cast<int>(seed)) % n);
    const int batch = 1 + static_cast<int>(seed % 4);
    const int64_t chunk = seed % 3 == 0 ? 0 : static_cast<int64_t>(4 + seed);
    auto got = RunEngine(which, seed, /*all_device=*/false, batch, chunk);
    for (int i = 0; i < n; ++i) {
      EXPECT_EQ(got[i], ref[i]) << "seed " << seed << " prompt " << i << " batch " << batch
                                << " chunk " << chunk;
    }
  }
  EXPECT_GT(g_pauses, 0);
  EXPECT_GT(g_h2d, 0);
}

}  // namespace
}  // namespace orbitflow
