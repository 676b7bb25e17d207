#include "cli/generate_command.h"

#include <cstdio>
#include <memory>
#include <string>

#include <fmt/format.h>

#include "cli/cpu_rig.h"
#include "model/tokenizer.h"

namespace orbitflow {
namespace {

struct GenerateFlags {
  CpuRigFlags rig;
  std::string prompt;
  int max_tokens = 256;
  float temperature = 0.0f;
  float top_p = 0.9f;
  uint64_t seed = 42;
};

Status RunGenerate(const GenerateFlags& f) {
  SamplerOptions sampling{.temperature = f.temperature, .top_p = f.top_p, .seed = f.seed};
  OF_RETURN_IF_ERROR(sampling.Validate());
  CpuRigFlags rf = f.rig;
  OF_ASSIGN_OR_RETURN(std::unique_ptr<CpuRig> rig, LoadCpuRig(rf));
  std::vector<int32_t> prompt = rig->tokenizer.Encode(f.prompt, /*bos=*/true, /*eos=*/false);
  const int64_t context = static_cast<int64_t>(prompt.size()) + f.max_tokens;
  if (context > rig->model.spec.max_seq_len) {
    return InvalidArgument(fmt::format("prompt ({} tokens) + --max-tokens {} exceed the model's "
                                       "context of {}", prompt.size(), f.max_tokens,
                                       rig->model.spec.max_seq_len));
  }
  OF_RETURN_IF_ERROR(BuildCpuEngine(rf, /*max_batch=*/1, context, rig.get()));
  StreamDecoder decoder(rig->tokenizer, prompt.back());
  std::string text;
  int64_t steps = 0;
  Seconds stall{0};
  Bytes h2d, d2h;
  rig->tap->on_token = [&](RequestId, int32_t token) {
    text.clear();
    decoder.Push(token, &text);
    std::fwrite(text.data(), 1, text.size(), stdout);
    std::fflush(stdout);
  };
  rig->tap->on_step = [&](const StepResult& r) {
    ++steps;
    stall += r.stall;
    h2d += r.h2d;
    d2h += r.d2h;
  };
  RequestSpec spec{.prompt_tokens = static_cast<int64_t>(prompt.size()),
                   .max_output_tokens = f.max_tokens, .prompt = prompt, .stop_at_eos = true,
                   .sampling = sampling};
  OF_ASSIGN_OR_RETURN(RequestId id, rig->engine->Submit(spec, rig->clock.Now()));
  OF_RETURN_IF_ERROR(rig->cpu->SetSampling(id, sampling));
  const Seconds start = rig->clock.Now();
  while (rig->engine->HasActive()) OF_RETURN_IF_ERROR(rig->engine->Step().status());
  const Seconds took = rig->clock.Now() - start;
  text.clear();
  decoder.Finish(&text);
  std::fwrite(text.data(), 1, text.size(), stdout);
  std::fputc('\n', stdout);
  std::fflush(stdout);
  const auto done = rig->engine->TakeFinished();
  if (!done.empty() && done[0].reason == FinishReason::kFailed) {
    return Internal(fmt::format("generation failed: {}", done[0].failure_message));
  }
  const int64_t tokens = rig->engine->counters().generation_tokens;
  std::fprintf(stderr, "%lld tokens in %.3f s (%.1f tok/s), %lld steps, policy %s, device %lld "
               "blocks/layer, pauses %lld, stall %.3f s, h2d %.2f MB, d2h %.2f MB\n",
               static_cast<long long>(tokens), took.count(), tokens / took.count(),
               static_cast<long long>(steps), rig->planner->name().data(),
               static_cast<long long>(rig->device_blocks_per_layer),
               static_cast<long long>(rig->engine->counters().pauses + rig->engine->counters().preemptions),
               stall.count(), h2d.count() / 1e6, d2h.count() / 1e6);
  return Status::Ok();
}

}  // namespace

Command AddGenerateCommand(CLI::App& app) {
  auto flags = std::make_shared<GenerateFlags>();
  CLI::App* cmd = app.add_subcommand("generate", "Generate text with the real CPU executor, "
                                                 "streaming it to stdout (stats on stderr)");
  AddCpuRigFlags(cmd, &flags->rig);
  cmd->add_option("--prompt", flags->prompt, "prompt text (empty: start from BOS)");
  cmd->add_option("--max-tokens", flags->max_tokens, "most tokens to generate")
      ->check(CLI::PositiveNumber)->capture_default_str();
  cmd->add_option("--temperature", flags->temperature, "0 = greedy; else softmax temperature")
      ->check(CLI::NonNegativeNumber)->capture_default_str();
  cmd->add_option("--top-p", flags->top_p, "nucleus sampling mass (with temperature > 0)")
      ->capture_default_str();
  cmd->add_option("--seed", flags->seed, "sampling seed")->capture_default_str();
  return {cmd, [flags] { return RunGenerate(*flags); }};
}

}  // namespace orbitflow
