// The simulated GPU (DESIGN.md, "Simulated GPU"): executes a StepPlan by timing it, moving no
// bytes. Every duration comes from the CostModel the planner also predicts with; the order of
// events is total and the only randomness is a seeded noise factor, so a run is reproducible.
//
// One step, in virtual time from its start (t = 0):
//   1. Moves (plan.moves): layers brought back after a plan change are copied host -> device over
//      the one FIFO link, issued at t = 0 ahead of everything else. They overlap the prefill; a
//      decode layer that needs one (its request is in the decode batch) waits for it.
//   2. Prefill (plan.prefills), vLLM 0.6 style before the decode, over [0, P): chunk [b, e) costs
//      Prefill(e) - Prefill(b), except the chunk starting at 0 also pays the fit's intercept, so
//      a prompt's chunks always sum to Prefill(prompt). Its KV goes to the host mirror
//      asynchronously (counted in d2h, not in time); layers that are offloaded are written
//      straight to the host, so the prefill never waits on the link.
//   3. Decode (plan.decodes), from t = P: layers computed in order, each c =
//      LayerCompute(plan.batch_tokens); request r's offloaded layer l needs LinkBlocks(b_r)
//      layer-blocks, b_r = BlocksForTokens(context_tokens + 1), prefetched PrefetchAhead()
//      layers ahead over the FIFO link (see exec/sim/step_timeline.h for the event order and
//      why a per-layer sweep is exact).
//   step_time = max(end of the decode (or P), when the link goes idle); the clock advances by it.
//   StepResult: prefill = P; compute = L c; stall = decode waits (for prefetches and moves);
//   moves = link time of the moves (overlapped, so it is not a term of step_time; its cost shows
//   up as stall or as a tail when the link outlasts the compute); h2d = moves + prefetches;
//   d2h = mirror writes: prefill tokens x L, plus one token per decode request per layer.
//
// Where this event model is more precise than the planner's closed forms (cost_model.h):
//   - StepTimePerLayer lets each transfer overlap only the previous layer's compute. Here a
//     transfer is issued PrefetchAhead() = d layers ahead, so with d = 15 a large request's
//     transfer hides behind 15 layers of compute instead of stalling its layer.
//   - StepTimePrefixFlow lets the link work anywhere before a layer needs the data, a lower bound
//     no schedule beats (this model never goes below it). Here the link is FIFO and a transfer
//     starts only when issued, so a later-needed large transfer issued early delays a small one
//     queued behind it (head-of-line blocking), which neither closed form sees.
//   When every offloaded request prefetches one layer ahead (d in {0, 1}) and the step has no
//   moves, the decode phase and StepTimePerLayer agree (to rounding): each transfer then starts
//   on an idle link as the layer before starts, which is the closed form's assumption.
//
// Noise (SimOptions::compute_noise_sigma > 0): one log-normal factor exp(sigma z - sigma^2 / 2)
// per step (mean 1) scales that step's compute (every decode layer and the prefill), from a
// generator seeded by SimOptions::seed: the k-th step of an executor draws the same factor in
// every run. Link times are not noised.
//
// Not thread-safe: one engine thread calls it. The CostModel and the clock must outlive it.
#pragma once

#include <cstdint>
#include <string_view>

#include "common/clock.h"
#include "cost/cost_model.h"
#include "exec/executor.h"
#include "exec/sim/step_timeline.h"
#include "orbitflow/status.h"

namespace orbitflow {

struct SimOptions {
  uint64_t seed = 0;
  // Standard deviation of log(compute noise factor); 0 (default) times every step exactly.
  double compute_noise_sigma = 0.0;
  // The simulated hardware against the cost model the planner predicts with: compute (decode and
  // prefill) takes compute_scale times the fit, the link moves link_scale times its bandwidth.
  // 1 and 1: they agree. Other values test the runtime refinement (a wrong or stale profile).
  double compute_scale = 1.0;
  double link_scale = 1.0;
};

// OK, or what is wrong with the options.
Status ValidateSimOptions(const SimOptions& options);

class SimExecutor final : public Executor {
 public:
  // Invalid options or a null clock are reported by every Execute call.
  SimExecutor(const CostModel& cost, VirtualClock* clock, SimOptions options = {});

  std::string_view name() const override { return "sim"; }
  StatusOr<StepResult> Execute(const StepPlan& plan, const KvCacheManager& kv) override;

  // Execute, writing into `*out` and reusing its vectors' capacity, so a caller that keeps one
  // StepResult across steps allocates nothing per step (Execute itself must build a fresh
  // StepResult, two vectors, per call). On error `*out` and the clock are untouched.
  Status ExecuteInto(const StepPlan& plan, const KvCacheManager& kv, StepResult* out);

  const SimOptions& options() const { return options_; }
  // Steps executed so far (each drew one noise factor when noise is on).
  int64_t steps() const { return steps_; }

 private:
  // Checks the plan against the contract of Executor::Execute; names the offending item.
  Status ValidatePlan(const StepPlan& plan, const KvCacheManager& kv) const;
  double NextNoiseFactor();
  double PrefillSeconds(const StepPlan& plan) const;
  void AddMoves(const StepPlan& plan, StepResult* out);
  // Registers the decode batch's prefetches and returns their layer-blocks; fails if a request's
  // KV residency is not the one its distance implies.
  StatusOr<int64_t> AddPrefetches(const StepPlan& plan, const KvCacheManager& kv);
  void EmitTokens(const StepPlan& plan, StepResult* out) const;

  const CostModel& cost_;
  VirtualClock* clock_;
  SimOptions options_;
  Status options_status_;
  uint64_t rng_state_;
  int64_t steps_ = 0;
  StepTimeline timeline_;
};

}  // namespace orbitflow
