// The batched paged forward pass against llama2.c's one-token forward (transcribed naively, with
// a contiguous KV cache), and the reproducibility properties the executor relies on.
#include "exec/cpu/forward.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>
#include <vector>

#include <gtest/gtest.h>

#include "exec/cpu/kernels.h"
#include "exec/cpu/test_util.h"

namespace orbitflow {
namespace {

using testing::MakeRandomModel;
using testing::Rng;
using testing::TestKvCache;
using testing::TinySpec;

// llama2.c's forward(), one token at a time, naive loops, contiguous cache [layer][pos][kv_dim].
class NaiveTransformer {
 public:
  explicit NaiveTransformer(const Model& m)
      : m_(m), p_(m.spec),
        key_cache_(int64_t{p_.n_layers} * p_.max_seq_len * p_.kv_dim()),
        value_cache_(key_cache_.size()) {}

  std::vector<float> Forward(int token, int pos) {
    const TransformerWeights& w = m_.weights;
    const int dim = p_.dim, kv_dim = p_.kv_dim(), hs = p_.head_dim(), hidden = p_.hidden_dim;
    const int kv_mul = p_.n_heads / p_.n_kv_heads;
    std::vector<float> x(w.token_embedding + int64_t{token} * dim,
                         w.token_embedding + int64_t{token + 1} * dim);
    std::vector<float> xb(dim), xb2(dim), q(dim), hb(hidden), hb2(hidden), att(pos + 1);
    for (int l = 0; l < p_.n_layers; ++l) {
      RmsNormNaive(xb.data(), x.data(), w.rms_att + l * dim, dim);
      const int64_t loff = int64_t{l} * p_.max_seq_len * kv_dim;
      float* k = &key_cache_[loff + int64_t{pos} * kv_dim];
      float* v = &value_cache_[loff + int64_t{pos} * kv_dim];
      MatmulNaive(q.data(), xb.data(), w.wq + int64_t{l} * dim * dim, dim, dim);
      MatmulNaive(k, xb.data(), w.wk + int64_t{l} * dim * kv_dim, dim, kv_dim);
      MatmulNaive(v, xb.data(), w.wv + int64_t{l} * dim * kv_dim, dim, kv_dim);
      for (int i = 0; i < dim; i += 2) {
        const int head_dim = i % hs;
        const float freq = 1.0f / std::pow(p_.rope_theta, head_dim / float(hs));
        const float val = pos * freq, fcr = std::cos(val), fci = std::sin(val);
        for (int rot = 0; rot < (i < kv_dim ? 2 : 1); ++rot) {
          float* vec = rot == 0 ? q.data() : k;
          const float v0 = vec[i], v1 = vec[i + 1];
          vec[i] = v0 * fcr - v1 * fci;
          vec[i + 1] = v0 * fci + v1 * fcr;
        }
      }
      for (int h = 0; h < p_.n_heads; ++h) {
        const float* qh = &q[h * hs];
        for (int t = 0; t <= pos; ++t) {
          const float* kt = &key_cache_[loff + int64_t{t} * kv_dim + (h / kv_mul) * hs];
          float score = 0.0f;
          for (int i = 0; i < hs; ++i) score += qh[i] * kt[i];
          att[t] = score / std::sqrt(float(hs));
        }
        SoftmaxNaive(att.data(), pos + 1);
        float* out = &xb[h * hs];
        std::fill(out, out + hs, 0.0f);
        for (int t = 0; t <= pos; ++t) {
          const float* vt = &value_cache_[loff + int64_t{t} * kv_dim + (h / kv_mul) * hs];
          for (int i = 0; i < hs; ++i) out[i] += att[t] * vt[i];
        }
      }
      MatmulNaive(xb2.data(), xb.data(), w.wo + int64_t{l} * dim * dim, dim, dim);
      for (int i = 0; i < dim; ++i) x[i] += xb2[i];
      RmsNormNaive(xb.data(), x.data(), w.rms_ffn + l * dim, dim);
      MatmulNaive(hb.data(), xb.data(), w.w1 + int64_t{l} * dim * hidden, dim, hidden);
      MatmulNaive(hb2.data(), xb.data(), w.w3 + int64_t{l} * dim * hidden, dim, hidden);
      for (int i = 0; i < hidden; ++i) {
        hb[i] = hb[i] * (1.0f / (1.0f + std::exp(-hb[i]))) * hb2[i];
      }
      MatmulNaive(xb.data(), hb.data(), w.w2 + int64_t{l} * dim * hidden, hidden, dim);
      for (int i = 0; i < dim; ++i) x[i] += xb[i];
    }
    RmsNormNaive(x.data(), x.data(), w.rms_final, dim);
    std::vector<float> logits(p_.vocab_size);
    MatmulNaive(logits.data(), x.data(), w.wcls, dim, p_.vocab_size);
    return logits;
  }

