#include "plan/ilp/exact_solver.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "plan/ilp/goodput_search.h"

namespace orbitflow {
namespace {

// Two stalls closer than this (in blocks) tie: far below the 1e-9 relative agreement the backends
// are held to, far above the rounding of the O(L) sums that produce them.
constexpr double kTieRelative = 1e-12;
constexpr double kTieAbsolute = 1e-9;
constexpr double kInf = std::numeric_limits<double>::infinity();
// Relaxed demands are sums of up to ~1e7 blocks computed in double: far below one block of error.
constexpr double kIntegerSlack = 1e-6;

// ceil(x - slack) for 0 <= x < 2^62, without a libm call.
inline double CeilBlocks(double x) {
  const double y = x - kIntegerSlack;
  const double t = static_cast<double>(static_cast<int64_t>(y));
  return t < y ? t + 1 : t;
}

}  // namespace

// The branch and bound of exact_solver.h. Every buffer is sized once per (N, L) shape and reused.
struct ExactSolver::Search {
  // --- Per layer count (cached across solves) ---
  int L = 0, K = 0;
  std::vector<int> n_int;      // n_off of each candidate
  std::vector<double> n;       // the same, as double
  std::vector<double> P;       // [k * L + j] prefix demand per unit weight
  std::vector<double> H;       // [k * L + j] lower convex hull of {(n_k, P_k(j))}_k at n_k

  // --- Per instance ---
  int N = 0;
  std::vector<int> order;      // request index at each depth, b descending
  std::vector<int64_t> b, w;   // b_r, w_r by depth
  std::vector<int64_t> pre;    // pre[t] = sum of b over depths < t
  std::vector<double> beta_j;  // beta * j: compute that overlaps layer j+1's prefix
  std::vector<double> D;       // [(depth) * L + j] prefix demand of the fixed requests
  std::vector<int64_t> R;      // memory value still needed at each depth
  std::vector<int64_t> DL;     // link traffic of the fixed requests
  std::vector<int> SN;         // offloaded layers of the fixed requests
  std::vector<int> choice;     // candidate chosen at each depth
  struct Child {
    double lb;      // stall lower bound (exact for a leaf)
    int64_t lb2;    // tie-break key lower bound (exact for a leaf)
    int k;
    bool leaf;      // the fixed requests meet memory: the rest stay on the device
  };
  std::vector<Child> children;  // [depth * K + i]
  int64_t key_scale = 1;        // key = traffic * key_scale + layers, layers < key_scale

  // --- Incumbent and counters ---
  bool have_best = false;
  double best_sigma = kInf;
  int64_t best_key = std::numeric_limits<int64_t>::max();
  std::vector<int> best_choice;  // by depth
  double cutoff = kInf;          // verdict-only: stalls above this are not wanted
  double tie_scale = 0;          // beta L, for the relative tie tolerance
  int64_t nodes = 0, tie_nodes = 0;
  int64_t tie_budget = 0, max_nodes = 0;
  bool tie_exhausted = false, node_limit_hit = false;

  void PrepareLayers(const IlpInstance& inst);
  void PrepareInstance(const IlpInstance& inst);
  double Eps() const { return kTieRelative * (tie_scale + (have_best ? best_sigma : 0)) + kTieAbsolute; }
  bool Promising(double lb, int64_t lb2) const {
    if (lb > cutoff) return false;
    if (!have_best) return true;
    const double eps = Eps();
    return lb < best_sigma - eps || (lb <= best_sigma + eps && lb2 < best_key);
  }
  void Offer(int depth, int k, double sigma, int64_t key);
  bool MakeChild(int depth, int k, Child* out) const;
  double LayersLp(int next, int64_t need) const;
  void Apply(int depth, int k);
  void Dfs(int depth);
  void SeedUniform();
  bool Better(double sigma, int64_t key) const {
    if (!have_best) return true;
    const double eps = Eps();
    return sigma < best_sigma - eps || (sigma <= best_sigma + eps && key < best_key);
  }
  mutable std::vector<double> relaxed_;  // MakeChild scratch, L
  std::vector<double> base_;             // D[depth][j] - beta j of the node being expanded
  void PrepareNode(int depth);

