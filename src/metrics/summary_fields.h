// The one list of SloSummary fields with their report names, in report order, so the CSV and
// JSON views of a summary cannot drift apart.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <variant>

#include <nlohmann/json.hpp>

#include "metrics/scoring.h"

namespace orbitflow {

struct SummaryField {
  std::string_view name;
  std::variant<int64_t SloSummary::*, double SloSummary::*> member;
};

// Headline fields first (requests, completed, tbt_attainment, tbt_attainment_deposit,
// tpot_attainment, p95_tbt_s, p95_tbt_ratio, throughput_tok_s, device_kv_util,
// solver_overhead_pct), then every other field.
std::span<const SummaryField> SummaryFields();

// {"requests": 3, "tbt_attainment": 0.58, ...} with the names of SummaryFields().
nlohmann::json SummaryToJson(const SloSummary& summary);

}  // namespace orbitflow
