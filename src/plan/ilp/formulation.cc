#include "plan/ilp/formulation.h"

#include <algorithm>
#include <cmath>
#include <string>

#include <fmt/format.h>

namespace orbitflow {

const char* ObjectiveName(Objective objective) {
  switch (objective) {
    case Objective::kMinStepTime: return "min-step-time";
    case Objective::kGoodput: return "goodput";
  }
  return "unknown";
}

StatusOr<Objective> ParseObjective(std::string_view name) {
  if (name == "min-step-time" || name == "min_step_time" || name == "step") return Objective::kMinStepTime;
  if (name == "goodput") return Objective::kGoodput;
  return InvalidArgument(fmt::format("unknown ILP objective '{}'; use min-step-time or goodput", name));
}

const char* SolveVerdictName(SolveVerdict verdict) {
  switch (verdict) {
    case SolveVerdict::kOptimal: return "optimal";
    case SolveVerdict::kFeasible: return "feasible";
    case SolveVerdict::kSloInfeasible: return "slo-infeasible";
    case SolveVerdict::kMemoryInfeasible: return "memory-infeasible";
    case SolveVerdict::kUnknown: return "unknown";
  }
  return "unknown";
}

Status ValidateIlpOptions(const IlpOptions& o) {
  if (!(o.slo_budget_f >= 0) || !std::isfinite(o.slo_budget_f)) {
    return InvalidArgument(fmt::format("ILP SLO budget F must be a finite number >= 0, got {}", o.slo_budget_f));
  }
  if (o.window_min < 1 || o.window_max < o.window_min) {
    return InvalidArgument(fmt::format("ILP window must satisfy 1 <= W_min <= W_max, got [{}, {}]",
                                       o.window_min, o.window_max));
  }
  if (!(o.headroom.fraction >= 0 && o.headroom.fraction < 1)) {
    return InvalidArgument(fmt::format("headroom fraction must be in [0, 1), got {}", o.headroom.fraction));
  }
  if (o.headroom.min_blocks < 0) {
    return InvalidArgument(fmt::format("headroom min_blocks must be >= 0, got {}", o.headroom.min_blocks));
  }
  return Status::Ok();
}

int64_t HeadroomBlocks(const HeadroomOptions& options, int64_t device_blocks, int num_requests,
                       int num_layers) {
  const auto by_fraction =
      static_cast<int64_t>(std::ceil(options.fraction * static_cast<double>(std::max<int64_t>(0, device_blocks))));
  return std::max({by_fraction, options.min_blocks, static_cast<int64_t>(num_requests) * num_layers});
}

const char* SloMissModelName(SloMissModel model) {
  switch (model) {
    case SloMissModel::kRate: return "rate";
    case SloMissModel::kDeposit: return "deposit";
  }
  return "unknown";
}

StatusOr<SloMissModel> ParseSloMissModel(std::string_view name) {
  if (name == "rate") return SloMissModel::kRate;
  if (name == "deposit") return SloMissModel::kDeposit;
  return InvalidArgument(fmt::format("unknown SLO miss model '{}'; use rate or deposit", name));
}

double SloMiss(SloMissModel model, double slo_s, double deposit, double step_s, int window) {
  if (model == SloMissModel::kRate) return std::max(0.0, 1.0 - slo_s / step_s - deposit / window);
  if (step_s <= slo_s) return 0.0;
  return std::max(0.0, 1.0 - deposit * slo_s / (window * (step_s - slo_s)));
}

namespace {

// The rate model: request r counts once T > tau_r = S_r / (1 - delta_r / W); past the
// breakpoints of the active set A, g(T) = sum_A (1 - delta_r / W) - (sum_A S_r) / T.
double RateStepLimit(std::span<const IlpRequest> requests, double budget_f, int window) {
  struct Point {
    double tau;
    double level;  // 1 - delta_r / W
    double slo;
  };
  // Small batches: a stack buffer keeps this allocation-free for the common case.
  constexpr size_t kInline = 128;
  Point inline_points[kInline];
  std::vector<Point> heap_points;
  Point* points = inline_points;
  if (requests.size() > kInline) {
    heap_points.resize(requests.size());
    points = heap_points.data();
  }
  size_t count = 0;
  for (const IlpRequest& r : requests) {
    const double level = 1.0 - r.deposit / window;
    if (level <= 0) continue;  // the deposit covers the whole window: never counts
    points[count++] = {r.slo_s / level, level, r.slo_s};
  }
  std::sort(points, points + count, [](const Point& a, const Point& b) { return a.tau < b.tau; });
  double level_sum = 0, slo_sum = 0;
  for (size_t i = 0; i < count; ++i) {
    level_sum += points[i].level;
    slo_sum += points[i].slo;
    const double next_tau = i + 1 < count ? points[i + 1].tau : std::numeric_limits<double>::infinity();
    // On (tau_i, next_tau] g rises from its value at tau_i towards level_sum.
    if (level_sum <= budget_f) continue;
    const double t = slo_sum / (level_sum - budget_f);  // g(t) == F
    if (t <= next_tau) return std::max(t, points[i].tau);
  }
  return std::numeric_limits<double>::infinity();
}

// The deposit model: request r counts once T > tau_r = S_r + delta_r S_r / W; with no deposit it
// jumps straight to 1 there. Between breakpoints g is continuous and increasing, so T_max is
// either a breakpoint (a jump crosses F) or the root of g = F inside one segment, by bisection.
double DepositStepLimit(std::span<const IlpRequest> requests, double budget_f, int window) {
  if (static_cast<double>(requests.size()) <= budget_f) return std::numeric_limits<double>::infinity();
  auto g = [&](double t) { return SloMissShare(requests, t, window, SloMissModel::kDeposit); };
  auto root = [&](double lo, double hi) {  // g(lo) <= F < g(hi)
    for (int it = 0; it < 200 && hi - lo > 1e-15 * hi; ++it) {
      const double mid = 0.5 * (lo + hi);
      (g(mid) <= budget_f ? lo : hi) = mid;
    }
    return lo;
  };
  constexpr size_t kInline = 128;
  double inline_taus[kInline];
  std::vector<double> heap_taus;
  double* taus = inline_taus;
  if (requests.size() > kInline) {
    heap_taus.resize(requests.size());
    taus = heap_taus.data();
  }
  for (size_t i = 0; i < requests.size(); ++i) {
    taus[i] = requests[i].slo_s * (1.0 + requests[i].deposit / window);
  }
  std::sort(taus, taus + requests.size());
  double prev = 0;
  for (size_t i = 0; i < requests.size(); ++i) {
    const double tau = taus[i];
    if (i > 0 && tau == taus[i - 1]) continue;
    const double at = g(tau);
    if (at > budget_f) return root(prev, tau);
    // Requests without a deposit jump from 0 to 1 just past their tau = S_r.
    double right = at;
    for (const IlpRequest& r : requests) right += r.deposit <= 0 && r.slo_s == tau ? 1.0 : 0.0;
    if (right > budget_f) return tau;
    prev = tau;
  }
  double hi = 2 * prev + 1e-3;
  while (g(hi) <= budget_f) hi *= 2;  // g tends to n > F
  return root(prev, hi);
}

}  // namespace

double SloStepLimit(std::span<const IlpRequest> requests, double budget_f, int window, SloMissModel model) {
  return model == SloMissModel::kRate ? RateStepLimit(requests, budget_f, window)
                                      : DepositStepLimit(requests, budget_f, window);
}

double SloMissShare(std::span<const IlpRequest> requests, double step_s, int window, SloMissModel model) {
  double sum = 0;
  for (const IlpRequest& r : requests) sum += SloMiss(model, r.slo_s, r.deposit, step_s, window);
  return sum;
}

int ChooseWindow(const IlpInstance& instance, double step_s) {
  const IlpOptions& o = instance.options;
  if (o.window_rule == WindowRule::kMinimum) return o.window_min;
  // sum f_r grows with W (the credit delta_r / W shrinks): binary search the last W in budget.
  auto fits = [&](int w) { return SloMissShare(instance.requests, step_s, w, o.miss_model) <= o.slo_budget_f; };
  if (!fits(o.window_min)) return o.window_min;
  int lo = o.window_min, hi = o.window_max;
  while (lo < hi) {
    const int mid = lo + (hi - lo + 1) / 2;
    if (fits(mid)) {
      lo = mid;
    } else {
      hi = mid - 1;
    }
  }
  return lo;
}

namespace {

void FillCandidates(int num_layers, IlpInstance* out) {
  if (out->num_layers == num_layers && !out->distances.empty()) return;
  out->num_layers = num_layers;
  out->distances = CandidateDistances(num_layers);
  const int k_count = static_cast<int>(out->distances.size());
  out->offloaded.resize(k_count);
  out->prefix.assign(static_cast<size_t>(k_count) * num_layers, 0);
  for (int k = 0; k < k_count; ++k) {
    const Distance d = out->distances[k];
    out->offloaded[k] = d.NumOffloaded(num_layers);
    int count = 0;
    for (int j = 0; j < num_layers; ++j) {
      if (d.OnHost(j)) ++count;
      out->prefix[static_cast<size_t>(k) * num_layers + j] = count;
    }
  }
}

double LayerCompute(const LinearFit& fit, int64_t tokens, int num_layers) {
  // Same arithmetic as CostModel::LayerCompute, so Evaluate matches the cost model bit for bit.
  return (fit.At(static_cast<double>(tokens)) / num_layers).count();
}

}  // namespace

Status BuildIlpInstance(const PlanInput& input, const IlpOptions& options, IlpInstance* out) {
  OF_RETURN_IF_ERROR(ValidateIlpOptions(options));
  if (input.cost == nullptr) return InvalidArgument("PlanInput.cost is null: the ILP needs a cost model");
  const int num_layers = input.cost->num_layers();
  if (num_layers <= 0) return InvalidArgument(fmt::format("model has {} layers", num_layers));
  FillCandidates(num_layers, out);
  out->options = options;
  out->requests.clear();
  out->batch_tokens = 0;
  for (const PlanCandidate& c : input.requests) {
    if (c.context_tokens < 0) {
      return InvalidArgument(fmt::format("request {} has negative context ({} tokens)", c.id.value(), c.context_tokens));
    }
    if (!(c.slo.count() > 0)) {
      return InvalidArgument(fmt::format("request {} has a non-positive SLO ({} s); every decode request needs "
                                         "a per-token SLO",
                                         c.id.value(), c.slo.count()));
    }
    IlpRequest r;
    r.id = c.id;
    // Sized for the last step of the window (reserve_window_growth), the plan holds for all of
    // it. Link traffic uses the same size, which keeps link_blocks = blocks + 1, a relation
    // the exact backend's bounds rely on.
    const int64_t growth =
        options.reserve_window_growth ? std::clamp<int64_t>(c.remaining_tokens - 1, 0, options.window_min - 1) : 0;
    r.blocks = BlocksForTokens(c.context_tokens + growth);
    r.link_blocks = CostModel::LinkBlocks(r.blocks);
    r.tokens = c.context_tokens;
    r.slo_s = c.slo.count();
    r.deposit = options.use_deposit ? std::max(0.0, c.deposit_tokens) : 0.0;
    out->requests.push_back(r);
    out->batch_tokens += c.context_tokens;
  }
  out->decode_step = input.cost->profile().decode_step;
  out->layer_compute_s = LayerCompute(out->decode_step, out->batch_tokens, num_layers);
  out->link_blocks_per_s = input.cost->LinkBlocksPerSecond();
  out->device_blocks = input.device_blocks;
  out->headroom_blocks = HeadroomBlocks(options.headroom, input.device_blocks, out->num_requests(), num_layers);
  out->memory_blocks = input.device_blocks - out->headroom_blocks;
  out->max_step_s = SloStepLimit(out->requests, options.slo_budget_f, options.window_min, options.miss_model);
  return Status::Ok();
}

StatusOr<IlpInstance> BuildIlpInstance(const PlanInput& input, const IlpOptions& options) {
  IlpInstance instance;
  OF_RETURN_IF_ERROR(BuildIlpInstance(input, options, &instance));
  return instance;
}

void RestrictIlpInstance(const IlpInstance& full, std::span<const uint8_t> kept, IlpInstance* out) {
  assert(kept.size() == full.requests.size());
  if (out != &full) {
    out->num_layers = full.num_layers;
    out->distances = full.distances;
    out->offloaded = full.offloaded;
    out->prefix = full.prefix;
    out->decode_step = full.decode_step;
    out->link_blocks_per_s = full.link_blocks_per_s;
    out->device_blocks = full.device_blocks;
    out->options = full.options;
  }
  out->requests.clear();
  out->batch_tokens = 0;
  int64_t paused_blocks = 0;
  for (size_t r = 0; r < full.requests.size(); ++r) {
    if (kept[r]) {
      out->requests.push_back(full.requests[r]);
      out->batch_tokens += full.requests[r].tokens;
    } else {
      paused_blocks += full.requests[r].blocks;  // the first layer stays on the device
    }
  }
  out->layer_compute_s = LayerCompute(out->decode_step, out->batch_tokens, out->num_layers);
  out->headroom_blocks =
      HeadroomBlocks(out->options.headroom, out->device_blocks, out->num_requests(), out->num_layers);
  out->memory_blocks = out->device_blocks - out->headroom_blocks - paused_blocks;
  out->max_step_s =
      SloStepLimit(out->requests, out->options.slo_budget_f, out->options.window_min, out->options.miss_model);
}

StatusOr<IlpEvaluation> Evaluate(const IlpInstance& instance, const IlpAssignment& a) {
  const int n = instance.num_requests();
  const int num_layers = instance.num_layers;
  if (static_cast<int>(a.option.size()) != n || (!a.paused.empty() && static_cast<int>(a.paused.size()) != n)) {
    return InvalidArgument(fmt::format("assignment has {} options and {} pause flags for {} requests",
                                       a.option.size(), a.paused.size(), n));
  }
  IlpEvaluation e;
  int64_t kept_tokens = 0, paused_blocks = 0;
  for (int r = 0; r < n; ++r) {
    const IlpRequest& req = instance.requests[r];
    if (a.is_paused(r)) {
      paused_blocks += req.blocks;
      continue;
    }
    const int k = a.option[r];
    if (k < 0 || k >= instance.num_options()) {
      return InvalidArgument(fmt::format("request {} has candidate index {} (of {})", r, k, instance.num_options()));
    }
    ++e.kept;
    kept_tokens += req.tokens;
    e.device_blocks += instance.Memory(r, k);
    e.link_blocks += static_cast<int64_t>(instance.offloaded[k]) * req.link_blocks;
    e.offloaded_layers += instance.offloaded[k];
  }
  e.device_blocks += paused_blocks;
  e.layer_compute_s = e.kept == n
                          ? instance.layer_compute_s
                          : LayerCompute(instance.decode_step, kept_tokens, num_layers);
  // Prefix flow, exactly as CostModel::StepTimePrefixFlow accumulates it.
  const double c = e.layer_compute_s;
  const double link = instance.link_blocks_per_s;
  double cumulative = 0, stall = 0;
  for (int j = 0; j < num_layers; ++j) {
    int64_t blocks = 0;
    for (int r = 0; r < n; ++r) {
      if (a.is_paused(r)) continue;
      const int k = a.option[r];
      const int here = instance.Prefix(k, j) - (j > 0 ? instance.Prefix(k, j - 1) : 0);
      blocks += here * instance.requests[r].link_blocks;
    }
    cumulative += static_cast<double>(blocks);
    stall = std::max(stall, cumulative / link - j * c);
  }
  e.step_s = num_layers * c + stall;
  e.stall_s = stall;
  // The SLO share and T_max of the kept requests.
  double miss = 0, credit = 0;
  const int w = instance.options.window_min;
  std::vector<IlpRequest> kept_requests;
  kept_requests.reserve(e.kept);
  for (int r = 0; r < n; ++r) {
    if (a.is_paused(r)) continue;
    kept_requests.push_back(instance.requests[r]);
    const IlpRequest& req = instance.requests[r];
    const double f = SloMiss(instance.options.miss_model, req.slo_s, req.deposit, e.step_s, w);
    miss += f;
    credit += 1.0 - f;
  }
  e.slo_miss_share = miss;
  e.max_step_s = SloStepLimit(kept_requests, instance.options.slo_budget_f, w, instance.options.miss_model);
  e.goodput = e.step_s > 0 ? credit / e.step_s : 0;
  // The instance's M already leaves out its own headroom and any requests paused before it was
  // built (RestrictIlpInstance); only the headroom changes with the kept count.
  const int64_t headroom = HeadroomBlocks(instance.options.headroom, instance.device_blocks, e.kept, num_layers);
  e.memory_ok = e.device_blocks <= instance.memory_blocks + instance.headroom_blocks - headroom;
  e.slo_ok = e.step_s <= e.max_step_s;
  return e;
}

}  // namespace orbitflow
