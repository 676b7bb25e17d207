// When to re-solve the placement (spec section 5, plus drift): the window ran out, the batch
// changed, a prefill was scheduled, the plan could not be applied, or measured step times
// drifted from the prediction for several steps in a row.
#pragma once

#include <array>
#include <cstdint>
#include <optional>

#include "plan/planner.h"

namespace orbitflow {

struct ReplanTriggerOptions {
  // Relative gap |measured - predicted| / predicted above which a step counts as drifting.
  double drift_tolerance = 0.15;
  // Consecutive drifting steps that trigger a re-plan.
  int drift_steps = 3;
};

class ReplanTrigger {
 public:
  explicit ReplanTrigger(ReplanTriggerOptions options = {}) : options_(options) {}

  void OnBatchChanged() { batch_changed_ = true; }
  void OnPrefillScheduled() { prefill_ = true; }
  void OnApplyFailed() { apply_failed_ = true; }
  // The cost model was refit: predictions made with the old one are stale (cause kDrift).
  void OnCostModelChanged() { drifted_ = true; }
  // A new plan was solved and adopted for `window_steps` steps predicting `predicted` per step:
  // OnSolveStarted then OnPlanAdopted.
  void OnPlanned(int window_steps, Seconds predicted);
  // A solve started from the current state: the causes pending so far are answered by it (causes
  // raised while it runs stay pending), and no window runs out until its plan is adopted.
  void OnSolveStarted();
  // The solve's plan is in force for `window_steps` decode steps.
  void OnPlanAdopted(int window_steps, Seconds predicted);
  // A decode step ran: counts down the window and checks drift.
  void OnDecodeStep(Seconds measured);

  // The highest-priority pending cause, if any. Does not clear it.
  std::optional<ReplanCause> Pending() const;
  // Counts of re-plans by cause (incremented by OnPlanned with the cause that was pending).
  const std::array<int64_t, static_cast<size_t>(ReplanCause::kCount)>& counts() const { return counts_; }
  void Count(ReplanCause cause) { ++counts_[static_cast<size_t>(cause)]; }

 private:
  ReplanTriggerOptions options_;
  bool batch_changed_ = false;
  bool prefill_ = false;
  bool apply_failed_ = false;
  bool drifted_ = false;
  bool has_plan_ = false;
  int window_left_ = 0;
  Seconds predicted_{0};
  int drift_run_ = 0;
  std::array<int64_t, static_cast<size_t>(ReplanCause::kCount)> counts_{};
};

}  // namespace orbitflow
