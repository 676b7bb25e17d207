#include "metrics/summary_fields.h"

#include <array>

namespace orbitflow {
namespace {

using S = SloSummary;
constexpr std::array kFields = {
    SummaryField{"requests", &S::requests},
    SummaryField{"completed", &S::completed},
    SummaryField{"tbt_attainment", &S::tbt_attainment},
    SummaryField{"tbt_attainment_deposit", &S::tbt_attainment_deposit},
    SummaryField{"tpot_attainment", &S::tpot_attainment},
    SummaryField{"p95_tbt_s", &S::p95_tbt_s},
    SummaryField{"p95_tbt_ratio", &S::p95_tbt_ratio},
    SummaryField{"throughput_tok_s", &S::throughput_tok_s},
    SummaryField{"device_kv_util", &S::device_kv_util},
    SummaryField{"solver_overhead_pct", &S::solver_overhead_pct},
    SummaryField{"failed", &S::failed},
    SummaryField{"cancelled", &S::cancelled},
    SummaryField{"unfinished", &S::unfinished},
    SummaryField{"expected_tokens", &S::expected_tokens},
    SummaryField{"produced_tokens", &S::produced_tokens},
    SummaryField{"scored_tokens", &S::scored_tokens},
    SummaryField{"missing_tokens", &S::missing_tokens},
    SummaryField{"late_tokens", &S::late_tokens},
    SummaryField{"late_tokens_deposit", &S::late_tokens_deposit},
    SummaryField{"mean_tbt_s", &S::mean_tbt_s},
    SummaryField{"p50_tbt_s", &S::p50_tbt_s},
    SummaryField{"p90_tbt_s", &S::p90_tbt_s},
    SummaryField{"p99_tbt_s", &S::p99_tbt_s},
    SummaryField{"p90_tbt_ratio", &S::p90_tbt_ratio},
    SummaryField{"p99_tbt_ratio", &S::p99_tbt_ratio},
    SummaryField{"mean_ttft_s", &S::mean_ttft_s},
    SummaryField{"p95_ttft_s", &S::p95_ttft_s},
    SummaryField{"mean_tpot_s", &S::mean_tpot_s},
    SummaryField{"mean_e2e_s", &S::mean_e2e_s},
    SummaryField{"completed_input_tokens", &S::completed_input_tokens},
    SummaryField{"completed_output_tokens", &S::completed_output_tokens},
    SummaryField{"duration_s", &S::duration_s},
    SummaryField{"steps", &S::steps},
    SummaryField{"mean_step_s", &S::mean_step_s},
    SummaryField{"solver_calls", &S::solver_calls},
    SummaryField{"solver_calls_per_request", &S::solver_calls_per_request},
    SummaryField{"mean_solver_s", &S::mean_solver_s},
    SummaryField{"solver_time_share_pct", &S::solver_time_share_pct},
    SummaryField{"stalls", &S::stalls},
    SummaryField{"stall_time_s", &S::stall_time_s},
    SummaryField{"pauses", &S::pauses},
    SummaryField{"pause_time_s", &S::pause_time_s},
};

}  // namespace

std::span<const SummaryField> SummaryFields() { return kFields; }

nlohmann::json SummaryToJson(const SloSummary& summary) {
  nlohmann::json out = nlohmann::json::object();
  for (const SummaryField& f : SummaryFields()) {
    std::visit([&](auto member) { out[std::string(f.name)] = summary.*member; }, f.member);
  }
  return out;
}

}  // namespace orbitflow