 private:
  void RmsNormNaive(float* o, const float* x, const float* weight, int n) {
    float ss = 0.0f;
    for (int j = 0; j < n; ++j) ss += x[j] * x[j];
    ss = 1.0f / std::sqrt(ss / n + p_.norm_eps);
    for (int j = 0; j < n; ++j) o[j] = weight[j] * (ss * x[j]);
  }
  static void MatmulNaive(float* xout, const float* x, const float* w, int n, int d) {
    for (int i = 0; i < d; ++i) {
      float val = 0.0f;
      for (int j = 0; j < n; ++j) val += w[int64_t{i} * n + j] * x[j];
      xout[i] = val;
    }
  }
  static void SoftmaxNaive(float* x, int n) {
    float mx = x[0], sum = 0.0f;
    for (int i = 1; i < n; ++i) mx = std::max(mx, x[i]);
    for (int i = 0; i < n; ++i) sum += x[i] = std::exp(x[i] - mx);
    for (int i = 0; i < n; ++i) x[i] /= sum;
  }

  const Model& m_;
  const ModelSpec& p_;
  std::vector<float> key_cache_, value_cache_;
};

// Runs the forward pass on sequences of a TestKvCache.
class Runner {
 public:
  Runner(const Model& model, int threads, uint64_t shuffle_seed, int max_tokens = 128)
      : model_(model), pool_(threads), kv_(model.spec, 4096, shuffle_seed),
        state_(std::move(RunState::Create(model.spec, {.max_batch_tokens = max_tokens,
                                                       .max_logits = 16,
                                                       .num_threads = threads})
                             .value())) {}

  int NewSequence() {
    const int s = kv_.NewSequence();
    pos_.push_back(0);
    return s;
  }

  struct Work {
    int seq;
    std::vector<int32_t> tokens;
    bool want_logits = true;
  };

  // One forward call over `work`; returns each wanting entry's logits, in order.
  std::vector<std::vector<float>> Step(const std::vector<Work>& work, LayerGate* gate = nullptr) {
    std::vector<SequenceBatchEntry> batch;
    for (const Work& w : work) {
      EXPECT_TRUE(kv_.Reserve(w.seq, pos_[w.seq] + static_cast<int>(w.tokens.size())));
      batch.push_back({.tokens = w.tokens, .start_pos = pos_[w.seq],
                       .layer_blocks = kv_.Tables(w.seq), .want_logits = w.want_logits});
    }
    auto out = Forward(model_, batch, &state_, &pool_, gate);
    EXPECT_TRUE(out.ok()) << out.status().ToString();
    std::vector<std::vector<float>> logits;
    if (!out.ok()) return logits;
    for (const Work& w : work) pos_[w.seq] += static_cast<int>(w.tokens.size());
    for (int i = 0; i < out->n_logits; ++i) {
      logits.emplace_back(out->row(i).begin(), out->row(i).end());
    }
    last_ = *out;
    return logits;
  }

  // One sequence's tokens; its logits (empty if the call failed, which is already reported).
  std::vector<float> Run(int seq, std::vector<int32_t> tokens) {
    auto logits = Step({{seq, std::move(tokens)}});
    return logits.empty() ? std::vector<float>{} : logits[0];
  }
  std::vector<float> Decode(int seq, int32_t token) { return Run(seq, {token}); }

  const ForwardOutput& last() const { return last_; }

