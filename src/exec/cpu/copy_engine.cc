// The copy engine thread (copy_engine.h).
#include "exec/cpu/copy_engine.h"

#include <chrono>
#include <cstring>
#include <limits>

namespace orbitflow {
namespace {

double NowSeconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

}  // namespace

CopyEngine::CopyEngine(CopyEngineOptions options) : options_(options) {
  thread_ = std::thread([this] { ThreadLoop(); });
}

CopyEngine::~CopyEngine() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
    progress_ = std::numeric_limits<int>::max();
  }
  cv_.notify_all();
  thread_.join();
}

void CopyEngine::Begin(int num_layers) {
  std::lock_guard<std::mutex> lock(mu_);
  jobs_.clear();
  spans_.clear();
  pending_move_.assign(num_layers, 0);
  pending_prefetch_.assign(num_layers, 0);
  next_job_ = 0;
  done_jobs_ = 0;
  started_ = false;
  progress_ = 0;
  totals_ = Totals{};
}

void CopyEngine::AddJob(CopyKind kind, int layer, int start_after,
                        const std::vector<CopySpan>& spans) {
  std::lock_guard<std::mutex> lock(mu_);
  const size_t begin = spans_.size();
  spans_.insert(spans_.end(), spans.begin(), spans.end());
  jobs_.push_back({kind, layer, start_after, begin, spans_.size()});
  ++(kind == CopyKind::kMove ? pending_move_ : pending_prefetch_)[layer];
}

void CopyEngine::Start() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    started_ = true;
  }
  cv_.notify_all();
}

void CopyEngine::SetProgress(int layers_done) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (layers_done <= progress_) return;
    progress_ = layers_done;
  }
  cv_.notify_all();
}

Seconds CopyEngine::WaitLayer(int layer, bool include_prefetch) {
  std::unique_lock<std::mutex> lock(mu_);
  auto ready = [&] {
    return pending_move_[layer] == 0 && (!include_prefetch || pending_prefetch_[layer] == 0);
  };
  if (ready()) return Seconds(0);
  const double start = NowSeconds();
  done_cv_.wait(lock, ready);
  return Seconds(NowSeconds() - start);
}

CopyEngine::Totals CopyEngine::Finish() {
  std::unique_lock<std::mutex> lock(mu_);
  // Release everything (also a batch that was never started, e.g. after an error), then wait.
  started_ = true;
  progress_ = std::numeric_limits<int>::max();
  cv_.notify_all();
  done_cv_.wait(lock, [&] { return done_jobs_ == jobs_.size(); });
  started_ = false;
  return totals_;
}

void CopyEngine::ThreadLoop() {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    cv_.wait(lock, [&] {
      return stop_ || (started_ && next_job_ < jobs_.size() &&
                       progress_ >= jobs_[next_job_].start_after);
    });
    if (stop_) return;
    const Job job = jobs_[next_job_++];
    lock.unlock();
    const double start = NowSeconds();
    RunJob(job);
    const Seconds took(NowSeconds() - start);
    lock.lock();
    int64_t floats = 0;
    for (size_t i = job.span_begin; i < job.span_end; ++i) floats += spans_[i].floats;
    const Bytes bytes(floats * int64_t{sizeof(float)});
    totals_.moved += bytes;
    totals_.busy += took;
    if (job.kind == CopyKind::kMove) {
      totals_.moves += bytes;
      totals_.move_time += took;
    }
    --(job.kind == CopyKind::kMove ? pending_move_ : pending_prefetch_)[job.layer];
    ++done_jobs_;
    done_cv_.notify_all();
  }
}

// spans_ is only appended to before Start(), so reading it unlocked while the batch runs is
// safe: the engine thread does not touch it until Finish() has seen every job done.
void CopyEngine::RunJob(const Job& job) {
  const double bytes_per_s = options_.link_gbps * 1e9;
  for (size_t i = job.span_begin; i < job.span_end; ++i) {
    const CopySpan& s = spans_[i];
    std::memcpy(s.dst, s.src, sizeof(float) * s.floats);
    if (bytes_per_s <= 0) continue;
    // Pace: the link carries one span after another at the emulated bandwidth; sleeping until
    // the span's arrival time makes the copy take as long as the link would.
    const double now = NowSeconds();
    if (link_free_at_ < now) link_free_at_ = now;
    link_free_at_ += static_cast<double>(sizeof(float) * s.floats) / bytes_per_s;
    while (NowSeconds() < link_free_at_) {
      const double left = link_free_at_ - NowSeconds();
      if (left > 50e-6) std::this_thread::sleep_for(std::chrono::duration<double>(left - 20e-6));
    }
  }
}

}  // namespace orbitflow
