// FuseFrontend: the vault as a filesystem, through libfuse3's low-level API.
//
// The frontend programs against Vault& and Auth& only; whether they are local objects (seamd)
// or IPC stubs (seam-fused) is the composition root's choice.
//
// Who may do what. Each request carries the caller's filesystem uid; Auth::principalForUid()
// maps it to a vault user (an unmapped uid gets EACCES for everything) and Auth::check() decides
// each operation:
//   lookup, getattr, getxattr, listxattr, access(F_OK/R_OK/X_OK)  read or list on the target
//   opendir/readdir                                              list on the directory
//   open                                    read and/or write by the open flags (O_TRUNC: write)
//   read / write, ftruncate, fstat on an open file      read / write / write / meta, every call
//                                                       (on the file's name; see "Open files")
//   create, mkdir, unlink, rmdir, setattr(size)                   write on the target
//   rename                                                        write on both names
//   statfs, flush, fsync                                          a mapped uid
//   release, releasedir, forget                                   none (they cannot be refused)
// setattr: a size change truncates; atime/mtime changes are accepted and ignored (the vault
// keeps its own mtime), so `touch` works; mode, uid and gid changes are refused with EPERM (the
// vault has no owners and keeps its own modes). Files are shown as owned by the daemon's uid/gid.
// Extended attributes: getxattr("user.seams.version") is the file's version in decimal;
// every other name gets ENODATA at once, without a Vault or Auth call (the kernel asks for
// "security.capability" before writes); listxattr lists only that name; setxattr is ENOSYS.
//
// The kernel's caches. Entries and attributes are cached for fuse.entry_timeout_s and
// fuse.attr_timeout_s (misses are cached as negative entries too), file pages across opens when
// fuse.kernel_cache is set. A cached entry or attribute is served by the kernel without asking
// us, so within those timeouts `stat` does not re-check permissions (open, read, write and
// readdir always do): set the timeouts to 0 where that matters more than speed.
// Changes made elsewhere (HTTP, sync) reach the kernel through the Vault change feed: the
// listener invalidates the inode (content and attributes: fuse_lowlevel_notify_inval_inode) and,
// for created, removed and renamed names, the dentry (_inval_entry, negative entries included),
// before the Vault call that made the change returns, so a read through the mount after an
// acknowledged HTTP write is never stale. The invalidations run on a KernelNotifier thread while
// the changing thread waits for them: the Vault calls listeners holding the changed path's lock,
// and a FUSE request in flight on the same file or directory can hold the kernel lock the
// invalidation needs while its handler waits for that path lock. So the wait is cut short after
// 1 ms when one of our handlers is inside a Vault mutation, and after 100 ms in any case
// (kernel_notifier.h); then, and only then (a FUSE change racing a change behind the mount), the
// invalidation lands just after the acknowledgement; health().notify_timeouts counts it.
// A change made *through this mount* is not notified: the kernel already knows, and a notification
// issued from inside the request handler that caused it can deadlock (the kernel holds the inode
// and directory locks of that request). A thread_local pointer to the frontend whose handler is
// running marks those calls; another FuseFrontend mounted over the same Vault still notifies.
// When the Vault is an IPC stub (seam-fused, coherence push or off) the same change comes back
// later on the owner's feed, on another thread; OwnChanges (own_changes.h) recognises that echo
// by the version the handler's call returned and drops it, and holds an event for a path one of
// our handlers is changing until that handler is done, then notifies it unless it was the echo.
//
// st_ino is the backing inode (FileAttr::inode), not the node id: it stays the same across
// renames and across the kernel forgetting and looking up a node again, in every deployment.
//
// Lifecycle. start() clears what a previous daemon left at the mount point: a dead FUSE mount
// (stat -> ENOTCONN -> umount2(MNT_DETACH)) or a hung one (no answer to stat within 2 s ->
// MNT_FORCE aborts it); a live, answering mount there is a conflict. It then mounts, runs
// fuse_session_loop_mt on its own thread, and returns once the kernel's FUSE_INIT has been
// answered, so the mount is usable when start() returns. stop() unmounts first (a busy mount is
// aborted: processes still holding files in it see ENOTCONN), then waits for the loop thread,
// which waits for handlers in flight: a handler stuck inside the Vault holds stop() (the mount
// is already released, so a new FuseFrontend can mount in its place). stop() is safe twice and
// without start(). When the loop ends on its own (someone unmounted us), running() turns false;
// start() then mounts afresh. Watchdog: running() false is a crash; health().oldest_request_start
// older than the deadline is a hang.
//
// Open files (issue 13). open and create take a Vault handle (Vault::open, O_TRUNC as
// OpenMode::kTruncate) and put it in fi->fh; read, write, fsync, release, fstat (getattr with a
// handle) and ftruncate (setattr of the size with a handle) go by that handle, so an open file
// stays usable whatever happens to its name, through the mount or behind it: unlinked (fstat
// shows nlink 0, reads see the data, writes land in the orphan), renamed, or replaced by a rename
// or a put (the fd keeps the old file). The kernel sends fstat without a handle, so a getattr on
// a node that lost its name (detached, inode_table.h) is answered through any file still open on
// that node. The permission re-check of read/write/ftruncate/fstat uses the node's current name
// as the mount knows it, or, once it has none, the name the file was opened under: a rule
// revoked on that name still stops the open file. A setattr other than the size on a detached
// node (fchmod of an unlinked file) is ENOENT: the vault sets attributes by name only. Node ids
// name paths, so one node can stand for two backing files over time (a replace behind the
// mount): an open that finds another backing file than the node's last open drops the node's
// page cache (no keep_cache), and one made while an older open of the node holds a different
// file reads with direct_io, so neither sees the other's pages. stop() releases the handles of
// files still open (an aborted connection sends no RELEASE). The Vault's bound on open handles
// reaches the caller as EMFILE.
//
// Limits: O_APPEND writes land at the end of file the kernel knows, which a change behind the
// mount makes stale until attributes are refreshed; RENAME_NOREPLACE is checked, then renamed
// (not atomic); RENAME_EXCHANGE is EINVAL; statfs reports no capacity (the Vault has no such
// call); create is two Vault calls (create, then open: the contract has no create-and-open).
//
// Threads. start()/stop() from one controlling thread at a time (they serialise on a mutex).
// Request handlers run on libfuse's worker threads (up to fuse.max_threads). The change listener
// runs on whatever thread changed the Vault. health() and the accessors from any thread.
//
// Lock order (outer first): lifecycle_mutex_ -> session_mutex_ -> the InodeTable's mutex (leaf);
// session_mutex_ -> the KernelNotifier's mutex (leaf); ready_mutex_ and files_mutex_ are leaves
// of their own. No lock
// of ours is held while calling the Vault or Auth, or while replying to the kernel.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "core/auth/auth.h"
#include "core/common/clock.h"
#include "core/common/status.h"
#include "core/common/thread_annotations.h"
#include "core/config/config.h"
#include "core/fuse/in_flight.h"
#include "core/fuse/inode_table.h"
#include "core/fuse/kernel_notifier.h"
#include "core/fuse/own_changes.h"
#include "core/vault/vault.h"

