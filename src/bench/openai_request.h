// The OpenAI-compatible wire format as the load generator speaks it: the streaming request body
// for one BenchRequest, and what one SSE chunk of the response says (output text, finish reason,
// usage, error). Pure functions, so every server dialect's quirks are unit-tested.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "bench/bench_options.h"
#include "bench/request_set.h"

namespace orbitflow {

struct RequestBodyOptions {
  BenchEndpoint endpoint = BenchEndpoint::kCompletions;
  std::string model;
  bool orbitflow = false;  // add the "orbitflow" extension (only OrbitFlow servers accept it)
  double tbt_slo_ms = 100;
  bool paced = false;
};

// Completions: the prompt as token ids (so the input length is exact), max_tokens. Chat: the
// prompt text as one user message, max_completion_tokens. Both: stream with
// stream_options.include_usage, temperature 0, ignore_eos (vLLM's extension, so the output
// length is exact as vLLM's random dataset has it).
std::string MakeRequestBody(const BenchRequest& request, const RequestBodyOptions& options);

// One SSE data payload of a streaming response.
struct ChunkInfo {
  bool done = false;            // "[DONE]"
  bool carries_output = false;  // a token (or group of tokens) arrived with this chunk
  std::optional<std::string> finish_reason;
  std::optional<int64_t> prompt_tokens;      // usage, when the chunk has it
  std::optional<int64_t> completion_tokens;  // usage
  std::optional<std::string> error;          // an error object or unparseable JSON
};

// A chunk carries output when its first choice has non-empty text (completions) or content
// (chat), or has no finish_reason yet: OrbitFlow sends one chunk per token even while a
// multi-byte character is incomplete (empty text), then a separate chunk with the finish reason;
// vLLM puts the finish reason on the last token's chunk. Chat's role-only first delta and usage-
// only chunks carry nothing.
ChunkInfo InterpretChunk(std::string_view payload, BenchEndpoint endpoint);

}  // namespace orbitflow
