#include "workload/arrival_process.h"

#include <cmath>
#include <numbers>

#include <fmt/format.h>

namespace orbitflow {

StatusOr<ArrivalProcessOptions::Kind> ParseArrivalKind(std::string_view name) {
  if (name == "poisson") return ArrivalProcessOptions::kPoisson;
  if (name == "gamma") return ArrivalProcessOptions::kGamma;
  if (name == "lognormal") return ArrivalProcessOptions::kLogNormal;
  return InvalidArgument(
      fmt::format("unknown arrival process '{}'; use poisson, gamma or lognormal", name));
}

std::string_view ArrivalKindName(ArrivalProcessOptions::Kind kind) {
  switch (kind) {
    case ArrivalProcessOptions::kPoisson:
      return "poisson";
    case ArrivalProcessOptions::kGamma:
      return "gamma";
    case ArrivalProcessOptions::kLogNormal:
      return "lognormal";
  }
  return "unknown";
}

double WorkloadRng::Uniform() { return static_cast<double>(engine_() >> 11) * 0x1.0p-53; }

double WorkloadRng::OpenUniform() { return 1.0 - Uniform(); }

double WorkloadRng::Normal() {
  const double r = std::sqrt(-2.0 * std::log(OpenUniform()));
  return r * std::cos(2.0 * std::numbers::pi * Uniform());
}

double WorkloadRng::Gamma(double shape) {
  if (shape < 1.0) {
    // Boost the shape above 1, then scale back: Gamma(a) = Gamma(a+1) * U^(1/a).
    return Gamma(shape + 1.0) * std::pow(OpenUniform(), 1.0 / shape);
  }
  // Marsaglia and Tsang (2000), "A simple method for generating gamma variables".
  const double d = shape - 1.0 / 3.0;
  const double c = 1.0 / std::sqrt(9.0 * d);
  for (;;) {
    const double x = Normal();
    double v = 1.0 + c * x;
    if (v <= 0.0) continue;
    v = v * v * v;
    const double u = OpenUniform();
    if (u < 1.0 - 0.0331 * x * x * x * x) return d * v;
    if (std::log(u) < 0.5 * x * x + d * (1.0 - v + std::log(v))) return d * v;
  }
}

GapSampler::GapSampler(ArrivalProcessOptions::Kind kind, double mean, double cv)
    : kind_(kind), mean_(mean), cv_(cv) {
  const double s2 = std::log1p(cv * cv);
  sigma_ = std::sqrt(s2);
  mu_ = std::log(mean) - 0.5 * s2;
  shape_ = 1.0 / (cv * cv);
  scale_ = mean * cv * cv;
}

StatusOr<GapSampler> GapSampler::Make(ArrivalProcessOptions::Kind kind, double mean, double cv) {
  if (!std::isfinite(mean) || mean <= 0.0) {
    return InvalidArgument(
        fmt::format("arrival process: mean gap must be finite and > 0 (rate > 0), got {}", mean));
  }
  if (kind != ArrivalProcessOptions::kPoisson && (!std::isfinite(cv) || cv <= 0.0)) {
    return InvalidArgument(fmt::format("arrival process '{}': cv must be finite and > 0, got {}",
                                       ArrivalKindName(kind), cv));
  }
  return GapSampler(kind, mean, kind == ArrivalProcessOptions::kPoisson ? 1.0 : cv);
}

double GapSampler::Sample(WorkloadRng& rng) const {
  switch (kind_) {
    case ArrivalProcessOptions::kPoisson:
      return -std::log(rng.OpenUniform()) * mean_;
    case ArrivalProcessOptions::kGamma:
      return rng.Gamma(shape_) * scale_;
    case ArrivalProcessOptions::kLogNormal:
      return std::exp(mu_ + sigma_ * rng.Normal());
  }
  return mean_;
}

StatusOr<std::vector<double>> GenerateArrivals(int64_t n, const ArrivalProcessOptions& options) {
  if (n < 0) return InvalidArgument(fmt::format("arrival process: n must be >= 0, got {}", n));
  if (!std::isfinite(options.rate_per_s) || options.rate_per_s <= 0.0) {
    return InvalidArgument(fmt::format("arrival process: rate_per_s must be finite and > 0, got {}",
                                       options.rate_per_s));
  }
  OF_ASSIGN_OR_RETURN(GapSampler sampler,
                      GapSampler::Make(options.kind, 1.0 / options.rate_per_s, options.cv));
  WorkloadRng rng(options.seed);
  std::vector<double> arrivals;
  arrivals.reserve(static_cast<size_t>(n));
  double t = 0.0;
  for (int64_t i = 0; i < n; ++i) {
    if (i > 0) t += sampler.Sample(rng);
    if (!std::isfinite(t)) {
      return InvalidArgument(fmt::format(
          "arrival process: arrival times overflow at request {} (rate_per_s {}); raise the rate",
          i, options.rate_per_s));
    }
    arrivals.push_back(t);
  }
  return arrivals;
}

}  // namespace orbitflow
