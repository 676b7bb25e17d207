#include "cli/tokenize_command.h"

#include <cstdio>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>

#include <fmt/format.h>

#include "cli/cpu_rig.h"

namespace orbitflow {
namespace {

struct TokenizeFlags {
  CpuRigFlags rig;
  bool no_bos = false;
  std::string file;
  std::string text;
};

Status RunTokenize(const TokenizeFlags& f) {
  std::string text = f.text;
  if (!f.file.empty()) {
    if (!f.text.empty()) return InvalidArgument("give either --file or TEXT, not both");
    std::ifstream in(f.file, std::ios::binary);
    if (!in) return NotFound(fmt::format("cannot open --file {}", f.file));
    std::stringstream ss;
    ss << in.rdbuf();
    text = ss.str();
  }
  OF_ASSIGN_OR_RETURN(std::unique_ptr<CpuRig> rig, LoadCpuRig(f.rig));
  const std::vector<int32_t> ids = rig->tokenizer.Encode(text, !f.no_bos, /*eos=*/false);
  std::printf("%s\n", fmt::format("{}", fmt::join(ids, " ")).c_str());
  return Status::Ok();
}

}  // namespace

Command AddTokenizeCommand(CLI::App& app) {
  auto flags = std::make_shared<TokenizeFlags>();
  CLI::App* cmd = app.add_subcommand("tokenize", "Print the token ids of a text, separated by spaces");
  cmd->add_option("--model", flags->rig.model, "model whose tokenizer to use (default: bundled stories260K)");
  cmd->add_option("--tokenizer", flags->rig.tokenizer, "tokenizer file (default: the model's own)");
  cmd->add_flag("--no-bos", flags->no_bos, "do not prepend the beginning-of-sequence token");
  cmd->add_option("--file", flags->file, "read the text from this file");
  cmd->add_option("text", flags->text, "the text (when no --file)");
  return {cmd, [flags] { return RunTokenize(*flags); }};
}

}  // namespace orbitflow
