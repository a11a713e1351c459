// The change feed's event: what changed in the vault, and the version it changed to. The vault
// publishes it (Vault::subscribe), sync causes it, the IPC codecs carry it, the caches and
// frontends act on it.
#pragma once

#include <cstdint>
#include <functional>

#include "core/common/vault_path.h"

namespace seams {

// What the change feed reports. `version` is the new version (0 for removed).
struct ChangeEvent {
  enum class Kind : std::uint8_t { modified = 0, created = 1, removed = 2, renamed = 3 };
  Kind kind = Kind::modified;
  VaultPath path;
  VaultPath old_path;  // for renamed: where it came from; otherwise equal to path
  std::uint64_t version = 0;
  // The file's backing inode after the change (modified, created, renamed); 0 where unknown
  // (removed, or a peer that predates the field). A `modified` whose inode differs from the one
  // a frontend knew tells a replacement (put, or a change behind the vault) from a change in place.
  std::uint64_t inode = 0;
};

// Called on the thread that made the change (or an IPC thread), after the change is durable and
// the owner's cache is invalidated. Must be fast and must not call back into the Vault.
using ChangeListener = std::function<void(const ChangeEvent&)>;

}  // namespace seams
