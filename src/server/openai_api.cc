#include "server/openai_api.h"

#include <cmath>

#include <fmt/format.h>

namespace orbitflow {
namespace {

using json = nlohmann::json;

ApiError Bad(std::string message, std::string param, std::string code = "invalid_value") {
  return ApiError{.http_status = 400, .message = std::move(message), .param = std::move(param),
                  .code = std::move(code)};
}

// The prompt: a string (encoded with BOS) or an array of token ids, as OpenAI accepts.
std::optional<ApiError> ParsePrompt(const json& p, const ApiLimits& limits, const Tokenizer& tok,
                                    std::vector<int32_t>* out) {
  if (p.is_string()) {
    if (p.get_ref<const std::string&>().empty()) return Bad("'prompt' is empty", "prompt");
    *out = tok.Encode(p.get<std::string>(), /*bos=*/true, /*eos=*/false);
    return std::nullopt;
  }
  if (p.is_array()) {
    if (p.empty()) return Bad("'prompt' is empty", "prompt");
    if (p[0].is_string()) {
      if (p.size() != 1) return Bad("only one prompt per request is supported (n = 1)", "prompt");
      return ParsePrompt(p[0], limits, tok, out);
    }
    for (const json& id : p) {
      if (!id.is_number_integer()) return Bad("'prompt' must be a string or an array of token ids", "prompt", "invalid_type");
      const int64_t v = id.get<int64_t>();
      if (v < 0 || v >= limits.vocab_size) {
        return Bad(fmt::format("token id {} is outside the vocabulary [0, {})", v, limits.vocab_size), "prompt");
      }
      out->push_back(static_cast<int32_t>(v));
    }
    return std::nullopt;
  }
  return Bad("'prompt' must be a string or an array of token ids", "prompt", "invalid_type");
}

std::optional<ApiError> ParseMessages(const json& body, const Tokenizer& tok, std::vector<int32_t>* out) {
  if (!body.contains("messages")) return Bad("'messages' is required", "messages", "missing");
  const json& m = body["messages"];
  if (!m.is_array() || m.empty()) return Bad("'messages' must be a non-empty array", "messages", "invalid_type");
  for (const json& msg : m) {
    if (!msg.is_object() || !msg.contains("role") || !msg["role"].is_string() || !msg.contains("content") ||
        !msg["content"].is_string()) {
      return Bad("each message needs a string 'role' and a string 'content'", "messages", "invalid_type");
    }
  }
  *out = tok.Encode(ApplyChatTemplate(m), /*bos=*/true, /*eos=*/false);
  return std::nullopt;
}

// Type-checks optional fields; a present field of the wrong type is a 400.
std::optional<ApiError> ParseOptions(const json& b, const ApiLimits& limits, GenerationRequest* r) {
  auto number = [&](const char* k, double* v) -> std::optional<ApiError> {
    if (!b.contains(k) || b[k].is_null()) return std::nullopt;
    if (!b[k].is_number()) return Bad(fmt::format("'{}' must be a number", k), k, "invalid_type");
    *v = b[k].get<double>();
    if (!std::isfinite(*v)) return Bad(fmt::format("'{}' must be finite", k), k);
    return std::nullopt;
  };
  const char* int_key = r->kind == ApiKind::kChat && b.contains("max_completion_tokens") ? "max_completion_tokens" : "max_tokens";
  if (b.contains(int_key) && !b[int_key].is_null()) {
    if (!b[int_key].is_number_integer()) return Bad(fmt::format("'{}' must be an integer", int_key), int_key, "invalid_type");
    r->max_tokens = b[int_key].get<int64_t>();
    if (r->max_tokens < 1) return Bad(fmt::format("'{}' must be at least 1, got {}", int_key, r->max_tokens), int_key);
  } else {
    r->max_tokens = limits.default_max_tokens;
  }
  double temperature = 1.0, top_p = 1.0;
  if (auto e = number("temperature", &temperature)) return e;
  if (auto e = number("top_p", &top_p)) return e;
  if (temperature < 0) return Bad("'temperature' must be >= 0", "temperature");
  r->sampling.temperature = static_cast<float>(temperature);
  r->sampling.top_p = static_cast<float>(top_p);
  if (b.contains("seed") && !b["seed"].is_null()) {
    if (!b["seed"].is_number_integer()) return Bad("'seed' must be an integer", "seed", "invalid_type");
    r->sampling.seed = b["seed"].get<uint64_t>();
  }
  if (b.contains("n") && !(b["n"].is_number_integer() && b["n"].get<int64_t>() == 1)) {
    return Bad("only n = 1 is supported", "n");
  }
  if (b.contains("stop") && !b["stop"].is_null()) {
    const json& s = b["stop"];
    if (s.is_string()) {
      r->stop.push_back(s.get<std::string>());
    } else if (s.is_array()) {
      for (const json& x : s) {
        if (!x.is_string()) return Bad("'stop' must be a string or an array of strings", "stop", "invalid_type");
        r->stop.push_back(x.get<std::string>());
      }
    } else {
      return Bad("'stop' must be a string or an array of strings", "stop", "invalid_type");
    }
    std::erase_if(r->stop, [](const std::string& x) { return x.empty(); });
  }
  for (const char* k : {"stream", "ignore_eos"}) {
    if (b.contains(k) && !b[k].is_boolean()) return Bad(fmt::format("'{}' must be a boolean", k), k, "invalid_type");
  }
  r->stream = b.value("stream", false);
  r->ignore_eos = b.value("ignore_eos", false);
  if (b.contains("stream_options") && b["stream_options"].is_object()) {
    r->include_usage = b["stream_options"].value("include_usage", false);
  }
  if (b.contains("orbitflow")) {
    const json& o = b["orbitflow"];
    if (!o.is_object()) return Bad("'orbitflow' must be an object", "orbitflow", "invalid_type");
    if (o.contains("tbt_slo_ms")) {
      if (!o["tbt_slo_ms"].is_number() || !(o["tbt_slo_ms"].get<double>() > 0)) {
        return Bad("'orbitflow.tbt_slo_ms' must be a positive number", "orbitflow.tbt_slo_ms");
      }
      r->tbt_slo_ms = o["tbt_slo_ms"].get<double>();
    }
    if (o.contains("paced")) {
      if (!o["paced"].is_boolean()) return Bad("'orbitflow.paced' must be a boolean", "orbitflow.paced", "invalid_type");
      r->paced = o["paced"].get<bool>();
    }
  }
  return std::nullopt;
}

}  // namespace

json ErrorBody(const ApiError& e) {
  return json{{"error", {{"message", e.message}, {"type", e.type},
                         {"param", e.param.empty() ? json(nullptr) : json(e.param)},
                         {"code", e.code.empty() ? json(nullptr) : json(e.code)}}}};
}

std::string ApplyChatTemplate(const json& messages) {
  std::string text;
  for (const json& m : messages) {
    text += m["role"].get<std::string>() + ": " + m["content"].get<std::string>() + "\n";
  }
  return text + "assistant:";
}

std::optional<ApiError> ParseGenerationRequest(const std::string& body, ApiKind kind, const ApiLimits& limits,
                                               const Tokenizer& tokenizer, GenerationRequest* out) {
  json b = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (b.is_discarded()) return Bad("the request body is not valid JSON", "", "invalid_json");
  if (!b.is_object()) return Bad("the request body must be a JSON object", "", "invalid_type");
  out->kind = kind;
  if (b.contains("model")) {
    if (!b["model"].is_string()) return Bad("'model' must be a string", "model", "invalid_type");
    out->model = b["model"].get<std::string>();
    if (out->model != limits.model_name) {
      return ApiError{.http_status = 404, .message = fmt::format("The model '{}' does not exist; this server "
                                                                 "serves '{}'", out->model, limits.model_name),
                      .type = "NotFoundError", .param = "model", .code = "model_not_found"};
    }
  } else {
    out->model = limits.model_name;
  }
  if (kind == ApiKind::kChat) {
    if (auto e = ParseMessages(b, tokenizer, &out->prompt)) return e;
  } else {
    if (!b.contains("prompt")) return Bad("'prompt' is required", "prompt", "missing");
    if (auto e = ParsePrompt(b["prompt"], limits, tokenizer, &out->prompt)) return e;
  }
  if (auto e = ParseOptions(b, limits, out)) return e;
  const int64_t total = static_cast<int64_t>(out->prompt.size()) + out->max_tokens;
  if (total > limits.max_context) {
    return Bad(fmt::format("This model's maximum context length is {} tokens. However, you requested {} "
                           "tokens ({} in the prompt, {} for the completion). Please reduce the prompt "
                           "or max_tokens.", limits.max_context, total, out->prompt.size(), out->max_tokens),
               out->prompt.size() >= static_cast<size_t>(limits.max_context) ? "prompt" : "max_tokens",
               "context_length_exceeded");
  }
  return std::nullopt;
}

std::string ApiFinishReason(FinishReason reason) {
  switch (reason) {
    case FinishReason::kStop: return "stop";
    case FinishReason::kLength: return "length";
    case FinishReason::kCancelled: return "cancelled";
    default: return "error";
  }
}

json UsageJson(int64_t prompt_tokens, int64_t completion_tokens) {
  return json{{"prompt_tokens", prompt_tokens}, {"completion_tokens", completion_tokens},
              {"total_tokens", prompt_tokens + completion_tokens}};
}

json CompletionResponse(const GenerationRequest& req, const std::string& id, int64_t created,
                        const std::string& text, const std::string& finish_reason, int64_t completion_tokens) {
  json choice{{"index", 0}, {"finish_reason", finish_reason}};
  if (req.kind == ApiKind::kChat) {
    choice["message"] = {{"role", "assistant"}, {"content", text}};
  } else {
    choice["text"] = text;
    choice["logprobs"] = nullptr;
  }
  return json{{"id", id}, {"object", req.kind == ApiKind::kChat ? "chat.completion" : "text_completion"},
              {"created", created}, {"model", req.model}, {"choices", json::array({choice})},
              {"usage", UsageJson(static_cast<int64_t>(req.prompt.size()), completion_tokens)}};
}

json StreamChunk(const GenerationRequest& req, const std::string& id, int64_t created, const std::string& text,
                 const std::string* finish_reason) {
  json choice{{"index", 0}, {"finish_reason", finish_reason ? json(*finish_reason) : json(nullptr)}};
  if (req.kind == ApiKind::kChat) {
    choice["delta"] = finish_reason && text.empty() ? json::object() : json{{"content", text}};
  } else {
    choice["text"] = text;
    choice["logprobs"] = nullptr;
  }
  return json{{"id", id}, {"object", req.kind == ApiKind::kChat ? "chat.completion.chunk" : "text_completion"},
              {"created", created}, {"model", req.model}, {"choices", json::array({choice})}};
}

}  // namespace orbitflow