 private:
  const Model& model_;
  ThreadPool pool_;
  TestKvCache kv_;
  RunState state_;
  std::vector<int> pos_;
  ForwardOutput last_;
};

std::vector<int32_t> RandomTokens(Rng& rng, int n, int vocab) {
  std::vector<int32_t> t(n);
  for (int32_t& x : t) x = static_cast<int32_t>(rng.Below(vocab));
  return t;
}

bool BitEqual(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), sizeof(float) * a.size()) == 0;
}

double MaxAbsDiff(const std::vector<float>& a, const std::vector<float>& b) {
  double d = 0;
  for (size_t i = 0; i < a.size(); ++i) d = std::max(d, std::abs(double(a[i]) - b[i]));
  return d;
}

ModelSpec SeparateClassifierSpec() {
  ModelSpec s = TinySpec();
  s.name = "tiny-test-mha-untied";
  s.shared_classifier = false;
  s.n_kv_heads = 6;  // plain multi-head attention
  s.rope_theta = 500000.0f;
  return s;
}

// Semantics: logits equal llama2.c's forward to within float rounding, token by token, for
// grouped-query attention with a tied classifier and multi-head attention with a separate one.
TEST(ForwardTest, MatchesNaiveLlama2cForward) {
  for (const ModelSpec& spec : {TinySpec(), SeparateClassifierSpec()}) {
    SCOPED_TRACE(spec.name);
    const Model model = MakeRandomModel(spec, 21);
    NaiveTransformer naive(model);
    Runner runner(model, 2, /*shuffle_seed=*/5);
    const int seq = runner.NewSequence();
    Rng rng(22);
    const auto tokens = RandomTokens(rng, 40, spec.vocab_size);
    for (int pos = 0; pos < 40; ++pos) {
      const auto want = naive.Forward(tokens[pos], pos);
      const auto got = runner.Decode(seq, tokens[pos]);
      ASSERT_LT(MaxAbsDiff(got, want), 1e-4) << spec.name << " pos " << pos;
    }
  }
}

// Greedy continuation of one sequence, decoded alone: logits after each of `steps` tokens.
struct SoloRun {
  std::vector<std::vector<float>> logits;  // [prompt end, then each decode step]
};

SoloRun RunAlone(const Model& model, const std::vector<int32_t>& prompt, int steps) {
  Runner runner(model, 1, /*shuffle_seed=*/0);
  const int seq = runner.NewSequence();
  SoloRun run;
  run.logits.push_back(runner.Run(seq, prompt));
  for (int i = 0; i < steps && !run.logits.back().empty(); ++i) {
    const int32_t next = Argmax(run.logits.back().data(), model.spec.vocab_size);
    run.logits.push_back(runner.Decode(seq, next));
  }
  return run;
}

// A request's logits do not depend on the batch it decodes in: N sequences decoded together, in
// a different order every step, on more threads and scattered blocks, give bit-identical logits
// (hence greedy tokens) to each sequence decoded alone.
TEST(ForwardTest, BatchedDecodeIsBitIdenticalToDecodingAlone) {
  const Model model = MakeRandomModel(TinySpec(), 31);
  const int vocab = model.spec.vocab_size, steps = 12;
  Rng rng(32);
  std::vector<std::vector<int32_t>> prompts;
  std::vector<SoloRun> solo;
  for (int len : {1, 5, 16, 17, 30, 33}) {
    prompts.push_back(RandomTokens(rng, len, vocab));
    solo.push_back(RunAlone(model, prompts.back(), steps));
    ASSERT_EQ(static_cast<int>(solo.back().logits.size()), steps + 1);
  }
  const int n = static_cast<int>(prompts.size());

  Runner batched(model, 3, /*shuffle_seed=*/77);
  std::vector<Runner::Work> prefill;
  for (int i = 0; i < n; ++i) prefill.push_back({batched.NewSequence(), prompts[i]});
  std::vector<std::vector<float>> last = batched.Step(prefill);  // all prompts in one call
  ASSERT_EQ(static_cast<int>(last.size()), n);
  for (int i = 0; i < n; ++i) ASSERT_TRUE(BitEqual(last[i], solo[i].logits[0])) << "prefill " << i;

  for (int step = 1; step <= steps; ++step) {
    std::vector<int> order(n);
    std::iota(order.begin(), order.end(), 0);
    for (int i = n - 1; i > 0; --i) std::swap(order[i], order[rng.Below(i + 1)]);
    std::vector<Runner::Work> work;
    for (int i : order) work.push_back({i, {Argmax(last[i].data(), vocab)}});
    const auto logits = batched.Step(work);
    ASSERT_EQ(static_cast<int>(logits.size()), n);
    for (int k = 0; k < n; ++k) {
      const int i = order[k];
      last[i] = logits[k];
      ASSERT_TRUE(BitEqual(last[i], solo[i].logits[step]))
          << "sequence " << i << " step " << step << " max diff "
          << MaxAbsDiff(last[i], solo[i].logits[step]);
    }
  }
}

