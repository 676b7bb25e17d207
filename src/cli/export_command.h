// `orbitflow export`: writes a model as a llama2.c checkpoint or a GGUF file.
#pragma once

#include "cli/command.h"

namespace orbitflow {
Command AddExportCommand(CLI::App& app);
}  // namespace orbitflow
