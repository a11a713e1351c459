// UNIX-socket plumbing shared by both codecs: the 0700 runtime directory, listening and
// connecting sockets and peer credentials (SO_PEERCRED); the reconnect backoff is
// core/runtime/restart_policy.h's.
//
// Thread-safety: free functions are thread-safe; UniqueFd is a value owned by one
// thread at a time.
#pragma once

#include <sys/types.h>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/common/status.h"

namespace seams::ipc {

// Owns a file descriptor; closes it when destroyed.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) noexcept : fd_(fd) {}
  UniqueFd(UniqueFd&& o) noexcept : fd_(o.release()) {}
  UniqueFd& operator=(UniqueFd&& o) noexcept;
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd() { reset(); }

  int get() const noexcept { return fd_; }
  bool valid() const noexcept { return fd_ >= 0; }
  int release() noexcept {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }
  void reset(int fd = -1) noexcept;

 private:
  int fd_ = -1;
};

// Creates `dir` (and missing parents) with mode 0700, or tightens an existing directory we own
// to 0700. Errors: permission_denied if it belongs to another uid, io_error otherwise.
Status ensureRuntimeDir(const std::string& dir);

// A listening stream socket at `path`: its directory is made a 0700 runtime dir, a stale socket
// left by a dead server is removed (anything else at the path is an error), the socket is 0600.
Result<UniqueFd> listenUnix(const std::string& path, int backlog = 128);

// A connected stream socket (close-on-exec; blocking unless `nonblocking`). unavailable when
// nobody listens or the backlog is full: connecting never blocks.
Result<UniqueFd> connectUnix(const std::string& path, bool nonblocking = false);

struct PeerCredentials {
  pid_t pid = 0;
  uid_t uid = 0;
  gid_t gid = 0;
};
// SO_PEERCRED of a connected UNIX socket.
Result<PeerCredentials> peerCredentials(int fd);
// The rule both servers apply: only our own uid and root may talk to us.
bool peerUidAllowed(uid_t uid) noexcept;
// The same rule from the client's side: the process behind a socket we connected to must be
// ours or root's (a socket path can be squatted). permission_denied otherwise.
Status checkServerPeer(int fd);

// Writes all of `data` (retrying on EINTR and short writes). MSG_NOSIGNAL: a dead peer is an
// error value, never SIGPIPE.
Status writeAll(int fd, std::string_view data);
// Reads exactly `size` bytes. A clean EOF before the first byte is unavailable("closed").
Status readExact(int fd, char* out, std::size_t size);

// What a server has done with its connections (both codecs' servers report these).
struct ServerCounters {
  std::uint64_t accepted = 0;         // connections served
  std::uint64_t refused = 0;          // peer uid not allowed, or unknown
  std::uint64_t closed_on_error = 0;  // malformed or oversized input
};

}  // namespace seams::ipc
