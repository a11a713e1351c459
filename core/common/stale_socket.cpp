#include "core/common/stale_socket.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/common/unique_fd.h"

namespace seams {
namespace {

// True when a connect() to `path` is accepted: a live server. A non-blocking connect on a UNIX
// socket never waits: a full backlog (EAGAIN) also means someone is there.
bool someoneListens(const std::string& path) {
  sockaddr_un addr{};
  if (path.size() >= sizeof(addr.sun_path)) return false;
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.c_str(), path.size());
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd.valid()) return false;
  if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) == 0) return true;
  return errno == EAGAIN || errno == EINPROGRESS;
}

}  // namespace

Result<bool> removeStaleSocket(const std::string& path) {
  if (path.empty()) return false;
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return false;
    return Status::fromErrno(errno, "lstat " + path);
  }
  if (!S_ISSOCK(st.st_mode)) {
    return Status(Errc::invalid_argument, path + " exists and is not a socket; left in place");
  }
  if (someoneListens(path)) {
    return Status(Errc::conflict, "a live server is listening on " + path +
                                      " (another deployment? stop it or change the path)");
  }
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
    return Status::fromErrno(errno, "unlink " + path);
  }
  return true;
}

}  // namespace seams
