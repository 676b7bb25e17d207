#include "plan/ilp/goodput_search.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <vector>

namespace orbitflow {
namespace {

constexpr double kRelTol = 1e-12;

// u_r(T) = 1 - f_r(T): the share of r's tokens that meet the SLO at step time T.
// Non-increasing in T under either miss model, which the bounds below rely on.
double Credit(const IlpRequest& r, double step_s, int window, SloMissModel model) {
  return 1.0 - std::min(1.0, SloMiss(model, r.slo_s, r.deposit, step_s, window));
}

class GoodputSearch {
 public:
  GoodputSearch(const IlpInstance& inst, const MinStepTimeSolve& solve, const GoodputSearchOptions& o)
      : inst_(inst), solve_(solve), options_(o), n_(inst.num_requests()), kept_(n_, 0), decided_(n_, 0) {
    order_.resize(n_);
    std::iota(order_.begin(), order_.end(), 0);
    std::stable_sort(order_.begin(), order_.end(), [&](int x, int y) {
      return inst.requests[x].tokens > inst.requests[y].tokens;
    });
  }

  Status Run() { return Dfs(0); }

  bool found() const { return found_; }
  const IlpSolution& best() const { return best_; }
  bool exhausted() const { return exhausted_; }
  bool all_proven() const { return all_proven_; }

 private:
  struct Item {
    double p, q;  // credit at T0, compute it adds
  };
  double UpperBound();
  // The T above which the kept set cannot beat the incumbent's goodput (sum u_r(T) / T falls in
  // T), a hair above the break-even point.
  double BreakEvenStep() const;
  Status Leaf();
  Status Dfs(int depth);

