#include "core/control/control_server.h"

#include <capnp/rpc-twoparty.h>
#include <kj/async-io.h>
#include <kj/async.h>
#include <spdlog/spdlog.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/common/stale_socket.h"
#include "core/common/unique_fd.h"
#include "ipc/control/control.capnp.h"

namespace seams {
namespace {

namespace cw = ::seams::wire::control;

void fillOutcome(cw::Outcome::Builder out, const Status& st) {
  out.setCode(static_cast<std::uint32_t>(st.code()));
  out.setMessage(st.message());
}

FaultKind fromWire(cw::FaultKind kind) {
  switch (kind) {
    case cw::FaultKind::CRASH:
      return FaultKind::crash;
    case cw::FaultKind::HANG:
      return FaultKind::hang;
    case cw::FaultKind::THROW:
      return FaultKind::throw_exception;
    case cw::FaultKind::ABORT:
      return FaultKind::abort_process;
  }
  return FaultKind::crash;
}

class ControlImpl final : public cw::Control::Server {
 public:
  ControlImpl(ControlTarget& target, bool faults_enabled)
      : target_(target), faults_enabled_(faults_enabled) {}

  kj::Promise<void> status(StatusContext context) override {
    std::vector<ControlRow> rows = target_.status();
    auto list = context.getResults().initRows(static_cast<unsigned>(rows.size()));
    for (unsigned i = 0; i < rows.size(); ++i) {
      const ControlRow& r = rows[i];
      auto out = list[i];
      out.setName(r.name);
      out.setKind(r.kind);
      out.setState(r.state);
      out.setPid(r.pid);
      out.setRestarts(r.restarts);
      out.setLastError(r.last_error);
      out.setHeartbeatAgeMs(r.heartbeat_age_ms.value_or(-1.0));
      out.setAbandonedThreads(r.abandoned_threads);
    }
    return kj::READY_NOW;
  }

  kj::Promise<void> stats(StatsContext context) override {
    context.getResults().setText(target_.stats());
    return kj::READY_NOW;
  }

  kj::Promise<void> caches(CachesContext context) override {
    std::vector<CacheEntryRow> rows = target_.caches();
    auto list = context.getResults().initEntries(static_cast<unsigned>(rows.size()));
    for (unsigned i = 0; i < rows.size(); ++i) {
      auto out = list[i];
      out.setCache(rows[i].cache);
      out.setKind(rows[i].kind);
      out.setPath(rows[i].path);
      out.setVersion(rows[i].version);
      out.setBytes(rows[i].bytes);
    }
    return kj::READY_NOW;
  }

  kj::Promise<void> restart(RestartContext context) override {
    std::string name = context.getParams().getName();
    fillOutcome(context.getResults().initOutcome(), target_.restart(name));
    return kj::READY_NOW;
  }

  kj::Promise<void> fault(FaultContext context) override {
    auto params = context.getParams();
    Status st;
    if (!faults_enabled_) {
      st = Status(Errc::permission_denied,
                  "fault injection is disabled (set [faults] enabled = true in the config)");
    } else {
      st = target_.fault(std::string(params.getName()), fromWire(params.getKind()));
    }
    fillOutcome(context.getResults().initOutcome(), st);
    return kj::READY_NOW;
  }

  kj::Promise<void> stop(StopContext context) override {
    fillOutcome(context.getResults().initOutcome(), target_.stop());
    return kj::READY_NOW;
  }

