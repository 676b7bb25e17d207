// Synthetic models: real shapes, deterministic generated weights. For benchmarks and tests of
// models we cannot ship (stories110M, Llama 3.2 1B); always flagged spec.synthetic so every
// output can say the numbers come from generated weights.
//
// Each weight is a pure function of (seed, its position in the llama2.c-ordered blob): a
// counter-based hash (SplitMix64's finalizer), so the bits are the same for any thread count.
// Matrices (and the embedding) are uniform in +-1/sqrt(fan_in), the scale that keeps each
// projection's output the size of its input, so activations stay finite through every layer;
// RMSNorm gains are uniform in [0.9, 1.1].
#pragma once

#include <cstdint>

#include "model/weights.h"
#include "orbitflow/status.h"

namespace orbitflow {

struct SyntheticOptions {
  uint64_t seed = 0x5eed;
  // Generator threads; 0 = all hardware threads.
  int threads = 0;
};

// Generates weights for `spec` (validated first). ResourceExhausted when they would not fit in
// this machine's physical memory.
StatusOr<Model> MakeSyntheticModel(ModelSpec spec, const SyntheticOptions& options = {});

}  // namespace orbitflow
