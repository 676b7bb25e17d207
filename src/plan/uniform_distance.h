// The capacity-aware uniform distance shared by FlexGen+, the dynamic heuristic and OrbitFlow's
// single-request fallback (spec section 8).
#pragma once

#include <cstdint>

#include "kv/placement.h"

namespace orbitflow {

// With `layer_blocks_needed` the device blocks one layer needs for the whole batch and
// `budget_blocks` the device layer-blocks available: on_dev = min(L, floor(budget / needed)),
// off = L - on_dev, d = max(1, floor(L / off) - 1), or AllDevice() when off == 0.
Distance CapacityUniformDistance(int num_layers, int64_t budget_blocks, int64_t layer_blocks_needed);

}  // namespace orbitflow
