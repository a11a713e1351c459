#include "bench/seam-bench/floor_probe.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <vector>

#include "bench/seam-bench/metrics.h"
#include "core/common/unique_fd.h"
#include "core/stats/histogram_json.h"

namespace seams::bench {

namespace {

std::int64_t monoNs() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return std::int64_t(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

bool readFull(int fd, char* buf, std::size_t n) {
  std::size_t got = 0;
  while (got < n) {
    const ssize_t r = ::read(fd, buf + got, n - got);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    got += static_cast<std::size_t>(r);
  }
  return true;
}

bool writeFull(int fd, const char* buf, std::size_t n) {
  std::size_t put = 0;
  while (put < n) {
    const ssize_t w = ::send(fd, buf + put, n - put, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    put += static_cast<std::size_t>(w);
  }
  return true;
}

// The echo child: reads a request, answers `response` bytes, until EOF. Runs after fork() in a
// process that may have had threads, so it only makes system calls on buffers made before fork.
[[noreturn]] void echoLoop(int fd, char* request, std::size_t request_bytes, const char* response,
                           std::size_t response_bytes) {
  while (readFull(fd, request, request_bytes)) {
    if (!writeFull(fd, response, response_bytes)) break;
  }
  ::_exit(0);
}

// A forked child, killed and reaped if still there when this goes out of scope.
class ForkedChild {
 public:
  explicit ForkedChild(pid_t pid) : pid_(pid) {}
  ForkedChild(const ForkedChild&) = delete;
  ForkedChild& operator=(const ForkedChild&) = delete;
  ~ForkedChild() {
    if (pid_ <= 0) return;
    int status = 0;
    // The child exits by itself once its socket is closed; SIGKILL only if it did not.
    for (int i = 0; i < 200; ++i) {
      const pid_t r = ::waitpid(pid_, &status, WNOHANG);
      if (r == pid_ || (r < 0 && errno != EINTR)) return;
      const timespec ms{0, 5'000'000};
      ::nanosleep(&ms, nullptr);
    }
    ::kill(pid_, SIGKILL);
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
  }

 private:
  pid_t pid_;
};

// Forks the echo child on `child_fd` (the UNIX case) or on the first connection accepted from
// `listen_fd` (the TCP case). `parent_fd` is closed in the child.
Result<pid_t> forkEcho(int child_fd, int listen_fd, int parent_fd, std::vector<char>& request,
                       const std::vector<char>& response) {
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) return Status::fromErrno(errno, "fork");
  if (pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(1);
    if (parent_fd >= 0) ::close(parent_fd);
    int fd = child_fd;
    if (listen_fd >= 0) {
      fd = ::accept(listen_fd, nullptr, nullptr);
      ::close(listen_fd);
      if (fd < 0) ::_exit(1);
      const int one = 1;
      ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }
    echoLoop(fd, request.data(), request.size(), response.data(), response.size());
  }
  return pid;
}

// The measuring side: warm-up, then round trips until time or count runs out.
Result<PingPongResult> drive(int fd, const PingPongOptions& o) {
  std::vector<char> request(o.request_bytes, 'q'), response(o.response_bytes);
  auto roundTrip = [&] {
    return writeFull(fd, request.data(), request.size()) &&
           readFull(fd, response.data(), response.size());
  };
  for (std::uint64_t i = 0; i < o.warmup_round_trips; ++i) {
    if (!roundTrip()) return Status(Errc::io_error, "the echo process went away (warm-up)");
  }
  PingPongResult r;
  const std::int64_t start = monoNs();
  const std::int64_t end = start + static_cast<std::int64_t>(o.seconds * 1e9);
  while (r.round_trips < o.max_round_trips) {
    const std::int64_t t0 = monoNs();
    if (t0 >= end) break;
    if (!roundTrip()) return Status(Errc::io_error, "the echo process went away");
    r.latency->record(static_cast<std::uint64_t>(monoNs() - t0));
    ++r.round_trips;
  }
  r.seconds = double(monoNs() - start) / 1e9;
  return r;
}

}  // namespace

PingPongOptions unixFloorOptions(double seconds) {
  PingPongOptions o;
  o.request_bytes = 64;
  o.response_bytes = 64;
  o.seconds = seconds;
  return o;
}

PingPongOptions tcpFloorOptions(double seconds) {
  PingPongOptions o;
  o.request_bytes = 160;
  o.response_bytes = 4096 + 200;
  o.seconds = seconds;
  return o;
}

nlohmann::json PingPongResult::toJson(const PingPongOptions& o) const {
  return {{"request_bytes", o.request_bytes},
          {"response_bytes", o.response_bytes},
          {"round_trips", round_trips},
          {"seconds", seconds},
          {"latency", bench::toJson(summarise(*latency))},
          {"histogram_ns", latency->snapshot()}};
}

Result<PingPongResult> unixPingPong(const PingPongOptions& o) {
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
    return Status::fromErrno(errno, "socketpair");
  UniqueFd mine(sv[0]), theirs(sv[1]);
  std::vector<char> child_request(o.request_bytes), child_response(o.response_bytes, 'a');
  auto pid = forkEcho(theirs.get(), -1, mine.get(), child_request, child_response);
  if (!pid.ok()) return pid.status();
  ForkedChild child(*pid);
  theirs.reset();
  auto r = drive(mine.get(), o);
  ::shutdown(mine.get(), SHUT_RDWR);  // the child reads EOF and exits before ~ForkedChild waits
  return r;
}

Result<PingPongResult> tcpPingPong(const PingPongOptions& o) {
  UniqueFd listener(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!listener.valid()) return Status::fromErrno(errno, "socket");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  if (::bind(listener.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(listener.get(), 1) != 0 ||
      ::getsockname(listener.get(), reinterpret_cast<sockaddr*>(&addr), &len) != 0)
    return Status::fromErrno(errno, "listen on 127.0.0.1:0");
  std::vector<char> child_request(o.request_bytes), child_response(o.response_bytes, 'a');
  auto pid = forkEcho(-1, listener.get(), -1, child_request, child_response);
  if (!pid.ok()) return pid.status();
  ForkedChild child(*pid);
  listener.reset();
  UniqueFd conn(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!conn.valid()) return Status::fromErrno(errno, "socket");
  if (::connect(conn.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
    return Status::fromErrno(errno, "connect to the echo process");
  const int one = 1;
  ::setsockopt(conn.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  auto r = drive(conn.get(), o);
  ::shutdown(conn.get(), SHUT_RDWR);
  return r;
}

}  // namespace seams::bench
