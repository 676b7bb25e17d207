#include "cli/bench_serve_command.h"

#include <cstdio>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "bench/bench_report.h"
#include "bench/bench_serve.h"
#include "cli/cpu_rig.h"
#include "model/loader.h"

namespace orbitflow {
namespace {

// Flags as typed on the command line; turned into BenchServeOptions once parsing succeeded.
struct BenchServeFlags {
  BenchServeOptions options;
  std::string endpoint = "/v1/completions";
  std::string dataset;
  std::string trace_format;
  std::string request_rate;
  std::vector<std::string> goodput;
  int64_t num_prompts = 0;
  int max_concurrency = 0;
  std::string tokenizer;
  std::string json_path;
};

Status ToOptions(BenchServeFlags& f) {
  BenchServeOptions& o = f.options;
  OF_ASSIGN_OR_RETURN(o.endpoint, ParseBenchEndpoint(f.endpoint));
  if (!f.dataset.empty() && f.dataset != "random") {
    return InvalidArgument(fmt::format("--dataset '{}': only 'random' is built in (use --trace for files)", f.dataset));
  }
  if (!f.trace_format.empty()) {
    if (o.trace_path.empty()) return InvalidArgument("--trace-format needs --trace");
    OF_ASSIGN_OR_RETURN(o.trace_format, ParseTraceFormat(f.trace_format));
  }
  if (!f.request_rate.empty()) {
    OF_ASSIGN_OR_RETURN(o.request_rate, ParseRequestRate(f.request_rate));
  }
  OF_ASSIGN_OR_RETURN(o.goodput, ParseGoodput(f.goodput));
  if (f.num_prompts != 0) o.num_prompts = f.num_prompts;
  if (f.max_concurrency != 0) o.max_concurrency = f.max_concurrency;
  return ValidateBenchOptions(o);
}

Status WriteJson(const std::string& path, const nlohmann::json& j) {
  std::ofstream out(path);
  if (!out) return InvalidArgument(fmt::format("--json {}: cannot open for writing", path));
  out << j.dump(2) << "\n";
  if (!out.good()) return DataLoss(fmt::format("--json {}: write failed", path));
  return Status::Ok();
}

Status RunBenchServeCommand(BenchServeFlags& f) {
  OF_RETURN_IF_ERROR(ToOptions(f));
  std::string tok_path = f.tokenizer;
  if (tok_path.empty()) {
    StatusOr<std::string> bundled = BundledModelPath(/*tokenizer=*/true);
    if (!bundled.ok()) {
      return NotFound("the bundled stories260K tokenizer (models/stories260K/tok512.bin) was not found next to "
                      "the executable or in ./models; pass --tokenizer FILE");
    }
    tok_path = *bundled;
  }
  OF_ASSIGN_OR_RETURN(Tokenizer tokenizer, LoadTokenizer(tok_path));
  OF_ASSIGN_OR_RETURN(BenchRun run, RunBenchServe(f.options, tokenizer));
  if (run.dropped_too_long > 0) {
    std::fprintf(stderr, "bench serve: dropped %lld trace requests longer than the context of '%s'\n",
                 static_cast<long long>(run.dropped_too_long), run.server.model.c_str());
  }
  for (const RequestOutcome& r : run.load.outcomes) {
    if (r.success) continue;
    std::fprintf(stderr, "bench serve: %lld of %lld requests failed; first: request %lld: %s\n",
                 static_cast<long long>(run.summary.failed), static_cast<long long>(run.summary.num_requests),
                 static_cast<long long>(r.index), r.error.c_str());
    break;
  }
  std::fputs(FormatBenchTable(run, f.options).c_str(), stdout);
  std::fflush(stdout);
  if (!f.json_path.empty()) OF_RETURN_IF_ERROR(WriteJson(f.json_path, BenchRunToJson(run, f.options)));
  return Status::Ok();
}

}  // namespace

Command AddBenchServeCommand(CLI::App& bench) {
  auto flags = std::make_shared<BenchServeFlags>();
  BenchServeFlags* f = flags.get();
  BenchServeOptions& o = f->options;
  CLI::App* cmd = bench.add_subcommand(
      "serve", "Load generator for any OpenAI-compatible server (vLLM's `bench serve` figures plus TBT SLO "
               "attainment with and without Token Deposit and TPOT attainment)");
  cmd->add_option("--url", o.url, "server base URL, http[s]://HOST[:PORT][/PREFIX]")->capture_default_str();
  cmd->add_option("--endpoint", f->endpoint, "/v1/completions (prompt as token ids) or /v1/chat/completions "
                                             "(prompt as text)")->capture_default_str();
  cmd->add_option("--model", o.model, "model name to request (default: the first one GET /v1/models lists)");
  cmd->add_option("--api-key", o.api_key, "sent as 'Authorization: Bearer KEY' (e.g. --api-key \"$OPENAI_API_KEY\")");
  auto* trace = cmd->add_option("--trace", o.trace_path, "replay a trace file instead of the random dataset")
                    ->check(CLI::ExistingFile);
  cmd->add_option("--trace-format", f->trace_format, "azure, mooncake, lengths or orbitflow (default: guessed "
                                                     "from the file)")->needs(trace);
  cmd->add_option("--dataset", f->dataset, "random: prompts of --input-len random vocabulary "
                                                           "tokens, exactly --output-len output tokens (the default "
                                                           "without --trace)")->excludes(trace);
  cmd->add_option("--input-len", o.input_len, "random dataset: prompt tokens per request")
      ->capture_default_str()->excludes(trace);
  cmd->add_option("--output-len", o.output_len, "random dataset: output tokens per request (sent with "
                                                "ignore_eos, so exact)")->capture_default_str()->excludes(trace);
  cmd->add_option("--num-prompts", f->num_prompts, "requests to send (default: 1000 for random, the whole trace)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--request-rate", f->request_rate,
                  "requests per second, Poisson arrivals, or 'inf' to send all at once (default inf; a trace "
                  "with arrival times in seconds replays them unless this is given)");
  cmd->add_option("--burstiness", o.burstiness, "vLLM's burstiness factor B: gamma-distributed gaps with shape B "
                                                "(CV 1/sqrt(B)); 1 is Poisson, below 1 burstier")
      ->capture_default_str();
  cmd->add_option("--seed", o.seed, "seed of prompts and arrivals")->capture_default_str();
  cmd->add_option("--tbt-slo-ms", o.tbt_slo_ms, "per-token (TBT) SLO in ms that the attainment figures score "
                                                "against (also sent to OrbitFlow servers per request)")
      ->capture_default_str();
  cmd->add_option("--goodput", f->goodput, "goodput thresholds as KEY:MS with KEY ttft, tpot or e2el (e.g. "
                                           "--goodput ttft:500 tpot:50); a request is good if it meets all");
  cmd->add_flag("--paced", o.paced, "ask an OrbitFlow server to pace each stream at the SLO (Token Deposit)");
  cmd->add_option("--max-concurrency", f->max_concurrency, fmt::format("most requests in flight at once (default: "
                                                                       "no limit below {})", kMaxInFlight))
      ->check(CLI::PositiveNumber);
  cmd->add_option("--request-timeout-s", o.request_timeout_s, "a stream silent this long fails")
      ->capture_default_str();
  cmd->add_option("--tokenizer", f->tokenizer, "tokenizer the random prompts are drawn from (llama2.c "
                                               "tokenizer.bin or GGUF; default: the bundled stories260K one)")
      ->check(CLI::ExistingFile);
  cmd->add_option("--json", f->json_path, "also write the results as JSON to this file (vLLM's field names, "
                                          "per-request arrays)");
  return {cmd, [flags] { return RunBenchServeCommand(*flags); }};
}

}  // namespace orbitflow
