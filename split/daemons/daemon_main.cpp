#include "split/daemons/daemon_main.h"

#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <memory>
#include <thread>

#include "core/roots/daemon_lifecycle.h"
#include "core/roots/process_root.h"
#include "core/roots/root_main.h"
#include "core/roots/runtime_dir.h"
#include "core/runtime/notifier.h"

namespace seams::split {
namespace {

int run(const Config& config, const std::string& name,
        const std::function<Status(DaemonParts&)>& wire) {
  const std::string self = "seam-" + name;
  const sigset_t stop_signals = blockStopSignals();
  // The launcher's death ends us too (an orderly stop: seam-fused unmounts). If it died before
  // this line, our parent is already someone else: leave now.
  const pid_t parent = ::getppid();
  ::prctl(PR_SET_PDEATHSIG, SIGTERM);
  if (parent != 1 && ::getppid() != parent) return 1;

  // A failure before the root runs: logged, and sent as STATUS= so the launcher's report of our
  // exit carries the cause.
  auto fail = [&self](const Status& s) {
    spdlog::critical("{}: {}", self, s.toString());
    SystemdNotifier().status(s.toString());
    return 1;
  };
  // Held until we exit: a second seam-NAME on this runtime_dir would replace our sockets.
  // A predecessor still stopping (the launcher was SIGKILLed and restarted) gets stop_timeout_ms.
  Result<RuntimeDirLock> runtime_lock = prepareRuntimeDir(
      config.runtime_dir, self, self, std::chrono::milliseconds(config.watchdog.stop_timeout_ms));
  if (!runtime_lock.ok()) return fail(runtime_lock.status());
  // Before any thread exists (it unsets LISTEN_*), and declared before the root, so it outlives
  // the services serving on it.
  Result<UniqueFd> http_listener = adoptHttpListener(config, self);
  if (!http_listener.ok()) return fail(http_listener.status());
  ProcessRoot root(config.watchdog);
  DaemonParts parts{config, root.deps, root.metrics, root.manager, http_listener->get()};
  if (Status added = wire(parts); !added.ok()) return fail(added);
  if (Status added = root.addControl(
          root.control_target, {.socket_path = config.runtime_dir + "/" + self + ".control.sock",
                                .faults_enabled = config.faults.enabled});
      !added.ok()) {
    return fail(added);
  }
  return root.run(stop_signals, {.who = self});
}

}  // namespace

int daemonMain(int argc, char** argv, const std::string& name,
               const std::function<Status(DaemonParts&)>& wire) {
  const std::string self = "seam-" + name;
  return rootMain(
      argc, argv,
      {.name = self,
       .description = self + ": a daemon of the Seams split deployment, started and "
                             "supervised by seam-split (see DESIGN.md, Deployments).",
       .log_tag = self + " %t"},
      [&](const Config& config, const std::string&) { return run(config, name, wire); });
}

}  // namespace seams::split
