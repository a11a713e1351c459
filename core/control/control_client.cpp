#include "core/control/control_client.h"

#include <capnp/rpc-twoparty.h>
#include <fmt/format.h>
#include <kj/async-io.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include "core/common/unique_fd.h"
#include "ipc/control/control.capnp.h"

namespace seams {
namespace {

namespace cw = ::seams::wire::control;

cw::FaultKind toWire(FaultKind kind) {
  switch (kind) {
    case FaultKind::crash:
      return cw::FaultKind::CRASH;
    case FaultKind::hang:
      return cw::FaultKind::HANG;
    case FaultKind::throw_exception:
      return cw::FaultKind::THROW;
    case FaultKind::abort_process:
      return cw::FaultKind::ABORT;
  }
  return cw::FaultKind::CRASH;
}

Result<UniqueFd> connectSocket(const std::string& path) {
  sockaddr_un addr{};
  if (path.empty() || path.size() >= sizeof(addr.sun_path)) {
    return Status(Errc::invalid_argument, "control socket path is empty or too long: " + path);
  }
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) return Status::fromErrno(errno, "socket");
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.c_str(), path.size());
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0) return fd;
  const int err = errno;
  switch (err) {
    case ENOENT:
      return Status(Errc::not_found, "no control socket at " + path +
                                         " (is the daemon running? is the path right?)");
    case EACCES:
    case EPERM:
      return Status(Errc::permission_denied,
                    "permission denied on " + path + " (run as the daemon's user or as root)");
    case ECONNREFUSED:
      return Status(Errc::unavailable, "nothing is listening on " + path +
                                           " (the daemon is not running; stale socket)");
    default:
      return Status::fromErrno(err, "connect " + path);
  }
}

Status fromOutcome(cw::Outcome::Reader outcome) {
  const Errc code = errcFromWire(outcome.getCode());
  if (code == Errc::ok) return okStatus();
  return Status(code, outcome.getMessage());
}

}  // namespace

struct ControlClient::Impl {
  explicit Impl(kj::AsyncIoContext io_ctx) : io(kj::mv(io_ctx)) {}
  kj::AsyncIoContext io;
  kj::Own<kj::AsyncIoStream> stream;
  kj::Own<capnp::TwoPartyClient> client;
  kj::Own<cw::Control::Client> control;
  std::string path;
  std::chrono::milliseconds timeout{0};

  // Waits for a call's answer, at most `timeout`: a stopped (SIGSTOP) or wedged daemon accepts
  // the connection in the kernel and never answers, and a client must not hang on it.
  template <typename T>
  T wait(kj::Promise<T>&& answer) {
    auto deadline =
        io.provider->getTimer().afterDelay(timeout.count() * kj::MILLISECONDS).then([]() -> T {
          kj::throwFatalException(KJ_EXCEPTION(OVERLOADED));
        });
    return answer.exclusiveJoin(kj::mv(deadline)).wait(io.waitScope);
  }

  Status fromException(const kj::Exception& e) const {
    if (e.getType() == kj::Exception::Type::OVERLOADED) {
      return Status(Errc::timeout, fmt::format("no answer on {} within {} ms (is the daemon "
                                               "stopped or wedged?)",
                                               path, timeout.count()));
    }
    if (e.getType() == kj::Exception::Type::DISCONNECTED) return disconnected();
    return Status(Errc::internal, std::string("control call failed: ") + e.getDescription().cStr());
  }
  // The server drops a peer it does not serve (not its uid, not root) unread, which looks like
  // any other closed connection; only when that cannot be the reason (we are root or the socket's
  // owner) is the likely cause the daemon going away mid-call (an abort fault, a crash, a stop).
  Status disconnected() const {
    struct stat st {};
    const uid_t me = ::geteuid();
    if (me != 0 && ::stat(path.c_str(), &st) == 0 && st.st_uid != me) {
      return Status(Errc::permission_denied,
                    fmt::format("the daemon closed the connection on {}: it serves only its own "
                                "uid ({}) and root, and this is uid {}",
                                path, st.st_uid, me));
    }
    return Status(Errc::unavailable, "the daemon closed the connection on " + path +
                                         " (it may have exited: check its log, then `seamctl "
                                         "status`)");
  }
  // Run one call; KJ exceptions (the daemon went away, refused us) become a Status.
  template <typename Fn>
  auto call(Fn&& fn) -> Result<decltype(fn())> {
    try {
      return fn();
    } catch (const kj::Exception& e) {
      return fromException(e);
    }
  }
  template <typename Fn>
  Status callStatus(Fn&& fn) {
    try {
      return fn();
    } catch (const kj::Exception& e) {
      return fromException(e);
    }
  }
};

