// One parser per trace format, from text in memory. Each returns the file's requests sorted by
// arrival and indexed 0..n-1, before TraceOptions are applied (ParseTrace in workload.h applies
// them). `source` names the text in error messages, usually its path.
#pragma once

#include <string_view>

#include "orbitflow/status.h"
#include "workload/workload.h"

namespace orbitflow {

// Azure LLM inference 2023 CSV: `TIMESTAMP,ContextTokens,GeneratedTokens` (columns found by
// name, extra columns ignored), stamps like `2023-11-16 18:15:46.6805900` (years 1970-2199, up
// to 9 fraction digits). arrival = seconds since the earliest row, so rows out of order are
// sorted, not rejected. Unit: seconds.
StatusOr<Workload> ParseAzureCsv(std::string_view text, std::string_view source);

// Mooncake JSONL: one object per line with `timestamp` (ms), `input_length`, `output_length` and
// optional `hash_ids`. arrival = (timestamp - earliest timestamp) / 1000 seconds.
StatusOr<Workload> ParseMooncakeJsonl(std::string_view text, std::string_view source);

// Length-only CSV (Vidur, Sarathi): `num_prefill_tokens,num_decode_tokens,...`. Every arrival is
// 0; ParseTrace draws them from an arrival process. Unit: seconds.
StatusOr<Workload> ParseLengthsCsv(std::string_view text, std::string_view source);

// OrbitFlow reference trace JSON: header keys and `requests: {"request_N": {...}}`, ordered by N.
// arrival = `arrival_time` in engine decode steps (`sched_time` is one recorded schedule and is
// ignored). Arrivals must be non-decreasing in N. The profiling trace's object-valued
// `arrival_pattern` is accepted and kept as compact JSON. Unit: steps.
StatusOr<Workload> ParseOrbitflowJson(std::string_view text, std::string_view source);

}  // namespace orbitflow
