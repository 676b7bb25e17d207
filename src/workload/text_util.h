// Small text helpers shared by the trace readers: reading a file, walking lines with their
// numbers, parsing one field with an error that names the file, line and field.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "orbitflow/status.h"

namespace orbitflow::workload_internal {

// The whole file. A file that cannot be opened is NotFound naming the path.
StatusOr<std::string> ReadFileToString(const std::string& path);

// The file name without directories and without its last extension ("a/b.json" -> "b").
std::string FileStem(std::string_view path);

// A value for an error message: at most 40 bytes, non-printable bytes as \xNN, in quotes.
std::string Quote(std::string_view value);

// Walks `text` line by line (LF or CRLF endings; a last line without a newline counts).
class LineCursor {
 public:
  explicit LineCursor(std::string_view text) : text_(text) {}
  // Sets `line` (without its ending) and returns true, or returns false at the end.
  bool Next(std::string_view& line);
  int64_t line_number() const { return line_number_; }  // 1-based number of the last line

 private:
  std::string_view text_;
  size_t pos_ = 0;
  int64_t line_number_ = 0;
};

// Splits a CSV line on commas (the trace files use no quoting) and trims spaces around fields.
void SplitCsv(std::string_view line, std::vector<std::string_view>& fields);

// Where a value came from, for error messages: "<source>:<line>: field '<field>'".
struct FieldRef {
  std::string_view source;
  int64_t line = 0;       // 0 = no line (e.g. a JSON object identified by `item` instead)
  std::string_view item;  // e.g. "request 'request_7'"; empty when `line` says where
  std::string_view field;
};

// "<source>:<line>: field '<field>': <what>" (or "<source>: <item>: field ...").
Status FieldError(const FieldRef& where, std::string_view what);

// A whole decimal integer in [min, max], e.g. "374". Leading '+' is not accepted.
StatusOr<int64_t> ParseIntField(std::string_view text, const FieldRef& where, int64_t min,
                                int64_t max);
// A finite decimal number >= 0, e.g. "12.5" or "3e2".
StatusOr<double> ParseNonNegativeField(std::string_view text, const FieldRef& where);

// The 1-based line of the first occurrence of `needle` in `text`, or 0 if absent.
int64_t LineOf(std::string_view text, std::string_view needle);
// The 1-based line holding byte `offset` of `text` (clamped to the text).
int64_t LineAtOffset(std::string_view text, size_t offset);

}  // namespace orbitflow::workload_internal
