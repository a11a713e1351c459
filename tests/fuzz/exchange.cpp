#include "tests/fuzz/exchange.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>

#include <cerrno>

namespace seams::fuzz {

Result<std::string> exchange(UniqueFd fd, std::string_view out, std::chrono::milliseconds timeout) {
  const int flags = ::fcntl(fd.get(), F_GETFL);
  if (flags < 0 || ::fcntl(fd.get(), F_SETFL, flags | O_NONBLOCK) != 0) {
    return Status::fromErrno(errno, "exchange: O_NONBLOCK");
  }
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::string in;
  std::size_t sent = 0;
  bool write_closed = false;
  char buf[16 * 1024];
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      return Status(Errc::timeout, "the server did not close the connection after " +
                                       std::to_string(in.size()) + " bytes");
    }
    pollfd p{fd.get(), static_cast<short>(POLLIN | (write_closed ? 0 : POLLOUT)), 0};
    const int n = ::poll(&p, 1, static_cast<int>(left.count()));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Status::fromErrno(errno, "exchange: poll");
    if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
      const ssize_t r = ::recv(fd.get(), buf, sizeof buf, 0);
      if (r > 0) {
        in.append(buf, static_cast<std::size_t>(r));
      } else if (r == 0 || errno == ECONNRESET) {
        return in;  // the server closed (a reset after a refusal counts as closing)
      } else if (errno != EAGAIN && errno != EINTR) {
        return Status::fromErrno(errno, "exchange: recv");
      }
    }
    // Writable also means connected, for a socket whose connect() is still in progress.
    if (!write_closed && (p.revents & POLLOUT)) {
      if (sent < out.size()) {
        const ssize_t w = ::send(fd.get(), out.data() + sent, out.size() - sent, MSG_NOSIGNAL);
        if (w > 0) {
          sent += static_cast<std::size_t>(w);
        } else if (w < 0 && (errno == EPIPE || errno == ECONNRESET)) {
          sent = out.size();  // the server stopped reading and closed: read what it said
        } else if (w < 0 && errno != EAGAIN && errno != EINTR) {
          return Status::fromErrno(errno, "exchange: send");
        }
      }
      if (sent == out.size()) {
        ::shutdown(fd.get(), SHUT_WR);
        write_closed = true;
      }
    }
  }
}

Status socketPair(UniqueFd* a, UniqueFd* b) {
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) {
    return Status::fromErrno(errno, "socketpair");
  }
  a->reset(fds[0]);
  b->reset(fds[1]);
  return okStatus();
}

}  // namespace seams::fuzz