  // --- Best-first search with plunging ---
  // An expanded node: its requests 0..depth-1 are fixed; its prefix demand is in pool_d.
  struct Expanded {
    int parent;
    int k;  // candidate of request depth-1 (-1 at the root)
    int depth;
    int64_t need, traffic;
    int layers;
  };
  // A child not yet expanded: parent's candidate k for request parent.depth.
  struct Open {
    double lb;
    int64_t lb2;
    int parent;
    int k;
    int depth;
  };
  std::vector<Expanded> pool;
  std::vector<double> pool_d;    // [id * L + j]
  std::vector<Open> heap;
  std::vector<Child> plunge_children;
  // Prefix demands kept for expanded nodes (16 MiB); past it the search finishes depth-first.
  int64_t max_pool_doubles = int64_t{1} << 21;
  int current = -1;              // expanded node whose path fills `choice` on an offer
  void FillPath(int id);

  int NewExpanded(int parent, int k);
  void LoadSlot(int id);
  static bool HeapWorse(const Open& x, const Open& y);
  void PushOpen(const Open& o);
  // Counts a node whose bound ties the incumbent against the tie-break budget; false when spent.
  bool TieAllowed(double lb);
  // Generates `node`'s children: offers leaves, queues all but the best; returns the best's index
  // in plunge_children, or -1.
  int Expand(int node);
  void BestFirst();
};

void ExactSolver::Search::PrepareLayers(const IlpInstance& inst) {
  if (L == inst.num_layers && K == inst.num_options() && !H.empty()) return;
  L = inst.num_layers;
  K = inst.num_options();
  n_int = inst.offloaded;
  n.assign(n_int.begin(), n_int.end());
  P.resize(static_cast<size_t>(K) * L);
  H.resize(static_cast<size_t>(K) * L);
  for (int k = 0; k < K; ++k) {
    for (int j = 0; j < L; ++j) P[k * L + j] = inst.Prefix(k, j);
  }
  // Lower convex hull per layer (monotone chain over n, which strictly increases along the
  // chain), then its value at every candidate's n.
  std::vector<int> hull;
  hull.reserve(K);
  for (int j = 0; j < L; ++j) {
    hull.clear();
    for (int k = 0; k < K; ++k) {
      while (hull.size() >= 2) {
        const int a = hull[hull.size() - 2], m = hull.back();
        // Drop m if it lies on or above the segment a-k.
        const double cross = (n[m] - n[a]) * (P[k * L + j] - P[a * L + j]) - (P[m * L + j] - P[a * L + j]) * (n[k] - n[a]);
        if (cross <= 0) {
          hull.pop_back();
        } else {
          break;
        }
      }
      hull.push_back(k);
    }
    size_t seg = 0;
    for (int k = 0; k < K; ++k) {
      while (seg + 1 < hull.size() && hull[seg + 1] < k) ++seg;
      const int a = hull[seg];
      if (a == k || seg + 1 >= hull.size()) {
        H[k * L + j] = P[a * L + j];
        continue;
      }
      const int c = hull[seg + 1];
      const double t = (n[k] - n[a]) / (n[c] - n[a]);
      H[k * L + j] = P[a * L + j] + t * (P[c * L + j] - P[a * L + j]);
    }
  }
}

void ExactSolver::Search::PrepareInstance(const IlpInstance& inst) {
  N = inst.num_requests();
  order.resize(N);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int x, int y) {
    return inst.requests[x].blocks > inst.requests[y].blocks;
  });
  b.resize(N);
  w.resize(N);
  pre.resize(N + 1);
  pre[0] = 0;
  for (int t = 0; t < N; ++t) {
    b[t] = inst.requests[order[t]].blocks;
    w[t] = inst.requests[order[t]].link_blocks;
    pre[t + 1] = pre[t] + b[t];
  }
  const double beta = inst.link_blocks_per_s * inst.layer_compute_s;
  beta_j.resize(L);
  for (int j = 0; j < L; ++j) beta_j[j] = beta * j;
  tie_scale = beta * L;
  D.assign(static_cast<size_t>(N + 1) * L, 0.0);
  relaxed_.resize(L);
  base_.resize(L);
  R.assign(N + 1, 0);
  DL.assign(N + 1, 0);
  SN.assign(N + 1, 0);
  choice.assign(N, 0);
  best_choice.assign(N, 0);
  children.resize(static_cast<size_t>(N) * K);
  key_scale = static_cast<int64_t>(N) * L + 1;
  have_best = false;
  best_sigma = kInf;
  best_key = std::numeric_limits<int64_t>::max();
  nodes = tie_nodes = 0;
  tie_exhausted = node_limit_hit = false;
}