struct fuse_session;

namespace seams {

class FuseFrontend {
 public:
  // `vault`, `auth` and `clock` must outlive the frontend. The config is validated by start().
  FuseFrontend(Vault& vault, Auth& auth, FuseConfig config, const Clock& clock);
  ~FuseFrontend();  // stop()
  FuseFrontend(const FuseFrontend&) = delete;
  FuseFrontend& operator=(const FuseFrontend&) = delete;

  // Mounts and returns once the mount serves. Errors: invalid_argument (config), conflict (a
  // live filesystem is mounted there, or already started), unavailable (mount failed or the
  // kernel never sent FUSE_INIT within start_timeout), others from the mount syscall.
  Status start(std::chrono::milliseconds start_timeout = std::chrono::seconds(10));
  // Unmounts and joins the loop. Idempotent.
  void stop();

  // True between a successful start() and stop(), while the session loop runs.
  bool running() const noexcept { return loop_running_.load(std::memory_order_acquire); }

  // The heartbeat. FUSE workers block in the kernel while idle, so liveness is judged by the
  // oldest request in flight: a request older than the watchdog's deadline means a hung service.
  struct Health {
    bool running = false;
    std::size_t in_flight = 0;
    std::optional<MonoTime> oldest_request_start;  // nullopt: idle
    std::uint64_t requests = 0;                    // handled since construction
    std::uint64_t notifications = 0;               // kernel invalidations sent
    std::uint64_t notify_failures = 0;             // ... that failed (other than "not cached")
    std::uint64_t notify_timeouts = 0;             // listener stopped waiting (kernel_notifier.h)
    std::uint64_t handler_exceptions = 0;          // exceptions caught at a callback (EIO sent)
  };
  Health health() const;

  // The canonical mount point (valid after start()).
  std::string mountpoint() const;

