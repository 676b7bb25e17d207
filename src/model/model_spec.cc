#include "model/model_spec.h"

#include <algorithm>
#include <cctype>

#include <fmt/format.h>

namespace orbitflow {

int64_t ModelSpec::ParamCount() const {
  const int64_t d = dim, h = hidden_dim, kv = kv_dim(), v = vocab_size;
  const int64_t per_layer = d * d /*wq*/ + 2 * d * kv /*wk,wv*/ + d * d /*wo*/ + 3 * d * h /*ffn*/ +
                            2 * d /*norms*/;
  return v * d + n_layers * per_layer + d + (shared_classifier ? 0 : v * d);
}

Status ModelSpec::Validate() const {
  auto bad = [&](std::string_view field, int64_t value) {
    return InvalidArgument(fmt::format("model '{}': {} = {} is not valid", name, field, value));
  };
  if (dim <= 0) return bad("dim", dim);
  if (hidden_dim <= 0) return bad("hidden_dim", hidden_dim);
  if (n_layers <= 0) return bad("n_layers", n_layers);
  if (n_heads <= 0 || dim % n_heads != 0) return bad("n_heads", n_heads);
  if (n_kv_heads <= 0 || n_heads % n_kv_heads != 0) return bad("n_kv_heads", n_kv_heads);
  if (vocab_size <= 0) return bad("vocab_size", vocab_size);
  if (max_seq_len <= 0) return bad("max_seq_len", max_seq_len);
  if (tensor_parallel <= 0 || n_kv_heads % tensor_parallel != 0) {
    return bad("tensor_parallel", tensor_parallel);
  }
  if (kv_bytes_per_elem != 2 && kv_bytes_per_elem != 4) return bad("kv_bytes_per_elem", kv_bytes_per_elem);
  return Status::Ok();
}

namespace {

ModelSpec Llama3_70B(int tp) {
  ModelSpec m{.name = tp == 1 ? "llama-3-70b" : fmt::format("llama-3-70b-tp{}", tp),
              .dim = 8192, .hidden_dim = 28672, .n_layers = 80, .n_heads = 64, .n_kv_heads = 8,
              .vocab_size = 128256, .max_seq_len = 8192, .rope_theta = 500000.0f};
  m.tensor_parallel = tp;
  m.shared_classifier = false;
  return m;
}

std::vector<ModelSpec> Catalog() {
  return {
      {.name = "llama-3.1-8b", .dim = 4096, .hidden_dim = 14336, .n_layers = 32, .n_heads = 32,
       .n_kv_heads = 8, .vocab_size = 128256, .max_seq_len = 131072, .rope_theta = 500000.0f,
       .shared_classifier = false},
      Llama3_70B(1), Llama3_70B(2), Llama3_70B(4),
      {.name = "llama-3.2-1b", .dim = 2048, .hidden_dim = 8192, .n_layers = 16, .n_heads = 32,
       .n_kv_heads = 8, .vocab_size = 128256, .max_seq_len = 131072, .rope_theta = 500000.0f},
      {.name = "stories260k", .dim = 64, .hidden_dim = 172, .n_layers = 5, .n_heads = 8,
       .n_kv_heads = 4, .vocab_size = 512, .max_seq_len = 512, .kv_bytes_per_elem = 4},
      {.name = "stories110m", .dim = 768, .hidden_dim = 2048, .n_layers = 12, .n_heads = 12,
       .n_kv_heads = 12, .vocab_size = 32000, .max_seq_len = 1024, .kv_bytes_per_elem = 4},
  };
}

std::string Lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

}  // namespace

StatusOr<ModelSpec> LookupModelSpec(std::string_view name) {
  const std::string key = Lower(name);
  for (ModelSpec& m : Catalog()) {
    if (m.name == key) return m;
  }
  return NotFound(fmt::format("unknown model '{}'; built-in models: {}", name,
                              fmt::join(BuiltinModelNames(), ", ")));
}

std::vector<std::string> BuiltinModelNames() {
  std::vector<std::string> names;
  for (const ModelSpec& m : Catalog()) names.push_back(m.name);
  return names;
}

}  // namespace orbitflow
