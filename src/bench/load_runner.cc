#include "bench/load_runner.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>

namespace orbitflow {

LoadResult RunLoad(const std::vector<BenchRequest>& requests, const SendFn& send, const LoadOptions& options) {
  using SteadyTime = std::chrono::steady_clock;
  LoadResult result;
  result.outcomes.resize(requests.size());
  const size_t workers = std::min(requests.size(), static_cast<size_t>(std::max(1, options.max_in_flight)));
  std::atomic<size_t> next{0};
  std::atomic<int> in_flight{0};
  std::atomic<int> peak{0};
  std::mutex mu;  // guards finished, end
  std::condition_variable cv;
  size_t finished = 0;
  SteadyTime::time_point end{};
  const SteadyTime::time_point start = SteadyTime::now();

  // A worker takes the next request in arrival order, waits for its arrival time, sends it; so
  // with fewer workers than requests a request waits for a free worker, like vLLM's semaphore.
  auto work = [&] {
    for (size_t i = next.fetch_add(1); i < requests.size(); i = next.fetch_add(1)) {
      std::this_thread::sleep_until(start + std::chrono::duration_cast<SteadyTime::duration>(
                                                std::chrono::duration<double>(requests[i].arrival_s)));
      const int now_in_flight = in_flight.fetch_add(1) + 1;
      for (int p = peak.load(); now_in_flight > p && !peak.compare_exchange_weak(p, now_in_flight);) {
      }
      RequestOutcome o = send(i, start);
      in_flight.fetch_sub(1);
      std::lock_guard<std::mutex> lock(mu);
      result.outcomes[i] = std::move(o);  // each slot is written by one worker
      ++finished;
      end = SteadyTime::now();
      cv.notify_one();
    }
  };
  std::vector<std::thread> threads;
  threads.reserve(workers);
  for (size_t w = 0; w < workers; ++w) threads.emplace_back(work);

  ProgressBar bar({.label = options.label, .total = static_cast<int64_t>(requests.size()), .mode = options.progress});
  {
    std::unique_lock<std::mutex> lock(mu);
    while (finished < requests.size()) {
      cv.wait_for(lock, std::chrono::milliseconds(100));
      bar.Update(static_cast<int64_t>(finished));
    }
  }
  for (std::thread& t : threads) t.join();
  bar.Finish();
  result.duration_s = requests.empty() ? 0.0 : std::chrono::duration<double>(end - start).count();
  result.max_concurrent = peak.load();
  return result;
}

}  // namespace orbitflow
