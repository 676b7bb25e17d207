#include "bench/sse_parser.h"

namespace orbitflow {

void SseParser::Feed(std::string_view bytes) {
  while (!bytes.empty()) {
    const size_t nl = bytes.find('\n');
    if (nl == std::string_view::npos) {
      partial_.append(bytes);
      return;
    }
    if (partial_.empty()) {
      Line(bytes.substr(0, nl));
    } else {
      partial_.append(bytes.substr(0, nl));
      Line(partial_);
      partial_.clear();
    }
    bytes.remove_prefix(nl + 1);
  }
}

void SseParser::Finish() {
  if (!partial_.empty()) {
    std::string last = std::move(partial_);
    partial_.clear();
    Line(last);
  }
  Line("");
}

void SseParser::Line(std::string_view line) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  if (line.empty()) {
    if (has_data_) on_event_(data_);
    data_.clear();
    has_data_ = false;
    return;
  }
  if (!line.starts_with("data:")) return;  // comments, event:, id:, retry:
  line.remove_prefix(5);
  if (!line.empty() && line.front() == ' ') line.remove_prefix(1);
  if (has_data_) data_ += '\n';
  data_.append(line);
  has_data_ = true;
}

}  // namespace orbitflow
