// The CSV trace formats: Azure LLM inference 2023 and length-only files (Vidur, Sarathi).
#include <algorithm>
#include <charconv>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "workload/text_util.h"
#include "workload/trace_readers.h"

namespace orbitflow {
namespace {

using workload_internal::FieldRef;
using workload_internal::LineCursor;
using workload_internal::ParseIntField;
using workload_internal::Quote;
using workload_internal::SplitCsv;

// Column positions found in a CSV header, by name.
struct CsvHeader {
  int64_t line = 0;
  size_t num_fields = 0;
  std::vector<size_t> columns;  // one per wanted name, in the order asked
};

// Reads the first non-blank line as the header and locates `names` in it.
StatusOr<CsvHeader> ReadCsvHeader(LineCursor& cursor, std::string_view source,
                                  const std::vector<std::string_view>& names) {
  std::string_view line;
  std::vector<std::string_view> fields;
  while (cursor.Next(line)) {
    if (cursor.line_number() == 1 && line.starts_with("\xEF\xBB\xBF")) line.remove_prefix(3);
    SplitCsv(line, fields);
    if (fields.size() == 1 && fields[0].empty()) continue;
    CsvHeader header{cursor.line_number(), fields.size(), {}};
    for (std::string_view name : names) {
      const auto it = std::find(fields.begin(), fields.end(), name);
      if (it == fields.end()) {
        return InvalidArgument(
            fmt::format("{}:{}: header has no column '{}' (header: {}); expected columns {}",
                        source, header.line, name, Quote(line), fmt::join(names, ",")));
      }
      header.columns.push_back(static_cast<size_t>(it - fields.begin()));
    }
    return header;
  }
  return InvalidArgument(fmt::format("{}: empty file; expected a CSV header with columns {}",
                                     source, fmt::join(names, ",")));
}

// Walks the data rows after the header: skips blank lines, checks the field count and calls
// `row(fields, line_number)` for each.
template <typename RowFn>
Status ForEachCsvRow(LineCursor& cursor, std::string_view source, const CsvHeader& header,
                     RowFn&& row) {
  std::string_view line;
  std::vector<std::string_view> fields;
  while (cursor.Next(line)) {
    SplitCsv(line, fields);
    if (fields.size() == 1 && fields[0].empty()) continue;
    if (fields.size() != header.num_fields) {
      return InvalidArgument(
          fmt::format("{}:{}: expected {} comma-separated fields as in the "
                      "header, got {}",
                      source, cursor.line_number(), header.num_fields, fields.size()));
    }
    OF_RETURN_IF_ERROR(row(fields, cursor.line_number()));
  }
  return Status::Ok();
}

Status NoRows(std::string_view source) {
  return InvalidArgument(
      fmt::format("{}: no requests; the file has a header but no data rows", source));
}

// Parses exactly `width` decimal digits at `s[pos]`, advancing pos.
std::optional<int> Digits(std::string_view s, size_t& pos, size_t width) {
  if (pos + width > s.size()) return std::nullopt;
  int v = 0;
  for (size_t i = 0; i < width; ++i) {
    const char c = s[pos + i];
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + (c - '0');
  }
  pos += width;
  return v;
}

bool Expect(std::string_view s, size_t& pos, std::string_view chars) {
  if (pos >= s.size() || chars.find(s[pos]) == std::string_view::npos) return false;
  ++pos;
  return true;
}

// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil).
int64_t DaysFromCivil(int64_t y, int64_t m, int64_t d) {
  y -= m <= 2;
  const int64_t era = y / 400;
  const int64_t yoe = y - era * 400;
  const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

int DaysInMonth(int y, int m) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  return m == 2 && leap ? 29 : kDays[m - 1];
}

// `YYYY-MM-DD HH:MM:SS[.f...]` (or a 'T' separator) as nanoseconds since 1970. Years are limited
// to 1970-2199 so any difference of two stamps fits int64 nanoseconds exactly.
std::optional<int64_t> ParseTimestampNs(std::string_view s) {
  size_t pos = 0;
  const auto year = Digits(s, pos, 4);
  if (!year || !Expect(s, pos, "-")) return std::nullopt;
  const auto month = Digits(s, pos, 2);
  if (!month || !Expect(s, pos, "-")) return std::nullopt;
  const auto day = Digits(s, pos, 2);
  if (!day || !Expect(s, pos, " T")) return std::nullopt;
  const auto hour = Digits(s, pos, 2);
  if (!hour || !Expect(s, pos, ":")) return std::nullopt;
  const auto minute = Digits(s, pos, 2);
  if (!minute || !Expect(s, pos, ":")) return std::nullopt;
  const auto second = Digits(s, pos, 2);
  if (!second) return std::nullopt;
  if (*year < 1970 || *year > 2199 || *month < 1 || *month > 12 || *day < 1 ||
      *day > DaysInMonth(*year, *month) || *hour > 23 || *minute > 59 || *second > 59) {
    return std::nullopt;
  }
  int64_t nanos = 0;
  if (pos < s.size()) {
    if (s[pos] != '.' || pos + 1 == s.size()) return std::nullopt;
    int64_t scale = 100'000'000;
    for (++pos; pos < s.size(); ++pos) {
      if (s[pos] < '0' || s[pos] > '9') return std::nullopt;
      nanos += (s[pos] - '0') * scale;  // digits past the 9th add nothing (scale reaches 0)
      scale /= 10;
    }
  }
  const int64_t secs =
      DaysFromCivil(*year, *month, *day) * 86400 + *hour * 3600 + *minute * 60 + *second;
  return secs * 1'000'000'000 + nanos;
}

}  // namespace

StatusOr<Workload> ParseAzureCsv(std::string_view text, std::string_view source) {
  LineCursor cursor(text);
  OF_ASSIGN_OR_RETURN(
      CsvHeader header,
      ReadCsvHeader(cursor, source, {"TIMESTAMP", "ContextTokens", "GeneratedTokens"}));
  Workload w;
  w.name = workload_internal::FileStem(source);
  w.source = std::string(source);
  w.unit = ArrivalUnit::kSeconds;
  std::vector<int64_t> stamps;
  Status st = ForEachCsvRow(cursor, source, header, [&](const auto& f, int64_t line) -> Status {
    const std::string_view stamp = f[header.columns[0]];
    const std::optional<int64_t> ns = ParseTimestampNs(stamp);
    if (!ns) {
      return workload_internal::FieldError(
          {source, line, {}, "TIMESTAMP"},
          fmt::format("expected a date and time like '2023-11-16 18:15:46.6805900' "
                      "(years 1970-2199), got {}",
                      Quote(stamp)));
    }
    WorkloadRequest r;
    OF_ASSIGN_OR_RETURN(r.input_tokens,
                        ParseIntField(f[header.columns[1]], {source, line, {}, "ContextTokens"}, 1,
                                      kMaxTraceTokens));
    OF_ASSIGN_OR_RETURN(r.output_tokens,
                        ParseIntField(f[header.columns[2]], {source, line, {}, "GeneratedTokens"},
                                      1, kMaxTraceTokens));
    stamps.push_back(*ns);
    w.requests.push_back(std::move(r));
    return Status::Ok();
  });
  OF_RETURN_IF_ERROR(st);
  if (w.requests.empty()) return NoRows(source);
  const int64_t first = *std::min_element(stamps.begin(), stamps.end());
  for (size_t i = 0; i < stamps.size(); ++i) {
    // Integer nanoseconds first, one division last: exact to the double nearest the true gap.
    w.requests[i].arrival = static_cast<double>(stamps[i] - first) / 1e9;
  }
  SortAndIndex(w);
  return w;
}

StatusOr<Workload> ParseLengthsCsv(std::string_view text, std::string_view source) {
  LineCursor cursor(text);
  OF_ASSIGN_OR_RETURN(CsvHeader header,
                      ReadCsvHeader(cursor, source, {"num_prefill_tokens", "num_decode_tokens"}));
  Workload w;
  w.name = workload_internal::FileStem(source);
  w.source = std::string(source);
  w.unit = ArrivalUnit::kSeconds;
  Status st = ForEachCsvRow(cursor, source, header, [&](const auto& f, int64_t line) -> Status {
    WorkloadRequest r;
    r.index = static_cast<int64_t>(w.requests.size());
    OF_ASSIGN_OR_RETURN(r.input_tokens, ParseIntField(f[header.columns[0]],
                                                      {source, line, {}, "num_prefill_tokens"}, 1,
                                                      kMaxTraceTokens));
    OF_ASSIGN_OR_RETURN(r.output_tokens,
                        ParseIntField(f[header.columns[1]], {source, line, {}, "num_decode_tokens"},
                                      1, kMaxTraceTokens));
    w.requests.push_back(std::move(r));
    return Status::Ok();
  });
  OF_RETURN_IF_ERROR(st);
  if (w.requests.empty()) return NoRows(source);
  return w;
}

}  // namespace orbitflow
