#include "core/roots/process_root.h"

#include <spdlog/spdlog.h>

#include <cstdio>
#include <cstdlib>
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
                                  // After an escalation's orderly stop: ManagerOptions' default
                                  // exit, once what the root leaves behind is cleared.
                                  .exit_process =
                                      [this](int code) {
                                        if (run_options_.cleanup) run_options_.cleanup();
                                        if (run_options_.before_escalation_exit) {
                                          run_options_.before_escalation_exit();
                                        }
                                        std::fflush(nullptr);
                                        std::_Exit(code);
                                      },
                                  .parallel_start = parallel_start}),
      control_target(manager, processStats(metrics, deps), processCaches(deps)) {}

Status ProcessRoot::addControl(ControlTarget& target, ControlServerOptions options) {
  return manager.add(std::make_unique<ControlService>(target, std::move(options)),
                     RestartPolicy::permanent);
}

int ProcessRoot::run(sigset_t stop_signals, RootRunOptions options) {
  run_options_ = std::move(options);
  const std::string& who = run_options_.who;
  auto cleanup = [this] {
    if (run_options_.cleanup) run_options_.cleanup();
  };
  raiseAndLogFdLimit(who);
  StopSignals signals(manager, stop_signals, who);
  if (Status s = manager.start(); !s.ok()) {
    (void)manager.shutdown();
    cleanup();
    // Last, so the last line of the log says why; and as STATUS= for whoever supervises us
    // (systemd's status line; seam-split quotes it when it reports this daemon's exit).
    spdlog::critical("{}: start failed: {}", who, s.toString());
    notifier.status("start failed: " + s.toString());
    return 1;
  }
  spdlog::info("{}: {}", who, run_options_.running);
  manager.startWatchdog();
  int code = manager.waitForStopRequest();
  if (Status s = manager.shutdown(); !s.ok()) {
    spdlog::error("{}: shutdown: {}", who, s.toString());
    if (code == 0) code = 1;
  }
  cleanup();
  spdlog::info("{}: stopped", who);
  return code;
}

}  // namespace seams
