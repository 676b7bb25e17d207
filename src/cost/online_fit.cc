#include "cost/online_fit.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

namespace orbitflow {
namespace {

double Median(std::vector<double> v) {
  const size_t mid = v.size() / 2;
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(mid), v.end());
  return v[mid];
}

// Indices of the values within `mads` scaled median absolute deviations of the median.
std::vector<size_t> Inliers(const std::vector<double>& v, double mads) {
  const double med = Median(v);
  std::vector<double> dev(v.size());
  for (size_t i = 0; i < v.size(); ++i) dev[i] = std::abs(v[i] - med);
  // 1.4826 MAD estimates the standard deviation of normal data.
  const double limit = mads * 1.4826 * Median(dev) + 1e-12 * std::abs(med);
  std::vector<size_t> keep;
  for (size_t i = 0; i < v.size(); ++i) {
    if (dev[i] <= limit) keep.push_back(i);
  }
  return keep;
}

double Clamp(double value, double prior, double ratio) {
  if (prior <= 0) return prior;  // nothing to scale from: keep the prior's zero
  return std::clamp(value, prior / ratio, prior * ratio);
}

double RelativeChange(double now, double before) {
  if (before == now) return 0;
  return std::abs(now - before) / std::max(std::abs(before), 1e-300);
}

}  // namespace

Status ValidateOnlineFitOptions(const OnlineFitOptions& o) {
  if (o.min_samples < 2 || o.window < o.min_samples) {
    return InvalidArgument(fmt::format("online fit needs window >= min_samples >= 2, got window {} and min_samples {}",
                                       o.window, o.min_samples));
  }
  if (!(o.outlier_mads > 0) || !(o.max_ratio >= 1) || !(o.min_token_spread >= 0)) {
    return InvalidArgument(fmt::format("online fit needs outlier_mads > 0, max_ratio >= 1, min_token_spread >= 0; "
                                       "got {}, {}, {}",
                                       o.outlier_mads, o.max_ratio, o.min_token_spread));
  }
  return Status::Ok();
}

OnlineCostFit::OnlineCostFit(CostProfile prior, OnlineFitOptions options)
    : prior_(std::move(prior)), current_(prior_), options_(options) {}

void OnlineCostFit::Push(std::vector<double>& v, double x) const {
  if (static_cast<int>(v.size()) >= options_.window) v.erase(v.begin());
  v.push_back(x);
}

void OnlineCostFit::AddCompute(int64_t batch_tokens, Seconds compute) {
  const double c = compute.count();
  if (batch_tokens <= 0 || !(c > 0) || !std::isfinite(c)) return;
  Push(tokens_, static_cast<double>(batch_tokens));
  Push(compute_s_, c);
}

void OnlineCostFit::AddLink(Bytes bytes, Seconds busy) {
  const double s = busy.count();
  if (bytes.count() <= 0 || !(s > 0) || !std::isfinite(s)) return;
  Push(link_bytes_, static_cast<double>(bytes.count()));
  Push(link_s_, s);
}

LinearFit OnlineCostFit::FitCompute() const {
  const LinearFit& p = prior_.decode_step;
  if (static_cast<int>(tokens_.size()) < options_.min_samples) return p;
  // Outliers by their ratio to the prior fit: a ratio is comparable across batch sizes.
  std::vector<double> ratio(tokens_.size());
  for (size_t i = 0; i < tokens_.size(); ++i) ratio[i] = compute_s_[i] / p.At(tokens_[i]).count();
  const std::vector<size_t> keep = Inliers(ratio, options_.outlier_mads);
  if (static_cast<int>(keep.size()) < options_.min_samples) return p;
  double sx = 0, sy = 0, sxx = 0, sxy = 0;
  for (size_t i : keep) {
    sx += tokens_[i];
    sy += compute_s_[i];
    sxx += tokens_[i] * tokens_[i];
    sxy += tokens_[i] * compute_s_[i];
  }
  const double n = static_cast<double>(keep.size());
  const double mean_x = sx / n;
  const double var_x = std::max(0.0, sxx / n - mean_x * mean_x);
  LinearFit fit;
  bool two_params = std::sqrt(var_x) >= options_.min_token_spread * mean_x;
  if (two_params) {
    fit.a = (sxy / n - mean_x * sy / n) / var_x;
    fit.b = sy / n - fit.a * mean_x;
    two_params = fit.a >= 0 && fit.b >= 0;
  }
  if (!two_params) {
    // One scale on the prior's shape: robust when every step had about the same batch.
    std::vector<double> kept_ratio;
    kept_ratio.reserve(keep.size());
    for (size_t i : keep) kept_ratio.push_back(ratio[i]);
    const double s = Median(kept_ratio);
    fit = {p.a * s, p.b * s};
  }
  fit.a = Clamp(fit.a, p.a, options_.max_ratio);
  fit.b = Clamp(fit.b, p.b, options_.max_ratio);
  return fit;
}

double OnlineCostFit::FitLink() const {
  const double prior = prior_.link_bytes_per_s;
  if (static_cast<int>(link_bytes_.size()) < options_.min_samples) return prior;
  std::vector<double> rate(link_bytes_.size());
  for (size_t i = 0; i < rate.size(); ++i) rate[i] = link_bytes_[i] / link_s_[i];
  const std::vector<size_t> keep = Inliers(rate, options_.outlier_mads);
  if (static_cast<int>(keep.size()) < options_.min_samples) return prior;
  double bytes = 0, seconds = 0;
  for (size_t i : keep) {
    bytes += link_bytes_[i];
    seconds += link_s_[i];
  }
  return Clamp(bytes / seconds, prior, options_.max_ratio);
}

double ProfileChange(const CostProfile& from, const CostProfile& to) {
  return std::max({RelativeChange(to.decode_step.a, from.decode_step.a),
                   RelativeChange(to.decode_step.b, from.decode_step.b),
                   RelativeChange(to.link_bytes_per_s, from.link_bytes_per_s)});
}

void OnlineCostFit::Refit() {
  const LinearFit fit = FitCompute();
  const double link = FitLink();
  current_.decode_step = fit;
  current_.link_bytes_per_s = link;
  // Moving every layer's KV takes longer in proportion to a slower link.
  const double slower = prior_.link_bytes_per_s / link;
  current_.transfer_step = {prior_.transfer_step.a * slower, prior_.transfer_step.b * slower};
}

}  // namespace orbitflow
