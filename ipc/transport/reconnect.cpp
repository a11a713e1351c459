#include "ipc/transport/reconnect.h"

#include <fmt/format.h>

namespace seams::ipc {

Result<UniqueFd> dial(const ClientOptions& options) {
  auto fd = options.connector ? options.connector() : connectUnix(options.socket_path);
  if (!fd) return fd;
  if (auto peer = checkServerPeer(fd->get()); !peer.ok()) return peer;
  return fd;
}

Status callTimedOut(const ClientOptions& options) {
  return Status(Errc::unavailable, fmt::format("{}: no answer within {} ms", options.socket_path,
                                               options.call_timeout.count()));
}

ReconnectGate::ReconnectGate(const ClientOptions& options)
    : backoff_({.initial = options.backoff_initial, .max = options.backoff_max}) {}

Result<UniqueFd> ReconnectGate::dial(const ClientOptions& options) {
  {
    MutexLock lock(mu_);
    auto now = Clock::now();
    if (now < next_attempt_) {
      auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(next_attempt_ - now);
      return Status(Errc::unavailable,
                    fmt::format("peer unavailable: {} (next reconnect attempt in {} ms)",
                                last_error_.toString(), ms.count()));
    }
  }
  auto fd = ipc::dial(options);  // outside the lock: other threads still fail fast meanwhile
  MutexLock lock(mu_);
  if (!fd) {
    last_error_ = fd.status();
    auto now = Clock::now();
    if (now >= next_attempt_) next_attempt_ = now + backoff_.next();
    return Status(Errc::unavailable, "peer unavailable: " + last_error_.toString());
  }
  backoff_.reset();
  next_attempt_ = {};
  return fd;
}

}  // namespace seams::ipc
