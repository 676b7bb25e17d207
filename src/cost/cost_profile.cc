#include "cost/cost_profile.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <fstream>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace orbitflow {
namespace {

constexpr double kGiB = 1024.0 * 1024 * 1024;

std::vector<HardwareProfile> Hardware() {
  return {
      {.name = "rtx-a6000", .device_memory_bytes = int64_t{48} << 30, .hbm_bytes_per_s = 768e9,
       .peak_flops = 154.8e12, .link_bytes_per_s = kPcieGen4x16BytesPerS},
      {.name = "a100-80gb", .device_memory_bytes = int64_t{80} << 30, .hbm_bytes_per_s = 2039e9,
       .peak_flops = 312e12, .link_bytes_per_s = kPcieGen4x16BytesPerS},
      {.name = "h100-80gb", .device_memory_bytes = int64_t{80} << 30, .hbm_bytes_per_s = 3350e9,
       .peak_flops = 989e12, .link_bytes_per_s = kPcieGen4x16BytesPerS},
  };
}

std::string Lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

// The reference implementation's profiled fits (spec section 3), seconds per decode step.
struct KnownFit {
  const char* model;
  const char* gpu;
  LinearFit compute;
  LinearFit transfer;
};
constexpr KnownFit kKnownFits[] = {
    {"llama-3.1-8b", "rtx-a6000", {6.74e-07, 4.06e-02}, {1.87e-05, 1.06e-02}},
    {"llama-3.1-8b", "a100-80gb", {8.89e-07, 4.83e-02}, {1.81e-05, 6.31e-02}},
    {"llama-3-70b", "rtx-a6000", {1.16e-06, 1.32e-01}, {5.51e-05, 2.38e-02}},
};

double WeightBytesPerDevice(const ModelSpec& m) {
  return 2.0 * static_cast<double>(m.ParamCount()) / m.tensor_parallel;
}
double KvBytesPerTokenPerDevice(const ModelSpec& m) {
  return static_cast<double>(m.KvBytesPerLayerBlock().count()) / kBlockTokens * m.n_layers;
}

// Prefill is compute-bound: 2 FLOPs per parameter per token at ~50% of peak, plus the attention
// score/value products (4 x n^2 x dim per layer, causal halves it) and the decode-step overhead.
QuadraticFit RooflinePrefill(const ModelSpec& m, const HardwareProfile& hw, double overhead_s) {
  const double eff_flops = 0.5 * hw.peak_flops * m.tensor_parallel;
  QuadraticFit f;
  f.c0 = overhead_s;
  f.c1 = 2.0 * static_cast<double>(m.ParamCount()) / eff_flops;
  f.c2 = 2.0 * m.dim * m.n_layers / eff_flops;
  return f;
}

}  // namespace

StatusOr<HardwareProfile> LookupHardware(std::string_view name) {
  std::string key = Lower(name);
  if (key == "a100") key = "a100-80gb";
  if (key == "h100") key = "h100-80gb";
  if (key == "a6000") key = "rtx-a6000";
  for (HardwareProfile& h : Hardware()) {
    if (h.name == key) return h;
  }
  return NotFound(fmt::format("unknown GPU '{}'; built-in GPUs: {}", name,
                              fmt::join(BuiltinHardwareNames(), ", ")));
}

std::vector<std::string> BuiltinHardwareNames() {
  std::vector<std::string> out;
  for (const HardwareProfile& h : Hardware()) out.push_back(h.name);
  return out;
}

CostProfile BuiltinCostProfile(const ModelSpec& model, const HardwareProfile& hw) {
  CostProfile p;
  p.model = model.name;
  p.gpu = hw.name;
  p.link_bytes_per_s = hw.link_bytes_per_s;
  p.device_memory_bytes = hw.device_memory_bytes;
  for (const KnownFit& k : kKnownFits) {
    if (model.name == k.model && hw.name == k.gpu) {
      p.decode_step = k.compute;
      p.transfer_step = k.transfer;
      p.prefill = RooflinePrefill(model, hw, k.compute.b);
      p.source = "profiled decode and transfer fits (reference implementation); roofline prefill";
      return p;
    }
  }
  // Scale the A100 + Llama-3.1-8B fit: the constant term with weight bytes read per step, the
  // slope with KV bytes read per token, both against HBM bandwidth.
  const ModelSpec ref = *LookupModelSpec("llama-3.1-8b");
  const KnownFit& base = kKnownFits[1];
  const double bw_ratio = 2039e9 / hw.hbm_bytes_per_s;
  p.decode_step.a = base.compute.a * KvBytesPerTokenPerDevice(model) / KvBytesPerTokenPerDevice(ref) * bw_ratio;
  p.decode_step.b = base.compute.b * WeightBytesPerDevice(model) / WeightBytesPerDevice(ref) * bw_ratio;
  // Transfer of x tokens' KV for every layer over the link, at the reference's measured
  // efficiency (its A100 slope against the nominal link rate).
  const double nominal_a = KvBytesPerTokenPerDevice(ref) / kPcieGen4x16BytesPerS;
  const double link_eff = nominal_a / base.transfer.a;
  p.transfer_step.a = KvBytesPerTokenPerDevice(model) / (hw.link_bytes_per_s * link_eff);
  p.transfer_step.b = base.transfer.b * KvBytesPerTokenPerDevice(model) / KvBytesPerTokenPerDevice(ref);
  p.prefill = RooflinePrefill(model, hw, p.decode_step.b);
  p.source = "roofline-scaled from the profiled A100 + Llama-3.1-8B fit";
  return p;
}