double ExactSolver::Search::LayersLp(int next, int64_t need) const {
  // Fewest fractional offloaded layers covering `need` value: the largest free requests first,
  // fully offloaded (b is sorted descending, so they are the next depths).
  const int64_t per_layer_need = (need + L - 1) / L;
  const auto it = std::lower_bound(pre.begin() + next + 1, pre.end(), pre[next] + per_layer_need);
  const int end = static_cast<int>(it - pre.begin());  // first depth count covering `need`
  const int full = end - 1 - next;
  const int64_t covered = static_cast<int64_t>(L) * (pre[end - 1] - pre[next]);
  return static_cast<double>(L) * full + static_cast<double>(need - covered) / static_cast<double>(b[end - 1]);
}

namespace {

// max(init, max_j v[j]), written so the compiler can vectorise it (a select, not std::max).
inline double MaxOf(const double* v, int count, double init) {
  double m0 = init, m1 = init, m2 = init, m3 = init;
  int j = 0;
  for (; j + 4 <= count; j += 4) {
    m0 = v[j] > m0 ? v[j] : m0;
    m1 = v[j + 1] > m1 ? v[j + 1] : m1;
    m2 = v[j + 2] > m2 ? v[j + 2] : m2;
    m3 = v[j + 3] > m3 ? v[j + 3] : m3;
  }
  for (; j < count; ++j) m0 = v[j] > m0 ? v[j] : m0;
  return std::max(std::max(m0, m1), std::max(m2, m3));
}

}  // namespace

void ExactSolver::Search::PrepareNode(int depth) {
  const double* d = &D[static_cast<size_t>(depth) * L];
  for (int j = 0; j < L; ++j) base_[j] = d[j] - beta_j[j];
}

bool ExactSolver::Search::MakeChild(int depth, int k, Child* out) const {
  // REQUIRES: PrepareNode(depth) since D[depth] last changed.
  const int64_t bq = b[depth], wq = w[depth];
  const int64_t need = R[depth] - n_int[k] * bq;
  const int next = depth + 1;
  const int64_t free_blocks = pre[N] - pre[next];
  const int64_t traffic = DL[depth] + wq * n_int[k];
  const int layers = SN[depth] + n_int[k];
  const double* base = base_.data();
  const double* pk = &P[static_cast<size_t>(k) * L];
  const double wd = static_cast<double>(wq);
  double* rel = relaxed_.data();
  if (need <= 0) {
    for (int j = 0; j < L; ++j) rel[j] = base[j] + wd * pk[j];
    *out = {MaxOf(rel, L, 0.0), traffic * key_scale + layers, k, true};
    return true;
  }
  if (need > static_cast<int64_t>(L) * free_blocks) return false;
  const double bs = static_cast<double>(free_blocks);
  const double y = static_cast<double>(need) / bs;
  int s = static_cast<int>(std::upper_bound(n.begin(), n.end(), y) - n.begin()) - 1;
  s = std::clamp(s, 0, K - 2);
  const double alpha = (y - n[s]) / (n[s + 1] - n[s]);
  const double a = bs * (1 - alpha), c = bs * alpha;
  const double* hs = &H[static_cast<size_t>(s) * L];
  const double* hs1 = &H[static_cast<size_t>(s + 1) * L];
  const double layers_lp = LayersLp(next, need);
  const auto extra_layers = static_cast<int64_t>(std::ceil(layers_lp - 1e-9));
  const int64_t lb2 = traffic * key_scale + layers + (need + extra_layers) * key_scale + extra_layers;
  // The layer-L term alone often settles it (link-bound batches): skip the O(L) pass then.
  const double last = base[L - 1] + wd * pk[L - 1] + static_cast<double>(need) + layers_lp;
  const double last_lb = CeilBlocks(last + beta_j[L - 1]) - beta_j[L - 1];
  if (!Promising(last_lb, lb2)) {
    *out = {last_lb, lb2, k, false};
    return true;
  }
  // rel[j]: relaxed demand of layers 1..j+1 minus the compute that overlaps it.
  for (int j = 0; j < L; ++j) rel[j] = base[j] + wd * pk[j] + a * hs[j] + c * hs1[j];
  rel[L - 1] = std::max(rel[L - 1], last);
  // Demands are whole blocks, so each relaxed demand rounds up. Rounding adds less than one
  // block, so only layers within one block of the unrounded maximum can set the rounded one.
  const double top = MaxOf(rel, L, -kInf);
  double m = 0;
  for (int j = 0; j < L; ++j) {
    if (rel[j] > top - 1) m = std::max(m, CeilBlocks(rel[j] + beta_j[j]) - beta_j[j]);
  }
  *out = {m, lb2, k, false};
  return true;
}

