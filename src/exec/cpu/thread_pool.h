// A fixed pool of compute threads for the CPU kernels. One call, ParallelFor, splits an index
// range over the pool and returns when every index has been processed.
//
// The decode path calls ParallelFor a few dozen times per token, so a call must cost microseconds
// and allocate nothing: the callable is passed by address (no std::function), the job lives in the
// pool, and idle workers spin briefly before sleeping on an atomic wait so back-to-back calls
// within one forward pass do not pay a wake-up. The caller claims work like any worker and only
// waits for chunks already being run, so a worker the OS has not scheduled (a busy machine) does
// not hold a call up.
//
// Thread safety: one thread at a time may call ParallelFor (the engine thread that runs the
// forward pass). ParallelFor must not be called from inside a ParallelFor body.
#pragma once

#include <atomic>
#include <cstdint>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

namespace orbitflow {

class ThreadPool {
 public:
  // Starts num_threads - 1 worker threads; the thread calling ParallelFor works too (as worker
  // 0), so num_threads = 1 runs everything inline. REQUIRES: num_threads >= 1.
  explicit ThreadPool(int num_threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int num_threads() const { return num_threads_; }

  // Calls fn(begin, end) on disjoint ranges that together cover [0, n) exactly once, spread over
  // all threads, and returns when all calls have returned. Which thread gets which range varies
  // from call to call, so fn's result must not depend on it. fn must not throw.
  template <typename Fn>
  void ParallelFor(int64_t n, Fn&& fn) {
    auto body = [&fn](int /*worker*/, int64_t begin, int64_t end) { fn(begin, end); };
    ParallelForWorker(n, body);
  }

  // As ParallelFor, with fn(worker, begin, end): worker in [0, num_threads()) is unique among
  // the threads running at once, for indexing per-thread scratch memory.
  template <typename Fn>
  void ParallelForWorker(int64_t n, Fn&& fn) {
    using F = std::remove_reference_t<Fn>;
    Run(n, [](void* ctx, int worker, int64_t begin, int64_t end) {
      (*static_cast<F*>(ctx))(worker, begin, end);
    }, const_cast<void*>(static_cast<const void*>(&fn)));
  }

 private:
  using Trampoline = void (*)(void* ctx, int worker, int64_t begin, int64_t end);

  void Run(int64_t n, Trampoline fn, void* ctx);
  void WorkerLoop(int worker);
  // Claims and runs chunks of the current job until none are left.
  void Drain(int worker);

  const int num_threads_;
  std::vector<std::thread> workers_;

  // The current job. Atomic because a worker that wakes late may read them while the next job is
  // being written; its claim on next_ then fails and it reads them again (see Run and Drain).
  std::atomic<Trampoline> job_fn_{nullptr};
  std::atomic<void*> job_ctx_{nullptr};
  std::atomic<int64_t> job_n_{0};
  std::atomic<int64_t> job_chunk_{1};

  // (job number << 32) | next unclaimed chunk, or kClosed while a job is being set up. A claim is
  // a compare-exchange on the whole word, so it only succeeds for the job whose fields the
  // claimer read. Completion counts finished chunks, not threads: a worker the OS has not
  // scheduled yet never delays the caller, which runs any chunk nobody else has claimed.
  alignas(64) std::atomic<uint64_t> next_{0};
  alignas(64) std::atomic<int64_t> chunks_done_{0};
  alignas(64) std::atomic<uint32_t> wake_{0};  // bumped per job; idle workers sleep on it
  std::atomic<bool> stop_{false};
  uint32_t job_number_ = 0;  // caller-side copy of the job number
};

}  // namespace orbitflow
