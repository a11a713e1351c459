// NotifyRouter: the launcher's one NOTIFY_SOCKET, shared by every daemon it spawns.
//
// One reader thread receives each sd_notify datagram, learns the sender's pid from the kernel
// (SCM_CREDENTIALS) and hands the message to the NotifyMailbox attached to that pid. A daemon may
// send READY=1 before its launcher thread has attached a mailbox to the new pid (the child runs as
// soon as it is forked), so messages from pids nobody claimed yet are kept (a few, briefly) and
// replayed on attach(). Messages from anyone else (a daemon's own helpers, a stranger) are dropped
// once they age out: as with systemd's NotifyAccess=main, only the daemon process itself counts.
//
// Thread-safety: attach/detach/path from any thread; mutex_ guards routes_ and unclaimed_.
// A NotifyMailbox is shared between the reader thread (deliver) and one DaemonService run (the
// rest); its mutex_ guards its fields.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "core/common/clock.h"
#include "core/common/status.h"
#include "core/common/thread_annotations.h"
#include "core/common/unique_fd.h"
#include "core/process/notify_socket.h"

namespace seams::split {

// What one daemon run has said so far. Its eventfd turns readable on every delivery and on wake(),
// so the run can poll it beside the child's pidfd.
class NotifyMailbox {
 public:
  // `clock` stamps the pings; it must outlive the mailbox.
  static Result<std::shared_ptr<NotifyMailbox>> create(const Clock& clock);

  void deliver(const NotifyMessage& message);
  // Makes fd() readable without a message (a stop request).
  void wake();
  int fd() const { return event_fd_.get(); }
  // Clears fd()'s readiness; call after each poll that saw it.
  void drain();

  bool ready() const;
  // When READY=1 or the last WATCHDOG=1 arrived, whichever is later; nullopt before either.
  std::optional<MonoTime> lastSign() const;
  std::string statusText() const;  // the last STATUS=

 private:
  NotifyMailbox(const Clock& clock, UniqueFd event_fd)
      : clock_(clock), event_fd_(std::move(event_fd)) {}

  const Clock& clock_;
  UniqueFd event_fd_;
  mutable Mutex mutex_;
  bool ready_ GUARDED_BY(mutex_) = false;
  std::optional<MonoTime> last_sign_ GUARDED_BY(mutex_);
  std::string status_ GUARDED_BY(mutex_);
};

class NotifyRouter {
 public:
  // Binds `path` (replacing a stale file) and starts the reader thread.
  static Result<std::unique_ptr<NotifyRouter>> start(const std::string& path);
  // Stops the reader and removes the socket file.
  ~NotifyRouter();
  NotifyRouter(const NotifyRouter&) = delete;
  NotifyRouter& operator=(const NotifyRouter&) = delete;

  const std::string& path() const { return path_; }
  // From now on messages from `pid` go to `mailbox`, starting with any that came before.
  void attach(pid_t pid, std::shared_ptr<NotifyMailbox> mailbox);
  void detach(pid_t pid);
  // Stops the reader thread (safe twice); messages that arrive later stay unread.
  void stop();

 private:
  explicit NotifyRouter(NotifySocket socket);
  void loop();

  // Unclaimed messages are kept at most this many, and at most this long.
  static constexpr std::size_t kMaxUnclaimed = 64;
  static constexpr std::chrono::seconds kUnclaimedLifetime{30};

  NotifySocket socket_;  // read only by the reader thread after start()
  const std::string path_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  Mutex mutex_;
  std::map<pid_t, std::shared_ptr<NotifyMailbox>> routes_ GUARDED_BY(mutex_);
  std::deque<NotifyMessage> unclaimed_ GUARDED_BY(mutex_);
};

}  // namespace seams::split
