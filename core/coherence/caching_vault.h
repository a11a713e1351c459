// CachingVault: a split frontend's own cache in front of the owner's Vault (an IPC stub of
// seam-fsd), under one of the coherence modes of DESIGN.md:
//
//   off   No cache: every call goes upstream. subscribe() is the upstream feed itself, so the
//         FUSE frontend still invalidates the kernel's caches at once (no drift, full IPC cost).
//   ttl   An FsCache whose entries expire ttl after insertion (Options::ttl on the injected
//         clock). No feed: drift is bounded by ttl (plus, in seam-fused, the kernel's
//         entry/attr timeouts). subscribe() reports only the changes made through this object.
//   push  An FsCache without expiry, invalidated by the upstream change feed: each event drops
//         the path, old_path and their parents (the whole subtree when a directory was removed
//         or renamed), then is re-published to local subscribers. The stub's resync event
//         (modified "/", version 0, after a reconnect) clears everything. While the feed may be
//         down the cache is not read (see feed_state.h for the signals and the window).
//
// Reads fill the cache with FsCache's fill tickets (taken before the upstream call), so an answer
// that raced with an invalidation is never inserted. Content is cached whole, for files of at most
// max_entry_bytes: a miss asks upstream for the first max_entry_bytes in one call; a larger file
// is then read by range, uncached. Which files are larger is remembered apart from their cached
// attributes (a hint, bounded, dropped when a read finds the file small again): every write drops
// the attributes, and asking for a head of max_entry_bytes again after each write of a large file
// moved 4 MiB per 4 KiB read (issue 13, fio randrw on a 32 MiB file). Mutations pass through and
// invalidate locally before they return, so a caller reads its own writes whatever the mode.
//
// Handles. Every handle call goes upstream (the owner holds the open file), except reads and
// fstat that the cache can answer safely: this object remembers each handle it opened with the
// file's inode and the name it believes the file has, followed through renames (its own and, in
// push mode, the feed's) and dropped on removal or replacement of that name. A read by handle is
// served from the cache only while the cached attributes of that name carry the handle's inode
// and the cached content is of the same version (so the bytes are that file's); a miss of a
// small file that the cache knows under that name fills it with one upstream readHandle; any
// doubt (no name, another inode, feed down, mode off) goes upstream. A write or truncate by
// handle invalidates the name like a write by path (and, in ttl mode, tells local subscribers).
// A handle this object does not know (opened by another object on the same upstream) is simply
// forwarded.
//
// Lazy opens (push mode). A read-only open of a file whose whole content the cache holds at its
// current version does not reach the owner: the handle (an id with kLazyHandleBit set, never an
// owner's) pins that content and is opened upstream only when the cache can no longer answer for
// it, with the inode checked against the one it was opened on; a release of a handle never opened
// upstream stays local. So open–read–close of a cached file costs no round trip, as it did before
// handles. The feed keeps the pinned bytes honest: a `modified` of the name with the handle's
// inode (a change in place) means the bytes are old, so the next read asks the owner; one with
// another inode (a replacement), a rename over the name or an unlink leaves the pinned bytes the
// file's last content, as POSIX wants. The one case it cannot answer: a file changed in place by
// someone else *and then* removed or replaced before this handle needed the owner; its reads and
// fstat then fail with Errc::stale (ESTALE), not with wrong bytes. Lazy handles count toward
// kMaxLazyHandles (too_many_open beyond), as owner handles count toward the owner's bound.
//
// Thread-safety: every method may be called concurrently from any thread. The upstream feed's
// listener runs on the stub's thread; it takes FsCache's locks, handles_mutex_ and the listener
// set's lock, one at a time. handles_mutex_ is a leaf: no call is made while holding it.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include "core/cache/fs_cache.h"
#include "core/coherence/feed_state.h"
#include "core/coherence/listener_set.h"
#include "core/common/clock.h"
#include "core/common/thread_annotations.h"
#include "core/config/config.h"
#include "core/vault/vault.h"

namespace seams {

struct CoherenceOptions {
  Coherence mode = Coherence::push;
  std::chrono::milliseconds ttl{1000};  // cache.ttl_ms, for Coherence::ttl
  FsCache::Options cache;               // budget, max entry, shards (ttl is set from `ttl`)
};

// The options a frontend daemon derives from its config's [cache] section.
CoherenceOptions coherenceOptionsFrom(const CacheConfig& cache);

class CachingVault final : public Vault {
 public:
  // Subscribes to upstream's feed in push mode. REQUIRES: clock outlives this object; every
  // Subscription it hands out is destroyed before it.
  CachingVault(std::shared_ptr<Vault> upstream, CoherenceOptions options, const Clock& clock);
  ~CachingVault() override;
  CachingVault(const CachingVault&) = delete;
  CachingVault& operator=(const CachingVault&) = delete;

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
  // Never cached: always the upstream's (the probe measures the seam).
  Result<ProbeReply> probe(std::uint64_t work_us, std::uint64_t reply_bytes) override;
  std::unique_ptr<Subscription> subscribe(ChangeListener listener) override;

