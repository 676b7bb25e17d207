// A bench run for people (the table `vllm bench serve` prints, plus the SLO section) and for
// programs (JSON with vLLM's field names, OrbitFlow's SLO fields and per-request arrays).
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "bench/bench_options.h"
#include "bench/bench_serve.h"

namespace orbitflow {

std::string FormatBenchTable(const BenchRun& run, const BenchServeOptions& options);

// Summary fields at the top level (completed, failed, duration_s, ..., mean_ttft_ms, ...,
// tbt_attainment, tbt_attainment_deposit, tpot_attainment), the run's settings, and per-request
// arrays (input_lens, output_lens, send_times, ttfts, itls in seconds; errors).
nlohmann::json BenchRunToJson(const BenchRun& run, const BenchServeOptions& options);

}  // namespace orbitflow