StatusOr<CostProfile> ParseCostProfileJson(std::string_view json_text, std::string_view origin) {
  nlohmann::json j = nlohmann::json::parse(json_text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return InvalidArgument(fmt::format("{}: not a JSON object", origin));
  }
  CostProfile p;
  auto num = [&](const nlohmann::json& obj, const char* path, const char* key, double* out) -> Status {
    if (!obj.contains(key) || !obj[key].is_number()) {
      return InvalidArgument(fmt::format("{}: field '{}{}' must be a number", origin, path, key));
    }
    *out = obj[key].get<double>();
    return Status::Ok();
  };
  auto fit = [&](const char* key, LinearFit* f) -> Status {
    if (!j.contains(key) || !j[key].is_object()) {
      return InvalidArgument(fmt::format("{}: field '{}' must be an object {{\"a\":..,\"b\":..}}", origin, key));
    }
    const std::string path = std::string(key) + ".";
    OF_RETURN_IF_ERROR(num(j[key], path.c_str(), "a", &f->a));
    return num(j[key], path.c_str(), "b", &f->b);
  };
  OF_RETURN_IF_ERROR(fit("decode_step", &p.decode_step));
  OF_RETURN_IF_ERROR(fit("transfer_step", &p.transfer_step));
  if (!j.contains("prefill") || !j["prefill"].is_object()) {
    return InvalidArgument(fmt::format("{}: field 'prefill' must be an object {{\"c0\",\"c1\",\"c2\"}}", origin));
  }
  OF_RETURN_IF_ERROR(num(j["prefill"], "prefill.", "c0", &p.prefill.c0));
  OF_RETURN_IF_ERROR(num(j["prefill"], "prefill.", "c1", &p.prefill.c1));
  OF_RETURN_IF_ERROR(num(j["prefill"], "prefill.", "c2", &p.prefill.c2));
  OF_RETURN_IF_ERROR(num(j, "", "link_bytes_per_s", &p.link_bytes_per_s));
  if (p.link_bytes_per_s <= 0) {
    return InvalidArgument(fmt::format("{}: link_bytes_per_s must be positive", origin));
  }
  if (p.decode_step.a < 0 || p.decode_step.b < 0 || p.decode_step.a + p.decode_step.b <= 0) {
    return InvalidArgument(fmt::format("{}: decode_step must be non-negative and not all zero", origin));
  }
  p.model = j.value("model", "");
  p.gpu = j.value("gpu", "");
  p.source = j.value("source", std::string("loaded from ") + std::string(origin));
  if (j.contains("device_memory_bytes") && j["device_memory_bytes"].is_number_integer()) {
    p.device_memory_bytes = j["device_memory_bytes"].get<int64_t>();
  }
  return p;
}

StatusOr<CostProfile> LoadCostProfile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return NotFound(fmt::format("cannot open profile '{}'", path));
  std::stringstream ss;
  ss << in.rdbuf();
  return ParseCostProfileJson(ss.str(), path);
}

std::string CostProfileToJson(const CostProfile& p) {
  nlohmann::json j;
  j["model"] = p.model;
  j["gpu"] = p.gpu;
  j["source"] = p.source;
  j["decode_step"] = {{"a", p.decode_step.a}, {"b", p.decode_step.b}};
  j["transfer_step"] = {{"a", p.transfer_step.a}, {"b", p.transfer_step.b}};
  j["prefill"] = {{"c0", p.prefill.c0}, {"c1", p.prefill.c1}, {"c2", p.prefill.c2}};
  j["link_bytes_per_s"] = p.link_bytes_per_s;
  j["link_gib_per_s"] = p.link_bytes_per_s / kGiB;
  j["device_memory_bytes"] = p.device_memory_bytes;
  return j.dump(2) + "\n";
}

Status SaveCostProfile(const CostProfile& p, const std::string& path) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp);
    if (!out) return NotFound(fmt::format("cannot write profile '{}'", path));
    out << CostProfileToJson(p);
    if (!out) return DataLoss(fmt::format("short write to '{}'", tmp));
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    return DataLoss(fmt::format("cannot rename '{}' to '{}'", tmp, path));
  }
  return Status::Ok();
}

}  // namespace orbitflow
