#include "ipc/net/unix_socket.h"

#include <errno.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>

namespace seams::ipc {

UniqueFd& UniqueFd::operator=(UniqueFd&& o) noexcept {
  if (this != &o) reset(o.release());
  return *this;
}

void UniqueFd::reset(int fd) noexcept {
  if (fd_ >= 0) ::close(fd_);
  fd_ = fd;
}

Status ensureRuntimeDir(const std::string& dir) {
  std::error_code ec;
  std::filesystem::path p(dir);
  if (p.has_parent_path() && !std::filesystem::exists(p.parent_path(), ec)) {
    std::filesystem::create_directories(p.parent_path(), ec);
    if (ec)
      return Status(Errc::io_error, fmt::format("{}: {}", p.parent_path().string(), ec.message()));
  }
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) return Status::fromErrno(errno, dir);
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0) return Status::fromErrno(errno, dir);
  if (!S_ISDIR(st.st_mode)) return Status(Errc::not_a_directory, dir + ": not a directory");
  if (st.st_uid != ::geteuid()) {
    return Status(Errc::permission_denied,
                  fmt::format("{}: runtime dir belongs to uid {}, not us", dir, st.st_uid));
  }
  if ((st.st_mode & 07777) != 0700 && ::chmod(dir.c_str(), 0700) != 0) {
    return Status::fromErrno(errno, dir);
  }
  return okStatus();
}

namespace {

Result<sockaddr_un> unixAddress(const std::string& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof(addr.sun_path)) {
    return Status(Errc::name_too_long, fmt::format("{}: socket path empty or too long", path));
  }
  std::memcpy(addr.sun_path, path.data(), path.size());
  return addr;
}

}  // namespace

Result<UniqueFd> listenUnix(const std::string& path, int backlog) {
  auto addr = unixAddress(path);
  if (!addr) return addr.status();
  std::filesystem::path p(path);
  SEAMS_RETURN_IF_ERROR(ensureRuntimeDir(p.has_parent_path() ? p.parent_path().string() : "."));
  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) {
      return Status(Errc::already_exists, path + ": exists and is not a socket");
    }
    ::unlink(path.c_str());  // a stale socket from a server that died
  }
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return Status::fromErrno(errno, "socket");
  if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&*addr), sizeof(*addr)) != 0) {
    return Status::fromErrno(errno, path);
  }
  if (::chmod(path.c_str(), 0600) != 0) return Status::fromErrno(errno, path);
  if (::listen(fd.get(), backlog) != 0) return Status::fromErrno(errno, path);
  return fd;
}

Result<UniqueFd> connectUnix(const std::string& path, bool nonblocking) {
  auto addr = unixAddress(path);
  if (!addr) return addr.status();
  // Non-blocking during connect: a full backlog is EAGAIN (unavailable), never a hang.
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd.valid()) return Status::fromErrno(errno, "socket");
  int rc;
  do {
    rc = ::connect(fd.get(), reinterpret_cast<const sockaddr*>(&*addr), sizeof(*addr));
  } while (rc != 0 && errno == EINTR);
  if (rc != 0) {
    int err = errno;
    if (err == ENOENT || err == ECONNREFUSED || err == EAGAIN) {
      return Status(Errc::unavailable, fmt::format("{}: {}", path, std::strerror(err)));
    }
    return Status::fromErrno(err, path);
  }
  if (!nonblocking) {
    int flags = ::fcntl(fd.get(), F_GETFL);
    if (flags < 0 || ::fcntl(fd.get(), F_SETFL, flags & ~O_NONBLOCK) != 0) {
      return Status::fromErrno(errno, "fcntl");
    }
  }
  return fd;
}

Result<PeerCredentials> peerCredentials(int fd) {
  ucred cred{};
  socklen_t len = sizeof(cred);
  if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) {
    return Status::fromErrno(errno, "SO_PEERCRED");
  }
  return PeerCredentials{cred.pid, cred.uid, cred.gid};
}

bool peerUidAllowed(uid_t uid) noexcept {
  return uid == 0 || uid == ::geteuid();
}

Status checkServerPeer(int fd) {
  auto creds = peerCredentials(fd);
  if (!creds) return creds.status();
  if (!peerUidAllowed(creds->uid)) {
    return Status(Errc::permission_denied,
                  fmt::format("server runs as uid {} (pid {}), neither ours nor root", creds->uid,
                              creds->pid));
  }
  return okStatus();
}

Status writeAll(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status(Errc::unavailable, fmt::format("write to peer: {}", std::strerror(errno)));
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return okStatus();
}

Status readExact(int fd, char* out, std::size_t size) {
  std::size_t got = 0;
  while (got < size) {
    ssize_t n = ::recv(fd, out + got, size - got, 0);
    if (n == 0) {
      return Status(Errc::unavailable, got == 0 ? "peer closed the connection"
                                                : "peer closed the connection mid-frame");
    }
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status(Errc::unavailable, fmt::format("read from peer: {}", std::strerror(errno)));
    }
    got += static_cast<std::size_t>(n);
  }
  return okStatus();
}

}  // namespace seams::ipc
