// The fast exact backend of the OrbitFlow ILP (formulation.h): same optimal objective as the MILP
// backend, in microseconds instead of milliseconds.
//
// Minimal T. The SLO constraint is a bound T <= T_max (formulation.h), so the solver minimises T
// under memory alone and compares with T_max afterwards. In block units (time x B) with
// beta = B c, T = L c + sigma / B where the stall sigma = max(0, max_j (D_j - beta (j - 1))) and
// D_j = sum_r w_r P_{k_r}(j), w_r = b_r + 1, P_k(j) the offloaded layers of candidate k among
// layers 1..j. Memory is met iff the offloaded "value" sum_r n_{k_r} b_r >= R = L sum_r b_r - M.
//
// Branch and bound over the requests, largest b_r first, one candidate per level:
//  * Bound. With the requests of a suffix U still free and R_U value still needed, relax each
//    free request to a fractional offload y_r in [0, L] priced by h_j, the lower convex hull of
//    the points (n_k, P_k(j)). h_j is convex and non-decreasing and every request's points are
//    the same up to the factor b_r <= w_r, so by Jensen the cheapest relaxed completion spreads
//    y_r = R_U / b(U) evenly: D_j >= D_j(fixed) + b(U) h_j(R_U / b(U)). At j = L the hull is the
//    identity and the +1 per offloaded layer adds at least the fractional layer count of covering
//    R_U with the largest free requests. Demands are whole blocks, so each bound on D_j rounds
//    up before beta (j - 1) is subtracted; the stall bound is the max over j. O(L) per child:
//    the hull is tabulated once per L at every candidate n, and y falls in the same segment for
//    every j. (A joint LP over the candidate mix was tried and prunes no more than this.)
//  * Completion. When the fixed requests already meet memory (R_U <= 0), every free request at
//    AllDevice is optimal for the subtree: its demand is pointwise the smallest. Leaf.
//  * Infeasibility. R_U > L b(U): even offloading every free layer cannot meet memory.
//  * Symmetry. Requests with equal b_r are interchangeable; their candidates are taken
//    non-increasing.
//  * Order. Best-first on the bound, plunging from each popped node along its best children so
//    incumbents arrive early (the first is the best single distance for everyone). Expanded
//    nodes keep their prefix demand in a pool; when it is full the rest is searched depth-first.
// Only subtrees whose bound cannot beat the incumbent are cut, so the minimal T is proven. The
// tie-break (less link traffic D_L, then fewer offloaded layers) is searched in the same tree
// among subtrees whose bound ties the incumbent's T within rounding (1e-12 relative), under a
// node budget; past it the best tie so far is kept (IlpSolution::tie_break_exact).
//
// What bounds the time. The problem contains subset sum: when the link is the bottleneck the
// stall is set by the total traffic D_L = sum_r n_r (b_r + 1), and the optimum is the fewest
// offloaded layers whose memory value sum_r n_r b_r reaches R exactly. The bound is usually
// tight to the block (often equal to the optimum at the root), but finding the exact fit can take
// thousands of nodes at ~0.5 us each. Measure with `orbitflow bench planner` (planner_bench.h).
//
// The uniform variant enumerates the candidates. The goodput objective runs the search of
// goodput_search.h with this solver's minimal T for each kept set.
//
// Not thread-safe: one Solve at a time per solver (it reuses its buffers between calls).
#pragma once

#include <cstdint>
#include <memory>

#include "orbitflow/status.h"
#include "plan/ilp/formulation.h"

namespace orbitflow {

struct ExactSolverOptions {
  // Search nodes spent on the tie-break among assignments whose T already ties the best.
  int64_t tie_break_node_budget = 256;
  // A stop for the whole search (~0.5-1 us per node); past it the best assignment found is
  // returned unproven (verdict kFeasible, proven_optimal false). The default is effectively
  // exact; the planner uses a tighter budget (OrbitFlowOptions).
  int64_t max_nodes = 50'000'000;
  SloInfeasibleDetail slo_infeasible = SloInfeasibleDetail::kMinStepTimeAssignment;
};

class ExactSolver {
 public:
  explicit ExactSolver(ExactSolverOptions options = {});
  ~ExactSolver();
  ExactSolver(ExactSolver&&) noexcept;
  ExactSolver& operator=(ExactSolver&&) noexcept;

  const ExactSolverOptions& options() const { return options_; }

  // Solves for instance.options.objective.
  StatusOr<IlpSolution> Solve(const IlpInstance& instance);
  // The minimal-T problem, whatever instance.options.objective says.
  StatusOr<IlpSolution> SolveMinStepTime(const IlpInstance& instance);
  // The same with `detail` in place of options().slo_infeasible.
  StatusOr<IlpSolution> SolveMinStepTime(const IlpInstance& instance, SloInfeasibleDetail detail);


 private:
  struct Search;
  ExactSolverOptions options_;
  std::unique_ptr<Search> search_;  // buffers reused across solves
};

}  // namespace orbitflow
