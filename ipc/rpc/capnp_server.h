// Cap'n Proto server adapters: serve a local Vault or Auth over a UNIX socket.
//
// Each CapnpServer owns one KJ event-loop thread. It listens on `socket_path` (created in a 0700
// runtime directory, the socket itself 0600), accepts with acceptAuthenticated() and refuses a
// peer whose SO_PEERCRED uid is neither ours nor root. Calls are answered on the loop thread by
// calling the local object directly, so the local object sees one server thread per socket.
//
// Untrusted input: each incoming message is bounded by `max_message_bytes` (checked against the
// segment table before anything is read) and fully traversed once before the RPC layer sees it;
// a malformed or oversized message closes that one connection with a logged reason (spdlog), and
// every other connection keeps working.
//
// Handles (Vault::open): a handle belongs to the client process that opened it (the SO_PEERCRED
// pid of its connections; ipc/net/connection_vault.h): any of that client's connections may use
// it, other clients get bad_handle, a client holds at most `max_open_handles`, and whatever it
// still holds is released when its last connection closes, cleanly or because it died (a
// connection's RPC system, and with it its bootstrap object, is destroyed then).
//
// Change feeds: a subscriber passes a listener capability; events from the local object's feed
// (raised on any thread) are handed to the loop thread and delivered in order.
//
// Why TwoPartyVatNetwork + makeRpcServer rather than TwoPartyServer: TwoPartyServer offers no
// ReaderOptions (size limit) and no hook to learn why a connection ended; this file does the
// same thing it does (one VatNetwork + RpcSystem per accepted stream) with both.
//
// Thread-safety: construct, adopt() and destroy from any thread (not from a listener callback).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "core/auth/auth.h"
#include "core/common/status.h"
#include "core/vault/vault.h"
#include "ipc/net/connection_vault.h"
#include "ipc/net/unix_socket.h"
#include "ipc/transport/server.h"

namespace seams::ipc {

class CapnpServer final : public Server {
 public:
  // Starts serving `local`. REQUIRES: `local` outlives the server.
  static Result<std::unique_ptr<CapnpServer>> serve(Vault& local, ServerOptions options);
  static Result<std::unique_ptr<CapnpServer>> serve(Auth& local, ServerOptions options);
  // Stops listening, closes every connection and joins the loop thread.
  ~CapnpServer() override;

  // Serves an already-connected socket (one end of a socketpair); its peer is checked like an
  // accepted one.
  Status adopt(UniqueFd fd) override;

  ServerCounters counters() const override;

  class Impl;
  explicit CapnpServer(std::unique_ptr<Impl> impl);

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace seams::ipc
