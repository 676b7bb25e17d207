#include "cost/cost_model.h"

#include <algorithm>
#include <vector>

namespace orbitflow {

CostModel::CostModel(ModelSpec model, CostProfile profile)
    : model_(std::move(model)),
      profile_(std::move(profile)),
      link_blocks_per_s_(profile_.link_bytes_per_s /
                         static_cast<double>(model_.KvBytesPerLayerBlock().count())) {}

namespace {

// Blocks each layer needs over the link this step.
std::vector<int64_t> BlocksPerLayer(std::span<const RequestLoad> batch, int num_layers) {
  std::vector<int64_t> blocks(num_layers, 0);
  for (const RequestLoad& r : batch) {
    if (r.distance.all_device()) continue;
    const int64_t b = CostModel::LinkBlocks(r.blocks_per_layer);
    for (int l = 0; l < num_layers; ++l) {
      if (r.distance.OnHost(l)) blocks[l] += b;
    }
  }
  return blocks;
}

}  // namespace

Seconds CostModel::StepTimePerLayer(std::span<const RequestLoad> batch, int64_t batch_tokens) const {
  const int L = model_.n_layers;
  const double c = LayerCompute(batch_tokens).count();
  const std::vector<int64_t> blocks = BlocksPerLayer(batch, L);
  double stall = 0;
  for (int l = 0; l < L; ++l) {
    const double comm = static_cast<double>(blocks[l]) / link_blocks_per_s_;
    stall += l == 0 ? comm : std::max(0.0, comm - c);
  }
  return Seconds(L * c + stall);
}

Seconds CostModel::StepTimePrefixFlow(std::span<const RequestLoad> batch, int64_t batch_tokens) const {
  const int L = model_.n_layers;
  const double c = LayerCompute(batch_tokens).count();
  const std::vector<int64_t> blocks = BlocksPerLayer(batch, L);
  double cumulative = 0, stall = 0;
  for (int l = 0; l < L; ++l) {
    cumulative += static_cast<double>(blocks[l]);
    stall = std::max(stall, cumulative / link_blocks_per_s_ - l * c);
  }
  return Seconds(L * c + stall);
}

}  // namespace orbitflow
