#include "plan/uniform_distance.h"

#include <algorithm>

namespace orbitflow {

Distance CapacityUniformDistance(int num_layers, int64_t budget_blocks, int64_t layer_blocks_needed) {
  const int64_t on_dev = layer_blocks_needed <= 0
                             ? num_layers
                             : std::min<int64_t>(num_layers, std::max<int64_t>(0, budget_blocks) / layer_blocks_needed);
  const int64_t off = num_layers - on_dev;
  if (off == 0) return Distance::AllDevice();
  return Distance::Every(static_cast<int>(std::max<int64_t>(1, num_layers / off - 1)));
}

}  // namespace orbitflow
