// The peer a loopback stub talks to, in process (ipc/README.md, "Loopback mode"): the same
// per-connection view a server gives one connection -- a ConnectionVault in front of the vault,
// so handles behave as across a socket and the loopback stub is one client of its own -- and the
// auth as it is. Each codec's loopback then runs, on the calling thread: encode -> bytes ->
// decode -> the codec's server code against this peer -> encode -> bytes -> decode.
//
// Thread-safety: as the objects it fronts.
#pragma once

#include <memory>

#include "core/auth/auth.h"
#include "core/vault/vault.h"
#include "ipc/net/connection_vault.h"

namespace seams::ipc {

class LoopbackPeer {
 public:
  // Either may be null. REQUIRES: they outlive the peer.
  LoopbackPeer(Vault* vault, Auth* auth)
      : connection_(vault != nullptr
                        ? std::make_unique<ConnectionVault>(*vault, kDefaultMaxOpenHandles)
                        : nullptr),
        auth_(auth) {}

  Vault* vault() const noexcept { return connection_.get(); }
  Auth* auth() const noexcept { return auth_; }

 private:
  std::unique_ptr<ConnectionVault> connection_;
  Auth* auth_;
};

}  // namespace seams::ipc
