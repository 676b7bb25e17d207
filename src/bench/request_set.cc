#include "bench/request_set.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include <fmt/format.h>

#include "workload/arrival_process.h"

namespace orbitflow {
namespace {

// Seeds of the independent random streams of a run, so changing how prompts are drawn never
// changes the arrivals of the same seed.
constexpr uint64_t kPromptStream = 0x9E3779B97F4A7C15ull;

// Ids of ordinary pieces below `limit`.
std::vector<int32_t> PromptVocabulary(const Tokenizer& tok, int32_t limit) {
  std::vector<int32_t> ids;
  for (int32_t id = 0; id < std::min(limit, tok.vocab_size()); ++id) {
    if (tok.type(id) == TokenType::kNormal && !tok.piece(id).empty()) ids.push_back(id);
  }
  return ids;
}

Status FillPrompts(const std::vector<int32_t>& vocab, const Tokenizer& tok, uint64_t seed,
                   std::vector<BenchRequest>& requests) {
  if (vocab.empty()) return InvalidArgument("the tokenizer has no ordinary pieces to build prompts from");
  WorkloadRng rng(seed ^ kPromptStream);
  for (BenchRequest& r : requests) {
    r.prompt_ids.resize(static_cast<size_t>(r.input_len));
    for (int32_t& id : r.prompt_ids) {
      const size_t at = std::min(vocab.size() - 1, static_cast<size_t>(rng.Uniform() * static_cast<double>(vocab.size())));
      id = vocab[at];
    }
    r.prompt_text = tok.Decode(r.prompt_ids);
  }
  return Status::Ok();
}

StatusOr<RequestSet> RandomRequests(const BenchServeOptions& o, const ServerInfo& server) {
  const int64_t n = o.num_prompts.value_or(1000);
  if (server.max_model_len && o.input_len + o.output_len > *server.max_model_len) {
    return InvalidArgument(fmt::format("--input-len {} + --output-len {} exceeds the context of '{}' ({} tokens)",
                                       o.input_len, o.output_len, server.model, *server.max_model_len));
  }
  const double rate = o.request_rate.value_or(std::numeric_limits<double>::infinity());
  OF_ASSIGN_OR_RETURN(std::vector<double> arrivals, BenchArrivals(n, rate, o.burstiness, o.seed));
  RequestSet set;
  set.source = fmt::format("random (input {}, output {})", o.input_len, o.output_len);
  set.requests.resize(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    BenchRequest& r = set.requests[i];
    r.index = i;
    r.arrival_s = arrivals[i];
    r.input_len = o.input_len;
    r.output_len = o.output_len;
  }
  return set;
}

StatusOr<RequestSet> TraceRequests(const BenchServeOptions& o, const ServerInfo& server) {
  // Lengths files carry no times; any valid process will do, the arrivals are redrawn below.
  OF_ASSIGN_OR_RETURN(Workload w, ReadTrace(o.trace_path, o.trace_format, TraceOptions{},
                                            ArrivalProcessOptions{.rate_per_s = 1.0, .seed = o.seed}));
  RequestSet set;
  if (server.max_model_len) {
    const int64_t ctx = *server.max_model_len;
    set.dropped_too_long = std::count_if(w.requests.begin(), w.requests.end(), [ctx](const WorkloadRequest& r) {
      return r.input_tokens + r.output_tokens > ctx;
    });
    if (set.dropped_too_long == static_cast<int64_t>(w.requests.size())) {
      return InvalidArgument(fmt::format("every request of {} is longer than the context of '{}' ({} tokens)",
                                         o.trace_path, server.model, ctx));
    }
  }
  OF_RETURN_IF_ERROR(SelectRequests(TraceOptions{.max_requests = o.num_prompts, .max_context = server.max_model_len}, w));
  const bool replay = w.unit == ArrivalUnit::kSeconds && !o.request_rate && !w.requests.empty() &&
                      w.requests.back().arrival > 0;
  std::vector<double> arrivals;
  if (replay) {
    for (const WorkloadRequest& r : w.requests) arrivals.push_back(r.arrival - w.requests.front().arrival);
  } else {
    const double rate = o.request_rate.value_or(std::numeric_limits<double>::infinity());
    OF_ASSIGN_OR_RETURN(arrivals, BenchArrivals(static_cast<int64_t>(w.requests.size()), rate, o.burstiness, o.seed));
  }
  set.source = fmt::format("{} ({} requests, {})", o.trace_path, w.requests.size(),
                           replay ? "trace arrival times" : "arrivals from --request-rate");
  set.requests.resize(w.requests.size());
  for (size_t i = 0; i < w.requests.size(); ++i) {
    BenchRequest& r = set.requests[i];
    r.index = static_cast<int64_t>(i);
    r.arrival_s = arrivals[i];
    r.input_len = w.requests[i].input_tokens;
    r.output_len = w.requests[i].output_tokens;
  }
  return set;
}

}  // namespace

StatusOr<std::vector<double>> BenchArrivals(int64_t n, double rate, double burstiness, uint64_t seed) {
  if (std::isinf(rate)) return std::vector<double>(static_cast<size_t>(std::max<int64_t>(n, 0)), 0.0);
  ArrivalProcessOptions a{.kind = burstiness == 1.0 ? ArrivalProcessOptions::kPoisson : ArrivalProcessOptions::kGamma,
                          .rate_per_s = rate, .cv = 1.0 / std::sqrt(burstiness), .seed = seed};
  return GenerateArrivals(n, a);
}

StatusOr<RequestSet> BuildRequestSet(const BenchServeOptions& o, const ServerInfo& server, const Tokenizer& tokenizer) {
  OF_RETURN_IF_ERROR(ValidateBenchOptions(o));
  RequestSet set;
  if (o.trace_path.empty()) {
    OF_ASSIGN_OR_RETURN(set, RandomRequests(o, server));
  } else {
    OF_ASSIGN_OR_RETURN(set, TraceRequests(o, server));
  }
  const int32_t limit = server.vocab_size.value_or(std::numeric_limits<int32_t>::max());
  OF_RETURN_IF_ERROR(FillPrompts(PromptVocabulary(tokenizer, limit), tokenizer, o.seed, set.requests));
  return set;
}

}  // namespace orbitflow
