// The baseline policies of spec section 8 and the no-offload reference, as Planners. Each picks
// one distance for the whole batch; FitOrPreempt (plan/memory_fit.h) then makes the placement fit
// the device pool by pausing the most recently arrived requests, as vLLM preempts.
//
//   all-device         AllDevice for everyone; swap-preempts (LIFO) when the pool runs out.
//   deepspeed          Every(0): every layer on the host, fetched one layer ahead.
//   flexgen            Every(1): every other layer on the host.
//   flexgen-plus       CapacityUniformDistance with contexts floored at the trace average.
//   slo-aware          d from the ratio f_compute / f_transfer of the batch.
//   dynamic-heuristic  CapacityUniformDistance with actual contexts, recomputed every step.
//
// Thread safety: a planner keeps the distance it chose for the current batch, so one planner
// serves one engine and is called by one thread at a time.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "kv/placement.h"
#include "orbitflow/status.h"
#include "plan/memory_fit.h"
#include "plan/planner.h"

namespace orbitflow {

struct BaselineOptions {
  // Window reported by the policies that re-plan only when the batch changes. They do not need a
  // clock-driven re-plan, so the window is as long as the longest the ILP may choose (spec
  // section 4); if contexts outgrow the pool first, the failed apply triggers a re-plan.
  int batch_window_steps = 1000;
};

// ---- The formulas, free so they can be checked by hand ----

// sum_r (ceil(max(ctx_r, min_tokens) / 16) + lookahead_blocks): the device blocks one layer
// needs for the batch as FlexGen+ (min_tokens = trace average, 1 look-ahead block) and the
// dynamic heuristic (min_tokens = 0, 2 look-ahead blocks) count them.
int64_t UniformLayerBlocks(std::span<const PlanCandidate> batch, double min_tokens,
                           int lookahead_blocks);

// SLO-aware offloading's X = sum_r max(ctx_r, avg_trace_tokens), rounded to whole tokens.
int64_t SloAwareBatchTokens(std::span<const PlanCandidate> batch, double avg_trace_tokens);

// SLO-aware offloading's distance from f_compute(X) and f_transfer(X): k = floor(f_compute /
// f_transfer); d = 1 if k < 1 else max(1, floor(L / k)); d >= L means AllDevice(). A free or
// non-positive transfer time gives k < 1 or k = infinity, both d = 1.
Distance SloAwareDistance(int num_layers, Seconds f_compute, Seconds f_transfer);

// ---- The policies ----

// The shared shape of every baseline: choose one distance for the batch, then FitOrPreempt.
// Policies that re-plan only on batch changes keep their distance while the batch (the set of
// candidate ids) is unchanged and the cause is not kBatchChanged, so a window expiry or drift
// re-plan re-checks memory but does not re-derive the distance from grown contexts.
class UniformBaseline : public Planner {
 public:
  StatusOr<PlanDecision> Plan(const PlanInput& input) final;
  bool ReplanEveryStep() const final { return per_step_; }

 protected:
  UniformBaseline(const BaselineOptions& options, bool per_step, LastRequestPolicy last_request);
  // The policy's distance for `batch` (input.requests, or what is left of it after pauses).
  virtual Distance ChooseDistance(const PlanInput& input, std::span<const PlanCandidate> batch,
                                  int64_t device_blocks) const = 0;

 private:
  struct Chosen {
    std::vector<RequestId> batch;  // sorted ids
    Distance distance;
  };

  BaselineOptions options_;
  bool per_step_;
  LastRequestPolicy last_request_;
  std::optional<Chosen> last_;
};

// No offload: every request keeps every layer on the device (the spec's "ours" reference). Plans
// every step, because like vLLM it must check each step that the next token fits.
class AllDevicePlanner final : public UniformBaseline {
 public:
  explicit AllDevicePlanner(const BaselineOptions& options = {});
  std::string_view name() const override { return "all-device"; }
  // L x (BlocksForTokens(tokens) + 1): every layer plus its look-ahead block.
  int64_t MinDeviceBlocks(int64_t tokens, int num_layers) const override;

 protected:
  Distance ChooseDistance(const PlanInput&, std::span<const PlanCandidate>, int64_t) const override {
    return Distance::AllDevice();
  }
};

// One fixed distance for everyone: DeepSpeed ZeRO-Inference (Every(0)) and FlexGen (Every(1)).
class FixedDistancePlanner final : public UniformBaseline {
 public:
  FixedDistancePlanner(std::string name, Distance distance, const BaselineOptions& options = {});
  std::string_view name() const override { return name_; }

 protected:
  Distance ChooseDistance(const PlanInput&, std::span<const PlanCandidate>, int64_t) const override {
    return distance_;
  }

 private:
  std::string name_;
  Distance distance_;
};

// FlexGen+: CapacityUniformDistance(L, device_blocks, UniformLayerBlocks(batch, avg, 1)),
// computed when the batch changes.
class FlexGenPlusPlanner final : public UniformBaseline {
 public:
  explicit FlexGenPlusPlanner(const BaselineOptions& options = {});
  std::string_view name() const override { return "flexgen-plus"; }

 protected:
  Distance ChooseDistance(const PlanInput& input, std::span<const PlanCandidate> batch,
                          int64_t device_blocks) const override;
};

// SLO-aware offloading: SloAwareDistance of f_compute(X) and f_transfer(X), X =
// SloAwareBatchTokens, on the first decode step after a batch change.
class SloAwarePlanner final : public UniformBaseline {
 public:
  explicit SloAwarePlanner(const BaselineOptions& options = {});
  std::string_view name() const override { return "slo-aware"; }

 protected:
  Distance ChooseDistance(const PlanInput& input, std::span<const PlanCandidate> batch,
                          int64_t device_blocks) const override;
};

// Dynamic heuristic: CapacityUniformDistance(L, device_blocks, UniformLayerBlocks(batch, 0, 2)),
// recomputed every step.
class DynamicHeuristicPlanner final : public UniformBaseline {
 public:
  explicit DynamicHeuristicPlanner(const BaselineOptions& options = {});
  std::string_view name() const override { return "dynamic-heuristic"; }

 protected:
  Distance ChooseDistance(const PlanInput& input, std::span<const PlanCandidate> batch,
                          int64_t device_blocks) const override;
};

// ---- Factory ----

// all-device, deepspeed, flexgen, flexgen-plus, slo-aware, dynamic-heuristic.
std::vector<std::string> BaselinePolicyNames();

// The baseline named `name` (case-insensitive); NotFound listing the known names otherwise.
StatusOr<std::unique_ptr<Planner>> MakeBaselinePlanner(std::string_view name,
                                                       const BaselineOptions& options = {});

}  // namespace orbitflow
