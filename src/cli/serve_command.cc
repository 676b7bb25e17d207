#include "cli/serve_command.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <thread>

#include <fmt/format.h>

#include "cli/cpu_rig.h"
#include "cli/policies.h"
#include "metrics/csv_writer.h"
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
  std::string step_log;
};

std::string ModelName(const CpuRigFlags& f) {
  if (f.model.empty()) return "stories260K";
  if (f.model.starts_with("synthetic:")) return f.model;
  return std::filesystem::path(f.model).stem().string();
}

// SIGINT/SIGTERM reach a waiting thread through a pipe. Blocking the signals and sigwait()ing
// is not enough: libraries loaded with the binary (OpenBLAS) start threads before main() that
// do not inherit a mask, and a signal delivered to one of them would kill the process; and a
// shell starts background jobs with SIGINT ignored, which would discard it. A handler that
// writes the signal number to a pipe works whichever thread receives it.
int g_signal_pipe[2] = {-1, -1};

extern "C" void ForwardSignal(int sig) {
  const unsigned char byte = static_cast<unsigned char>(sig);
  const int saved = errno;
  (void)!::write(g_signal_pipe[1], &byte, 1);
  errno = saved;
}

Status InstallSignalPipe() {
  if (::pipe2(g_signal_pipe, O_CLOEXEC) != 0) return Internal(fmt::format("pipe: {}", std::strerror(errno)));
  struct sigaction sa {};
  sa.sa_handler = ForwardSignal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  for (int sig : {SIGINT, SIGTERM}) {
    if (::sigaction(sig, &sa, nullptr) != 0) return Internal(fmt::format("sigaction: {}", std::strerror(errno)));
  }
  return Status::Ok();
}

// Blocks until a signal arrives (returns its number) or WakeSignalWaiter() (returns 0).
int WaitForSignal() {
  unsigned char byte = 0;
  while (true) {
    const ssize_t n = ::read(g_signal_pipe[0], &byte, 1);
    if (n == 1) return byte;
    if (n < 0 && errno == EINTR) continue;
    return 0;
  }
}

void WakeSignalWaiter() {
  const unsigned char zero = 0;
  (void)!::write(g_signal_pipe[1], &zero, 1);
}

// --threads 0 for serving: every core but one. The compute pool's workers spin between the
// parallel regions of a step; on all cores they starved the HTTP and client threads, which
// added 2 ms at p99 to streamed tokens on a 2-core machine (0.3 ms with a core left free).
int ServeComputeThreads(int requested) {
  if (requested > 0) return requested;
  return std::max(1, static_cast<int>(std::thread::hardware_concurrency()) - 1);
}

Status RunServe(const ServeFlags& f) {
  OF_RETURN_IF_ERROR(InstallSignalPipe());
  OF_ASSIGN_OR_RETURN(std::unique_ptr<CpuRig> rig, LoadCpuRig(f.rig));
  OF_ASSIGN_OR_RETURN(std::unique_ptr<Planner> planner, MakePolicy(f.rig.policy, PolicyOptions{}));
  ServingStackOptions so{.max_batch = f.max_batch, .device_kv_blocks = f.rig.device_kv_blocks,
                         .host_kv_blocks = f.host_kv_blocks, .link_gbps = f.rig.link_gbps,
                         .threads = ServeComputeThreads(f.rig.threads), .tbt_slo_ms = f.tbt_slo_ms, .cost_profile = f.profile};
  OF_ASSIGN_OR_RETURN(std::unique_ptr<ServingStack> stack,
                      BuildServingStack(&rig->model, &rig->tokenizer, std::move(planner), so));
  EngineServiceOptions service_options{.max_batch = f.max_batch, .max_queue = f.max_queue};
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> step_log(nullptr, &std::fclose);
  if (!f.step_log.empty()) {
    step_log.reset(std::fopen(f.step_log.c_str(), "w"));
    if (!step_log) return InvalidArgument(fmt::format("--step-log {}: {}", f.step_log, std::strerror(errno)));
    const std::string_view header = StepsCsvHeader();
    std::fwrite(header.data(), 1, header.size(), step_log.get());
    // Buffered by stdio; the engine thread is the only writer, and the file closes after it stops.
    service_options.on_steps = [file = step_log.get(), row = std::string()](std::span<const StepRecord> steps) mutable {
      row.clear();
      for (const StepRecord& s : steps) AppendStepRow(s, row);
      std::fwrite(row.data(), 1, row.size(), file);
    };
  }
  OF_ASSIGN_OR_RETURN(std::unique_ptr<EngineService> service, EngineService::Create(stack->Deps(so), service_options));
  const std::string name = ModelName(f.rig);
  ApiLimits limits{.model_name = name, .max_context = rig->model.spec.max_seq_len,
                   .vocab_size = rig->tokenizer.vocab_size()};
  HttpServer http({.host = f.host, .port = f.port, .http_threads = f.http_threads, .default_tbt_slo_ms = f.tbt_slo_ms},
                  limits, service.get(), &rig->tokenizer);
  OF_RETURN_IF_ERROR(http.Bind());
  http.SetReady(true);

  std::thread waiter([&] {
    const int sig = WaitForSignal();
    if (sig == 0) return;  // Serve ended by itself
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
  WakeSignalWaiter();
  waiter.join();
  service.reset();  // the engine thread is the step log's writer
  if (step_log && (std::fflush(step_log.get()) != 0 || std::ferror(step_log.get()))) {
    std::fprintf(stderr, "orbitflow serve: --step-log %s: write failed; the log is incomplete\n", f.step_log.c_str());
  }
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
  // Serving leaves a core to the HTTP, planner and copy threads (ServeComputeThreads).
  cmd->get_option("--threads")->description("compute threads (0: all cores but one)");
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
  cmd->add_option("--step-log", f->step_log,
                  "write one CSV row per engine step (duration, the plan's predicted time, link stall, "
                  "batch, prefill tokens, bytes moved): where SLO misses come from");
  cmd->add_option("--shutdown-timeout-s", f->shutdown_timeout_s, "on SIGINT/SIGTERM, how long in-flight requests may finish")
      ->check(CLI::NonNegativeNumber)->capture_default_str();
  return {cmd, [flags] { return RunServe(*flags); }};
}

}  // namespace orbitflow