void ExactSolver::Search::Apply(int depth, int k) {
  const double wd = static_cast<double>(w[depth]);
  const double* d = &D[static_cast<size_t>(depth) * L];
  double* dn = &D[static_cast<size_t>(depth + 1) * L];
  const double* pk = &P[static_cast<size_t>(k) * L];
  for (int j = 0; j < L; ++j) dn[j] = d[j] + wd * pk[j];
  R[depth + 1] = R[depth] - n_int[k] * b[depth];
  DL[depth + 1] = DL[depth] + w[depth] * n_int[k];
  SN[depth + 1] = SN[depth] + n_int[k];
  choice[depth] = k;
}

void ExactSolver::Search::Offer(int depth, int k, double sigma, int64_t key) {
  if (sigma > cutoff || !Better(sigma, key)) return;
  if (current >= 0) FillPath(current);
  have_best = true;
  best_sigma = sigma;
  best_key = key;
  std::copy(choice.begin(), choice.begin() + depth, best_choice.begin());
  best_choice[depth] = k;
  std::fill(best_choice.begin() + depth + 1, best_choice.end(), 0);
}

void ExactSolver::Search::Dfs(int depth) {
  if (++nodes > max_nodes) {
    node_limit_hit = true;
    return;
  }
  Child* ch = &children[static_cast<size_t>(depth) * K];
  // Equal b: interchangeable requests take non-increasing candidates.
  const int k_max = depth > 0 && b[depth] == b[depth - 1] ? choice[depth - 1] : K - 1;
  PrepareNode(depth);
  int count = 0;
  for (int k = 0; k <= k_max; ++k) {
    Child c;
    if (!MakeChild(depth, k, &c) || !Promising(c.lb, c.lb2)) continue;
    if (c.leaf) {
      Offer(depth, k, c.lb, c.lb2);
      continue;
    }
    ch[count++] = c;
  }
  std::sort(ch, ch + count, [](const Child& x, const Child& y) {
    return x.lb < y.lb || (x.lb == y.lb && x.lb2 < y.lb2);
  });
  for (int i = 0; i < count; ++i) {
    const Child& c = ch[i];
    // The incumbent may have improved meanwhile.
    if (!Promising(c.lb, c.lb2) || !TieAllowed(c.lb)) continue;
    Apply(depth, c.k);
    Dfs(depth + 1);
    if (node_limit_hit) return;
  }
}

void ExactSolver::Search::FillPath(int id) {
  for (int e = id; pool[e].parent >= 0; e = pool[e].parent) choice[pool[e].depth - 1] = pool[e].k;
}

int ExactSolver::Search::NewExpanded(int parent, int k) {
  const Expanded& p = pool[parent];
  const int t = p.depth;
  const int id = static_cast<int>(pool.size());
  pool.push_back({parent, k, t + 1, p.need - n_int[k] * b[t], p.traffic + w[t] * n_int[k], p.layers + n_int[k]});
  pool_d.resize(pool_d.size() + L);
  const double* d = &pool_d[static_cast<size_t>(parent) * L];
  double* dn = &pool_d[static_cast<size_t>(id) * L];
  const double* pk = &P[static_cast<size_t>(k) * L];
  const double wd = static_cast<double>(w[t]);
  for (int j = 0; j < L; ++j) dn[j] = d[j] + wd * pk[j];
  return id;
}

void ExactSolver::Search::LoadSlot(int id) {
  // MakeChild and Dfs read a node's state from the slot of its depth.
  const Expanded& e = pool[id];
  std::copy_n(&pool_d[static_cast<size_t>(id) * L], L, &D[static_cast<size_t>(e.depth) * L]);
  R[e.depth] = e.need;
  DL[e.depth] = e.traffic;
  SN[e.depth] = e.layers;
  if (e.depth > 0) choice[e.depth - 1] = e.k;
}

bool ExactSolver::Search::HeapWorse(const Open& x, const Open& y) {
  // Lowest bound first; then lowest tie-break bound; then deepest (closest to a leaf).
  return x.lb > y.lb || (x.lb == y.lb && (x.lb2 > y.lb2 || (x.lb2 == y.lb2 && x.depth < y.depth)));
}

