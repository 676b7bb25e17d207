#include "bench/openai_request.h"

#include <nlohmann/json.hpp>

namespace orbitflow {
namespace {

using json = nlohmann::json;

std::optional<std::string> StringOrNone(const json& j, const char* key) {
  if (!j.is_object() || !j.contains(key) || !j[key].is_string()) return std::nullopt;
  return j[key].get<std::string>();
}

std::optional<int64_t> IntOrNone(const json& j, const char* key) {
  if (!j.is_object() || !j.contains(key) || !j[key].is_number_integer()) return std::nullopt;
  return j[key].get<int64_t>();
}

}  // namespace

std::string MakeRequestBody(const BenchRequest& r, const RequestBodyOptions& o) {
  json body{{"model", o.model}, {"stream", true}, {"stream_options", {{"include_usage", true}}},
            {"temperature", 0.0}, {"ignore_eos", true}};
  if (o.endpoint == BenchEndpoint::kCompletions) {
    body["prompt"] = r.prompt_ids;
    body["max_tokens"] = r.output_len;
  } else {
    body["messages"] = json::array({{{"role", "user"}, {"content", r.prompt_text}}});
    body["max_completion_tokens"] = r.output_len;
  }
  if (o.orbitflow) {
    body["orbitflow"] = {{"tbt_slo_ms", o.tbt_slo_ms}, {"paced", o.paced}};
  }
  return body.dump(-1, ' ', false, json::error_handler_t::replace);
}

ChunkInfo InterpretChunk(std::string_view payload, BenchEndpoint endpoint) {
  ChunkInfo c;
  if (payload == "[DONE]") {
    c.done = true;
    return c;
  }
  const json j = json::parse(payload, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) {
    c.error = "malformed stream chunk: " + std::string(payload.substr(0, 120));
    return c;
  }
  if (j.contains("error") && !j["error"].is_null()) {
    const json& e = j["error"];
    c.error = StringOrNone(e, "message").value_or(e.dump());
    return c;
  }
  if (j.contains("usage") && j["usage"].is_object()) {
    c.prompt_tokens = IntOrNone(j["usage"], "prompt_tokens");
    c.completion_tokens = IntOrNone(j["usage"], "completion_tokens");
  }
  if (!j.contains("choices") || !j["choices"].is_array() || j["choices"].empty()) return c;
  const json& choice = j["choices"][0];
  c.finish_reason = StringOrNone(choice, "finish_reason");
  if (endpoint == BenchEndpoint::kCompletions) {
    const std::optional<std::string> text = StringOrNone(choice, "text");
    c.carries_output = (text && !text->empty()) || (text && !c.finish_reason);
  } else {
    const json delta = choice.is_object() && choice.contains("delta") ? choice["delta"] : json();
    const std::optional<std::string> content = StringOrNone(delta, "content");
    const bool role_only = delta.is_object() && delta.contains("role") && (!content || content->empty());
    c.carries_output = !role_only && ((content && !content->empty()) || (content && !c.finish_reason));
  }
  return c;
}

}  // namespace orbitflow
