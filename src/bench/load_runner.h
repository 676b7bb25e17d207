// Plays a request schedule against a server: each request is sent at its arrival time (or, with
// a concurrency limit, as soon after as a slot frees), one thread per request in flight, and a
// progress bar on a TTY. How a request is sent is a parameter, so the schedule and concurrency
// logic is tested without a network.
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "bench/bench_metrics.h"
#include "bench/request_set.h"
#include "common/progress_bar.h"

namespace orbitflow {

struct LoadOptions {
  int max_in_flight = kMaxInFlight;  // >= 1
  ProgressBarOptions::Mode progress = ProgressBarOptions::Mode::kAuto;
  std::string label = "bench serve";
};

struct LoadResult {
  std::vector<RequestOutcome> outcomes;  // in request order
  double duration_s = 0;                 // start of the run to the end of the last request
  int max_concurrent = 0;                // most requests in flight at once
};

// Sends request i (called on a worker thread; must be thread-safe). `start` is the run's origin.
using SendFn = std::function<RequestOutcome(size_t i, std::chrono::steady_clock::time_point start)>;

// REQUIRES: `requests` ordered by arrival (BuildRequestSet makes them so).
LoadResult RunLoad(const std::vector<BenchRequest>& requests, const SendFn& send, const LoadOptions& options);

}  // namespace orbitflow
