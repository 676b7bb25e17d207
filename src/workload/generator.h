// The OrbitFlow reference trace generator's model: each request picks a category (a token range
// for its prompt and one for its output) by weight, draws both lengths log-normally inside the
// ranges, and arrives a log-normal gap after the previous request.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "orbitflow/status.h"
#include "workload/workload.h"

namespace orbitflow {

struct Category {
  std::string name;
  int64_t input_min = 1, input_max = 1;    // inclusive token range of the prompt
  int64_t output_min = 1, output_max = 1;  // inclusive token range of the output
  double weight = 1.0;                     // relative probability of being picked
};

// Parses the reference's category names, `<TAG>_I<a>-<b>_O<c>-<d>` (e.g.
// `MSL_I1632-2448_O3264-4912`: input 1632-2448, output 3264-4912 tokens).
StatusOr<Category> ParseCategory(std::string_view name, double weight = 1.0);

// The category mix of the paper's 32k traces (max_model_len 32,384): the 39 categories of its
// three distinct 52-request sets, each weighted by how many of those 156 requests it holds.
// The ranges form the ladder 96-144, 192-304, 400-608, 816-1216, 1632-2448, 3264-4912,
// 6544-9824 tokens (spec section 10).
std::vector<Category> DefaultCategories();

// The same categories with every range bound multiplied by `factor` (rounded down, at least 1),
// as the reference rescales its ladder with max_model_len (e.g. 0.5 for 16k, 4 for 128k).
std::vector<Category> ScaleCategories(const std::vector<Category>& categories, double factor);

struct GeneratorOptions {
  std::vector<Category> categories = DefaultCategories();
  int num_requests = 52;
  // The paper's load multiplier: the arrival rate is base_rate * rate_multiplier.
  double rate_multiplier = 1.0;
  // Requests per `unit` at multiplier 1. Unset: 1 / (mean output length of the generated
  // requests), which is what the reference traces use (in every 32k and 128k file,
  // lambda = multiplier / mean output_length: one request per mean decode length).
  std::optional<double> base_rate;
  double cv = 1.0;  // of the arrival gaps
  ArrivalUnit unit = ArrivalUnit::kSteps;
  uint64_t seed = 0;
};

// Generates a workload. Lengths: a log-normal with median sqrt(min * max) and sigma
// ln(max / min) / 4 (so the range spans +-2 sigma), rounded and clamped into the range. The
// first request arrives at 0. All lengths are drawn before any gap, so two runs that differ only
// in rate_multiplier (or base_rate) get the same requests with proportionally scaled gaps, as the
// reference's files for one request set at several multipliers do.
StatusOr<Workload> GenerateWorkload(const GeneratorOptions& options);

}  // namespace orbitflow
