// Fuzz-style robustness tests: thousands of mutated and truncated real files fed to every
// parser. Each must return a Status (OK or not) without crashing, hanging or reading out of
// bounds (run under ASan/UBSan by `make asan`). Deterministic: fixed seeds.
#include <gtest/gtest.h>

#include <chrono>
#include <cstring>
#include <random>

#include "model/gguf_model.h"
#include "model/llama2c.h"
#include "model/loader.h"
#include "model/model_test_util.h"
#include "model/tokenizer.h"

namespace orbitflow {
namespace {

using testing_util::Stories260KFile;
using testing_util::TinyModel;

std::span<const std::byte> Bytes(const std::string& s) {
  return {reinterpret_cast<const std::byte*>(s.data()), s.size()};
}

// Applies 1-4 random edits, biased towards the first `hot` bytes (headers, metadata, tensor
// infos), where a single bad value changes how everything after it is read.
std::string Mutate(const std::string& base, size_t hot, std::mt19937_64& rng) {
  std::string s = base;
  const int edits = 1 + static_cast<int>(rng() % 4);
  for (int e = 0; e < edits && !s.empty(); ++e) {
    const size_t span = (rng() % 4 != 0) ? std::min(hot, s.size()) : s.size();
    const size_t at = rng() % span;
    switch (rng() % 6) {
      case 0: s[at] = static_cast<char>(rng()); break;
      case 1: s[at] ^= static_cast<char>(1u << (rng() % 8)); break;
      case 2: {  // an "interesting" 32- or 64-bit value
        static const int64_t kValues[] = {
            0, -1, 1, INT32_MAX, INT32_MIN, int64_t{1} << 31, int64_t{1} << 40, INT64_MAX, 255, 65536};
        const int64_t v = kValues[rng() % std::size(kValues)];
        const size_t width = rng() % 2 == 0 ? 4 : 8;
        if (at + width <= s.size()) std::memcpy(s.data() + at, &v, width);
        break;
      }
      case 3: s.resize(rng() % (s.size() + 1)); break;  // truncate
      case 4: s.insert(at, std::string(1 + rng() % 8, static_cast<char>(rng()))); break;
      default: s.erase(at, 1 + rng() % 8); break;
    }
  }
  return s;
}

TEST(LoaderFuzzTest, MutatedStories260KNeverCrashes) {
  auto original = ReadFileToString(Stories260KFile("stories260K.bin"));
  ASSERT_TRUE(original.ok());
  std::mt19937_64 rng(260);
  int ok = 0;
  for (int i = 0; i < 400; ++i) {
    auto bytes = std::make_shared<std::string>(Mutate(*original, 64, rng));
    // Alternate between the in-place (memory-map-like) and the copying paths.
    std::shared_ptr<void> keepalive = i % 2 == 0 ? bytes : nullptr;
    auto m = ParseLlama2c(Bytes(*bytes), keepalive, "fuzz.bin");
    if (m.ok()) {
      ++ok;
      EXPECT_TRUE(CheckFinite(m->spec, m->weights, "fuzz").ok());
    } else {
      EXPECT_FALSE(m.status().message().empty());
    }
  }
  EXPECT_GT(ok, 0);  // mutations of weight bytes alone still load
}

TEST(LoaderFuzzTest, MutatedSmallCheckpointsNeverCrash) {
  std::mt19937_64 rng(1);
  for (bool shared : {true, false}) {
    for (Llama2cVersion v : {Llama2cVersion::kLegacy, Llama2cVersion::kV1, Llama2cVersion::kV2Int8}) {
      StringSink sink;
      ASSERT_TRUE(WriteLlama2c(TinyModel(shared), v, &sink).ok());
      for (int i = 0; i < 400; ++i) {
        const std::string bytes = Mutate(sink.data(), 260, rng);
        (void)ParseLlama2c(Bytes(bytes), nullptr, "fuzz.bin");
      }
      // Every truncation of the header region.
      for (size_t cut = 0; cut < 300 && cut < sink.data().size(); ++cut) {
        EXPECT_FALSE(ParseLlama2c(Bytes(sink.data().substr(0, cut)), nullptr, "cut.bin").ok());
      }
    }
  }
}

TEST(LoaderFuzzTest, MutatedGgufNeverCrashes) {
  auto vocab = Tokenizer::ByteLevel(300);
  ASSERT_TRUE(vocab.ok());
  std::mt19937_64 rng(2);
  int models = 0, tokenizers = 0;
  for (GgmlType type : {GgmlType::kF32, GgmlType::kF16, GgmlType::kQ8_0}) {
    StringSink sink;
    ASSERT_TRUE(WriteGgufModel(TinyModel(false), &*vocab, type, &sink).ok());
    const std::string& base = sink.data();
    // Metadata and tensor infos (the vocabulary strings) take the first ~8 KB.
    for (int i = 0; i < 700; ++i) {
      const std::string bytes = Mutate(base, 8192, rng);
      auto file = GgufFile::Parse(Bytes(bytes), "fuzz.gguf");
      if (!file.ok()) continue;
      models += ModelFromGguf(*file).ok();
      tokenizers += TokenizerFromGgufFile(*file).ok();
    }
    for (int i = 0; i < 150; ++i) {
      const size_t cut = i < 100 ? static_cast<size_t>(i) * 7 : rng() % base.size();
      EXPECT_FALSE(ParseGgufModel(Bytes(base.substr(0, cut)), "cut.gguf").ok()) << cut;
    }
  }
  EXPECT_GT(models, 0);
  EXPECT_GT(tokenizers, 0);
}

TEST(LoaderFuzzTest, MutatedTokenizerFilesNeverCrash) {
  auto original = ReadFileToString(Stories260KFile("tok512.bin"));
  ASSERT_TRUE(original.ok());
  std::mt19937_64 rng(3);
  for (int i = 0; i < 1000; ++i) {
    const std::string bytes = Mutate(*original, original->size(), rng);
    auto tok = ParseLlama2cTokenizer(Bytes(bytes), "fuzz_tok.bin");
    if (!tok.ok()) continue;
    // A strange but valid vocabulary must still encode and decode without trouble.
    const std::vector<int32_t> ids = tok->Encode("Once upon a time \xF0\x9F\x98\x80 \xFF", true, true);
    StreamDecoder stream(*tok);
    std::string text;
    for (int32_t id : ids) stream.Push(id, &text);
    stream.Finish(&text);
  }
}

}  // namespace
}  // namespace orbitflow
