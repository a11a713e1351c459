// ChildProcess: one spawned program, owned. Used by the split launcher (its daemons), the bench
// (the deployment under test) and the end-to-end tests (seamd itself).
//
// Exit is observed through a pidfd (pidfd_open), so waiting has a timeout and never races with
// pid reuse. A child spawned with die_with_parent gets PR_SET_PDEATHSIG(SIGKILL): if the owner is
// killed with SIGKILL, no orphan daemon survives it. Destroying a running ChildProcess kills it
// with SIGKILL and reaps it.
//
// Threading: one owner thread; pid() and pidfd() may be read from any thread.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "core/common/status.h"
#include "core/common/unique_fd.h"
#include "core/process/listen_fds.h"

namespace seams {

struct SpawnOptions {
  std::string program;                 // absolute path, or a name looked up in PATH
  std::vector<std::string> args;       // argv[1..]
  std::vector<std::string> extra_env;  // "KEY=VALUE", added to (or replacing in) our environment
  std::string stdout_path;             // if set: append stdout here (else inherited)
  std::string stderr_path;             // if set: append stderr here (else inherited)
  bool die_with_parent = true;         // PR_SET_PDEATHSIG(SIGKILL)
  bool new_process_group = false;      // setpgid(0, 0): signals to the group reach its children
  // Listening sockets handed over by the socket-activation protocol (listen_fds.h): in the child
  // they become fds 3, 4, ... in this order, with LISTEN_FDS, LISTEN_FDNAMES and LISTEN_PID (the
  // child's own pid) set. The fds stay ours; only this child gets copies.
  std::vector<PassedSocket> listen_fds;
};

// How a child ended: exited with a code, or killed by a signal.
struct ExitStatus {
  bool signaled = false;
  int code = 0;  // the exit code, or the signal number when signaled
  bool success() const { return !signaled && code == 0; }
  std::string toString() const;
};

class ChildProcess {
 public:
  static Result<ChildProcess> spawn(const SpawnOptions& options);

  ChildProcess(ChildProcess&& other) noexcept;
  ChildProcess& operator=(ChildProcess&& other) noexcept;
  ~ChildProcess();

  pid_t pid() const noexcept { return pid_; }
  int pidfd() const noexcept { return pidfd_.get(); }
  // True until the child has ended (does not reap).
  bool running() const;
  // Waits for the end and reaps; timeout if it is still running after `timeout`.
  Result<ExitStatus> wait(std::chrono::milliseconds timeout);
  // Sends a signal; fine (ok) if the child has already ended.
  Status signal(int sig) const;
  // SIGTERM, then SIGKILL if still running after `grace`; reaps.
  Result<ExitStatus> terminate(std::chrono::milliseconds grace);
  // The exit status once reaped.
  const std::optional<ExitStatus>& exitStatus() const noexcept { return exit_; }

 private:
  ChildProcess(pid_t pid, UniqueFd pidfd) : pid_(pid), pidfd_(std::move(pidfd)) {}
  void killAndReap() noexcept;

  pid_t pid_ = -1;
  UniqueFd pidfd_;
  std::optional<ExitStatus> exit_;
};

}  // namespace seams
