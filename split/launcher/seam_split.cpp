// seam-split: the split deployment's launcher, and its composition root.
//
// It runs no vault code itself. Each daemon (seam-fsd, seam-authd, seam-syncd, seam-httpd,
// seam-fused) is a DaemonService under one ServiceManager, so the launcher starts them in
// dependency order, restarts them with the runtime's policies, backoff and intensity, and stops
// them in reverse order, exactly as seamd does with its threads. The control socket is the same
// ControlService as seamd's, over a LauncherTarget. systemd (or seam-bench) sees READY=1 once every
// daemon has sent its own READY=1; STOPPING=1 when it stops. It holds seam-httpd's HTTP listener
// (bound here, or passed by systemd) and hands it to every seam-httpd it starts (LISTEN_FDS), so
// `seamctl restart httpd` or a crash of seam-httpd refuses no connection.
#include <signal.h>
#include <spdlog/spdlog.h>
#include <stdlib.h>

#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>

#include "core/config/config.h"
#include "core/process/listen_fds.h"
#include "core/roots/daemon_lifecycle.h"
#include "core/roots/process_root.h"
#include "core/roots/root_main.h"
#include "core/roots/runtime_dir.h"
#include "core/runtime/service_names.h"
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
  // Declared before the root, so they outlive its daemons (each holds the router), and the lock
  // is let go last, as on every way out of here.
  RuntimeDirLock runtime_lock;
  std::unique_ptr<NotifyRouter> router;
  // seam-httpd's HTTP listener, held here for our whole life and passed to every seam-httpd we
  // start: while it restarts, connections wait in the backlog instead of being refused. Ours from
  // systemd (seam-split.socket) when it passed one, before any thread exists (it unsets
  // LISTEN_*); else bound below.
  Result<UniqueFd> http_listener = adoptHttpListener(config, "seam-split");
  if (!http_listener.ok()) {
    spdlog::critical("seam-split: {}", http_listener.status().toString());
    return 1;
  }

  // The root's notifier reads NOTIFY_SOCKET / WATCHDOG_USEC / WATCHDOG_PID now. The WATCHDOG_*
  // values are ours (from systemd), not our daemons': a daemon inheriting WATCHDOG_PID=<our pid>
  // would conclude the watchdog is someone else's and never ping. Each daemon gets its own
  // NOTIFY_SOCKET and WATCHDOG_USEC; NOTIFY_SOCKET stays set for our own sd_notify(). No other
  // thread exists yet, so changing the environment is safe here. fsd and authd start together,
  // then syncd, httpd and fused.
  ProcessRoot root(config.watchdog, /*parallel_start=*/true);
  ::unsetenv("WATCHDOG_PID");
  ::unsetenv("WATCHDOG_USEC");

  const sigset_t stop_signals = blockStopSignals();

  // Held until we exit (the daemons take their own locks): one deployment per runtime_dir.
  Result<RuntimeDirLock> lock = prepareRuntimeDir(config.runtime_dir, "deployment", "seam-split");
  if (!lock.ok()) {
    spdlog::critical("seam-split: {}", lock.status().toString());
    return 1;
  }
  runtime_lock = std::move(*lock);
  Result<std::string> bin_dir = resolveBinDir(config);
  if (!bin_dir.ok()) {
    spdlog::critical("seam-split: {}", bin_dir.status().toString());
    return 1;
  }
  if (config.http.enabled && !http_listener->valid()) {
    Result<UniqueFd> bound = listenTcp(config.http.listen);
    if (!bound.ok()) {
      spdlog::critical("seam-split: http.listen: {}", bound.status().toString());
      return 1;
    }
    http_listener = std::move(*bound);
    spdlog::info("seam-split: holding the HTTP listener {} for seam-httpd",
                 socketAddress(http_listener->get()));
  }
  Result<std::unique_ptr<NotifyRouter>> started =
      NotifyRouter::start(config.runtime_dir + "/notify.sock");
  if (!started.ok()) {
    spdlog::critical("seam-split: notify socket: {}", started.status().toString());
    return 1;
  }
  router = std::move(*started);

  // The daemons are known before they are added, so the control target (which lists them) can
  // exist first and the control socket be the first service: it serves `seamctl status` while the
  // daemons start, and stops last, after every daemon, so `seamctl stop` gets its answer.
  std::vector<std::unique_ptr<DaemonService>> services;
  std::vector<const DaemonService*> daemons;
  for (DaemonSpec& spec : daemonSpecs(config, *bin_dir)) {
    if (spec.name == kHttpdDaemon && http_listener->valid()) {
      spec.listen_fds.push_back({http_listener->get(), kHttpListenerName});
    }
    services.push_back(
        std::make_unique<DaemonService>(std::move(spec), config_path, config.watchdog, *router));
    daemons.push_back(services.back().get());
  }
  LauncherTarget target(root.manager, root.env, daemons);
  Status added = root.addControl(
      target, {.socket_path = config.control_socket, .faults_enabled = config.faults.enabled});
  for (auto& service : services) {
    if (!added.ok()) break;
    added = root.manager.add(std::move(service), RestartPolicy::permanent);
  }
  if (!added.ok()) {
    spdlog::critical("seam-split: {}", added.toString());
    return 1;
  }
  return root.run(stop_signals,
                  {.who = "seam-split",
                   .running = "all daemons running (daemons from " + *bin_dir + ", control " +
                              config.control_socket + ")",
                   .cleanup = [&config] { finalCleanup(config); },
                   // The manager has stopped every daemon in order; what remains is ours to clear.
                   .before_escalation_exit =
                       [&runtime_lock, &router] {
                         runtime_lock.release();
                         router->stop();
                         ::unlink(router->path().c_str());
                       }});
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
