#include "exec/sim/sim_executor.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <vector>

#include "cost/cost_model.h"
#include "cost/cost_profile.h"

namespace orbitflow {
namespace {

// Llama-3.1-8B on A100: the spec's profiled fits, L = 32, B = 412,713 blocks/s.
CostModel A100Llama8B() {
  ModelSpec m = *LookupModelSpec("llama-3.1-8b");
  return CostModel(m, BuiltinCostProfile(m, *LookupHardware("a100")));
}

// A 4-layer toy with round numbers for timelines by hand: c = 1 ms per layer at any batch size,
// 0.1 ms per layer-block on the link (4,096-byte blocks at 40,960,000 B/s), prefill
// 0.5 ms + 10 us per token.
CostModel Toy() {
  ModelSpec m{.name = "toy", .dim = 64, .hidden_dim = 128, .n_layers = 4, .n_heads = 4, .n_kv_heads = 4,
              .vocab_size = 32, .max_seq_len = 4096};
  CostProfile p;
  p.model = "toy";
  p.decode_step = {.a = 0.0, .b = 4e-3};
  p.prefill = {.c0 = 0.5e-3, .c1 = 1e-5, .c2 = 0.0};
  p.link_bytes_per_s = 4096.0 * 10000;
  return CostModel(m, p);
}

constexpr double kMs = 1e-3;

// A plan, the KV cache it runs against, and the clock, built together so every decode's KV is
// grown and placed as Executor::Execute requires.
struct Rig {
  CostModel cost;
  KvCacheManager kv;
  VirtualClock clock;
  StepPlan plan;
  int64_t next_id = 1;

  explicit Rig(CostModel c)
      : cost(std::move(c)), kv(KvCacheOptions{.num_layers = cost.num_layers(), .device_blocks = 4'000'000}) {}

  // A decode request whose per-layer blocks b_r = BlocksForTokens(context + 1) = `blocks`.
  RequestId Decode(Distance d, int64_t blocks) {
    const RequestId id(next_id++);
    EXPECT_TRUE(kv.AddRequest(id, LayerMask::FromDistance(d, cost.num_layers())).ok());
    const int64_t context = blocks * kBlockTokens - 1;
    EXPECT_TRUE(kv.Grow(id, context + 1).ok());
    plan.decodes.push_back({.id = id, .context_tokens = context, .distance = d});
    plan.batch_tokens += context + 1;
    return id;
  }
  RequestId Prefill(int64_t begin, int64_t end, bool last, RequestId id = RequestId(0)) {
    if (id.value() == 0) {
      id = RequestId(next_id++);
      EXPECT_TRUE(kv.AddRequest(id, LayerMask(cost.num_layers(), true)).ok());
    }
    EXPECT_TRUE(kv.Grow(id, end).ok());
    plan.prefills.push_back({.id = id, .begin = begin, .end = end, .last_chunk = last, .tokens = {}});
    return id;
  }
  // The closed forms over the current decode batch.
  std::vector<RequestLoad> Loads() const {
    std::vector<RequestLoad> loads;
    for (const DecodeWork& d : plan.decodes) loads.push_back({d.distance, BlocksForTokens(d.context_tokens + 1)});
    return loads;
  }
  double PerLayer() const { return cost.StepTimePerLayer(Loads(), plan.batch_tokens).count(); }
  double PrefixFlow() const { return cost.StepTimePrefixFlow(Loads(), plan.batch_tokens).count(); }

