// `orbitflow serve`: the OpenAI-compatible HTTP server on the real CPU executor.
#pragma once

#include <CLI/CLI.hpp>

#include "cli/command.h"

namespace orbitflow {

// Registers `orbitflow serve` and its flags.
Command AddServeCommand(CLI::App& app);

}  // namespace orbitflow