// Continuous batching: requests arrive at different steps and their prompts are prefilled in
// chunks of up to 8 tokens inside the same calls as other requests' decodes. Every request's
// logits still equal running it alone (whole-prompt prefill, then decode) bit for bit.
TEST(ForwardTest, MixedPrefillChunksAndDecodesMatchRunningAlone) {
  const Model model = MakeRandomModel(TinySpec(), 41);
  const int vocab = model.spec.vocab_size, steps = 10, chunk = 8;
  Rng rng(42);
  struct Request {
    std::vector<int32_t> prompt;
    int arrival = 0;
    SoloRun solo;
    int seq = -1, prefilled = 0, decoded = 0;
    std::vector<float> last;
  };
  std::vector<Request> reqs;
  for (auto [len, arrival] : {std::pair{20, 0}, {3, 0}, {9, 2}, {40, 3}, {1, 5}}) {
    Request r;
    r.prompt = RandomTokens(rng, len, vocab);
    r.arrival = arrival;
    r.solo = RunAlone(model, r.prompt, steps);
    ASSERT_EQ(static_cast<int>(r.solo.logits.size()), steps + 1);
    reqs.push_back(std::move(r));
  }
  Runner runner(model, 2, /*shuffle_seed=*/9);
  for (int step = 0; step < 40; ++step) {
    std::vector<Runner::Work> work;
    std::vector<int> who;
    for (int i = 0; i < static_cast<int>(reqs.size()); ++i) {
      Request& r = reqs[i];
      if (step < r.arrival || r.decoded == steps) continue;
      if (r.seq < 0) r.seq = runner.NewSequence();
      const int len = static_cast<int>(r.prompt.size());
      if (r.prefilled < len) {
        const int end = std::min(len, r.prefilled + chunk);
        work.push_back({r.seq, {r.prompt.begin() + r.prefilled, r.prompt.begin() + end},
                        /*want_logits=*/end == len});
        r.prefilled = end;
        if (end == len) who.push_back(i);
      } else {
        work.push_back({r.seq, {Argmax(r.last.data(), vocab)}});
        ++r.decoded;
        who.push_back(i);
      }
    }
    if (work.empty()) break;
    const auto logits = runner.Step(work);
    ASSERT_EQ(logits.size(), who.size());
    for (size_t k = 0; k < who.size(); ++k) {
      Request& r = reqs[who[k]];
      r.last = logits[k];
      ASSERT_TRUE(BitEqual(r.last, r.solo.logits[r.decoded]))
          << "request " << who[k] << " after " << r.decoded << " decodes";
    }
  }
  for (const Request& r : reqs) EXPECT_EQ(r.decoded, steps);
}

