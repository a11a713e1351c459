// Protobuf server adapter: serves a local Vault and/or Auth over a UNIX socket as
// length-delimited protobuf frames (proto_codec.h, seams.proto).
//
// Threads: one accept thread, and one thread per connection that reads frames and answers each
// request in order (the client keeps many requests in flight on one connection; they queue here
// and their responses carry their ids). Feed events are written by the thread that raised them,
// under the connection's write lock, interleaved with responses.
//
// Handles (Vault::open): a handle belongs to the client process that opened it (the SO_PEERCRED
// pid of its connections; ipc/net/connection_vault.h): any of that client's connections may use
// it, other clients get bad_handle, a client holds at most `max_open_handles`, and whatever it
// still holds is released when the thread of its last connection ends (the peer closed, died,
// or sent a bad frame, or the server stops).
//
// Untrusted input: the length prefix is checked against `max_message_bytes` before the frame is
// read; a frame that is oversized or does not parse closes that connection with a logged reason
// (spdlog); other connections are untouched. A peer whose SO_PEERCRED uid is neither ours nor
// root is refused. Writes time out after `write_timeout` so a client that stops reading cannot
// block a thread of the owner forever (its connection is closed instead).
//
// Thread-safety: construct, adopt() and destroy from any thread (not from a listener).
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>

#include "core/auth/auth.h"
#include "core/vault/vault.h"
#include "ipc/net/connection_vault.h"
#include "ipc/net/unix_socket.h"
#include "ipc/transport/server.h"

namespace seams::ipc {

class ProtoServer final : public Server {
 public:
  // Either object may be null (its calls then answer not_supported). REQUIRES: they outlive
  // the server.
  static Result<std::unique_ptr<ProtoServer>> serve(Vault* vault, Auth* auth,
                                                    ServerOptions options);
  ~ProtoServer() override;

  Status adopt(UniqueFd fd) override;
  ServerCounters counters() const override;

  class Impl;
  explicit ProtoServer(std::unique_ptr<Impl> impl);

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace seams::ipc
