// LocalVault: the in-process Vault — Storage behind the FS cache, plus the change feed.
//
// Reads. stat/list/read look in the cache first. On a miss they take a fill ticket BEFORE reading
// Storage and put the result with it, so a slow reader can never re-insert what a writer has
// invalidated meanwhile. Content is cached whole and only for files of at most
// cache.maxEntryBytes(); a range read is served from the cached whole content; larger files are
// read range by range from Storage, uncached. A cached stat or read makes no syscall.
//
// Changes. Every mutating call changes Storage, then invalidates the cache, then calls every
// listener SYNCHRONOUSLY on the calling thread, and only then returns. A frontend that hears the
// event (FUSE invalidating the kernel cache) has therefore done so before the change is
// acknowledged to whoever made it. Mutations of the same path are serialised from the Storage
// call through the last listener, so events for one path arrive in change order with growing
// versions. A failed mutation publishes nothing but still invalidates what it may have touched
// (Storage can fail after the change became visible, e.g. on a failed fsync).
//
// Events. One event per call, for the path the caller named:
//   write/put/truncate       modified  path, new version  (put of a new file: created)
//   setAttributes            modified  path, new version
//   create/mkdir             created   path, new version
//   unlink/rmdir             removed   path, version 0
//   rename(from, to)         renamed   path = to, old_path = from, the moved entry's new version
//   reconcile(path)          created (first sight of an entry made outside), modified, or
//                            removed (the path vanished, or became a symlink or special file);
//                            nothing at all when the entry is exactly as the vault left it, so
//                            sync's inotify echo of the vault's own changes costs no version,
//                            no invalidation and no event (see Storage::refresh)
// Every event changes how the entry appears in its parent's listing; created, removed and renamed
// also change the parent directory's version (for renamed, old_path's parent's too), and a
// removed or renamed directory takes everything beneath it along. A listener that caches
// invalidates all of that itself.
//
// Listeners must be fast, must not throw (a throw terminates the process: a broken feed is a
// bug), and must not call back into this Vault, subscribe() and Subscription destruction included
// (they would deadlock on the listener lock or a path lock).
//
// Thread-safety: every method may be called concurrently from any thread. path_locks_[i]
// serialises mutations of paths hashing to i (taken in index order when a call needs two);
// listeners_mutex_ guards listeners_, held shared while publishing and exclusive while a
// subscription is added or removed, so once a Subscription is destroyed its listener is never
// called again. Lock order: path lock -> Storage's stripes; path lock -> listeners_mutex_.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string_view>
#include <vector>

#include "core/cache/fs_cache.h"
#include "core/storage/storage.h"
#include "core/vault/vault.h"

namespace seams {

class LocalVault final : public Vault {
 public:
  // REQUIRES: storage and cache outlive the vault; every Subscription is destroyed before it.
  LocalVault(Storage& storage, FsCache& cache);
  ~LocalVault() override;
  LocalVault(const LocalVault&) = delete;
  LocalVault& operator=(const LocalVault&) = delete;

  Result<FileAttr> stat(const VaultPath& path) override;
  Result<std::vector<DirEntry>> list(const VaultPath& path) override;
  Result<ReadResult> read(const VaultPath& path, std::uint64_t offset,
                          std::uint64_t length) override;
  Result<FileAttr> write(const VaultPath& path, std::uint64_t offset,
                         std::string_view data) override;
  Result<FileAttr> put(const VaultPath& path, std::string_view data) override;
  Result<FileAttr> create(const VaultPath& path, std::uint32_t mode) override;
  Result<FileAttr> mkdir(const VaultPath& path, std::uint32_t mode) override;
  Status unlink(const VaultPath& path) override;
  Status rmdir(const VaultPath& path) override;
  Result<FileAttr> rename(const VaultPath& from, const VaultPath& to) override;
  Result<FileAttr> truncate(const VaultPath& path, std::uint64_t size) override;
  Result<FileAttr> setAttributes(const VaultPath& path, const AttrChange& change) override;
  Status fsync(const VaultPath& path) override;

  // TODO(issue 13): handle-based I/O, implemented in the branch that owns this file.
  Result<OpenedFile> open(const VaultPath&, std::uint32_t) override { return pending(); }
  Result<ReadResult> readHandle(HandleId, std::uint64_t, std::uint64_t) override {
    return pending();
  }
  Result<FileAttr> writeHandle(HandleId, std::uint64_t, std::string_view) override {
    return pending();
  }
  Result<FileAttr> statHandle(HandleId) override { return pending(); }
  Result<FileAttr> truncateHandle(HandleId, std::uint64_t) override { return pending(); }
  Status fsyncHandle(HandleId) override { return pending(); }
  Status release(HandleId) override { return pending(); }
  static Status pending() { return Status(Errc::not_supported, "handles: not yet"); }
  Status reconcile(const VaultPath& path) override;
  std::unique_ptr<Subscription> subscribe(ChangeListener listener) override;

 private:
  class SubscriptionImpl;
  struct ListenerSlot {
    std::uint64_t id;
    ChangeListener listener;
  };
  static constexpr std::size_t kPathLocks = 64;

  std::size_t lockIndex(const VaultPath& path) const;
  // Invalidates what a change of `path` made stale: its own entries, its parent's listing and
  // attribute (the parent's version moved), and everything beneath it when it is a directory.
  void invalidateChanged(const VaultPath& path, bool subtree);
  void publish(const ChangeEvent& event);
  void unsubscribe(std::uint64_t id);

  Storage& storage_;
  FsCache& cache_;
  std::array<std::mutex, kPathLocks> path_locks_;

  std::shared_mutex listeners_mutex_;
  std::vector<ListenerSlot> listeners_;  // guarded by listeners_mutex_
  std::uint64_t next_listener_id_ = 1;   // guarded by listeners_mutex_
};

}  // namespace seams