// Chunked prefill gives the logits of token-by-token decoding. They are bit-exact, not merely
// within 1e-5: a row's arithmetic is the same whether its neighbours in the call are the rest
// of its chunk or nothing, and attention visits the same keys in the same order.
TEST(ForwardTest, ChunkedPrefillMatchesTokenByTokenDecode) {
  const Model model = MakeRandomModel(TinySpec(), 51);
  Rng rng(52);
  const int len = 40;
  const auto prompt = RandomTokens(rng, len, model.spec.vocab_size);

  Runner one_by_one(model, 2, /*shuffle_seed=*/3);
  const int ref_seq = one_by_one.NewSequence();
  std::vector<std::vector<float>> ref;  // logits after each prompt position
  for (int32_t t : prompt) ref.push_back(one_by_one.Decode(ref_seq, t));

  for (int chunk : {1, 7, len}) {
    Runner chunked(model, 2, /*shuffle_seed=*/100 + chunk);
    const int seq = chunked.NewSequence();
    for (int begin = 0; begin < len; begin += chunk) {
      const int end = std::min(len, begin + chunk);
      const auto logits = chunked.Step({{seq, {prompt.begin() + begin, prompt.begin() + end}}});
      ASSERT_EQ(logits.size(), 1u);
      EXPECT_LT(MaxAbsDiff(logits[0], ref[end - 1]), 1e-5) << "chunk " << chunk << " end " << end;
      EXPECT_TRUE(BitEqual(logits[0], ref[end - 1])) << "chunk " << chunk << " end " << end;
    }
    // And the caches they left behind are equivalent: the next decode agrees too.
    const int32_t next = Argmax(ref.back().data(), model.spec.vocab_size);
    EXPECT_TRUE(BitEqual(chunked.Decode(seq, next), RunAlone(model, prompt, 1).logits[1]));
  }
}

std::vector<int32_t> Greedy(const Model& model, int threads, const std::vector<int32_t>& prompt,
                            int steps, std::vector<float>* final_logits) {
  Runner runner(model, threads, /*shuffle_seed=*/threads);
  const int seq = runner.NewSequence();
  std::vector<float> logits = runner.Run(seq, prompt);
  std::vector<int32_t> tokens;
  for (int i = 0; i < steps && !logits.empty(); ++i) {
    tokens.push_back(Argmax(logits.data(), model.spec.vocab_size));
    logits = runner.Decode(seq, tokens.back());
  }
  *final_logits = logits;
  return tokens;
}

TEST(ForwardTest, GreedyTokensAreStableAcrossThreadCounts) {
  const Model model = MakeRandomModel(TinySpec(), 61);
  const std::vector<int32_t> prompt = {1, 17, 42, 5, 88, 13, 2};
  std::vector<float> want_logits;
  const auto want = Greedy(model, 1, prompt, 50, &want_logits);
  for (int threads : {2, 3, 4, 7}) {
    std::vector<float> logits;
    EXPECT_EQ(Greedy(model, threads, prompt, 50, &logits), want) << threads << " threads";
    EXPECT_TRUE(BitEqual(logits, want_logits)) << threads << " threads";
  }
}

// Records the gate calls; checks the pass never touches a layer outside Wait..Done.
class RecordingGate : public LayerGate {
 public:
  void WaitForLayer(int layer) override { calls.push_back(2 * layer); }
  void LayerDone(int layer) override { calls.push_back(2 * layer + 1); }
  std::vector<int> calls;  // 2l = wait for l, 2l+1 = done with l
};

TEST(ForwardTest, GateIsCalledOncePerLayerInOrderAndTimesAreRecorded) {
  const Model model = MakeRandomModel(TinySpec(), 71);
  Runner runner(model, 2, 1);
  const int a = runner.NewSequence(), b = runner.NewSequence();
  RecordingGate gate;
  runner.Step({{a, {1, 2, 3}}, {b, {4}}}, &gate);
  std::vector<int> want(2 * model.spec.n_layers);
  std::iota(want.begin(), want.end(), 0);
  EXPECT_EQ(gate.calls, want);

  const ForwardOutput& out = runner.last();
  ASSERT_EQ(static_cast<int>(out.layer_compute.size()), model.spec.n_layers);
  ASSERT_EQ(static_cast<int>(out.layer_wait.size()), model.spec.n_layers);
  Seconds sum{0};
  for (int l = 0; l < model.spec.n_layers; ++l) {
    EXPECT_GT(out.layer_compute[l].count(), 0.0);
    EXPECT_GE(out.layer_wait[l].count(), 0.0);
    sum += out.layer_compute[l] + out.layer_wait[l];
  }
  EXPECT_LE(sum.count(), out.total.count());
}

