#include "bench/stream_client.h"

#include <httplib.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "bench/transport_error.h"

#include "bench/openai_request.h"
#include "bench/sse_parser.h"

namespace orbitflow {
namespace {

using SteadyTime = std::chrono::steady_clock;

double SecondsBetween(SteadyTime::time_point a, SteadyTime::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

void SetTimeout(double seconds, const std::function<void(time_t, time_t)>& set) {
  const auto whole = static_cast<time_t>(seconds);
  set(whole, static_cast<time_t>((seconds - static_cast<double>(whole)) * 1e6));
}

// "HTTP 429: the admission queue is full" from an OpenAI error body, or the body's start.
std::string HttpError(int status, const std::string& body) {
  const nlohmann::json j = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_object() && j.contains("error")) {
    const nlohmann::json& e = j["error"];
    if (e.is_object() && e.contains("message") && e["message"].is_string()) {
      return fmt::format("HTTP {}: {}", status, e["message"].get<std::string>());
    }
    if (e.is_string()) return fmt::format("HTTP {}: {}", status, e.get<std::string>());
  }
  return fmt::format("HTTP {}: {}", status, body.substr(0, 200));
}

// What the chunks of one response added up to.
struct StreamState {
  int status = 0;
  std::string error_body;
  SteadyTime::time_point sent;
  std::optional<SteadyTime::time_point> last_event;  // the end of the stream as the client saw it
  bool done = false;
  std::optional<std::string> error;
  std::optional<int64_t> usage_prompt, usage_completion;
};

}  // namespace

RequestOutcome SendStreamingRequest(const ServerTarget& target, const StreamRequest& sr,
                                    const StreamClientOptions& o, SteadyTime::time_point run_start) {
  const BenchRequest& br = *sr.request;
  RequestOutcome out;
  out.index = br.index;
  out.prompt_tokens = br.input_len;
  out.expected_output_tokens = br.output_len;
  httplib::Client client(target.scheme_host_port);
  SetTimeout(o.connect_timeout_s, [&](time_t s, time_t us) { client.set_connection_timeout(s, us); });
  SetTimeout(o.read_timeout_s, [&](time_t s, time_t us) { client.set_read_timeout(s, us); });
  SetTimeout(o.read_timeout_s, [&](time_t s, time_t us) { client.set_write_timeout(s, us); });

  StreamState st;
  SseParser parser([&](std::string_view data) {
    if (st.done || st.error) return;
    const auto now = SteadyTime::now();
    st.last_event = now;
    const ChunkInfo c = InterpretChunk(data, o.endpoint);
    if (c.error) st.error = *c.error;
    if (c.done) st.done = true;
    if (c.prompt_tokens) st.usage_prompt = c.prompt_tokens;
    if (c.completion_tokens) st.usage_completion = c.completion_tokens;
    if (c.finish_reason) out.finish_reason = *c.finish_reason;
    if (c.carries_output) out.chunk_s.push_back(SecondsBetween(st.sent, now));
  });
  httplib::Request req;
  req.method = "POST";
  req.path = target.path_prefix + std::string(BenchEndpointPath(o.endpoint));
  req.body = sr.body;
  req.set_header("Content-Type", "application/json");
  req.set_header("Accept", "text/event-stream");
  if (!o.api_key.empty()) req.set_header("Authorization", "Bearer " + o.api_key);
  req.response_handler = [&](const httplib::Response& res) {
    st.status = res.status;
    return true;
  };
  req.content_receiver = [&](const char* data, size_t n, uint64_t, uint64_t) {
    if (st.status != 200) {
      if (st.error_body.size() < 4096) st.error_body.append(data, n);
    } else {
      parser.Feed(std::string_view(data, n));
    }
    return true;
  };
  st.sent = SteadyTime::now();
  out.send_s = SecondsBetween(run_start, st.sent);
  httplib::Result res = client.send(req);
  if (st.status == 200) parser.Finish();
  out.latency_s = SecondsBetween(st.sent, st.last_event.value_or(SteadyTime::now()));

  if (!res && !st.done) {
    out.error = fmt::format("{} ({})", TransportError(res.error()), target.url);
  } else if (st.status != 200) {
    out.error = HttpError(st.status, st.error_body);
  } else if (st.error) {
    out.error = "error event: " + *st.error;
  } else if (!st.done && !out.finish_reason.empty()) {
    out.error.clear();  // a server that closes without [DONE] after the finish reason
  } else if (!st.done) {
    out.error = "the stream ended before [DONE]";
  }
  if (out.error.empty() && (out.finish_reason == "cancelled" || out.finish_reason == "error")) {
    out.error = "the server ended the request: finish_reason " + out.finish_reason;
  }
  out.success = out.error.empty();
  if (st.usage_prompt) out.prompt_tokens = *st.usage_prompt;
  out.output_tokens = st.usage_completion.value_or(static_cast<int64_t>(out.chunk_s.size()));
  return out;
}

}  // namespace orbitflow
