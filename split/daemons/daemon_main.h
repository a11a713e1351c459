// The composition root every split daemon shares: command line, logging, config, signals, the
// ServiceManager with the systemd notifier (READY=1 once every service runs, WATCHDOG=1 pings
// while all are healthy — the launcher waits for the first and watches the second), and the
// daemon's own control socket. Each daemon's main() only says which services it runs.
//
// Control socket: every daemon serves the same control API as seamd for ITS services at
// "<runtime_dir>/seam-<daemon>.control.sock" (status, stats, restart, fault), beside the
// launcher's deployment-wide one. A stale socket left by a killed daemon is replaced at the next
// start; a clean stop removes it.
//
// Orphans: a daemon asks for SIGTERM when its parent dies (PR_SET_PDEATHSIG), so a SIGKILLed
// launcher leaves no daemon behind and seam-fused still unmounts on the way out.
#pragma once

#include <functional>
#include <string>

#include "core/common/status.h"
#include "core/config/config.h"
#include "core/runtime/deps.h"
#include "core/runtime/service_manager.h"
#include "core/stats/metrics.h"

namespace seams::split {

// What a daemon's main() gets to wire its services.
struct DaemonParts {
  const Config& config;
  Deps& deps;
  MetricsRegistry& metrics;
  ServiceManager& manager;
  // The HTTP listener seam-split passed (LISTEN_FDS, the socket named "http"; it holds it for
  // seam-httpd, so connections queue on it while seam-httpd restarts), or -1: bind http.listen.
  // Valid for the daemon's whole life.
  int http_listen_fd = -1;
};

// Runs daemon `name` ("fsd", "authd", "syncd", "httpd", "fused"; the binary is seam-<name>):
// parses --config, builds the parts, calls `wire` to add the daemon's services, starts them and
// serves until SIGTERM/SIGINT or `seamctl stop`. Returns the process exit code.
int daemonMain(int argc, char** argv, const std::string& name,
               const std::function<Status(DaemonParts&)>& wire);

}  // namespace seams::split
