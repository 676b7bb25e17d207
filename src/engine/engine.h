// The engine loop: schedule -> plan -> execute -> update, identical for the simulated GPU and the
// real CPU executor (DESIGN.md). One thread owns an Engine.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "common/clock.h"
#include "cost/cost_model.h"
#include "cost/online_fit.h"
#include "cost/step_calibration.h"
#include "exec/executor.h"
#include "kv/kv_cache_manager.h"
#include "metrics/request_record.h"
#include "engine/planner_thread.h"
#include "plan/planner.h"
#include "sched/replan_trigger.h"
#include "sched/scheduler.h"

namespace orbitflow {

// How the planner's own time counts (spec section 4, "runs one step ahead").
enum class PlannerMode : uint8_t {
  kAhead,  // solved while the previous step runs: hidden, but measured and reported
  kSync,   // solved on the critical path: charged to the step
};

struct EngineOptions {
  SchedulerOptions scheduler;
  int64_t device_blocks_per_layer = 0;
  int64_t host_blocks = int64_t{1} << 30;
  Seconds default_slo{0.1};           // per-token SLO for requests that carry none
  int64_t max_context = 0;            // longest prompt + output accepted (0: the model's)
  double avg_trace_tokens = 0;        // for FlexGen+ / SLO-aware baselines
  PlannerMode planner_mode = PlannerMode::kAhead;
  // Live engines: solve on a planner thread while the step runs and adopt the answer at the next
  // step (the current plan holds until then). Simulation solves inline and accounts by
  // planner_mode instead, so its results do not depend on the host's thread timing.
  bool plan_on_thread = false;
  ReplanTriggerOptions triggers;
  // Runtime refinement (spec section 5, ours): refit the cost model's compute fit and link
  // bandwidth from measured decode steps every `refit_every` of them; a refit that moves a
  // coefficient by more than `refit_tolerance` (relative) makes the planner re-solve (cause
  // kDrift) with the new model.
  bool refit_cost = false;
  OnlineFitOptions refit;
  int refit_every = 32;
  double refit_tolerance = 0.05;
  // Live engines (ours): plan against the SLO divided by a high quantile of measured / predicted
  // decode step time (cost/step_calibration.h), checked every `refit_every` decode steps; a change
  // beyond `refit_tolerance` re-plans (cause kDrift).
  bool calibrate_slo = false;
  StepCalibrationOptions calibration;
  int32_t eos_token = 2;              // real executors: end of sequence
};

// Counters the metrics endpoint and the summaries report.
struct EngineCounters {
  int64_t steps = 0;
  int64_t decode_steps = 0;
  int64_t pauses = 0;               // Pause-Resume pauses chosen by the planner
  int64_t preemptions = 0;          // pauses forced because device blocks ran out mid-step
  int64_t resumes = 0;
  int64_t apply_failures = 0;
  int64_t late_plans = 0;           // steps that started while a threaded solve was still running
  int64_t cost_refits = 0;          // refits that changed the planner's cost model
  int64_t prompt_tokens = 0;
  int64_t generation_tokens = 0;
  Bytes h2d, d2h;
  std::array<int64_t, static_cast<size_t>(ReplanCause::kCount)> replans{};
};

class Engine {
 public:
  // All pointers must outlive the Engine. `virtual_clock` is set only in simulation (it lets the
  // engine charge synchronous solver time); it is the same object as `clock` then.
  Engine(EngineOptions options, const CostModel* cost, Planner* planner, Executor* executor,
         Clock* clock, VirtualClock* virtual_clock = nullptr);

  // Queues a request that arrived at `arrival`. Requests that can never run (empty, longer than
  // the context, larger than the device pool under this policy) finish at once as failed, with
  // the reason in their record; the returned status says why.
  StatusOr<RequestId> Submit(RequestSpec spec, Seconds arrival);
  // Cancels a request wherever it is; its blocks return to the pools.
  Status Cancel(RequestId id);
  // Runs one step. Returns false when there was nothing to run.
  StatusOr<bool> Step();

