// What every daemon's main() needs around its ServiceManager (seamd, seam-split and the split
// daemons): stop signals taken on one joined thread, and the runtime's events as log lines.
#pragma once

#include <signal.h>

#include <atomic>
#include <string>
#include <string_view>
#include <thread>

#include "core/common/status.h"
#include "core/common/unique_fd.h"
#include "core/config/config.h"
#include "core/runtime/service_manager.h"

namespace seams {

// Blocks SIGTERM and SIGINT in the calling thread (and so in every thread it creates later) and
// ignores SIGPIPE (a peer that hangs up must not kill a daemon). Call first thing in main(),
// before any thread exists; returns the blocked set for StopSignals.
sigset_t blockStopSignals();

// Takes SIGTERM and SIGINT on one thread with sigwait() and asks the manager to stop. Joined, not
// detached: it must be gone before the manager it calls is, whichever way main() returns and
// whether or not a signal ever came. REQUIRES: blockStopSignals() ran first.
class StopSignals {
 public:
  StopSignals(ServiceManager& manager, sigset_t signals, std::string who);
  ~StopSignals();
  StopSignals(const StopSignals&) = delete;
  StopSignals& operator=(const StopSignals&) = delete;

 private:
  std::atomic<bool> released_{false};
  std::thread thread_;
};

// One log line per runtime event, at a level that fits it.
void logRuntimeEvent(const RuntimeEvent& e);

// Raises the soft RLIMIT_NOFILE to the hard limit (core/runtime/fd_limit.h) and logs the
// figure ("WHO: file descriptors: 1024 -> 524288"), or a warning naming what failed.
void raiseAndLogFdLimit(std::string_view who);

// The HTTP listener a supervisor passed us by socket activation (LISTEN_FDS, the socket named
// "http"; core/process/listen_fds.h): systemd for seamd and seam-split (their .socket units),
// seam-split for seam-httpd, seam-bench and the tests acting as systemd. Call first thing in
// main(), before any thread exists (it unsets LISTEN_*). An invalid UniqueFd when none was passed
// (the daemon binds http.listen itself); invalid_argument when a passed fd is not a listening TCP
// socket, or sockets were passed and none is named "http". Logs what it adopts, and a socket
// passed while [http] enabled = false (closed, unused).
Result<UniqueFd> adoptHttpListener(const Config& config, std::string_view who);

}  // namespace seams
