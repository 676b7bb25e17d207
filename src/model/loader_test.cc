#include "model/loader.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>

#include "model/model_test_util.h"

namespace orbitflow {
namespace {

using testing_util::SameWeights;
using testing_util::Stories260KFile;
using testing_util::TempFile;
using testing_util::TinyModel;

TEST(LoaderTest, Stories260KThroughEveryFormatLoadsIdentically) {
  auto m = LoadModel(Stories260KFile("stories260K.bin"));
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  auto tok = LoadTokenizer(Stories260KFile("tok512.bin"));
  ASSERT_TRUE(tok.ok());
  // .bin -> GGUF -> llama2.c legacy -> llama2.c v1: each step loads bit-identical weights.
  const std::string gguf = TempFile("a.gguf"), legacy = TempFile("b.bin"), v1 = TempFile("c.bin");
  ASSERT_TRUE(ExportModel(*m, &*tok, ExportFormat::kGguf, gguf).ok());
  auto from_gguf = LoadModel(gguf);
  ASSERT_TRUE(from_gguf.ok()) << from_gguf.status().ToString();
  ASSERT_TRUE(ExportModel(*from_gguf, nullptr, ExportFormat::kLlama2c, legacy).ok());
  auto from_legacy = LoadModel(legacy);
  ASSERT_TRUE(from_legacy.ok()) << from_legacy.status().ToString();
  ASSERT_TRUE(ExportModel(*from_legacy, nullptr, ExportFormat::kLlama2cV1, v1).ok());
  auto from_v1 = LoadModel(v1);
  ASSERT_TRUE(from_v1.ok()) << from_v1.status().ToString();
  EXPECT_TRUE(SameWeights(*m, *from_gguf));
  EXPECT_TRUE(SameWeights(*m, *from_legacy));
  EXPECT_TRUE(SameWeights(*m, *from_v1));
  for (const std::string& p : {gguf, legacy, v1}) std::remove(p.c_str());
}

TEST(LoaderTest, DetectsGgufByMagicWhateverTheExtension) {
  Model m = TinyModel(true);
  const std::string path = TempFile("gguf_named.bin");
  ASSERT_TRUE(ExportModel(m, nullptr,
                          ExportOptions{.format = ExportFormat::kGguf, .gguf_weight_type = GgmlType::kF16},
                          path)
                  .ok());
  auto back = LoadModel(path);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->spec.dim, 16);
  EXPECT_TRUE(back->spec.synthetic);
  std::remove(path.c_str());
}

TEST(LoaderTest, MissingFilesAndNamesGiveHelpfulErrors) {
  auto missing = LoadModel("/nonexistent/x.gguf");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  auto bare_name = LoadModel("stories110m");
  ASSERT_FALSE(bare_name.ok());
  EXPECT_NE(bare_name.status().message().find("synthetic:stories110m"), std::string::npos);
  auto empty = TempFile("empty.bin");
  std::fclose(std::fopen(empty.c_str(), "wb"));
  auto e = LoadModel(empty);
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.status().code(), StatusCode::kDataLoss);
  std::remove(empty.c_str());
  EXPECT_EQ(LoadTokenizer("/nonexistent/tok.bin").status().code(), StatusCode::kNotFound);
}

TEST(LoaderTest, TokenizerForModel) {
  auto real = LoadModel(Stories260KFile("stories260K.bin"));
  ASSERT_TRUE(real.ok());
  EXPECT_EQ(TokenizerForModel(real->spec, "").status().code(), StatusCode::kInvalidArgument);
  auto tok = TokenizerForModel(real->spec, Stories260KFile("tok512.bin"));
  ASSERT_TRUE(tok.ok());
  EXPECT_EQ(tok->vocab_size(), 512);
  ModelSpec small = real->spec;
  small.vocab_size = 256;  // the tokenizer would produce ids the model has no row for
  EXPECT_EQ(TokenizerForModel(small, Stories260KFile("tok512.bin")).status().code(),
            StatusCode::kInvalidArgument);
  ModelSpec synthetic = real->spec;
  synthetic.synthetic = true;
  auto bytes = TokenizerForModel(synthetic, "");
  ASSERT_TRUE(bytes.ok());
  EXPECT_EQ(bytes->vocab_size(), 512);
  if (std::filesystem::exists(testing_util::Llama2TokenizerFile())) {
    auto s110 = LookupModelSpec("stories110m");
    ASSERT_TRUE(s110.ok());
    auto llama2 = TokenizerForModel(*s110, testing_util::Llama2TokenizerFile());
    ASSERT_TRUE(llama2.ok()) << llama2.status().ToString();
    EXPECT_EQ(llama2->vocab_size(), 32000);
  }
}

TEST(LoaderTest, SavesLlama2cTokenizers) {
  auto tok = LoadTokenizer(Stories260KFile("tok512.bin"));
  ASSERT_TRUE(tok.ok());
  const std::string path = TempFile("tok.bin");
  ASSERT_TRUE(SaveLlama2cTokenizer(*tok, path).ok());
  auto back = LoadTokenizer(path);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->vocabulary().pieces, tok->vocabulary().pieces);
  std::remove(path.c_str());
  EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));
}

}  // namespace
}  // namespace orbitflow
