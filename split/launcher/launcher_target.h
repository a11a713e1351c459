// LauncherTarget: the control plane's view of seam-split. The same ControlServer and seamctl as
// seamd's, over the launcher's ServiceManager, whose services are mostly DaemonServices.
//
//   status   each daemon is a row of kind "daemon" with the live daemon's pid and, as its
//            heartbeat age, the time since its last WATCHDOG=1 (or READY=1); the launcher's own
//            control socket is a row of kind "service" (pid = the launcher).
//   restart  a request the manager's watchdog carries out (stop, then start; rest_for_one
//            restarts dependents too).
//   fault    against a daemon: crash = SIGSEGV, hang = SIGSTOP (its WATCHDOG=1 pings stop and the
//            launcher kills and restarts it after kill_deadline_ms), abort = SIGABRT; throw has no
//            meaning for a process and is not_supported. Against the launcher's own services, the
//            runtime's in-thread faults. The ControlServer refuses every fault unless
//            [faults] enabled = true.
//   stop     orderly stop of everything in reverse order, then seam-split exits 0.
//   stats    the manager's gauges (seams_service_up, restarts) plus seams_daemon_pid.
//   caches   every running daemon's FS-cache entries, asked on the daemon's own control socket,
//            the cache named "DAEMON/ROLE" ("fsd/vault", "httpd/frontend"); a daemon that does
//            not answer within a second is left out (and logged).
//
// Thread-safety: as ControlTarget (called on the control server's thread). The manager and the
// daemons must outlive it; the daemon list is fixed at construction.
#pragma once

#include <vector>

#include "core/control/control_target.h"
#include "core/control/manager_target.h"
#include "core/runtime/service_manager.h"
#include "split/launcher/daemon_service.h"

namespace seams::split {

class LauncherTarget final : public ControlTarget {
 public:
  LauncherTarget(ServiceManager& manager, RuntimeEnv& env,
                 std::vector<const DaemonService*> daemons);

  std::vector<ControlRow> status() override;
  std::string stats() override;
  std::vector<CacheEntryRow> caches() override;
  Status restart(std::string_view name) override;
  Status fault(std::string_view name, FaultKind kind) override;
  Status stop() override;

 private:
  const DaemonService* daemon(std::string_view name) const;
  // caches() of every running daemon, over its control socket. REQUIRES: no KJ event loop on the
  // calling thread.
  void askDaemons(std::vector<CacheEntryRow>& all) const;

  RuntimeEnv& env_;
  const std::vector<const DaemonService*> daemons_;
  ServiceManagerTarget inner_;
};

}  // namespace seams::split
