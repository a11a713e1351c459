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
// Handles (Vault::open). Each open handle holds its backing fd (Storage::openFile: the same
// confinement as every path call), its mode, its inode, and its current name: followed through
// rename() (a directory's rename moves the handles beneath it), and dropped by unlink() and by
// rename()/put() onto it (the handle keeps the old file). Changes by handle take the path lock of
// that name, like write()/truncate() by path, and Storage checks under the stripe that the file
// is still linked and still the entry at that name (so a replace or move behind the vault's back
// is caught too): then the file gets a new version, the cache drops the name and the feed says
// `modified` for it; otherwise the bytes change and nothing is published (no name shows them).
// Reads by handle stay on the hot path: while the handle's file is the one the cache holds for
// its name (the cached attributes' inode is the handle's, content and attributes of one version),
// they are served from the cache, and a miss fills it through read()'s path with the inode
// checked; anything else (unnamed, replaced, too large) is a pread on the fd. statHandle reads
// the fd (nlink 0 once unlinked), or the cache on the same condition. At most max_open_handles
// are open (too_many_open beyond); ids are never reused. Known limit: an open() racing a rename
// of one of its ancestor directories may record the old name; the handle's reads and writes
// still act on its file, and Storage's check keeps such a write from publishing a wrong name.
//
// Thread-safety: every method may be called concurrently from any thread. path_locks_[i]
// serialises mutations of paths hashing to i (taken in index order when a call needs two);
// listeners_mutex_ guards listeners_, held shared while publishing and exclusive while a
// subscription is added or removed, so once a Subscription is destroyed its listener is never
// called again. handles_mutex_ guards the handle table and every handle's name; it is a leaf,
// never held while calling Storage, the cache or a listener. A handle's fd is shared (the table
// holds a shared_ptr) so release() during a read on another thread closes it only afterwards.
// Lock order: path lock -> Storage's stripes; path lock -> listeners_mutex_; path lock ->
// handles_mutex_.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/cache/fs_cache.h"
#include "core/common/thread_annotations.h"
#include "core/storage/storage.h"
#include "core/vault/vault.h"

namespace seams {

class LocalVault final : public Vault {
 public:
  static constexpr std::size_t kDefaultMaxOpenHandles = 4096;

  // REQUIRES: storage and cache outlive the vault; every Subscription is destroyed before it.
  // `max_open_handles`: how many handles may be open at once (each holds a backing fd).
  // `probe`: the bounds of probe() (the config's [probe]).
  LocalVault(Storage& storage, FsCache& cache,
             std::size_t max_open_handles = kDefaultMaxOpenHandles, ProbeLimits probe = {});
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

  Result<OpenedFile> open(const VaultPath& path, std::uint32_t mode) override;
  Result<ReadResult> readHandle(HandleId handle, std::uint64_t offset,
                                std::uint64_t length) override;
  Result<FileAttr> writeHandle(HandleId handle, std::uint64_t offset,
                               std::string_view data) override;
  Result<FileAttr> statHandle(HandleId handle) override;
  Result<FileAttr> truncateHandle(HandleId handle, std::uint64_t size) override;
  Status fsyncHandle(HandleId handle) override;
  Status release(HandleId handle) override;
  Status reconcile(const VaultPath& path) override;
  // runProbe() (probe_work.h) on the calling thread, within the constructor's limits.
  Result<ProbeReply> probe(std::uint64_t work_us, std::uint64_t reply_bytes) override;
  std::unique_ptr<Subscription> subscribe(ChangeListener listener) override;

  // Handles open now (for tests and stats).
  std::size_t openHandles() const;

 private:
  class SubscriptionImpl;
  struct ListenerSlot {
    std::uint64_t id;
    ChangeListener listener;
  };
  static constexpr std::size_t kPathLocks = 64;

  // One open file. fd, mode and inode never change; path and named are guarded by
  // handles_mutex_ (and path's entry in by_path_ exists exactly while named).
  struct OpenHandle {
    UniqueFd fd;
    std::uint32_t mode = 0;
    std::uint64_t inode = 0;
    VaultPath path;
    bool named = true;  // false once unlinked or replaced through this vault
  };

  std::size_t lockIndex(const VaultPath& path) const;
  // `name` (when given) gets the handle's current name, or nullopt, under the same lock.
  std::shared_ptr<OpenHandle> findHandle(HandleId id,
                                         std::optional<VaultPath>* name = nullptr) const;
  // The handle's current name, or nullopt once it has none.
  std::optional<VaultPath> nameOf(const OpenHandle& h) const;
  // Locks the path lock of the handle's current name and returns the name (nullopt, no lock,
  // when it has none). Retries when a rename moved the handle while it waited for the lock.
  std::optional<VaultPath> lockName(const OpenHandle& h, std::unique_lock<std::mutex>& lock);
  // Handle bookkeeping after a change by name. REQUIRES: the path locks of the names involved.
  void handlesUnnamed(const VaultPath& path);
  void handlesRenamed(const VaultPath& from, const VaultPath& to);
  // Invalidates what a change of `path` made stale: its own entries, its parent's listing and
  // attribute (the parent's version moved), and everything beneath it when it is a directory.
  void invalidateChanged(const VaultPath& path, bool subtree);
  void publish(const ChangeEvent& event);
  void unsubscribe(std::uint64_t id);

  Storage& storage_;
  FsCache& cache_;
  std::array<std::mutex, kPathLocks> path_locks_;

  SharedMutex listeners_mutex_;
  std::vector<ListenerSlot> listeners_ GUARDED_BY(listeners_mutex_);
  std::uint64_t next_listener_id_ GUARDED_BY(listeners_mutex_) = 1;

  const std::size_t max_open_handles_;
  const ProbeLimits probe_limits_;
  mutable SharedMutex handles_mutex_;
  std::unordered_map<HandleId, std::shared_ptr<OpenHandle>> handles_ GUARDED_BY(handles_mutex_);
  // Named handles by path, ordered so a directory's subtree is one range.
  std::multimap<std::string, HandleId> by_path_ GUARDED_BY(handles_mutex_);
  HandleId next_handle_ GUARDED_BY(handles_mutex_) = 1;
};

}  // namespace seams
