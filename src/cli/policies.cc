#include "cli/policies.h"

#include <fmt/format.h>

#include "plan/baselines.h"

namespace orbitflow {

std::vector<std::string> AllPolicyNames() {
  std::vector<std::string> names = BaselinePolicyNames();
  return names;
}

StatusOr<std::unique_ptr<Planner>> MakePolicy(std::string_view name, const PolicyOptions& options) {
  auto baseline = MakeBaselinePlanner(name);
  if (baseline.ok()) return baseline;
  return NotFound(fmt::format("unknown policy '{}'; known policies: {}", name,
                              fmt::join(AllPolicyNames(), ", ")));
}

}  // namespace orbitflow
