// KernelNotifier: sends the kernel's cache invalidations for changes made behind the mount, on
// a thread of its own, while the thread that made the change waits (with a bound).
//
// Why a thread and a bound. An invalidation can block in the kernel: inval_inode locks each
// cached page of the file (a page is locked while a FUSE read or write of it is in flight) and
// inval_entry locks the parent directory (held while a FUSE create/unlink/rename in it is in
// flight). The Vault calls its listeners synchronously and LocalVault does so while holding the
// changed path's lock; a FUSE handler serving that in-flight request may be waiting for the very
// same lock (a write to the same file, a create of the same name). Notifying inline would then
// deadlock: the listener waits for the kernel, the kernel for our handler, the handler for the
// listener's lock (seen here: a FUSE create racing a creation of the same name behind the
// mount hung both for good). So the changing thread hands the invalidations to this thread and
// waits for them to finish, normally a few microseconds. It stops waiting (counted in
// timeouts()) after kGrace if `may_deadlock` says a request that could be the other half of such
// a cycle is in flight (FuseFrontend: one of its handlers is inside a Vault mutation), or after
// `wait` in any case; it then releases its locks, the handler proceeds, and the invalidation
// completes a moment later. Before handing over, the caller invalidates the attributes inline
// (that never blocks), so even then the next access asks for fresh attributes and the kernel
// drops pages whose size or mtime changed.
//
// Thread-safety: run() from any thread; start()/stop() from the owner's controlling thread.
// mutex_ guards the queue and state; it is never held while talking to the kernel.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/common/thread_annotations.h"

struct fuse_session;

namespace seams {

class KernelNotifier {
 public:
  struct Op {
    enum class Kind : std::uint8_t { inode, entry };
    Kind kind = Kind::inode;
    std::uint64_t ino = 0;  // the inode, or for entry: the parent directory
    std::string name;       // entry only
  };

  explicit KernelNotifier(std::chrono::milliseconds wait) : wait_(wait) {}
  ~KernelNotifier() { stop(); }
  KernelNotifier(const KernelNotifier&) = delete;
  KernelNotifier& operator=(const KernelNotifier&) = delete;

  // REQUIRES: `se` stays valid until stop() returns.
  void start(fuse_session* se);
  // Joins the thread; invalidations still queued are dropped (the mount is going away).
  void stop();

  // How long run() waits before it asks `may_deadlock`.
  static constexpr std::chrono::microseconds kGrace{500};

  // Sends `ops` in order; true once the kernel has taken them all, false if the wait was cut
  // short (they are still sent) or the notifier is stopped. `may_deadlock` is polled every
  // kGrace while waiting (under the notifier's lock: it must be a quick read of an atomic).
  bool run(std::vector<Op> ops, const std::function<bool()>& may_deadlock = {});
  // Queues `ops` and returns at once: for a caller that must not wait for the kernel (a request
  // handler, whose own request may hold what the invalidation needs until it is answered).
  void post(std::vector<Op> ops);

  std::uint64_t sent() const;
  std::uint64_t failures() const;  // the kernel refused one (other than "not cached")
  std::uint64_t timeouts() const;  // run() stopped waiting

 private:
  struct Job {
    std::vector<Op> ops;
    bool done = false;  // guarded by the notifier's mutex_ (a nested struct cannot name it)
  };
  void loop();

  const std::chrono::milliseconds wait_;
  mutable Mutex mutex_;
  std::condition_variable work_cv_;
  std::condition_variable done_cv_;
  std::deque<std::shared_ptr<Job>> queue_ GUARDED_BY(mutex_);
  fuse_session* session_ GUARDED_BY(mutex_) = nullptr;  // used by the thread
  bool stopping_ GUARDED_BY(mutex_) = false;
  std::uint64_t sent_ GUARDED_BY(mutex_) = 0;
  std::uint64_t failures_ GUARDED_BY(mutex_) = 0;
  std::uint64_t timeouts_ GUARDED_BY(mutex_) = 0;
  std::thread thread_;
};

}  // namespace seams
