// A live server on a free loopback port with the bundled stories260K model, for the end-to-end
// tests.
#pragma once

#include <memory>
#include <string>
#include <thread>

#include <gtest/gtest.h>
#include <httplib.h>

#include "model/loader.h"
#include "plan/baselines.h"
#include "server/http_server.h"
#include "server/serving_stack.h"

namespace orbitflow::testing {

struct LiveServerOptions {
  std::string policy = "all-device";
  int max_batch = 8;
  int max_queue = 8;
  int64_t device_kv_blocks = 0;
  int http_threads = 64;
};

class LiveServer {
 public:
  explicit LiveServer(const LiveServerOptions& o = {}) {
    const std::string dir = std::string(ORBITFLOW_REPO_DIR) + "/models/stories260K/";
    model_ = std::make_unique<Model>(LoadModel(dir + "stories260K.bin").value());
    tokenizer_ = std::make_unique<Tokenizer>(LoadTokenizer(dir + "tok512.bin").value());
    ServingStackOptions so{.max_batch = o.max_batch, .device_kv_blocks = o.device_kv_blocks, .threads = 1,
                           .tbt_slo_ms = 100};
    stack_ = BuildServingStack(model_.get(), tokenizer_.get(), MakeBaselinePlanner(o.policy).value(), so).value();
    service_ = EngineService::Create(stack_->Deps(so), {.max_batch = o.max_batch, .max_queue = o.max_queue}).value();
    ApiLimits limits{.model_name = "stories260K", .max_context = model_->spec.max_seq_len,
                     .vocab_size = tokenizer_->vocab_size()};
    http_ = std::make_unique<HttpServer>(HttpServerOptions{.host = "127.0.0.1", .port = 0, .http_threads = o.http_threads},
                                         limits, service_.get(), tokenizer_.get());
    EXPECT_TRUE(http_->Bind().ok());
    http_->SetReady(true);
    thread_ = std::thread([this] { http_->Serve(); });
  }
  ~LiveServer() { Stop(); }
  void Stop() {
    if (!thread_.joinable()) return;
    service_->Shutdown(std::chrono::milliseconds(2000));
    http_->Stop();
    thread_.join();
  }
  int port() const { return http_->port(); }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port()); }
  httplib::Client Client() const {
    httplib::Client c("127.0.0.1", port());
    c.set_read_timeout(30, 0);
    return c;
  }
  EngineService& service() { return *service_; }
  const Model& model() const { return *model_; }

 private:
  std::unique_ptr<Model> model_;
  std::unique_ptr<Tokenizer> tokenizer_;
  std::unique_ptr<ServingStack> stack_;
  std::unique_ptr<EngineService> service_;
  std::unique_ptr<HttpServer> http_;
  std::thread thread_;
};

}  // namespace orbitflow::testing