// The executor's offload path, emulated: odd layers live on the "host"; their tables point at
// one shared one-layer-wide prefetch region that holds garbage until WaitForLayer copies the
// layer's host blocks in, and is poisoned again after LayerDone mirrors the new K/V back. The
// tokens and logits must equal the all-device run exactly.
class PrefetchGate : public LayerGate {
 public:
  explicit PrefetchGate(int64_t block_floats) : block_floats_(block_floats) {}
  static bool Offloaded(int layer) { return layer % 2 == 1; }
  // host[s][l]: sequence s's blocks of layer l; region[s]: its blocks in the prefetch region.
  std::vector<std::vector<std::vector<float*>>>* host = nullptr;
  std::vector<std::vector<float*>>* region = nullptr;
  int waits_on_offloaded = 0;

  void WaitForLayer(int layer) override {
    if (!Offloaded(layer)) return;
    ++waits_on_offloaded;
    ForEachBlock(layer, [&](float* host_block, float* region_block) {
      std::memcpy(region_block, host_block, sizeof(float) * block_floats_);
    });
  }
  void LayerDone(int layer) override {
    if (!Offloaded(layer)) return;
    ForEachBlock(layer, [&](float* host_block, float* region_block) {
      std::memcpy(host_block, region_block, sizeof(float) * block_floats_);  // write-through
      std::fill(region_block, region_block + block_floats_, std::nanf(""));   // region reused
    });
  }

 private:
  template <typename F>
  void ForEachBlock(int layer, F f) {
    for (size_t s = 0; s < region->size(); ++s) {
      for (size_t b = 0; b < (*region)[s].size(); ++b) f((*host)[s][layer][b], (*region)[s][b]);
    }
  }
  int64_t block_floats_;
};

TEST(ForwardTest, OffloadedLayersThroughAPrefetchRegionGiveIdenticalTokens) {
  const Model model = MakeRandomModel(TinySpec(), 81);
  const ModelSpec& p = model.spec;
  const std::vector<std::vector<int32_t>> prompts = {
      {5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21}, {3, 1, 4}};
  const int steps = 20;
  std::vector<SoloRun> device;
  for (const auto& prompt : prompts) device.push_back(RunAlone(model, prompt, steps));

  ThreadPool pool(2);
  auto state = RunState::Create(p, {.max_batch_tokens = 64, .max_logits = 4, .num_threads = 2});
  ASSERT_TRUE(state.ok());
  TestKvCache host(p, 512, /*shuffle_seed=*/8), prefetch(p, 512, /*shuffle_seed=*/9);
  const int n = static_cast<int>(prompts.size());
  std::vector<std::vector<std::vector<float*>>> host_blocks(n);
  std::vector<std::vector<float*>> region_blocks(n);
  PrefetchGate gate(host.arena().block_floats());
  gate.host = &host_blocks;
  gate.region = &region_blocks;
  std::vector<int> pos(n, 0);
  std::vector<std::vector<int32_t>> next = prompts;
  for (int i = 0; i < n; ++i) {
    EXPECT_EQ(host.NewSequence(), i);
    EXPECT_EQ(prefetch.NewSequence(), i);
  }
  for (int step = 0; step <= steps; ++step) {
    std::vector<std::vector<KvBlockTable>> tables(n);
    std::vector<SequenceBatchEntry> batch;
    for (int i = 0; i < n; ++i) {
      const int end = pos[i] + static_cast<int>(next[i].size());
      ASSERT_TRUE(host.Reserve(i, end) && prefetch.Reserve(i, end));
      host_blocks[i] = host.Blocks(i);
      region_blocks[i] = prefetch.Blocks(i)[0];  // the region: one layer's worth per sequence
      for (int l = 0; l < p.n_layers; ++l) {
        tables[i].push_back(PrefetchGate::Offloaded(l) ? KvBlockTable(region_blocks[i])
                                                       : host.Tables(i)[l]);
      }
      batch.push_back({.tokens = next[i], .start_pos = pos[i], .layer_blocks = tables[i]});
    }
    auto out = Forward(model, batch, &*state, &pool, &gate);
    ASSERT_TRUE(out.ok()) << out.status().ToString();
    for (int i = 0; i < n; ++i) {
      const std::vector<float> logits(out->row(i).begin(), out->row(i).end());
      ASSERT_TRUE(BitEqual(logits, device[i].logits[step])) << "sequence " << i << " step " << step;
      pos[i] += static_cast<int>(next[i].size());
      next[i] = {Argmax(logits.data(), p.vocab_size)};
    }
  }
  EXPECT_EQ(gate.waits_on_offloaded, (steps + 1) * (p.n_layers / 2));
}

