#include "core/runtime/notifier.h"

#include <sys/socket.h>
#include <systemd/sd-daemon.h>
#include <time.h>

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>

#include "core/common/unique_fd.h"

namespace seams {

SystemdNotifier::SystemdNotifier() {
  // The notify protocol's address: a path, or "@name" for the abstract namespace.
  // Read once, in the composition root before any thread starts (as sd_notify's env reads are).
  if (const char* where = std::getenv("NOTIFY_SOCKET");  // NOLINT(concurrency-mt-unsafe)
      where != nullptr && (where[0] == '/' || where[0] == '@')) {
    const std::size_t len = std::strlen(where);
    if (len < sizeof(address_.sun_path)) {
      address_.sun_family = AF_UNIX;
      std::memcpy(address_.sun_path, where, len);
      if (where[0] == '@') address_.sun_path[0] = '\0';
      address_len_ =
          static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + len + (where[0] == '/' ? 1 : 0));
    }
  }
  std::uint64_t usec = 0;
  // > 0 only when WATCHDOG_USEC is set (and WATCHDOG_PID, if set, is ours).
  if (sd_watchdog_enabled(0, &usec) > 0 && usec > 0) {
    ping_interval_ = std::chrono::microseconds(usec / 2);
  }
}

void SystemdNotifier::send(std::string_view message, std::chrono::milliseconds patience) {
  if (address_len_ == 0) return;  // not supervised
  UniqueFd fd(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd.valid()) return;
  // A full queue at the receiver (EAGAIN) is retried for `patience`, then the message is dropped.
  // Any other failure is not actionable: the supervisor will notice the silence itself.
  timespec start{};
  ::clock_gettime(CLOCK_MONOTONIC, &start);
  for (;;) {
    const ssize_t n =
        ::sendto(fd.get(), message.data(), message.size(), MSG_DONTWAIT | MSG_NOSIGNAL,
                 reinterpret_cast<const sockaddr*>(&address_), address_len_);
    if (n >= 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) return;
    timespec now{};
    ::clock_gettime(CLOCK_MONOTONIC, &now);
    const auto waited = std::chrono::seconds(now.tv_sec - start.tv_sec) +
                        std::chrono::nanoseconds(now.tv_nsec - start.tv_nsec);
    if (waited >= patience) {
      dropped_.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    const timespec pause{0, 1'000'000};  // 1 ms
    ::nanosleep(&pause, nullptr);
  }
}

void SystemdNotifier::ready(std::string_view status) {
  // READY=1 is the one message a supervisor must not miss: worth waiting a while for room.
  send(std::string("READY=1\nSTATUS=").append(status), std::chrono::milliseconds(2000));
}

void SystemdNotifier::status(std::string_view status) {
  send(std::string("STATUS=").append(status));
}

void SystemdNotifier::watchdogPing() {
  send("WATCHDOG=1");
}

void SystemdNotifier::stopping() {
  send("STOPPING=1", std::chrono::milliseconds(200));
}

}  // namespace seams