void ExactSolver::Search::PushOpen(const Open& o) {
  heap.push_back(o);
  std::push_heap(heap.begin(), heap.end(), HeapWorse);
}

bool ExactSolver::Search::TieAllowed(double lb) {
  if (!have_best || lb < best_sigma - Eps()) return true;
  // Only the tie-break can improve below here.
  if (tie_nodes >= tie_budget) {
    tie_exhausted = true;
    return false;
  }
  ++tie_nodes;
  return true;
}

int ExactSolver::Search::Expand(int node) {
  const int t = pool[node].depth;
  LoadSlot(node);
  PrepareNode(t);
  current = node;
  // Equal b: interchangeable requests take non-increasing candidates.
  const int k_max = t > 0 && b[t] == b[t - 1] ? pool[node].k : K - 1;
  plunge_children.clear();
  for (int k = 0; k <= k_max; ++k) {
    Child c;
    if (!MakeChild(t, k, &c) || !Promising(c.lb, c.lb2)) continue;
    if (c.leaf) {
      Offer(t, k, c.lb, c.lb2);
      continue;
    }
    plunge_children.push_back(c);
  }
  current = -1;
  int best = -1;
  for (int i = 0; i < static_cast<int>(plunge_children.size()); ++i) {
    const Child& c = plunge_children[i];
    if (!Promising(c.lb, c.lb2)) continue;  // an offer above may have raised the bar
    if (best < 0 || c.lb < plunge_children[best].lb ||
        (c.lb == plunge_children[best].lb && c.lb2 < plunge_children[best].lb2)) {
      best = i;
    }
  }
  for (int i = 0; i < static_cast<int>(plunge_children.size()); ++i) {
    const Child& c = plunge_children[i];
    if (i != best && Promising(c.lb, c.lb2)) PushOpen({c.lb, c.lb2, node, c.k, t + 1});
  }
  return best;
}

void ExactSolver::Search::BestFirst() {
  // Pops the open node with the lowest bound and plunges from it along best children, so
  // incumbents come early; stops storing nodes when the pool is full and finishes depth-first.
  pool.clear();
  pool_d.assign(L, 0.0);
  heap.clear();
  pool.push_back({-1, -1, 0, R[0], 0, 0});
  int node = 0;
  while (node >= 0) {
    // Plunge.
    while (node >= 0) {
      if (++nodes > max_nodes) {
        node_limit_hit = true;
        return;
      }
      const int best = Expand(node);
      if (best < 0) break;
      const Child c = plunge_children[best];
      if (!TieAllowed(c.lb)) break;
      if (static_cast<int64_t>(pool_d.size()) + L > max_pool_doubles) {
        PushOpen({c.lb, c.lb2, node, c.k, pool[node].depth + 1});
        break;
      }
      node = NewExpanded(node, c.k);
    }
    // Next open node.
    node = -1;
    while (!heap.empty() && node < 0) {
      std::pop_heap(heap.begin(), heap.end(), HeapWorse);
      const Open o = heap.back();
      heap.pop_back();
      if (!Promising(o.lb, o.lb2) || !TieAllowed(o.lb)) continue;
      if (static_cast<int64_t>(pool_d.size()) + L <= max_pool_doubles) {
        node = NewExpanded(o.parent, o.k);
        continue;
      }
      // Pool full: finish this subtree depth-first from the slot arrays.
      LoadSlot(o.parent);
      FillPath(o.parent);
      Apply(o.depth - 1, o.k);
      Dfs(o.depth);
      if (node_limit_hit) return;
    }
  }
}

void ExactSolver::Search::SeedUniform() {
  // One candidate for everyone: memory holds iff n_k sum b >= R.
  const int64_t b_sum = pre[N];
  int64_t w_sum = 0;
  for (int t = 0; t < N; ++t) w_sum += w[t];
  for (int k = 0; k < K; ++k) {
    if (static_cast<int64_t>(n_int[k]) * b_sum < R[0]) continue;
    double m = 0;
    const double* pk = &P[static_cast<size_t>(k) * L];
    for (int j = 0; j < L; ++j) m = std::max(m, static_cast<double>(w_sum) * pk[j] - beta_j[j]);
    const int64_t key = w_sum * n_int[k] * key_scale + static_cast<int64_t>(N) * n_int[k];
    if (m > cutoff || !Better(m, key)) continue;
    {
      have_best = true;
      best_sigma = m;
      best_key = key;
      std::fill(best_choice.begin(), best_choice.end(), k);
    }
  }
}

