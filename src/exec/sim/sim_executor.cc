#include "exec/sim/sim_executor.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <numbers>
#include <string>

#include <fmt/format.h>

namespace orbitflow {

namespace {

// SplitMix64: a tiny generator whose output is fixed by its definition, so a seed gives the same
// noise with every compiler and standard library (std::normal_distribution does not promise that).
uint64_t SplitMix64(uint64_t* state) {
  uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// Uniform in the open interval (0, 1): never 0, so its logarithm is finite.
double OpenUnit(uint64_t bits) { return (static_cast<double>(bits >> 11) + 0.5) * 0x1.0p-53; }

Status ResidencyMismatch(int64_t step, const DecodeWork& d, int layer, bool host) {
  return FailedPrecondition(fmt::format(
      "step {}: decode of request {} has distance {} (layer {} on the {}) but its KV for that layer is on "
      "the {}; apply the placement to the KV cache before executing",
      step, d.id.value(), d.distance.ToString(), layer, host ? "host" : "device", host ? "device" : "host"));
}

}  // namespace

Status ValidateSimOptions(const SimOptions& options) {
  if (!(options.compute_scale > 0) || !(options.link_scale > 0) || !std::isfinite(options.compute_scale) ||
      !std::isfinite(options.link_scale)) {
    return InvalidArgument(fmt::format("simulator compute_scale ({}) and link_scale ({}) must be positive",
                                       options.compute_scale, options.link_scale));
  }
  if (!std::isfinite(options.compute_noise_sigma) || options.compute_noise_sigma < 0) {
    return InvalidArgument(fmt::format(
        "simulator option compute_noise_sigma = {} must be a finite number >= 0 (0 turns noise off)",
        options.compute_noise_sigma));
  }
  return Status::Ok();
}

SimExecutor::SimExecutor(const CostModel& cost, VirtualClock* clock, SimOptions options)
    : cost_(cost),
      clock_(clock),
      options_(options),
      options_status_(ValidateSimOptions(options)),
      rng_state_(options.seed) {}

StatusOr<StepResult> SimExecutor::Execute(const StepPlan& plan, const KvCacheManager& kv) {
  StepResult result;
  OF_RETURN_IF_ERROR(ExecuteInto(plan, kv, &result));
  return result;
}

Status SimExecutor::ValidatePlan(const StepPlan& plan, const KvCacheManager& kv) const {
  const int L = cost_.num_layers();
  if (kv.num_layers() != L) {
    return InvalidArgument(fmt::format("step {}: the KV cache has {} layers but the cost model's model has {}",
                                       plan.step, kv.num_layers(), L));
  }
  if (plan.batch_tokens < 0) {
    return InvalidArgument(fmt::format("step {}: batch_tokens = {} is negative", plan.step, plan.batch_tokens));
  }
  for (const PrefillWork& p : plan.prefills) {
    if (p.begin < 0 || p.end <= p.begin) {
      return InvalidArgument(fmt::format("step {}: prefill of request {} has an empty or negative range [{}, {})",
                                         plan.step, p.id.value(), p.begin, p.end));
    }
    const int64_t held = kv.Has(p.id) ? kv.Get(p.id).tokens : -1;
    if (held < p.end) {
      return FailedPrecondition(fmt::format(
          "step {}: prefill of request {} writes tokens up to {} but the KV cache holds {}; grow it first",
          plan.step, p.id.value(), p.end, std::max<int64_t>(held, 0)));
    }
  }
  for (const DecodeWork& d : plan.decodes) {
    const int64_t held = kv.Has(d.id) ? kv.Get(d.id).tokens : -1;
    if (d.context_tokens < 0 || held < d.context_tokens + 1) {
      return FailedPrecondition(fmt::format(
          "step {}: decode of request {} writes token {} but the KV cache holds {} tokens; grow it first",
          plan.step, d.id.value(), d.context_tokens, std::max<int64_t>(held, 0)));
    }
  }
  for (const KvMove& m : plan.moves) {
    if (m.diff.blocks_in < 0) {
      return InvalidArgument(fmt::format("step {}: move of request {} has blocks_in = {}", plan.step,
                                         m.id.value(), m.diff.blocks_in));
    }
    for (int l : m.diff.bring_back) {
      if (l < 0 || l >= L) {
        return InvalidArgument(fmt::format("step {}: move of request {} brings back layer {} of a {}-layer model",
                                           plan.step, m.id.value(), l, L));
      }
    }
  }
  return Status::Ok();
}

double SimExecutor::NextNoiseFactor() {
  const double sigma = options_.compute_noise_sigma;
  if (sigma <= 0) return 1.0;
  // Box-Muller: one standard normal from two uniforms.
  const double u1 = OpenUnit(SplitMix64(&rng_state_));
  const double u2 = OpenUnit(SplitMix64(&rng_state_));
  const double z = std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2);
  // E[exp(sigma z)] = exp(sigma^2 / 2): dividing it out makes the factor's mean exactly 1.
  return std::exp(sigma * z - 0.5 * sigma * sigma);
}

double SimExecutor::PrefillSeconds(const StepPlan& plan) const {
  double total = 0;
  for (const PrefillWork& p : plan.prefills) {
    // The chunk starting at 0 pays the intercept (per-prompt overhead); later chunks pay the
    // growth of the fit, so the chunks of a prompt telescope to Prefill(prompt).
    const double before = p.begin == 0 ? 0.0 : cost_.Prefill(p.begin).count();
    total += cost_.Prefill(p.end).count() - before;
  }
  return total;
}

void SimExecutor::AddMoves(const StepPlan& plan, StepResult* out) {
  int64_t blocks = 0;
  for (const KvMove& m : plan.moves) {
    const auto& layers = m.diff.bring_back;
    if (layers.empty() || m.diff.blocks_in == 0) continue;
    blocks += m.diff.blocks_in;
    const bool needed = std::any_of(plan.decodes.begin(), plan.decodes.end(),
                                    [&](const DecodeWork& d) { return d.id == m.id; });
    // Every layer of a request holds the same number of blocks; spread any remainder anyway.
    const int64_t n = static_cast<int64_t>(layers.size());
    const int64_t per_layer = m.diff.blocks_in / n, extra = m.diff.blocks_in % n;
    for (int64_t i = 0; i < n; ++i) timeline_.AddMove(layers[i], per_layer + (i < extra ? 1 : 0), needed);
  }
  out->moves = cost_.LinkTime(blocks) / options_.link_scale;
  out->h2d += cost_.LayerBlockBytes() * blocks;
}

StatusOr<int64_t> SimExecutor::AddPrefetches(const StepPlan& plan, const KvCacheManager& kv) {
  const int L = cost_.num_layers();
  int64_t total = 0;
  for (const DecodeWork& d : plan.decodes) {
    const LayerMask& mask = kv.Get(d.id).mask;
    const int64_t blocks = CostModel::LinkBlocks(BlocksForTokens(d.context_tokens + 1));
    // Walks the host layers by stride (no division per layer): spec layer j is on the host iff
    // j mod (d + 1) == 0, i.e. 0-based layers d, 2d + 1, ...
    const int stride = d.distance.all_device() ? 0 : d.distance.spec_value() + 1;
    int next_host = d.distance.all_device() ? L : stride - 1;
    int row = -1;
    for (int l = 0; l < L; ++l) {
      const bool host = l == next_host;
      assert(host == d.distance.OnHost(l));
      // The prefetches follow the distance; the residency must be the one it implies, or the
      // simulator would time transfers of layers that are not where the plan says.
      if (mask.on_device(l) == host) return ResidencyMismatch(plan.step, d, l, host);
      if (!host) continue;
      next_host += stride;
      if (row < 0) row = timeline_.PrefetchRow(d.distance);
      timeline_.AddPrefetch(row, l, blocks);
      total += blocks;
    }
  }
  return total;
}

void SimExecutor::EmitTokens(const StepPlan& plan, StepResult* out) const {
  // The simulator produces no real ids: every token is 0.
  for (const PrefillWork& p : plan.prefills) {
    if (p.last_chunk) out->tokens.push_back({p.id, 0});
  }
  for (const DecodeWork& d : plan.decodes) out->tokens.push_back({d.id, 0});
}

Status SimExecutor::ExecuteInto(const StepPlan& plan, const KvCacheManager& kv, StepResult* out) {
  OF_RETURN_IF_ERROR(options_status_);
  if (clock_ == nullptr) return FailedPrecondition("SimExecutor needs a VirtualClock; it was given none");
  OF_RETURN_IF_ERROR(ValidatePlan(plan, kv));
  const int L = cost_.num_layers();
  timeline_.Reset(L, cost_.LinkBlocksPerSecond() * options_.link_scale);
  OF_ASSIGN_OR_RETURN(const int64_t prefetched, AddPrefetches(plan, kv));
  // Nothing fails past this point: the noise draw, the result and the clock move together.
  const double noise = NextNoiseFactor() * options_.compute_scale;
  ++steps_;

  out->step_time = out->compute = out->stall = out->prefill = out->moves = Seconds(0);
  out->h2d = out->d2h = Bytes(0);
  out->tokens.clear();
  out->plan_applied = true;
  AddMoves(plan, out);

  const double prefill = PrefillSeconds(plan) * noise;
  out->prefill = Seconds(prefill);
  double decode_end = prefill;
  if (plan.decodes.empty()) {
    timeline_.RunMovesOnly();
    out->layer_compute.assign(L, Seconds(0));
  } else {
    const double c = cost_.LayerCompute(plan.batch_tokens).count() * noise;
    const StepTimeline::DecodeTimes t = timeline_.RunDecode(prefill, c);
    decode_end = t.end;
    out->stall = Seconds(t.stall);
    out->compute = Seconds(L * c);
    out->layer_compute.assign(L, Seconds(c));
    out->h2d += cost_.LayerBlockBytes() * prefetched;
  }
  out->link_busy = cost_.LinkTime(out->h2d) / options_.link_scale;
  // The step is over when the compute is done and the link is idle, so no step inherits a busy
  // link from the one before.
  out->step_time = Seconds(std::max(decode_end, timeline_.link_idle()));

  // Mirror writes: every token written this step goes to the host once per layer.
  int64_t written = static_cast<int64_t>(plan.decodes.size());
  for (const PrefillWork& p : plan.prefills) written += p.end - p.begin;
  const Bytes per_token_layer(cost_.LayerBlockBytes().count() / kBlockTokens);
  out->d2h = per_token_layer * (written * L);

  EmitTokens(plan, out);
  clock_->Advance(out->step_time);
  return Status::Ok();
}

}  // namespace orbitflow
