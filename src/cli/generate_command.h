// `orbitflow generate`: runs one prompt through the CPU executor and streams the text to stdout.
#pragma once

#include "cli/command.h"

namespace orbitflow {
Command AddGenerateCommand(CLI::App& app);
}  // namespace orbitflow
