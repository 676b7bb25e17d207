// Replays a workload through the engine on the simulated GPU: what `orbitflow simulate` runs for
// each policy.
#pragma once

#include <string>
#include <vector>

#include "cost/cost_model.h"
#include "engine/engine.h"
#include "exec/sim/sim_executor.h"
#include "metrics/scoring.h"
#include "plan/planner.h"
#include "workload/workload.h"

namespace orbitflow {

struct SimulationOptions {
  EngineOptions engine;
  SimOptions sim;
  bool progress = false;  // draw a progress bar on a TTY
  std::string label;      // progress bar label
};

struct SimulationResult {
  std::string policy;
  std::vector<RequestRecord> records;  // every request, finished or failed, by id
  std::vector<StepRecord> steps;
  EngineCounters counters;
  SloSummary summary;
  double wall_seconds = 0;             // real time the simulation took
  Seconds simulated{0};                // virtual time at the end
};

StatusOr<SimulationResult> RunSimulation(const Workload& workload, const CostModel& cost,
                                         Planner& planner, const SimulationOptions& options);

}  // namespace orbitflow
