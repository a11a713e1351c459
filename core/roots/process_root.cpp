#include "core/roots/process_root.h"

#include <spdlog/spdlog.h>

#include <memory>
#include <utility>

#include "core/control/control_service.h"
#include "core/roots/cache_introspection.h"
#include "core/roots/daemon_lifecycle.h"

namespace seams {

ProcessRoot::ProcessRoot(const WatchdogConfig& watchdog, bool parallel_start)
    : manager(env, ManagerOptions{.watchdog = watchdog,
                                  .notifier = &notifier,
                                  .on_event = logRuntimeEvent,
                                  .exit_process = {},
                                  .parallel_start = parallel_start}),
      control_target(manager, processStats(metrics, deps), processCaches(deps)) {}

int ProcessRoot::run(const std::string& who, ControlServerOptions control, sigset_t stop_signals,
                     const std::string& detail) {
  raiseAndLogFdLimit(who);
  if (Status added =
          manager.add(std::make_unique<ControlService>(control_target, std::move(control)),
                      RestartPolicy::permanent);
      !added.ok()) {
    spdlog::critical("{}: {}", who, added.toString());
    return 1;
  }
  StopSignals signals(manager, stop_signals, who);
  if (Status s = manager.start(); !s.ok()) {
    (void)manager.shutdown();
    // Last, so the last line of the log says why; and as STATUS= for whoever supervises us
    // (systemd's status line; seam-split quotes it when it reports this daemon's exit).
    spdlog::critical("{}: start failed: {}", who, s.toString());
    notifier.status("start failed: " + s.toString());
    return 1;
  }
  if (detail.empty()) {
    spdlog::info("{}: all services running", who);
  } else {
    spdlog::info("{}: all services running ({})", who, detail);
  }
  manager.startWatchdog();
  int code = manager.waitForStopRequest();
  if (Status s = manager.shutdown(); !s.ok()) {
    spdlog::error("{}: shutdown: {}", who, s.toString());
    if (code == 0) code = 1;
  }
  spdlog::info("{}: stopped", who);
  return code;
}

}  // namespace seams