  StepResult Run(SimOptions options = {}) {
    SimExecutor exec(cost, &clock, options);
    StatusOr<StepResult> r = exec.Execute(plan, kv);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : StepResult{};
  }
};

// --- (a), (b): the two single-request regimes -------------------------------------------------

TEST(SimExecutorTest, DistanceOneWithLinkFasterThanComputeHidesEveryTransfer) {
  Rig rig(A100Llama8B());
  const RequestId id = rig.Decode(Distance::Every(1), 100);
  rig.plan.batch_tokens = 4000;
  const double c = (8.89e-7 * 4000 + 4.83e-2) / 32;
  const double comm = 101 / rig.cost.LinkBlocksPerSecond();
  ASSERT_LT(comm, c);
  const StepResult r = rig.Run();
  // Each odd layer's 101 blocks are issued when the layer before starts and land within it.
  EXPECT_NEAR(r.step_time.count(), 32 * c, 1e-15);
  EXPECT_EQ(r.stall.count(), 0.0);
  EXPECT_NEAR(r.compute.count(), 32 * c, 1e-15);
  ASSERT_EQ(r.layer_compute.size(), 32u);
  for (Seconds s : r.layer_compute) EXPECT_EQ(s.count(), c);
  EXPECT_EQ(r.prefill.count(), 0.0);
  EXPECT_EQ(r.moves.count(), 0.0);
  EXPECT_EQ(r.h2d.count(), 16 * 101 * 65536);
  EXPECT_EQ(r.d2h.count(), 32 * 4096);  // one token, 32 layers, 65,536 / 16 bytes each
  ASSERT_EQ(r.tokens.size(), 1u);
  EXPECT_EQ(r.tokens[0].id, id);
  EXPECT_EQ(r.tokens[0].token, 0);
  EXPECT_NEAR(r.step_time.count(), rig.PerLayer(), 1e-12);
}

TEST(SimExecutorTest, DistanceZeroLinkBoundMatchesBothClosedForms) {
  Rig rig(A100Llama8B());
  rig.Decode(Distance::Every(0), 1000);
  rig.plan.batch_tokens = 4000;
  const double c = (8.89e-7 * 4000 + 4.83e-2) / 32;
  const double comm = 1001 / rig.cost.LinkBlocksPerSecond();
  ASSERT_GT(comm, c);
  const StepResult r = rig.Run();
  // Layer 0's transfer starts with the decode, each next one when the layer before starts, which
  // is when the link frees: the link never idles, and the last layer computes after it.
  EXPECT_NEAR(r.step_time.count(), c + 32 * comm, 1e-12);
  EXPECT_NEAR(r.stall.count(), 32 * comm - 31 * c, 1e-12);
  EXPECT_NEAR(r.step_time.count(), rig.PerLayer(), 1e-12);
  EXPECT_NEAR(r.step_time.count(), rig.PrefixFlow(), 1e-12);
  EXPECT_EQ(r.h2d.count(), 32 * 1001 * 65536);
}

// --- (c): where the event model and the per-layer closed form must agree ----------------------

TEST(SimExecutorTest, AgreesWithPerLayerFormWhenEveryPrefetchIsOneLayerAhead) {
  // d = 0 and d = 1 both prefetch one layer ahead, so each transfer starts on an idle link
  // exactly when the layer before starts: s_j = max(0, comm_j - c), and layer 0 waits comm_0.
  Rig rig(A100Llama8B());
  rig.Decode(Distance::Every(0), 200);
  rig.Decode(Distance::Every(1), 1500);
  rig.Decode(Distance::Every(1), 50);
  rig.Decode(Distance::AllDevice(), 2000);
  const double c = rig.cost.LayerCompute(rig.plan.batch_tokens).count();
  const double B = rig.cost.LinkBlocksPerSecond();
  // Mixed regimes: even layers (d = 0 only) hide their transfer, odd ones stall.
  ASSERT_LT(201 / B, c);
  ASSERT_GT((201 + 1501 + 51) / B, c);
  const StepResult r = rig.Run();
  const double expected = 32 * c + 201 / B + 16 * ((201 + 1501 + 51) / B - c);
  EXPECT_NEAR(r.step_time.count(), expected, 1e-12);
  EXPECT_NEAR(r.step_time.count(), rig.PerLayer(), 1e-12);
  EXPECT_GT(r.step_time.count(), rig.PrefixFlow());
}

TEST(SimExecutorTest, AgreesWithPerLayerFormWhenEveryIssueFitsInOneLayer) {
  // Distances 1, 3, 7: at most 51 + 101 + 201 blocks are issued at any layer start, and they
  // land within that layer's compute, so nothing ever waits: T = L c, as the closed form says.
  Rig rig(A100Llama8B());
  rig.Decode(Distance::Every(1), 50);
  rig.Decode(Distance::Every(3), 100);
  rig.Decode(Distance::Every(7), 200);
  const double c = rig.cost.LayerCompute(rig.plan.batch_tokens).count();
  ASSERT_LT((51 + 101 + 201) / rig.cost.LinkBlocksPerSecond(), c);
  const StepResult r = rig.Run();
  EXPECT_EQ(r.stall.count(), 0.0);
  EXPECT_NEAR(r.step_time.count(), 32 * c, 1e-12);
  EXPECT_NEAR(r.step_time.count(), rig.PerLayer(), 1e-12);
}

TEST(SimExecutorTest, RandomBatchesOneLayerAheadEqualPerLayerAndNeverBeatPrefixFlow) {
  std::mt19937 gen(42);
  const std::vector<Distance> near = {Distance::AllDevice(), Distance::Every(0), Distance::Every(1)};
  const std::vector<Distance> all = CandidateDistances(32);
  // A link 20x slower than PCIe Gen4 reaches every regime with contexts cheap to allocate.
  ModelSpec spec = *LookupModelSpec("llama-3.1-8b");
  CostProfile slow = BuiltinCostProfile(spec, *LookupHardware("a100"));
  slow.link_bytes_per_s /= 20;
  for (int trial = 0; trial < 200; ++trial) {
    const bool one_ahead = trial % 2 == 0;
    const std::vector<Distance>& pool = one_ahead ? near : all;
    Rig rig(CostModel(spec, slow));
    const int batch = 1 + static_cast<int>(gen() % 8);
    for (int i = 0; i < batch; ++i) {
      rig.Decode(pool[gen() % pool.size()], 1 + static_cast<int64_t>(gen() % 150));
    }
    const StepResult r = rig.Run();
    if (one_ahead) {
      EXPECT_NEAR(r.step_time.count(), rig.PerLayer(), 1e-12) << "trial " << trial;
    }
    // Prefix flow is a lower bound on any schedule of the same transfers and compute.
    EXPECT_GE(r.step_time.count(), rig.PrefixFlow() - 1e-12) << "trial " << trial;
    EXPECT_NEAR(r.step_time.count(), r.compute.count() + r.stall.count(), 1e-12);
  }
}

// --- (d): where the event model is more precise than the per-layer form -----------------------

TEST(SimExecutorTest, DistanceFifteenHidesWhatThePerLayerFormChargesAsStall) {
  Rig rig(A100Llama8B());
  rig.Decode(Distance::Every(15), 3000);  // layers 15 and 31 (0-based) on host, 3001 blocks each
  rig.plan.batch_tokens = 4000;
  const double c = (8.89e-7 * 4000 + 4.83e-2) / 32;  // 1.6205 ms
  const double big = 3001 / rig.cost.LinkBlocksPerSecond();  // 7.271 ms
  // Layer 15's transfer is issued when layer 0 starts and lands at 7.27 ms, long before layer
  // 15 starts at 15c = 24.3 ms; layer 31's is issued at 16c and lands at 16c + 7.27 ms < 31c.
  // The per-layer form overlaps each with one layer only: stall 2 (big - c).
  const StepResult r = rig.Run();
  EXPECT_EQ(r.stall.count(), 0.0);
  EXPECT_NEAR(r.step_time.count(), 32 * c, 1e-12);
  EXPECT_NEAR(rig.PerLayer(), 32 * c + 2 * (big - c), 1e-12);
  EXPECT_NEAR(r.step_time.count(), rig.PrefixFlow(), 1e-12);
}

TEST(SimExecutorTest, MixedBatchLiesBetweenPrefixFlowAndPerLayerForm) {
  // d = 15 with b = 3000 (big = 3001 / B = 7.271 ms per offloaded layer) and d = 1 with b = 100
  // (small = 101 / B = 0.2447 ms per odd layer); c = 1.6205 ms.
  Rig rig(A100Llama8B());
  rig.Decode(Distance::Every(15), 3000);
  rig.Decode(Distance::Every(1), 100);
  rig.plan.batch_tokens = 4000;
  const double c = (8.89e-7 * 4000 + 4.83e-2) / 32;
  const double B = rig.cost.LinkBlocksPerSecond();
  const double big = 3001 / B, small = 101 / B;
  // By hand. Layer 0 starts at 0 and issues, nearest layer first, small (layer 1) on [0, small]
  // and big (layer 15) on [small, small + big]. Layer 2 starts at 2c = 3.24 ms and issues
  // layer 3's small, which queues behind big: lands at 2 small + big = 7.76 ms, so layer 3 waits
  // 2 small + big - 3c = 2.90 ms. Layers 5..15 then hide their small transfer (the link is idle
  // at each issue); layer 15's big landed long ago. Layer 16 repeats the pattern for layers 17,
  // 19 and 31: another 2 small + big - 3c. Total: 32c + 2 (2 small + big - 3c).
  const double expected_stall = 2 * (2 * small + big - 3 * c);
  const StepResult r = rig.Run();
  EXPECT_NEAR(r.stall.count(), expected_stall, 1e-12);
  EXPECT_NEAR(r.step_time.count(), 32 * c + expected_stall, 1e-12);
  // The per-layer form charges big + small - c at layers 15 and 31 (11.78 ms of stall); the
  // prefix flow lets the link run ahead with no FIFO order and predicts no stall at all.
  EXPECT_NEAR(rig.PerLayer(), 32 * c + 2 * (big + small - c), 1e-12);
  EXPECT_NEAR(rig.PrefixFlow(), 32 * c, 1e-12);
  EXPECT_LT(r.step_time.count(), rig.PerLayer());
  EXPECT_GT(r.step_time.count(), rig.PrefixFlow());
}

// --- (e): FIFO contention ---------------------------------------------------------------------

TEST(SimExecutorTest, FifoLinkQueuesALaterIssuedTransferBehindAnEarlierOne) {
  // Toy: c = 1 ms, 0.1 ms per block. A: d = 3 (layer 3 on host), b = 29 -> 30 blocks = 3 ms,
  // issued when layer 0 starts. B: d = 1 (layers 1, 3), b = 1 -> 2 blocks = 0.2 ms.
  //   t = 0: layer 0 starts; issues B's layer 1 [0, 0.2] then A's layer 3 [0.2, 3.2].
  //   t = 1: layer 1 starts (its data landed at 0.2).
  //   t = 2: layer 2 starts; issues B's layer 3, which waits for A's: [3.2, 3.4].
  //   t = 3.4: layer 3 starts (0.4 ms stall); the step ends at 4.4 ms.
  // Alone, A's transfer lands exactly when layer 3 is due (3 ms) and B's hide: neither stalls.
  // Together the FIFO costs 0.4 ms: A's transfer queued behind B's layer-1 one, B's layer-3
  // one behind A's.
  for (bool a_first : {true, false}) {
    Rig rig(Toy());
    if (a_first) rig.Decode(Distance::Every(3), 29);
    rig.Decode(Distance::Every(1), 1);
    if (!a_first) rig.Decode(Distance::Every(3), 29);
    const StepResult r = rig.Run();
    EXPECT_NEAR(r.stall.count(), 0.4 * kMs, 1e-12);
    EXPECT_NEAR(r.step_time.count(), 4.4 * kMs, 1e-12);  // batch order does not matter
    EXPECT_EQ(r.h2d.count(), (30 + 2 * 2) * 4096);
    // The per-layer form puts all 3.2 ms on layer 3's one-layer window: 2.2 ms of stall.
    EXPECT_NEAR(rig.PerLayer(), 6.2 * kMs, 1e-12);
    EXPECT_NEAR(rig.PrefixFlow(), 4.4 * kMs, 1e-12);
  }
  Rig alone(Toy());
  alone.Decode(Distance::Every(3), 29);
  EXPECT_NEAR(alone.Run().stall.count(), 0.0, 1e-12);
}

TEST(SimExecutorTest, TransfersForOneLayerShareItsWindow) {
  // Two d = 1 requests of 6 blocks each (0.6 ms < c alone): together 1.2 ms per odd layer, so
  // each odd layer stalls 0.2 ms, as the per-layer form says.
  Rig rig(Toy());
  rig.Decode(Distance::Every(1), 5);
  rig.Decode(Distance::Every(1), 5);
  const StepResult r = rig.Run();
  EXPECT_NEAR(r.stall.count(), 2 * 0.2 * kMs, 1e-12);
  EXPECT_NEAR(r.step_time.count(), rig.PerLayer(), 1e-12);
}

// --- Moves after a plan change -----------------------------------------------------------------

TEST(SimExecutorTest, MovesGoFirstOnTheLinkAndTheirLayersWait) {
  // B was at d = 0 and is now at d = 1: layers 0 and 2 come back, 10 blocks (1 ms) each. Its
  // prefetches move b + 1 = 11 blocks (1.1 ms) for layers 1 and 3.
  //   Link: move of layer 0 [0, 1], of layer 2 [1, 2].
  //   Layer 0 waits for its move: starts at 1 (1 ms stall); issues layer 1 [2, 3.1].
  //   Layer 1 starts at 3.1 (1.1 ms); layer 2 at 4.1 (its move landed at 2) and issues layer 3
  //   [4.1, 5.2]; layer 3 starts at 5.2 (0.1 ms); the step ends at 6.2 ms.
  Rig rig(Toy());
  const RequestId b = rig.Decode(Distance::Every(1), 10);
  PlacementDiff diff;
  diff.bring_back = {0, 2};
  diff.blocks_in = 20;
  rig.plan.moves.push_back({b, diff});
  StepResult r = rig.Run();
  EXPECT_NEAR(r.moves.count(), 2 * kMs, 1e-12);
  EXPECT_NEAR(r.stall.count(), 2.2 * kMs, 1e-12);
  EXPECT_NEAR(r.step_time.count(), 6.2 * kMs, 1e-12);
  EXPECT_EQ(r.h2d.count(), (20 + 22) * 4096);

  // With a 3 ms prefill (0.5 ms + 250 x 10 us) in the step, the moves land under it. Decode
  // from 3: layer 1's transfer [3, 4.1] (0.1 ms stall), layer 3's [5.1, 6.2] (0.1 ms).
  rig.Prefill(0, 250, /*last=*/true);
  r = rig.Run();
  EXPECT_NEAR(r.prefill.count(), 3 * kMs, 1e-12);
  EXPECT_NEAR(r.stall.count(), 0.2 * kMs, 1e-12);
  EXPECT_NEAR(r.step_time.count(), 7.2 * kMs, 1e-12);
}

TEST(SimExecutorTest, MovesOfRequestsNotDecodingOnlyOccupyTheLink) {
  // X (not decoding) brings back layer 0: 10 blocks, [0, 1] on the link. B (d = 1, 2 blocks)
  // does not wait for it at layer 0, but its layer-1 prefetch, issued at 0, queues behind it:
  // [1, 1.2], so layer 1 starts at 1.2 (0.2 ms stall). End: 4.2 ms.
  Rig rig(Toy());
  rig.Decode(Distance::Every(1), 1);
  PlacementDiff diff;
  diff.bring_back = {0};
  diff.blocks_in = 10;
  rig.plan.moves.push_back({RequestId(99), diff});
  StepResult r = rig.Run();
  EXPECT_NEAR(r.stall.count(), 0.2 * kMs, 1e-12);
  EXPECT_NEAR(r.step_time.count(), 4.2 * kMs, 1e-12);

  // Moves alone: the step lasts as long as the link is busy.
  rig.plan.decodes.clear();
  r = rig.Run();
  EXPECT_NEAR(r.step_time.count(), 1 * kMs, 1e-12);
  EXPECT_EQ(r.stall.count(), 0.0);
  EXPECT_EQ(r.compute.count(), 0.0);
  EXPECT_TRUE(r.tokens.empty());
}

// --- (f): noise ---------------------------------------------------------------------------------

TEST(SimExecutorTest, ZeroSigmaIsExactWhateverTheSeed) {
  Rig rig(A100Llama8B());
  rig.Decode(Distance::Every(3), 700);
  const double exact = rig.Run().step_time.count();
  EXPECT_EQ(rig.Run({.seed = 12345, .compute_noise_sigma = 0.0}).step_time.count(), exact);
  // 701 blocks per offloaded layer take 1.70 ms, under c = 1.82 ms: exactly L c.
  EXPECT_NEAR(exact, 32 * rig.cost.LayerCompute(rig.plan.batch_tokens).count(), 1e-12);
}

TEST(SimExecutorTest, NoiseIsSeededPerStepAndHasMeanOne) {
  Rig rig(A100Llama8B());
  rig.Decode(Distance::AllDevice(), 500);
  const double c = rig.cost.LayerCompute(rig.plan.batch_tokens).count();
  const SimOptions opts{.seed = 7, .compute_noise_sigma = 0.2};
  VirtualClock clock_a, clock_b, clock_c;
  SimExecutor a(rig.cost, &clock_a, opts), b(rig.cost, &clock_b, opts);
  SimExecutor other(rig.cost, &clock_c, {.seed = 8, .compute_noise_sigma = 0.2});
  const int kSteps = 20000;
  double sum = 0, lo = 10, hi = 0;
  int differ = 0;
  for (int i = 0; i < kSteps; ++i) {
    const StepResult ra = *a.Execute(rig.plan, rig.kv);
    const StepResult rb = *b.Execute(rig.plan, rig.kv);
    const StepResult ro = *other.Execute(rig.plan, rig.kv);
    ASSERT_EQ(ra.step_time.count(), rb.step_time.count()) << "step " << i;
    differ += ra.step_time.count() != ro.step_time.count();
    // One factor per step: every layer of the step scaled alike.
    for (Seconds s : ra.layer_compute) ASSERT_EQ(s.count(), ra.layer_compute[0].count());
    const double factor = ra.step_time.count() / (32 * c);
    sum += factor;
    lo = std::min(lo, factor);
    hi = std::max(hi, factor);
  }
  EXPECT_GT(differ, kSteps * 9 / 10);
  // Mean exp(0.2 z - 0.02) = 1; the sample mean's standard error is about 0.0014.
  EXPECT_NEAR(sum / kSteps, 1.0, 0.01);
  EXPECT_LT(lo, 0.7);
  EXPECT_GT(hi, 1.4);
  EXPECT_EQ(a.steps(), kSteps);
}

TEST(SimExecutorTest, InvalidSigmaIsReportedByExecute) {
  Rig rig(Toy());
  rig.Decode(Distance::AllDevice(), 1);
  SimExecutor exec(rig.cost, &rig.clock, {.compute_noise_sigma = -0.5});
  StatusOr<StepResult> r = exec.Execute(rig.plan, rig.kv);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("compute_noise_sigma"), std::string::npos);
  EXPECT_EQ(rig.clock.Now().count(), 0.0);
}

// --- (g): prefill ---------------------------------------------------------------------------------

TEST(SimExecutorTest, PrefillChunksSumToTheWholePromptAndOnlyTheLastEmits) {
  Rig rig(A100Llama8B());
  const double whole = rig.cost.Prefill(4000).count();
  ASSERT_GT(rig.cost.profile().prefill.c2, 0.0);  // the quadratic term is exercised
  SimExecutor exec(rig.cost, &rig.clock);
  const RequestId id(50);
  ASSERT_TRUE(rig.kv.AddRequest(id, LayerMask::FromDistance(Distance::Every(1), 32)).ok());
  double sum = 0;
  int64_t tokens_out = 0;
  const int64_t bounds[] = {0, 1000, 2500, 4000};
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(rig.kv.Grow(id, bounds[i + 1]).ok());
    StepPlan plan;
    plan.prefills.push_back({.id = id, .begin = bounds[i], .end = bounds[i + 1], .last_chunk = i == 2, .tokens = {}});
    const StepResult r = *exec.Execute(plan, rig.kv);
    sum += r.prefill.count();
    EXPECT_EQ(r.step_time, r.prefill);  // no decode, no moves
    EXPECT_EQ(r.h2d.count(), 0);        // offloaded layers are written straight to the host
    EXPECT_EQ(r.d2h.count(), (bounds[i + 1] - bounds[i]) * 32 * 4096);
    tokens_out += static_cast<int64_t>(r.tokens.size());
  }
  EXPECT_NEAR(sum, whole, 1e-12);
  EXPECT_EQ(tokens_out, 1);

