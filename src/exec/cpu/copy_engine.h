// The copy engine: one thread that moves KV blocks between the host and device arenas, in the
// order jobs were queued, each job released by the forward pass's progress, with optional
// pacing to an emulated link bandwidth. Completion is signalled per layer.
//
// A step queues one batch: Begin(), AddJob()..., Start(). The forward pass then reports
// progress with SetProgress(n) (n layers finished) and waits with WaitLayer(). A job may start
// once progress >= its start_after; jobs run strictly in queue order (a FIFO link), so a job
// whose release point is late holds back the ones behind it, as on a real DMA queue.
//
// Thread safety: Begin/AddJob/Start/SetProgress/WaitLayer/Finish are called from one engine
// thread; the copy thread is internal. Pointers in the jobs must stay valid until Finish().
#pragma once

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

#include "orbitflow/types.h"

namespace orbitflow {

enum class CopyKind : uint8_t { kMove, kPrefetch };

struct CopySpan {
  const float* src = nullptr;
  float* dst = nullptr;
  int64_t floats = 0;
};

struct CopyEngineOptions {
  // Emulated link bandwidth in GB/s; 0 = plain memcpy as fast as memory allows.
  double link_gbps = 0.0;
};

class CopyEngine {
 public:
  explicit CopyEngine(CopyEngineOptions options);
  ~CopyEngine();
  CopyEngine(const CopyEngine&) = delete;
  CopyEngine& operator=(const CopyEngine&) = delete;

  // Starts a new batch for `num_layers` layers. REQUIRES: the previous batch was Finish()ed.
  void Begin(int num_layers);
  // Queues a job: copy `spans` once progress >= start_after; it belongs to `layer`.
  void AddJob(CopyKind kind, int layer, int start_after, const std::vector<CopySpan>& spans);
  // Hands the batch to the copy thread.
  void Start();
  // The forward pass has finished `layers_done` layers (monotonic within a batch).
  void SetProgress(int layers_done);
  // Blocks until every job of `layer` of the given kinds is done; returns the time blocked.
  Seconds WaitLayer(int layer, bool include_prefetch);
  // Waits for the whole batch (releasing every job) and returns its totals.
  struct Totals {
    Bytes moved;          // bytes of every job
    Bytes moves;          // bytes of kMove jobs
    Seconds move_time{0};  // copy thread busy time on kMove jobs
    Seconds busy{0};       // copy thread busy time on all jobs
  };
  Totals Finish();

 private:
  struct Job {
    CopyKind kind;
    int layer;
    int start_after;
    size_t span_begin, span_end;
  };
  void ThreadLoop();
  void RunJob(const Job& job);  // copies and paces; called without the lock

  CopyEngineOptions options_;
  std::mutex mu_;
  std::condition_variable cv_;       // copy thread waits: new batch, progress
  std::condition_variable done_cv_;  // engine thread waits: layer complete
  // Batch state, guarded by mu_.
  std::vector<Job> jobs_;
  std::vector<CopySpan> spans_;
  std::vector<int> pending_move_;      // [layer] kMove jobs not yet done
  std::vector<int> pending_prefetch_;  // [layer] kPrefetch jobs not yet done
  size_t next_job_ = 0;   // first job the copy thread has not taken
  size_t done_jobs_ = 0;  // jobs finished
  bool started_ = false;
  int progress_ = 0;
  bool stop_ = false;
  Totals totals_;
  // Pacing: when the emulated link goes idle (copy thread only).
  double link_free_at_ = 0;
  std::thread thread_;
};

}  // namespace orbitflow
