// Order statistics over samples, numpy-compatible so results match the Python tooling users
// already compare against.
#pragma once

#include <span>
#include <vector>

namespace orbitflow {

// The p-th percentile (p in [0, 100], clamped) with linear interpolation between the two
// nearest ranks, as numpy.percentile's default ("linear"): rank = p/100 * (n - 1).
// NaN when `values` is empty. Takes the values by value because it sorts them.
double Percentile(std::vector<double> values, double p);

// Several percentiles of the same samples, sorting once; result i is for ps[i].
std::vector<double> Percentiles(std::vector<double> values, std::span<const double> ps);

// Percentile of samples already sorted ascending. REQUIRES: sorted is sorted.
double PercentileOfSorted(std::span<const double> sorted, double p);

// Arithmetic mean; NaN when empty.
double Mean(std::span<const double> values);
// The 50th percentile; NaN when empty.
double Median(std::vector<double> values);
// Population standard deviation (numpy.std's default, ddof = 0); NaN when empty.
double StdDev(std::span<const double> values);

}  // namespace orbitflow
