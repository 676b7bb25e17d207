#include "cli/profile_command.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "cli/cpu_rig.h"
#include "cost/cost_profile.h"
#include "exec/cpu/copy_engine.h"
#include "kv/kv_cache_manager.h"

namespace orbitflow {
namespace {

struct ProfileFlags {
  CpuRigFlags rig;
  std::string out = "profile.json";
  int max_batch = 4;
  int max_prefill = 64;
  int reps = 2;
};

double Now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// Least squares of y on the given basis functions of x (normal equations, Gaussian elimination).
std::vector<double> Fit(const std::vector<double>& x, const std::vector<double>& y, int terms) {
  std::vector<std::vector<double>> m(terms, std::vector<double>(terms + 1, 0.0));
  for (size_t i = 0; i < x.size(); ++i) {
    std::vector<double> phi(terms);
    for (int k = 0; k < terms; ++k) phi[k] = k == 0 ? 1.0 : phi[k - 1] * x[i];
    for (int r = 0; r < terms; ++r) {
      for (int c = 0; c < terms; ++c) m[r][c] += phi[r] * phi[c];
      m[r][terms] += phi[r] * y[i];
    }
  }
  for (int c = 0; c < terms; ++c) {
    for (int r = c + 1; r < terms; ++r) {
      const double f = m[r][c] / m[c][c];
      for (int k = c; k <= terms; ++k) m[r][k] -= f * m[c][k];
    }
  }
  std::vector<double> coef(terms);
  for (int r = terms - 1; r >= 0; --r) {
    double s = m[r][terms];
    for (int k = r + 1; k < terms; ++k) s -= m[r][k] * coef[k];
    coef[r] = s / m[r][r];
  }
  return coef;
}

// Best of `reps` timings of one step of `batch` requests: prefills of `n` tokens when prefill,
// else decodes at context `ctx` (all on the device; KV contents do not change the timing).
StatusOr<double> TimeStep(CpuExecutor* exec, int L, int64_t blocks, bool prefill, int batch,
                          int ctx, int reps) {
  double best = 1e30;
  for (int rep = 0; rep < reps; ++rep) {
    KvCacheManager kv({.num_layers = L, .device_blocks = blocks, .host_blocks = blocks});
    StepPlan plan;
    std::vector<int32_t> ids(ctx, 5);
    ids[0] = 1;
    for (int b = 0; b < batch; ++b) {
      const RequestId id(b);
      OF_RETURN_IF_ERROR(kv.AddRequest(id, LayerMask(L, true)));
      OF_RETURN_IF_ERROR(kv.Grow(id, prefill ? ctx : ctx + 1));
      if (prefill) {
        plan.prefills.push_back({id, 0, ctx, true, ids});
      } else {
        plan.decodes.push_back({id, ctx, 5, Distance::AllDevice()});
      }
    }
    const double start = Now();
    OF_RETURN_IF_ERROR(exec->Execute(plan, kv).status());
    best = std::min(best, Now() - start);
  }
  return best;
}

// Host -> device copy bandwidth through the copy engine, at the emulated link rate if set.
double MeasureLink(double link_gbps) {
  CopyEngine engine(CopyEngineOptions{.link_gbps = link_gbps});
  const int64_t floats = int64_t{16} << 20;  // 64 MB
  std::vector<float> src(floats, 1.0f), dst(floats, 0.0f);
  std::vector<CopySpan> spans;
  for (int64_t off = 0; off < floats; off += 1 << 16) spans.push_back({&src[off], &dst[off], 1 << 16});
  double best = 1e30;
  for (int rep = 0; rep < 3; ++rep) {
    engine.Begin(1);
    engine.AddJob(CopyKind::kMove, 0, 0, spans);
    const double start = Now();
    engine.Start();
    engine.Finish();
    best = std::min(best, Now() - start);
  }
  return static_cast<double>(floats * sizeof(float)) / best;
}

Status RunProfile(const ProfileFlags& f) {
  OF_ASSIGN_OR_RETURN(std::unique_ptr<CpuRig> rig, LoadCpuRig(f.rig));
  const ModelSpec& spec = rig->model.spec;
  const int L = spec.n_layers;
  const std::vector<int> contexts = {64, 256};
  const int64_t per_layer = f.max_batch * (BlocksForTokens(std::max(256, f.max_prefill)) + 2);
  CpuExecutorOptions eo{.num_threads = f.rig.threads, .device_blocks = per_layer * L,
                        .host_blocks = per_layer * L,
                        .max_batch_tokens = std::max(f.max_prefill, f.max_batch), .max_batch = f.max_batch};
  OF_ASSIGN_OR_RETURN(std::unique_ptr<CpuExecutor> exec, CpuExecutor::Create(&rig->model, eo));
  std::vector<double> dx, dy, px, py;
  for (int batch = 1; batch <= f.max_batch; batch *= 2) {
    for (int ctx : contexts) {
      OF_ASSIGN_OR_RETURN(double t, TimeStep(exec.get(), L, per_layer * L, false, batch, ctx, f.reps));
      dx.push_back(batch * (ctx + 1.0));
      dy.push_back(t);
      std::fprintf(stderr, "decode batch %d context %d: %.3f ms\n", batch, ctx, t * 1e3);
    }
  }
  for (int n = std::max(1, f.max_prefill / 8); n <= f.max_prefill; n *= 2) {
    OF_ASSIGN_OR_RETURN(double t, TimeStep(exec.get(), L, per_layer * L, true, 1, n, f.reps));
    px.push_back(n);
    py.push_back(t);
    std::fprintf(stderr, "prefill %d tokens: %.3f ms\n", n, t * 1e3);
  }
  const double link = MeasureLink(f.rig.link_gbps);
  const std::vector<double> d = Fit(dx, dy, 2);
  const std::vector<double> p = px.size() >= 3 ? Fit(px, py, 3) : Fit(px, py, 2);
  CostProfile out;
  out.model = spec.name;
  out.gpu = "cpu";
  out.decode_step = {.a = d[1], .b = d[0]};
  out.prefill = {.c0 = p[0], .c1 = p.size() > 1 ? p[1] : 0.0, .c2 = p.size() > 2 ? p[2] : 0.0};
  out.link_bytes_per_s = link;
  // Every layer's K and V of one token, fp32, over the measured link.
  out.transfer_step = {.a = static_cast<double>(L) * spec.kv_dim() * 2 * sizeof(float) / link, .b = 0};
  out.source = "measured by orbitflow profile (CPU executor)";
  OF_RETURN_IF_ERROR(SaveCostProfile(out, f.out));
  std::fprintf(stderr, "decode_step %.3g s/token + %.3g s; prefill %.3g n^2 + %.3g n + %.3g s; "
               "link %.2f GB/s; wrote %s\n", d[1], d[0], out.prefill.c2, out.prefill.c1,
               out.prefill.c0, link / 1e9, f.out.c_str());
  return Status::Ok();
}

}  // namespace

Command AddProfileCommand(CLI::App& app) {
  auto flags = std::make_shared<ProfileFlags>();
  CLI::App* cmd = app.add_subcommand("profile", "Measure this machine's decode, prefill and link "
                                                "fits for a model (cost profile JSON for simulate --profile)");
  cmd->add_option("--model", flags->rig.model, "model (default: bundled stories260K)");
  cmd->add_option("--out", flags->out, "output JSON file")->capture_default_str();
  cmd->add_option("--threads", flags->rig.threads, "compute threads (0: all cores)")->capture_default_str();
  cmd->add_option("--link-gbps", flags->rig.link_gbps, "emulated link to measure (0: memcpy)")
      ->check(CLI::NonNegativeNumber)->capture_default_str();
  cmd->add_option("--max-batch", flags->max_batch, "largest decode batch measured (powers of two up to it)")
      ->check(CLI::PositiveNumber)->capture_default_str();
  cmd->add_option("--max-prefill", flags->max_prefill, "longest prefill measured (tokens)")
      ->check(CLI::Range(8, 4096))->capture_default_str();
  cmd->add_option("--reps", flags->reps, "repetitions per point (the best is kept)")
      ->check(CLI::PositiveNumber)->capture_default_str();
  return {cmd, [flags] { return RunProfile(*flags); }};
}

}  // namespace orbitflow
