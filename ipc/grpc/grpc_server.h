// gRPC server adapter: serves a local Vault and/or Auth as the gRPC services of
// seams_grpc.proto over UNIX sockets, with the semantics of the other codecs (ipc/README.md).
//
// Connections: the server accepts on its own listening socket (ipc/net/unix_socket.h), refuses a
// peer whose SO_PEERCRED uid is neither ours nor root, writes a fresh random connection cookie
// (kGrpcCookieBytes hex characters) to the socket and only then hands the fd to gRPC
// (grpc::AddInsecureChannelFromFd). gRPC's insecure credentials tell a handler nothing about the
// peer process, and its peer() of an fd channel is "fd:N", a number reused as soon as gRPC
// closes it; the cookie, sent back by the stub as `seams-conn` metadata on every Vault call,
// names the connection for good. A call with an unknown cookie answers unavailable.
//
// Handles (Vault::open): a handle belongs to the client process (SO_PEERCRED pid) across all
// its connections (ipc/net/connection_vault.h). The server keeps a duplicate of each accepted fd
// that only its watch thread polls (POLLRDHUP): when the peer closes, dies, or gRPC shuts the
// connection down, the connection's ConnectionVault share is dropped, and the client's last
// connection releases what it still holds.
//
// Threads: gRPC's sync server pool answers calls (several at once per connection); a feed
// (server stream) holds one of those threads while it lasts, writing the events queued by the
// vault's / auth's listener; one watch thread accepts and polls the connections.
//
// Untrusted input: gRPC parses HTTP/2 and protobuf itself; a message over `max_message_bytes` is
// refused by gRPC (RESOURCE_EXHAUSTED, the stub answers unavailable). Bad HTTP/2 ends that
// connection inside gRPC, which does not report it, so ServerCounters::closed_on_error stays 0.
//
// Thread-safety: construct, adopt() and destroy from any thread (not from a listener).
#pragma once

#include <cstddef>
#include <memory>
#include <string>

#include "core/auth/auth.h"
#include "core/vault/vault.h"
#include "ipc/net/connection_vault.h"
#include "ipc/net/unix_socket.h"
#include "ipc/transport/server.h"

namespace grpc {
class Channel;
}

namespace seams::ipc {

// Length of the connection cookie the server writes before gRPC's first byte.
inline constexpr std::size_t kGrpcCookieBytes = 32;
// The metadata key carrying it on every Vault call.
inline constexpr const char* kGrpcCookieKey = "seams-conn";

class GrpcServer final : public Server {
 public:
  // Either object may be null (its service is then not registered: UNIMPLEMENTED, which the
  // stubs answer as not_supported). REQUIRES: they outlive the server.
  static Result<std::unique_ptr<GrpcServer>> serve(Vault* vault, Auth* auth,
                                                   ServerOptions options);
  ~GrpcServer() override;

  // Serves a connected socket (e.g. one end of a socketpair) as if accepted.
  Status adopt(UniqueFd fd) override;
  ServerCounters counters() const override;

  // A channel into this server without a socket (gRPC's in-process transport: messages are
  // serialised and parsed, but there is no HTTP/2 framing and no fd). Calls on it without a
  // cookie act as one client of their own (the loopback stubs).
  std::shared_ptr<grpc::Channel> inProcessChannel();

  class Impl;
  explicit GrpcServer(std::unique_ptr<Impl> impl);

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace seams::ipc
