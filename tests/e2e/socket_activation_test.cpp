// Restarts that refuse no connection (issue 15, part 4), through the real binaries: the listening
// socket is held by whoever supervises the HTTP server (systemd or the test acting as it for
// seamd; seam-split for seam-httpd) and passed by socket activation (LISTEN_FDS), so while the
// server restarts, the kernel queues new connections instead of refusing them.
//
// Behaviour, not timing: a client loop opens new connections throughout the restarts and no
// connect() may fail; the restarted server must serve afterwards.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <thread>

#include "core/common/unique_fd.h"
#include "core/process/listen_fds.h"
#include "tests/e2e/deployment.h"

namespace seams::e2e {
namespace {

using namespace std::chrono_literals;

// New connections to 127.0.0.1:port, one after another, each a GET /readyz with
// `Connection: close`, until stopped: what connect() said, and how many answers came.
class ConnectLoop {
 public:
  explicit ConnectLoop(std::uint16_t port) : port_(port) {
    thread_ = std::thread([this] { run(); });
  }
  ~ConnectLoop() { stop(); }
  void stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  // connect() errors by errno name; empty when every connect succeeded.
  std::map<std::string, int> connectErrors() const {
    std::lock_guard lock(mu_);
    return connect_errors_;
  }
  int answered() const { return answered_.load(); }
  int connects() const { return connects_.load(); }

 private:
  void run() {
    while (!stop_.load()) {
      UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
      if (!fd) {
        std::lock_guard lock(mu_);
        ++connect_errors_[std::string("socket: ") + std::strerror(errno)];
        continue;
      }
      const timeval timeout{30, 0};
      ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
      sockaddr_in addr{};
      addr.sin_family = AF_INET;
      addr.sin_port = htons(port_);
      addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        const int err = errno;
        std::lock_guard lock(mu_);
        ++connect_errors_[std::strerror(err)];
        std::this_thread::sleep_for(1ms);
        continue;
      }
      ++connects_;
      const std::string request = "GET /readyz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n";
      if (::send(fd.get(), request.data(), request.size(), MSG_NOSIGNAL) !=
          static_cast<ssize_t>(request.size())) {
        continue;  // a request failure, not a refused connection
      }
      std::string response;
      char buf[4096];
      ssize_t n;
      while ((n = ::recv(fd.get(), buf, sizeof buf, 0)) > 0) response.append(buf, n);
      if (response.rfind("HTTP/1.1 200", 0) == 0) ++answered_;
    }
  }

