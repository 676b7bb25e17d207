// Runtime refinement of the cost model (spec section 5, ours): refits the decode compute fit
// f(x) = a x + b and the link bandwidth from measured steps, so the planner's predictions follow
// the hardware it actually runs on (thermal throttling, a noisy neighbour, a profile taken on
// another machine).
//
// Robust and bounded by construction:
//   * a sliding window of the last `window` samples, so old behaviour ages out;
//   * outliers are dropped before fitting: samples whose ratio to the current fit is more than
//     `outlier_mads` median absolute deviations from the median ratio (a preempted thread, a
//     page fault storm) do not move the fit;
//   * a two-parameter fit only when the batch sizes in the window spread enough to tell slope
//     from intercept; otherwise one scale factor on the prior fit;
//   * every coefficient stays within [prior / max_ratio, prior x max_ratio].
//
// Not thread-safe: fed and read by the engine thread.
#pragma once

#include <cstdint>
#include <vector>

#include "cost/cost_profile.h"
#include "orbitflow/status.h"
#include "orbitflow/types.h"

namespace orbitflow {

struct OnlineFitOptions {
  int window = 256;            // samples kept per quantity
  int min_samples = 16;        // no change before this many samples
  double outlier_mads = 5.0;   // rejection threshold on the ratio to the fit, in MADs
  double max_ratio = 4.0;      // coefficients stay within a factor of the prior
  // Relative spread (std / mean) of batch tokens above which slope and intercept are both fit.
  double min_token_spread = 0.1;
};
// window >= min_samples >= 2, outlier_mads > 0, max_ratio >= 1.
Status ValidateOnlineFitOptions(const OnlineFitOptions& options);

// The largest relative difference between the two profiles' decode fit coefficients and link
// bandwidths (0 when equal).
double ProfileChange(const CostProfile& from, const CostProfile& to);

class OnlineCostFit {
 public:
  // REQUIRES: options valid (ValidateOnlineFitOptions).
  OnlineCostFit(CostProfile prior, OnlineFitOptions options = {});

  // A decode step over `batch_tokens` context tokens spent `compute` in decode compute (stalls
  // and prefill excluded). Non-positive or non-finite values are ignored.
  void AddCompute(int64_t batch_tokens, Seconds compute);
  // The link moved `bytes` host-to-device while busy for `busy`. Ignored unless both > 0.
  void AddLink(Bytes bytes, Seconds busy);

  // Refits from the windows; the profile is the prior with decode_step and link_bytes_per_s
  // replaced (transfer_step scaled with the link).
  void Refit();
  const CostProfile& profile() const { return current_; }
  int64_t compute_samples() const { return static_cast<int64_t>(tokens_.size()); }
  int64_t link_samples() const { return static_cast<int64_t>(link_bytes_.size()); }

 private:
  LinearFit FitCompute() const;
  double FitLink() const;
  void Push(std::vector<double>& v, double x) const;

  CostProfile prior_, current_;
  OnlineFitOptions options_;
  // Ring buffers kept in insertion order (erase from the front; windows are small).
  std::vector<double> tokens_, compute_s_;
  std::vector<double> link_bytes_, link_s_;
};

}  // namespace orbitflow
