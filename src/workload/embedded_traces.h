// Trace files compiled into the library (see CMakeLists.txt), so the named workloads need no
// file on disk. The bytes are exactly those of data/traces/orbitflow_paper/<name> in the repo.
#pragma once

#include <optional>
#include <string_view>
#include <vector>

namespace orbitflow {

// The embedded file called `file_name` (e.g. "32k_lambda2.0x_cv1.json"), or nullopt.
std::optional<std::string_view> EmbeddedTraceFile(std::string_view file_name);

// Names of every embedded file, in the order CMakeLists.txt lists them.
std::vector<std::string_view> EmbeddedTraceFileNames();

}  // namespace orbitflow
