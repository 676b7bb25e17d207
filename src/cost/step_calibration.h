// What the cost model cannot express, measured: the ratio of a decode step's measured time to
// the plan's prediction. The online refit (online_fit.h) moves the model's coefficients, but
// not its shape; on a live CPU the steps still ran 20-30% over a refitted prediction at the
// median and 50-80% at p90 (thread contention with the copy engine and the HTTP threads, cache
// effects), and a plan that fills the SLO budget turns every such step into a late token.
// The engine plans against the SLO divided by a high quantile of this ratio.
//
// Bounded: the factor never goes below 1 (a model that over-predicts only wastes headroom) nor
// above `max_factor`, and is 1 until `min_samples` steps were seen. Not thread-safe.
#pragma once

#include <cstddef>
#include <vector>

#include "orbitflow/status.h"
#include "orbitflow/types.h"

namespace orbitflow {

struct StepCalibrationOptions {
  double quantile = 0.9;  // of measured / predicted over the window
  int window = 256;       // most recent decode steps kept
  int min_samples = 32;
  double max_factor = 4.0;
};
// 0 < quantile <= 1, window >= min_samples >= 1, max_factor >= 1.
Status ValidateStepCalibrationOptions(const StepCalibrationOptions& options);

class StepCalibration {
 public:
  // REQUIRES: options valid.
  explicit StepCalibration(StepCalibrationOptions options = {});

  // A decode step the plan predicted at `predicted` took `measured`. Ignored unless both > 0.
  void Add(Seconds predicted, Seconds measured);
  // The quantile of measured / predicted, within [1, max_factor]; 1 before min_samples.
  double Factor() const;
  size_t samples() const { return ratios_.size(); }
  // Forgets every sample (the predictions they were measured against are stale).
  void Reset();

 private:
  StepCalibrationOptions options_;
  std::vector<double> ratios_;  // ring buffer, newest at next_ - 1
  size_t next_ = 0;
  mutable std::vector<double> scratch_;
};

}  // namespace orbitflow
