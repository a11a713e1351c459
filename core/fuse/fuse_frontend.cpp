#define FUSE_USE_VERSION 312
#include "core/fuse/fuse_frontend.h"

#include <fuse_lowlevel.h>
#include <spdlog/spdlog.h>
#include <sys/mount.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/config/fuse_access.h"
#include "core/fuse/fuse_ops.h"
#include "core/fuse/mount_util.h"

// The frontend's life: construction, mount and session loop, stop, health, and the change
// listener that keeps the kernel's caches coherent. The request handlers are in fuse_ops.cpp.

namespace seams {
namespace {

// How long a thread that changed the vault waits for the kernel to take its invalidations
// (kernel_notifier.h). Normally microseconds; the bound only matters when a FUSE request on the
// same file is in flight and waiting for a lock that thread holds.
constexpr std::chrono::milliseconds kNotifyWait{100};

}  // namespace

FuseFrontend::FuseFrontend(Vault& vault, Auth& auth, FuseConfig config, const Clock& clock)
    : vault_(vault),
      auth_(auth),
      config_(std::move(config)),
      clock_(clock),
      owner_uid_(::getuid()),
      owner_gid_(::getgid()),
      in_flight_(static_cast<std::size_t>(std::max(config_.max_threads, 1)) + 8, clock),
      notifier_(kNotifyWait),
      own_([this](std::vector<ChangeEvent> events) { notifyHeld(std::move(events)); }) {}

FuseFrontend::~FuseFrontend() {
  stop();
  releaseOpenFiles();  // also those of an unmounted session (newUnmountedSession)
}

void FuseFrontend::releaseOpenFiles() {
  std::unordered_multimap<std::uint64_t, OpenFile*> files;
  std::unordered_map<const DirHandle*, std::unique_ptr<DirHandle>> dirs;  // freed unlocked
  {
    MutexLock lock(files_mutex_);
    files.swap(open_files_);
    dirs.swap(open_dirs_);
    backing_.clear();  // the nodes go with the session
  }
  for (auto [ino, file] : files) {
    std::unique_ptr<OpenFile> owned(file);
    Status s = vault_.release(owned->handle);
    if (!s.ok() && s.code() != Errc::bad_handle) {
      spdlog::warn("fuse: releasing {} at unmount: {}", owned->opened_as.str(), s.toString());
    }
  }
}

std::string FuseFrontend::mountpoint() const {
  ReaderLock lock(session_mutex_);
  return mountpoint_;
}

FuseFrontend::Health FuseFrontend::health() const {
  Health h;
  h.running = running();
  h.in_flight = in_flight_.inFlight();
  h.oldest_request_start = in_flight_.oldestStart();
  h.requests = in_flight_.started();
  h.notifications = notifier_.sent();
  h.notify_failures = notifier_.failures();
  h.notify_timeouts = notifier_.timeouts();
  h.handler_exceptions = handler_exceptions_.load(std::memory_order_relaxed);
  return h;
}

Status FuseFrontend::start(std::chrono::milliseconds start_timeout) {
  MutexLock life(lifecycle_mutex_);
  if (loop_running_.load()) return Status(Errc::conflict, "fuse: already started");
  stopLocked();  // the remains of a loop that ended on its own, if any

  if (config_.mountpoint.empty()) {
    return Status(Errc::invalid_argument, "fuse.mountpoint: required when fuse is enabled");
  }
  if (config_.max_threads < 1 || config_.max_threads > 256) {
    return Status(Errc::invalid_argument, "fuse.max_threads: must be between 1 and 256");
  }
  if (config_.max_idle_threads < -1 || config_.entry_timeout_s < 0 || config_.attr_timeout_s < 0) {
    return Status(Errc::invalid_argument,
                  "fuse: timeouts must not be negative, max_idle_threads not below -1");
  }

  auto canonical = canonicalMountPoint(config_.mountpoint);
  if (!canonical.ok()) return canonical.status();
  const std::string mountpoint = std::move(*canonical);
  SEAMS_RETURN_IF_ERROR(clearStaleMount(mountpoint));
  SEAMS_RETURN_IF_ERROR(checkMountDirectory(mountpoint));
  SEAMS_RETURN_IF_ERROR(checkFuseDevice());
  SEAMS_RETURN_IF_ERROR(checkAllowOther(config_.allow_other));

  std::vector<std::string> args_text = {"seams", "-o", "fsname=seams,subtype=seams,noatime"};
  if (config_.allow_other) args_text.push_back("-oallow_other");
  std::vector<char*> argv;
  for (auto& a : args_text) argv.push_back(a.data());
  fuse_args args = FUSE_ARGS_INIT(static_cast<int>(argv.size()), argv.data());
  const fuse_lowlevel_ops ops = fuseOps();

  fuse_session* se = fuse_session_new(&args, &ops, sizeof ops, this);
  fuse_opt_free_args(&args);
  if (se == nullptr) return Status(Errc::unavailable, "fuse: fuse_session_new failed");
  {
    MutexLock lock(ready_mutex_);
    init_done_ = false;
    loop_done_ = false;
    loop_result_ = 0;
  }
  if (fuse_session_mount(se, mountpoint.c_str()) != 0) {
    fuse_session_destroy(se);
    return Status(Errc::unavailable, "fuse: mounting " + mountpoint + " failed");
  }
  {
    WriterLock lock(session_mutex_);
    session_ = se;
    mountpoint_ = mountpoint;
  }

  const int max_threads = config_.max_threads;
  const int max_idle = config_.max_idle_threads;
  loop_running_.store(true, std::memory_order_release);
  loop_thread_ = std::thread([this, se, max_threads, max_idle] {
    fuse_loop_config* loop_config = fuse_loop_cfg_create();
    fuse_loop_cfg_set_max_threads(loop_config, static_cast<unsigned>(max_threads));
    // -1: leave libfuse's default, which never ends an idle worker (config.h says why).
    if (max_idle >= 0) fuse_loop_cfg_set_idle_threads(loop_config, static_cast<unsigned>(max_idle));
    const int rc = fuse_session_loop_mt(se, loop_config);
    fuse_loop_cfg_destroy(loop_config);
    loop_running_.store(false, std::memory_order_release);
    {
      MutexLock lock(ready_mutex_);
      loop_done_ = true;
      loop_result_ = rc;
    }
    ready_cv_.notify_all();
  });

  bool ready = false;
  int loop_rc = 0;
  {
    MutexLock lock(ready_mutex_);
    ready_cv_.wait_for(lock.native(), start_timeout, [&] {
      ready_mutex_.assertHeld();
      return init_done_ || loop_done_;
    });
    ready = init_done_ && !loop_done_;
    loop_rc = loop_result_;
  }
  if (!ready) {
    stopLocked();
    return Status(Errc::unavailable, "fuse: " + mountpoint + " did not become ready (loop result " +
                                         std::to_string(loop_rc) + ")");
  }

  // From here on, changes made elsewhere reach the kernel.
  notifier_.start(se);
  own_.clear();
  subscription_ = vault_.subscribe([this](const ChangeEvent& event) { onVaultChange(event); });
  spdlog::info("fuse: mounted {} ({} threads max, {} idle)", mountpoint, max_threads, max_idle);
  return okStatus();
}

fuse_session* FuseFrontend::newUnmountedSession() {
  std::vector<std::string> args_text = {"seams"};
  std::vector<char*> argv;
  for (auto& a : args_text) argv.push_back(a.data());
  fuse_args args = FUSE_ARGS_INIT(static_cast<int>(argv.size()), argv.data());
  const fuse_lowlevel_ops ops = fuseOps();
  fuse_session* se = fuse_session_new(&args, &ops, sizeof ops, this);
  fuse_opt_free_args(&args);
  return se;
}

void FuseFrontend::stop() {
  MutexLock life(lifecycle_mutex_);
  stopLocked();
}

void FuseFrontend::stopLocked() {
  // First no new notifications (a Subscription waits for listener calls in flight).
  subscription_.reset();
  fuse_session* se = nullptr;
  std::string mountpoint;
  {
    ReaderLock lock(session_mutex_);
    se = session_;
    mountpoint = mountpoint_;
  }
  if (se == nullptr) return;

  // The loop's workers sleep in read(/dev/fuse); unmounting ends the connection and wakes them
  // with ENODEV. A plain umount fails with EBUSY while a process holds a file in the mount:
  // then force it (MNT_FORCE aborts the FUSE connection, so those processes see ENOTCONN and
  // the loop ends) and detach it.
  if (::umount2(mountpoint.c_str(), UMOUNT_NOFOLLOW) != 0) {
    const int err = errno;
    if (err == EBUSY) {
      spdlog::warn("fuse: {} is busy; aborting the connection", mountpoint);
      if (::umount2(mountpoint.c_str(), MNT_FORCE | MNT_DETACH | UMOUNT_NOFOLLOW) != 0) {
        spdlog::error("fuse: forced unmount of {} failed: {}", mountpoint, std::strerror(errno));
      }
    } else if (err != EINVAL && err != ENOENT) {
      // EINVAL: no longer mounted (someone unmounted us, or the loop failed).
      spdlog::error("fuse: unmounting {} failed: {}", mountpoint, std::strerror(err));
    }
  }
  if (loop_thread_.joinable()) loop_thread_.join();
  loop_running_.store(false, std::memory_order_release);
  // The kernel sends no RELEASE for files still open when the connection is aborted: no handler
  // runs any more, so every handle left is given back to the vault here.
  releaseOpenFiles();
  notifier_.stop();  // the connection is gone: nothing it sends can block any more

  {
    WriterLock lock(session_mutex_);
    // The connection is gone, so this only closes /dev/fuse (it polls the fd, sees POLLERR and
    // skips its own umount).
    fuse_session_unmount(se);
    fuse_session_destroy(se);
    session_ = nullptr;
  }
  spdlog::info("fuse: unmounted {}", mountpoint);
}

// --- kernel cache invalidation ---------------------------------------------------------------

void FuseFrontend::onVaultChange(const ChangeEvent& event) noexcept {
  // Made through this mount, on this very handler: the kernel already knows, and notifying from
  // here could deadlock on the locks the kernel holds for this request.
  if (handlingOnThisThread(*this)) {
    own_.deliveredInline();
    return;
  }
  try {
    // Made through this mount and echoed by the owner's feed (split), or racing a change of
    // ours on the same path: judged by own_, which hands the latter back to notifyHeld().
    if (own_.claim(event)) return;
    ReaderLock lock(session_mutex_);
    fuse_session* se = session_;
    if (se == nullptr) return;
    std::vector<KernelNotifier::Op> ops;
    invalidationsFor(se, event, ops);
    // A handler of ours inside a Vault mutation may be waiting for a lock this thread holds,
    // while the kernel holds what the invalidation needs for that handler's request.
    notifier_.run(std::move(ops),
                  [this] { return mutations_in_flight_.load(std::memory_order_acquire) > 0; });
  } catch (const std::exception& e) {
    spdlog::error("fuse: invalidation after a change to {} failed: {}", event.path.str(), e.what());
  } catch (...) {
    spdlog::error("fuse: invalidation after a change to {} failed", event.path.str());
  }
}

void FuseFrontend::notifyHeld(std::vector<ChangeEvent> events) noexcept {
  try {
    ReaderLock lock(session_mutex_);
    fuse_session* se = session_;
    if (se == nullptr) return;
    std::vector<KernelNotifier::Op> ops;
    for (const ChangeEvent& event : events) invalidationsFor(se, event, ops);
    // Called as a handler finishes: its request may hold what the invalidation needs until the
    // reply, so never wait here.
    notifier_.post(std::move(ops));
  } catch (const std::exception& e) {
    spdlog::error("fuse: invalidation of {} held change(s) failed: {}", events.size(), e.what());
  } catch (...) {
    spdlog::error("fuse: invalidation of {} held change(s) failed", events.size());
  }
}

void FuseFrontend::invalidationsFor(fuse_session* se, const ChangeEvent& event,
                                    std::vector<KernelNotifier::Op>& ops) {
  auto inode = [&](const VaultPath& path) {
    if (auto ino = inodes_.find(path)) {
      // Attributes only, inline: never blocks, and makes the next access ask us again.
      fuse_lowlevel_notify_inval_inode(se, *ino, -1, 0);
      ops.push_back({KernelNotifier::Op::Kind::inode, *ino, {}});
    }
  };
  auto entry = [&](const VaultPath& path) {
    if (path.isRoot()) return;
    // Nothing is cached beneath a directory the kernel holds no node for.
    if (auto parent = inodes_.find(path.parent())) {
      fuse_lowlevel_notify_inval_inode(se, *parent, -1, 0);
      ops.push_back({KernelNotifier::Op::Kind::entry, *parent, std::string(path.name())});
    }
  };
  switch (event.kind) {
    case ChangeEvent::Kind::modified:
      // The entry too: a put replaces the backing file under the name, and the next lookup must
      // give the name a new node (InodeTable::remember), apart from files still open on the old.
      entry(event.path);
      inode(event.path);
      break;
    case ChangeEvent::Kind::created:  // drops a negative entry, too
    case ChangeEvent::Kind::removed:
      entry(event.path);
      inode(event.path);
      break;
    case ChangeEvent::Kind::renamed:
      entry(event.old_path);
      entry(event.path);
      inode(event.old_path);
      inode(event.path);
      break;
  }
}

}  // namespace seams
