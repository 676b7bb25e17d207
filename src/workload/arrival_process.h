// Synthetic arrival processes: independent gaps between consecutive requests with a given mean
// and coefficient of variation (CV = standard deviation / mean).
//
// Sampling uses std::mt19937_64 (whose output the standard fixes) and hand-written transforms
// (not std::*_distribution, whose algorithms differ between standard libraries), so a seed gives
// the same workload on every platform.
#pragma once

#include <cstdint>
#include <random>
#include <string_view>
#include <vector>

#include "orbitflow/status.h"

namespace orbitflow {

struct ArrivalProcessOptions {
  enum Kind {
    kPoisson,    // exponential gaps; CV is 1 by definition, `cv` is ignored
    kGamma,      // gamma gaps: shape 1/cv^2, scale mean*cv^2
    kLogNormal,  // log-normal gaps: sigma^2 = ln(1 + cv^2), mu = ln(mean) - sigma^2/2
  };
  Kind kind = kPoisson;
  double rate_per_s = 1.0;  // mean gap = 1 / rate_per_s
  double cv = 1.0;
  uint64_t seed = 0;
};

// "poisson" | "gamma" | "lognormal".
StatusOr<ArrivalProcessOptions::Kind> ParseArrivalKind(std::string_view name);
std::string_view ArrivalKindName(ArrivalProcessOptions::Kind kind);

// A seeded random source with the few draws the workload layer needs.
class WorkloadRng {
 public:
  explicit WorkloadRng(uint64_t seed) : engine_(seed) {}
  double Uniform();            // in [0, 1), 53 random bits
  double OpenUniform();        // in (0, 1], safe for log()
  double Normal();             // standard normal (Box-Muller)
  double Gamma(double shape);  // unit-scale gamma (Marsaglia-Tsang). REQUIRES: shape > 0.

 private:
  std::mt19937_64 engine_;
};

// Draws gaps of one kind with a given mean and CV. Construct with Make(), which validates.
class GapSampler {
 public:
  static StatusOr<GapSampler> Make(ArrivalProcessOptions::Kind kind, double mean, double cv);
  double Sample(WorkloadRng& rng) const;
  double mean() const { return mean_; }

 private:
  GapSampler(ArrivalProcessOptions::Kind kind, double mean, double cv);
  ArrivalProcessOptions::Kind kind_;
  double mean_;
  double cv_;
  double mu_ = 0.0, sigma_ = 0.0;     // log-normal parameters
  double shape_ = 1.0, scale_ = 1.0;  // gamma parameters
};

// Arrival times of `n` requests: the first at 0, each next one a sampled gap later.
// Fails on a non-positive or non-finite rate, a CV <= 0 (gamma, log-normal) or n < 0.
StatusOr<std::vector<double>> GenerateArrivals(int64_t n, const ArrivalProcessOptions& options);

}  // namespace orbitflow
