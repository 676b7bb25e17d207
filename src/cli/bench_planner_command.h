// `orbitflow bench planner`: solve times of the OrbitFlow ILP backends on random instances.
#pragma once

#include <CLI/CLI.hpp>

#include "cli/command.h"

namespace orbitflow {

// Registers `planner` under the `bench` group.
Command AddBenchPlannerCommand(CLI::App& bench);

}  // namespace orbitflow
