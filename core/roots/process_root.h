// ProcessRoot: what the composition root of every supervised process builds around its
// ServiceManager (seamd, seam-split, and each split daemon): the Deps registry, the metrics, the
// systemd notifier, the manager logging the runtime's events, the control service, and the run
// sequence. The root adds its own services and the control service, then run() does the rest.
//
//   ProcessRoot root(config.watchdog);
//   Status added = root.manager.add(std::make_unique<VaultService>(
//       config.vault_root, config.allow_shared_vault_root, config.cache, root.deps));
//   ...
//   if (added.ok()) added = root.addControl(root.control_target, {.socket_path = ...});
//   return root.run(stop_signals, {.who = "seamd", .running = "all services running (...)"});
//
// Thread-safety: built and run on main()'s thread; the members are as thread-safe as their types.
#pragma once

#include <signal.h>

#include <functional>
#include <string>

#include "core/control/control_server.h"
#include "core/control/control_target.h"
#include "core/control/manager_target.h"
#include "core/runtime/deps.h"
#include "core/runtime/env.h"
#include "core/runtime/notifier.h"
#include "core/runtime/service_manager.h"
#include "core/stats/metrics.h"

namespace seams {

struct RootRunOptions {
  // Prefixes the log lines: "seamd", "seam-split", "seam-fsd".
  std::string who;
  // Logged as "WHO: RUNNING" once every service runs.
  std::string running = "all services running";
  // What must not outlive the process (seam-split: a FUSE mount nobody serves). Runs once the
  // services have stopped, whichever way: a failed start, a stop, or an escalation.
  std::function<void()> cleanup;
  // After an escalation the process leaves with std::_Exit (an abandoned thread may still be
  // blocked, so no destructor may run): what the root's own RAII values would have released
  // (seam-split: its runtime_dir lock and notify socket). Runs after `cleanup`.
  std::function<void()> before_escalation_exit;
};

struct ProcessRoot {
  // `parallel_start`: ManagerOptions::parallel_start. seamd and seam-split start in waves. A split
  // daemon does not: its control server and its IPC stubs would each set up a KJ event loop at the
  // same time, and the first use of libkj-async's static network filter tables is not thread-safe
  // (TSan saw the race in seam-syncd); a daemon's services take about a millisecond each, so
  // little is lost. The notifier reads NOTIFY_SOCKET and WATCHDOG_* here.
  explicit ProcessRoot(const WatchdogConfig& watchdog, bool parallel_start = false);
  ProcessRoot(const ProcessRoot&) = delete;
  ProcessRoot& operator=(const ProcessRoot&) = delete;

  // Adds the control service (permanent) over `target`, which must outlive the root:
  // control_target, or the root's own (seam-split's LauncherTarget). Where the root adds it
  // decides its place in the start and stop orders: after the services (seamd, the daemons), or
  // first (seam-split: it answers `seamctl status` while the daemons start, and `seamctl stop`
  // once every daemon has stopped).
  Status addControl(ControlTarget& target, ControlServerOptions options);

  // Raises the file-descriptor limit, takes the stop signals, starts every service, runs the
  // watchdog until a stop request or an escalation, and stops in order. Returns the process's
  // exit code. REQUIRES: blockStopSignals() gave `stop_signals`; called once.
  int run(sigset_t stop_signals, RootRunOptions options);

  // In construction order: the manager holds the env and the notifier; the target, the manager.
  SystemEnv env;
  SystemdNotifier notifier;
  Deps deps;
  MetricsRegistry metrics;
  ServiceManager manager;
  // The control plane's view of the services this process runs itself, their metrics and FS
  // caches (seam-split, whose services are daemons, serves a LauncherTarget instead).
  ServiceManagerTarget control_target;

 private:
  // Set by run() before the watchdog thread exists; read there by an escalation's exit.
  RootRunOptions run_options_;
};

}  // namespace seams
