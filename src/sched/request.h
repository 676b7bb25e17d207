// A request's life inside the engine: waiting -> prefilling -> decoding <-> paused -> finished.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "kv/placement.h"
#include "metrics/request_record.h"
#include "metrics/token_deposit.h"
#include "model/sampler.h"
#include "orbitflow/types.h"

namespace orbitflow {

enum class RequestState : uint8_t { kWaiting, kPrefilling, kDecoding, kPaused, kFinished };
const char* RequestStateName(RequestState s);

// What a client (or a trace) asks for.
struct RequestSpec {
  int64_t prompt_tokens = 0;
  int64_t max_output_tokens = 0;
  std::vector<int32_t> prompt;       // token ids (real executors); empty in simulation
  std::optional<Seconds> slo;        // per-token SLO; the engine default when absent
  bool stop_at_eos = false;          // real executors: finish on the end-of-sequence token
  // Real executors: how the request picks its tokens (greedy by default). The CPU executor
  // learns it through CpuExecutor::SetSampling after Submit.
  SamplerOptions sampling;
};

struct Request {
  RequestId id;
  RequestSpec spec;
  RequestState state = RequestState::kWaiting;
  Seconds slo{0};
  int64_t prefilled = 0;             // prompt tokens whose KV is written
  int64_t generated = 0;             // output tokens produced
  int32_t last_token = 0;            // the token the next decode step feeds in
  Distance distance = Distance::AllDevice();
  bool placed = false;               // a plan has given it a distance (its mask matches it)
  bool paused_for_memory = false;    // paused because device blocks ran out during a step
  TokenDeposit deposit;              // live Token Deposit (spec section 6)
  RequestRecord record;

  Request(RequestId id_, RequestSpec spec_, Seconds slo_, Seconds arrival)
      : id(id_), spec(std::move(spec_)), slo(slo_), deposit(slo_) {
    record.id = id_;
    record.prompt_tokens = spec.prompt_tokens;
    record.expected_output_tokens = spec.max_output_tokens;
    record.slo = slo_;
    record.arrival = arrival;
  }

  // Tokens whose KV exists (prompt written so far plus generated tokens fed back).
  int64_t context_tokens() const { return prefilled + (generated > 0 ? generated - 1 : 0); }
  int64_t total_tokens() const { return spec.prompt_tokens + spec.max_output_tokens; }
  bool prefill_done() const { return prefilled >= spec.prompt_tokens; }
  int64_t remaining_output() const { return spec.max_output_tokens - generated; }
};

}  // namespace orbitflow
