// `orbitflow profile`: measures this machine's compute and link fits for a model with the CPU
// executor and writes them as a cost profile (cost/cost_profile.h) that `simulate --profile`
// and the planner load.
#pragma once

#include "cli/command.h"

namespace orbitflow {
Command AddProfileCommand(CLI::App& app);
}  // namespace orbitflow