 private:
  ControlTarget& target_;
  const bool faults_enabled_;
};

bool peerAllowed(int fd) {
  ucred cred{};
  socklen_t len = sizeof(cred);
  if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) return false;
  return cred.uid == 0 || cred.uid == ::geteuid();
}

kj::Promise<void> acceptLoop(kj::ConnectionReceiver& listener, capnp::TwoPartyServer& server) {
  return listener.accept().then([&listener, &server](kj::Own<kj::AsyncIoStream>&& stream) {
    bool allowed = false;
    KJ_IF_MAYBE (fd, stream->getFd()) {
      allowed = peerAllowed(*fd);
    }
    // A refused peer's stream is dropped here, which closes the connection unread.
    if (allowed) server.accept(kj::mv(stream));
    return acceptLoop(listener, server);
  });
}

Result<UniqueFd> bindControlSocket(const std::string& path) {
  sockaddr_un addr{};
  if (path.empty() || path.size() >= sizeof(addr.sun_path)) {
    return Status(Errc::invalid_argument, "control socket path is empty or too long: " + path);
  }
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) return Status::fromErrno(errno, "socket for " + path);
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.c_str(), path.size());
  // A socket left behind by a previous run (a crash, kill -9) is replaced; a live one or anything
  // else is not.
  Result<bool> stale = removeStaleSocket(path);
  if (!stale.ok()) return stale.status();
  if (*stale)
    spdlog::warn("control: removed a stale socket at {} (left by a process that died)", path);
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    return Status::fromErrno(errno, "bind " + path);
  }
  // Restricted before listen(): until then nobody can connect, so there is no window.
  if (::chmod(path.c_str(), 0600) != 0) {
    Status err = Status::fromErrno(errno, "chmod " + path);
    ::unlink(path.c_str());
    return err;
  }
  if (::listen(fd.get(), 16) != 0) {
    Status err = Status::fromErrno(errno, "listen " + path);
    ::unlink(path.c_str());
    return err;
  }
  return fd;
}

}  // namespace

ControlServer::ControlServer(ControlTarget& target, ControlServerOptions options)
    : target_(target), options_(std::move(options)) {}

ControlServer::~ControlServer() {
  stop();
}

Status ControlServer::start() {
  if (thread_.joinable()) return Status(Errc::conflict, "control server already started");
  wake_fd_.reset(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!wake_fd_) return Status::fromErrno(errno, "eventfd for the control server");
  Result<UniqueFd> fd = bindControlSocket(options_.socket_path);
  if (!fd.ok()) return fd.status();
  const int raw = fd->release();  // the loop owns it from here
  thread_ = std::thread([this, raw] { loop(raw); });
  MutexLock lock(mutex_);
  cv_.wait(lock.native(), [&] {
    mutex_.assertHeld();
    return loop_ready_ || loop_done_;
  });
  if (!loop_ready_) {
    lock.unlock();
    thread_.join();
    ::unlink(options_.socket_path.c_str());
    return Status(Errc::internal, "control server event loop failed to start");
  }
  return okStatus();
}

void ControlServer::loop(int listen_fd) {
  try {
    auto io = kj::setupAsyncIo();
    auto listener = io.lowLevelProvider->wrapListenSocketFd(
        listen_fd, kj::LowLevelAsyncIoProvider::TAKE_OWNERSHIP);
    auto wake = io.lowLevelProvider->wrapInputFd(wake_fd_.get(),
                                                 kj::LowLevelAsyncIoProvider::ALREADY_NONBLOCK);
    capnp::TwoPartyServer server(kj::heap<ControlImpl>(target_, options_.faults_enabled));
    {
      MutexLock lock(mutex_);
      loop_ready_ = true;
    }
    cv_.notify_all();
    std::uint64_t counter = 0;
    auto woken = wake->tryRead(&counter, sizeof(counter), sizeof(counter)).ignoreResult();
    acceptLoop(*listener, server).exclusiveJoin(kj::mv(woken)).wait(io.waitScope);
    // A reply queued just before the wake (the answer to `stop`, whose process may exit in
    // milliseconds) goes out now rather than dying with the loop.
    io.waitScope.poll();
  } catch (const kj::Exception&) {
    // The loop ends; stop() still joins and removes the socket. Nothing may escape the thread.
  }
  {
    MutexLock lock(mutex_);
    loop_done_ = true;
  }
  cv_.notify_all();
}

bool ControlServer::serving() {
  MutexLock lock(mutex_);
  return loop_ready_ && !loop_done_;
}

void ControlServer::stop() {
  if (!thread_.joinable()) return;
  const std::uint64_t one = 1;
  // Cannot fail short of a bug: an eventfd write of 8 bytes only fails on counter overflow.
  (void)!::write(wake_fd_.get(), &one, sizeof(one));
  thread_.join();
  ::unlink(options_.socket_path.c_str());
}

}  // namespace seams
