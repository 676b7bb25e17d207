#include "exec/cpu/thread_pool.h"

#include <algorithm>
#include <cassert>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

namespace orbitflow {
namespace {

// How long an idle worker polls before sleeping. A forward pass issues its ParallelFor calls a
// few microseconds apart; polling for ~100 us (a pause is 10-140 cycles depending on the CPU)
// keeps workers awake through a pass and lets them sleep between steps.
constexpr int kSpinIterations = 4000;

// Chunks per thread: enough to even out uneven work (attention heads over different context
// lengths) and to let the caller absorb the share of a worker the OS has descheduled.
constexpr int64_t kChunksPerThread = 4;

inline void CpuRelax() {
#if defined(__x86_64__) || defined(__i386__)
  _mm_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#else
  std::this_thread::yield();
#endif
}

constexpr uint64_t Pack(uint32_t job, uint32_t chunk) { return (uint64_t{job} << 32) | chunk; }
// Chunk index meaning "no job open": the caller is writing the next job's fields.
constexpr uint32_t kClosed = 0xffffffffu;

}  // namespace

ThreadPool::ThreadPool(int num_threads) : num_threads_(std::max(1, num_threads)) {
  assert(num_threads >= 1);
  workers_.reserve(num_threads_ - 1);
  // Worker 0 is the caller of ParallelFor; pool threads are 1..num_threads-1.
  for (int w = 1; w < num_threads_; ++w) workers_.emplace_back([this, w] { WorkerLoop(w); });
}

ThreadPool::~ThreadPool() {
  stop_.store(true, std::memory_order_release);
  wake_.fetch_add(1, std::memory_order_release);
  wake_.notify_all();
  for (std::thread& t : workers_) t.join();
}

void ThreadPool::Run(int64_t n, Trampoline fn, void* ctx) {
  if (n <= 0) return;
  if (num_threads_ == 1 || n == 1) {
    fn(ctx, 0, 0, n);
    return;
  }
  const int64_t chunk = std::max<int64_t>(1, n / (num_threads_ * kChunksPerThread));
  const int64_t num_chunks = (n + chunk - 1) / chunk;
  assert(num_chunks < kClosed);
  // Close the word first, so a late worker still holding the previous job's word cannot claim a
  // chunk with the new fields. The fields are release-stored after the close: a worker that
  // reads any new field (acquire) is then guaranteed to see the closed word in its exchange.
  const uint32_t job = ++job_number_;
  next_.store(Pack(job, kClosed), std::memory_order_relaxed);
  job_fn_.store(fn, std::memory_order_release);
  job_ctx_.store(ctx, std::memory_order_release);
  job_n_.store(n, std::memory_order_release);
  job_chunk_.store(chunk, std::memory_order_release);
  chunks_done_.store(0, std::memory_order_relaxed);
  // Open the job; the release publishes everything above to whoever claims a chunk.
  next_.store(Pack(job, 0), std::memory_order_release);
  wake_.fetch_add(1, std::memory_order_release);
  wake_.notify_all();

  Drain(0);

  // Chunks other threads claimed may still be running; their completion releases their writes.
  // Past the spin budget, yield: on a busy machine the thread we wait for may need this core.
  for (int spins = 0; chunks_done_.load(std::memory_order_acquire) != num_chunks; ++spins) {
    if (spins < kSpinIterations) {
      CpuRelax();
    } else {
      std::this_thread::yield();
    }
  }
}

void ThreadPool::Drain(int worker) {
  int64_t finished = 0;
  uint64_t cur = next_.load(std::memory_order_acquire);
  for (;;) {
    const uint32_t index = static_cast<uint32_t>(cur);
    if (index == kClosed) break;  // between jobs; the wake-up for the next one will come
    // Read the job the word belongs to, then claim a chunk of it. If the word moved (another
    // claim, or a new job), the exchange fails, reloads `cur`, and we read the fields again.
    const Trampoline fn = job_fn_.load(std::memory_order_acquire);
    void* const ctx = job_ctx_.load(std::memory_order_acquire);
    const int64_t n = job_n_.load(std::memory_order_acquire);
    const int64_t chunk = job_chunk_.load(std::memory_order_acquire);
    const int64_t begin = int64_t{index} * chunk;
    if (begin >= n) break;
    if (!next_.compare_exchange_weak(cur, cur + 1, std::memory_order_acq_rel,
                                     std::memory_order_acquire)) {
      continue;
    }
    fn(ctx, worker, begin, std::min(n, begin + chunk));
    ++finished;
    cur = next_.load(std::memory_order_acquire);
  }
  // The release makes fn's writes visible to the caller, which waits for every chunk.
  if (finished > 0) chunks_done_.fetch_add(finished, std::memory_order_release);
}

void ThreadPool::WorkerLoop(int worker) {
  uint32_t seen = 0;
  for (;;) {
    uint32_t now = wake_.load(std::memory_order_acquire);
    for (int i = 0; now == seen && i < kSpinIterations; ++i) {
      CpuRelax();
      now = wake_.load(std::memory_order_acquire);
    }
    if (now == seen) {
      wake_.wait(seen, std::memory_order_acquire);
      continue;
    }
    seen = now;
    if (stop_.load(std::memory_order_acquire)) return;
    Drain(worker);
  }
}

}  // namespace orbitflow
