#include "metrics/percentile.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace orbitflow {
namespace {
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
}  // namespace

double PercentileOfSorted(std::span<const double> sorted, double p) {
  if (sorted.empty()) return kNaN;
  p = std::clamp(p, 0.0, 100.0);
  const double rank = p / 100.0 * static_cast<double>(sorted.size() - 1);
  const size_t lo = static_cast<size_t>(std::floor(rank));
  const size_t hi = std::min(lo + 1, sorted.size() - 1);
  const double frac = rank - static_cast<double>(lo);
  if (frac == 0.0) return sorted[lo];  // exact rank; also keeps infinities from becoming NaN
  return sorted[lo] + (sorted[hi] - sorted[lo]) * frac;
}

double Percentile(std::vector<double> values, double p) {
  std::sort(values.begin(), values.end());
  return PercentileOfSorted(values, p);
}

std::vector<double> Percentiles(std::vector<double> values, std::span<const double> ps) {
  std::sort(values.begin(), values.end());
  std::vector<double> out;
  out.reserve(ps.size());
  for (double p : ps) out.push_back(PercentileOfSorted(values, p));
  return out;
}

double Mean(std::span<const double> values) {
  if (values.empty()) return kNaN;
  double sum = 0;
  for (double v : values) sum += v;
  return sum / static_cast<double>(values.size());
}

double Median(std::vector<double> values) { return Percentile(std::move(values), 50.0); }

double StdDev(std::span<const double> values) {
  if (values.empty()) return kNaN;
  const double mean = Mean(values);
  double sq = 0;
  for (double v : values) sq += (v - mean) * (v - mean);
  return std::sqrt(sq / static_cast<double>(values.size()));
}

}  // namespace orbitflow
