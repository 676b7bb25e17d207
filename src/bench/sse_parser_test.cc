#include "bench/sse_parser.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace orbitflow {
namespace {

std::vector<std::string> ParseInPieces(const std::string& stream, size_t piece) {
  std::vector<std::string> events;
  SseParser p([&](std::string_view d) { events.emplace_back(d); });
  for (size_t i = 0; i < stream.size(); i += piece) p.Feed(std::string_view(stream).substr(i, piece));
  p.Finish();
  return events;
}

TEST(SseParserTest, EventsSurviveAnySplit) {
  const std::string stream = "data: {\"a\":1}\n\ndata:{\"b\":2}\r\n\r\n: keep-alive comment\n\ndata: [DONE]\n\n";
  for (size_t piece : {1u, 2u, 3u, 7u, 1000u}) {
    EXPECT_EQ(ParseInPieces(stream, piece), (std::vector<std::string>{"{\"a\":1}", "{\"b\":2}", "[DONE]"}))
        << "piece " << piece;
  }
}

TEST(SseParserTest, MultiLineDataAndOtherFields) {
  EXPECT_EQ(ParseInPieces("event: x\nid: 3\ndata: one\ndata: two\n\n", 5), (std::vector<std::string>{"one\ntwo"}));
}

TEST(SseParserTest, FinishDeliversAnEventWithoutItsBlankLine) {
  EXPECT_EQ(ParseInPieces("data: last", 4), (std::vector<std::string>{"last"}));
  EXPECT_TRUE(ParseInPieces("", 1).empty());
}

}  // namespace
}  // namespace orbitflow
