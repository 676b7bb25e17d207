// Server-Sent Events, incrementally: bytes arrive in arbitrary pieces (TCP reads, HTTP chunks)
// and each complete event's data goes to a callback. Follows the SSE rules the OpenAI-compatible
// servers rely on: "data:" lines (one optional space after the colon) joined by '\n', events
// ended by a blank line, LF or CRLF line endings, ':' comments and other fields ignored.
#pragma once

#include <functional>
#include <string>
#include <string_view>

namespace orbitflow {

class SseParser {
 public:
  using OnEvent = std::function<void(std::string_view data)>;
  explicit SseParser(OnEvent on_event) : on_event_(std::move(on_event)) {}

  void Feed(std::string_view bytes);
  // The stream ended: an event missing only its blank line is delivered.
  void Finish();

 private:
  void Line(std::string_view line);

  OnEvent on_event_;
  std::string partial_;  // an unfinished line
  std::string data_;     // the current event's data
  bool has_data_ = false;
};

}  // namespace orbitflow
