#include "sched/replan_trigger.h"

#include <cmath>
#include <limits>

namespace orbitflow {

void ReplanTrigger::OnPlanned(int window_steps, Seconds predicted) {
  OnSolveStarted();
  OnPlanAdopted(window_steps, predicted);
}

void ReplanTrigger::OnSolveStarted() {
  batch_changed_ = prefill_ = apply_failed_ = drifted_ = false;
  has_plan_ = true;
  window_left_ = std::numeric_limits<int>::max();
  drift_run_ = 0;
}

void ReplanTrigger::OnPlanAdopted(int window_steps, Seconds predicted) {
  window_left_ = window_steps;
  predicted_ = predicted;
  drift_run_ = 0;
}

void ReplanTrigger::OnDecodeStep(Seconds measured) {
  if (window_left_ > 0) --window_left_;
  if (predicted_.count() <= 0) return;
  const double gap = std::abs(measured.count() - predicted_.count()) / predicted_.count();
  drift_run_ = gap > options_.drift_tolerance ? drift_run_ + 1 : 0;
  if (drift_run_ >= options_.drift_steps) drifted_ = true;
}

std::optional<ReplanCause> ReplanTrigger::Pending() const {
  if (!has_plan_) return ReplanCause::kBatchChanged;
  if (apply_failed_) return ReplanCause::kApplyFailed;
  if (batch_changed_) return ReplanCause::kBatchChanged;
  if (prefill_) return ReplanCause::kPrefill;
  if (drifted_) return ReplanCause::kDrift;
  if (window_left_ <= 0) return ReplanCause::kWindowExpired;
  return std::nullopt;
}

}  // namespace orbitflow
