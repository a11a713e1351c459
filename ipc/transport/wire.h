// Conversions and conventions every codec shares: what a value means on the wire once it is out
// of the codec's own types.
//
// Thread-safety: stateless.
#pragma once

#include <cstdint>

#include "core/auth/auth.h"
#include "core/common/change_event.h"
#include "core/common/status.h"

namespace seams::ipc {

// A single Access bit (1, 2, 4 or 8); anything else is invalid_argument.
Result<Access> accessFromWire(std::uint32_t bits);

// After a feed is re-subscribed on a new connection, events raised meanwhile are lost; a stub
// delivers these instead, meaning "assume everything changed" (ipc/README.md, "Feeds across a
// reconnect"). Vault: one event, modified "/" at version 0.
void deliverVaultResync(const ChangeListener& listener);
// Auth: rules_changed, then session_ended with an empty token_id.
void deliverAuthResync(const AuthListener& listener);

}  // namespace seams::ipc
