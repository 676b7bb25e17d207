// Where the server is and what it serves: the parsed --url, and what GET /v1/models says (the
// model names, the context length and whether it is an OrbitFlow server that understands the
// "orbitflow" request extension).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "orbitflow/status.h"

namespace orbitflow {

struct ServerTarget {
  std::string url;               // as given, for messages
  std::string scheme_host_port;  // "http://127.0.0.1:8000", what the HTTP client connects to
  std::string path_prefix;       // "" or e.g. "/api" (prepended to every route)
};

// Accepts http:// and https:// URLs with an optional port and path prefix; a trailing '/' is
// dropped. A missing scheme or an empty host is an InvalidArgument naming --url.
StatusOr<ServerTarget> ParseServerUrl(const std::string& url);

struct ServerInfo {
  std::vector<std::string> models;  // ids from /v1/models (empty if it has no such route)
  std::string model;                // the model the run uses
  // What /v1/models says about that model, when it says it.
  std::optional<int64_t> max_model_len;  // context length (vLLM and OrbitFlow list it)
  std::optional<int32_t> vocab_size;     // OrbitFlow lists it
  bool orbitflow = false;                // accepts "orbitflow": {"tbt_slo_ms", "paced"}
};

// GET <prefix>/v1/models and picks the model: `wanted` if set (NotFound if the server lists
// models and not this one), else the first listed. Unavailable (one line, naming the URL) if
// the server cannot be reached; InvalidArgument if no model is known (no route, no --model).
StatusOr<ServerInfo> ProbeServer(const ServerTarget& target, const std::string& api_key, const std::string& wanted);

}  // namespace orbitflow
