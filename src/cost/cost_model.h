// The cost model: what a decode step, a prefill and a transfer cost (spec section 3). The planner
// predicts with it and the simulator times with it, so the two cannot silently disagree.
#pragma once

#include <cstdint>
#include <span>

#include "cost/cost_profile.h"
#include "kv/placement.h"
#include "model/model_spec.h"

namespace orbitflow {

// One decode request as the step-time formulas see it.
struct RequestLoad {
  Distance distance = Distance::AllDevice();
  int64_t blocks_per_layer = 0;  // b_r: ceil(context / 16)
};

class CostModel {
 public:
  CostModel(ModelSpec model, CostProfile profile);

  const ModelSpec& model() const { return model_; }
  const CostProfile& profile() const { return profile_; }
  int num_layers() const { return model_.n_layers; }

  // All-on-device decode step for a batch holding `batch_tokens` tokens of context in total.
  Seconds DecodeStep(int64_t batch_tokens) const { return profile_.decode_step.At(static_cast<double>(batch_tokens)); }
  // The spec's per-layer compute c = f_compute(x) / L.
  Seconds LayerCompute(int64_t batch_tokens) const { return DecodeStep(batch_tokens) / model_.n_layers; }
  // Prefill of `tokens` prompt tokens.
  Seconds Prefill(int64_t tokens) const { return profile_.prefill.At(static_cast<double>(tokens)); }
  // f_transfer(x): every layer of x tokens over the link (SLO-aware baseline).
  Seconds TransferAll(int64_t batch_tokens) const { return profile_.transfer_step.At(static_cast<double>(batch_tokens)); }

  Bytes LayerBlockBytes() const { return model_.KvBytesPerLayerBlock(); }
  // B_blk: layer-blocks the link moves per second.
  double LinkBlocksPerSecond() const { return link_blocks_per_s_; }
  Seconds LinkTime(int64_t layer_blocks) const { return Seconds(static_cast<double>(layer_blocks) / link_blocks_per_s_); }
  Seconds LinkTime(Bytes bytes) const { return Seconds(static_cast<double>(bytes.count()) / profile_.link_bytes_per_s); }

  // Blocks a request moves per offloaded layer per step: b_r + 1 (one spare block for the token
  // being written, as the reference counts).
  static int64_t LinkBlocks(int64_t blocks_per_layer) { return blocks_per_layer + 1; }

  // Step time by the closed form of spec section 3: each offloaded layer's transfer overlaps only
  // the previous layer's compute. s_1 = comm_1, s_j = max(0, comm_j - c), T = L c + sum s_j.
  Seconds StepTimePerLayer(std::span<const RequestLoad> batch, int64_t batch_tokens) const;
  // Step time as the ILP of spec section 4 defines it: a transfer may run any time before its
  // layer (prefix flow), so with D_j the blocks needed by layers 1..j,
  // T = L c + max(0, max_j (D_j / B_blk - (j - 1) c)). Never above StepTimePerLayer.
  Seconds StepTimePrefixFlow(std::span<const RequestLoad> batch, int64_t batch_tokens) const;

  // S_base of spec section 9: the all-on-device step time with the device KV full.
  Seconds BaseSlo(int64_t device_blocks_per_layer) const {
    return DecodeStep(device_blocks_per_layer * kBlockTokens);
  }

 private:
  ModelSpec model_;
  CostProfile profile_;
  double link_blocks_per_s_;
};

}  // namespace orbitflow
