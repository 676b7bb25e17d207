// The OpenAI-compatible request and response shapes (INTERFACES.md): parsing and validating a
// /v1/completions or /v1/chat/completions body into a GenerationRequest, and building the
// response and stream-chunk objects. No I/O here, so every rule is unit-testable.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "metrics/request_record.h"
#include "model/sampler.h"
#include "model/tokenizer.h"

namespace orbitflow {

enum class ApiKind { kCompletion, kChat };

// What the server knows when validating a request.
struct ApiLimits {
  std::string model_name;
  int64_t max_context = 0;     // prompt + max_tokens must fit
  int32_t vocab_size = 0;      // token-id prompts must be below it
  int64_t default_max_tokens = 16;
};

struct GenerationRequest {
  ApiKind kind = ApiKind::kCompletion;
  std::string model;
  std::vector<int32_t> prompt;  // token ids, BOS first for text prompts
  int64_t max_tokens = 16;
  SamplerOptions sampling;
  std::vector<std::string> stop;
  bool stream = false;
  bool include_usage = false;   // stream_options.include_usage
  bool ignore_eos = false;      // vLLM's extension: always produce max_tokens
  std::optional<double> tbt_slo_ms;  // "orbitflow": {"tbt_slo_ms": X}
  bool paced = false;                // "orbitflow": {"paced": true}
};

// An OpenAI error: HTTP status plus the body fields.
struct ApiError {
  int http_status = 400;
  std::string message;
  std::string type = "invalid_request_error";
  std::string param;
  std::string code;
};

// {"error": {"message", "type", "param", "code"}}
nlohmann::json ErrorBody(const ApiError& e);

// The chat template (documented in docs/serving.md): each message becomes "<role>: <content>\n",
// then "assistant:" is appended so the model continues as the assistant.
std::string ApplyChatTemplate(const nlohmann::json& messages);

// Parses and validates a request body. On failure returns the error to send.
std::optional<ApiError> ParseGenerationRequest(const std::string& body, ApiKind kind,
                                               const ApiLimits& limits, const Tokenizer& tokenizer,
                                               GenerationRequest* out);

// OpenAI's finish_reason for an engine FinishReason ("stop", "length", "cancelled", "error").
std::string ApiFinishReason(FinishReason reason);

// Full (non-streaming) response and stream chunks. `id` is the response id ("cmpl-N").
nlohmann::json CompletionResponse(const GenerationRequest& req, const std::string& id, int64_t created,
                                  const std::string& text, const std::string& finish_reason,
                                  int64_t completion_tokens);
nlohmann::json StreamChunk(const GenerationRequest& req, const std::string& id, int64_t created,
                           const std::string& text, const std::string* finish_reason);
nlohmann::json UsageJson(int64_t prompt_tokens, int64_t completion_tokens);

}  // namespace orbitflow
