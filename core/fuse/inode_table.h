// InodeTable: the FUSE node ids the kernel holds, and the vault path each one names.
//
// The kernel refers to files by a 64-bit node id that we hand out in lookup/create/mkdir replies;
// it counts how many times it received each id and later returns that count in forget(). An id
// must stay valid (and keep naming the same file) until its count drops to zero, and must never be
// reused for a different file while the kernel may still hold it. So:
//   - ids are allocated from a counter and never reused (64 bits do not wrap in practice), which
//     is why every reply can use generation 0;
//   - the root is id 1 (FUSE_ROOT_ID), always present, never forgotten;
//   - identity is the path and the file at it: a lookup of a path that already has a live id
//     returns that id, unless the backing file under the name changed (then the old id is
//     detached and the name gets a new one, see remember());
//   - a rename through the mount moves the id (and every id beneath a renamed directory) to the
//     new path, like an inode following its dentry; an id displaced by a rename onto its path, or
//     whose file was unlinked through the mount, is *detached*: it keeps its count until the
//     kernel forgets it, but no longer answers to its path (operations by name on it see
//     not_found; a file still open on it works through its Vault handle, fuse_frontend.h), so a
//     new file created under the same name gets a fresh id.
//
// Changes made behind the mount (HTTP, sync) do not edit the table: the frontend invalidates the
// kernel's dentries and the kernel looks the names up again; a stale id then resolves to whatever
// now lives at its path (path semantics, as in NFS), or to not_found.
//
// Thread-safety: every method may be called from any thread. One mutex guards both maps; it is a
// leaf lock: nothing is called while holding it (no Vault, no Auth, no libfuse).
#pragma once

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "core/common/thread_annotations.h"
#include "core/common/vault_path.h"

namespace seams {

class InodeTable {
 public:
  using Ino = std::uint64_t;
  static constexpr Ino kRootIno = 1;

  InodeTable();

  // The path `ino` names, or nullopt for an unknown or detached id.
  std::optional<VaultPath> path(Ino ino) const;
  // The live id for `path`, if the kernel holds one (never allocates).
  std::optional<Ino> find(const VaultPath& path) const;

  // The kernel received `path` in an entry reply: returns its id (allocating one if the path has
  // none) and adds one to the id's lookup count. `backing_inode` is the file's FileAttr::inode (0:
  // unknown). When the path's id stood for another backing file (replaced behind the mount: a
  // put, a rename onto it), that id is detached and the path gets a fresh one, so files still
  // open on the old id keep their own kernel inode (size, page cache) apart from the new file's.
  Ino remember(const VaultPath& path, std::uint64_t backing_inode = 0);
  // The kernel dropped `count` references to `ino`; at zero the id is erased. Forgetting more than
  // was remembered clamps at zero; the root is never erased.
  void forget(Ino ino, std::uint64_t count);

  // A rename through the mount succeeded: the id at `to` (if any) is detached, then the id at
  // `from` and every id beneath it move to the same place under `to`.
  void rename(const VaultPath& from, const VaultPath& to);
  // `path` was removed through the mount: its id (if any) is detached.
  void detach(const VaultPath& path);

  // For tests and stats.
  std::size_t size() const;
  std::uint64_t lookupCount(Ino ino) const;

 private:
  struct Node {
    VaultPath path;
    std::uint64_t nlookup = 0;
    bool attached = true;
    std::uint64_t backing_inode = 0;  // 0 until an entry reply names it
  };

  void detachLocked(const std::string& path) REQUIRES(mutex_);

  mutable Mutex mutex_;
  std::unordered_map<Ino, Node> nodes_ GUARDED_BY(mutex_);
  std::unordered_map<std::string, Ino> by_path_ GUARDED_BY(mutex_);  // attached ids only
  Ino next_ino_ GUARDED_BY(mutex_) = kRootIno + 1;
};

}  // namespace seams
