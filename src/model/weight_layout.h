// How a ModelSpec's weights are laid out: tensor sizes, one owned blob with views bound in
// llama2.c order, and the per-layer tensor list that file formats (GGUF) name one by one.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "model/weights.h"
#include "orbitflow/status.h"

namespace orbitflow {

// Element counts of each weight tensor, all layers stacked.
struct WeightCounts {
  int64_t token_embedding = 0;  // vocab * dim
  int64_t rms_att = 0;          // layers * dim
  int64_t wq = 0;               // layers * dim * dim
  int64_t wk = 0;               // layers * kv_dim * dim
  int64_t wv = 0;
  int64_t wo = 0;  // layers * dim * dim
  int64_t rms_ffn = 0;
  int64_t w1 = 0;  // layers * hidden * dim
  int64_t w2 = 0;  // layers * dim * hidden
  int64_t w3 = 0;
  int64_t rms_final = 0;  // dim
  int64_t wcls = 0;       // vocab * dim, or 0 when tied to the embedding
  int64_t total = 0;      // sum of the above
};

// Validates the spec (ModelSpec::Validate plus an even head_dim, which RoPE needs) and sizes
// its tensors. InvalidArgument naming the field when the shape is impossible or overflows.
StatusOr<WeightCounts> CountWeights(const ModelSpec& spec);

// Points every view of *w at consecutive tensors from `base`, in llama2.c legacy order:
// embedding, rms_att, wq, wk, wv, wo, rms_ffn, w1, w2, w3, rms_final, then wcls (or the
// embedding again when tied). `base` must hold counts.total floats.
void BindContiguous(const ModelSpec& spec, const WeightCounts& counts, const float* base,
                    TransformerWeights* w);

// Owned, zero-filled storage for `spec` with the views bound (BindContiguous order).
StatusOr<TransformerWeights> AllocateWeights(const ModelSpec& spec);

// One tensor of one layer (or a global one), under the name llama.cpp gives it in GGUF files.
// Matrices are row-major [rows = out features][cols = in features]; vectors have rows = 1.
struct NamedTensor {
  std::string name;  // e.g. "blk.3.attn_q.weight"
  const float* data = nullptr;
  int64_t rows = 0;
  int64_t cols = 0;
  int64_t size() const { return rows * cols; }
};

// Every tensor of the model, globals first (token_embd, output_norm, output unless tied), then
// blk.0 ... blk.N-1 (attn_norm, attn_q, attn_k, attn_v, attn_output, ffn_norm, ffn_gate,
// ffn_down, ffn_up). REQUIRES: the views of `w` are bound for `spec`.
std::vector<NamedTensor> ListTensors(const ModelSpec& spec, const TransformerWeights& w);
// The same list with data = nullptr: names and shapes only, e.g. to validate a file before
// allocating anything.
std::vector<NamedTensor> ListTensorShapes(const ModelSpec& spec);

// DataLoss naming the tensor and element when a weight is NaN or infinite: in a checkpoint that
// means corruption, and one bad weight poisons every token.
Status CheckFinite(const ModelSpec& spec, const TransformerWeights& w, std::string_view source);

}  // namespace orbitflow
