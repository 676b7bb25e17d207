// Picking the next token from logits: greedy, temperature, and top-p (nucleus) sampling, as
// llama2.c's sampler does it, with a seeded xorshift RNG so a (seed, logits) sequence always
// yields the same tokens.
//
// One Sampler per request (it owns the RNG state and a scratch buffer, so sampling a token does
// not allocate once the buffer has grown to the vocabulary size). Not thread-safe.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "orbitflow/status.h"

namespace orbitflow {

struct SamplerOptions {
  // 0 means greedy (argmax, ties to the lowest id). Otherwise logits are divided by it.
  float temperature = 0.0f;
  // Nucleus sampling: keep the smallest set of most likely tokens whose mass reaches top_p.
  // Values outside (0, 1) sample from the full distribution.
  float top_p = 1.0f;
  uint64_t seed = 42;

  // InvalidArgument naming the field for a negative or non-finite temperature or top_p.
  Status Validate() const;
};

// llama2.c's xorshift64* generator.
class XorShiftRng {
 public:
  // A zero state would stay zero forever; it is replaced by a fixed constant.
  explicit XorShiftRng(uint64_t seed) : state_(seed != 0 ? seed : 0x9E3779B97F4A7C15ull) {}
  uint32_t NextU32() {
    state_ ^= state_ >> 12;
    state_ ^= state_ << 25;
    state_ ^= state_ >> 27;
    return static_cast<uint32_t>((state_ * 0x2545F4914F6CDD1Dull) >> 32);
  }
  // Uniform in [0, 1).
  float NextFloat() { return static_cast<float>(NextU32() >> 8) / 16777216.0f; }

 private:
  uint64_t state_;
};

// The index of the largest value, the lowest index on ties. REQUIRES: !x.empty().
int32_t Argmax(std::span<const float> x);

class Sampler {
 public:
  // REQUIRES: options.Validate().ok().
  explicit Sampler(const SamplerOptions& options) : options_(options), rng_(options.seed) {}

  // The next token for `logits` (one per vocabulary entry). REQUIRES: !logits.empty().
  // NaN logits are treated as -infinity, so a broken row never picks a NaN token.
  int32_t Sample(std::span<const float> logits);

  const SamplerOptions& options() const { return options_; }

 private:
  struct ProbIndex {
    float prob;
    int32_t index;
  };
  int32_t SampleAll(const std::vector<float>& probs, float coin) const;
  int32_t SampleTopP(const std::vector<float>& probs, float coin);

  SamplerOptions options_;
  XorShiftRng rng_;
  std::vector<float> probs_;           // scratch: softmax of the scaled logits
  std::vector<ProbIndex> candidates_;  // scratch for top-p
};

}  // namespace orbitflow
