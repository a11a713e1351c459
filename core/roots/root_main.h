// The prologue every composition root's main() shares (seamd, seam-split, the split daemons): the
// command line, the process's logger, and the deployment's config. What follows it is each
// root's own: rootMain() hands the loaded config to `run` and returns what `run` returns.
//
//   int main(int argc, char** argv) {
//     return seams::rootMain(argc, argv, {.name = "seamd", .description = "...", .log_tag = "%t"},
//                            [](const Config& config, const std::string&) { return run(config); });
//   }
//
// Thread-safety: main()'s thread, before any other thread exists.
#pragma once

#include <functional>
#include <string>

#include "core/config/config.h"

namespace seams {

struct RootCommandLine {
  // The binary's name: the default logger's name, and the prefix of an error printed before
  // logging is set up ("seamd: no such file").
  std::string name;
  // The first paragraph of --help.
  std::string description;
  // What each log line shows in its brackets after the level: "%t" (the thread id), "split",
  // "seam-fsd %t" (spdlog pattern flags).
  std::string log_tag;
};

// Parses -c/--config FILE (required) and -l/--log-level trace|debug|info|warn|error, makes a
// stderr logger named `cli.name` the default one, loads the config and sets the log level (the
// flag over the config's log_level), then returns run(config, config_path) with the path as
// given. Before `run`: 0 after --help, CLI11's exit code for a bad command line, and 2 (with
// "NAME: why" on stderr) for a config that does not load.
int rootMain(int argc, char** argv, const RootCommandLine& cli,
             const std::function<int(const Config& config, const std::string& config_path)>& run);

}  // namespace seams