  Coherence mode() const noexcept { return options_.mode; }
  // Calls that went upstream (each one IPC round trip when upstream is a stub).
  std::uint64_t upstreamCalls() const noexcept {
    return upstream_calls_.load(std::memory_order_relaxed);
  }
  // Push mode: whether the cache may serve now (always true in the other modes).
  bool serving() const noexcept {
    return cache_ && (options_.mode != Coherence::push || feed_.up());
  }
  // Null in mode off.
  const FsCache* cache() const noexcept { return cache_.get(); }

 private:
  // What the change of `event` made stale, dropped from the cache.
  void invalidateFor(const ChangeEvent& event);
  void onUpstreamEvent(const ChangeEvent& event);
  // After a mutation through this object: invalidate (always) and, in ttl mode, tell local
  // subscribers (push hears it back on the feed; off's subscribers are upstream's).
  void changedHere(const ChangeEvent& event, bool succeeded);
  // Push mode: what of an own change handles must know before the feed's echo arrives.
  void ownChangeFollowed(const ChangeEvent& event, bool succeeded);
  // Bookkeeping around each upstream call: counts it and feeds the push-mode feed state.
  template <typename R>
  R track(const FeedState::Token& t, R result);
  // The size hint (see the top): whether `path` was last seen larger than an entry may be.
  bool knownLarge(const VaultPath& path) const;
  void noteSize(const VaultPath& path, std::uint64_t size);

  struct KnownHandle {
    std::uint64_t inode = 0;
    VaultPath path;
    bool named = true;  // false once the name was removed or replaced
    // Lazy handles only (see the top): the owner's handle once opened there (0 before), the
    // content and attributes pinned at open, and whether the feed has since reported the file
    // changed in place (then the pinned bytes are old).
    HandleId upstream = 0;
    std::shared_ptr<const CachedContent> pinned;
    FileAttr pinned_attr;
    bool changed = false;
  };
  static constexpr HandleId kLazyHandleBit = HandleId{1} << 63;
  static constexpr std::size_t kMaxLazyHandles = 4096;
  static bool isLazy(HandleId handle) noexcept { return (handle & kLazyHandleBit) != 0; }
  // A read-only handle without the owner, when the cache holds `path`'s content at its version.
  std::optional<OpenedFile> openLazily(const VaultPath& path);
  // A lazy handle's pinned content and attributes while they are still the file's, else null.
  std::optional<std::pair<std::shared_ptr<const CachedContent>, FileAttr>> pinnedFor(
      HandleId handle) const;
  // The owner's id for `handle`: itself, or a lazy handle's, opening it upstream first (stale
  // when its file has no name any more or the name holds another inode).
  Result<HandleId> upstreamHandle(HandleId handle);
  // The name `handle` believes its file has, when the cache may serve for it.
  std::optional<std::pair<VaultPath, std::uint64_t>> cacheableName(HandleId handle) const;
  // The handle's name (removed, replaced or not) for invalidation after a change by handle.
  std::optional<VaultPath> nameForChange(HandleId handle) const;
  // Follows handle names after a change of names (own or from the feed).
  void handlesFollow(const ChangeEvent& event);

  std::shared_ptr<Vault> upstream_;
  const CoherenceOptions options_;
  std::unique_ptr<FsCache> cache_;  // null in mode off
  FeedState feed_;
  ListenerSet<ChangeListener, ChangeEvent> listeners_;
  std::atomic<std::uint64_t> upstream_calls_{0};
  mutable Mutex handles_mutex_;
  std::unordered_map<HandleId, KnownHandle> handles_ GUARDED_BY(handles_mutex_);
  HandleId next_lazy_ GUARDED_BY(handles_mutex_) = kLazyHandleBit | 1;
  std::size_t lazy_count_ GUARDED_BY(handles_mutex_) = 0;
  static constexpr std::size_t kMaxLargeHints = 4096;  // then forgotten at once: a hint only
  mutable Mutex large_mutex_;                          // a leaf lock
  std::unordered_set<std::string> large_ GUARDED_BY(large_mutex_);
  std::unique_ptr<Subscription> upstream_subscription_;  // push only; destroyed first
};

}  // namespace seams
