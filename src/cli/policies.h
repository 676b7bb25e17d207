// Every placement policy by name, for the commands that take --policies / --policy.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "plan/planner.h"

namespace orbitflow {

struct PolicyOptions {
  std::string pause_strategy = "longest";
  std::string planner_backend = "exact";
  std::string slo_miss_model = "deposit";  // the ILP's constraint 6 (formulation.h SloMissModel)
  double slo_budget_f = 0.0;               // F of constraint 6
  double headroom_fraction = 0.001;
  int64_t headroom_min_blocks = 100;
  uint64_t seed = 0;
};

std::vector<std::string> AllPolicyNames();
StatusOr<std::unique_ptr<Planner>> MakePolicy(std::string_view name, const PolicyOptions& options);

}  // namespace orbitflow
