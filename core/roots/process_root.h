// ProcessRoot: what the composition root of every supervised process builds around its
// ServiceManager (seamd, and each split daemon): the Deps registry, the metrics, the systemd
// notifier, the manager logging the runtime's events, and the control plane's view of them
// (metrics and FS caches included). The root adds its own services, then run() does the rest.
//
//   ProcessRoot root(config.watchdog);
//   Status added = root.manager.add(std::make_unique<VaultService>(config, root.deps));
//   ...
//   return root.run("seamd", {.socket_path = ..., .faults_enabled = ...}, stop_signals,
//                   "vault /srv/v, control /run/seams/control.sock");
//
// Thread-safety: built and run on main()'s thread; the members are as thread-safe as their types.
#pragma once

#include <signal.h>

#include <string>

#include "core/control/control_server.h"
#include "core/control/manager_target.h"
#include "core/runtime/deps.h"
#include "core/runtime/env.h"
#include "core/runtime/notifier.h"
#include "core/runtime/service_manager.h"
#include "core/stats/metrics.h"

namespace seams {

struct ProcessRoot {
  // `parallel_start`: ManagerOptions::parallel_start. seamd starts in waves. A split daemon does
  // not: its control server and its IPC stubs would each set up a KJ event loop at the same time,
  // and the first use of libkj-async's static network filter tables is not thread-safe (TSan saw
  // the race in seam-syncd); a daemon's services take about a millisecond each, so little is lost.
  explicit ProcessRoot(const WatchdogConfig& watchdog, bool parallel_start = false);
  ProcessRoot(const ProcessRoot&) = delete;
  ProcessRoot& operator=(const ProcessRoot&) = delete;

  // Adds the control service (permanent) on `control`, takes the stop signals, starts every
  // service, runs the watchdog until a stop request or an escalation, and stops in order.
  // Returns the process's exit code. `who` prefixes the log lines; `detail` follows
  // "all services running". REQUIRES: blockStopSignals() gave `stop_signals`.
  int run(const std::string& who, ControlServerOptions control, sigset_t stop_signals,
          const std::string& detail = {});

  // In construction order: the manager holds the env and the notifier; the target, the manager.
  SystemEnv env;
  SystemdNotifier notifier;
  Deps deps;
  MetricsRegistry metrics;
  ServiceManager manager;
  ServiceManagerTarget control_target;
};

}  // namespace seams
