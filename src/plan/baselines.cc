#include "plan/baselines.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <functional>

#include "plan/uniform_distance.h"

namespace orbitflow {

// ---- Formulas ----

int64_t UniformLayerBlocks(std::span<const PlanCandidate> batch, double min_tokens,
                           int lookahead_blocks) {
  // ceil(ceil(a) / 16) == ceil(a / 16) for a >= 0, so a fractional average can be rounded up to
  // whole tokens first and counted with the integer BlocksForTokens.
  const int64_t floor_tokens = static_cast<int64_t>(std::ceil(std::max(0.0, min_tokens)));
  int64_t total = 0;
  for (const PlanCandidate& r : batch) {
    total += BlocksForTokens(std::max(r.context_tokens, floor_tokens)) + lookahead_blocks;
  }
  return total;
}

int64_t SloAwareBatchTokens(std::span<const PlanCandidate> batch, double avg_trace_tokens) {
  double x = 0;
  for (const PlanCandidate& r : batch) {
    x += std::max(static_cast<double>(r.context_tokens), avg_trace_tokens);
  }
  return std::llround(x);
}

Distance SloAwareDistance(int num_layers, Seconds f_compute, Seconds f_transfer) {
  const double k = std::floor(f_compute.count() / f_transfer.count());
  // `!(k >= 1)` also catches NaN (0 / 0) and a negative ratio from a non-positive transfer fit.
  if (!(k >= 1)) return Distance::Every(1);
  const double d = std::max(1.0, std::floor(num_layers / k));  // k = inf gives floor(0) -> 1
  if (d >= num_layers) return Distance::AllDevice();
  return Distance::Every(static_cast<int>(d));
}

// ---- UniformBaseline ----

UniformBaseline::UniformBaseline(const BaselineOptions& options, bool per_step,
                                 LastRequestPolicy last_request)
    : options_(options), per_step_(per_step), last_request_(last_request) {}

namespace {

std::vector<RequestId> SortedIds(std::span<const PlanCandidate> batch) {
  std::vector<RequestId> ids;
  ids.reserve(batch.size());
  for (const PlanCandidate& r : batch) ids.push_back(r.id);
  std::sort(ids.begin(), ids.end());
  return ids;
}

}  // namespace

StatusOr<PlanDecision> UniformBaseline::Plan(const PlanInput& input) {
  // The paper's baselines derive their distance when the batch changes, not on every re-plan: an
  // unchanged batch re-planned for another reason keeps its distance (memory is still checked).
  const bool may_reuse = !per_step_ && input.cause != ReplanCause::kBatchChanged;
  const UniformDistanceRule rule = [&](std::span<const PlanCandidate> batch, int64_t budget) {
    std::vector<RequestId> ids = SortedIds(batch);
    if (may_reuse && last_.has_value() && last_->batch == ids) return last_->distance;
    const Distance d = ChooseDistance(input, batch, budget);
    last_ = Chosen{std::move(ids), d};
    return d;
  };
  const MemoryFitOptions fit{.last_request = last_request_,
                             .window_steps = per_step_ ? 1 : options_.batch_window_steps};
  return FitOrPreempt(input, rule, fit);
}

// ---- Policies ----

AllDevicePlanner::AllDevicePlanner(const BaselineOptions& options)
    : UniformBaseline(options, /*per_step=*/true, LastRequestPolicy::kInfeasible) {}

int64_t AllDevicePlanner::MinDeviceBlocks(int64_t tokens, int num_layers) const {
  return DeviceBlocksWithLookahead(Distance::AllDevice(), BlocksForTokens(tokens), num_layers);
}

FixedDistancePlanner::FixedDistancePlanner(std::string name, Distance distance,
                                           const BaselineOptions& options)
    : UniformBaseline(options, /*per_step=*/false, LastRequestPolicy::kOffloadEverything),
      name_(std::move(name)),
      distance_(distance) {}

FlexGenPlusPlanner::FlexGenPlusPlanner(const BaselineOptions& options)
    : UniformBaseline(options, /*per_step=*/false, LastRequestPolicy::kOffloadEverything) {}

Distance FlexGenPlusPlanner::ChooseDistance(const PlanInput& input,
                                            std::span<const PlanCandidate> batch,
                                            int64_t device_blocks) const {
  return CapacityUniformDistance(input.cost->num_layers(), device_blocks,
                                 UniformLayerBlocks(batch, input.avg_trace_tokens, 1));
}

SloAwarePlanner::SloAwarePlanner(const BaselineOptions& options)
    : UniformBaseline(options, /*per_step=*/false, LastRequestPolicy::kOffloadEverything) {}

Distance SloAwarePlanner::ChooseDistance(const PlanInput& input,
                                         std::span<const PlanCandidate> batch,
                                         int64_t device_blocks) const {
  const int64_t x = SloAwareBatchTokens(batch, input.avg_trace_tokens);
  return SloAwareDistance(input.cost->num_layers(), input.cost->DecodeStep(x),
                          input.cost->TransferAll(x));
}

DynamicHeuristicPlanner::DynamicHeuristicPlanner(const BaselineOptions& options)
    : UniformBaseline(options, /*per_step=*/true, LastRequestPolicy::kOffloadEverything) {}

Distance DynamicHeuristicPlanner::ChooseDistance(const PlanInput& input,
                                                 std::span<const PlanCandidate> batch,
                                                 int64_t device_blocks) const {
  return CapacityUniformDistance(input.cost->num_layers(), device_blocks,
                                 UniformLayerBlocks(batch, /*min_tokens=*/0, 2));
}

// ---- Factory ----

namespace {

using PlannerFactory = std::function<std::unique_ptr<Planner>(const BaselineOptions&)>;

struct NamedBaseline {
  const char* name;
  PlannerFactory make;
};

// The registry, in the order the paper's figures list the methods.
const std::vector<NamedBaseline>& Registry() {
  static const std::vector<NamedBaseline> kRegistry = {
      {"all-device", [](const BaselineOptions& o) { return std::make_unique<AllDevicePlanner>(o); }},
      {"deepspeed",
       [](const BaselineOptions& o) {
         return std::make_unique<FixedDistancePlanner>("deepspeed", Distance::Every(0), o);
       }},
      {"flexgen",
       [](const BaselineOptions& o) {
         return std::make_unique<FixedDistancePlanner>("flexgen", Distance::Every(1), o);
       }},
      {"flexgen-plus",
       [](const BaselineOptions& o) { return std::make_unique<FlexGenPlusPlanner>(o); }},
      {"slo-aware", [](const BaselineOptions& o) { return std::make_unique<SloAwarePlanner>(o); }},
      {"dynamic-heuristic",
       [](const BaselineOptions& o) { return std::make_unique<DynamicHeuristicPlanner>(o); }},
  };
  return kRegistry;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace

std::vector<std::string> BaselinePolicyNames() {
  std::vector<std::string> names;
  for (const NamedBaseline& b : Registry()) names.emplace_back(b.name);
  return names;
}

StatusOr<std::unique_ptr<Planner>> MakeBaselinePlanner(std::string_view name,
                                                       const BaselineOptions& options) {
  const std::string key = Lower(name);
  for (const NamedBaseline& b : Registry()) {
    if (key == b.name) return b.make(options);
  }
  std::string known;
  for (const NamedBaseline& b : Registry()) {
    known += known.empty() ? "" : ", ";
    known += b.name;
  }
  return NotFound("unknown baseline policy \"" + std::string(name) + "\"; known policies: " + known);
}

}  // namespace orbitflow
