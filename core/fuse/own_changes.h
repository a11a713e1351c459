// OwnChanges: which events on the Vault's change feed echo a change this FUSE frontend made
// itself, so that the change listener leaves the kernel's caches alone for them.
//
// Why. A change made through the mount is already known to the kernel (it wrote the pages, moved
// the dentry), so it needs no invalidation. In seamd the listener runs on the handler's own thread
// and FuseFrontend recognises that (t_handling). In seam-fused (coherence push and off) the owner
// publishes the change on its feed and the event arrives later, on the stub's thread. Invalidating
// for that echo dropped the file's whole page cache after every write through the mount (every
// later read went to the daemons), waited for the page locks of reads in flight, and dropped the
// dentry of a name just created or renamed here, so the kernel forgot the node and the next
// lookup got a new node id, i.e. a new st_ino (issue 13).
//
// How an echo is recognised. A version is never handed out twice (core/storage/storage.h), and a
// feed event carries the version its change gave the entry, which the Vault call also returned to
// the handler. So:
//   - a handler opens a Scope on the path(s) it changes before it calls the Vault, and says what
//     the call did once it succeeded: changed(version), or removed() for unlink/rmdir, whose
//     events carry no version;
//   - an event whose version a closed Scope recorded is an echo: consumed, not notified. So is a
//     `removed` event for a path a closed Scope removed: the feed reports the changes of one path
//     in order, so the first removal of that path it reports after ours is ours;
//   - an event for a path on which a Scope is still open cannot be judged yet (the answer with the
//     version may come after the event): it is held, and judged when the last Scope on its paths
//     closes; what is not an echo then goes to the release callback, i.e. a change made elsewhere
//     that raced one of ours on the same path reaches the kernel at most one Vault call late;
//   - anything else is not ours.
// A recorded echo that never arrives (the listener already ran inline, as in seamd and in split's
// ttl mode, said with deliveredInline(); or the feed was down) is not kept for ever: records are
// bounded (kMaxRecords, oldest first out: at worst one needless invalidation later), and the
// feed's resync event, which means "anything may have changed", clears them.
//
// Thread-safety: every method from any thread; mutex_ is a leaf lock, and the release callback is
// called without it, on the thread that closes the Scope.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/common/change_event.h"
#include "core/common/thread_annotations.h"
#include "core/common/vault_path.h"

namespace seams {

class OwnChanges {
 public:
  // Receives held events that turned out not to be echoes, in feed order.
  using Release = std::function<void(std::vector<ChangeEvent>)>;
  static constexpr std::size_t kMaxRecords = 4096;

  // REQUIRES: release may be called from any thread that closes a Scope; it must not block.
  explicit OwnChanges(Release release) : release_(std::move(release)) {}
  OwnChanges(const OwnChanges&) = delete;
  OwnChanges& operator=(const OwnChanges&) = delete;

  // One change a handler makes through the Vault, on one path or two (rename). Open it before the
  // Vault call; close it (destroy it) when the handler is done. One open Scope per thread at a
  // time; the owner outlives it.
  class Scope {
   public:
    Scope(OwnChanges& owner, const VaultPath& path);
    Scope(OwnChanges& owner, const VaultPath& from, const VaultPath& to);
    ~Scope();
    Scope(const Scope&) = delete;
    Scope& operator=(const Scope&) = delete;

    // A Vault call succeeded and gave the entry this version (once per call: setattr may make
    // two changes, a truncate and an attribute change).
    void changed(std::uint64_t version);
    // unlink/rmdir of the (first) path succeeded.
    void removed();

   private:
    friend class OwnChanges;
    OwnChanges& owner_;
    std::vector<std::string> paths_;
    std::vector<std::uint64_t> versions_;
    bool removed_ = false;
    bool inline_ = false;  // the listener already saw this change on this thread
    Scope* previous_;      // the thread's enclosing Scope (another frontend's), if any
  };

  // The listener was called inline, on the thread of the open Scope, for the change it makes:
  // there is no echo to wait for. No-op without an open Scope of this object on the thread.
  void deliveredInline();

  // True when `event` is an echo of our own change (consumed) or is held until the Scope on its
  // path closes; false when the caller should notify the kernel now.
  bool claim(const ChangeEvent& event);

  // Forgets records and held events (the mount is going away or starting afresh).
  void clear();

  // For tests.
  std::size_t records() const;
  std::size_t held() const;

 private:
  struct Record {
    std::uint64_t version = 0;  // 0: a removal of `removed_path`
    std::string removed_path;
  };
  bool openLocked(const ChangeEvent& e) const REQUIRES(mutex_);
  bool consumeLocked(const ChangeEvent& e) REQUIRES(mutex_);
  void close(Scope& scope);

  const Release release_;
  mutable Mutex mutex_;
  std::unordered_map<std::string, int> open_ GUARDED_BY(mutex_);  // path -> open Scopes
  std::deque<Record> records_ GUARDED_BY(mutex_);                 // oldest first
  std::vector<ChangeEvent> held_ GUARDED_BY(mutex_);              // feed order
};

}  // namespace seams
