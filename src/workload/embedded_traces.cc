#include "workload/embedded_traces.h"

#include <cstddef>

namespace orbitflow {

// Defined in the file CMake generates from data/traces/orbitflow_paper/.
struct EmbeddedFile {
  const char* name;
  const unsigned char* data;
  size_t size;
};
extern const EmbeddedFile kEmbeddedTraceFiles[];
extern const size_t kNumEmbeddedTraceFiles;

std::optional<std::string_view> EmbeddedTraceFile(std::string_view file_name) {
  for (size_t i = 0; i < kNumEmbeddedTraceFiles; ++i) {
    const EmbeddedFile& f = kEmbeddedTraceFiles[i];
    if (file_name == f.name) {
      return std::string_view(reinterpret_cast<const char*>(f.data), f.size);
    }
  }
  return std::nullopt;
}

std::vector<std::string_view> EmbeddedTraceFileNames() {
  std::vector<std::string_view> names;
  for (size_t i = 0; i < kNumEmbeddedTraceFiles; ++i)
    names.emplace_back(kEmbeddedTraceFiles[i].name);
  return names;
}

}  // namespace orbitflow
