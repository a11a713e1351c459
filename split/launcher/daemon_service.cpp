#include "split/launcher/daemon_service.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "core/common/stale_socket.h"
#include "core/runtime/watchdog.h"

namespace seams::split {
namespace {

using std::chrono::milliseconds;

long long toMs(Duration d) {
  return std::chrono::duration_cast<milliseconds>(d).count();
}

}  // namespace

struct DaemonService::Live {
  pid_t pid;
  UniqueFd pidfd;  // a duplicate: signal() never touches the ChildProcess the run owns
  std::shared_ptr<NotifyMailbox> mailbox;
};

DaemonService::DaemonService(DaemonSpec spec, std::string config_path, WatchdogConfig watchdog,
                             NotifyRouter& router)
    : spec_(std::move(spec)),
      config_path_(std::move(config_path)),
      watchdog_(std::move(watchdog)),
      router_(router) {}

void DaemonService::clearLeftovers() const {
  for (const std::string& socket : spec_.sockets) {
    Result<bool> stale = removeStaleSocket(socket);
    if (!stale.ok()) {
      spdlog::warn("{}: {}", spec_.name, stale.status().toString());
    } else if (*stale) {
      spdlog::warn("{}: removed a stale socket at {} (left by a daemon that died)", spec_.name,
                   socket);
    }
  }
  if (!spec_.mountpoint.empty()) {
    if (isFuseMounted(spec_.mountpoint)) {
      spdlog::warn("{}: detaching the mount left at {}", spec_.name, spec_.mountpoint);
    }
    if (Status s = detachFuseMount(spec_.mountpoint); !s.ok()) {
      spdlog::warn("{}: {}", spec_.name, s.toString());
    }
  }
}

Status DaemonService::run(RunContext& ctx) {
  clearLeftovers();
  Result<std::shared_ptr<NotifyMailbox>> mailbox = NotifyMailbox::create(ctx.clock());
  if (!mailbox.ok()) return mailbox.status();

  SpawnOptions options;
  options.program = spec_.program;
  options.args = {"--config", config_path_};
  const long long watchdog_usec =
      std::chrono::duration_cast<std::chrono::microseconds>(ctx.killDeadline()).count();
  options.extra_env = {"NOTIFY_SOCKET=" + router_.path(),
                       "WATCHDOG_USEC=" + std::to_string(watchdog_usec)};
  options.die_with_parent = true;
  options.listen_fds = spec_.listen_fds;
  Result<ChildProcess> spawned = ChildProcess::spawn(options);
  if (!spawned.ok()) return spawned.status();
  ChildProcess child = std::move(*spawned);
  router_.attach(child.pid(), *mailbox);

  auto live = std::make_shared<Live>();
  live->pid = child.pid();
  live->pidfd.reset(::fcntl(child.pidfd(), F_DUPFD_CLOEXEC, 0));
  live->mailbox = *mailbox;
  {
    MutexLock lock(mutex_);
    current_ = live;
  }
  spdlog::info("{}: spawned {} (pid {})", spec_.name, spec_.program, live->pid);

  Status result = supervise(ctx, child, **mailbox);

  // supervise() returns only once the child is reaped.
  router_.detach(live->pid);
  {
    MutexLock lock(mutex_);
    current_.reset();
  }
  clearLeftovers();
  return result;
}

Status DaemonService::supervise(RunContext& ctx, ChildProcess& child, NotifyMailbox& mailbox) {
  // A daemon's WATCHDOG=1 silence has no miss stage here (the daemon's own manager logs its
  // misses): past kill_deadline_ms it is a hang, and the daemon is killed.
  const Duration kill_deadline = ctx.killDeadline();
  const Watchdog sign_watchdog({.miss = kill_deadline, .kill = kill_deadline});
  Watchdog::Record sign_record;
  // Often enough for the manager's own heartbeat check of this thread and for a prompt hang
  // verdict; the pidfd and the mailbox wake the loop at once for everything else.
  const long long touch_ms =
      std::chrono::duration_cast<milliseconds>(ctx.heartbeatInterval()).count();
  const int tick_ms = static_cast<int>(
      std::clamp<long long>(std::min<long long>(watchdog_.interval_ms, touch_ms), 5, 250));
  const pid_t pid = child.pid();
  bool ready = false;
  for (;;) {
    if (ctx.stopRequested()) return stopChild(child);
    ctx.heartbeat();
    if (!ready && mailbox.ready()) {
      ready = true;
      spdlog::info("{}: ready (pid {})", spec_.name, pid);
      ctx.ready();
    }
    if (ready) {
      const std::optional<MonoTime> sign = mailbox.lastSign();
      const Duration silent = sign ? ctx.clock().now() - *sign : Duration(0);
      if (sign_watchdog.check(sign_record, silent) == WatchdogFinding::hang) {
        spdlog::error("{}: no WATCHDOG=1 from pid {} for {} ms: killing it", spec_.name, pid,
                      toMs(silent));
        (void)child.signal(SIGKILL);
        (void)child.wait(milliseconds(30'000));
        return Status(Errc::timeout, fmt::format("hung: no WATCHDOG=1 for {} ms; pid {} killed",
                                                 toMs(silent), pid));
      }
    }
    pollfd fds[2] = {{child.pidfd(), POLLIN, 0}, {mailbox.fd(), POLLIN, 0}};
    const int n = ::poll(fds, 2, tick_ms);
    if (n < 0 && errno != EINTR) return Status::fromErrno(errno, "poll");
    if (n > 0 && (fds[0].revents & POLLIN) != 0) {
      Result<ExitStatus> exit = child.wait(milliseconds(0));
      if (!exit.ok()) return exit.status();
      // A stop request that raced with the exit is still a stop.
      if (ctx.stopRequested()) return okStatus();
      const std::string cause = lastWords(mailbox, ready);
      return Status(
          Errc::unavailable,
          fmt::format("{} (pid {}) {}{}", spec_.program.substr(spec_.program.rfind('/') + 1), pid,
                      exit->toString(), cause.empty() ? "" : ": " + cause));
    }
    if (n > 0 && (fds[1].revents & POLLIN) != 0) mailbox.drain();
  }
}

std::string DaemonService::lastWords(NotifyMailbox& mailbox, bool ready) {
  // A daemon that fails to start sends STATUS=<why> just before it exits; the router's thread
  // may deliver that datagram a moment after the pidfd says the process is gone, so a daemon that
  // never became ready gets a short grace for it.
  if (!ready) {
    for (int i = 0; i < 20 && mailbox.statusText().empty(); ++i) {
      pollfd fd{mailbox.fd(), POLLIN, 0};
      if (::poll(&fd, 1, 10) > 0) mailbox.drain();
    }
  }
  return ready ? std::string() : mailbox.statusText();
}

Status DaemonService::stopChild(ChildProcess& child) {
  const Duration stop_timeout = milliseconds(watchdog_.stop_timeout_ms);
  // Leave the manager a margin to see the run end within its own stop timeout.
  const Duration margin = std::min<Duration>(stop_timeout / 4, milliseconds(1000));
  const auto grace = std::chrono::duration_cast<milliseconds>(stop_timeout - margin);
  (void)child.signal(SIGTERM);
  (void)child.signal(SIGCONT);  // a SIGSTOPped daemon cannot act on SIGTERM until continued
  Result<ExitStatus> exit = child.wait(grace);
  if (!exit.ok() && exit.code() == Errc::timeout) {
    spdlog::warn("{}: pid {} ignored SIGTERM for {} ms: SIGKILL", spec_.name, child.pid(),
                 grace.count());
    (void)child.signal(SIGKILL);
    exit = child.wait(milliseconds(30'000));
  }
  if (!exit.ok()) return exit.status();
  spdlog::info("{}: pid {} stopped ({})", spec_.name, child.pid(), exit->toString());
  return okStatus();
}

void DaemonService::wake() {
  MutexLock lock(mutex_);
  if (current_) current_->mailbox->wake();
}

pid_t DaemonService::pid() const {
  MutexLock lock(mutex_);
  return current_ ? current_->pid : 0;
}

std::optional<Duration> DaemonService::signAge(MonoTime now) const {
  MutexLock lock(mutex_);
  if (!current_) return std::nullopt;
  std::optional<MonoTime> sign = current_->mailbox->lastSign();
  if (!sign) return std::nullopt;
  return std::max(Duration(0), now - *sign);
}

Status DaemonService::signal(int sig) const {
  MutexLock lock(mutex_);
  if (!current_) return Status(Errc::unavailable, "daemon '" + spec_.name + "' is not running");
  // Through the pidfd: a reaped daemon gives ESRCH, never a signal to a recycled pid.
  if (::syscall(SYS_pidfd_send_signal, current_->pidfd.get(), sig, nullptr, 0) != 0) {
    if (errno == ESRCH) {
      return Status(Errc::unavailable, "daemon '" + spec_.name + "' has just exited");
    }
    return Status::fromErrno(errno, "pidfd_send_signal " + spec_.name);
  }
  return okStatus();
}

}  // namespace seams::split