  const IlpInstance& inst_;
  const MinStepTimeSolve& solve_;
  GoodputSearchOptions options_;
  int n_;
  std::vector<int> order_;
  std::vector<uint8_t> kept_, decided_;
  IlpInstance sub_;
  std::vector<Item> items_;
  bool found_ = false, exhausted_ = false, all_proven_ = true;
  int64_t leaves_ = 0, nodes_ = 0;
  IlpSolution best_;
  int best_kept_ = 0;
};

double GoodputSearch::UpperBound() {
  const int L = inst_.num_layers;
  const int w = inst_.options.window_min;
  int64_t kept_tokens = 0, kept_blocks = 0, paused_blocks = 0;
  int kept_count = 0;
  for (int r = 0; r < n_; ++r) {
    if (!decided_[r]) continue;
    if (kept_[r]) {
      kept_tokens += inst_.requests[r].tokens;
      kept_blocks += inst_.requests[r].blocks;
      ++kept_count;
    } else {
      paused_blocks += inst_.requests[r].blocks;
    }
  }
  const double compute = inst_.decode_step.At(static_cast<double>(kept_tokens)).count();
  // Memory the kept requests may use at most; they must offload the rest (value b per layer,
  // which costs at least as many link blocks).
  const int64_t budget = inst_.device_blocks - HeadroomBlocks(inst_.options.headroom, inst_.device_blocks,
                                                               kept_count, L) - paused_blocks;
  const int64_t need = static_cast<int64_t>(L) * kept_blocks - budget;
  if (need > static_cast<int64_t>(L) * kept_blocks) return -1;  // K_F cannot fit: nothing below
  double t0 = compute;
  if (kept_count > 0 && need > 0) {
    const double c = compute / L;
    t0 += std::max(0.0, static_cast<double>(need) / inst_.link_blocks_per_s - (L - 1) * c);
  }
  double numer = 0;
  for (int r = 0; r < n_; ++r) {
    if (decided_[r] && kept_[r]) numer += Credit(inst_.requests[r], t0, w, inst_.options.miss_model);
  }
  // Undecided requests, best credit per unit of compute first.
  std::vector<Item>& items = items_;
  items.clear();
  const double a = std::max(0.0, inst_.decode_step.a);
  for (int r = 0; r < n_; ++r) {
    if (decided_[r]) continue;
    items.push_back({Credit(inst_.requests[r], t0, w, inst_.options.miss_model), a * static_cast<double>(inst_.requests[r].tokens)});
  }
  std::sort(items.begin(), items.end(), [](const Item& x, const Item& y) { return x.p * y.q > y.p * x.q; });
  auto denom = [&](double q) { return std::max(t0 + q / L, compute + q); };
  auto ratio = [&](double p, double q) { return p / denom(q); };
  const double kink = L > 1 ? (t0 - compute) / (1.0 - 1.0 / L) : 0;
  double best = ratio(numer, 0), p = numer, q = 0;
  for (const Item& it : items) {
    if (kink > q && kink < q + it.q) best = std::max(best, ratio(p + it.p * (kink - q) / it.q, kink));
    p += it.p;
    q += it.q;
    best = std::max(best, ratio(p, q));
  }
  return best;
}

double GoodputSearch::BreakEvenStep() const {
  const int w = inst_.options.window_min;
  auto goodput = [&](double t) {
    double sum = 0;
    for (int r = 0; r < n_; ++r) {
      if (kept_[r]) sum += Credit(inst_.requests[r], t, w, inst_.options.miss_model);
    }
    return sum / t;
  };
  const double target = best_.objective;
  double lo = 1e-12, hi = 1.0;
  while (goodput(hi) > target && hi < 1e12) hi *= 2;
  if (goodput(hi) > target) return std::numeric_limits<double>::infinity();
  for (int it = 0; it < 100 && hi > lo * (1 + 1e-13); ++it) {
    const double mid = 0.5 * (lo + hi);
    (goodput(mid) > target ? lo : hi) = mid;
  }
  return hi * (1 + 1e-9);
}

Status GoodputSearch::Leaf() {
  int kept_count = 0;
  for (int r = 0; r < n_; ++r) kept_count += kept_[r];
  if (kept_count == 0) return Status::Ok();
  if (++leaves_ > options_.max_leaves) {
    exhausted_ = true;
    return Status::Ok();
  }
  RestrictIlpInstance(inst_, kept_, &sub_);
  if (found_) sub_.max_step_s = std::min(sub_.max_step_s, BreakEvenStep());
  OF_ASSIGN_OR_RETURN(IlpSolution s, solve_(sub_));
  all_proven_ = all_proven_ && s.proven_optimal;
  if (s.verdict != SolveVerdict::kOptimal && s.verdict != SolveVerdict::kFeasible) return Status::Ok();
  IlpAssignment full;
  full.option.assign(n_, 0);
  full.paused.assign(n_, 1);
  for (int r = 0, i = 0; r < n_; ++r) {
    if (!kept_[r]) continue;
    full.paused[r] = 0;
    full.option[r] = s.assignment.option[i++];
  }
  OF_ASSIGN_OR_RETURN(IlpEvaluation e, Evaluate(inst_, full));
  const bool better = !found_ || e.goodput > best_.objective * (1 + kRelTol) ||
                      (e.goodput >= best_.objective * (1 - kRelTol) && kept_count > best_kept_);
  if (!better) return Status::Ok();
  found_ = true;
  best_kept_ = kept_count;
  best_.assignment = std::move(full);
  best_.has_assignment = true;
  best_.step_s = e.step_s;
  best_.objective = e.goodput;
  best_.tie_break_exact = s.tie_break_exact;
  best_.verdict = s.verdict;
  return Status::Ok();
}

Status GoodputSearch::Dfs(int depth) {
  if (exhausted_) return Status::Ok();
  if (++nodes_ > options_.max_nodes) {
    exhausted_ = true;
    return Status::Ok();
  }
  const double ub = UpperBound();
  if (ub < 0) return Status::Ok();  // the kept requests cannot fit: nothing below either
  if (found_ && ub <= best_.objective * (1 + kRelTol)) return Status::Ok();
  if (depth == n_) return Leaf();
  const int r = order_[depth];
  decided_[r] = 1;
  for (const uint8_t keep : {uint8_t{1}, uint8_t{0}}) {
    kept_[r] = keep;
    OF_RETURN_IF_ERROR(Dfs(depth + 1));
  }
  decided_[r] = 0;
  kept_[r] = 0;
  return Status::Ok();
}

}  // namespace

StatusOr<IlpSolution> SolveGoodput(const IlpInstance& instance, const MinStepTimeSolve& solve,
                                   const GoodputSearchOptions& options) {
  GoodputSearch search(instance, solve, options);
  OF_RETURN_IF_ERROR(search.Run());
  if (!search.found()) {
    // No kept set works: report the whole batch's verdict.
    OF_ASSIGN_OR_RETURN(IlpSolution all, solve(instance));
    IlpSolution out;
    out.verdict = all.verdict == SolveVerdict::kOptimal || all.verdict == SolveVerdict::kFeasible
                      ? SolveVerdict::kSloInfeasible
                      : all.verdict;
    out.proven_optimal = search.all_proven() && !search.exhausted();
    return out;
  }
  IlpSolution out = search.best();
  // Optimal only if every kept set's minimal T was proven.
  out.proven_optimal = search.all_proven() && !search.exhausted();
  if (search.exhausted()) {
    out.proven_optimal = false;
    out.verdict = SolveVerdict::kFeasible;
  }
  return out;
}

}  // namespace orbitflow
