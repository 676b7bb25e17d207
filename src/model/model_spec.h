// The shape of a Llama-architecture model: what the cost model, the KV cache and the CPU forward
// pass all need to agree on. Pure data; no weights.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "orbitflow/status.h"
#include "orbitflow/types.h"

namespace orbitflow {

struct ModelSpec {
  std::string name;
  int dim = 0;          // model width
  int hidden_dim = 0;   // SwiGLU inner width
  int n_layers = 0;
  int n_heads = 0;      // query heads
  int n_kv_heads = 0;   // key/value heads (grouped-query attention when < n_heads)
  int vocab_size = 0;
  int max_seq_len = 0;  // longest context the model supports
  float rope_theta = 10000.0f;
  float norm_eps = 1e-5f;
  bool shared_classifier = true;  // output head tied to the token embedding
  // Bytes per element of the KV cache on the device (fp16 on GPUs; the CPU executor uses fp32).
  int kv_bytes_per_elem = 2;
  // Tensor-parallel degree: each device holds n_kv_heads / tp heads of the KV cache.
  int tensor_parallel = 1;
  // True for models whose weights are generated, not trained; always shown in output.
  bool synthetic = false;

  int head_dim() const { return dim / n_heads; }
  int kv_dim() const { return head_dim() * n_kv_heads; }
  // KV heads held by one device.
  int kv_heads_per_device() const { return n_kv_heads / tensor_parallel; }
  // Bytes of one layer-block on one device: K and V for kBlockTokens tokens.
  Bytes KvBytesPerLayerBlock() const {
    return Bytes(int64_t{2} * kv_bytes_per_elem * head_dim() * kv_heads_per_device() * kBlockTokens);
  }
  // Parameter count of the transformer (embedding + layers + final norm + classifier if separate).
  int64_t ParamCount() const;
  // Checks the shape is self-consistent; the message names the bad field.
  Status Validate() const;
};

// Built-in shapes by name (case-insensitive): llama-3.1-8b, llama-3-70b, llama-3-70b-tp2,
// llama-3-70b-tp4, llama-3.2-1b, stories260k, stories110m.
StatusOr<ModelSpec> LookupModelSpec(std::string_view name);
std::vector<std::string> BuiltinModelNames();

}  // namespace orbitflow
