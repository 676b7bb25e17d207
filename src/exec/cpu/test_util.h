// Helpers for this directory's tests and benchmarks: deterministic random-weight models and a
// small paged KV cache that hands out blocks in a shuffled order. Not used by the executor
// (real models come from the loaders in model/, real block ids from the KV cache manager).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numeric>
#include <span>
#include <utility>
#include <vector>

#include "exec/cpu/paged_kv.h"
#include "model/weights.h"

namespace orbitflow::testing {

// SplitMix64: tiny, fast, and the same sequence on every platform.
class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}
  uint64_t Next() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  // Uniform in [-1, 1).
  float Uniform() { return static_cast<float>(Next() >> 40) * (2.0f / 16777216.0f) - 1.0f; }
  // Uniform integer in [0, n).
  int64_t Below(int64_t n) { return static_cast<int64_t>(Next() % static_cast<uint64_t>(n)); }

 private:
  uint64_t state_;
};

inline void FillUniform(Rng& rng, float* p, int64_t n, float scale) {
  for (int64_t i = 0; i < n; ++i) p[i] = scale * rng.Uniform();
}

// A model with `spec`'s shape and deterministic random weights: matrices uniform in
// +-1/sqrt(in) (activations stay O(1) through the layers), norm weights near 1, embedding
// uniform in +-1. The classifier is tied unless spec.shared_classifier is false.
inline Model MakeRandomModel(const ModelSpec& spec, uint64_t seed) {
  Model m;
  m.spec = spec;
  m.spec.synthetic = true;
  const int64_t d = spec.dim, h = spec.hidden_dim, kv = spec.kv_dim(), L = spec.n_layers;
  const int64_t v = spec.vocab_size, q = int64_t{spec.n_heads} * spec.head_dim();
  struct Part {
    const float** view;
    int64_t count;
    float scale;
    float offset;
  };
  TransformerWeights& w = m.weights;
  std::vector<Part> parts = {
      {&w.token_embedding, v * d, 1.0f, 0.0f},
      {&w.rms_att, L * d, 0.2f, 1.0f},
      {&w.wq, L * q * d, 1.0f / std::sqrt(float(d)), 0.0f},
      {&w.wk, L * kv * d, 1.0f / std::sqrt(float(d)), 0.0f},
      {&w.wv, L * kv * d, 1.0f / std::sqrt(float(d)), 0.0f},
      {&w.wo, L * d * q, 1.0f / std::sqrt(float(q)), 0.0f},
      {&w.rms_ffn, L * d, 0.2f, 1.0f},
      {&w.w1, L * h * d, 1.0f / std::sqrt(float(d)), 0.0f},
      {&w.w2, L * d * h, 1.0f / std::sqrt(float(h)), 0.0f},
      {&w.w3, L * h * d, 1.0f / std::sqrt(float(d)), 0.0f},
      {&w.rms_final, d, 0.2f, 1.0f},
  };
  if (!spec.shared_classifier) parts.push_back({&w.wcls, v * d, 1.0f / std::sqrt(float(d)), 0.0f});
  int64_t total = 0;
  for (const Part& p : parts) total += p.count;
  w.storage.resize(total);
  Rng rng(seed);
  int64_t at = 0;
  for (const Part& p : parts) {
    float* dst = w.storage.data() + at;
    FillUniform(rng, dst, p.count, p.scale);
    for (int64_t i = 0; i < p.count; ++i) dst[i] += p.offset;
    *p.view = dst;
    at += p.count;
  }
  if (spec.shared_classifier) w.wcls = w.token_embedding;
  return m;
}

// A tiny model with grouped-query attention and dims that exercise every kernel's tail
// (hidden % 16 != 0, head_dim < 16).
inline ModelSpec TinySpec() {
  ModelSpec s;
  s.name = "tiny-test";
  s.dim = 48;
  s.hidden_dim = 100;
  s.n_layers = 3;
  s.n_heads = 6;
  s.n_kv_heads = 2;
  s.vocab_size = 97;
  s.max_seq_len = 96;
  s.kv_bytes_per_elem = 4;
  return s;
}

// Paged KV for tests: one arena per model, blocks handed out from a shuffled free list so a
// sequence's consecutive blocks are scattered through memory.
class TestKvCache {
 public:
  // shuffle_seed 0 hands blocks out in address order.
  TestKvCache(const ModelSpec& spec, int64_t num_blocks, uint64_t shuffle_seed)
      : spec_(spec), arena_(std::move(KvArena::Create(num_blocks, spec.kv_dim()).value())) {
    free_.resize(num_blocks);
    std::iota(free_.begin(), free_.end(), 0);
    if (shuffle_seed != 0) {
      Rng rng(shuffle_seed);
      for (int64_t i = num_blocks - 1; i > 0; --i) std::swap(free_[i], free_[rng.Below(i + 1)]);
    }
  }

  // A new empty sequence; returns its index.
  int NewSequence() {
    Sequence s;
    s.blocks.resize(spec_.n_layers);
    for (auto& b : s.blocks) b.reserve(BlocksForTokens(spec_.max_seq_len));
    seqs_.push_back(std::move(s));
    return static_cast<int>(seqs_.size()) - 1;
  }

  // Grows the sequence's tables to cover `tokens` tokens (blocks taken layer by layer).
  // Returns false when the arena is out of blocks.
  bool Reserve(int seq, int tokens) {
    Sequence& s = seqs_[seq];
    for (auto& layer : s.blocks) {
      while (static_cast<int64_t>(layer.size()) < BlocksForTokens(tokens)) {
        if (free_.empty()) return false;
        layer.push_back(arena_.block(BlockId(free_.back())));
        free_.pop_back();
      }
    }
    s.tables.assign(s.blocks.begin(), s.blocks.end());
    return true;
  }

  std::span<const KvBlockTable> Tables(int seq) const { return seqs_[seq].tables; }
  std::vector<std::vector<float*>>& Blocks(int seq) { return seqs_[seq].blocks; }
  const KvArena& arena() const { return arena_; }

 private:
  struct Sequence {
    std::vector<std::vector<float*>> blocks;  // [n_layers][blocks]
    std::vector<KvBlockTable> tables;         // [n_layers] views of `blocks`
  };
  ModelSpec spec_;
  KvArena arena_;
  std::vector<int32_t> free_;
  std::vector<Sequence> seqs_;
};

}  // namespace orbitflow::testing
