#include "cost/step_calibration.h"

#include <algorithm>
#include <cmath>

namespace orbitflow {

Status ValidateStepCalibrationOptions(const StepCalibrationOptions& o) {
  if (!(o.quantile > 0 && o.quantile <= 1)) return InvalidArgument("calibration quantile must be in (0, 1]");
  if (o.min_samples < 1 || o.window < o.min_samples) {
    return InvalidArgument("calibration needs window >= min_samples >= 1");
  }
  if (!(o.max_factor >= 1)) return InvalidArgument("calibration max_factor must be at least 1");
  return Status::Ok();
}

StepCalibration::StepCalibration(StepCalibrationOptions options) : options_(options) {
  ratios_.reserve(static_cast<size_t>(options_.window));
}

void StepCalibration::Add(Seconds predicted, Seconds measured) {
  if (!(predicted.count() > 0) || !(measured.count() > 0)) return;
  const double ratio = measured.count() / predicted.count();
  if (!std::isfinite(ratio)) return;
  if (ratios_.size() < static_cast<size_t>(options_.window)) {
    ratios_.push_back(ratio);
  } else {
    ratios_[next_] = ratio;
  }
  next_ = (next_ + 1) % static_cast<size_t>(options_.window);
}

void StepCalibration::Reset() {
  ratios_.clear();
  next_ = 0;
}

double StepCalibration::Factor() const {
  if (ratios_.size() < static_cast<size_t>(options_.min_samples)) return 1.0;
  scratch_ = ratios_;
  // Nearest rank: the smallest sample with at least `quantile` of them at or below it.
  const size_t n = scratch_.size();
  const size_t rank = std::min(n - 1, static_cast<size_t>(std::ceil(options_.quantile * static_cast<double>(n))) - 1);
  std::nth_element(scratch_.begin(), scratch_.begin() + static_cast<std::ptrdiff_t>(rank), scratch_.end());
  return std::clamp(scratch_[rank], 1.0, options_.max_factor);
}

}  // namespace orbitflow
