// Helpers shared by the model layer's tests (header-only; not part of the library).
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <string>

#include "model/synthetic.h"
#include "model/weight_layout.h"
#include "model/weights.h"

namespace orbitflow::testing_util {

// The bundled copy in the repo when present, else the shared data folder's.
inline std::string Stories260KFile(const std::string& name) {
  const std::string repo = std::string(ORBITFLOW_REPO_DIR) + "/models/stories260K/" + name;
  if (std::filesystem::exists(repo)) return repo;
  return std::string(ORBITFLOW_SHARED_DATA_DIR) + "/models/stories260K/" + name;
}

inline std::string Llama2TokenizerFile() {
  return std::string(ORBITFLOW_SHARED_DATA_DIR) + "/tokenizers/llama2c_tokenizer.bin";
}

inline std::string TestDataFile(const std::string& name) {
  return std::string(ORBITFLOW_REPO_DIR) + "/src/model/testdata/" + name;
}

// A fresh path in the test temp dir, unique per process so parallel ctest runs do not collide.
inline std::string TempFile(const std::string& name) {
  return ::testing::TempDir() + "of_model_" + std::to_string(::getpid()) + "_" + name;
}

// A tiny model with generated weights: dim 16, 2 layers, GQA (4 heads, 2 KV heads).
inline Model TinyModel(bool shared_classifier, uint64_t seed = 7) {
  ModelSpec s{.name = "tiny",
              .dim = 16,
              .hidden_dim = 40,
              .n_layers = 2,
              .n_heads = 4,
              .n_kv_heads = 2,
              .vocab_size = 300,
              .max_seq_len = 32};
  s.shared_classifier = shared_classifier;
  auto m = MakeSyntheticModel(s, {.seed = seed, .threads = 1});
  EXPECT_TRUE(m.ok()) << m.status().ToString();
  return std::move(m).value();
}

// Same spec shape and bit-identical tensors.
inline ::testing::AssertionResult SameWeights(const Model& a, const Model& b) {
  const ModelSpec &x = a.spec, &y = b.spec;
  if (x.dim != y.dim || x.hidden_dim != y.hidden_dim || x.n_layers != y.n_layers || x.n_heads != y.n_heads ||
      x.n_kv_heads != y.n_kv_heads || x.vocab_size != y.vocab_size || x.max_seq_len != y.max_seq_len ||
      x.shared_classifier != y.shared_classifier) {
    return ::testing::AssertionFailure() << "specs differ";
  }
  const auto ta = ListTensors(x, a.weights), tb = ListTensors(y, b.weights);
  for (size_t i = 0; i < ta.size(); ++i) {
    if (std::memcmp(ta[i].data, tb[i].data, static_cast<size_t>(ta[i].size()) * 4) != 0) {
      return ::testing::AssertionFailure() << "tensor " << ta[i].name << " differs";
    }
  }
  return ::testing::AssertionSuccess();
}

}  // namespace orbitflow::testing_util
