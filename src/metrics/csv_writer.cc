#include "metrics/csv_writer.h"

#include <atomic>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <optional>
#include <thread>
#include <variant>

#include <unistd.h>

#include <fmt/format.h>

#include "metrics/summary_fields.h"

namespace orbitflow {
namespace {

constexpr std::string_view kRequestColumns =
    "request_id,arrival_time,first_scheduled_time,finished_time,time_to_first_token,"
    "slo_threshold,slo_violations,stall_times,stall_duration,decode_length,end_to_end_time,"
    "decode_time,time_per_output_token,time_between_tokens,finish_reason,solver_time,"
    "solver_estimated_time,expected_output_length,"
    "pauses,pause_duration,violations_with_deposit,device_layer_fraction_mean,deposit_peak,"
    "deposit_releases,prompt_tokens,missing_tokens,failure_message";

std::string Num(double v) { return fmt::format("{}", v); }
std::string Num(int64_t v) { return fmt::format("{}", v); }
std::string Num(std::optional<Seconds> v) { return v ? Num(v->count()) : std::string(); }

// Appends one row; every field but the last is followed by a comma.
class RowBuilder {
 public:
  explicit RowBuilder(std::string& out) : out_(out) {}
  RowBuilder& Add(std::string_view field) {
    if (!first_) out_ += ',';
    out_ += field;
    first_ = false;
    return *this;
  }
  void End() { out_ += '\n'; }

 private:
  std::string& out_;
  bool first_ = true;
};

void AppendRequestRow(const RequestRecord& r, std::string& out) {
  const RequestScore rs = ScoreRequest(r);
  std::string gaps;
  for (Seconds gap : TokenGaps(r)) {
    if (!gaps.empty()) gaps += ';';
    gaps += Num(gap.count());
  }
  std::optional<Seconds> decode_time;
  if (r.finished && !r.token_times.empty()) decode_time = *r.finished - r.token_times.front();
  const double layer_fraction =
      r.device_layer_fraction_steps > 0
          ? r.device_layer_fraction_sum / static_cast<double>(r.device_layer_fraction_steps)
          : 0.0;
  RowBuilder row(out);
  row.Add(Num(r.id.value())).Add(Num(r.arrival.count())).Add(Num(r.first_scheduled));
  row.Add(Num(r.finished)).Add(Num(rs.ttft)).Add(Num(r.slo.count()));
  row.Add(Num(rs.violations())).Add(Num(r.stall_count)).Add(Num(r.stall_time.count()));
  row.Add(Num(rs.produced)).Add(Num(rs.e2e)).Add(Num(decode_time)).Add(Num(rs.mean_gap));
  row.Add("\"" + gaps + "\"").Add(FinishReasonName(r.reason));
  row.Add(Num(r.solver_time.count())).Add(Num(r.solver_estimated_time.count()));
  row.Add(Num(r.expected_output_tokens));
  row.Add(Num(static_cast<int64_t>(r.pauses.size()))).Add(Num(rs.pause_time.count()));
  row.Add(Num(rs.violations_deposit())).Add(Num(layer_fraction));
  row.Add(Num(r.deposit_peak)).Add(Num(r.deposit_releases)).Add(Num(r.prompt_tokens));
  row.Add(Num(rs.missing)).Add(CsvEscape(r.failure_message));
  row.End();
}

}  // namespace

std::string CsvEscape(std::string_view field) {
  if (field.find_first_of(",\"\r\n") == std::string_view::npos) return std::string(field);
  std::string out = "\"";
  for (char c : field) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
  return out;
}

Status WriteFileAtomically(const std::filesystem::path& path, std::string_view contents) {
  // A name unique per process, thread and call, so concurrent writers never share a temporary.
  static std::atomic<uint64_t> counter{0};
  std::filesystem::path tmp = path;
  tmp += fmt::format(".tmp-{}-{}-{}", ::getpid(),
                     std::hash<std::thread::id>()(std::this_thread::get_id()), counter.fetch_add(1));
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    if (!f) {
      return InvalidArgument(fmt::format("cannot write {}: creating {} failed: {} (does its folder "
                                         "exist and is it writable?)",
                                         path.string(), tmp.string(), std::strerror(errno)));
    }
    f.write(contents.data(), static_cast<std::streamsize>(contents.size()));
    f.close();
    if (!f) {
      std::error_code ignored;
      std::filesystem::remove(tmp, ignored);
      return DataLoss(fmt::format("cannot write {}: writing {} failed: {}", path.string(),
                                  tmp.string(), std::strerror(errno)));
    }
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) {
    std::error_code ignored;
    std::filesystem::remove(tmp, ignored);
    return InvalidArgument(
        fmt::format("cannot write {}: renaming {} over it failed: {}", path.string(),
                    tmp.string(), ec.message()));
  }
  return Status::Ok();
}

Status WriteSummaryCsv(const std::filesystem::path& path,
                       std::span<const std::pair<std::string, SloSummary>> rows) {
  std::string out = "policy";
  for (const SummaryField& f : SummaryFields()) {
    out += ',';
    out += f.name;
  }
  out += '\n';
  for (const auto& [policy, summary] : rows) {
    RowBuilder row(out);
    row.Add(CsvEscape(policy));
    for (const SummaryField& f : SummaryFields()) {
      std::visit([&](auto member) { row.Add(Num(summary.*member)); }, f.member);
    }
    row.End();
  }
  return WriteFileAtomically(path, out);
}

Status WriteRequestsCsv(const std::filesystem::path& path,
                        std::span<const RequestRecord> requests) {
  std::string out(kRequestColumns);
  out += '\n';
  for (const RequestRecord& r : requests) AppendRequestRow(r, out);
  return WriteFileAtomically(path, out);
}

std::string_view StepsCsvHeader() {
  return "step,start,duration,decode_batch,prefill_tokens,device_blocks_used,device_blocks_total,solved,"
         "solver_time,predicted,stall,h2d_bytes\n";
}

void AppendStepRow(const StepRecord& s, std::string& out) {
  RowBuilder(out)
      .Add(Num(s.step))
      .Add(Num(s.start.count()))
      .Add(Num(s.duration.count()))
      .Add(Num(int64_t{s.decode_batch}))
      .Add(Num(s.prefill_tokens))
      .Add(Num(s.device_blocks_used))
      .Add(Num(s.device_blocks_total))
      .Add(s.solved ? "1" : "0")
      .Add(Num(s.solver_time.count()))
      .Add(Num(s.predicted.count()))
      .Add(Num(s.stall.count()))
      .Add(Num(s.h2d.count()))
      .End();
}

Status WriteStepsCsv(const std::filesystem::path& path, std::span<const StepRecord> steps) {
  std::string out(StepsCsvHeader());
  for (const StepRecord& s : steps) AppendStepRow(s, out);
  return WriteFileAtomically(path, out);
}

}  // namespace orbitflow
