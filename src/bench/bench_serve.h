// `orbitflow bench serve` as a library call: probe the server, build the requests, play them,
// summarise. The CLI and the end-to-end tests both call RunBenchServe.
#pragma once

#include <string>
#include <vector>

#include "bench/bench_metrics.h"
#include "bench/bench_options.h"
#include "bench/load_runner.h"
#include "bench/request_set.h"
#include "bench/server_probe.h"
#include "model/tokenizer.h"

namespace orbitflow {

struct BenchRun {
  ServerTarget target;
  ServerInfo server;
  std::string source;            // what was sent (RequestSet::source)
  int64_t dropped_too_long = 0;  // trace requests that did not fit the context
  std::vector<BenchRequest> requests;  // prompts cleared after the run (only lengths kept)
  LoadResult load;
  BenchSummary summary;
};

// Fails only before the first request is sent (bad options, unreachable server, bad trace);
// once the run starts every problem is a failed request in the summary. `tokenizer` builds the
// random prompts: the served model's own, or any (ids stay within the server's vocabulary
// when it lists its size).
StatusOr<BenchRun> RunBenchServe(const BenchServeOptions& options, const Tokenizer& tokenizer);

}  // namespace orbitflow
