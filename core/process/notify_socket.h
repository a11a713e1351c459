// NotifySocket: the receiving end of the systemd notify protocol.
//
// seam-split, seam-bench and the end-to-end tests own one, pass its path to children as
// NOTIFY_SOCKET, and learn when each child is READY=1 (and its STATUS=, WATCHDOG=1,
// STOPPING=1) exactly as systemd would. The sender's pid comes from SCM_CREDENTIALS, so
// messages from several children on one socket are told apart.
//
// Threading: one thread receives at a time.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <map>
#include <string>

#include "core/common/clock.h"
#include "core/common/status.h"
#include "core/common/unique_fd.h"

namespace seams {

struct NotifyMessage {
  pid_t pid = 0;                              // the sender, from the kernel
  std::map<std::string, std::string> fields;  // READY -> "1", STATUS -> "...", ...
  MonoTime received;                          // steady clock, when it was read
  bool has(const std::string& key, const std::string& value) const {
    auto it = fields.find(key);
    return it != fields.end() && it->second == value;
  }
};

class NotifySocket {
 public:
  // Binds a datagram socket at `path` (an existing file there is replaced).
  static Result<NotifySocket> bind(const std::string& path);

  NotifySocket(NotifySocket&&) noexcept = default;
  NotifySocket& operator=(NotifySocket&&) noexcept = default;
  ~NotifySocket();

  const std::string& path() const noexcept { return path_; }
  int fd() const noexcept { return fd_.get(); }
  // The next message, or timeout. Malformed lines are skipped, never fatal.
  Result<NotifyMessage> receive(std::chrono::milliseconds timeout);

 private:
  NotifySocket(std::string path, UniqueFd fd) : path_(std::move(path)), fd_(std::move(fd)) {}
  std::string path_;
  UniqueFd fd_;
};

}  // namespace seams
