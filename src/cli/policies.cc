#include "cli/policies.h"

#include <algorithm>

#include <fmt/format.h>

#include "plan/baselines.h"
#include "plan/ilp/orbitflow_planner.h"

namespace orbitflow {

std::vector<std::string> AllPolicyNames() {
  std::vector<std::string> names = OrbitFlowPolicyNames();
  for (std::string& n : BaselinePolicyNames()) names.push_back(std::move(n));
  return names;
}

StatusOr<std::unique_ptr<Planner>> MakePolicy(std::string_view name, const PolicyOptions& options) {
  if (name.starts_with("orbitflow")) {
    OrbitFlowOptions o;
    OF_ASSIGN_OR_RETURN(o.backend, ParseBackend(options.planner_backend));
    OF_ASSIGN_OR_RETURN(o.pause_strategy, ParsePauseStrategy(options.pause_strategy));
    OF_ASSIGN_OR_RETURN(o.ilp.miss_model, ParseSloMissModel(options.slo_miss_model));
    o.ilp.slo_budget_f = options.slo_budget_f;
    o.ilp.headroom.fraction = options.headroom_fraction;
    o.ilp.headroom.min_blocks = options.headroom_min_blocks;
    o.seed = options.seed;
    return MakeOrbitFlowPlanner(name, o);
  }
  auto baseline = MakeBaselinePlanner(name);
  if (baseline.ok()) return baseline;
  return NotFound(fmt::format("unknown policy '{}'; known policies: {}", name,
                              fmt::join(AllPolicyNames(), ", ")));
}

}  // namespace orbitflow
