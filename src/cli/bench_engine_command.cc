#include "cli/bench_engine_command.h"

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "cli/cpu_rig.h"
#include "metrics/percentile.h"

namespace orbitflow {
namespace {

struct BenchFlags {
  CpuRigFlags rig;
  int batch_size = 1;
  int input_len = 32;
  int output_len = 128;
  bool json = false;
};

struct BenchFigures {
  int64_t decode_tokens = 0;
  double decode_seconds = 0;
  double total_seconds = 0;
  double stall_seconds = 0;
  std::vector<double> step_ms;  // decode-only steps
};

// Prompt `i`: BOS then deterministic pseudo-random ids, so runs are comparable.
std::vector<int32_t> BenchPrompt(int i, int len, int vocab) {
  std::vector<int32_t> ids = {1};
  uint64_t x = 0x9E3779B97F4A7C15ull * (i + 1);
  for (int t = 1; t < len; ++t) {
    x ^= x << 13; x ^= x >> 7; x ^= x << 17;
    ids.push_back(static_cast<int32_t>(3 + x % static_cast<uint64_t>(vocab - 3)));
  }
  return ids;
}

StatusOr<BenchFigures> RunBench(const BenchFlags& f) {
  OF_ASSIGN_OR_RETURN(std::unique_ptr<CpuRig> rig, LoadCpuRig(f.rig));
  const int64_t context = int64_t{f.input_len} + f.output_len;
  OF_RETURN_IF_ERROR(BuildCpuEngine(f.rig, f.batch_size, context, rig.get()));
  for (int i = 0; i < f.batch_size; ++i) {
    std::vector<int32_t> p = BenchPrompt(i, f.input_len, rig->model.spec.vocab_size);
    OF_RETURN_IF_ERROR(rig->engine->Submit({.prompt_tokens = f.input_len, .max_output_tokens = f.output_len,
                                            .prompt = std::move(p)}, rig->clock.Now()).status());
  }
  const Seconds start = rig->clock.Now();
  while (rig->engine->HasActive()) OF_RETURN_IF_ERROR(rig->engine->Step().status());
  BenchFigures out;
  out.total_seconds = (rig->clock.Now() - start).count();
  for (const StepRecord& s : rig->engine->steps()) {
    if (s.decode_batch == 0 || s.prefill_tokens > 0) continue;
    out.decode_tokens += s.decode_batch;
    out.decode_seconds += s.duration.count();
    out.stall_seconds += s.stall.count();
    out.step_ms.push_back(s.duration.count() * 1e3);
  }
  for (const RequestRecord& r : rig->engine->TakeFinished()) {
    if (r.reason == FinishReason::kFailed) return Internal("bench request failed: " + r.failure_message);
  }
  if (out.step_ms.empty()) return Internal("no decode-only steps ran; raise --output-len");
  return out;
}

Status PrintBench(const BenchFlags& f, const char* kind) {
  OF_ASSIGN_OR_RETURN(BenchFigures b, RunBench(f));
  const double tps = b.decode_tokens / b.decode_seconds;
  const double p50 = Percentile(b.step_ms, 50), p99 = Percentile(b.step_ms, 99);
  std::fprintf(stderr, "bench %s: batch %d, input %d, output %d, policy %s: %.1f tokens/s decode, "
               "step p50 %.3f ms p99 %.3f ms, stall %.3f s, wall %.3f s\n", kind, f.batch_size,
               f.input_len, f.output_len, f.rig.policy.c_str(), tps, p50, p99, b.stall_seconds,
               b.total_seconds);
  if (f.json) {
    std::printf("{\"bench\":\"%s\",\"batch_size\":%d,\"input_len\":%d,\"output_len\":%d,"
                "\"tokens_per_s\":%.3f,\"ms_per_step_p50\":%.4f,\"ms_per_step_p99\":%.4f,"
                "\"stall_s\":%.6f,\"wall_s\":%.4f}\n", kind, f.batch_size, f.input_len,
                f.output_len, tps, p50, p99, b.stall_seconds, b.total_seconds);
  }
  return Status::Ok();
}

Command AddBench(CLI::App& bench, const char* name, const char* help, int default_batch) {
  auto flags = std::make_shared<BenchFlags>();
  flags->batch_size = default_batch;
  flags->rig.tbt_slo_ms = 1000;
  CLI::App* cmd = bench.add_subcommand(name, help);
  AddCpuRigFlags(cmd, &flags->rig);
  cmd->add_option("--batch-size", flags->batch_size, "concurrent streams")
      ->check(CLI::PositiveNumber)->capture_default_str();
  cmd->add_option("--input-len", flags->input_len, "prompt tokens per stream")
      ->check(CLI::PositiveNumber)->capture_default_str();
  cmd->add_option("--output-len", flags->output_len, "generated tokens per stream")
      ->check(CLI::Range(2, 1 << 20))->capture_default_str();
  cmd->add_option("--tbt-slo-ms", flags->rig.tbt_slo_ms,
                  "per-token SLO the policy plans for; the default is loose enough that a CPU run "
                  "measures the executor, not SLO-driven pauses")
      ->check(CLI::PositiveNumber)->capture_default_str();
  cmd->add_flag("--json", flags->json, "print one JSON object (tokens_per_s, ms_per_step_p50, "
                                       "ms_per_step_p99) as the last line of stdout");
  return {cmd, [flags, name] { return PrintBench(*flags, name); }};
}

}  // namespace

Command AddBenchLatencyCommand(CLI::App& bench) {
  return AddBench(bench, "latency", "Single-stream decode latency of the CPU executor "
                                    "(tokens/s and per-step time over decode-only steps)", 1);
}

Command AddBenchThroughputCommand(CLI::App& bench) {
  return AddBench(bench, "throughput", "Batched decode throughput of the CPU executor "
                                       "(--batch-size streams at once)", 16);
}

}  // namespace orbitflow
