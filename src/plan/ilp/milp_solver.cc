#include "plan/ilp/milp_solver.h"

#include <coin/CbcModel.hpp>
#include <coin/Cbc_C_Interface.h>
#include <coin/CoinError.hpp>
#include <coin/OsiClpSolverInterface.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>

#include <fmt/format.h>

#include "plan/ilp/goodput_search.h"

namespace orbitflow {

namespace {

// The model in column-compressed form, as both CBC entry points load it.
struct Model {
  int num_cols = 0, num_rows = 0;
  std::vector<CoinBigIndex> start;
  std::vector<int> index;
  std::vector<double> value, col_lb, col_ub, obj, row_lb, row_ub;
  std::vector<int> integers;
};

constexpr double kInf = std::numeric_limits<double>::infinity();

// Column layout.
struct Layout {
  int n = 0, k = 0, layers = 0;
  int flows = 1;  // flow variables per layer: n (per request) or 1 (aggregate, cumulative)
  int x(int r, int opt) const { return r * k + opt; }
  int t(int f, int j) const { return n * k + f * layers + j; }
  int s(int j) const { return n * k + flows * layers + j; }
  int T() const { return n * k + flows * layers + layers; }
  int cols() const { return T() + 1; }
};

// What a CBC run produced.
struct Outcome {
  bool proven_optimal = false;
  bool proven_infeasible = false;
  bool has_solution = false;
  double objective = 0;
  int64_t nodes = 0;
  std::vector<double> solution;
};

struct CbcDeleter {
  void operator()(Cbc_Model* m) const { Cbc_deleteModel(m); }
};

}  // namespace

MilpSolver::MilpSolver(MilpOptions options) : options_(std::move(options)) {}
MilpSolver::~MilpSolver() = default;

StatusOr<IlpSolution> MilpSolver::Solve(const IlpInstance& instance) {
  if (instance.options.objective == Objective::kGoodput) {
    MilpSolver* self = this;
    return SolveGoodput(instance, [self](const IlpInstance& kept) {
      return self->SolveMinStepTime(kept, SloInfeasibleDetail::kVerdictOnly);
    });
  }
  return SolveMinStepTime(instance);
}

StatusOr<IlpSolution> MilpSolver::SolveMinStepTime(const IlpInstance& instance) {
  return SolveMinStepTime(instance, options_.slo_infeasible);
}

StatusOr<IlpSolution> MilpSolver::SolveMinStepTime(const IlpInstance& instance, SloInfeasibleDetail detail) {
  const bool slo_row = std::isfinite(instance.max_step_s);
  OF_ASSIGN_OR_RETURN(IlpSolution s, Run(instance, nullptr, slo_row, nullptr));
  if (s.verdict != SolveVerdict::kMemoryInfeasible || !slo_row) return s;
  // Infeasible with the SLO bound: memory or the SLO? Every request at Every(0) holds no device
  // memory, so memory fails exactly when M < 0; otherwise the SLO is what broke.
  if (instance.memory_blocks < 0) return s;
  if (detail == SloInfeasibleDetail::kVerdictOnly) {
    s.verdict = SolveVerdict::kSloInfeasible;
    return s;
  }
  OF_ASSIGN_OR_RETURN(IlpSolution free_t, Run(instance, nullptr, /*slo_row=*/false, nullptr));
  if (free_t.verdict == SolveVerdict::kOptimal || free_t.verdict == SolveVerdict::kFeasible) {
    free_t.verdict = SolveVerdict::kSloInfeasible;
  }
  free_t.nodes += s.nodes;
  return free_t;
}

StatusOr<double> MilpSolver::SolveFlowLp(const IlpInstance& instance, const IlpAssignment& assignment) {
  if (static_cast<int>(assignment.option.size()) != instance.num_requests() || !assignment.paused.empty()) {
    return InvalidArgument("flow LP needs one candidate per request and no pauses");
  }
  double lp = 0;
  OF_ASSIGN_OR_RETURN(IlpSolution s, Run(instance, &assignment, /*slo_row=*/false, &lp));
  (void)s;
  return lp;
}

namespace {

// Rows of the formulation (milp_solver.h), appended as (row, col, value) triplets.
class Builder {
 public:
  Builder(const IlpInstance& inst, const Layout& lay, FlowForm form, double beta)
      : inst_(inst), lay_(lay), form_(form), beta_(beta) {}

