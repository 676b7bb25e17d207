// A subcommand of `orbitflow`: its CLI11 app (flags bound to options the command owns) and the
// function that runs it once parsing succeeded. Each subcommand lives in its own file and exposes
// one Add...Command function; main.cc lists them.
#pragma once

#include <functional>

#include <CLI/CLI.hpp>

#include "orbitflow/status.h"

namespace orbitflow {

struct Command {
  CLI::App* app = nullptr;
  std::function<Status()> run;
};

}  // namespace orbitflow
