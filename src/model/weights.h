// The weights of a Llama-architecture model, as llama2.c lays them out: one float32 blob with
// named views. Loaders (llama2.c, GGUF, synthetic) all produce this; the CPU forward pass reads it.
// Matrices are row-major [out][in], so y = W x reads W row by row.
#pragma once

#include <cstddef>
#include <memory>
#include <new>
#include <vector>

#include "model/model_spec.h"

namespace orbitflow {

// Allocates on 64-byte boundaries (a cache line). Rows whose length is a multiple of 16 floats
// then start on a line, and the CPU kernels' 32-byte vector loads never straddle two lines: a
// batched matmul over weights 16 bytes off (what a large std::vector<float> gets from malloc)
// measured 25-40% slower.
template <typename T>
struct CacheLineAllocator {
  using value_type = T;
  static constexpr std::align_val_t kAlign{64};
  CacheLineAllocator() = default;
  template <typename U>
  CacheLineAllocator(const CacheLineAllocator<U>&) {}
  T* allocate(size_t n) { return static_cast<T*>(::operator new(n * sizeof(T), kAlign)); }
  void deallocate(T* p, size_t) { ::operator delete(p, kAlign); }
  template <typename U>
  bool operator==(const CacheLineAllocator<U>&) const { return true; }
};

// A float buffer on cache-line boundaries: model weights, the forward pass's activations.
using AlignedFloats = std::vector<float, CacheLineAllocator<float>>;

struct TransformerWeights {
  // Views into `storage` (or into a memory map the loader keeps alive through `keepalive`).
  const float* token_embedding = nullptr;  // [vocab_size][dim]
  const float* rms_att = nullptr;          // [n_layers][dim]
  const float* wq = nullptr;               // [n_layers][n_heads * head_dim][dim]
  const float* wk = nullptr;               // [n_layers][n_kv_heads * head_dim][dim]
  const float* wv = nullptr;               // [n_layers][n_kv_heads * head_dim][dim]
  const float* wo = nullptr;               // [n_layers][dim][n_heads * head_dim]
  const float* rms_ffn = nullptr;          // [n_layers][dim]
  const float* w1 = nullptr;               // [n_layers][hidden_dim][dim]  (gate)
  const float* w2 = nullptr;               // [n_layers][dim][hidden_dim]  (down)
  const float* w3 = nullptr;               // [n_layers][hidden_dim][dim]  (up)
  const float* rms_final = nullptr;        // [dim]
  const float* wcls = nullptr;             // [vocab_size][dim] (== token_embedding when tied)

  AlignedFloats storage;                   // owned floats, when the loader copies
  std::shared_ptr<void> keepalive;         // e.g. a memory map the views point into
};

// A loaded model: its shape and its weights. Move-only (views point into owned storage).
struct Model {
  ModelSpec spec;
  TransformerWeights weights;

  Model() = default;
  Model(Model&&) = default;
  Model& operator=(Model&&) = default;
  Model(const Model&) = delete;
  Model& operator=(const Model&) = delete;
};

}  // namespace orbitflow
