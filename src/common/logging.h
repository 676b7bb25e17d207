// Logging goes through spdlog; this sets it up once, from main.
#pragma once

#include <string_view>

#include <spdlog/spdlog.h>

#include "orbitflow/status.h"

namespace orbitflow {

// Level names as spdlog knows them: trace, debug, info, warn, error, critical, off.
// Logs go to stderr so stdout carries only results.
Status InitLogging(std::string_view level);

}  // namespace orbitflow
