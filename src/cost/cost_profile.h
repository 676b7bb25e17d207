// Hardware profiles and the fitted coefficients the cost model runs on (spec section 3).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "model/model_spec.h"
#include "orbitflow/status.h"
#include "orbitflow/types.h"

namespace orbitflow {

// f(x) = a x + b, in seconds.
struct LinearFit {
  double a = 0.0;
  double b = 0.0;
  Seconds At(double x) const { return Seconds(a * x + b); }
};

// f(n) = c2 n^2 + c1 n + c0, in seconds: prefill, whose attention term is quadratic.
struct QuadraticFit {
  double c0 = 0.0, c1 = 0.0, c2 = 0.0;
  Seconds At(double n) const { return Seconds((c2 * n + c1) * n + c0); }
};

// A GPU and its host link.
struct HardwareProfile {
  std::string name;
  int64_t device_memory_bytes = 0;
  double hbm_bytes_per_s = 0;     // device memory bandwidth
  double peak_flops = 0;          // dense fp16/bf16 tensor FLOP/s
  double link_bytes_per_s = 0;    // host <-> device, one direction
};

// PCIe Gen4 x16 as the reference measured it: 25.19 GiB/s.
inline constexpr double kPcieGen4x16BytesPerS = 25.19 * 1024 * 1024 * 1024;

// Built-in GPUs: rtx-a6000, a100-80gb, h100-80gb (names case-insensitive; "a100" and "h100"
// accepted as aliases).
StatusOr<HardwareProfile> LookupHardware(std::string_view name);
std::vector<std::string> BuiltinHardwareNames();

// Everything the cost model needs for one (model, GPU) pair. Loadable from and writable to JSON
// (the format `orbitflow profile` writes).
struct CostProfile {
  std::string model;   // ModelSpec name
  std::string gpu;     // HardwareProfile name (or "cpu" for a measured CPU profile)
  // All-on-device decode step time against total tokens in the batch (the spec's f_compute).
  LinearFit decode_step;
  // Time to bring every layer's KV of x batch tokens over the link (the spec's f_transfer; used
  // by the SLO-aware baseline).
  LinearFit transfer_step;
  // Prefill of n prompt tokens (one request).
  QuadraticFit prefill;
  double link_bytes_per_s = kPcieGen4x16BytesPerS;
  int64_t device_memory_bytes = 0;
  // Where the numbers come from: "profiled (reference implementation)", "roofline-scaled from
  // ...", "measured by orbitflow profile".
  std::string source;
};

// The profile for a model on a GPU: the reference implementation's profiled fits where it
// published them (A6000 and A100 with Llama-3.1-8B, A6000 with Llama-3-70B), otherwise fits
// scaled from the A100 + Llama-3.1-8B fit by roofline ratios (weight bytes, KV bytes per token,
// HBM bandwidth), documented in `source`.
CostProfile BuiltinCostProfile(const ModelSpec& model, const HardwareProfile& hw);

StatusOr<CostProfile> ParseCostProfileJson(std::string_view json_text, std::string_view origin);
StatusOr<CostProfile> LoadCostProfile(const std::string& path);
std::string CostProfileToJson(const CostProfile& p);
Status SaveCostProfile(const CostProfile& p, const std::string& path);

}  // namespace orbitflow
