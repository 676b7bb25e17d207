#include "cli/export_command.h"

#include <cstdio>
#include <memory>
#include <string>

#include <fmt/format.h>

#include "cli/cpu_rig.h"
#include "model/loader.h"

namespace orbitflow {
namespace {

struct ExportFlags {
  CpuRigFlags rig;
  std::string format;
  std::string out;
};

Status RunExport(const ExportFlags& f) {
  ExportFormat format;
  if (f.format == "llama2c") {
    format = ExportFormat::kLlama2c;
  } else if (f.format == "gguf") {
    format = ExportFormat::kGguf;
  } else {
    return InvalidArgument(fmt::format("--format {}: expected llama2c or gguf", f.format));
  }
  OF_ASSIGN_OR_RETURN(std::unique_ptr<CpuRig> rig, LoadCpuRig(f.rig));
  // GGUF carries the vocabulary, which must match the model's size; llama2.c does not carry one.
  const bool embed = format == ExportFormat::kGguf &&
                     rig->tokenizer.vocab_size() == rig->model.spec.vocab_size;
  OF_RETURN_IF_ERROR(ExportModel(rig->model, embed ? &rig->tokenizer : nullptr, format, f.out));
  std::fprintf(stderr, "wrote %s (%s%s)\n", f.out.c_str(), f.format.c_str(),
               embed ? ", with tokenizer" : "");
  return Status::Ok();
}

}  // namespace

Command AddExportCommand(CLI::App& app) {
  auto flags = std::make_shared<ExportFlags>();
  CLI::App* cmd = app.add_subcommand("export", "Write a model as a llama2.c checkpoint or GGUF file");
  cmd->add_option("--model", flags->rig.model, "model to export (default: bundled stories260K)");
  cmd->add_option("--tokenizer", flags->rig.tokenizer, "tokenizer to embed in GGUF (default: the model's own)");
  cmd->add_option("--format", flags->format, "llama2c or gguf")->required();
  cmd->add_option("--out", flags->out, "output file")->required();
  return {cmd, [flags] { return RunExport(*flags); }};
}

}  // namespace orbitflow