  StepPlan one;
  one.prefills.push_back({.id = id, .begin = 0, .end = 4000, .last_chunk = true, .tokens = {}});
  EXPECT_NEAR(exec.Execute(one, rig.kv)->prefill.count(), whole, 1e-15);
}

TEST(SimExecutorTest, PrefillRunsBeforeTheDecodeAndDelaysItsFirstTransfer) {
  // Toy: a 250-token prefill (3 ms), then a d = 0 decode with 6 blocks (0.6 ms) per layer:
  // layer 0's transfer starts with the decode at 3 ms, the rest hide: 3 + 0.6 + 4 x 1 ms.
  Rig rig(Toy());
  const RequestId p = rig.Prefill(0, 250, /*last=*/true);
  const RequestId d = rig.Decode(Distance::Every(0), 5);
  const StepResult r = rig.Run();
  EXPECT_NEAR(r.prefill.count(), 3 * kMs, 1e-12);
  EXPECT_NEAR(r.stall.count(), 0.6 * kMs, 1e-12);
  EXPECT_NEAR(r.step_time.count(), 7.6 * kMs, 1e-12);
  EXPECT_NEAR(r.step_time.count(), r.prefill.count() + rig.PerLayer(), 1e-12);
  EXPECT_EQ(r.d2h.count(), (250 + 1) * 4 * 256);  // toy: 4,096-byte blocks, 256 B per token-layer
  ASSERT_EQ(r.tokens.size(), 2u);
  EXPECT_EQ(r.tokens[0].id, p);
  EXPECT_EQ(r.tokens[1].id, d);
}

