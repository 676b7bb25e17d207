#include "bench/openai_request.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace orbitflow {
namespace {

using json = nlohmann::json;

BenchRequest Sample() {
  BenchRequest r;
  r.input_len = 3;
  r.output_len = 7;
  r.prompt_ids = {5, 6, 7};
  r.prompt_text = "a b c";
  return r;
}

TEST(OpenAiRequestTest, CompletionsBodySendsTokenIdsAndExactLength) {
  const json b = json::parse(MakeRequestBody(Sample(), {.model = "m"}));
  EXPECT_EQ(b["model"], "m");
  EXPECT_EQ(b["prompt"], json::array({5, 6, 7}));
  EXPECT_EQ(b["max_tokens"], 7);
  EXPECT_EQ(b["stream"], true);
  EXPECT_EQ(b["stream_options"]["include_usage"], true);
  EXPECT_EQ(b["ignore_eos"], true);
  EXPECT_FALSE(b.contains("orbitflow"));  // only for servers that accept it
}

TEST(OpenAiRequestTest, ChatBodyAndOrbitflowExtension) {
  const json b = json::parse(MakeRequestBody(Sample(), {.endpoint = BenchEndpoint::kChatCompletions, .model = "m",
                                                         .orbitflow = true, .tbt_slo_ms = 40, .paced = true}));
  EXPECT_EQ(b["messages"][0]["role"], "user");
  EXPECT_EQ(b["messages"][0]["content"], "a b c");
  EXPECT_EQ(b["max_completion_tokens"], 7);
  EXPECT_EQ(b["orbitflow"]["tbt_slo_ms"], 40);
  EXPECT_EQ(b["orbitflow"]["paced"], true);
}

TEST(OpenAiRequestTest, CompletionChunks) {
  const auto k = BenchEndpoint::kCompletions;
  // OrbitFlow: one chunk per token (text may be empty mid-character), then the finish reason.
  EXPECT_TRUE(InterpretChunk(R"({"choices":[{"text":"","finish_reason":null}]})", k).carries_output);
  EXPECT_TRUE(InterpretChunk(R"({"choices":[{"text":" the","finish_reason":null}]})", k).carries_output);
  ChunkInfo fin = InterpretChunk(R"({"choices":[{"text":"","finish_reason":"length"}]})", k);
  EXPECT_FALSE(fin.carries_output);
  EXPECT_EQ(fin.finish_reason, "length");
  // vLLM: the last token's chunk carries the finish reason.
  EXPECT_TRUE(InterpretChunk(R"({"choices":[{"text":"end","finish_reason":"length"}]})", k).carries_output);
  ChunkInfo usage = InterpretChunk(R"({"choices":[],"usage":{"prompt_tokens":3,"completion_tokens":7}})", k);
  EXPECT_FALSE(usage.carries_output);
  EXPECT_EQ(usage.prompt_tokens, 3);
  EXPECT_EQ(usage.completion_tokens, 7);
  EXPECT_TRUE(InterpretChunk("[DONE]", k).done);
  EXPECT_EQ(InterpretChunk(R"({"error":{"message":"boom"}})", k).error, "boom");
  EXPECT_TRUE(InterpretChunk("{not json", k).error.has_value());
}

TEST(OpenAiRequestTest, ChatChunks) {
  const auto k = BenchEndpoint::kChatCompletions;
  EXPECT_FALSE(InterpretChunk(R"({"choices":[{"delta":{"role":"assistant","content":""},"finish_reason":null}]})", k)
                   .carries_output);
  EXPECT_TRUE(InterpretChunk(R"({"choices":[{"delta":{"content":"hi"},"finish_reason":null}]})", k).carries_output);
  EXPECT_TRUE(InterpretChunk(R"({"choices":[{"delta":{"content":""},"finish_reason":null}]})", k).carries_output);
  EXPECT_FALSE(InterpretChunk(R"({"choices":[{"delta":{},"finish_reason":"stop"}]})", k).carries_output);
}

}  // namespace
}  // namespace orbitflow
