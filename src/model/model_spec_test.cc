#include "model/model_spec.h"

#include <gtest/gtest.h>

namespace orbitflow {
namespace {

TEST(ModelSpecTest, Llama31_8BLayerBlockIs64KiB) {
  auto m = LookupModelSpec("Llama-3.1-8B");
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  // Spec section 2: 2 x 2 B x 128 x 8 x 16 = 65,536 B.
  EXPECT_EQ(m->KvBytesPerLayerBlock().count(), 65536);
  EXPECT_EQ(m->n_layers, 32);
  EXPECT_TRUE(m->Validate().ok());
  // About 8.0 billion parameters.
  EXPECT_NEAR(static_cast<double>(m->ParamCount()), 8.03e9, 0.02e9);
}

TEST(ModelSpecTest, TensorParallelShardDividesKvHeads) {
  auto full = LookupModelSpec("llama-3-70b");
  auto tp2 = LookupModelSpec("llama-3-70b-tp2");
  auto tp4 = LookupModelSpec("llama-3-70b-tp4");
  ASSERT_TRUE(full.ok() && tp2.ok() && tp4.ok());
  EXPECT_EQ(full->n_layers, 80);
  EXPECT_EQ(full->KvBytesPerLayerBlock().count(), 65536);
  EXPECT_EQ(tp2->KvBytesPerLayerBlock().count(), 32768);
  EXPECT_EQ(tp4->KvBytesPerLayerBlock().count(), 16384);
  EXPECT_NEAR(static_cast<double>(full->ParamCount()), 70.6e9, 0.2e9);
}

TEST(ModelSpecTest, StoriesShapesMatchTheBundledCheckpoint) {
  auto m = LookupModelSpec("stories260k");
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->head_dim(), 8);
  EXPECT_EQ(m->kv_dim(), 32);
  // The checkpoint holds 264,128 floats including 2 x 512 x 4 RoPE table entries.
  EXPECT_EQ(m->ParamCount() + 2 * 512 * 4, 264128);
}

TEST(ModelSpecTest, UnknownNameListsTheKnownOnes) {
  auto m = LookupModelSpec("gpt-5");
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().code(), StatusCode::kNotFound);
  EXPECT_NE(m.status().message().find("llama-3.1-8b"), std::string::npos);
}

TEST(ModelSpecTest, ValidateNamesTheBadField) {
  ModelSpec m = *LookupModelSpec("llama-3.2-1b");
  m.n_kv_heads = 5;
  Status s = m.Validate();
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("n_kv_heads"), std::string::npos);
}

}  // namespace
}  // namespace orbitflow
