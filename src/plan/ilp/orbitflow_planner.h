// The OrbitFlow planner (spec sections 4 and 7): solves the placement ILP (formulation.h) with
// the exact or the MILP backend, and when it is infeasible pauses requests one at a time
// (Pause-Resume) until it is not; with a single request left, it runs the dynamic heuristic for a
// fixed number of steps.
//
// Policies (MakeOrbitFlowPlanner):
//   orbitflow             the full mechanism
//   orbitflow-uniform     one distance for all requests (ablation)
//   orbitflow-no-deposit  Token Deposit ignored in the SLO budget (ablation)
//   orbitflow-no-pause    never pauses: an SLO-infeasible batch runs its minimal-T placement
//                         anyway; a memory-infeasible one runs the dynamic heuristic (ablation)
//   orbitflow-goodput     the earlier objective: maximise goodput, the solver chooses whom to
//                         pause (spec section 4)
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <random>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "orbitflow/status.h"
#include "plan/ilp/exact_solver.h"
#include "plan/ilp/formulation.h"
#include "plan/ilp/milp_solver.h"
#include "plan/planner.h"

namespace orbitflow {

enum class Backend : uint8_t {
  kExact,  // exact_solver.h: microseconds
  kMilp,   // milp_solver.h: CBC, milliseconds to seconds
};
const char* BackendName(Backend backend);
// "exact" or "milp".
StatusOr<Backend> ParseBackend(std::string_view name);

// Whom Pause-Resume pauses first (spec section 7).
enum class PauseStrategy : uint8_t {
  kLongest,    // most prompt + generated tokens (the reference's default)
  kShortest,   // fewest prompt + generated tokens
  kRandom,     // uniformly, from the planner's seeded generator
  kSloLoose,   // the largest per-token SLO
  kSloStrict,  // the smallest per-token SLO
};
const char* PauseStrategyName(PauseStrategy strategy);
// "longest", "shortest", "random", "slo-loose", "slo-strict" ('_' accepted for '-').
StatusOr<PauseStrategy> ParsePauseStrategy(std::string_view name);

struct OrbitFlowOptions {
  IlpOptions ilp;
  Backend backend = Backend::kExact;
  PauseStrategy pause_strategy = PauseStrategy::kLongest;
  bool pause_enabled = true;
  // Steps the dynamic heuristic runs once a single request is left and still infeasible.
  int fallback_steps = 128;
  // When only the window ran out, keep every request's distance while it still fits memory and
  // the SLO budget: a new distance moves KV (a layer coming back is copied to the device before
  // the step can use it), a stall the minimal-T objective does not see. Off: re-solve each time.
  bool keep_feasible_plan = true;
  uint64_t seed = 0;  // for PauseStrategy::kRandom
  // The planner runs once per batch change: a rare pathological instance (about 0.2% of random
  // 64 x 32 ones) stops after 10^6 nodes (about a second) with the best plan found so far.
  ExactSolverOptions exact{.max_nodes = 1'000'000};
  MilpOptions milp;
};
// Checks the ILP options and fallback_steps >= 1.
Status ValidateOrbitFlowOptions(const OrbitFlowOptions& options);

// The next request to pause among those with kept[i] != 0, by `strategy`; ties go to the later
// position in `requests` (the most recently admitted). nullopt when none is kept.
// REQUIRES: kept.size() == requests.size(); rng non-null for kRandom.
std::optional<size_t> ChoosePauseVictim(std::span<const PlanCandidate> requests, std::span<const uint8_t> kept,
                                        PauseStrategy strategy, std::mt19937_64* rng);

// Not thread-safe: one Plan at a time (it reuses solver buffers and keeps the fallback state).
class OrbitFlowPlanner final : public Planner {
 public:
  OrbitFlowPlanner(std::string name, OrbitFlowOptions options);

  std::string_view name() const override { return name_; }
  const OrbitFlowOptions& options() const { return options_; }

  // Decision for input.requests. The distances are the ILP's (fallback false) or the dynamic
  // heuristic's (fallback true: a single request was left infeasible, or the backend gave no
  // answer, or pausing is off and memory cannot be met). While a fallback period runs, every
  // call returns the heuristic with window_steps = the steps left in it.
  // InvalidArgument when input.cost is null or a request has no SLO.
  StatusOr<PlanDecision> Plan(const PlanInput& input) override;

 private:
  StatusOr<IlpSolution> SolveMinStepTime(const IlpInstance& instance, SloInfeasibleDetail detail);
  StatusOr<IlpSolution> SolveGoodputObjective(const IlpInstance& instance);
  // A decision from a solved instance over the requests with kept_[i] set.
  PlanDecision FromSolution(const PlanInput& input, const IlpInstance& instance, const IlpSolution& solution,
                            std::span<const uint8_t> kept) const;
  // The dynamic heuristic over the kept requests (spec section 8): FlexGen+'s capacity-aware
  // uniform distance with actual contexts and 2 look-ahead blocks per request.
  PlanDecision Heuristic(const PlanInput& input, std::span<const uint8_t> kept, int window) const;
  StatusOr<PlanDecision> PauseLoop(const PlanInput& input);
  // The decision that keeps every request at its current distance, if that still fits memory and
  // the SLO budget (full_ built).
  std::optional<PlanDecision> KeepCurrent(const PlanInput& input);

  std::string name_;
  OrbitFlowOptions options_;
  ExactSolver exact_;
  MilpSolver milp_;
  std::mt19937_64 rng_;
  // The step at which a running fallback period ends (exclusive).
  std::optional<int64_t> fallback_until_;
  IlpInstance full_, kept_instance_;
  std::vector<uint8_t> kept_;
  std::vector<RequestId> paused_;
};

// The OrbitFlow policies by name, options applied on top of `options`. The suffixes -uniform,
// -no-deposit, -no-pause and -goodput combine in any order (orbitflow-uniform-no-pause).
std::vector<std::string> OrbitFlowPolicyNames();
// The paper's ablation, cumulative: uniform distance alone, + Token Deposit, + Pause-Resume, and
// the full mechanism (per-request distances).
std::vector<std::string> OrbitFlowAblationChain();
StatusOr<std::unique_ptr<Planner>> MakeOrbitFlowPlanner(std::string_view policy_name,
                                                        const OrbitFlowOptions& options);

}  // namespace orbitflow