  bool HasActive() const { return sched_.HasActive(); }
  const EngineCounters& counters() const { return counters_; }
  const std::vector<StepRecord>& steps() const { return steps_; }
  // Moves the step records out: a long-running engine (serving) drains them so they do not grow
  // without bound.
  std::vector<StepRecord> TakeSteps() { return std::exchange(steps_, {}); }
  // The factor the planner's SLOs are divided by (1 unless calibrate_slo).
  double slo_calibration() const { return slo_factor_; }
  std::vector<RequestRecord> TakeFinished() { return sched_.TakeFinished(); }
  const KvCacheManager& kv() const { return kv_; }
  Scheduler& scheduler() { return sched_; }
  const EngineOptions& options() const { return options_; }
  // The cost model the planner uses now (refit when options().refit_cost).
  const CostModel& cost() const { return *cost_; }

 private:
  bool AdmissionFits(const Request& r) const;
  // Fills candidates_ and `input` for a plan; false when there is nobody to place.
  bool BuildPlanInput(ReplanCause cause, PlanInput* input);
  // Solves inline and adopts the decision.
  Status RunPlanner(ReplanCause cause, std::vector<KvMove>* moves, std::vector<RequestId>* paused);
  // Threaded planning: adopts a finished solve, starts a new one when a trigger is pending.
  Status PlanOnThread(std::optional<ReplanCause> cause, std::vector<KvMove>* moves,
                      std::vector<RequestId>* paused);
  bool DecodingUnplaced();
  // A step cannot run on the previous plan: a request about to decode has no placement, or the
  // plan paused everyone and only a new one can resume them.
  bool NeedsPlanNow();
  Status AdoptDecision(StatusOr<PlanDecision> decision, Seconds solve_time, ReplanCause cause,
                       std::vector<KvMove>* moves, std::vector<RequestId>* paused);
  Status ApplyDecision(const PlanDecision& d, std::vector<KvMove>* moves, std::vector<RequestId>* paused);
  Status SetMask(Request* r, const LayerMask& mask, std::vector<KvMove>* moves);
  void PauseRequest(Request* r, bool for_memory, std::vector<KvMove>* moves);
  void ResumeRequest(Request* r);
  // Grows the KV of `r` to `tokens`, relieving device pressure if needed. False if `r` had to
  // be paused or failed instead.
  StatusOr<bool> GrowOrRelieve(Request* r, int64_t tokens, std::vector<KvMove>* moves,
                               std::vector<RequestId>* paused);
  void FailRequest(Request* r, std::string why);
  void FinishRequest(Request* r, FinishReason reason);
  void HandleTokens(const StepResult& result, Seconds now);
  // Feeds a decode step to the online fit and, every refit_every steps, adopts a changed model.
  void LearnCost(const StepPlan& plan, const StepResult& result);
  // Feeds a decode step's measured time to the SLO calibration and adopts a changed factor.
  void Calibrate(const StepPlan& plan, Seconds measured);
  Status UnstickIfIdle();

  EngineOptions options_;
  const CostModel* cost_;
  Planner* planner_;
  Executor* executor_;
  Clock* clock_;
  VirtualClock* virtual_clock_;
  int num_layers_;
  KvCacheManager kv_;
  Scheduler sched_;
  ReplanTrigger trigger_;
  EngineCounters counters_;
  std::vector<StepRecord> steps_;
  std::vector<PlanCandidate> candidates_;  // reused every plan
  Seconds last_solver_time_{0};
  bool last_solved_ = false;
  Seconds predicted_step_{0};
  std::unique_ptr<PlannerThread> planner_thread_;  // set when options_.plan_on_thread
  std::optional<OnlineCostFit> fit_;               // set when options_.refit_cost
  std::optional<CostModel> refit_model_;           // the latest refit; cost_ points to it once set
  int64_t steps_since_refit_ = 0;
  static constexpr double kCalibrationResetChange = 1.0;  // a refit this large restarts it
  std::optional<StepCalibration> calibration_;     // set when options_.calibrate_slo
  double slo_factor_ = 1.0;
  int64_t steps_since_calibration_ = 0;
};

}  // namespace orbitflow
