// The decode path allocates nothing: this test binary counts every call of the global operator
// new and checks that steady-state ParallelFor and Forward calls make none.
#include <atomic>
#include <cstdlib>
#include <new>
#include <vector>

#include <gtest/gtest.h>

#include "exec/cpu/forward.h"
#include "exec/cpu/kernels.h"
#include "exec/cpu/test_util.h"

namespace {
std::atomic<int64_t> g_allocations{0};
}  // namespace

// Replacements for the whole test binary: count, then defer to malloc. (The nothrow and sized
// forms in libstdc++ forward to these.) GCC pairs its builtin idea of operator new with free()
// when it inlines these and warns; the pairing here is malloc/free, which is correct.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
void* operator new(size_t n) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
  throw std::bad_alloc();
}
void* operator new[](size_t n) { return ::operator new(n); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, size_t) noexcept { std::free(p); }
void operator delete[](void* p, size_t) noexcept { std::free(p); }

namespace orbitflow {
namespace {

TEST(NoAllocationTest, ParallelForAllocatesNothing) {
  ThreadPool pool(3);
  std::vector<float> data(1000, 0.0f);
  auto body = [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) data[i] += 1.0f;
  };
  pool.ParallelFor(1000, body);  // warm-up
  const int64_t before = g_allocations.load();
  for (int i = 0; i < 100; ++i) pool.ParallelFor(1000, body);
  EXPECT_EQ(g_allocations.load() - before, 0);
}

TEST(NoAllocationTest, DecodeStepsAllocateNothing) {
  const Model model = testing::MakeRandomModel(testing::TinySpec(), 5);
  const ModelSpec& p = model.spec;
  ThreadPool pool(2);
  auto state = RunState::Create(p, {.max_batch_tokens = 16, .max_logits = 4, .num_threads = 2});
  ASSERT_TRUE(state.ok());
  testing::TestKvCache kv(p, 256, 7);
  constexpr int kSeqs = 4, kSteps = 20;
  std::vector<std::vector<int32_t>> next(kSeqs, std::vector<int32_t>{1});
  std::vector<SequenceBatchEntry> batch(kSeqs);
  for (int i = 0; i < kSeqs; ++i) {
    kv.NewSequence();
    ASSERT_TRUE(kv.Reserve(i, kSteps));  // blocks are the KV manager's job, done up front
    batch[i] = {.tokens = next[i], .start_pos = 0, .layer_blocks = kv.Tables(i)};
  }
  auto out = Forward(model, batch, &*state, &pool);  // warm-up (first-use paths)
  ASSERT_TRUE(out.ok());

  const int64_t before = g_allocations.load();
  for (int step = 1; step < kSteps && out.ok(); ++step) {
    for (int i = 0; i < kSeqs; ++i) {
      next[i][0] = Argmax(out->row(i).data(), p.vocab_size);
      batch[i].start_pos = step;
    }
    out = Forward(model, batch, &*state, &pool);
  }
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(g_allocations.load() - before, 0);
}

}  // namespace
}  // namespace orbitflow
