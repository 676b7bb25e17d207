// `orbitflow bench planner`: solve times of the ILP backends on random planning problems, and
// with verify, how far apart their objectives are. Also the random problem generator the
// property tests use.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "cost/cost_model.h"
#include "orbitflow/status.h"
#include "plan/ilp/formulation.h"
#include "plan/ilp/milp_solver.h"
#include "plan/planner.h"

namespace orbitflow {

// A cost model for planner experiments at any layer count: Llama-3.1-8B's KV shape on an A100
// (the reference's profiled fit), with the decode fit scaled by L / 32 so a layer costs what an
// 8B layer costs.
CostModel PlannerBenchCostModel(int num_layers);

struct ScenarioOptions {
  int requests_min = 16;
  int requests_max = 16;
  int layers = 32;
  int64_t max_context_tokens = 32768;
  int max_deposit_tokens = 50;
};

// One random planning problem that owns everything a PlanInput points to. Contexts 1..32k
// tokens (half log-uniform, half uniform, some repeated), per-token SLOs from a base of 0.9x to
// 2.5x the all-on-device step (a third of the requests up to 2x looser), deposits 0..50 tokens
// (half zero), and device capacity from none at all to
// slightly more than everything on the device, so memory-bound, link-bound, SLO-infeasible and
// trivial instances all occur.
struct PlannerScenario {
  std::optional<CostModel> cost;
  std::vector<PlanCandidate> requests;
  int64_t device_blocks = 0;
  int64_t device_blocks_per_layer = 0;

  // REQUIRES: the scenario outlives the returned input (it points into it).
  PlanInput Input() const;
};
PlannerScenario RandomPlannerScenario(const ScenarioOptions& options, std::mt19937_64& rng);

struct PlannerBenchOptions {
  int requests = 16;
  int layers = 32;
  int instances = 1000;
  uint64_t seed = 1;
  // Also solve every instance with the MILP backend and compare objectives.
  bool verify = false;
  // The exact backend's node budget (the planner's default); instances that reach it are
  // counted in exact_unproven.
  int64_t exact_max_nodes = 1'000'000;
  // CBC's time limit per instance when verifying, and the flow form it solves (the cumulative
  // form has the same optimum as the spec's per-request form and solves several times faster).
  double milp_time_limit_s = 10.0;
  FlowForm milp_flow = FlowForm::kCumulative;
  // Called after each instance with the count done (progress display); may be empty.
  std::function<void(int)> on_instance;
};

struct PlannerBenchReport {
  int instances = 0;
  int requests = 0;
  int layers = 0;
  // Exact backend as the OrbitFlow planner runs it (Pause-Resume on: an SLO-infeasible batch
  // needs only its verdict): instance build plus solve, microseconds.
  double p50_us = 0, p99_us = 0, max_us = 0, mean_us = 0;
  // The full minimal-T solve, past T_max too (what the no-pause ablation and --verify use).
  // Nodes, verdicts and the comparison with CBC below are this solve's.
  double full_p50_us = 0, full_p99_us = 0, full_max_us = 0;
  int64_t max_nodes = 0;
  double mean_nodes = 0;
  int tie_break_cut = 0;  // instances whose tie-break search hit its node budget
  int exact_unproven = 0;  // instances that reached exact_max_nodes (best found, unproven)
  // Verdicts of the exact backend.
  int optimal = 0, slo_infeasible = 0, memory_infeasible = 0;
  // With verify: the MILP backend.
  bool verified = false;
  double milp_p50_us = 0, milp_p99_us = 0, milp_max_us = 0;
  // Largest |T_exact - T_milp| / T_milp over instances where both proved optimality.
  double max_gap = 0;
  int milp_unproven = 0;         // CBC stopped at its time limit
  int verdict_mismatches = 0;    // feasibility verdicts that differ (CBC proven only)
};

// REQUIRES: requests >= 1, layers >= 1, instances >= 1 (else InvalidArgument).
StatusOr<PlannerBenchReport> RunPlannerBench(const PlannerBenchOptions& options);

// One JSON object: p50_us, p99_us, max_us (exact backend), max_gap, instances, and the rest of
// the report (milp_p50_us, ... when verified).
std::string PlannerBenchReportJson(const PlannerBenchReport& report);

}  // namespace orbitflow
