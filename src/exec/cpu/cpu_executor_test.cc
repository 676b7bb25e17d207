#include "exec/cpu/cpu_executor.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "kv/kv_cache_manager.h"
#include "model/loader.h"

namespace orbitflow {
namespace {

const Model& Stories260K() {
  static const Model* model = [] {
    auto m = LoadModel(std::string(ORBITFLOW_REPO_DIR) + "/models/stories260K/stories260K.bin");
    EXPECT_TRUE(m.ok()) << m.status().ToString();
    return new Model(std::move(m).value());
  }();
  return *model;
}

// Drives the executor directly with a KvCacheManager: prefill one prompt, then decode greedily
// with the given residency for every decode step. Returns the tokens.
std::vector<int32_t> Generate(const LayerMask& decode_mask, Distance d, int steps, double gbps = 0) {
  const Model& model = Stories260K();
  const int L = model.spec.n_layers;
  CpuExecutorOptions o{.num_threads = 2, .link_gbps = gbps, .device_blocks = 256, .host_blocks = 256};
  auto exec = CpuExecutor::Create(&model, o);
  EXPECT_TRUE(exec.ok()) << exec.status().ToString();
  KvCacheManager kv({.num_layers = L, .device_blocks = 256, .host_blocks = 256});
  const RequestId id(7);
  EXPECT_TRUE(kv.AddRequest(id, LayerMask(L, true)).ok());
  std::vector<int32_t> prompt = {1, 403, 407, 261, 378, 429, 270};
  EXPECT_TRUE(kv.Grow(id, prompt.size()).ok());
  StepPlan plan;
  plan.prefills.push_back({id, 0, static_cast<int64_t>(prompt.size()), true, prompt});
  auto r = (*exec)->Execute(plan, kv);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  std::vector<int32_t> out = {r->tokens.at(0).token};
  auto diff = kv.ApplyMask(id, decode_mask);
  EXPECT_TRUE(diff.ok());
  std::vector<KvMove> moves = {{id, *diff}};
  int64_t ctx = prompt.size();
  for (int s = 0; s < steps; ++s) {
    EXPECT_TRUE(kv.Grow(id, ctx + 1).ok());
    StepPlan p;
    p.step = s + 1;
    p.decodes.push_back({id, ctx, out.back(), d});
    p.moves = std::move(moves);
    moves.clear();
    auto res = (*exec)->Execute(p, kv);
    EXPECT_TRUE(res.ok()) << res.status().ToString();
    if (!res.ok()) break;
    if (!decode_mask.on_device(1)) { EXPECT_GT(res->h2d, Bytes(0)); }
    EXPECT_GT(res->d2h, Bytes(0));
    EXPECT_EQ(res->layer_compute.size(), static_cast<size_t>(L));
    out.push_back(res->tokens.at(0).token);
    ++ctx;
  }
  return out;
}

TEST(CpuExecutorTest, OffloadedLayersGiveTheAllDeviceTokens) {
  const int L = Stories260K().spec.n_layers;
  const std::vector<int32_t> ref = Generate(LayerMask(L, true), Distance::AllDevice(), 40);
  for (int d = 0; d < L; ++d) {
    const Distance dist = Distance::Every(d);
    EXPECT_EQ(Generate(LayerMask::FromDistance(dist, L), dist, 40), ref) << "d = " << d;
  }
  // Paused residency (only layer 0 on the device) with an emulated slow link.
  EXPECT_EQ(Generate(LayerMask::Paused(L), Distance::Every(0), 40, 0.5), ref);
}

TEST(CpuExecutorTest, RejectsBadOptionsAndMismatchedPools) {
  CpuExecutorOptions o;
  o.device_blocks = 0;
  EXPECT_FALSE(CpuExecutor::Create(&Stories260K(), o).ok());
  o = CpuExecutorOptions{.device_blocks = 16, .host_blocks = 16};
  auto exec = CpuExecutor::Create(&Stories260K(), o);
  ASSERT_TRUE(exec.ok());
  KvCacheManager kv({.num_layers = Stories260K().spec.n_layers, .device_blocks = 32});
  EXPECT_FALSE((*exec)->Execute(StepPlan{}, kv).ok());
  EXPECT_FALSE((*exec)->SetSampling(RequestId(1), SamplerOptions{.temperature = -1}).ok());
}

}  // namespace
}  // namespace orbitflow
