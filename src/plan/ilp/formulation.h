// The OrbitFlow placement ILP of spec section 4, made exact and linear, as plain data that both
// solver backends (exact_solver.h, milp_solver.h) read.
//
// For the decode requests r of a plan (b_r blocks per layer, L layers, per-layer compute c, link
// rate B in layer-blocks per second) choose one distance d_r from CandidateDistances(L). An
// offloaded layer of r moves LinkBlocks(b_r) = b_r + 1 blocks per step; D_j, the blocks that
// layers 1..j need, is the prefix demand. The ILP's constraints 2-5 (per-layer link budget,
// prefix flow, stall) then have the closed form
//     T = L c + max(0, max_j (D_j / B - (j - 1) c))
// (CostModel::StepTimePrefixFlow): a transfer may run any time before its layer, so the cheapest
// schedule puts the whole stall before layer 1 and the flow is feasible iff every prefix demand
// fits the prefix capacity B ((j - 1) c + stall). milp_solver_test.cc checks this against the
// flow LP solved by CBC.
//
// Constraint 7 (memory): sum_r (L - n_off(d_r)) b_r <= M, M = device_blocks - headroom.
//
// Constraint 6 (SLO with Token Deposit) is bilinear as written (f_r >= 1 - S_r / T - delta_r / W
// with T and W both variables). It linearises exactly:
//   * For a fixed T the credit delta_r / W is largest at the smallest window, so W = W_min is
//     optimal for feasibility; any W keeping sum_r f_r <= F is as good for the objective.
//   * g(T) = sum_r max(0, 1 - S_r / T - delta_r / W_min) is continuous and non-decreasing in T,
//     so {T : g(T) <= F} is an interval (0, T_max]. The SLO constraint is exactly T <= T_max,
//     a bound on one variable. T_max comes in closed form from the sorted breakpoints
//     T = S_r / (1 - delta_r / W_min) where request r starts to count (SloStepLimit below).
// The ILP is therefore: minimise T subject to memory, with the verdict "SLO-infeasible" exactly
// when the minimal T exceeds T_max. Among assignments with the minimal T the solvers prefer less
// link traffic D_L, then fewer offloaded layers (a tie-break: the exact backend searches it, the
// MILP backend applies it greedily; comparisons between backends use T only).
//
// The earlier "goodput" objective (spec section 4) maximises (kept - sum_r f_r) / T and may pause
// requests; a paused request keeps its first layer on the device (spec section 7) and stops
// counting in the compute, the link and the SLO budget. For a fixed set of kept requests goodput
// falls as T grows, so its optimum is the minimal-T assignment of the best kept set
// (goodput_search.h).
#pragma once

#include <cstdint>
#include <limits>
#include <span>
#include <string_view>
#include <vector>

#include "cost/cost_profile.h"
#include "kv/placement.h"
#include "orbitflow/status.h"
#include "orbitflow/types.h"
#include "plan/planner.h"

