// The goodput objective of spec section 4 (the reference's earlier version): maximise
// G = (kept - sum_r f_r) / T, where the solver may also pause requests.
//
// For a fixed kept set K, G = sum_{r in K} u_r(T) / T with u_r(T) = min(1, S_r / T + delta_r / W)
// (W = W_min, which maximises the credit), and every term falls as T grows: the best assignment
// of K is its minimal-T assignment (under memory and the SLO budget of K). So the search is over
// kept sets only, and each leaf asks a backend for the minimal T of RestrictIlpInstance(K): the
// exact backend and the MILP backend both plug in here.
//
// Branch and bound over requests (most tokens first; keep before pause). For a node with kept
// requests K_F, paused P_F and undecided U, every completion K = K_F + S (S in U) has
//   T(K) >= max(T0 + a tok(S) / L, f(tok(K_F)) + a tok(S))
// where f = a x + b0 is the compute fit, and T0 = f(tok(K_F)) + the stall that K_F alone must
// cause to fit the memory left once P_F keeps its first layers (the total-demand bound at j = L).
// Adding requests only adds demand, and T grows at least as fast as c (each term of the
// prefix-flow maximum has a coefficient of c of at least 1). With p_r = u_r(T0) and
// q_r = a tok_r the bound is max over fractional S of
//   (sum_{K_F} p_r + sum_S p_r) / max(T0 + q(S) / L, f(tok(K_F)) + q(S)),
// reached at a breakpoint of the p/q-greedy order (a concave numerator over a convex
// denominator). Subtrees whose bound cannot beat the incumbent are cut, so the search is exact
// whenever the inner backend is (tests compare it with brute force over every pause pattern and
// candidate on small instances).
#pragma once

#include <cstdint>
#include <functional>

#include "orbitflow/status.h"
#include "plan/ilp/formulation.h"

namespace orbitflow {

// The minimal T of an instance without pauses (a backend's min-step-time solve).
using MinStepTimeSolve = std::function<StatusOr<IlpSolution>(const IlpInstance&)>;

struct GoodputSearchOptions {
  // Stop on inner solves (the search is over kept sets, 2^N in the worst case); past it the best
  // kept set so far is returned unproven. Small batches never reach it.
  int64_t max_leaves = 1024;
  // Stop on search nodes too: with 32 requests the bound alone leaves tens of thousands of
  // nodes, each sorting the undecided requests. Past it the best kept set so far is returned
  // unproven.
  int64_t max_nodes = 512;
};

// Maximises goodput. The assignment has paused.size() == num_requests; objective is G in kept
// requests per second, step_s its T. When no non-empty kept set is feasible the verdict is that of
// the whole batch's minimal-T problem and there is no assignment.
StatusOr<IlpSolution> SolveGoodput(const IlpInstance& instance, const MinStepTimeSolve& solve,
                                   const GoodputSearchOptions& options = {});

}  // namespace orbitflow
