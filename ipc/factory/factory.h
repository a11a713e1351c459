// One place that knows every codec: client stubs and servers by `Codec` (core/config/config.h,
// split.codec), so composition roots never branch on the codec. Adding a codec: its folder
// (schema, codec, stub classes taking ClientOptions or the local object, a server deriving from
// ipc::Server) plus, in factory.cpp, a `Kind` struct naming them and one `case` in withCodec()
// (the switch has no default, so the compiler names a Codec value without its case).
//
// Thread-safety: the functions are; the objects are as their codec's header says.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>

#include "core/auth/auth.h"
#include "core/common/status.h"
#include "core/config/config.h"
#include "core/vault/vault.h"
#include "ipc/transport/client_options.h"
#include "ipc/transport/server.h"

namespace seams::ipc {

// A stub and its round-trip counter (the calls that crossed the boundary; not part of the
// Vault/Auth interfaces). `round_trips` reads 0 once the stub is gone.
template <typename T>
struct ClientStub {
  std::shared_ptr<T> object;
  std::function<std::uint64_t()> round_trips;
};

// A stub over a UNIX socket (options.socket_path, or options.connector).
ClientStub<Vault> makeVaultClient(Codec codec, ClientOptions options);
ClientStub<Auth> makeAuthClient(Codec codec, ClientOptions options);

// A loopback stub: the codec without a socket, in process (ipc/README.md, "Loopback mode").
// REQUIRES: `local` outlives the stub.
ClientStub<Vault> makeLoopbackVaultClient(Codec codec, Vault& local);
ClientStub<Auth> makeLoopbackAuthClient(Codec codec, Auth& local);

// Serves `vault` and/or `auth` (either may be null, not both) at options.socket_path (empty:
// only adopt()ed connections). Cap'n Proto serves one object per socket: both given is
// invalid_argument. REQUIRES: the objects outlive the server.
Result<std::unique_ptr<Server>> serve(Codec codec, Vault* vault, Auth* auth, ServerOptions options);

}  // namespace seams::ipc
