// The MILP backend of the OrbitFlow ILP (formulation.h), solved with CBC: the spec's
// formulation as written, kept as the reference the exact backend is checked against.
//
// Variables: x_{r,k} binary (one candidate per request), t_{r,j} >= 0 blocks of r moved during
// layer j's slot, s_j >= 0 stalls, T. Time is in units of 1/B seconds (one layer-block over the
// link), which makes the link coefficients 1 and keeps the numbers near 1e3..1e5.
//   (1) sum_k x_{r,k} = 1
//   (2,4) sum_r t_{r,1} <= s_1;  sum_r t_{r,j} <= B c + s_j for j >= 2
//   (3) sum_{i<=j} t_{r,i} >= sum_k x_{r,k} w_r P_k(j) for j < L, with equality of the totals
//   (5) T = L B c + sum_j s_j
//   (6) T <= B T_max (a column bound; the exact linearisation of the SLO budget)
//   (7) sum_{r,k} x_{r,k} (L - n_k) b_r <= M
//   uniform variant: x_{r,k} = x_{1,k}
// Objective: minimise T. The returned T is re-evaluated on the rounded x (Evaluate), so it is the
// cost model's step time of a real assignment, not an LP value within CBC's tolerances. CBC's
// assignment is then stepped greedily towards less offload while T does not grow (the exact
// backend's tie-break, searched exactly there).
//
// With FlowForm::kAggregate the per-request flows are summed into one t_j per layer: a single
// link serving prefix deadlines is feasible iff every cumulative demand fits the cumulative
// capacity, so both forms have the same optimum (tested); the aggregate one is much smaller, and
// kCumulative writes it through u_j = sum_{i<=j} t_i, which is sparser still.
//
// A MilpSolver may be used from one thread at a time; separate solvers run in parallel (each
// solve builds its own CBC model).
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "orbitflow/status.h"
#include "orbitflow/types.h"
#include "plan/ilp/formulation.h"

namespace orbitflow {

enum class FlowForm : uint8_t {
  kPerRequest,  // t_{r,j}, as spec section 4 writes it
  kAggregate,   // t_j = sum_r t_{r,j}
  kCumulative,  // the aggregate flow through cumulative u_j = sum_{i<=j} t_i: same LP, sparser
};

// Which CBC entry point runs the search.
enum class MilpDriver : uint8_t {
  kBranchAndBound,  // CbcModel::branchAndBound on the LP: plain LP-based branch and bound
  kCbcMain,         // the cbc solver's main loop (C API): preprocessing, cuts, heuristics
};

struct MilpOptions {
  Seconds time_limit{1.0};
  // Branch-and-bound nodes before CBC stops unproven (deterministic, unlike the time limit).
  int max_nodes = 1'000'000;
  FlowForm flow = FlowForm::kPerRequest;
  MilpDriver driver = MilpDriver::kBranchAndBound;
  SloInfeasibleDetail slo_infeasible = SloInfeasibleDetail::kMinStepTimeAssignment;
  // Extra CBC parameters (name, value), as the cbc command line takes them, e.g. {"cuts", "off"}.
  std::vector<std::pair<std::string, std::string>> cbc_parameters;
};

class MilpSolver {
 public:
  explicit MilpSolver(MilpOptions options = {});
  ~MilpSolver();
  MilpSolver(MilpSolver&&) noexcept = default;
  MilpSolver& operator=(MilpSolver&&) noexcept = default;

  const MilpOptions& options() const { return options_; }

  // Solves for instance.options.objective (goodput: goodput_search.h over this backend).
  StatusOr<IlpSolution> Solve(const IlpInstance& instance);
  // The minimal-T problem, whatever instance.options.objective says. proven_optimal says whether
  // CBC closed the gap within the time limit.
  StatusOr<IlpSolution> SolveMinStepTime(const IlpInstance& instance);
  // The same with `detail` in place of options().slo_infeasible.
  StatusOr<IlpSolution> SolveMinStepTime(const IlpInstance& instance, SloInfeasibleDetail detail);
  // The LP of constraints 2-5 with x fixed to `assignment` (no pauses): its optimal T in seconds.
  StatusOr<double> SolveFlowLp(const IlpInstance& instance, const IlpAssignment& assignment);

 private:

 private:
  // Builds and solves; `fixed` (may be null) pins x; `slo_row` adds T <= T_max.
  StatusOr<IlpSolution> Run(const IlpInstance& instance, const IlpAssignment* fixed, bool slo_row,
                            double* lp_objective);

  static Status PreferLessOffload(const IlpInstance& instance, IlpAssignment* assignment, IlpEvaluation* eval);

  MilpOptions options_;
};

}  // namespace orbitflow
