// "Fit or preempt": the one place where a baseline's uniform placement is checked against the
// device pool and, when it does not fit, requests are paused the way vLLM preempts (the most
// recently arrived first). Every baseline of spec section 8 and the all-device reference plan
// through FitOrPreempt, so they all count device memory the same way.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "kv/placement.h"
#include "orbitflow/status.h"
#include "plan/planner.h"

namespace orbitflow {

// Device layer-blocks a request holding `blocks_per_layer` blocks (b_r) occupies under distance
// d: (L - n_off(d)) x (b_r + 1). The extra block per device-resident layer is look-ahead, so the
// next token's K/V has somewhere to go without another allocation. Every(0) needs none.
int64_t DeviceBlocksWithLookahead(Distance d, int64_t blocks_per_layer, int num_layers);

// Sum of DeviceBlocksWithLookahead over `batch`, every request at distance `d`.
int64_t UniformDeviceBlocks(std::span<const PlanCandidate> batch, Distance d, int num_layers);

// Indices into `batch` in the order vLLM preempts: the most recently arrived first (LIFO by
// arrival). Equal arrival times break toward the later position in `batch`, which is the
// scheduler's admission order.
std::vector<size_t> PreemptionOrder(std::span<const PlanCandidate> batch);

// What FitOrPreempt does when a single request is left and it still does not fit.
enum class LastRequestPolicy : uint8_t {
  // Offloading policies: give it Every(0), which keeps no KV on the device and so always fits;
  // the decision is marked as a fallback.
  kOffloadEverything,
  // The no-offload reference: nothing smaller exists, so the plan is Infeasible (the request
  // should have been refused at admission by MinDeviceBlocks).
  kInfeasible,
};

struct MemoryFitOptions {
  LastRequestPolicy last_request = LastRequestPolicy::kOffloadEverything;
  // Copied into PlanDecision::window_steps.
  int window_steps = 1;
};

// A policy's one distance for a batch. FitOrPreempt calls it on input.requests and again on the
// smaller batch after every pause: pausing changes the batch the policy sees, and re-choosing
// makes the decision a fixed point (planning the kept batch again pauses no one).
// `device_blocks` is the budget left for `batch` (pauses shrink it by the layer each keeps).
using UniformDistanceRule =
    std::function<Distance(std::span<const PlanCandidate> batch, int64_t device_blocks)>;

// Places every request of input.requests at rule(batch, budget). While the placement needs more
// than the budget (input.device_blocks, less the first layer each paused request keeps), pauses
// the next request of PreemptionOrder and asks
// the rule again, never pausing the last remaining request; that one gets
// options.last_request's treatment. The decision lists the kept requests in input order, the
// paused ones in the order they were paused, and the step time the cost model predicts for the
// placement (StepTimePerLayer; zero for an empty batch).
// REQUIRES: input.cost != nullptr (else InvalidArgument), input.device_blocks >= 0.
StatusOr<PlanDecision> FitOrPreempt(const PlanInput& input, const UniformDistanceRule& rule,
                                    const MemoryFitOptions& options);

}  // namespace orbitflow
