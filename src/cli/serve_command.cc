#include "cli/serve_command.h"

#include <csignal>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <thread>

#include <pthread.h>

#include <fmt/format.h>

#include "cli/cpu_rig.h"
#include "cli/policies.h"
#include "server/engine_service.h"
#include "server/http_server.h"
#include "server/serving_stack.h"

namespace orbitflow {
namespace {

struct ServeFlags {
  CpuRigFlags rig;
  std::string host = "127.0.0.1";
  int port = 8000;
  int64_t host_kv_blocks = 0;
  double tbt_slo_ms = 100;
  int max_batch = 16;
  int max_queue = 256;
  int http_threads = 512;
  std::string profile;
  double shutdown_timeout_s = 10;
};

std::string ModelName(const CpuRigFlags& f) {
  if (f.model.empty()) return "stories260K";
  if (f.model.starts_with("synthetic:")) return f.model;
  return std::filesystem::path(f.model).stem().string();
}

Status RunServe(const ServeFlags& f) {
  // Signals go to one waiting thread (below), never to the HTTP or engine threads: block them
  // before any thread starts so every thread inherits the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  OF_ASSIGN_OR_RETURN(std::unique_ptr<CpuRig> rig, LoadCpuRig(f.rig));
  OF_ASSIGN_OR_RETURN(std::unique_ptr<Planner> planner, MakePolicy(f.rig.policy, PolicyOptions{}));
  ServingStackOptions so{.max_batch = f.max_batch, .device_kv_blocks = f.rig.device_kv_blocks,
                         .host_kv_blocks = f.host_kv_blocks, .link_gbps = f.rig.link_gbps,
                         .threads = f.rig.threads, .tbt_slo_ms = f.tbt_slo_ms, .cost_profile = f.profile};
  OF_ASSIGN_OR_RETURN(std::unique_ptr<ServingStack> stack,
                      BuildServingStack(&rig->model, &rig->tokenizer, std::move(planner), so));
  OF_ASSIGN_OR_RETURN(std::unique_ptr<EngineService> service,
                      EngineService::Create(stack->Deps(so), {.max_batch = f.max_batch, .max_queue = f.max_queue}));
  const std::string name = ModelName(f.rig);
  ApiLimits limits{.model_name = name, .max_context = rig->model.spec.max_seq_len,
                   .vocab_size = rig->tokenizer.vocab_size()};
  HttpServer http({.host = f.host, .port = f.port, .http_threads = f.http_threads, .default_tbt_slo_ms = f.tbt_slo_ms},
                  limits, service.get(), &rig->tokenizer);
  OF_RETURN_IF_ERROR(http.Bind());
  http.SetReady(true);

  std::thread waiter([&] {
    int sig = 0;
    sigwait(&signals, &sig);
    std::fprintf(stderr, "orbitflow serve: signal %d, draining (up to %.0f s)\n", sig, f.shutdown_timeout_s);
    http.SetReady(false);
    service->Shutdown(std::chrono::milliseconds(static_cast<int64_t>(1000 * f.shutdown_timeout_s)));
    http.Stop();
  });
  std::printf("orbitflow serve: %s (%d layers, context %d) policy %s, device %lld / host %lld KV blocks per layer, "
              "listening on http://%s:%d\n", name.c_str(), rig->model.spec.n_layers, rig->model.spec.max_seq_len,
              stack->planner->name().data(), static_cast<long long>(stack->device_blocks_per_layer),
              static_cast<long long>(stack->host_blocks_per_layer), f.host.c_str(), http.port());
  std::printf("try:\n  curl http://%s:%d/v1/completions -H 'Content-Type: application/json' "
              "-d '{\"model\": \"%s\", \"prompt\": \"Once upon a time\", \"max_tokens\": 64}'\n",
              f.host.c_str(), http.port(), name.c_str());
  std::fflush(stdout);
  http.Serve();
  // Serve returns after Stop (from the signal thread); wake the waiter if Serve ended otherwise.
  pthread_kill(waiter.native_handle(), SIGTERM);
  waiter.join();
  std::fprintf(stderr, "orbitflow serve: stopped\n");
  return Status::Ok();
}

}  // namespace

Command AddServeCommand(CLI::App& app) {
  auto flags = std::make_shared<ServeFlags>();
  ServeFlags* f = flags.get();
  CLI::App* cmd = app.add_subcommand("serve", "OpenAI-compatible HTTP server (completions, chat, SSE "
                                              "streaming, /metrics) on the real CPU executor");
  AddCpuRigFlags(cmd, &f->rig);
  cmd->add_option("--host", f->host, "address to listen on")->capture_default_str();
  cmd->add_option("--port", f->port, "port to listen on (0: any free port)")->capture_default_str();
  cmd->add_option("--host-kv-blocks", f->host_kv_blocks, "host KV pool, blocks per layer (0: every running request's full context)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--tbt-slo-ms", f->tbt_slo_ms, "default per-token SLO in ms (requests may set orbitflow.tbt_slo_ms)")
      ->check(CLI::PositiveNumber)->capture_default_str();
  cmd->add_option("--max-batch", f->max_batch, "most requests decoding at once")->check(CLI::PositiveNumber)->capture_default_str();
  cmd->add_option("--max-queue", f->max_queue, "most requests waiting beyond the batch; more get 429")
      ->check(CLI::NonNegativeNumber)->capture_default_str();
  cmd->add_option("--http-threads", f->http_threads, "HTTP worker threads (each open stream holds one)")
      ->check(CLI::PositiveNumber)->capture_default_str();
  cmd->add_option("--profile", f->profile, "measured cost profile (JSON from `orbitflow profile`)")->check(CLI::ExistingFile);
  cmd->add_option("--shutdown-timeout-s", f->shutdown_timeout_s, "on SIGINT/SIGTERM, how long in-flight requests may finish")
      ->check(CLI::NonNegativeNumber)->capture_default_str();
  return {cmd, [flags] { return RunServe(*flags); }};
}

}  // namespace orbitflow
