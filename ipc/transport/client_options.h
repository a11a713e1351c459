// What every client stub is configured with, whatever its codec (ipc/README.md, "Threading").
//
// Thread-safety: a value; copied into each stub.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <string>

#include "core/common/status.h"
#include "ipc/net/unix_socket.h"

namespace seams::ipc {

struct ClientOptions {
  std::string socket_path;
  std::chrono::milliseconds call_timeout{5000};  // split.call_timeout_ms
  // Reconnect pacing (core/runtime/restart_policy.h's Backoff): the first attempt after a loss
  // is immediate, then the delay doubles from backoff_initial to backoff_max.
  std::chrono::milliseconds backoff_initial{20};
  std::chrono::milliseconds backoff_max{1000};
  // The largest message (capnp) or frame (protobuf) accepted from the server.
  std::size_t max_message_bytes = 96u << 20;
  // How a connection is made; default: connectUnix(socket_path). Tests hand out socketpair ends,
  // which cannot be redialled, so a connector implies the stub's one shared connection.
  std::function<Result<UniqueFd>()> connector;
  // Calls on a connection of the calling thread's own (ipc/README.md, "Threading").
  bool per_thread_connections = true;

  // Per-thread connections are used: on, and a socket path that can be dialled again.
  bool perThread() const { return per_thread_connections && !connector; }
};

}  // namespace seams::ipc
