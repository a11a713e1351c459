#include "core/sync/inotify_watcher.h"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <unordered_set>
#include <utility>

namespace seams {
namespace {

constexpr std::uint32_t kMask = IN_CLOSE_WRITE | IN_MODIFY | IN_ATTRIB | IN_CREATE | IN_DELETE |
                                IN_MOVED_FROM | IN_MOVED_TO | IN_DELETE_SELF | IN_ONLYDIR |
                                IN_DONT_FOLLOW | IN_EXCL_UNLINK;

std::int64_t monoNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

std::string hostPath(const std::string& root, const VaultPath& p) {
  return p.isRoot() ? root : root + p.str();
}

}  // namespace

InotifyWatcher::InotifyWatcher(std::string root, Callback callback)
    : root_(std::move(root)), callback_(std::move(callback)) {}

InotifyWatcher::~InotifyWatcher() {
  stop();
}

Status InotifyWatcher::start() {
  if (thread_.joinable()) return Status(Errc::conflict, "inotify watcher already running");
  inotify_fd_.reset(::inotify_init1(IN_NONBLOCK | IN_CLOEXEC));
  if (!inotify_fd_) return Status::fromErrno(errno, "inotify_init1");
  wake_fd_.reset(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
  if (!wake_fd_) return Status::fromErrno(errno, "eventfd");
  dirs_.clear();
  int wd = ::inotify_add_watch(inotify_fd_.get(), root_.c_str(), kMask);
  if (wd < 0) return Status::fromErrno(errno, "inotify_add_watch " + root_);
  dirs_.emplace(wd, VaultPath::root());
  watchTree(VaultPath::root(), nullptr);
  last_tick_ns_.store(monoNs(), std::memory_order_relaxed);
  thread_ = std::thread([this] { loop(); });
  return Status();
}

void InotifyWatcher::stop() {
  if (thread_.joinable()) {
    std::uint64_t one = 1;
    // A failed write leaves the loop to notice on its next tick; nothing better to do here.
    [[maybe_unused]] ssize_t n = ::write(wake_fd_.get(), &one, sizeof one);
    thread_.join();
  }
  inotify_fd_.reset();
  wake_fd_.reset();
}

void InotifyWatcher::watchTree(const VaultPath& dir, std::vector<VaultPath>* found) {
  std::string host = hostPath(root_, dir);
  UniqueFd fd(::open(host.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd) return;  // vanished meanwhile: its removal is reported by the parent's watch
  DIR* d = ::fdopendir(fd.get());
  if (d == nullptr) return;
  fd.release();  // owned by `d` now
  std::vector<VaultPath> subdirs;
  while (dirent* e = ::readdir(d)) {
    std::string_view name = e->d_name;
    if (name == "." || name == "..") continue;
    Result<VaultPath> child = dir.child(name);
    if (!child.ok()) continue;  // the reserved ".seams" directory, or a name no client can use
    if (found != nullptr) found->push_back(*child);
    if (e->d_type == DT_DIR) subdirs.push_back(*child);
  }
  ::closedir(d);
  for (const VaultPath& sub : subdirs) {
    int wd = ::inotify_add_watch(inotify_fd_.get(), hostPath(root_, sub).c_str(), kMask);
    if (wd < 0) {
      spdlog::warn("sync: cannot watch {}: {}", sub.str(), std::strerror(errno));
      continue;
    }
    dirs_[wd] = sub;
    watchTree(sub, found);
  }
}

void InotifyWatcher::handleEvents(const char* buf, std::size_t len,
                                  std::vector<VaultPath>* changed) {
  for (std::size_t off = 0; off + sizeof(inotify_event) <= len;) {
    const auto* ev = reinterpret_cast<const inotify_event*>(buf + off);
    off += sizeof(inotify_event) + ev->len;
    if (ev->mask & IN_Q_OVERFLOW) {
      overflows_.fetch_add(1, std::memory_order_relaxed);
      spdlog::warn("sync: inotify queue overflowed; rescanning the whole vault");
      rescan(changed);
      continue;
    }
    if (ev->mask & IN_IGNORED) {
      dirs_.erase(ev->wd);
      continue;
    }
    auto it = dirs_.find(ev->wd);
    if (it == dirs_.end()) continue;
    if (ev->len == 0) continue;  // an event on the watched directory itself (e.g. DELETE_SELF)
    Result<VaultPath> path = it->second.child(ev->name);
    if (!path.ok()) continue;  // ".seams" at the root: the vault's own state
    changed->push_back(*path);
    if ((ev->mask & IN_ISDIR) && (ev->mask & (IN_CREATE | IN_MOVED_TO))) {
      int wd = ::inotify_add_watch(inotify_fd_.get(), hostPath(root_, *path).c_str(), kMask);
      if (wd >= 0) {
        dirs_[wd] = *path;
        // Files may have been created in it before the watch existed: report what is there.
        watchTree(*path, changed);
      }
    }
  }
}

void InotifyWatcher::rescan(std::vector<VaultPath>* changed) {
  for (auto& [wd, dir] : dirs_) ::inotify_rm_watch(inotify_fd_.get(), wd);
  dirs_.clear();
  int wd = ::inotify_add_watch(inotify_fd_.get(), root_.c_str(), kMask);
  if (wd >= 0) dirs_.emplace(wd, VaultPath::root());
  watchTree(VaultPath::root(), changed);
}

void InotifyWatcher::loop() {
  alignas(inotify_event) char buf[64 * 1024];
  for (;;) {
    last_tick_ns_.store(monoNs(), std::memory_order_relaxed);
    pollfd fds[2] = {{inotify_fd_.get(), POLLIN, 0}, {wake_fd_.get(), POLLIN, 0}};
    int n = ::poll(fds, 2, kTickMs);
    if (n < 0) {
      if (errno == EINTR) continue;
      spdlog::error("sync: poll failed: {}", std::strerror(errno));
      return;  // the watchdog sees the thread end and restarts the service
    }
    if (fds[1].revents & POLLIN) return;
    if (!(fds[0].revents & POLLIN)) continue;

    std::vector<VaultPath> changed;
    // Drain everything queued now, so a burst (a large copy) becomes one batch.
    for (;;) {
      ssize_t len = ::read(inotify_fd_.get(), buf, sizeof buf);
      if (len <= 0) break;
      handleEvents(buf, static_cast<std::size_t>(len), &changed);
    }
    if (changed.empty()) continue;
    std::vector<VaultPath> unique;
    std::unordered_set<VaultPath> seen;
    unique.reserve(changed.size());
    for (VaultPath& p : changed) {
      if (seen.insert(p).second) unique.push_back(std::move(p));
    }
    batches_.fetch_add(1, std::memory_order_relaxed);
    callback_(unique);
  }
}

}  // namespace seams