ControlClient::ControlClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ControlClient::~ControlClient() = default;

Result<std::unique_ptr<ControlClient>> ControlClient::connect(const std::string& socket_path,
                                                              std::chrono::milliseconds timeout) {
  Result<UniqueFd> fd = connectSocket(socket_path);
  if (!fd.ok()) return fd.status();
  try {
    auto impl = std::make_unique<Impl>(kj::setupAsyncIo());
    impl->path = socket_path;
    impl->timeout = timeout;
    impl->stream = impl->io.lowLevelProvider->wrapSocketFd(
        fd->release(), kj::LowLevelAsyncIoProvider::TAKE_OWNERSHIP);
    impl->client = kj::heap<capnp::TwoPartyClient>(*impl->stream);
    impl->control = kj::heap<cw::Control::Client>(impl->client->bootstrap().castAs<cw::Control>());
    return std::unique_ptr<ControlClient>(new ControlClient(std::move(impl)));
  } catch (const kj::Exception& e) {
    return Status(Errc::internal, std::string("control client: ") + e.getDescription().cStr());
  }
}

Result<std::vector<ControlRow>> ControlClient::status() {
  return impl_->call([&] {
    auto response = impl_->wait(impl_->control->statusRequest().send());
    std::vector<ControlRow> rows;
    for (auto r : response.getRows()) {
      ControlRow row;
      row.name = r.getName();
      row.kind = r.getKind();
      row.state = r.getState();
      row.pid = r.getPid();
      row.restarts = r.getRestarts();
      row.last_error = r.getLastError();
      if (r.getHeartbeatAgeMs() >= 0) row.heartbeat_age_ms = r.getHeartbeatAgeMs();
      row.abandoned_threads = r.getAbandonedThreads();
      rows.push_back(std::move(row));
    }
    return rows;
  });
}

Result<std::string> ControlClient::stats() {
  return impl_->call([&] {
    auto response = impl_->wait(impl_->control->statsRequest().send());
    return std::string(response.getText());
  });
}

Result<std::vector<CacheEntryRow>> ControlClient::caches() {
  return impl_->call([&] {
    auto response = impl_->wait(impl_->control->cachesRequest().send());
    std::vector<CacheEntryRow> rows;
    rows.reserve(response.getEntries().size());
    for (auto e : response.getEntries()) {
      rows.push_back({e.getCache(), e.getKind(), e.getPath(), e.getVersion(), e.getBytes()});
    }
    return rows;
  });
}

Status ControlClient::restart(std::string_view name) {
  return impl_->callStatus([&] {
    auto request = impl_->control->restartRequest();
    request.setName(std::string(name));
    return fromOutcome(impl_->wait(request.send()).getOutcome());
  });
}

Status ControlClient::fault(std::string_view name, FaultKind kind) {
  return impl_->callStatus([&] {
    auto request = impl_->control->faultRequest();
    request.setName(std::string(name));
    request.setKind(toWire(kind));
    return fromOutcome(impl_->wait(request.send()).getOutcome());
  });
}

Status ControlClient::stop() {
  return impl_->callStatus(
      [&] { return fromOutcome(impl_->wait(impl_->control->stopRequest().send()).getOutcome()); });
}

}  // namespace seams
