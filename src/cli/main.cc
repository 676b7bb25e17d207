// orbitflow: the command-line entry point. Parses flags, sets up logging, dispatches to one
// subcommand; every error comes back as a Status and becomes one line on stderr and exit 1.
#include <cstdio>
#include <memory>
#include <vector>

#include <CLI/CLI.hpp>

#include "cli/bench_engine_command.h"
#include "cli/bench_planner_command.h"
#include "cli/bench_serve_command.h"
#include "cli/command.h"
#include "cli/export_command.h"
#include "cli/generate_command.h"
#include "cli/profile_command.h"
#include "cli/serve_command.h"
#include "cli/simulate_command.h"
#include "cli/tokenize_command.h"
#include "common/logging.h"

int main(int argc, char** argv) {
  using namespace orbitflow;
  CLI::App app{"OrbitFlow: SLO-aware long-context LLM serving with fine-grained KV cache placement"};
  app.require_subcommand(1);
  std::string log_level = "warn";
  app.add_option("--log-level", log_level, "trace|debug|info|warn|error|off")->capture_default_str();

  // Every subcommand, in the order `orbitflow --help` lists them.
  // `bench` groups the benchmarks (planner, latency, throughput, serve).
  std::vector<Command> commands;
  commands.push_back(AddSimulateCommand(app));
  commands.push_back(AddGenerateCommand(app));
  commands.push_back(AddTokenizeCommand(app));
  commands.push_back(AddExportCommand(app));
  commands.push_back(AddProfileCommand(app));
  commands.push_back(AddServeCommand(app));
  CLI::App* bench = app.add_subcommand("bench", "Benchmarks: planner solve time, engine latency and "
                                                "throughput, and a load generator for servers");
  bench->require_subcommand(1);
  commands.push_back(AddBenchPlannerCommand(*bench));
  commands.push_back(AddBenchLatencyCommand(*bench));
  commands.push_back(AddBenchThroughputCommand(*bench));
  commands.push_back(AddBenchServeCommand(*bench));

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);  // --help
    std::fprintf(stderr, "orbitflow: %s (see --help)\n", e.what());
    return 2;
  }
  if (Status s = InitLogging(log_level); !s.ok()) {
    std::fprintf(stderr, "orbitflow: %s\n", s.message().c_str());
    return 2;
  }
  Status status;
  for (const Command& c : commands) {
    if (c.app->parsed()) status = c.run();
  }
  if (!status.ok()) {
    std::fprintf(stderr, "orbitflow: %s\n", status.ToString().c_str());
    return 1;
  }
  return 0;
}