  const std::uint16_t port_;
  std::atomic<bool> stop_{false};
  std::atomic<int> answered_{0};
  std::atomic<int> connects_{0};
  mutable std::mutex mu_;
  std::map<std::string, int> connect_errors_;
  std::thread thread_;
};

// Waits until `loop` has had `more` answers beyond `from` (a server is serving); false after a
// generous bound (the test then fails on what it checks next, with the log).
bool waitForAnswers(const ConnectLoop& loop, int from, int more) {
  for (int i = 0; i < 6000; ++i) {
    if (loop.answered() >= from + more) return true;
    std::this_thread::sleep_for(10ms);
  }
  return false;
}

std::uint16_t portOf(int fd) {
  sockaddr_in addr{};
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  return ntohs(addr.sin_port);
}

// The inode of socket `fd` ("socket:[INODE]" in /proc/PID/fd).
ino_t inodeOf(int fd) {
  struct stat st {};
  ::fstat(fd, &st);
  return st.st_ino;
}

// Whether process `pid` has socket `inode` open.
bool holdsSocket(pid_t pid, ino_t inode) {
  const std::string want = "socket:[" + std::to_string(inode) + "]";
  std::error_code ec;
  for (const auto& entry :
       std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/fd", ec)) {
    std::error_code link_ec;
    if (std::filesystem::read_symlink(entry.path(), link_ec).string() == want) return true;
  }
  return false;
}

// The inode of the socket listening on 127.0.0.1:port, from /proc/net/tcp (state 0A).
ino_t listeningInode(std::uint16_t port) {
  std::ifstream in("/proc/net/tcp");
  std::string line;
  std::getline(in, line);
  char local[64];
  std::snprintf(local, sizeof local, "0100007F:%04X", port);
  while (std::getline(in, line)) {
    std::istringstream f(line);
    std::string sl, addr, rem, st, queues, tr, retr, uid, timeout, inode;
    f >> sl >> addr >> rem >> st >> queues >> tr >> retr >> uid >> timeout >> inode;
    if (addr == local && st == "0A") return static_cast<ino_t>(std::stoull(inode));
  }
  return 0;
}

std::string errorsText(const std::map<std::string, int>& errors) {
  std::string out;
  for (const auto& [what, n] : errors) out += what + " x" + std::to_string(n) + "; ";
  return out;
}

TEST(SocketActivation, SeamdServesOnTheInheritedSocketAndItsSuccessorRefusesNoConnection) {
  Result<UniqueFd> listener = listenTcp("127.0.0.1:0");
  ASSERT_TRUE(listener.ok()) << listener.status().toString();
  const std::uint16_t port = portOf(listener->get());
  DeploymentOptions options;
  options.http_listener = listener->get();
  TestDeployment dep(options);
  ASSERT_TRUE(dep.start().ok());
  // The config names another port: the passed socket wins, and seamd says so.
  EXPECT_NE(readFile(dep.logPath())
                .find("serving HTTP on the inherited socket 127.0.0.1:" + std::to_string(port)),
            std::string::npos)
      << readFile(dep.logPath());
  EXPECT_TRUE(holdsSocket(dep.pid(), inodeOf(listener->get())));

  ConnectLoop loop(port);
  ASSERT_TRUE(waitForAnswers(loop, 0, 5)) << readFile(dep.logPath());
  for (int restart = 0; restart < 3; ++restart) {
    // As systemd restarts seamd.service: stop the process, start a new one on the same socket.
    Result<ExitStatus> stopped = dep.stop();
    ASSERT_TRUE(stopped.ok()) << stopped.status().toString();
    const int before = loop.answered();
    ASSERT_TRUE(dep.start().ok()) << readFile(dep.logPath());
    EXPECT_TRUE(waitForAnswers(loop, before, 5)) << "the new seamd does not serve";
  }
  loop.stop();
  EXPECT_TRUE(loop.connectErrors().empty())
      << "connect() failed across restarts: " << errorsText(loop.connectErrors());
  EXPECT_GT(loop.connects(), 0);
}

TEST(SocketActivation, SeamdRefusesAnInheritedFdThatIsNotAListeningSocket) {
  int pipe_fds[2];
  ASSERT_EQ(::pipe2(pipe_fds, O_CLOEXEC), 0);
  UniqueFd read_end(pipe_fds[0]), write_end(pipe_fds[1]);
  {
    DeploymentOptions options;
    options.http_listener = read_end.get();
    TestDeployment dep(options);
    Status s = dep.start(20s);
    ASSERT_FALSE(s.ok());
    EXPECT_NE(s.message().find("is a pipe, not a listening stream socket"), std::string::npos)
        << s.message();
  }
  // A TCP socket nobody called listen() on.
  UniqueFd unbound(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  ASSERT_TRUE(unbound.valid());
  {
    DeploymentOptions options;
    options.http_listener = unbound.get();
    TestDeployment dep(options);
    Status s = dep.start(20s);
    ASSERT_FALSE(s.ok());
    EXPECT_NE(s.message().find("nobody called listen() on"), std::string::npos) << s.message();
  }
}

TEST(SocketActivation, SeamSplitRestartingHttpdRefusesNoConnection) {
  if (TestDeployment::seamSplitPath().empty()) GTEST_SKIP() << "no seam-split in this build";
  TestDeployment dep(DeploymentOptions::fromName("split/capnp"));
  ASSERT_TRUE(dep.start().ok()) << readFile(dep.logPath());
  const std::uint16_t port = dep.httpPort();

  // seam-split holds the listener and seam-httpd adopted the same socket; no other daemon got it.
  const ino_t inode = listeningInode(port);
  ASSERT_NE(inode, 0u) << "nothing listens on " << port;
  EXPECT_TRUE(holdsSocket(dep.pid(), inode)) << "seam-split does not hold the HTTP listener";
  EXPECT_TRUE(holdsSocket(dep.componentPid(kHttpdDaemon), inode))
      << "seam-httpd does not serve on the launcher's socket";
  for (const char* other : {kFsdDaemon, kAuthdDaemon, kSyncdDaemon, kFusedDaemon}) {
    EXPECT_FALSE(holdsSocket(dep.componentPid(other), inode)) << other << " got the listener";
  }

  ConnectLoop loop(port);
  ASSERT_TRUE(waitForAnswers(loop, 0, 5)) << readFile(dep.logPath());
  for (int restart = 1; restart <= 3; ++restart) {
    const pid_t old_pid = dep.componentPid(kHttpdDaemon);
    const int restarts = dep.componentRestarts(kHttpdDaemon);
    auto r = dep.seamctl({"restart", kHttpdDaemon});
    ASSERT_EQ(r.exit_code, 0) << r.output;
    bool back = false;
    for (int i = 0; i < 6000 && !back; ++i) {
      back = dep.componentRestarts(kHttpdDaemon) > restarts &&
             dep.statusField(kHttpdDaemon, "state") == "running" &&
             dep.componentPid(kHttpdDaemon) != old_pid;
      if (!back) std::this_thread::sleep_for(10ms);
    }
    ASSERT_TRUE(back) << "httpd not back after restart " << restart << "\n"
                      << readFile(dep.logPath());
    const int before = loop.answered();
    EXPECT_TRUE(waitForAnswers(loop, before, 5)) << "the new seam-httpd does not serve";
    EXPECT_TRUE(holdsSocket(dep.componentPid(kHttpdDaemon), inode))
        << "the new seam-httpd is not on the held socket";
  }
  loop.stop();
  EXPECT_TRUE(loop.connectErrors().empty())
      << "connect() failed across httpd restarts: " << errorsText(loop.connectErrors());
}

}  // namespace
}  // namespace seams::e2e
