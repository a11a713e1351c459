// seam-split: the split deployment's launcher, and its composition root.
//
// It runs no vault code itself. Each daemon (seam-fsd, seam-authd, seam-syncd, seam-httpd,
// seam-fused) is a DaemonService under one ServiceManager, so the launcher starts them in
// dependency order, restarts them with the runtime's policies, backoff and intensity, and stops
// them in reverse order, exactly as seamd does with its threads. The control socket is the same
// ControlService as seamd's, over a LauncherTarget. systemd (or seam-bench) sees READY=1 once every
// daemon has sent its own READY=1; STOPPING=1 when it stops.
#include <signal.h>
#include <spdlog/spdlog.h>
#include <stdlib.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>

#include "core/config/config.h"
#include "core/control/control_service.h"
#include "core/roots/daemon_lifecycle.h"
#include "core/roots/root_main.h"
#include "core/roots/runtime_dir.h"
#include "core/runtime/env.h"
#include "core/runtime/notifier.h"
#include "core/runtime/service_manager.h"
#include "split/launcher/daemon_service.h"
#include "split/launcher/daemon_spec.h"
#include "split/launcher/launcher_target.h"
#include "split/launcher/notify_router.h"

namespace seams::split {
namespace {

constexpr char kHelp[] =
    "seam-split: the Seams split deployment. Starts seam-fsd, seam-authd, seam-syncd,\n"
    "seam-httpd and seam-fused in dependency order, supervises and restarts them, and serves\n"
    "the control socket. Create a runnable config with `seamctl init DIR`.";

// What must not outlive the launcher whichever way it ends: a FUSE mount nobody serves.
void finalCleanup(const Config& config) {
  if (config.fuse.enabled) {
    if (Status s = detachFuseMount(config.fuse.mountpoint); !s.ok()) {
      spdlog::error("seam-split: {}", s.toString());
    }
  }
}

int runLauncher(const Config& config, const std::string& config_path) {
  // The notifier reads NOTIFY_SOCKET / WATCHDOG_USEC / WATCHDOG_PID now. The WATCHDOG_* values
  // are ours (from systemd), not our daemons': a daemon inheriting WATCHDOG_PID=<our pid> would
  // conclude the watchdog is someone else's and never ping. Each daemon gets its own
  // NOTIFY_SOCKET and WATCHDOG_USEC; NOTIFY_SOCKET stays set for our own sd_notify(). No other
  // thread exists yet, so changing the environment is safe here.
  SystemdNotifier notifier;
  ::unsetenv("WATCHDOG_PID");
  ::unsetenv("WATCHDOG_USEC");

  const sigset_t stop_signals = blockStopSignals();
  raiseAndLogFdLimit("seam-split");  // before the daemons start: they inherit it

  // Held until we exit (the daemons take their own locks): one deployment per runtime_dir.
  Result<RuntimeDirLock> runtime_lock =
      prepareRuntimeDir(config.runtime_dir, "deployment", "seam-split");
  if (!runtime_lock.ok()) {
    spdlog::critical("seam-split: {}", runtime_lock.status().toString());
    return 1;
  }
  Result<std::string> bin_dir = resolveBinDir(config);
  if (!bin_dir.ok()) {
    spdlog::critical("seam-split: {}", bin_dir.status().toString());
    return 1;
  }
  Result<std::unique_ptr<NotifyRouter>> router =
      NotifyRouter::start(config.runtime_dir + "/notify.sock");
  if (!router.ok()) {
    spdlog::critical("seam-split: notify socket: {}", router.status().toString());
    return 1;
  }

  SystemEnv env;
  ServiceManager manager(
      env, ManagerOptions{.watchdog = config.watchdog,
                          .notifier = &notifier,
                          .on_event = logRuntimeEvent,
                          // After an escalation the manager has stopped every daemon in order;
                          // what remains is ours to clear before exiting non-zero.
                          .exit_process =
                              [&config, &router, &runtime_lock](int code) {
                                finalCleanup(config);
                                runtime_lock->release();
                                (*router)->stop();
                                ::unlink((*router)->path().c_str());
                                std::fflush(nullptr);
                                std::_Exit(code);
                              },
                          // fsd and authd start together, then syncd, httpd and fused.
                          .parallel_start = true});

  // The daemons are known before they are added, so the control target (which lists them) can
  // exist first and the control socket be the first service: it serves `seamctl status` while the
  // daemons start, and stops last, after every daemon, so `seamctl stop` gets its answer.
  std::vector<std::unique_ptr<DaemonService>> services;
  std::vector<const DaemonService*> daemons;
  for (DaemonSpec& spec : daemonSpecs(config, *bin_dir)) {
    services.push_back(
        std::make_unique<DaemonService>(std::move(spec), config_path, config.watchdog, **router));
    daemons.push_back(services.back().get());
  }
  LauncherTarget target(manager, env, daemons);
  Status added =
      manager.add(std::make_unique<ControlService>(
                      target, ControlServerOptions{.socket_path = config.control_socket,
                                                   .faults_enabled = config.faults.enabled}),
                  RestartPolicy::permanent);
  for (auto& service : services) {
    if (!added.ok()) break;
    added = manager.add(std::move(service), RestartPolicy::permanent);
  }
  if (!added.ok()) {
    spdlog::critical("seam-split: {}", added.toString());
    return 1;
  }

  StopSignals signals(manager, stop_signals, "seam-split");

  if (Status s = manager.start(); !s.ok()) {
    spdlog::critical("seam-split: start failed: {}", s.toString());
    finalCleanup(config);
    return 1;
  }
  spdlog::info("seam-split: all daemons running (daemons from {}, control {})", *bin_dir,
               config.control_socket);
  manager.startWatchdog();
  int code = manager.waitForStopRequest();
  if (Status s = manager.shutdown(); !s.ok()) {
    spdlog::error("seam-split: shutdown: {}", s.toString());
    if (code == 0) code = 1;
  }
  finalCleanup(config);
  spdlog::info("seam-split: stopped");
  return code;
}

}  // namespace
}  // namespace seams::split

int main(int argc, char** argv) {
  return seams::rootMain(
      argc, argv, {.name = "seam-split", .description = seams::split::kHelp, .log_tag = "split"},
      [](const seams::Config& config, const std::string& config_path) {
        // The daemons get the same file; an absolute path survives their different working
        // directory.
        std::error_code ec;
        const std::string absolute = std::filesystem::absolute(config_path, ec).string();
        return seams::split::runLauncher(config, ec ? config_path : absolute);
      });
}
