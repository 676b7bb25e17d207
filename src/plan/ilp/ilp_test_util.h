// Test helpers for the ILP layer: small hand-made planning problems with round numbers, and
// brute-force oracles over every assignment.
#pragma once

#include <cstdint>
#include <limits>
#include <vector>

#include "cost/cost_model.h"
#include "plan/ilp/formulation.h"
#include "plan/planner.h"

namespace orbitflow::testing_util {

// Sanitizer builds run fewer random instances.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
inline constexpr bool kSanitized = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
inline constexpr bool kSanitized = true;
#else
inline constexpr bool kSanitized = false;
#endif
#else
inline constexpr bool kSanitized = false;
#endif

// A model whose layer-block is 4096 bytes, with a per-layer compute of exactly `layer_compute_s`
// at any batch size and a link of exactly `link_blocks_per_s` blocks per second.
inline CostModel RoundCostModel(int num_layers, double layer_compute_s, double link_blocks_per_s) {
  ModelSpec m;
  m.name = "hand-made";
  m.dim = 64;
  m.hidden_dim = 128;
  m.n_layers = num_layers;
  m.n_heads = 1;
  m.n_kv_heads = 1;
  m.vocab_size = 32;
  m.max_seq_len = 1 << 20;
  m.kv_bytes_per_elem = 2;  // 2 (K,V) x 2 B x 64 x 1 head x 16 tokens = 4096 B per block
  m.synthetic = true;
  CostProfile p;
  p.model = m.name;
  p.gpu = "hand-made";
  p.decode_step = {0.0, layer_compute_s * num_layers};
  p.link_bytes_per_s = link_blocks_per_s * 4096;
  return CostModel(m, p);
}

// A request of exactly `blocks` blocks per layer.
inline PlanCandidate Request(int64_t id, int64_t blocks, double slo_s, double deposit = 0) {
  PlanCandidate c;
  c.id = RequestId(id);
  c.context_tokens = blocks * kBlockTokens;
  c.prompt_tokens = c.context_tokens;
  c.slo = Seconds(slo_s);
  c.deposit_tokens = deposit;
  return c;
}

// Options with headroom #requests x L only, so M = device_blocks - #requests x L.
inline IlpOptions NoExtraHeadroom() {
  IlpOptions o;
  o.headroom.fraction = 0;
  o.headroom.min_blocks = 0;
  return o;
}

// The minimal T over every assignment that fits memory (+inf when none does), by enumeration.
inline double BruteForceMinStep(const IlpInstance& inst, IlpAssignment* best = nullptr) {
  const int n = inst.num_requests(), k = inst.num_options();
  IlpAssignment a;
  a.option.assign(n, 0);
  double best_t = std::numeric_limits<double>::infinity();
  while (true) {
    auto e = Evaluate(inst, a);
    if (e.ok() && e->memory_ok && e->step_s < best_t) {
      best_t = e->step_s;
      if (best) *best = a;
    }
    int r = 0;
    while (r < n && ++a.option[r] == k) a.option[r++] = 0;
    if (r == n) break;
  }
  return best_t;
}

// The largest goodput over every pause pattern and candidate with at least one kept request
// that meets memory and the SLO budget (-1 when none does).
inline double BruteForceGoodput(const IlpInstance& inst) {
  const int n = inst.num_requests(), k = inst.num_options();
  IlpAssignment a;
  a.option.assign(n, 0);
  a.paused.assign(n, 0);
  std::vector<int> digit(n, 0);  // k means paused
  double best = -1;
  while (true) {
    for (int r = 0; r < n; ++r) {
      a.paused[r] = digit[r] == k ? 1 : 0;
      a.option[r] = digit[r] == k ? 0 : digit[r];
    }
    auto e = Evaluate(inst, a);
    if (e.ok() && e->kept > 0 && e->memory_ok && e->slo_ok) best = std::max(best, e->goodput);
    int r = 0;
    while (r < n && ++digit[r] == k + 1) digit[r++] = 0;
    if (r == n) break;
  }
  return best;
}

}  // namespace orbitflow::testing_util