// --- (h): the clock ------------------------------------------------------------------------------

TEST(SimExecutorTest, ClockAdvancesByStepTime) {
  Rig rig(A100Llama8B());
  rig.Decode(Distance::Every(0), 800);
  rig.Decode(Distance::Every(9), 300);
  rig.clock.Advance(Seconds(1.5));
  SimExecutor exec(rig.cost, &rig.clock);
  const StepResult r1 = *exec.Execute(rig.plan, rig.kv);
  EXPECT_GT(r1.step_time.count(), 0.0);
  EXPECT_EQ(rig.clock.Now().count(), 1.5 + r1.step_time.count());
  const StepResult r2 = *exec.Execute(rig.plan, rig.kv);
  EXPECT_EQ(r2.step_time, r1.step_time);
  EXPECT_EQ(rig.clock.Now().count(), (1.5 + r1.step_time.count()) + r2.step_time.count());
}

TEST(SimExecutorTest, ExecuteIntoReusesTheResultAndMatchesExecute) {
  Rig rig(A100Llama8B());
  rig.Decode(Distance::Every(1), 400);
  rig.Decode(Distance::Every(15), 900);
  VirtualClock c1, c2;
  SimExecutor a(rig.cost, &c1), b(rig.cost, &c2);
  StepResult into;
  into.tokens.push_back({RequestId(7), 3});  // stale content is cleared
  ASSERT_TRUE(b.ExecuteInto(rig.plan, rig.kv, &into).ok());
  const StepResult fresh = *a.Execute(rig.plan, rig.kv);
  EXPECT_EQ(into.step_time, fresh.step_time);
  EXPECT_EQ(into.stall, fresh.stall);
  EXPECT_EQ(into.h2d, fresh.h2d);
  EXPECT_EQ(into.d2h, fresh.d2h);
  ASSERT_EQ(into.tokens.size(), 2u);
  EXPECT_EQ(into.tokens[0].id, rig.plan.decodes[0].id);
  // A smaller batch next: nothing from the bigger step leaks into it.
  rig.plan.decodes.pop_back();
  ASSERT_TRUE(b.ExecuteInto(rig.plan, rig.kv, &into).ok());
  EXPECT_EQ(into.tokens.size(), 1u);
  EXPECT_EQ(into.step_time, a.Execute(rig.plan, rig.kv)->step_time);
}