  // `flow_only`: constraints 1-5 alone (the flow LP of a fixed assignment, which need not fit).
  void Build(bool flow_only) {
    const int n = lay_.n, kc = lay_.k, L = lay_.layers;
    const bool cumulative = form_ == FlowForm::kCumulative;
    for (int r = 0; r < n; ++r) {  // (1) one candidate per request
      const int row = NewRow(1, 1);
      for (int k = 0; k < kc; ++k) Add(row, lay_.x(r, k), 1);
    }
    for (int j = 0; j < L; ++j) {  // (2,4) flow in slot j - stall <= compute overlapped
      const int row = NewRow(-kInf, j == 0 ? 0.0 : beta_);
      for (int f = 0; f < lay_.flows; ++f) Add(row, lay_.t(f, j), 1);
      if (cumulative && j > 0) Add(row, lay_.t(0, j - 1), -1);
      Add(row, lay_.s(j), -1);
      if (cumulative && j > 0) {  // t_j = u_j - u_{j-1} >= 0
        const int mono = NewRow(0, kInf);
        Add(mono, lay_.t(0, j), 1);
        Add(mono, lay_.t(0, j - 1), -1);
      }
    }
    for (int f = 0; f < lay_.flows; ++f) {  // (3) prefix flow covers prefix demand; totals equal
      for (int j = 0; j < L; ++j) {
        const int row = NewRow(0, j == L - 1 ? 0 : kInf);
        if (cumulative) {
          Add(row, lay_.t(0, j), 1);
        } else {
          for (int i = 0; i <= j; ++i) Add(row, lay_.t(f, i), 1);
        }
        AddDemand(row, j, lay_.flows > 1 ? f : -1);
      }
    }
    {  // (5) T = L B c + sum_j s_j
      const int row = NewRow(beta_ * L, beta_ * L);
      Add(row, lay_.T(), 1);
      for (int j = 0; j < L; ++j) Add(row, lay_.s(j), -1);
    }
    if (flow_only) return;
    {  // (7) device memory
      const int row = NewRow(-kInf, static_cast<double>(inst_.memory_blocks));
      for (int r = 0; r < n; ++r) {
        for (int k = 0; k < kc; ++k) {
          const double mem = static_cast<double>(inst_.Memory(r, k));
          if (mem != 0) Add(row, lay_.x(r, k), mem);
        }
      }
    }
    if (inst_.options.uniform) {  // everyone takes request 0's candidate
      for (int r = 1; r < n; ++r) {
        for (int k = 0; k < kc; ++k) {
          const int row = NewRow(0, 0);
          Add(row, lay_.x(r, k), 1);
          Add(row, lay_.x(0, k), -1);
        }
      }
    }
  }

  // Column-compressed copy into `m`.
  void Compress(Model* m) const {
    m->num_cols = lay_.cols();
    m->num_rows = static_cast<int>(row_lb_.size());
    m->row_lb = row_lb_;
    m->row_ub = row_ub_;
    m->start.assign(m->num_cols + 1, 0);
    for (int c : cols_) ++m->start[c + 1];
    for (int c = 0; c < m->num_cols; ++c) m->start[c + 1] += m->start[c];
    m->index.resize(vals_.size());
    m->value.resize(vals_.size());
    std::vector<CoinBigIndex> fill(m->start.begin(), m->start.end() - 1);
    for (size_t e = 0; e < vals_.size(); ++e) {
      const CoinBigIndex at = fill[cols_[e]]++;
      m->index[at] = rows_[e];
      m->value[at] = vals_[e];
    }
  }

 private:
  int NewRow(double lb, double ub) {
    row_lb_.push_back(lb);
    row_ub_.push_back(ub);
    return static_cast<int>(row_lb_.size()) - 1;
  }
  void Add(int row, int col, double v) {
    rows_.push_back(row);
    cols_.push_back(col);
    vals_.push_back(v);
  }
  // - (prefix demand of layers 1..j+1) of request `only` (or of all when -1), in terms of x.
  void AddDemand(int row, int j, int only) {
    for (int r = 0; r < lay_.n; ++r) {
      if (only >= 0 && r != only) continue;
      for (int k = 0; k < lay_.k; ++k) {
        const double demand = static_cast<double>(inst_.requests[r].link_blocks) * inst_.Prefix(k, j);
        if (demand != 0) Add(row, lay_.x(r, k), -demand);
      }
    }
  }