namespace orbitflow {

enum class Objective : uint8_t {
  kMinStepTime,  // the reference's final version: minimise T under the SLO budget
  kGoodput,      // the earlier version: maximise (kept - sum f_r) / T, pausing requests
};
const char* ObjectiveName(Objective objective);
StatusOr<Objective> ParseObjective(std::string_view name);

// Device blocks held back from the plan (spec section 4, constraint 7):
// max(ceil(fraction x device_blocks), min_blocks, #requests x L). The last term leaves each
// request one block per layer to grow into before the next plan.
struct HeadroomOptions {
  double fraction = 0.001;
  // Tiny models (a few hundred blocks in all) need a smaller floor than the reference's 100.
  int64_t min_blocks = 100;
};

// How constraint 6 counts the share f_r of a request's tokens in the window W that miss the SLO
// at step time T (S_r its per-token SLO, delta_r its deposit).
enum class SloMissModel : uint8_t {
  // The reference's: f_r = 1 - S_r / T - delta_r / W. A rate view: at T = 1.1 S it counts 9% of
  // the tokens as late, while under Token Deposit scoring every token is late once the deposit
  // is spent.
  kRate,
  // Ours, what Token Deposit scoring (spec section 6) counts at a steady step time T: each step
  // past the SLO drains (T - S_r) / S_r tokens from the deposit, so delta_r covers
  // delta_r S_r / (T - S_r) steps and every later token is a violation:
  //   f_r = max(0, 1 - delta_r S_r / (W (T - S_r))) for T > S_r, 0 otherwise.
  kDeposit,
};
const char* SloMissModelName(SloMissModel model);
// "rate" or "deposit".
StatusOr<SloMissModel> ParseSloMissModel(std::string_view name);

// f_r of one request at step time `step_s` over `window` steps.
double SloMiss(SloMissModel model, double slo_s, double deposit, double step_s, int window);

// Which decode window the decision reports (spec section 4, the W of constraint 6).
enum class WindowRule : uint8_t {
  // W_min: the window at which the deposit credit is largest (the optimal W of the
  // linearisation); the plan is re-solved often, which keeps it fresh as contexts grow.
  kMinimum,
  // The largest W in [W_min, W_max] that still keeps sum_r f_r <= F at the planned T.
  kLongestWithinBudget,
};

struct IlpOptions {
  // F: the allowed sum of per-request SLO-miss shares. The reference used 2 with the rate model;
  // under the deposit model a share of 1 is a request missing every token, so we allow none.
  double slo_budget_f = 0.0;
  SloMissModel miss_model = SloMissModel::kDeposit;
  int window_min = 32;        // W_min
  int window_max = 1000;      // W_max
  HeadroomOptions headroom;
  bool use_deposit = true;    // false: delta_r is ignored (the "no deposit" ablation)
  // Memory counts each request's KV as it will be after W_min - 1 more tokens (or its last
  // token, if sooner), so a plan does not run out of device blocks before its window ends. The
  // reference counted today's blocks plus one per layer and request of headroom, which a batch
  // outgrows within 16 steps; the executor then falls back mid-window.
  bool reserve_window_growth = true;
  bool uniform = false;       // one distance for all requests (the "uniform" ablation)
  Objective objective = Objective::kMinStepTime;
  WindowRule window_rule = WindowRule::kMinimum;
};

// Checks ranges: F >= 0, 1 <= W_min <= W_max, headroom fraction in [0, 1), min_blocks >= 0.
Status ValidateIlpOptions(const IlpOptions& options);

int64_t HeadroomBlocks(const HeadroomOptions& options, int64_t device_blocks, int num_requests,
                       int num_layers);

// One request as the ILP sees it.
struct IlpRequest {
  RequestId id;
  int64_t blocks = 0;       // b_r: blocks per layer (at the end of the window, see IlpOptions)
  int64_t link_blocks = 0;  // LinkBlocks(b_r) = b_r + 1: blocks moved per offloaded layer
  int64_t tokens = 0;       // context tokens, for the compute time of the batch
  double slo_s = 0;         // S_r, seconds per token (> 0)
  double deposit = 0;       // delta_r in tokens; 0 when the options ignore deposits
};

// The instance: everything a backend needs, no pointers into the PlanInput.
struct IlpInstance {
  int num_layers = 0;
  // Candidate distances in chain order: AllDevice first, then more offload, Every(0) last. Along
  // the chain memory falls and the prefix demand rises pointwise, which the exact solver uses.
  std::vector<Distance> distances;
  std::vector<int> offloaded;  // n_off of each candidate
  // prefix[k * L + j]: offloaded layers of candidate k among layers 1..j+1 (j 0-based).
  std::vector<int> prefix;
  std::vector<IlpRequest> requests;
  LinearFit decode_step;         // f_compute, for the compute of a subset of the requests
  int64_t batch_tokens = 0;      // sum of the requests' context tokens
  double layer_compute_s = 0;    // c = f_compute(batch_tokens) / L
  double link_blocks_per_s = 0;  // B
  int64_t device_blocks = 0;     // what the plan may use before headroom
  int64_t headroom_blocks = 0;
  // M = device_blocks - headroom - blocks held by paused requests (negative: infeasible).
  int64_t memory_blocks = 0;
  // T_max of the SLO budget; +infinity when the budget cannot bind.
  double max_step_s = std::numeric_limits<double>::infinity();
  IlpOptions options;

