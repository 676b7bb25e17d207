#include "bench/bench_serve.h"

#include "bench/openai_request.h"
#include "bench/stream_client.h"

namespace orbitflow {

StatusOr<BenchRun> RunBenchServe(const BenchServeOptions& o, const Tokenizer& tokenizer) {
  OF_RETURN_IF_ERROR(ValidateBenchOptions(o));
  BenchRun run;
  OF_ASSIGN_OR_RETURN(run.target, ParseServerUrl(o.url));
  OF_ASSIGN_OR_RETURN(run.server, ProbeServer(run.target, o.api_key, o.model));
  OF_ASSIGN_OR_RETURN(RequestSet set, BuildRequestSet(o, run.server, tokenizer));
  run.source = std::move(set.source);
  run.dropped_too_long = set.dropped_too_long;
  run.requests = std::move(set.requests);

  // Bodies are serialised before the clock starts.
  const RequestBodyOptions body{.endpoint = o.endpoint, .model = run.server.model, .orbitflow = run.server.orbitflow,
                                .tbt_slo_ms = o.tbt_slo_ms, .paced = o.paced};
  std::vector<StreamRequest> wire;
  wire.reserve(run.requests.size());
  for (const BenchRequest& r : run.requests) wire.push_back({.request = &r, .body = MakeRequestBody(r, body)});
  const StreamClientOptions client{.endpoint = o.endpoint, .api_key = o.api_key, .read_timeout_s = o.request_timeout_s};
  const ServerTarget& target = run.target;
  run.load = RunLoad(
      run.requests,
      [&](size_t i, std::chrono::steady_clock::time_point start) {
        return SendStreamingRequest(target, wire[i], client, start);
      },
      {.max_in_flight = o.max_concurrency.value_or(kMaxInFlight), .progress = o.progress});
  for (BenchRequest& r : run.requests) {
    r.prompt_ids = {};
    r.prompt_text = {};
  }
  run.summary = SummarizeBench(run.load.outcomes, run.load.duration_s, o.tbt_slo_ms, o.goodput);
  return run;
}

}  // namespace orbitflow