  const IlpInstance& inst_;
  const Layout& lay_;
  FlowForm form_;
  double beta_;
  std::vector<int> rows_, cols_;
  std::vector<double> vals_, row_lb_, row_ub_;
};

Outcome RunCbcMain(const Model& m, const MilpOptions& o) {
  Outcome out;
  std::unique_ptr<Cbc_Model, CbcDeleter> model(Cbc_newModel());
  if (!model) return out;
  Cbc_loadProblem(model.get(), m.num_cols, m.num_rows, m.start.data(), m.index.data(), m.value.data(),
                  m.col_lb.data(), m.col_ub.data(), m.obj.data(), m.row_lb.data(), m.row_ub.data());
  for (int c : m.integers) Cbc_setInteger(model.get(), c);
  Cbc_setObjSense(model.get(), 1);
  Cbc_setLogLevel(model.get(), 0);
  Cbc_setParameter(model.get(), "log", "0");
  Cbc_setParameter(model.get(), "slog", "0");
  Cbc_setMaximumSeconds(model.get(), o.time_limit.count());
  Cbc_setMaximumNodes(model.get(), o.max_nodes);
  Cbc_setAllowableGap(model.get(), 1e-6);
  Cbc_setAllowableFractionGap(model.get(), 1e-11);
  for (const auto& [name, value] : o.cbc_parameters) Cbc_setParameter(model.get(), name.c_str(), value.c_str());
  Cbc_solve(model.get());
  out.nodes = Cbc_getNodeCount(model.get());
  out.proven_infeasible = Cbc_isProvenInfeasible(model.get()) != 0;
  out.proven_optimal = Cbc_isProvenOptimal(model.get()) != 0;
  out.has_solution = !out.proven_infeasible && (out.proven_optimal || Cbc_bestSolution(model.get()) != nullptr);
  if (out.has_solution) {
    const double* sol = Cbc_getColSolution(model.get());
    out.solution.assign(sol, sol + m.num_cols);
    out.objective = Cbc_getObjValue(model.get());
  }
  return out;
}

Outcome RunBranchAndBound(const Model& m, const MilpOptions& o) {
  Outcome out;
  OsiClpSolverInterface solver;
  solver.messageHandler()->setLogLevel(0);
  solver.loadProblem(m.num_cols, m.num_rows, m.start.data(), m.index.data(), m.value.data(), m.col_lb.data(),
                     m.col_ub.data(), m.obj.data(), m.row_lb.data(), m.row_ub.data());
  if (m.integers.empty()) {
    // A plain LP (the flow LP with x fixed): Clp alone.
    solver.initialSolve();
    out.proven_optimal = solver.isProvenOptimal();
    out.proven_infeasible = solver.isProvenPrimalInfeasible();
    out.has_solution = out.proven_optimal;
    if (out.has_solution) {
      out.objective = solver.getObjValue();
      out.solution.assign(solver.getColSolution(), solver.getColSolution() + m.num_cols);
    }
    return out;
  }
  for (int c : m.integers) solver.setInteger(c);
  CbcModel model(solver);
  model.setLogLevel(0);
  model.messageHandler()->setLogLevel(0);
  model.solver()->messageHandler()->setLogLevel(0);
  model.setMaximumSeconds(o.time_limit.count());
  model.setMaximumNodes(o.max_nodes);
  model.setAllowableGap(1e-6);
  model.setAllowableFractionGap(1e-11);
  model.initialSolve();
  if (model.solver()->isProvenPrimalInfeasible()) {
    out.proven_infeasible = true;
    return out;
  }
  model.branchAndBound();
  out.nodes = model.getNodeCount();
  out.proven_infeasible = model.isProvenInfeasible();
  out.proven_optimal = model.isProvenOptimal();
  const double* best = model.bestSolution();
  out.has_solution = best != nullptr && !out.proven_infeasible;
  if (out.has_solution) {
    out.solution.assign(best, best + m.num_cols);
    out.objective = model.getObjValue();
  }
  return out;
}

}  // namespace

Status MilpSolver::PreferLessOffload(const IlpInstance& inst, IlpAssignment* a, IlpEvaluation* e) {
  // CBC returns any minimal-T assignment; when the link has slack that can mean offloading far
  // more than memory needs. Step requests (largest first) back along their chain while T does
  // not grow and memory still fits: a greedy version of the exact backend's tie-break.
  if (inst.options.uniform) {  // one distance for everyone: step them together
    const IlpAssignment was = *a;
    for (int k = 0; k < (was.option.empty() ? 0 : was.option[0]); ++k) {
      std::fill(a->option.begin(), a->option.end(), k);
      OF_ASSIGN_OR_RETURN(IlpEvaluation trial, Evaluate(inst, *a));
      if (trial.memory_ok && trial.step_s <= e->step_s) {
        *e = trial;
        return Status::Ok();
      }
    }
    *a = was;
    return Status::Ok();
  }
  std::vector<int> order(inst.num_requests());
  for (int r = 0; r < inst.num_requests(); ++r) order[r] = r;
  std::stable_sort(order.begin(), order.end(),
                   [&](int x, int y) { return inst.requests[x].blocks > inst.requests[y].blocks; });
  for (bool changed = true; changed;) {
    changed = false;
    for (int r : order) {
      const int was = a->option[r];
      for (int k = 0; k < was; ++k) {
        a->option[r] = k;
        OF_ASSIGN_OR_RETURN(IlpEvaluation trial, Evaluate(inst, *a));
        if (trial.memory_ok && trial.step_s <= e->step_s) {
          *e = trial;
          changed = true;
          break;
        }
        a->option[r] = was;
      }
    }
  }
  return Status::Ok();
}

StatusOr<IlpSolution> MilpSolver::Run(const IlpInstance& inst, const IlpAssignment* fixed, bool slo_row,
                                      double* lp_objective) {
  IlpSolution out;
  const int n = inst.num_requests(), k_count = inst.num_options(), L = inst.num_layers;
  if (L <= 0 || k_count < 2) return InvalidArgument("ILP instance has no layers or candidates");
  const double beta = inst.link_blocks_per_s * inst.layer_compute_s;  // compute per layer, block-times
  const FlowForm form = options_.flow;
  Layout lay{n, k_count, L, form == FlowForm::kPerRequest ? std::max(1, n) : 1};
  Builder builder(inst, lay, form, beta);
  builder.Build(/*flow_only=*/fixed != nullptr);
  Model m;
  builder.Compress(&m);
  m.col_lb.assign(m.num_cols, 0.0);
  m.col_ub.assign(m.num_cols, kInf);
  m.obj.assign(m.num_cols, 0.0);
  m.obj[lay.T()] = 1;
  if (slo_row) m.col_ub[lay.T()] = inst.max_step_s * inst.link_blocks_per_s;
  for (int r = 0; r < n; ++r) {
    for (int k = 0; k < k_count; ++k) {
      const int col = lay.x(r, k);
      m.col_ub[col] = 1;
      if (fixed != nullptr) m.col_lb[col] = m.col_ub[col] = k == fixed->option[r] ? 1 : 0;
      if (fixed == nullptr) m.integers.push_back(col);
    }
  }
  Outcome oc;
  try {
    oc = options_.driver == MilpDriver::kCbcMain ? RunCbcMain(m, options_) : RunBranchAndBound(m, options_);
  } catch (const CoinError& e) {
    return Internal(fmt::format("CBC failed: {} in {}::{}", e.message(), e.className(), e.methodName()));
  } catch (const std::exception& e) {
    return Internal(fmt::format("CBC failed: {}", e.what()));
  }
  out.nodes = oc.nodes;
  if (fixed != nullptr) {
    if (!oc.proven_optimal) {
      return Internal(fmt::format("CBC did not solve the flow LP to optimality (infeasible: {}, {} rows, {} cols)",
                                  oc.proven_infeasible, m.num_rows, m.num_cols));
    }
    if (lp_objective != nullptr) *lp_objective = oc.objective / inst.link_blocks_per_s;
    out.verdict = SolveVerdict::kOptimal;
    return out;
  }
  if (!oc.has_solution) {
    // Proven infeasible: SolveMinStepTime tells memory from SLO. Otherwise time ran out first.
    out.verdict = oc.proven_infeasible ? SolveVerdict::kMemoryInfeasible : SolveVerdict::kUnknown;
    out.proven_optimal = oc.proven_infeasible;
    return out;
  }
  out.assignment.option.assign(n, 0);
  for (int r = 0; r < n; ++r) {
    int best = 0;
    for (int k = 1; k < k_count; ++k) {
      if (oc.solution[lay.x(r, k)] > oc.solution[lay.x(r, best)]) best = k;
    }
    out.assignment.option[r] = best;
  }
  OF_ASSIGN_OR_RETURN(IlpEvaluation e, Evaluate(inst, out.assignment));
  OF_RETURN_IF_ERROR(PreferLessOffload(inst, &out.assignment, &e));
  if (lp_objective != nullptr) *lp_objective = oc.objective / inst.link_blocks_per_s;
  out.has_assignment = true;
  out.step_s = e.step_s;
  out.objective = e.step_s;
  out.proven_optimal = oc.proven_optimal;
  if (!e.memory_ok) {
    return Internal(fmt::format("CBC's rounded assignment needs {} device blocks; the budget is {}",
                                e.device_blocks, inst.memory_blocks));
  }
  if (e.step_s > inst.max_step_s) {
    out.verdict = SolveVerdict::kSloInfeasible;
  } else {
    out.verdict = out.proven_optimal ? SolveVerdict::kOptimal : SolveVerdict::kFeasible;
  }
  return out;
}

}  // namespace orbitflow
