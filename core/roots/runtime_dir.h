// The runtime directory holds a deployment's sockets (control, and in split the daemons' IPC
// sockets). It is created mode 0700 and owned by us, so nobody else can even reach a socket in
// it; an existing one is tightened to 0700, and one owned by another uid is refused.
//
// It is also locked by whoever runs in it, so two deployments can never share it (a second one
// would take over control.sock and delete it on exit). The lock is an flock on
// "<runtime_dir>/<lock_name>.lock" holding "<pid> <holder>", released when the holder exits or
// dies (the kernel drops it with the last fd; a crash leaves nothing to clean up):
//   "deployment"  seamd and seam-split: one deployment per runtime dir;
//   "seam-NAME"   each split daemon, for its own sockets (a second seam-fsd started by hand on a
//                 running deployment is refused instead of replacing fsd.sock).
// A clean exit removes the lock file while still holding the lock; a starter that had opened the
// old file then finds, once it has the lock, that the path names another inode (or none), and
// tries again on the new one, so two holders are never possible. A crash leaves the file; the
// next start takes it over.
//
// Thread-safety: call from main() before any thread exists; the lock is a plain RAII value.
#pragma once

#include <chrono>
#include <string>

#include "core/common/status.h"
#include "core/common/unique_fd.h"

namespace seams {

class RuntimeDirLock {
 public:
  RuntimeDirLock() = default;
  RuntimeDirLock(UniqueFd fd, std::string path) : fd_(std::move(fd)), path_(std::move(path)) {}
  RuntimeDirLock(RuntimeDirLock&& other) noexcept = default;
  RuntimeDirLock& operator=(RuntimeDirLock&& other) noexcept {
    if (this != &other) {
      release();
      fd_ = std::move(other.fd_);
      path_ = std::move(other.path_);
    }
    return *this;
  }
  ~RuntimeDirLock() { release(); }

  bool held() const { return fd_.valid(); }
  const std::string& path() const { return path_; }
  // Removes the lock file and lets go (a clean exit leaves nothing behind). Safe twice.
  void release();

 private:
  UniqueFd fd_;  // flock'ed; closing it releases the lock
  std::string path_;
};

// Creates (0700) or checks `path`, then takes "<path>/<lock_name>.lock" for `holder` (a name for
// messages, e.g. "seamd"), waiting up to `patience` for a holder to let go: a split daemon waits
// for a predecessor that is still stopping (a SIGKILLed launcher's daemons get SIGTERM and may
// take a moment), while seamd and seam-split do not wait (a live twin is refused at once). Errors:
// permission_denied (another uid's directory), not_a_directory (a file is in the way),
// invalid_argument (not a directory itself, e.g. a symlink to one), conflict
// "runtime_dir /r is in use by seamd (pid 4242): stop it (seamctl
// --socket ... stop) or give this deployment its own runtime_dir", errno failures.
Result<RuntimeDirLock> prepareRuntimeDir(
    const std::string& path, const std::string& lock_name, const std::string& holder,
    std::chrono::milliseconds patience = std::chrono::milliseconds(0));

}  // namespace seams
