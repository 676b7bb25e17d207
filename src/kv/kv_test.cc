#include <gtest/gtest.h>

#include <random>

#include "kv/block_pool.h"
#include "kv/kv_cache_manager.h"
#include "kv/placement.h"

namespace orbitflow {
namespace {

TEST(PlacementTest, DistanceMatchesSpecDefinition) {
  // d = 1: every other layer (spec layers 2, 4, ...) on host.
  Distance d1 = Distance::Every(1);
  EXPECT_FALSE(d1.OnHost(0));
  EXPECT_TRUE(d1.OnHost(1));
  EXPECT_EQ(d1.NumOffloaded(32), 16);
  EXPECT_EQ(Distance::Every(0).NumOffloaded(32), 32);
  EXPECT_EQ(Distance::AllDevice().NumOffloaded(32), 0);
  EXPECT_FALSE(Distance::AllDevice().OnHost(5));
  // d = 3: spec layers 4, 8, ... -> 0-based 3, 7, ...
  EXPECT_TRUE(Distance::Every(3).OnHost(3));
  EXPECT_FALSE(Distance::Every(3).OnHost(2));
}

TEST(PlacementTest, CandidatesAreWidestPerOffloadCount) {
  std::vector<int> got;
  for (Distance d : CandidateDistances(32)) got.push_back(d.spec_value());
  // Spec section 2 for L = 32, plus -1 and 0.
  EXPECT_EQ(got, (std::vector<int>{-1, 31, 15, 9, 7, 5, 4, 3, 2, 1, 0}));
  std::vector<int> n_off;
  for (Distance d : CandidateDistances(32)) n_off.push_back(d.NumOffloaded(32));
  EXPECT_EQ(n_off, (std::vector<int>{0, 1, 2, 3, 4, 5, 6, 8, 10, 16, 32}));
  std::vector<int> five;
  for (Distance d : CandidateDistances(5)) five.push_back(d.spec_value());
  EXPECT_EQ(five, (std::vector<int>{-1, 4, 1, 0}));
}

TEST(PlacementTest, MaskFromDistanceAndPaused) {
  LayerMask m = LayerMask::FromDistance(Distance::Every(1), 4);
  EXPECT_EQ(m.NumOnDevice(), 2);
  EXPECT_TRUE(m.on_device(0));
  EXPECT_FALSE(m.on_device(1));
  LayerMask p = LayerMask::Paused(4);
  EXPECT_EQ(p.NumOnDevice(), 1);
  EXPECT_TRUE(p.on_device(0));
}

TEST(BlockPoolTest, AllOrNothingAndReuse) {
  BlockPool pool(Tier::kDevice, 4);
  std::vector<BlockId> a;
  ASSERT_TRUE(pool.Allocate(3, &a).ok());
  EXPECT_EQ(pool.free(), 1);
  Status s = pool.Allocate(2, &a);
  EXPECT_EQ(s.code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(a.size(), 3u);
  EXPECT_EQ(pool.used(), 3);
  pool.Free(std::span(a).subspan(0, 1));
  std::vector<BlockId> b;
  ASSERT_TRUE(pool.Allocate(2, &b).ok());
  EXPECT_EQ(b[0], a[0]);  // freed ids are reused first
  EXPECT_EQ(pool.free(), 0);
}

TEST(KvCacheManagerTest, GrowAllocatesMirrorAndResidentLayers) {
  KvCacheManager kv({.num_layers = 4, .device_blocks = 100, .host_blocks = 1000});
  RequestId r(1);
  ASSERT_TRUE(kv.AddRequest(r, LayerMask::FromDistance(Distance::Every(1), 4)).ok());
  ASSERT_TRUE(kv.Grow(r, 33).ok());  // 3 blocks per layer
  EXPECT_EQ(kv.host_pool().used(), 12);
  EXPECT_EQ(kv.device_pool().used(), 6);
  EXPECT_EQ(kv.Get(r).layers[1].device.size(), 0u);
  EXPECT_EQ(kv.Get(r).layers[2].device.size(), 3u);
  // Growing within the last block allocates nothing.
  ASSERT_TRUE(kv.Grow(r, 48).ok());
  EXPECT_EQ(kv.host_pool().used(), 12);
  EXPECT_EQ(kv.ExtraDeviceBlocks(r, 49), 2);
}

TEST(KvCacheManagerTest, ApplyMaskBringsBackAndDrops) {
  KvCacheManager kv({.num_layers = 4, .device_blocks = 10});
  RequestId r(7);
  ASSERT_TRUE(kv.AddRequest(r, LayerMask(4, true)).ok());
  ASSERT_TRUE(kv.Grow(r, 32).ok());  // 2 blocks x 4 layers = 8 device blocks
  auto diff = kv.ApplyMask(r, LayerMask::Paused(4));
  ASSERT_TRUE(diff.ok());
  EXPECT_EQ(diff->drop, (std::vector<int>{1, 2, 3}));
  EXPECT_EQ(diff->blocks_out, 6);
  EXPECT_EQ(kv.device_pool().used(), 2);
  EXPECT_EQ(kv.host_pool().used(), 8);  // the mirror is untouched
  auto back = kv.ApplyMask(r, LayerMask::FromDistance(Distance::Every(1), 4));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->bring_back, (std::vector<int>{2}));
  EXPECT_EQ(back->blocks_in, 2);
  EXPECT_EQ(kv.device_pool().used(), 4);
}

TEST(KvCacheManagerTest, CapacityErrorsChangeNothing) {
  KvCacheManager kv({.num_layers = 2, .device_blocks = 3});
  RequestId r(1);
  ASSERT_TRUE(kv.AddRequest(r, LayerMask(2, true)).ok());
  ASSERT_TRUE(kv.Grow(r, 16).ok());
  Status s = kv.Grow(r, 40);  // needs 2 more blocks per layer = 4 > 1 free
  EXPECT_EQ(s.code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(kv.Get(r).tokens, 16);
  EXPECT_EQ(kv.device_pool().used(), 2);
  EXPECT_EQ(kv.host_pool().used(), 2);
  EXPECT_FALSE(kv.AddRequest(r, LayerMask(2, true)).ok());
  EXPECT_FALSE(kv.AddRequest(RequestId(2), LayerMask(3, true)).ok());
  EXPECT_EQ(kv.Grow(RequestId(9), 1).code(), StatusCode::kNotFound);
}

// Property: any sequence of adds, grows, placement changes and releases keeps the pools' counts
// equal to the blocks the requests hold, and releasing everything returns every block.
TEST(KvCacheManagerTest, RandomOperationsKeepHonestAccounting) {
  std::mt19937_64 rng(1234);
  for (int trial = 0; trial < 50; ++trial) {
    const int layers = 1 + static_cast<int>(rng() % 8);
    KvCacheManager kv({.num_layers = layers, .device_blocks = static_cast<int64_t>(rng() % 200),
                       .host_blocks = 2000});
    std::vector<RequestId> live;
    int64_t next = 0;
    for (int op = 0; op < 300; ++op) {
      const int kind = static_cast<int>(rng() % 4);
      if (kind == 0 || live.empty()) {
        RequestId id(next++);
        const auto cands = CandidateDistances(layers);
        if (kv.AddRequest(id, LayerMask::FromDistance(cands[rng() % cands.size()], layers)).ok()) {
          live.push_back(id);
        }
      } else {
        RequestId id = live[rng() % live.size()];
        if (kind == 1) {
          (void)kv.Grow(id, kv.Get(id).tokens + static_cast<int64_t>(rng() % 40));
        } else if (kind == 2) {
          const auto cands = CandidateDistances(layers);
          LayerMask m = rng() % 5 == 0 ? LayerMask::Paused(layers)
                                       : LayerMask::FromDistance(cands[rng() % cands.size()], layers);
          (void)kv.ApplyMask(id, m);
        } else {
          kv.Release(id);
          std::erase(live, id);
        }
      }
      int64_t dev = 0, host = 0;
      for (RequestId id : live) {
        const RequestKv& r = kv.Get(id);
        for (int l = 0; l < layers; ++l) {
          ASSERT_EQ(static_cast<int64_t>(r.layers[l].host.size()), BlocksForTokens(r.tokens));
          ASSERT_EQ(r.layers[l].device.size(), r.mask.on_device(l) ? r.layers[l].host.size() : 0u);
          dev += static_cast<int64_t>(r.layers[l].device.size());
          host += static_cast<int64_t>(r.layers[l].host.size());
        }
      }
      ASSERT_EQ(dev, kv.device_pool().used());
      ASSERT_EQ(host, kv.host_pool().used());
    }
    for (RequestId id : live) kv.Release(id);
    EXPECT_EQ(kv.device_pool().used(), 0);
    EXPECT_EQ(kv.host_pool().used(), 0);
  }
}

}  // namespace
}  // namespace orbitflow
