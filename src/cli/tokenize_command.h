// `orbitflow tokenize`: prints the token ids of a text under a model's tokenizer.
#pragma once

#include "cli/command.h"

namespace orbitflow {
Command AddTokenizeCommand(CLI::App& app);
}  // namespace orbitflow
