#include "server/http_server.h"

#include <sys/socket.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <mutex>
#include <thread>

#include <httplib.h>
#include <fmt/format.h>

#include "server/text_stream.h"

namespace orbitflow {
namespace {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

// Client text may end mid-character while a stop string is held back; never throw on it.
std::string Dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

void SendError(httplib::Response& res, const ApiError& e) {
  res.status = e.http_status;
  res.set_content(Dump(ErrorBody(e)), "application/json");
}

int64_t UnixNow() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// One streaming response's state, shared by the content provider and its releaser.
struct StreamState {
  GenerationRequest req;
  std::string id;
  int64_t created = 0;
  std::shared_ptr<TokenChannel> channel;
  TextStream text;
  size_t consumed = 0;
  int64_t tokens = 0;
  bool finished = false;
  Clock::time_point next_release{};
  std::chrono::duration<double> slo{0.1};
  EngineService* service = nullptr;
};

bool WriteEvent(httplib::DataSink& sink, const std::string& payload) {
  const std::string line = "data: " + payload + "\n\n";
  return sink.write(line.data(), line.size());
}

// Paced streaming (Token Deposit in serving): token i goes out no earlier than token i-1 + S.
void Pace(StreamState& s) {
  if (!s.req.paced) return;
  const auto now = Clock::now();
  if (s.tokens == 0 || s.next_release < now) {
    s.next_release = now;
  } else {
    std::this_thread::sleep_until(s.next_release);
  }
  s.next_release += std::chrono::duration_cast<Clock::duration>(s.slo);
}

// Ends a chunked response. The packaged cpp-httplib is a prebuilt, uninstrumented library whose
// done() initialises function-local statics the first time it runs; ThreadSanitizer cannot see
// the guard's synchronisation and reports every later done() on another thread as a race. So
// the first done() runs under a mutex and is published through an atomic, and every other one
// is ordered after it where TSan can see it. The cost is one atomic load per stream.
void SinkDone(httplib::DataSink& sink) {
  static std::atomic<bool> initialised{false};
  static std::mutex first;
  if (!initialised.load(std::memory_order_acquire)) {
    std::lock_guard<std::mutex> lock(first);
    if (!initialised.load(std::memory_order_relaxed)) {
      sink.done();
      initialised.store(true, std::memory_order_release);
      return;
    }
  }
  sink.done();
}

bool FinishStream(StreamState& s, httplib::DataSink& sink, FinishReason reason, const std::string& message) {
  s.finished = true;
  const std::string rest = s.text.Finish();
  if (reason == FinishReason::kFailed) {
    WriteEvent(sink, Dump(ErrorBody({.http_status = 400, .message = message, .code = "request_failed"})));
  } else {
    const std::string why = s.text.stopped() ? "stop" : ApiFinishReason(reason);
    WriteEvent(sink, Dump(StreamChunk(s.req, s.id, s.created, rest, &why)));
    if (s.req.include_usage) {
      json usage = StreamChunk(s.req, s.id, s.created, "", nullptr);
      usage["choices"] = json::array();
      usage["usage"] = UsageJson(static_cast<int64_t>(s.req.prompt.size()), s.tokens);
      WriteEvent(sink, Dump(usage));
    }
  }
  WriteEvent(sink, "[DONE]");
  SinkDone(sink);
  return true;
}

// The chunked content provider: forwards tokens as they arrive until the request finishes.
bool StreamTokens(StreamState& s, httplib::DataSink& sink) {
  std::vector<int32_t> fresh;
  while (true) {
    fresh.clear();
    TokenChannel::Update u = s.channel->Wait(&s.consumed, std::chrono::milliseconds(50), &fresh);
    if (!sink.is_writable()) {
      s.service->Cancel(s.channel);
      return false;
    }
    for (int32_t t : fresh) {
      Pace(s);
      const std::string piece = s.text.Add(t);
      ++s.tokens;
      if (s.text.stopped()) {
        s.service->Cancel(s.channel);
        return FinishStream(s, sink, FinishReason::kStop, "");
      }
      if (!WriteEvent(sink, Dump(StreamChunk(s.req, s.id, s.created, piece, nullptr)))) {
        s.service->Cancel(s.channel);
        return false;
      }
    }
    if (u.closed) return FinishStream(s, sink, u.reason, u.message);
  }
}

}  // namespace

HttpServer::HttpServer(HttpServerOptions options, ApiLimits limits, EngineService* service,
                       const Tokenizer* tokenizer)
    : options_(std::move(options)), limits_(std::move(limits)), service_(service), tokenizer_(tokenizer),
      server_(std::make_unique<httplib::Server>()) {
  const size_t threads = static_cast<size_t>(std::max(1, options_.http_threads));
  server_->new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  // Remember the socket httplib binds, so Bind() can widen its listen backlog. SO_REUSEADDR
  // lets a restarted server rebind a port still in TIME_WAIT. Unlike the library's default we
  // do not set SO_REUSEPORT: with it a second server on a busy port would bind successfully and
  // silently share the first one's connections instead of failing.
  server_->set_socket_options([this](int sock) {
    int yes = 1;
    ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
    listen_fd_ = sock;
  });
  Routes();
}

HttpServer::~HttpServer() { Stop(); }

Status HttpServer::Bind() {
  if (options_.port == 0) {
    port_ = server_->bind_to_any_port(options_.host.c_str());
    if (port_ <= 0) return Unavailable(fmt::format("cannot bind {}:<any>", options_.host));
  } else {
    if (!server_->bind_to_port(options_.host.c_str(), options_.port)) {
      return Unavailable(fmt::format("cannot bind {}:{} (in use? try --port)", options_.host, options_.port));
    }
    port_ = options_.port;
  }
  return WidenBacklog();
}

// Debian's prebuilt cpp-httplib listens with its compiled-in backlog of 5, so a burst of
// simultaneous connects overflows the accept queue and clients see refused or dropped
// connections. Calling listen() again on the listening socket updates its backlog (Linux).
Status HttpServer::WidenBacklog() {
  int listening = 0;
  socklen_t len = sizeof(listening);
  if (listen_fd_ < 0 || ::getsockopt(listen_fd_, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) != 0 || !listening) {
    return Internal(fmt::format("bound {}:{} but found no listening socket to widen the backlog of",
                                options_.host, port_));
  }
  if (::listen(listen_fd_, options_.listen_backlog) != 0) {
    return Internal(fmt::format("listen(backlog {}) on {}:{} failed: {}", options_.listen_backlog,
                                options_.host, port_, std::strerror(errno)));
  }
  return Status::Ok();
}

void HttpServer::Serve() {
  serve_entered_.store(true);
  if (!stop_requested_.load()) server_->listen_after_bind();
  serve_done_.store(true);
}

void HttpServer::Stop() {
  if (!server_) return;
  stop_requested_.store(true);
  // The library's stop() does nothing until its listen loop has started, and that loop would
  // then accept forever: a Stop() right after the serving thread was spawned must wait for it.
  // A Serve() that has not got past its check yet sees stop_requested_ and returns instead.
  if (serve_entered_.load()) {
    while (!server_->is_running() && !serve_done_.load()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  server_->stop();
}

void HttpServer::Routes() {
  httplib::Server& s = *server_;
  s.Post("/v1/completions", [this](const httplib::Request& req, httplib::Response& res) {
    HandleGenerate(ApiKind::kCompletion, req.body, &res);
  });
  s.Post("/v1/chat/completions", [this](const httplib::Request& req, httplib::Response& res) {
    HandleGenerate(ApiKind::kChat, req.body, &res);
  });
  s.Get("/v1/models", [this](const httplib::Request&, httplib::Response& res) {
    json m{{"id", limits_.model_name}, {"object", "model"}, {"created", UnixNow()}, {"owned_by", "orbitflow"},
           {"max_model_len", limits_.max_context}, {"orbitflow", {{"vocab_size", limits_.vocab_size}}}};
    res.set_content(Dump(json{{"object", "list"}, {"data", json::array({m})}}), "application/json");
  });
  s.Get("/health", [this](const httplib::Request&, httplib::Response& res) {
    const bool ok = ready_.load() && !service_->draining();
    res.status = ok ? 200 : 503;
    res.set_content(ok ? "{\"status\":\"ok\"}" : "{\"status\":\"unavailable\"}", "application/json");
  });
  s.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(service_->registry().Render(), "text/plain; version=0.0.4; charset=utf-8");
  });
  s.Get("/orbitflow/state", [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(Dump(service_->State()), "application/json");
  });
  s.set_error_handler([](const httplib::Request& req, httplib::Response& res) {
    if (res.status == 404 && res.body.empty()) {
      SendError(res, {.http_status = 404, .message = fmt::format("no route {} {}", req.method, req.path),
                      .type = "NotFoundError", .code = "not_found"});
    }
  });
  s.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
    std::string what = "internal error";
    try {
      if (ep) std::rethrow_exception(ep);
    } catch (const std::exception& e) {
      what = e.what();
    }
    SendError(res, {.http_status = 500, .message = what, .type = "InternalServerError"});
  });
}

