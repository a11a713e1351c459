// InotifyWatcher: reports which paths beneath a directory changed, recursively.
//
// The sync service turns these reports into Vault::reconcile() calls; this class knows nothing
// of versions or caches. It watches every directory beneath the root (except the reserved
// ".seams" state directory), adds watches for directories as they appear, and coalesces a burst
// of events into one report per path. When the kernel's queue overflows it cannot know what was
// lost, so it reports every path it knows (a rescan).
//
// Threading: one thread, owned by the watcher, runs the loop between start() and stop(). The
// callback is called on that thread only. start()/stop() from one controlling thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "core/common/status.h"
#include "core/common/unique_fd.h"
#include "core/common/vault_path.h"

namespace seams {

class InotifyWatcher {
 public:
  // One batch of changed paths (deduplicated, in first-seen order).
  using Callback = std::function<void(const std::vector<VaultPath>& changed)>;

  InotifyWatcher(std::string root, Callback callback);
  ~InotifyWatcher();
  InotifyWatcher(const InotifyWatcher&) = delete;
  InotifyWatcher& operator=(const InotifyWatcher&) = delete;

  // Sets up the watches and starts the loop; returns once every existing directory is watched,
  // so a change made after start() returns is reported.
  Status start();
  // Ends the loop and joins its thread. Safe to call twice, and without start().
  void stop();

  // Monotonic ns of the loop's last turn: the loop wakes at least every `kTickMs` even when
  // idle, so a stale value means the loop is stuck (the watchdog's heartbeat).
  std::int64_t lastTickNs() const noexcept { return last_tick_ns_.load(std::memory_order_relaxed); }
  static constexpr int kTickMs = 250;

  // Counters, for stats.
  std::uint64_t batches() const noexcept { return batches_.load(std::memory_order_relaxed); }
  std::uint64_t overflows() const noexcept { return overflows_.load(std::memory_order_relaxed); }

 private:
  void loop();
  // Adds a watch on `dir` and, recursively, every directory beneath it; appends every path
  // found to `found` (used to report what appeared in a new directory before it was watched).
  void watchTree(const VaultPath& dir, std::vector<VaultPath>* found);
  void handleEvents(const char* buf, std::size_t len, std::vector<VaultPath>* changed);
  void rescan(std::vector<VaultPath>* changed);

  const std::string root_;
  const Callback callback_;
  UniqueFd inotify_fd_;
  UniqueFd wake_fd_;  // eventfd: stop() wakes the loop
  std::thread thread_;
  // Watch descriptor <-> directory. Touched only by the loop thread once start() has returned.
  std::unordered_map<int, VaultPath> dirs_;
  std::atomic<std::int64_t> last_tick_ns_{0};
  std::atomic<std::uint64_t> batches_{0};
  std::atomic<std::uint64_t> overflows_{0};
};

}  // namespace seams
