#include "model/llama2c.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <fstream>

#include "model/binary_io.h"
#include "model/loader.h"
#include "model/model_test_util.h"

namespace orbitflow {
namespace {

using testing_util::SameWeights;
using testing_util::Stories260KFile;
using testing_util::TinyModel;

// Reads float number `index` of the checkpoint's payload straight from the file.
float FloatAt(const std::string& path, int64_t index) {
  std::ifstream in(path, std::ios::binary);
  in.seekg(28 + index * 4);
  float v = 0;
  in.read(reinterpret_cast<char*>(&v), 4);
  EXPECT_TRUE(in.good());
  return v;
}

std::span<const std::byte> Bytes(const std::string& s) {
  return {reinterpret_cast<const std::byte*>(s.data()), s.size()};
}

std::string Serialize(const Model& m, Llama2cVersion v) {
  StringSink sink;
  EXPECT_TRUE(WriteLlama2c(m, v, &sink).ok());
  return sink.data();
}

TEST(Llama2cTest, Stories260KShapesAndGoldenValues) {
  const std::string path = Stories260KFile("stories260K.bin");
  auto m = LoadModel(path);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  const ModelSpec& s = m->spec;
  EXPECT_EQ(s.name, "stories260K");
  EXPECT_EQ(s.dim, 64);
  EXPECT_EQ(s.hidden_dim, 172);
  EXPECT_EQ(s.n_layers, 5);
  EXPECT_EQ(s.n_heads, 8);
  EXPECT_EQ(s.n_kv_heads, 4);
  EXPECT_EQ(s.vocab_size, 512);
  EXPECT_EQ(s.max_seq_len, 512);
  EXPECT_TRUE(s.shared_classifier);
  EXPECT_FALSE(s.synthetic);
  EXPECT_FLOAT_EQ(s.rope_theta, 10000.0f);
  EXPECT_FLOAT_EQ(s.norm_eps, 1e-5f);
  // The catalog entry describes the same shape.
  auto catalog = LookupModelSpec("stories260k");
  ASSERT_TRUE(catalog.ok());
  EXPECT_EQ(catalog->ParamCount(), s.ParamCount());

  // Offsets computed here, independently of the loader's layout code.
  const int64_t emb = 512 * 64, rms = 5 * 64, wq = 5 * 64 * 64, wk = 5 * 32 * 64, w1 = 5 * 172 * 64;
  const int64_t w2_start = emb + rms + wq + wk + wk + wq + rms + w1;
  const TransformerWeights& w = m->weights;
  EXPECT_EQ(w.token_embedding[0], FloatAt(path, 0));
  EXPECT_EQ(w.token_embedding[emb - 1], FloatAt(path, emb - 1));
  EXPECT_EQ(w.w2[0], FloatAt(path, w2_start));
  EXPECT_EQ(w.w2[w1 - 1], FloatAt(path, w2_start + w1 - 1));
  EXPECT_EQ(w.rms_final[63], FloatAt(path, w2_start + 2 * w1 + 63));
  EXPECT_EQ(w.wcls, w.token_embedding);
  EXPECT_NE(w.token_embedding[0], 0.0f);
  // fp32 legacy checkpoints are used in place from the memory map.
  EXPECT_TRUE(w.storage.empty());
  EXPECT_NE(w.keepalive, nullptr);
}

TEST(Llama2cTest, LegacyWriterReproducesTheOriginalFile) {
  const std::string path = Stories260KFile("stories260K.bin");
  auto original = ReadFileToString(path);
  ASSERT_TRUE(original.ok());
  auto m = LoadModel(path);
  ASSERT_TRUE(m.ok());
  const std::string written = Serialize(*m, Llama2cVersion::kLegacy);
  ASSERT_EQ(written.size(), original->size());
  // Everything but the RoPE tables is copied bit for bit; the tables are recomputed and must
  // agree with PyTorch's float32 values to within rounding.
  const size_t tables_begin = 28 + 4 * static_cast<size_t>(m->spec.ParamCount());
  EXPECT_EQ(written.substr(0, tables_begin), original->substr(0, tables_begin));
  for (size_t off = tables_begin; off < written.size(); off += 4) {
    float a, b;
    std::memcpy(&a, written.data() + off, 4);
    std::memcpy(&b, original->data() + off, 4);
    ASSERT_NEAR(a, b, 1e-6f) << "at byte " << off;
  }
}

TEST(Llama2cTest, RoundTripsEveryVersionAndClassifierLayout) {
  for (bool shared : {true, false}) {
    Model m = TinyModel(shared);
    for (Llama2cVersion v : {Llama2cVersion::kLegacy, Llama2cVersion::kV1}) {
      const std::string bytes = Serialize(m, v);
      auto back = ParseLlama2c(Bytes(bytes), nullptr, "tiny.bin");
      ASSERT_TRUE(back.ok()) << back.status().ToString();
      EXPECT_TRUE(SameWeights(m, *back)) << "version " << static_cast<int>(v) << " shared " << shared;
      EXPECT_EQ(back->spec.shared_classifier, shared);
      if (!shared) {
        EXPECT_NE(back->weights.wcls, back->weights.token_embedding);
      }
    }
  }
  // A negative vocab_size in the legacy header is what flags the separate classifier.
  const std::string legacy = Serialize(TinyModel(false), Llama2cVersion::kLegacy);
  int32_t vocab = 0;
  std::memcpy(&vocab, legacy.data() + 20, 4);
  EXPECT_EQ(vocab, -300);
}

TEST(Llama2cTest, Version2Int8DequantizesWithinHalfAStep) {
  for (bool shared : {true, false}) {
    Model m = TinyModel(shared);
    const std::string bytes = Serialize(m, Llama2cVersion::kV2Int8);
    auto back = ParseLlama2c(Bytes(bytes), nullptr, "tiny_q80.bin");
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    const auto a = ListTensors(m.spec, m.weights), b = ListTensors(back->spec, back->weights);
    ASSERT_EQ(a.size(), b.size());
    for (size_t t = 0; t < a.size(); ++t) {
      // Group size 16 here (the largest power of two <= 64 dividing dim = 16).
      for (int64_t i = 0; i < a[t].size(); ++i) {
        if (a[t].rows == 1) {
          ASSERT_EQ(a[t].data[i], b[t].data[i]) << a[t].name;  // norms stay fp32
          continue;
        }
        float amax = 0;
        for (int64_t j = i / 16 * 16; j < i / 16 * 16 + 16; ++j)
          amax = std::max(amax, std::fabs(a[t].data[j]));
        ASSERT_NEAR(a[t].data[i], b[t].data[i], amax / 127.0f * 0.5001f) << a[t].name << " " << i;
      }
    }
  }
}

TEST(Llama2cTest, RejectsTruncatedAndOversizedFiles) {
  const std::string bytes = Serialize(TinyModel(true), Llama2cVersion::kLegacy);
  for (size_t keep : {size_t{0}, size_t{3}, size_t{27}, size_t{28}, bytes.size() / 2, bytes.size() - 1}) {
    auto m = ParseLlama2c(Bytes(bytes.substr(0, keep)), nullptr, "cut.bin");
    ASSERT_FALSE(m.ok()) << keep;
    EXPECT_EQ(m.status().code(), StatusCode::kDataLoss) << m.status().ToString();
    EXPECT_NE(m.status().message().find("cut.bin"), std::string::npos);
  }
  auto longer = ParseLlama2c(Bytes(bytes + "xxxx"), nullptr, "long.bin");
  ASSERT_FALSE(longer.ok());
  EXPECT_EQ(longer.status().code(), StatusCode::kDataLoss);
  EXPECT_NE(longer.status().message().find("trailing"), std::string::npos);
}

TEST(Llama2cTest, RejectsImpossibleShapesNamingTheField) {
  std::string bytes = Serialize(TinyModel(true), Llama2cVersion::kLegacy);
  const int32_t seven = 7;
  std::memcpy(bytes.data() + 12, &seven, 4);  // n_heads = 7 does not divide dim = 16
  auto m = ParseLlama2c(Bytes(bytes), nullptr, "bad.bin");
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(m.status().message().find("n_heads"), std::string::npos) << m.status().ToString();

  // Enormous dimensions must not overflow into a small "expected size".
  std::string huge = Serialize(TinyModel(true), Llama2cVersion::kLegacy);
  const int32_t big = 1 << 30;
  for (int field : {0, 1, 2, 5}) std::memcpy(huge.data() + 4 * field, &big, 4);
  auto h = ParseLlama2c(Bytes(huge), nullptr, "huge.bin");
  EXPECT_FALSE(h.ok());
}

TEST(Llama2cTest, RejectsUnknownVersionsAndBadFlags) {
  std::string v1 = Serialize(TinyModel(true), Llama2cVersion::kV1);
  std::string v9 = v1;
  const int32_t nine = 9;
  std::memcpy(v9.data() + 4, &nine, 4);
  auto m = ParseLlama2c(Bytes(v9), nullptr, "v9.bin");
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().code(), StatusCode::kUnimplemented);
  std::string flag = v1;
  flag[36] = 5;  // shared_classifier byte
  auto f = ParseLlama2c(Bytes(flag), nullptr, "flag.bin");
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.status().code(), StatusCode::kDataLoss);
}

TEST(Llama2cTest, RejectsNonFiniteWeightsNamingTheTensor) {
  std::string bytes = Serialize(TinyModel(true), Llama2cVersion::kLegacy);
  const float nan = std::nanf("");
  // The first element of rms_att follows the 300 x 16 embedding.
  std::memcpy(bytes.data() + 28 + 300 * 16 * 4, &nan, 4);
  auto m = ParseLlama2c(Bytes(bytes), nullptr, "nan.bin");
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().code(), StatusCode::kDataLoss);
  EXPECT_NE(m.status().message().find("blk.0.attn_norm.weight"), std::string::npos) << m.status().ToString();
}

TEST(Llama2cTest, MissingFileIsNotFound) {
  auto m = LoadLlama2c("/nonexistent/model.bin");
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace orbitflow
