// The systemd notify protocol, received on a real datagram NOTIFY_SOCKET.
#include "core/runtime/notifier.h"

#include <gtest/gtest.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstddef>
#include <cstring>
#include <string>

#include "core/common/unique_fd.h"
#include "tests/core/runtime/test_support.h"

namespace seams {
namespace {

using namespace seams::testing;
using namespace std::chrono_literals;

// Plays systemd: binds a datagram socket, points NOTIFY_SOCKET and WATCHDOG_USEC at it.
class NotifySocket {
 public:
  NotifySocket() {
    char dir_template[] = "/tmp/seams-notify-XXXXXX";
    dir_ = mkdtemp(dir_template);
    path_ = dir_ + "/notify.sock";
    fd_.reset(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path_.c_str(), sizeof(addr.sun_path) - 1);
    EXPECT_EQ(::bind(fd_.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    setenv("NOTIFY_SOCKET", path_.c_str(), 1);
    setenv("WATCHDOG_USEC", "1000000", 1);  // 1 s: ping every 500 ms
    unsetenv("WATCHDOG_PID");
  }
  ~NotifySocket() {
    unsetenv("NOTIFY_SOCKET");
    unsetenv("WATCHDOG_USEC");
    ::unlink(path_.c_str());
    ::rmdir(dir_.c_str());
  }
  // The next datagram; "" if none arrives within `wait` (the kernel is involved, so a bound).
  std::string next(std::chrono::milliseconds wait = 5000ms) {
    pollfd p{fd_.get(), POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(wait.count())) != 1) return "";
    char buf[4096];
    ssize_t n = ::recv(fd_.get(), buf, sizeof(buf), 0);
    return n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : "";
  }
  // Everything already queued, without waiting.
  std::vector<std::string> drain() {
    std::vector<std::string> out;
    for (std::string m = next(0ms); !m.empty(); m = next(0ms)) out.push_back(m);
    return out;
  }

 private:
  std::string dir_;
  std::string path_;
  UniqueFd fd_;
};

TEST(NotifierTest, SpeaksReadyWatchdogAndStoppingOnTheNotifySocket) {
  NotifySocket systemd;
  SystemdNotifier notifier;
  EXPECT_EQ(notifier.watchdogPingInterval(), 500ms);

  SimulatedEnv env;
  Probe probe;
  ManagerOptions options;
  options.watchdog = testWatchdogConfig();
  options.watchdog.heartbeat_deadline_ms = 2000;
  options.watchdog.kill_deadline_ms = 3600'000;
  options.notifier = &notifier;
  ServiceManager m(env, options);
  // Never touches its heartbeat after start: healthy for 2 s of simulated time, then stalled.
  ASSERT_TRUE(
      m.add(std::make_unique<FnService>("quiet", std::vector<std::string>{}, [](RunContext& ctx) {
         ctx.ready();
         while (!ctx.waitForStop(1h)) {
         }
         return okStatus();
       })).ok());
  ASSERT_TRUE(m.start().ok());
  EXPECT_EQ(systemd.next(), "READY=1\nSTATUS=running 1 services");

  m.checkOnce();
  EXPECT_EQ(systemd.next(), "WATCHDOG=1");
  env.advance(499ms);
  m.checkOnce();
  EXPECT_TRUE(systemd.drain().empty()) << "not before half of WATCHDOG_USEC";
  env.advance(1ms);
  m.checkOnce();
  EXPECT_EQ(systemd.next(), "WATCHDOG=1");

  env.advance(1500ms);  // the heartbeat is now 2 s old: a miss
  m.checkOnce();
  env.advance(500ms);
  m.checkOnce();
  EXPECT_TRUE(systemd.drain().empty()) << "no pings while a service is unhealthy";

  ASSERT_TRUE(m.shutdown().ok());
  EXPECT_EQ(systemd.next(), "STOPPING=1");
}

TEST(NotifierTest, ASupervisorThatStopsReadingNeverBlocksTheSender) {
  NotifySocket systemd;  // binds, and then never reads
  SystemdNotifier notifier;
  // A datagram queue holds a few hundred messages at most; sd_notify() would block at the first
  // one past that. Ours returns, and counts what it had to drop.
  for (int i = 0; i < 5000; ++i) notifier.status("restarting http in 100 ms");
  for (int i = 0; i < 100; ++i) notifier.watchdogPing();
  EXPECT_GT(notifier.dropped(), 0u);
  // What was queued is intact and in order.
  EXPECT_EQ(systemd.next(), "STATUS=restarting http in 100 ms");
}

TEST(NotifierTest, SpeaksToAnAbstractNotifySocketToo) {
  UniqueFd fd(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  const std::string name = "seams-notify-test-" + std::to_string(::getpid());
  std::memcpy(addr.sun_path + 1, name.data(), name.size());
  ASSERT_EQ(::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr),
                   static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + name.size())),
            0);
  setenv("NOTIFY_SOCKET", ("@" + name).c_str(), 1);
  SystemdNotifier notifier;
  notifier.ready("up");
  unsetenv("NOTIFY_SOCKET");
  pollfd p{fd.get(), POLLIN, 0};
  ASSERT_EQ(::poll(&p, 1, 5000), 1);
  char buf[256];
  const ssize_t n = ::recv(fd.get(), buf, sizeof(buf), 0);
  EXPECT_EQ(std::string(buf, n > 0 ? static_cast<std::size_t>(n) : 0), "READY=1\nSTATUS=up");
}

TEST(NotifierTest, IsSilentAndHarmlessWithoutANotifySocket) {
  unsetenv("NOTIFY_SOCKET");
  unsetenv("WATCHDOG_USEC");
  SystemdNotifier notifier;
  EXPECT_EQ(notifier.watchdogPingInterval(), 0us);
  notifier.ready("x");
  notifier.watchdogPing();
  notifier.stopping();
}

}  // namespace
}  // namespace seams
