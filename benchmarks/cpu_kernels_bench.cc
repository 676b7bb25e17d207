// Micro-benchmarks of the CPU executor: the batched matmul at stories110m's shapes, and a whole
// decode step of a stories110m-shaped model with SYNTHETIC (deterministic random) weights.
//
//   build/benchmarks/cpu_kernels_bench --benchmark_filter=Decode
//
// Arguments are {batch, ..., threads}. Counters: tok/s is tokens produced per second (one per
// sequence per step); GB/s is weight bytes streamed per second; GFLOP/s counts 2 per multiply-add.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <memory>
#include <span>
#include <vector>

#include "exec/cpu/forward.h"
#include "exec/cpu/kernels.h"
#include "exec/cpu/test_util.h"
#include "exec/cpu/thread_pool.h"
#include "model/model_spec.h"

#if defined(ORBITFLOW_BENCH_OPENBLAS)
#include <cblas.h>
extern "C" void openblas_set_num_threads(int);
#endif

namespace orbitflow {
namespace {

using testing::Rng;

struct MatmulInputs {
  std::vector<float> x, w, y;
  MatmulInputs(int batch, int in, int out)
      : x(int64_t{batch} * in), w(int64_t{out} * in), y(int64_t{batch} * out) {
    Rng rng(1);
    testing::FillUniform(rng, x.data(), x.size(), 1.0f);
    testing::FillUniform(rng, w.data(), w.size(), 0.05f);
  }
};

void SetMatmulCounters(benchmark::State& state, int batch, int in, int out) {
  const double iters = static_cast<double>(state.iterations());
  state.counters["GFLOP/s"] = benchmark::Counter(2.0 * batch * in * out * iters / 1e9,
                                                 benchmark::Counter::kIsRate);
  state.counters["GB/s"] = benchmark::Counter(4.0 * in * out * iters / 1e9,
                                              benchmark::Counter::kIsRate);
}

// Args: {batch, in, out, threads}.
void BM_Matmul(benchmark::State& state) {
  const int batch = state.range(0), in = state.range(1), out = state.range(2);
  ThreadPool pool(state.range(3));
  MatmulInputs m(batch, in, out);
  for (auto _ : state) {
    Matmul(m.y.data(), m.x.data(), m.w.data(), batch, in, out, &pool);
    benchmark::DoNotOptimize(m.y.data());
  }
  SetMatmulCounters(state, batch, in, out);
}

// stories110m: wq/wk/wv/wo are 768x768, w1/w3 2048x768 ([out][in]), w2 768x2048.
void MatmulArgs(benchmark::internal::Benchmark* b) {
  for (int threads : {1, 2}) {
    for (int batch : {1, 2, 4, 8, 16}) {
      b->Args({batch, 768, 768, threads});
      b->Args({batch, 768, 2048, threads});
      b->Args({batch, 2048, 768, threads});
    }
  }
  b->ArgNames({"batch", "in", "out", "threads"})->UseRealTime();
}
BENCHMARK(BM_Matmul)->Apply(MatmulArgs);

#if defined(ORBITFLOW_BENCH_OPENBLAS)
// The same product with OpenBLAS: y = x W^T as sgemm (or sgemv for one row, as llama.cpp does).
void BM_MatmulOpenBlas(benchmark::State& state) {
  const int batch = state.range(0), in = state.range(1), out = state.range(2);
  openblas_set_num_threads(state.range(3));
  MatmulInputs m(batch, in, out);
  for (auto _ : state) {
    if (batch == 1) {
      cblas_sgemv(CblasRowMajor, CblasNoTrans, out, in, 1.0f, m.w.data(), in, m.x.data(), 1, 0.0f,
                  m.y.data(), 1);
    } else {
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, batch, out, in, 1.0f, m.x.data(), in,
                  m.w.data(), in, 0.0f, m.y.data(), out);
    }
    benchmark::DoNotOptimize(m.y.data());
  }
  SetMatmulCounters(state, batch, in, out);
}
BENCHMARK(BM_MatmulOpenBlas)->Apply(MatmulArgs);
#endif

// Args: {threads}. The fixed cost of one ParallelFor with an empty body.
void BM_ParallelForOverhead(benchmark::State& state) {
  ThreadPool pool(state.range(0));
  for (auto _ : state) pool.ParallelFor(64, [](int64_t, int64_t) {});
}
BENCHMARK(BM_ParallelForOverhead)->Arg(1)->Arg(2)->UseRealTime();

// The synthetic stories110m model, built once (110M floats take a moment).
const Model& Stories110m() {
  static const Model model = [] {
    ModelSpec spec = LookupModelSpec("stories110m").value();
    return testing::MakeRandomModel(spec, 110);
  }();
  return model;
}

// One decode step: `batch` sequences, each with `context` tokens already cached, each adding one
// token. The cache holds random values (attention's cost does not depend on them).
// Args: {batch, context, threads}.
void BM_DecodeStep(benchmark::State& state) {
  const int batch = state.range(0), context = state.range(1), threads = state.range(2);
  const Model& model = Stories110m();
  const ModelSpec& p = model.spec;
  ThreadPool pool(threads);
  auto run_state = RunState::Create(
      p, {.max_batch_tokens = batch, .max_logits = batch, .num_threads = threads});
  const int64_t blocks_per_seq = BlocksForTokens(context + 1);
  testing::TestKvCache kv(p, batch * blocks_per_seq * p.n_layers, /*shuffle_seed=*/3);
  std::vector<std::vector<int32_t>> tokens(batch);
  std::vector<SequenceBatchEntry> entries;
  Rng rng(4);
  for (int i = 0; i < batch; ++i) {
    kv.NewSequence();
    kv.Reserve(i, context + 1);
    for (const auto& layer : kv.Blocks(i)) {
      for (float* block : layer) testing::FillUniform(rng, block, kv.arena().block_floats(), 1.0f);
    }
    tokens[i] = {static_cast<int32_t>(rng.Below(p.vocab_size))};
    entries.push_back({.tokens = tokens[i], .start_pos = context, .layer_blocks = kv.Tables(i)});
  }
  for (auto _ : state) {
    auto out = Forward(model, entries, &*run_state, &pool);
    if (!out.ok()) {
      state.SkipWithError(out.status().ToString().c_str());
      break;
    }
    benchmark::DoNotOptimize(out->logits.data());
  }
  state.counters["tok/s"] = benchmark::Counter(static_cast<double>(batch) * state.iterations(),
                                               benchmark::Counter::kIsRate);
  state.SetLabel("synthetic stories110m");
}
BENCHMARK(BM_DecodeStep)
    ->ArgNames({"batch", "context", "threads"})
    ->ArgsProduct({{1, 16}, {128, 512}, {1, 2}})
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

// A prompt's prefill: one sequence's `prompt` tokens from position 0, in forward calls of at
// most `chunk` tokens (the executor splits prefills at max_batch_tokens, 256 by default). The
// tok/s counter is prompt tokens per second; compare its inverse with a decode row's share of a
// batch-16 step (BM_DecodeStep). Args: {prompt, chunk, threads}.
void BM_Prefill(benchmark::State& state) {
  const int prompt = state.range(0), chunk = state.range(1), threads = state.range(2);
  const Model& model = Stories110m();
  const ModelSpec& p = model.spec;
  ThreadPool pool(threads);
  auto run_state = RunState::Create(
      p, {.max_batch_tokens = chunk, .max_logits = 1, .num_threads = threads});
  testing::TestKvCache kv(p, BlocksForTokens(prompt) * p.n_layers, /*shuffle_seed=*/3);
  kv.NewSequence();
  kv.Reserve(0, prompt);
  std::vector<int32_t> tokens(prompt);
  Rng rng(5);
  for (int32_t& t : tokens) t = static_cast<int32_t>(rng.Below(p.vocab_size));
  for (auto _ : state) {
    for (int start = 0; start < prompt; start += chunk) {
      const int n = std::min(chunk, prompt - start);
      const SequenceBatchEntry entry{.tokens = std::span(tokens).subspan(start, n),
                                     .start_pos = start, .layer_blocks = kv.Tables(0),
                                     .want_logits = start + n == prompt};
      auto out = Forward(model, std::span(&entry, 1), &*run_state, &pool);
      if (!out.ok()) {
        state.SkipWithError(out.status().ToString().c_str());
        return;
      }
      benchmark::DoNotOptimize(out->logits.data());
    }
  }
  state.counters["tok/s"] = benchmark::Counter(static_cast<double>(prompt) * state.iterations(),
                                               benchmark::Counter::kIsRate);
  state.SetLabel("synthetic stories110m");
}
BENCHMARK(BM_Prefill)
    ->ArgNames({"prompt", "chunk", "threads"})
    ->ArgsProduct({{32, 512}, {256}, {1, 2}})
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace orbitflow

BENCHMARK_MAIN();
