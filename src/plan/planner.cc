#include "plan/planner.h"

namespace orbitflow {

const char* ReplanCauseName(ReplanCause cause) {
  switch (cause) {
    case ReplanCause::kWindowExpired: return "window";
    case ReplanCause::kBatchChanged: return "batch_change";
    case ReplanCause::kPrefill: return "prefill";
    case ReplanCause::kApplyFailed: return "apply_failed";
    case ReplanCause::kDrift: return "drift";
    case ReplanCause::kEveryStep: return "every_step";
    case ReplanCause::kCount: break;
  }
  return "unknown";
}

}  // namespace orbitflow