TEST(ForwardTest, RejectsMalformedBatchesBeforeWritingAnything) {
  const Model model = MakeRandomModel(TinySpec(), 91);
  const ModelSpec& p = model.spec;
  ThreadPool pool(2);
  auto state = RunState::Create(p, {.max_batch_tokens = 8, .max_logits = 2, .num_threads = 2});
  ASSERT_TRUE(state.ok());
  TestKvCache kv(p, 64, 0);
  const int seq = kv.NewSequence();
  ASSERT_TRUE(kv.Reserve(seq, 16));
  for (const auto& layer : kv.Blocks(seq)) {
    for (float* block : layer) std::fill(block, block + kv.arena().block_floats(), std::nanf(""));
  }
  const std::vector<int32_t> ok_tokens = {1, 2}, bad_token = {1, p.vocab_size}, nine(9, 1);
  const std::vector<float*> no_blocks;
  const std::vector<KvBlockTable> short_tables(p.n_layers, KvBlockTable(no_blocks));
  std::vector<float*> null_block = {nullptr};
  const std::vector<KvBlockTable> null_tables(p.n_layers, KvBlockTable(null_block));
  const auto tables = kv.Tables(seq);
  auto run = [&](std::vector<SequenceBatchEntry> batch) {
    return Forward(model, batch, &*state, &pool).status();
  };
  auto entry = [&](std::span<const int32_t> tokens, int start, std::span<const KvBlockTable> t) {
    return SequenceBatchEntry{.tokens = tokens, .start_pos = start, .layer_blocks = t};
  };
  EXPECT_EQ(run({entry({}, 0, tables)}).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(run({entry(bad_token, 0, tables)}).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(run({entry(ok_tokens, -1, tables)}).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(run({entry(ok_tokens, p.max_seq_len - 1, tables)}).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(run({entry(ok_tokens, 0, tables.first(1))}).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(run({entry(ok_tokens, 0, short_tables)}).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(run({entry(ok_tokens, 0, null_tables)}).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(run({entry(nine, 0, tables)}).code(), StatusCode::kInvalidArgument);  // > 8 rows
  EXPECT_EQ(run({entry(ok_tokens, 0, tables), entry(ok_tokens, 2, tables),
                 entry(ok_tokens, 4, tables)}).code(),
            StatusCode::kInvalidArgument);  // 3 logit rows > 2
  const Status bad = run({entry(ok_tokens, 0, tables), entry(bad_token, 0, tables)});
  EXPECT_NE(bad.message().find("entry 1"), std::string::npos) << bad.message();
  // Nothing was written: the blocks still hold the NaNs they were filled with.
  for (const auto& layer : kv.Blocks(seq)) {
    for (float* block : layer) {
      for (int64_t i = 0; i < kv.arena().block_floats(); ++i) ASSERT_TRUE(std::isnan(block[i]));
    }
  }

  ThreadPool big_pool(3);  // more threads than the state has scratch for
  const std::vector<SequenceBatchEntry> good = {entry(ok_tokens, 0, tables)};
  EXPECT_EQ(Forward(model, good, &*state, &big_pool).status().code(),
            StatusCode::kInvalidArgument);
  const Model other = MakeRandomModel(SeparateClassifierSpec(), 1);
  EXPECT_EQ(Forward(other, good, &*state, &pool).status().code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(Forward(model, good, &*state, &pool).ok());

  EXPECT_FALSE(RunState::Create(p, {.max_batch_tokens = 0}).ok());
  ModelSpec broken = p;
  broken.n_heads = 5;
  EXPECT_FALSE(RunState::Create(broken, {}).ok());
}

}  // namespace
}  // namespace orbitflow