TEST(SimExecutorTest, EmptyPlanTakesNoTime) {
  Rig rig(Toy());
  const StepResult r = rig.Run();
  EXPECT_EQ(r.step_time.count(), 0.0);
  EXPECT_TRUE(r.tokens.empty());
  EXPECT_EQ(rig.clock.Now().count(), 0.0);
}

// --- Plans that break the Execute contract --------------------------------------------------------

TEST(SimExecutorTest, RejectsPlansTheKvCacheDoesNotBackAndLeavesTheClock) {
  auto expect_error = [](Rig& rig, StatusCode code, const char* words) {
    SimExecutor exec(rig.cost, &rig.clock);
    StatusOr<StepResult> r = exec.Execute(rig.plan, rig.kv);
    ASSERT_FALSE(r.ok()) << words;
    EXPECT_EQ(r.status().code(), code) << r.status().ToString();
    EXPECT_NE(r.status().message().find(words), std::string::npos) << r.status().ToString();
    EXPECT_EQ(rig.clock.Now().count(), 0.0);
  };
  {  // unknown request
    Rig rig(Toy());
    rig.plan.decodes.push_back({.id = RequestId(42), .context_tokens = 10});
    expect_error(rig, StatusCode::kFailedPrecondition, "request 42");
  }
  {  // KV not grown for the token the decode writes
    Rig rig(Toy());
    rig.Decode(Distance::AllDevice(), 2);
    rig.plan.decodes[0].context_tokens = 32;  // writes token 32; the cache holds 32
    expect_error(rig, StatusCode::kFailedPrecondition, "grow it first");
  }
  {  // distance and residency disagree
    Rig rig(Toy());
    rig.Decode(Distance::Every(1), 2);
    rig.plan.decodes[0].distance = Distance::Every(0);
    expect_error(rig, StatusCode::kFailedPrecondition, "layer 0");
  }
  {  // empty prefill range
    Rig rig(Toy());
    const RequestId id = rig.Prefill(0, 10, true);
    rig.plan.prefills.push_back({.id = id, .begin = 10, .end = 10, .last_chunk = true, .tokens = {}});
    expect_error(rig, StatusCode::kInvalidArgument, "[10, 10)");
  }
  {  // move of a layer the model does not have
    Rig rig(Toy());
    PlacementDiff diff;
    diff.bring_back = {4};
    diff.blocks_in = 1;
    rig.plan.moves.push_back({RequestId(1), diff});
    expect_error(rig, StatusCode::kInvalidArgument, "layer 4");
  }
  {  // KV cache of another model
    Rig rig(Toy());
    KvCacheManager other(KvCacheOptions{.num_layers = 32, .device_blocks = 10});
    SimExecutor exec(rig.cost, &rig.clock);
    StatusOr<StepResult> r = exec.Execute(rig.plan, other);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  }
  {  // no clock
    Rig rig(Toy());
    SimExecutor exec(rig.cost, nullptr);
    EXPECT_EQ(exec.Execute(rig.plan, rig.kv).status().code(), StatusCode::kFailedPrecondition);
  }
}

}  // namespace
}  // namespace orbitflow
