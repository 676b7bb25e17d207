#include "plan/memory_fit.h"

#include <algorithm>
#include <numeric>
#include <string>

namespace orbitflow {

int64_t DeviceBlocksWithLookahead(Distance d, int64_t blocks_per_layer, int num_layers) {
  const int64_t device_layers = num_layers - d.NumOffloaded(num_layers);
  return device_layers * (blocks_per_layer + 1);
}

int64_t UniformDeviceBlocks(std::span<const PlanCandidate> batch, Distance d, int num_layers) {
  int64_t total = 0;
  for (const PlanCandidate& r : batch) {
    total += DeviceBlocksWithLookahead(d, r.blocks_per_layer(), num_layers);
  }
  return total;
}

std::vector<size_t> PreemptionOrder(std::span<const PlanCandidate> batch) {
  std::vector<size_t> order(batch.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    if (batch[a].arrival != batch[b].arrival) return batch[a].arrival > batch[b].arrival;
    return a > b;
  });
  return order;
}

namespace {

Status ValidateInput(const PlanInput& input) {
  if (input.cost == nullptr) {
    return InvalidArgument("plan input has no cost model; the engine must pass one");
  }
  if (input.cost->num_layers() <= 0) {
    return InvalidArgument("cost model reports " + std::to_string(input.cost->num_layers()) +
                           " layers; a model needs at least one");
  }
  if (input.device_blocks < 0) {
    return InvalidArgument("plan input has device_blocks = " + std::to_string(input.device_blocks) +
                           "; the candidates' device budget cannot be negative");
  }
  for (const PlanCandidate& r : input.requests) {
    if (r.context_tokens < 0) {
      return InvalidArgument("request " + std::to_string(r.id.value()) + " has context_tokens = " +
                             std::to_string(r.context_tokens) + "; it cannot be negative");
    }
  }
  return Status::Ok();
}

Seconds PredictStep(const CostModel& cost, std::span<const PlanCandidate> kept, Distance d) {
  if (kept.empty()) return Seconds(0);
  std::vector<RequestLoad> loads;
  loads.reserve(kept.size());
  int64_t batch_tokens = 0;
  for (const PlanCandidate& r : kept) {
    loads.push_back({d, r.blocks_per_layer()});
    batch_tokens += r.context_tokens;
  }
  return cost.StepTimePerLayer(loads, batch_tokens);
}

}  // namespace

StatusOr<PlanDecision> FitOrPreempt(const PlanInput& input, const UniformDistanceRule& rule,
                                    const MemoryFitOptions& options) {
  OF_RETURN_IF_ERROR(ValidateInput(input));
  const int num_layers = input.cost->num_layers();
  const std::span<const PlanCandidate> all = input.requests;

  PlanDecision decision;
  decision.window_steps = options.window_steps;
  std::vector<PlanCandidate> kept(all.begin(), all.end());
  const std::vector<size_t> victims = PreemptionOrder(all);
  std::vector<bool> paused(all.size(), false);
  size_t next_victim = 0;

  // A paused request keeps its first layer on the device (spec section 7), so each pause frees
  // less than the request holds: its retained layer comes out of the budget.
  int64_t budget = input.device_blocks;
  Distance d = rule(kept, budget);
  while (UniformDeviceBlocks(kept, d, num_layers) > budget) {
    if (kept.size() == 1) {
      if (options.last_request == LastRequestPolicy::kInfeasible) {
        const PlanCandidate& r = kept.front();
        return Infeasible("request " + std::to_string(r.id.value()) + " (" +
                          std::to_string(r.context_tokens) + " tokens) needs " +
                          std::to_string(UniformDeviceBlocks(kept, d, num_layers)) +
                          " device layer-blocks at distance " + d.ToString() + " but only " +
                          std::to_string(budget) +
                          " are available, even with every other request paused");
      }
      d = Distance::Every(0);
      decision.fallback = true;
      break;
    }
    const size_t victim = victims[next_victim++];
    paused[victim] = true;
    budget -= all[victim].blocks_per_layer();
    decision.pause.push_back(all[victim].id);
    kept.clear();
    for (size_t i = 0; i < all.size(); ++i) {
      if (!paused[i]) kept.push_back(all[i]);
    }
    d = rule(kept, budget);
  }

  for (const PlanCandidate& r : kept) {
    decision.ids.push_back(r.id);
    decision.distances.push_back(d);
  }
  decision.predicted_step = PredictStep(*input.cost, kept, d);
  return decision;
}

}  // namespace orbitflow
