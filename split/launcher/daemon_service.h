// DaemonService: one split daemon (seam-fsd, ...) as a Service of the launcher's ServiceManager.
//
// The launcher does not have a supervisor of its own: ordering, restart policies, backoff,
// restart intensity, rest_for_one and the control API all come from the runtime, exactly as for
// seamd's threads. What this class adds is the process: each run() is one life of the daemon.
//
// One run:
//   1. Clears what a previous life may have left (its socket files; for seam-fused a dead mount).
//   2. Spawns `seam-NAME --config FILE` with PR_SET_PDEATHSIG(SIGKILL) (no daemon outlives a
//      SIGKILLed launcher), NOTIFY_SOCKET = the launcher's NotifyRouter and WATCHDOG_USEC =
//      kill_deadline_ms, so the daemon's own runtime pings WATCHDOG=1 every kill_deadline_ms / 2
//      while all its services are healthy; and the spec's listen_fds by socket activation
//      (LISTEN_FDS: the same sockets at every start, so none is closed between two lives).
//   3. Waits for READY=1, then ctx.ready(). The start timeout is the manager's: if READY=1 does
//      not come in time the manager asks the run to stop, and step 5 applies.
//   4. Supervises, touching the run's heartbeat every tick: the child exiting (its pidfd) ends the
//      run with an error naming the exit status (a crash; the restart policy decides). No READY=1
//      or WATCHDOG=1 for kill_deadline_ms means the daemon hangs (SIGSTOP, a deadlock): it is
//      SIGKILLed and the run ends with an error, so the manager restarts it.
//   5. On a stop request: SIGTERM (and SIGCONT, so a stopped daemon can act on it), then SIGKILL
//      if it is still there after the grace (stop_timeout_ms less a margin, so the manager sees the
//      run end within its own stop timeout). The child is always reaped.
//   6. After the child is gone, removes its socket files and detaches a FUSE mount left at the
//      mountpoint (a crashed seam-fused leaves a dead one).
//
// Thread-safety: run() on the runtime's thread for this service; wake(), pid(), signSince() and
// signal() from any thread. mutex_ guards current_ (the live run's pid, pidfd and mailbox).
#pragma once

#include <sys/types.h>

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/common/thread_annotations.h"
#include "core/config/config.h"
#include "core/process/child_process.h"
#include "core/runtime/service.h"
#include "split/launcher/daemon_spec.h"
#include "split/launcher/notify_router.h"

namespace seams::split {

class DaemonService final : public Service {
 public:
  // `router` must outlive the service.
  DaemonService(DaemonSpec spec, std::string config_path, WatchdogConfig watchdog,
                NotifyRouter& router);

  std::string name() const override { return spec_.name; }
  std::vector<std::string> dependencies() const override { return spec_.dependencies; }
  Status run(RunContext& ctx) override;
  void wake() override;

  const DaemonSpec& spec() const { return spec_; }
  // The live daemon's pid; 0 while none runs.
  pid_t pid() const;
  // How long ago the live daemon last proved it was alive (READY=1 or WATCHDOG=1); nullopt while
  // none runs or before its READY=1.
  std::optional<Duration> signAge(MonoTime now) const;
  // Sends `sig` to the live daemon. unavailable while none runs.
  Status signal(int sig) const;

 private:
  struct Live;

  Status supervise(RunContext& ctx, ChildProcess& child, NotifyMailbox& mailbox);
  Status stopChild(ChildProcess& child);
  // What a daemon that exited said about why (its last STATUS=), when it never became ready.
  static std::string lastWords(NotifyMailbox& mailbox, bool ready);
  void clearLeftovers() const;

  const DaemonSpec spec_;
  const std::string config_path_;
  const WatchdogConfig watchdog_;
  NotifyRouter& router_;

  mutable Mutex mutex_;
  std::shared_ptr<Live> current_ GUARDED_BY(mutex_);
};

}  // namespace seams::split
