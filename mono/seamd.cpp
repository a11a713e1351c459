// seamd: the single-daemon deployment, and its composition root.
//
// This is the only place (with the split daemons' mains) that chooses implementations: one
// process, one Deps, local objects for everything. Storage, auth, sync, HTTP, FUSE and the control
// socket run as services under one ServiceManager and its watchdog; systemd (or seam-bench) sees
// READY=1 once all of them serve. The HTTP listener may come from systemd (mono/seamd.socket):
// then it outlives seamd, and a restart or an upgrade refuses no connection.
#include <signal.h>
#include <spdlog/spdlog.h>

#include <memory>
#include <string>
#include <thread>

#include "core/config/config.h"
#include "core/roots/daemon_lifecycle.h"
#include "core/roots/process_root.h"
#include "core/roots/root_main.h"
#include "core/roots/runtime_dir.h"
#include "core/runtime/service_manager.h"
#include "core/runtime/service_names.h"
#include "core/services/auth_service.h"
#include "core/services/fuse_service.h"
#include "core/services/http_service.h"
#include "core/services/sync_service.h"
#include "core/services/vault_service.h"

namespace seams {
namespace {

constexpr char kHelp[] =
    "seamd: the Seams single daemon. Serves a vault over HTTP and a FUSE mount, every service\n"
    "in one process under a watchdog. Create a runnable config with `seamctl init DIR`.";

int runDaemon(const Config& config) {
  // SIGTERM/SIGINT are taken by one thread with sigwait(); every other thread inherits the mask,
  // so no service thread is interrupted by them.
  const sigset_t stop_signals = blockStopSignals();
  // The HTTP listener systemd (seamd.socket) or whatever acts as it passed us, before any thread
  // exists: held for the whole process, so connections queue on it while the http service
  // restarts; without one the service binds http.listen itself.
  Result<UniqueFd> http_listener = adoptHttpListener(config, "seamd");
  if (!http_listener.ok()) {
    spdlog::critical("seamd: {}", http_listener.status().toString());
    return 1;
  }

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
  // they always come back; the frontends too. Control is permanent (ProcessRoot::addControl).
  Status added = manager.add(std::make_unique<VaultService>(
      config.vault_root, config.allow_shared_vault_root, config.cache, deps, config.probe));
  if (added.ok()) {
    added =
        manager.add(std::make_unique<AuthService>(config.users, config.rules, config.auth, deps));
  }
  if (added.ok()) {
    added = manager.add(std::make_unique<SyncService>(config.vault_root, deps, root.metrics,
                                                      std::vector<std::string>{kStorageService}));
  }
  if (added.ok() && config.http.enabled) {
    added = manager.add(std::make_unique<HttpService>(
        config.http, deps, root.metrics, std::vector<std::string>{kStorageService, kAuthService},
        config.probe, http_listener->get()));
  }
  if (added.ok() && config.fuse.enabled) {
    added = manager.add(std::make_unique<FuseService>(
        config.fuse, deps, std::vector<std::string>{kStorageService, kAuthService}));
  }
  if (added.ok()) {
    added = root.addControl(root.control_target, {.socket_path = config.control_socket,
                                                  .faults_enabled = config.faults.enabled});
  }
  if (!added.ok()) {
    spdlog::critical("seamd: {}", added.toString());
    return 1;
  }
  return root.run(stop_signals, {.who = "seamd",
                                 .running = "all services running (vault " + config.vault_root +
                                            ", control " + config.control_socket + ")"});
}

}  // namespace
}  // namespace seams

int main(int argc, char** argv) {
  return seams::rootMain(
      argc, argv, {.name = "seamd", .description = seams::kHelp, .log_tag = "%t"},
      [](const seams::Config& config, const std::string&) { return seams::runDaemon(config); });
}