ExactSolver::ExactSolver(ExactSolverOptions options)
    : options_(options), search_(std::make_unique<Search>()) {}
ExactSolver::~ExactSolver() = default;
ExactSolver::ExactSolver(ExactSolver&&) noexcept = default;
ExactSolver& ExactSolver::operator=(ExactSolver&&) noexcept = default;

StatusOr<IlpSolution> ExactSolver::Solve(const IlpInstance& instance) {
  if (instance.options.objective == Objective::kGoodput) {
    ExactSolver* self = this;
    // Each kept set only matters below the T at which it would beat the best so far, which the
    // goodput search sets as T_max: the verdict-only search stops there.
    return SolveGoodput(instance, [self](const IlpInstance& kept) {
      return self->SolveMinStepTime(kept, SloInfeasibleDetail::kVerdictOnly);
    });
  }
  return SolveMinStepTime(instance);
}

StatusOr<IlpSolution> ExactSolver::SolveMinStepTime(const IlpInstance& instance) {
  return SolveMinStepTime(instance, options_.slo_infeasible);
}

StatusOr<IlpSolution> ExactSolver::SolveMinStepTime(const IlpInstance& instance, SloInfeasibleDetail detail) {
  IlpSolution out;
  const int n_req = instance.num_requests();
  if (instance.num_layers <= 0 || instance.num_options() < 2) {
    return InvalidArgument("ILP instance has no layers or candidates");
  }
  if (instance.memory_blocks < 0) {
    out.verdict = SolveVerdict::kMemoryInfeasible;
    out.proven_optimal = true;
    return out;
  }
  Search& s = *search_;
  s.PrepareLayers(instance);
  s.PrepareInstance(instance);
  s.tie_budget = options_.tie_break_node_budget;
  s.max_nodes = options_.max_nodes;
  const bool verdict_only = detail == SloInfeasibleDetail::kVerdictOnly;
  s.cutoff = kInf;
  if (verdict_only && std::isfinite(instance.max_step_s)) {
    // Stalls beyond T_max are not wanted; a hair of slack so the final check decides ties.
    const double stall_max = (instance.max_step_s - instance.num_layers * instance.layer_compute_s) *
                             instance.link_blocks_per_s;
    s.cutoff = stall_max + kTieRelative * (std::abs(stall_max) + s.tie_scale) + kTieAbsolute;
    if (s.cutoff < 0) s.cutoff = -1;  // even no stall misses the SLO
  }
  s.R[0] = static_cast<int64_t>(instance.num_layers) * s.pre[n_req] - instance.memory_blocks;
  if (s.R[0] <= 0) {
    // Everything fits on the device: no offload, no stall, no traffic.
    if (s.cutoff >= 0) {
      s.have_best = true;
      s.best_sigma = 0;
      std::fill(s.best_choice.begin(), s.best_choice.end(), 0);
    }
  } else {
    s.SeedUniform();
    if (!instance.options.uniform && n_req > 0) s.BestFirst();
  }
  out.nodes = s.nodes;
  out.tie_break_exact = !s.tie_exhausted;
  if (!s.have_best) {
    // R <= L sum b holds (M >= 0), so Every(0) for all meets memory: only the SLO cutoff or the
    // node limit can leave no incumbent.
    out.verdict = s.node_limit_hit ? SolveVerdict::kUnknown : SolveVerdict::kSloInfeasible;
    out.proven_optimal = !s.node_limit_hit;
    return out;
  }
  out.assignment.option.assign(n_req, 0);
  out.assignment.paused.clear();
  for (int t = 0; t < n_req; ++t) out.assignment.option[s.order[t]] = s.best_choice[t];
  OF_ASSIGN_OR_RETURN(IlpEvaluation e, Evaluate(instance, out.assignment));
  out.has_assignment = true;
  out.step_s = e.step_s;
  out.objective = e.step_s;
  out.proven_optimal = !s.node_limit_hit;
  if (!e.memory_ok) return Internal("exact ILP solver produced an assignment over the memory budget");
  if (e.step_s > instance.max_step_s) {
    out.verdict = SolveVerdict::kSloInfeasible;
    if (verdict_only) {
      out.has_assignment = false;
      out.assignment.option.clear();
    }
  } else {
    out.verdict = s.node_limit_hit ? SolveVerdict::kFeasible : SolveVerdict::kOptimal;
  }
  return out;
}

}  // namespace orbitflow