  // For tests: the node table.
  const InodeTable& inodes() const { return inodes_; }

  // For the FUSE fuzz target (tests/fuzz): a libfuse session over this frontend's request
  // handlers, with no mount and no loop, so kernel requests can be fed to the same ops table
  // without a kernel. The caller attaches its own I/O (fuse_session_custom_io(), which owns the
  // fd it is given) and calls fuse_session_process_buf() from one thread; replies go to that I/O.
  // The change listener is not connected (no kernel cache to invalidate). The caller owns the
  // session and destroys it (fuse_session_destroy) before this frontend; start() is not called.
  // Null if libfuse refuses to make a session.
  fuse_session* newUnmountedSession();

 private:
  friend class FuseOps;  // the libfuse callbacks (fuse_ops.cpp)

  // A file open in the kernel: fi->fh points at one. Owned by open_files_'s registry from
  // open/create until release (or until stop, when the kernel never sends that).
  struct OpenFile {
    HandleId handle = 0;
    VaultPath opened_as;    // whose rules apply once the node has no name (see the header)
    std::uint64_t ino = 0;  // the node it was opened on
    std::uint64_t backing_inode = 0;  // the vault file's inode (FileAttr::inode)
  };

  // A directory open in the kernel (opendir to releasedir): the listing taken at opendir, so
  // offsets stay stable across readdir calls while the directory changes. Owned by open_dirs_.
  struct DirHandle {
    VaultPath path;
    std::vector<DirEntry> entries;
  };

  void stopLocked() REQUIRES(lifecycle_mutex_);
  void onVaultChange(const ChangeEvent& event) noexcept;
  // Releases every open file and directory still registered (the kernel sends no RELEASE for
  // what is open when the connection ends). REQUIRES: no handler running.
  void releaseOpenFiles();
  // Held events (own_changes.h) that were not echoes of our own changes: queued, not awaited.
  void notifyHeld(std::vector<ChangeEvent> events) noexcept;
  // Appends the kernel invalidations `event` calls for (attributes are invalidated inline).
  // REQUIRES: `se` the session.
  void invalidationsFor(fuse_session* se, const ChangeEvent& event,
                        std::vector<KernelNotifier::Op>& ops) REQUIRES_SHARED(session_mutex_);

  Vault& vault_;
  Auth& auth_;
  const FuseConfig config_;
  const Clock& clock_;
  const std::uint32_t owner_uid_;
  const std::uint32_t owner_gid_;

  InodeTable inodes_;
  InFlightTracker in_flight_;
  KernelNotifier notifier_;
  OwnChanges own_;  // after notifier_: its release callback uses it

  Mutex lifecycle_mutex_;                              // serialises start() and stop()
  std::string mountpoint_ GUARDED_BY(session_mutex_);  // written by start()
  std::unique_ptr<Subscription> subscription_ GUARDED_BY(lifecycle_mutex_);
  std::thread loop_thread_ GUARDED_BY(lifecycle_mutex_);

  // The session the listener notifies through; null when not mounted. Shared by notifiers,
  // exclusive while it is created or destroyed.
  mutable SharedMutex session_mutex_;
  fuse_session* session_ GUARDED_BY(session_mutex_) = nullptr;

  Mutex ready_mutex_;
  std::condition_variable ready_cv_;
  bool init_done_ GUARDED_BY(ready_mutex_) = false;  // FUSE_INIT answered
  bool loop_done_ GUARDED_BY(ready_mutex_) = false;  // the session loop returned
  int loop_result_ GUARDED_BY(ready_mutex_) = 0;

  Mutex files_mutex_;  // a leaf
  // Open files by node id; owns its elements.
  std::unordered_multimap<std::uint64_t, OpenFile*> open_files_ GUARDED_BY(files_mutex_);
  // Open directories, keyed by the pointer in fi->fh.
  std::unordered_map<const DirHandle*, std::unique_ptr<DirHandle>> open_dirs_
      GUARDED_BY(files_mutex_);
  // The backing inode each node's last open found (page cache, see open()).
  std::unordered_map<std::uint64_t, std::uint64_t> backing_ GUARDED_BY(files_mutex_);

  std::atomic<bool> loop_running_{false};
  std::atomic<std::uint64_t> handler_exceptions_{0};
  // Handlers inside a Vault mutation right now: while there are any, a listener does not wait
  // long for the kernel (kernel_notifier.h).
  std::atomic<int> mutations_in_flight_{0};
};

}  // namespace seams
