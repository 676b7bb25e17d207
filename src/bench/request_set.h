// The requests a bench run sends: their prompts (token ids, and text for chat), output lengths
// and arrival times, from vLLM's random dataset or from a trace file. Built before the run
// starts, so no sampling or tokenizing happens while requests are being timed.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "bench/bench_options.h"
#include "bench/server_probe.h"
#include "model/tokenizer.h"
#include "orbitflow/status.h"

namespace orbitflow {

struct BenchRequest {
  int64_t index = 0;
  double arrival_s = 0;  // when to send it, from the start of the run
  int64_t input_len = 0;
  int64_t output_len = 0;
  std::vector<int32_t> prompt_ids;  // input_len random token ids (the completions prompt)
  std::string prompt_text;          // the same ids decoded (the chat message)
};

struct RequestSet {
  std::vector<BenchRequest> requests;
  std::string source;           // "random (input 64, output 128)" or the trace and what was done
  int64_t dropped_too_long = 0;  // trace requests that do not fit the server's context
};

// vLLM's random dataset: every prompt is `input_len` token ids drawn uniformly from the
// tokenizer's ordinary pieces (no control or byte tokens, so the text is clean UTF-8), limited
// to the server's vocabulary when it says how large that is. Lengths and ids are seeded.
//
// Arrivals: request_rate infinity (the default) sends everything at time 0; otherwise gaps are
// exponential (burstiness 1) or gamma with shape `burstiness`, seeded by `seed`. A trace with
// arrival times in seconds replays them unless request_rate is set; a trace counted in engine
// steps (the OrbitFlow format) or without times (the lengths format) takes the rate's arrivals.
// Trace requests whose input + output exceed the server's context are dropped (counted).
StatusOr<RequestSet> BuildRequestSet(const BenchServeOptions& options, const ServerInfo& server,
                                     const Tokenizer& tokenizer);

// Arrival times of `n` requests as described above (rate infinity: all 0).
StatusOr<std::vector<double>> BenchArrivals(int64_t n, double rate, double burstiness, uint64_t seed);

}  // namespace orbitflow
