// Sends one streaming request and times it: the moment each output chunk arrives, the end of the
// stream, the server's token counts. Never throws and never fails the run: whatever goes wrong
// (refused connection, HTTP error, error event, stream cut short) becomes a failed
// RequestOutcome with the reason in `error`. Thread-safe: each call uses its own connection.
#pragma once

#include <chrono>
#include <string>

#include "bench/bench_metrics.h"
#include "bench/bench_options.h"
#include "bench/request_set.h"
#include "bench/server_probe.h"

namespace orbitflow {

struct StreamRequest {
  const BenchRequest* request = nullptr;
  std::string body;  // from MakeRequestBody
};

struct StreamClientOptions {
  BenchEndpoint endpoint = BenchEndpoint::kCompletions;
  std::string api_key;
  double read_timeout_s = 600;
  double connect_timeout_s = 10;
};

// `run_start` is the run's time origin (RequestOutcome::send_s counts from it).
RequestOutcome SendStreamingRequest(const ServerTarget& target, const StreamRequest& request,
                                    const StreamClientOptions& options,
                                    std::chrono::steady_clock::time_point run_start);

}  // namespace orbitflow
