// Dialling a server, and the reconnect state a stub's per-thread connections share.
//
// Thread-safety: dial() is a free function; ReconnectGate is thread-safe.
#pragma once

#include <chrono>

#include "core/common/status.h"
#include "core/common/thread_annotations.h"
#include "core/runtime/restart_policy.h"
#include "ipc/net/unix_socket.h"
#include "ipc/transport/client_options.h"

namespace seams::ipc {

// A connected socket to the server: options.connector's, or connectUnix(socket_path) (never
// blocks), whose peer must then be our uid or root (checkServerPeer: a socket path can be
// squatted). Errors: connectUnix's, or permission_denied for a foreign server.
Result<UniqueFd> dial(const ClientOptions& options);

// What a call that got no answer within options.call_timeout returns (unavailable).
Status callTimedOut(const ClientOptions& options);

// The runtime's one backoff (core/runtime/restart_policy.h) in front of dial(), shared by all of
// a stub's per-thread connections, so while the peer is down every thread fails fast instead of
// each dialling it.
class ReconnectGate {
 public:
  explicit ReconnectGate(const ClientOptions& options);

  // unavailable at once (with the last failure) while backing off; otherwise dial(options). A
  // failure schedules the next attempt; a success resets the backoff.
  Result<UniqueFd> dial(const ClientOptions& options);

 private:
  using Clock = std::chrono::steady_clock;
  Mutex mu_;
  Status last_error_ GUARDED_BY(mu_){Errc::unavailable, "not connected yet"};
  Clock::time_point next_attempt_ GUARDED_BY(mu_){};
  Backoff backoff_ GUARDED_BY(mu_);
};

}  // namespace seams::ipc
