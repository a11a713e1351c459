#include "core/roots/root_main.h"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <cstdio>

namespace seams {

int rootMain(int argc, char** argv, const RootCommandLine& cli,
             const std::function<int(const Config& config, const std::string& config_path)>& run) {
  CLI::App app{cli.description};
  std::string config_path;
  std::string log_level;
  app.add_option("-c,--config", config_path, "the deployment's TOML config file")->required();
  app.add_option("-l,--log-level", log_level,
                 "trace|debug|info|warn|error (overrides log_level in the config)")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error"}));
  CLI11_PARSE(app, argc, argv);

  spdlog::set_default_logger(spdlog::stderr_color_mt(cli.name));
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%f %^%l%$ [" + cli.log_tag + "] %v");

  Result<Config> config = loadConfig(config_path);
  if (!config.ok()) {
    std::fprintf(stderr, "%s: %s\n", cli.name.c_str(), config.status().message().c_str());
    return 2;
  }
  spdlog::set_level(spdlog::level::from_str(log_level.empty() ? config->log_level : log_level));
  return run(*config, config_path);
}

}  // namespace seams