void HttpServer::HandleGenerate(ApiKind kind, const std::string& body, void* response) {
  httplib::Response& res = *static_cast<httplib::Response*>(response);
  GenerationRequest req;
  if (auto e = ParseGenerationRequest(body, kind, limits_, *tokenizer_, &req)) return SendError(res, *e);
  const double slo_ms = req.tbt_slo_ms.value_or(options_.default_tbt_slo_ms);
  RequestSpec spec{.prompt_tokens = static_cast<int64_t>(req.prompt.size()), .max_output_tokens = req.max_tokens,
                   .prompt = req.prompt, .slo = Seconds(slo_ms / 1000.0), .stop_at_eos = !req.ignore_eos,
                   .sampling = req.sampling};
  StatusOr<std::shared_ptr<TokenChannel>> ch = service_->TrySubmit(std::move(spec));
  if (!ch.ok()) {
    const bool full = ch.status().code() == StatusCode::kResourceExhausted;
    res.set_header("Retry-After", std::to_string(options_.retry_after_s));
    return SendError(res, {.http_status = full ? 429 : 503, .message = ch.status().message(),
                           .type = full ? "RateLimitError" : "ServiceUnavailableError",
                           .code = full ? "queue_full" : "shutting_down"});
  }
  auto state = std::make_shared<StreamState>(StreamState{
      .req = std::move(req), .id = fmt::format("cmpl-{}", next_id_.fetch_add(1)), .created = UnixNow(),
      .channel = *ch, .text = TextStream(*tokenizer_, 0, {}), .slo = std::chrono::duration<double>(slo_ms / 1000.0),
      .service = service_});
  state->text = TextStream(*tokenizer_, state->req.prompt.back(), state->req.stop);
  if (state->req.stream) {
    res.set_header("Cache-Control", "no-cache");
    res.set_chunked_content_provider(
        "text/event-stream", [state](size_t, httplib::DataSink& sink) { return StreamTokens(*state, sink); },
        [state](bool) {
          if (!state->finished) state->service->Cancel(state->channel);
        });
    return;
  }
  std::string text;
  std::vector<int32_t> fresh;
  while (true) {
    fresh.clear();
    TokenChannel::Update u = state->channel->Wait(&state->consumed, std::chrono::milliseconds(100), &fresh);
    for (int32_t t : fresh) {
      text += state->text.Add(t);
      ++state->tokens;
      if (state->text.stopped()) break;
    }
    if (state->text.stopped()) {
      service_->Cancel(state->channel);
      break;
    }
    if (u.closed) {
      if (u.reason == FinishReason::kFailed) {
        return SendError(res, {.http_status = 400, .message = u.message, .code = "request_failed"});
      }
      text += state->text.Finish();
      res.set_content(Dump(CompletionResponse(state->req, state->id, state->created, text,
                                              ApiFinishReason(u.reason), state->tokens)), "application/json");
      return;
    }
  }
  text += state->text.Finish();
  res.set_content(Dump(CompletionResponse(state->req, state->id, state->created, text, "stop", state->tokens)),
                  "application/json");
}

}  // namespace orbitflow
