// `orbitflow bench serve`: the load generator. Drives any OpenAI-compatible server with a random
// dataset or a trace and reports vLLM's `bench serve` figures plus TBT SLO attainment with and
// without Token Deposit and TPOT attainment, as a table and as JSON.
#pragma once

#include "cli/command.h"

namespace orbitflow {
Command AddBenchServeCommand(CLI::App& bench);
}  // namespace orbitflow
