// ProtoChannel: how the protobuf stubs reach a server: a socket with request ids and an I/O
// thread (makeSocketChannel), or the codec alone, in process (makeLoopbackChannel).
//
// Thread-safety: every method may be called from any thread, except from a feed listener.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "ipc/proto/proto_client.h"
#include "ipc/proto/proto_codec.h"

namespace seams::ipc {

class ProtoChannel {
 public:
  using EventFn = std::function<void(const protocodec::pb::Event&)>;

  // Which connection a call may take. `shared`: always the channel's one shared connection,
  // never a per-thread one (open(): that connection then stays up while the stub lives and
  // keeps the client's handles at the server; proto_client.h).
  enum class Route { any, shared };

  virtual ~ProtoChannel() = default;
  // Sends each request (ids are assigned here), all before waiting for any answer, and returns
  // the responses in order. Each answers within the call timeout.
  virtual std::vector<Result<protocodec::pb::Response>> callMany(
      std::vector<protocodec::pb::Request>& requests, Route route) = 0;
  Result<protocodec::pb::Response> call(protocodec::pb::Request& request, Route route = Route::any);

  // A feed started by `start` (a vault_subscribe or auth_subscribe request), kept across
  // reconnects; `resync` runs after each re-subscription. Returns a key for removeFeed().
  virtual std::uint64_t addFeed(protocodec::pb::Request start, EventFn fn,
                                std::function<void()> resync) = 0;
  // After this returns, the feed's listener is not running and will not run again.
  virtual void removeFeed(std::uint64_t key) = 0;
};

std::unique_ptr<ProtoChannel> makeSocketChannel(ClientOptions options);
// REQUIRES: the local objects outlive the channel. Either may be null.
std::unique_ptr<ProtoChannel> makeLoopbackChannel(Vault* vault, Auth* auth);

}  // namespace seams::ipc
