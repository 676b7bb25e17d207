// CSV reports of a run: one summary row per policy, and one row per request with the reference
// implementation's columns (so its plotting scripts keep working) followed by ours.
//
// Files are written atomically: the text goes to a temporary file beside the target, which is
// then renamed over it, so a reader never sees half a report (atomic for readers; not synced to
// disk, so not durable across a power loss). Numbers are written in their
// shortest round-trip form; a quantity that does not exist (no finish time for an unfinished
// request) is an empty field. Fields holding commas, quotes or newlines are quoted (RFC 4180).
#pragma once

#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include "metrics/request_record.h"
#include "metrics/scoring.h"
#include "orbitflow/status.h"

namespace orbitflow {

// Columns: policy, then SummaryFields() in order (see summary_fields.h).
Status WriteSummaryCsv(const std::filesystem::path& path,
                       std::span<const std::pair<std::string, SloSummary>> rows);

// Reference columns, in this order:
//   request_id, arrival_time, first_scheduled_time, finished_time, time_to_first_token,
//   slo_threshold, slo_violations, stall_times, stall_duration, decode_length, end_to_end_time,
//   decode_time, time_per_output_token, time_between_tokens, finish_reason, solver_time,
//   solver_estimated_time, expected_output_length
// then ours:
//   pauses, pause_duration, violations_with_deposit, device_layer_fraction_mean, deposit_peak,
//   deposit_releases, prompt_tokens, missing_tokens, failure_message
// Meanings (seconds unless said): slo_violations = late gaps without deposit + missing tokens
// (so the column sums to the summary's V); violations_with_deposit likewise with Token Deposit;
// stall_times = number of stalled steps; stall_duration = their total time; decode_length =
// tokens produced; decode_time = finished - first token; time_per_output_token = mean gap;
// time_between_tokens = every gap, ';'-separated inside one quoted field ("0.05;0.051");
// solver_time and solver_estimated_time = totals over the request's life.
Status WriteRequestsCsv(const std::filesystem::path& path,
                        std::span<const RequestRecord> requests);

// One row per engine step: step, start, duration, decode_batch, prefill_tokens,
// device_blocks_used, device_blocks_total, solved (0/1), solver_time, predicted (the plan's step
// time), stall, h2d_bytes.
Status WriteStepsCsv(const std::filesystem::path& path, std::span<const StepRecord> steps);
// The same, a row at a time (a live engine's step log): the header line, then one row per step.
std::string_view StepsCsvHeader();
void AppendStepRow(const StepRecord& s, std::string& out);

// Writes `contents` to `path` through a temporary file and a rename. Errors name the path.
Status WriteFileAtomically(const std::filesystem::path& path, std::string_view contents);

// `field` as one CSV field: quoted, with quotes doubled, iff it holds , " \r or \n.
std::string CsvEscape(std::string_view field);

}  // namespace orbitflow
