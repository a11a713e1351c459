// ControlClient: the client side of the control socket (what seamctl uses), synchronous.
//
// It owns a KJ event loop, so one ControlClient lives on one thread (the thread that made it);
// it is not thread-safe. Errors are Status values with a message a person can act on: a missing
// socket, a permission problem, a daemon that closed the connection (a refused uid), and the
// daemon's own answers (unknown service, faults disabled) with their codes kept.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/common/status.h"
#include "core/control/control_target.h"

namespace seams {

class ControlClient {
 public:
  // Every call waits at most `timeout` for its answer, then fails with Errc::timeout.
  static Result<std::unique_ptr<ControlClient>> connect(
      const std::string& socket_path,
      std::chrono::milliseconds timeout = std::chrono::milliseconds(10'000));
  ~ControlClient();
  ControlClient(const ControlClient&) = delete;
  ControlClient& operator=(const ControlClient&) = delete;

  Result<std::vector<ControlRow>> status();
  Result<std::string> stats();
  Result<std::vector<CacheEntryRow>> caches();
  Status restart(std::string_view name);
  Status fault(std::string_view name, FaultKind kind);
  Status stop();

 private:
  struct Impl;
  explicit ControlClient(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace seams