  int num_requests() const { return static_cast<int>(requests.size()); }
  int num_options() const { return static_cast<int>(distances.size()); }
  int Prefix(int option, int layer) const { return prefix[static_cast<size_t>(option) * num_layers + layer]; }
  // Device blocks of request r at candidate k: (L - n_off) b_r.
  int64_t Memory(int r, int option) const {
    return static_cast<int64_t>(num_layers - offloaded[option]) * requests[r].blocks;
  }
};

// Builds the instance for every request of `input`. InvalidArgument when input.cost is null, a
// request has a non-positive SLO or negative context, or the options are out of range. An
// instance whose memory M is negative is still returned: it is infeasible, which the solvers
// report.
StatusOr<IlpInstance> BuildIlpInstance(const PlanInput& input, const IlpOptions& options);
// Same, reusing `out`'s buffers (the planner calls this every re-plan).
Status BuildIlpInstance(const PlanInput& input, const IlpOptions& options, IlpInstance* out);

// The instance restricted to the requests with kept[r] true (indices refer to `full`): compute,
// headroom and T_max are those of the kept batch, and every paused request's first layer stays
// on the device, so M shrinks by its b_r. REQUIRES: kept.size() == full.num_requests().
void RestrictIlpInstance(const IlpInstance& full, std::span<const uint8_t> kept, IlpInstance* out);

// T_max: the largest T with sum_r f_r(T) <= F; +infinity when the sum stays <= F for every T.
// Every f_r is non-decreasing in T, so the feasible step times are exactly (0, T_max]. The rate
// model has a closed form on the sorted breakpoints; the deposit model bisects inside the one
// segment between breakpoints where the sum crosses F.
double SloStepLimit(std::span<const IlpRequest> requests, double budget_f, int window,
                    SloMissModel model = SloMissModel::kRate);

// The SLO-miss share sum_r f_r(T) of constraint 6.
double SloMissShare(std::span<const IlpRequest> requests, double step_s, int window,
                    SloMissModel model = SloMissModel::kRate);

// The window the decision reports for a plan with step time `step_s` (options.window_rule).
int ChooseWindow(const IlpInstance& instance, double step_s);

// One candidate index per request (into IlpInstance::distances). `paused` is empty when no
// request is paused (the minimal-step-time objective never pauses).
struct IlpAssignment {
  std::vector<int> option;
  std::vector<uint8_t> paused;

  bool is_paused(int r) const { return !paused.empty() && paused[r] != 0; }
};

struct IlpEvaluation {
  double step_s = 0;            // T
  double stall_s = 0;           // T - L c
  double layer_compute_s = 0;   // c of the kept requests
  int64_t device_blocks = 0;    // memory of the kept requests plus paused first layers
  int64_t link_blocks = 0;      // D_L: blocks over the link per step
  int offloaded_layers = 0;     // sum of n_off over kept requests
  int kept = 0;
  double slo_miss_share = 0;    // sum_r f_r at W_min
  double max_step_s = 0;        // T_max of the kept requests
  double goodput = 0;           // (kept - sum f_r) / T, requests per second
  bool memory_ok = false;       // device_blocks fits M (headroom recomputed for the kept count)
  bool slo_ok = false;          // T <= T_max
};

// Step time, memory and SLO share of an assignment, computed the way the cost model does
// (same arithmetic as CostModel::StepTimePrefixFlow). InvalidArgument on a malformed assignment.
StatusOr<IlpEvaluation> Evaluate(const IlpInstance& instance, const IlpAssignment& assignment);

// How a solve ended.
enum class SolveVerdict : uint8_t {
  kOptimal,           // an assignment meeting every constraint, proven optimal
  kFeasible,          // meeting every constraint, optimality not proven (time limit)
  kSloInfeasible,     // memory can be met but the minimal T exceeds T_max
  kMemoryInfeasible,  // no assignment fits the device memory
  kUnknown,           // the backend stopped before finding any answer (time limit)
};
const char* SolveVerdictName(SolveVerdict verdict);

// What Solve returns when the minimal T exceeds T_max.
enum class SloInfeasibleDetail : uint8_t {
  kMinStepTimeAssignment,  // the minimal-T assignment anyway (the planner without pausing uses it)
  kVerdictOnly,            // just the verdict: the search stops at T_max, which is faster
};

struct IlpSolution {
  SolveVerdict verdict = SolveVerdict::kUnknown;
  // Set for kOptimal and kFeasible; for kSloInfeasible, the minimal-T assignment when the backend
  // computed it (has_assignment).
  IlpAssignment assignment;
  bool has_assignment = false;
  double step_s = 0;     // T of the assignment (Evaluate)
  // The objective of the assignment: T for kMinStepTime, goodput for kGoodput.
  double objective = 0;
  // The solver proved that no assignment has a better primary objective (T or goodput).
  bool proven_optimal = false;
  // The exact backend: the T tie-break (link traffic, then offloaded layers) was searched to the
  // end rather than cut by its node budget.
  bool tie_break_exact = true;
  int64_t nodes = 0;     // search nodes (exact) or branch-and-bound nodes (CBC)
};

}  // namespace orbitflow
