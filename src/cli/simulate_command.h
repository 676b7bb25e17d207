// `orbitflow simulate`: replay a workload on the simulated GPU under several policies.
#pragma once

#include <optional>
#include <string>

#include <CLI/CLI.hpp>

#include "cli/command.h"
#include "cli/policies.h"
#include "orbitflow/status.h"

namespace orbitflow {

struct SimulateOptions {
  std::string model = "llama-3.1-8b";
  std::string gpu = "rtx-a6000";
  std::string profile;                  // a measured profile (JSON), overrides --gpu's fits
  std::string workload;                 // a named workload (paper-32k, paper-128k)
  std::string trace;                    // or a trace file
  std::string trace_format;             // azure|mooncake|lengths|orbitflow (guessed if empty)
  std::string policies = "all";
  double slo_scale = 1.5;
  double rate_scale = 0;                // 0: the workload's default
  double cv = 1.0;
  double request_rate = 1.0;            // lengths traces: requests per second
  std::optional<int> batch_size;
  std::optional<int64_t> device_kv_blocks;
  std::optional<int64_t> max_requests;
  std::string planner_mode = "ahead";
  bool chunked_prefill = false;
  double compute_noise = 0.0;
  double sim_compute_scale = 1.0;  // the simulated GPU against the profile (runtime refinement)
  double sim_link_scale = 1.0;
  bool refit_cost = true;
  uint64_t seed = 0;
  std::string out;
  bool progress = true;
  PolicyOptions policy;
};

// Registers `orbitflow simulate` and its flags.
Command AddSimulateCommand(CLI::App& app);
Status RunSimulate(const SimulateOptions& opts);

}  // namespace orbitflow
