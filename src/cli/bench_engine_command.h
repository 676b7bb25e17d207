// `orbitflow bench latency` / `bench throughput`: the CPU executor's decode speed on one stream
// or on a batch of streams, in-process (no server).
#pragma once

#include "cli/command.h"

namespace orbitflow {
Command AddBenchLatencyCommand(CLI::App& bench);
Command AddBenchThroughputCommand(CLI::App& bench);
}  // namespace orbitflow
