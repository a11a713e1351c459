// ControlServer: the control socket of a deployment (seamd, seam-split), serving the Cap'n Proto
// Control interface (ipc/control/control.capnp) for a ControlTarget.
//
// The socket is created mode 0600 before it listens, and every accepted connection's peer uid is
// read with SO_PEERCRED: only the daemon's own uid and root get through; anyone else's connection
// is closed at once, before a byte is read. `fault` is refused unless faults are enabled.
//
// Threads: start() and stop() from the owner's thread (not from a ControlTarget callback). The
// server runs one KJ event loop on its own thread (capnp::TwoPartyServer, not EzRpc); the target's
// methods are called on that thread, one at a time.
#pragma once

#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "core/common/status.h"
#include "core/common/thread_annotations.h"
#include "core/common/unique_fd.h"
#include "core/control/control_target.h"

namespace seams {

struct ControlServerOptions {
  std::string socket_path;
  bool faults_enabled = false;  // [faults] enabled
};

class ControlServer {
 public:
  // `target` must outlive the server.
  ControlServer(ControlTarget& target, ControlServerOptions options);
  ~ControlServer();
  ControlServer(const ControlServer&) = delete;
  ControlServer& operator=(const ControlServer&) = delete;

  // Binds the socket (replacing a stale one), then serves on a new thread. Returns once clients
  // can connect, or the error (naming the path).
  Status start();
  // Stops serving and removes the socket. Safe twice.
  void stop();

  const std::string& socketPath() const { return options_.socket_path; }
  // False once the event loop has ended on its own (an accept error), so a supervisor can
  // restart the server.
  bool serving();

 private:
  void loop(int listen_fd);

  ControlTarget& target_;
  const ControlServerOptions options_;
  // An eventfd the loop watches: stop() writes to it (any thread, no KJ object crosses threads).
  UniqueFd wake_fd_;
  std::thread thread_;
  Mutex mutex_;
  std::condition_variable cv_;
  bool loop_ready_ GUARDED_BY(mutex_) = false;
  bool loop_done_ GUARDED_BY(mutex_) = false;
};

}  // namespace seams
