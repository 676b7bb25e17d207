// Built-in workloads, by name, from the trace files compiled into the library:
//   paper-32k   the OrbitFlow paper's 32k traces (52 requests, batch 4, max_model_len 32,384),
//               shipped at load multipliers 1.0, 2.0, 2.5, 3.0, 4.5 and 5.0x
//   paper-128k  the 128k trace (100 requests, batch 8, max_model_len 131,072), shipped at 2.0x
// Arrivals count engine decode steps (ArrivalUnit::kSteps).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "orbitflow/status.h"
#include "workload/workload.h"

namespace orbitflow {

struct NamedWorkloadOptions {
  // The paper's load multiplier X (unset: 2.0x, the paper's default). A shipped file for X is
  // used as is; otherwise the shipped file with the nearest multiplier M (ties: the lower M),
  // with every arrival multiplied by M / X. Must be finite and > 0.
  std::optional<double> rate_scale;
  std::optional<int64_t> max_requests;  // as TraceOptions::max_requests
  std::optional<int64_t> max_context;   // as TraceOptions::max_context (drops longer requests)
};

inline constexpr double kDefaultPaperLoadMultiplier = 2.0;

// "paper-32k", "paper-128k".
std::vector<std::string> NamedWorkloads();

// The shipped load multipliers of a named workload, ascending (empty if the name is unknown).
std::vector<double> NamedWorkloadMultipliers(std::string_view name);

// Loads a named workload. An unknown name is NotFound listing the known ones.
StatusOr<Workload> LoadNamedWorkload(std::string_view name,
                                     const NamedWorkloadOptions& options = {});

}  // namespace orbitflow
