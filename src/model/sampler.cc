#include "model/sampler.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>

namespace orbitflow {

Status SamplerOptions::Validate() const {
  if (!std::isfinite(temperature) || temperature < 0.0f) {
    return InvalidArgument(
        fmt::format("sampler: temperature = {} must be a finite number >= 0", temperature));
  }
  if (!std::isfinite(top_p) || top_p < 0.0f) {
    return InvalidArgument(fmt::format("sampler: top_p = {} must be a finite number >= 0", top_p));
  }
  return Status::Ok();
}

int32_t Argmax(std::span<const float> x) {
  int32_t best = 0;
  float best_value = -std::numeric_limits<float>::infinity();
  for (size_t i = 0; i < x.size(); ++i) {
    if (x[i] > best_value) {  // strict: the first (lowest) index wins ties; NaN never wins
      best_value = x[i];
      best = static_cast<int32_t>(i);
    }
  }
  return best;
}

int32_t Sampler::Sample(std::span<const float> logits) {
  if (options_.temperature == 0.0f) return Argmax(logits);
  // Softmax of logits / temperature, NaN as -infinity.
  const float inv_t = 1.0f / options_.temperature;
  probs_.resize(logits.size());
  float max_value = -std::numeric_limits<float>::infinity();
  for (size_t i = 0; i < logits.size(); ++i) {
    probs_[i] = std::isnan(logits[i]) ? -std::numeric_limits<float>::infinity() : logits[i] * inv_t;
    max_value = std::max(max_value, probs_[i]);
  }
  if (!std::isfinite(max_value)) return Argmax(logits);  // all -inf, or an +inf logit: no distribution
  float sum = 0.0f;
  for (float& p : probs_) {
    p = std::exp(p - max_value);
    sum += p;
  }
  for (float& p : probs_) p /= sum;
  const float coin = rng_.NextFloat();
  if (options_.top_p <= 0.0f || options_.top_p >= 1.0f || probs_.size() == 1) return SampleAll(probs_, coin);
  return SampleTopP(probs_, coin);
}

int32_t Sampler::SampleAll(const std::vector<float>& probs, float coin) const {
  float cdf = 0.0f;
  for (size_t i = 0; i < probs.size(); ++i) {
    cdf += probs[i];
    if (coin < cdf) return static_cast<int32_t>(i);
  }
  return static_cast<int32_t>(probs.size() - 1);  // rounding left the cdf just below 1
}

int32_t Sampler::SampleTopP(const std::vector<float>& probs, float coin) {
  const float top_p = options_.top_p;
  // Tokens below (1 - top_p) / (n - 1) cannot be in the nucleus (llama2.c's pre-filter), which
  // spares sorting the whole vocabulary. For tiny vocabularies it can filter everything; then
  // all tokens are candidates.
  const float cutoff = (1.0f - top_p) / static_cast<float>(probs.size() - 1);
  candidates_.clear();
  for (size_t i = 0; i < probs.size(); ++i) {
    if (probs[i] >= cutoff) candidates_.push_back({probs[i], static_cast<int32_t>(i)});
  }
  if (candidates_.empty()) {
    for (size_t i = 0; i < probs.size(); ++i) candidates_.push_back({probs[i], static_cast<int32_t>(i)});
  }
  // Descending probability, ties by id, so the order (and the sample) is the same everywhere.
  std::sort(candidates_.begin(), candidates_.end(), [](const ProbIndex& a, const ProbIndex& b) {
    return a.prob > b.prob || (a.prob == b.prob && a.index < b.index);
  });
  float cumulative = 0.0f;
  size_t last = candidates_.size() - 1;
  for (size_t i = 0; i < candidates_.size(); ++i) {
    cumulative += candidates_[i].prob;
    if (cumulative > top_p) {
      last = i;
      break;
    }
  }
  const float r = coin * cumulative;
  float cdf = 0.0f;
  for (size_t i = 0; i <= last; ++i) {
    cdf += candidates_[i].prob;
    if (r < cdf) return candidates_[i].index;
  }
  return candidates_[last].index;
}

}  // namespace orbitflow
