// seamd: the single-daemon deployment, and its composition root.
//
// This is the only place (with the split daemons' mains) that chooses implementations: one
// process, one Deps, local objects for everything. Storage, auth, sync, HTTP, FUSE and the control
// socket run as services under one ServiceManager and its watchdog; systemd (or seam-bench) sees
// READY=1 once all of them serve.
#include <signal.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>

#include "core/config/config.h"
#include "core/runtime/service_manager.h"
#include "core/services/auth_service.h"
#include "core/services/daemon_lifecycle.h"
#include "core/services/fuse_service.h"
#include "core/services/http_service.h"
#include "core/services/process_root.h"
#include "core/services/runtime_dir.h"
#include "core/services/sync_service.h"
#include "core/services/vault_service.h"

namespace seams {
namespace {

int runDaemon(const Config& config) {
  // SIGTERM/SIGINT are taken by one thread with sigwait(); every other thread inherits the mask,
  // so no service thread is interrupted by them.
  const sigset_t stop_signals = blockStopSignals();

  // Held until we exit: a second deployment on this runtime_dir is refused, naming us.
  Result<RuntimeDirLock> runtime_lock =
      prepareRuntimeDir(config.runtime_dir, "deployment", "seamd");
  if (!runtime_lock.ok()) {
    spdlog::critical("seamd: {}", runtime_lock.status().toString());
    return 1;
  }
  // In waves, as the launcher starts its daemons: storage, auth and control, then sync, http
  // and fuse (only control sets up a KJ loop, so nothing races on libkj-async's statics).
  ProcessRoot root(config.watchdog, /*parallel_start=*/true);
  ServiceManager& manager = root.manager;
  Deps& deps = root.deps;

  // The restart policy of each service: storage and auth hold what everything else serves, so
  // they always come back; the frontends too. Control is permanent (ProcessRoot::run adds it).
  Status added = manager.add(std::make_unique<VaultService>(
      config.vault_root, config.allow_shared_vault_root, config.cache, deps));
  if (added.ok()) {
    added =
        manager.add(std::make_unique<AuthService>(config.users, config.rules, config.auth, deps));
  }
  if (added.ok()) {
    added = manager.add(std::make_unique<SyncService>(config.vault_root, deps, root.metrics,
                                                      std::vector<std::string>{"storage"}));
  }
  if (added.ok() && config.http.enabled) {
    added = manager.add(std::make_unique<HttpService>(config.http, deps, root.metrics,
                                                      std::vector<std::string>{"storage", "auth"}));
  }
  if (added.ok() && config.fuse.enabled) {
    added = manager.add(std::make_unique<FuseService>(config.fuse, deps,
                                                      std::vector<std::string>{"storage", "auth"}));
  }
  if (!added.ok()) {
    spdlog::critical("seamd: {}", added.toString());
    return 1;
  }
  return root.run("seamd",
                  ControlServerOptions{.socket_path = config.control_socket,
                                       .faults_enabled = config.faults.enabled},
                  stop_signals,
                  "vault " + config.vault_root + ", control " + config.control_socket);
}

}  // namespace
}  // namespace seams

int main(int argc, char** argv) {
  CLI::App app{
      "seamd: the Seams single daemon. Serves a vault over HTTP and a FUSE mount, every service\n"
      "in one process under a watchdog. Create a runnable config with `seamctl init DIR`."};
  std::string config_path;
  std::string log_level;
  app.add_option("-c,--config", config_path, "the deployment's TOML config file")->required();
  app.add_option("-l,--log-level", log_level,
                 "trace|debug|info|warn|error (overrides log_level in the config)")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error"}));
  CLI11_PARSE(app, argc, argv);

  auto logger = spdlog::stderr_color_mt("seamd");
  spdlog::set_default_logger(logger);
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%f %^%l%$ [%t] %v");

  seams::Result<seams::Config> config = seams::loadConfig(config_path);
  if (!config.ok()) {
    std::fprintf(stderr, "seamd: %s\n", config.status().message().c_str());
    return 2;
  }
  spdlog::set_level(spdlog::level::from_str(log_level.empty() ? config->log_level : log_level));
  return seams::runDaemon(*config);
}
