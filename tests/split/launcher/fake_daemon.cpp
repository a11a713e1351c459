// fake_daemon: stands in for seam-fsd, seam-authd, ... in the launcher's tests, so they exercise
// the launcher alone. Installed under each daemon's name (symlinks in a bin dir); the name it was
// started under says which daemon it plays.
//
// Like a real daemon it reads --config FILE, binds its socket (seam-fsd: split.fsd_socket,
// seam-authd: split.authd_socket; never removed, as after a crash: clearing it is the launcher's
// job), sends READY=1 through sd_notify, pings WATCHDOG=1 at half of $WATCHDOG_USEC and exits 0
// on SIGTERM. What it does is scripted per daemon by the file FAKE/NAME.mode beside the config
// (FAKE = "<config dir>/fake"), read at every start:
//   (missing)          behave
//   fail-start         exit 3 before READY=1
//   never-ready        run, ping, answer SIGTERM, but never send READY=1
//   exit-after-ready   send READY=1, then exit 4 shortly after
//   ignore-term        behave, but ignore SIGTERM (only SIGKILL ends it)
//   mount              behave, and mount an empty FUSE filesystem at fuse.mountpoint that it
//                      never unmounts (as a crashed seam-fused leaves it: dead once it exits)
// Every start and every SIGTERM-stop is appended to FAKE/events as "start NAME PID" /
// "stop NAME PID", so a test reads the order in which the launcher started and stopped them.
#define FUSE_USE_VERSION 35
#include <fcntl.h>
#include <fuse_lowlevel.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

#include "core/config/config.h"
#include "core/runtime/service_names.h"

namespace {

void appendEvent(const std::string& path, const std::string& line) {
  // One write() on an O_APPEND file: lines from several fakes never interleave.
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) return;
  const std::string text = line + "\n";
  [[maybe_unused]] ssize_t n = ::write(fd, text.data(), text.size());
  ::close(fd);
}

std::string readMode(const std::string& path) {
  std::ifstream in(path);
  std::string mode;
  in >> mode;
  return mode;
}

void bindSocket(const std::string& path) {
  sockaddr_un addr{};
  if (path.empty() || path.size() >= sizeof addr.sun_path) return;
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  ::unlink(path.c_str());
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) ::listen(fd, 4);
  // The fd stays open for the life of the process, as a real daemon's listener would.
}

// An empty filesystem served by libfuse on a thread of its own (so a stat of the mountpoint is
// answered while we live). Never unmounted: when we exit, the kernel's connection dies with us.
void mountEmptyFilesystem(const std::string& mountpoint) {
  static fuse_lowlevel_ops ops{};
  const char* argv[] = {"fake_daemon"};
  fuse_args args = FUSE_ARGS_INIT(1, const_cast<char**>(argv));
  // Static: the session lives (and stays reachable) until the process exits, on purpose.
  static fuse_session* session = fuse_session_new(&args, &ops, sizeof ops, nullptr);
  fuse_opt_free_args(&args);
  if (session == nullptr || fuse_session_mount(session, mountpoint.c_str()) != 0) {
    std::fprintf(stderr, "fake_daemon: could not mount %s\n", mountpoint.c_str());
    std::exit(5);
  }
  std::thread([] { fuse_session_loop(session); }).detach();
}

}  // namespace

int main(int argc, char** argv) {
  std::string config_path;
  for (int i = 1; i + 1 < argc; ++i) {
    if (std::string(argv[i]) == "--config") config_path = argv[i + 1];
  }
  if (config_path.empty()) {
    std::fprintf(stderr, "fake_daemon: --config FILE is required\n");
    return 2;
  }
  seams::Result<seams::Config> config = seams::loadConfig(config_path);
  if (!config.ok()) {
    std::fprintf(stderr, "fake_daemon: %s\n", config.status().message().c_str());
    return 2;
  }
  std::string name = argv[0];
  name = name.substr(name.rfind('/') + 1);
  if (name.rfind("seam-", 0) == 0) name = name.substr(5);
  const std::string dir = config_path.substr(0, config_path.rfind('/'));
  const std::string fake_dir = dir + "/fake";
  const std::string pid = std::to_string(::getpid());
  const std::string mode = readMode(fake_dir + "/" + name + ".mode");

  sigset_t term;
  sigemptyset(&term);
  sigaddset(&term, SIGTERM);
  sigprocmask(SIG_BLOCK, &term, nullptr);

  appendEvent(fake_dir + "/events", "start " + name + " " + pid);
  if (mode == "fail-start") return 3;
  if (name == seams::kFsdDaemon) bindSocket(config->split.fsd_socket);
  if (name == seams::kAuthdDaemon) bindSocket(config->split.authd_socket);
  if (mode == "mount") mountEmptyFilesystem(config->fuse.mountpoint);

  std::uint64_t watchdog_usec = 0;
  if (sd_watchdog_enabled(0, &watchdog_usec) <= 0) watchdog_usec = 0;
  const long ping_ms = watchdog_usec > 0 ? static_cast<long>(watchdog_usec / 2000) : 1000;

  if (mode != "never-ready") sd_notify(0, "READY=1\nSTATUS=fake daemon serving");
  if (mode == "exit-after-ready") {
    ::usleep(50'000);
    return 4;
  }
  for (;;) {
    timespec timeout{ping_ms / 1000, (ping_ms % 1000) * 1'000'000};
    const int sig = sigtimedwait(&term, nullptr, &timeout);
    if (sig == SIGTERM) {
      if (mode == "ignore-term") continue;
      appendEvent(fake_dir + "/events", "stop " + name + " " + pid);
      sd_notify(0, "STOPPING=1");
      return 0;
    }
    if (watchdog_usec > 0) sd_notify(0, "WATCHDOG=1");
  }
}
