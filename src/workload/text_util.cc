#include "workload/text_util.h"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <system_error>

#include <fmt/format.h>

namespace orbitflow::workload_internal {

StatusOr<std::string> ReadFileToString(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    return InvalidArgument(fmt::format("trace path '{}' is a directory; give a trace file", path));
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return NotFound(
        fmt::format("cannot open trace file '{}': {}; check the path", path, std::strerror(errno)));
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return DataLoss(fmt::format("reading trace file '{}' failed", path));
  return ss.str();
}

std::string FileStem(std::string_view path) {
  const size_t slash = path.find_last_of('/');
  std::string_view name = slash == std::string_view::npos ? path : path.substr(slash + 1);
  const size_t dot = name.find_last_of('.');
  if (dot != std::string_view::npos && dot > 0) name = name.substr(0, dot);
  return std::string(name);
}

std::string Quote(std::string_view value) {
  constexpr size_t kMax = 40;
  std::string out = "'";
  for (size_t i = 0; i < value.size() && i < kMax; ++i) {
    const auto c = static_cast<unsigned char>(value[i]);
    if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
    } else {
      out += fmt::format("\\x{:02x}", c);
    }
  }
  if (value.size() > kMax) out += "...";
  out += "'";
  return out;
}

bool LineCursor::Next(std::string_view& line) {
  if (pos_ >= text_.size()) return false;
  size_t end = text_.find('\n', pos_);
  if (end == std::string_view::npos) end = text_.size();
  line = text_.substr(pos_, end - pos_);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  pos_ = end + 1;
  ++line_number_;
  return true;
}

namespace {
std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}
}  // namespace

void SplitCsv(std::string_view line, std::vector<std::string_view>& fields) {
  fields.clear();
  size_t start = 0;
  for (;;) {
    const size_t comma = line.find(',', start);
    if (comma == std::string_view::npos) {
      fields.push_back(Trim(line.substr(start)));
      return;
    }
    fields.push_back(Trim(line.substr(start, comma - start)));
    start = comma + 1;
  }
}

Status FieldError(const FieldRef& where, std::string_view what) {
  std::string m(where.source);
  if (where.line > 0) m += fmt::format(":{}", where.line);
  m += ": ";
  if (!where.item.empty()) m += fmt::format("{}: ", where.item);
  if (!where.field.empty()) m += fmt::format("field '{}': ", where.field);
  m += what;
  return InvalidArgument(std::move(m));
}

StatusOr<int64_t> ParseIntField(std::string_view text, const FieldRef& where, int64_t min,
                                int64_t max) {
  const std::string expected = min == 1   ? fmt::format("a positive integer (at most {})", max)
                               : min == 0 ? fmt::format("a non-negative integer (at most {})", max)
                                          : fmt::format("an integer in [{}, {}]", min, max);
  int64_t v = 0;
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, v);
  if (text.empty() || ec != std::errc() || ptr != end || v < min || v > max) {
    return FieldError(where, fmt::format("expected {}, got {}", expected, Quote(text)));
  }
  return v;
}

StatusOr<double> ParseNonNegativeField(std::string_view text, const FieldRef& where) {
  double v = 0.0;
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, v);
  if (text.empty() || ec != std::errc() || ptr != end || !std::isfinite(v) || v < 0.0) {
    return FieldError(where,
                      fmt::format("expected a finite non-negative number, got {}", Quote(text)));
  }
  return v;
}

int64_t LineAtOffset(std::string_view text, size_t offset) {
  offset = std::min(offset, text.size());
  return 1 + std::count(text.begin(), text.begin() + static_cast<ptrdiff_t>(offset), '\n');
}

int64_t LineOf(std::string_view text, std::string_view needle) {
  const size_t at = text.find(needle);
  return at == std::string_view::npos ? 0 : LineAtOffset(text, at);
}

}  // namespace orbitflow::workload_internal
