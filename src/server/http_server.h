// The HTTP front end: OpenAI-compatible routes over cpp-httplib, feeding the EngineService.
//
// Routes: POST /v1/completions, POST /v1/chat/completions (SSE when "stream": true),
// GET /v1/models, GET /health, GET /metrics (Prometheus text), GET /orbitflow/state (JSON
// engine view). Each HTTP thread serves one request at a time and blocks on its TokenChannel;
// a client that goes away cancels its request through the engine thread.
#pragma once

#include <sys/socket.h>

#include <atomic>
#include <memory>
#include <string>

#include "model/tokenizer.h"
#include "server/engine_service.h"
#include "server/openai_api.h"

namespace httplib {
class Server;
}

namespace orbitflow {

struct HttpServerOptions {
  std::string host = "127.0.0.1";
  int port = 8000;                 // 0: pick a free port (see port())
  int http_threads = 512;          // one per concurrent connection (streams hold theirs)
  double default_tbt_slo_ms = 100; // for requests without orbitflow.tbt_slo_ms
  int retry_after_s = 1;           // Retry-After of 429 answers
  int listen_backlog = SOMAXCONN;  // pending connects the kernel queues (capped by somaxconn)
};

class HttpServer {
 public:
  // `service` and `tokenizer` must outlive the server.
  HttpServer(HttpServerOptions options, ApiLimits limits, EngineService* service, const Tokenizer* tokenizer);
  ~HttpServer();

  // Binds the socket (so port() is known when this returns). Unavailable if it cannot bind.
  Status Bind();
  // Serves until Stop(); blocks. REQUIRES: Bind() succeeded.
  void Serve();
  void Stop();
  int port() const { return port_; }
  // /health answers 503 until this is set.
  void SetReady(bool ready) { ready_.store(ready); }

 private:
  void Routes();
  Status WidenBacklog();
  void HandleGenerate(ApiKind kind, const std::string& body, void* response);

  HttpServerOptions options_;
  ApiLimits limits_;
  EngineService* service_;
  const Tokenizer* tokenizer_;
  std::unique_ptr<httplib::Server> server_;
  std::atomic<bool> ready_{false};
  // Serve/Stop handshake (see Stop).
  std::atomic<bool> serve_entered_{false}, serve_done_{false}, stop_requested_{false};
  std::atomic<int64_t> next_id_{0};
  int port_ = 0;
  int listen_fd_ = -1;  // the socket httplib bound, seen through its socket-options hook
};

}  // namespace orbitflow
