#include "ipc/rpc/capnp_server.h"

#include <capnp/rpc-twoparty.h>
#include <capnp/serialize-async.h>
#include <kj/async-io.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <functional>
#include <future>
#include <map>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <vector>

#include "ipc/net/log_registry.h"
#include "ipc/rpc/capnp_channel.h"
#include "ipc/rpc/capnp_codec.h"
#include "ipc/rpc/loop_inbox.h"
#include "ipc/rpc/read_buffered_stream.h"
#include "ipc/transport/wire.h"

namespace seams::ipc {
namespace {

using namespace capnpcodec;  // NOLINT(google-build-using-namespace): codec helpers, this file only

// Feed handles registered by id, so an event raised on another thread finds its handle (or
// learns that it is gone) on the loop thread. Loop thread only.
class FeedRegistry {
 public:
  std::uint64_t add(void* handle) {
    handles_[++last_] = handle;
    return last_;
  }
  void remove(std::uint64_t id) { handles_.erase(id); }
  void* find(std::uint64_t id) const {
    auto it = handles_.find(id);
    return it == handles_.end() ? nullptr : it->second;
  }

 private:
  std::unordered_map<std::uint64_t, void*> handles_;
  std::uint64_t last_ = 0;
};

struct ServerContext : private kj::TaskSet::ErrorHandler {
  explicit ServerContext(LoopInbox& inbox) : inbox(inbox) {}
  LoopInbox& inbox;  // owned by the server; outlives the loop thread
  FeedRegistry feeds;
  kj::TaskSet deliveries{*this};  // event calls to subscribers

  void taskFailed(kj::Exception&& e) override {
    // A subscriber that went away; its handle is dropped with its connection.
    spdlog::debug("capnp server: event delivery failed: {}", e.getDescription().cStr());
  }
};

// ---- Vault ---------------------------------------------------------------------------------

class VaultFeedHandle final : public wire::Handle::Server {
 public:
  VaultFeedHandle(Vault& vault, ServerContext& ctx, wire::ChangeListener::Client listener)
      : ctx_(ctx), listener_(kj::mv(listener)), id_(ctx.feeds.add(this)) {
    LoopInbox* inbox = &ctx.inbox;
    ServerContext* c = &ctx;
    std::uint64_t id = id_;
    sub_ = vault.subscribe([inbox, c, id](const ChangeEvent& ev) {
      inbox->post([c, id, ev]() {
        if (auto* h = static_cast<VaultFeedHandle*>(c->feeds.find(id))) h->deliver(ev);
      });
    });
  }
  ~VaultFeedHandle() noexcept(false) {
    sub_.reset();
    ctx_.feeds.remove(id_);
  }

  void deliver(const ChangeEvent& ev) {
    auto req = listener_.changedRequest();
    toWire(ev, req.initEvent());
    ctx_.deliveries.add(req.send().ignoreResult());
  }

 private:
  ServerContext& ctx_;
  wire::ChangeListener::Client listener_;
  std::uint64_t id_;
  std::unique_ptr<Subscription> sub_;
};

#define SEAMS_SERVE(method, Method, fn)                    \
  kj::Promise<void> method(Method##Context ctx) override { \
    fn(local_, ctx.getParams(), ctx.getResults());         \
    return kj::READY_NOW;                                  \
  }

// One per connection (its bootstrap object): it lives as long as the connection's RPC system,
// and holds the connection's share of its client's handles (the last share releases them).
class VaultServer final : public wire::Vault::Server {
 public:
  VaultServer(Vault& vault, ServerContext& ctx, std::shared_ptr<ClientHandles> client)
      : local_(vault, std::move(client)), ctx_(ctx) {}

  SEAMS_SERVE(stat, Stat, serveStat)
  SEAMS_SERVE(list, List, serveList)
  SEAMS_SERVE(read, Read, serveRead)
  SEAMS_SERVE(write, Write, serveWrite)
  SEAMS_SERVE(put, Put, servePut)
  SEAMS_SERVE(create, Create, serveCreate)
  SEAMS_SERVE(mkdir, Mkdir, serveMkdir)
  SEAMS_SERVE(unlink, Unlink, serveUnlink)
  SEAMS_SERVE(rmdir, Rmdir, serveRmdir)
  SEAMS_SERVE(rename, Rename, serveRename)
  SEAMS_SERVE(truncate, Truncate, serveTruncate)
  SEAMS_SERVE(setAttributes, SetAttributes, serveSetAttributes)
  SEAMS_SERVE(fsync, Fsync, serveFsync)
  SEAMS_SERVE(reconcile, Reconcile, serveReconcile)
  SEAMS_SERVE(open, Open, serveOpen)
  SEAMS_SERVE(readHandle, ReadHandle, serveReadHandle)
  SEAMS_SERVE(writeHandle, WriteHandle, serveWriteHandle)
  SEAMS_SERVE(statHandle, StatHandle, serveStatHandle)
  SEAMS_SERVE(truncateHandle, TruncateHandle, serveTruncateHandle)
  SEAMS_SERVE(fsyncHandle, FsyncHandle, serveFsyncHandle)
  SEAMS_SERVE(releaseHandle, ReleaseHandle, serveReleaseHandle)
  SEAMS_SERVE(probe, Probe, serveProbe)

  kj::Promise<void> subscribe(SubscribeContext ctx) override {
    auto listener = ctx.getParams().getListener();
    ctx.getResults().setHandle(kj::heap<VaultFeedHandle>(local_, ctx_, kj::mv(listener)));
    return kj::READY_NOW;
  }

 private:
  ipc::ConnectionVault local_;  // this connection's view: its client's handles only
  ServerContext& ctx_;
};

// ---- Auth ----------------------------------------------------------------------------------

class AuthFeedHandle final : public wire::Handle::Server {
 public:
  AuthFeedHandle(Auth& auth, ServerContext& ctx, wire::AuthListener::Client listener)
      : ctx_(ctx), listener_(kj::mv(listener)), id_(ctx.feeds.add(this)) {
    LoopInbox* inbox = &ctx.inbox;
    ServerContext* c = &ctx;
    std::uint64_t id = id_;
    sub_ = auth.subscribe([inbox, c, id](const AuthEvent& ev) {
      inbox->post([c, id, ev]() {
        if (auto* h = static_cast<AuthFeedHandle*>(c->feeds.find(id))) h->deliver(ev);
      });
    });
  }
  ~AuthFeedHandle() noexcept(false) {
    sub_.reset();
    ctx_.feeds.remove(id_);
  }

  void deliver(const AuthEvent& ev) {
    auto req = listener_.eventRequest();
    toWire(ev, req.initEvent());
    ctx_.deliveries.add(req.send().ignoreResult());
  }

 private:
  ServerContext& ctx_;
  wire::AuthListener::Client listener_;
  std::uint64_t id_;
  std::unique_ptr<Subscription> sub_;
};

// A session capability for pipelined checks: validates lazily, on each call.
class SessionRefServer final : public wire::SessionRef::Server {
 public:
  SessionRefServer(Auth& local, std::string token) : local_(local), token_(std::move(token)) {}

  kj::Promise<void> principal(PrincipalContext ctx) override {
    auto res = local_.validate(token_);
    auto r = ctx.getResults();
    if (!res) {
      setError(r.initError(), res.status());
    } else {
      toWire(*res, r.initPrincipal());
    }
    return kj::READY_NOW;
  }

  kj::Promise<void> check(CheckContext ctx) override {
    auto p = ctx.getParams();
    auto r = ctx.getResults();
    auto path = VaultPath::parse(view(p.getPath()));
    if (!path) {
      setError(r.initError(), path.status());
      return kj::READY_NOW;
    }
    auto access = accessFromWire(p.getAccess());
    if (!access) {
      setError(r.initError(), access.status());
      return kj::READY_NOW;
    }
    auto res = local_.authorize(token_, *path, *access);
    if (!res) {
      setError(r.initError(), res.status());
    } else {
      toWire(*res, r.initPrincipal());
    }
    return kj::READY_NOW;
  }

 private:
  Auth& local_;
  std::string token_;
};

class AuthServer final : public wire::Auth::Server {
 public:
  AuthServer(Auth& local, ServerContext& ctx) : local_(local), ctx_(ctx) {}

  SEAMS_SERVE(login, Login, serveLogin)
  SEAMS_SERVE(logout, Logout, serveLogout)
  SEAMS_SERVE(validate, Validate, serveValidate)
  SEAMS_SERVE(check, Check, serveCheck)
  SEAMS_SERVE(authorize, Authorize, serveAuthorize)
  SEAMS_SERVE(principalForUid, PrincipalForUid, servePrincipalForUid)
  SEAMS_SERVE(grant, Grant, serveGrant)
  SEAMS_SERVE(revoke, Revoke, serveRevoke)
  SEAMS_SERVE(rules, Rules, serveRules)

  kj::Promise<void> subscribe(SubscribeContext ctx) override {
    auto listener = ctx.getParams().getListener();
    ctx.getResults().setHandle(kj::heap<AuthFeedHandle>(local_, ctx_, kj::mv(listener)));
    return kj::READY_NOW;
  }

  kj::Promise<void> session(SessionContext ctx) override {
    ctx.getResults().setSession(
        kj::heap<SessionRefServer>(local_, std::string(view(ctx.getParams().getToken()))));
    return kj::READY_NOW;
  }

 private:
  Auth& local_;
  ServerContext& ctx_;
};

#undef SEAMS_SERVE

// ---- connections ---------------------------------------------------------------------------

// Reads messages for the RPC layer, traversing each one fully first, so a malformed message is
// refused here with a logged reason instead of deep inside the RPC system.
class GuardedMessageStream final : public capnp::MessageStream {
 public:
  GuardedMessageStream(kj::AsyncIoStream& stream, std::string peer)
      : inner_(messageStreamFor(stream)), peer_(std::move(peer)) {}

  kj::Promise<kj::Maybe<capnp::MessageReaderAndFds>> tryReadMessage(
      kj::ArrayPtr<kj::AutoCloseFd> fdSpace, capnp::ReaderOptions options,
      kj::ArrayPtr<capnp::word> scratchSpace) override {
    return inner_->tryReadMessage(fdSpace, options, scratchSpace)
        .then([](kj::Maybe<capnp::MessageReaderAndFds>&& m) {
          KJ_IF_MAYBE (msg, m) {
            msg->reader->getRoot<capnp::AnyPointer>().targetSize();
          }
          return kj::mv(m);
        })
        .catch_([this](kj::Exception&& e) -> kj::Maybe<capnp::MessageReaderAndFds> {
          if (e.getType() == kj::Exception::Type::DISCONNECTED) {
            spdlog::debug("capnp server: {} went away: {}", peer_, e.getDescription().cStr());
          } else {
            failed_ = true;
            spdlog::warn("capnp server: closing connection from {}: bad message: {}", peer_,
                         e.getDescription().cStr());
          }
          kj::throwFatalException(kj::mv(e));
        });
  }
  kj::Promise<void> writeMessage(
      kj::ArrayPtr<const int> fds,
      kj::ArrayPtr<const kj::ArrayPtr<const capnp::word>> segments) override {
    return inner_->writeMessage(fds, segments);
  }
  kj::Promise<void> writeMessages(
      kj::ArrayPtr<kj::ArrayPtr<const kj::ArrayPtr<const capnp::word>>> messages) override {
    return inner_->writeMessages(messages);
  }
  kj::Maybe<int> getSendBufferSize() override { return inner_->getSendBufferSize(); }
  kj::Promise<void> end() override { return inner_->end(); }

  bool failed() const { return failed_; }
  const std::string& peer() const { return peer_; }

 private:
  // The message stream TwoPartyVatNetwork would make itself for a plain stream: under 1.x one
  // that reads into its own buffer (a message that fits arrives by one read(2)); under 0.9 the
  // piecewise reader, over the ReadBufferedStream that ServerConn puts under it.
  static kj::Own<capnp::MessageStream> messageStreamFor(kj::AsyncIoStream& stream) {
#if CAPNP_VERSION < 1000000
    return kj::heap<capnp::AsyncIoMessageStream>(stream);
#else
    return kj::heap<capnp::BufferedMessageStream>(
        stream, capnp::IncomingRpcMessage::getShortLivedCallback());
#endif
  }

  kj::Own<capnp::MessageStream> inner_;
  std::string peer_;
  bool failed_ = false;
};

struct ServerConn {
  ServerConn(kj::Own<kj::AsyncIoStream> s, std::string peer, capnp::ReaderOptions options,
             capnp::Capability::Client bootstrap)
      : stream(bufferReadsForCapnp09(kj::mv(s))),
        messages(*stream, std::move(peer)),
        network(messages, capnp::rpc::twoparty::Side::SERVER, options),
        rpc(capnp::makeRpcServer(network, kj::mv(bootstrap))) {}

  kj::Own<kj::AsyncIoStream> stream;
  GuardedMessageStream messages;
  capnp::TwoPartyVatNetwork network;
  capnp::RpcSystem<capnp::rpc::twoparty::VatId> rpc;
};

}  // namespace

// Lives on (and is used only from) the loop thread, except for the atomics and start/stop.
class CapnpServer::Impl final : private kj::TaskSet::ErrorHandler {
 public:
  // Makes a connection's bootstrap object; `pid` is its peer's (0 when unknown).
  using MakeBootstrap = std::function<capnp::Capability::Client(ServerContext&, int pid)>;

  Impl(ServerOptions options, MakeBootstrap make)
      : options_(std::move(options)), make_(std::move(make)) {}

  Status start() {
    if (!options_.socket_path.empty()) {
      auto fd = listenUnix(options_.socket_path);
      if (!fd) return fd.status();
      listen_fd_ = std::move(*fd);
    }
    std::promise<void> ready;
    auto ready_future = ready.get_future();
    touchLogRegistry();
    thread_ = std::thread([this, &ready] { run(ready); });
    ready_future.wait();
    return okStatus();
  }

  void stop() {
    if (!thread_.joinable()) return;
    onLoop([this] { stop_->fulfill(); });
    thread_.join();
  }

  // Runs fn on the loop thread and waits.
  void onLoop(const std::function<void()>& fn) { inbox_.runSync(fn); }

  Status adopt(UniqueFd fd) {
    auto creds = peerCredentials(fd.get());
    if (!creds) return creds.status();
    int raw = fd.release();
    onLoop([&] {
      auto stream = io_->lowLevelProvider->wrapSocketFd(
          raw, kj::LowLevelAsyncIoProvider::TAKE_OWNERSHIP |
                   kj::LowLevelAsyncIoProvider::ALREADY_CLOEXEC);
      admit(kj::mv(stream), creds->uid, creds->pid);
    });
    return okStatus();
  }

  ServerCounters counters() const {
    return {accepted_.load(), refused_.load(), closed_on_error_.load()};
  }

 private:
  void run(std::promise<void>& ready) {
    CapnpChannel::threadRunsItsOwnLoop();  // a local object that is itself a stub must hop
    auto io = kj::setupAsyncIo();
    io_ = &io;
    {
      ServerContext ctx(inbox_);
      kj::TaskSet tasks(*this);
      tasks_ = &tasks;
      ctx_ = &ctx;
      auto efd = io.lowLevelProvider->wrapInputFd(inbox_.fd());
      tasks.add(inbox_.pump(*efd));
      kj::Own<kj::ConnectionReceiver> listener;
      if (listen_fd_.valid()) {
        listener = io.lowLevelProvider->wrapListenSocketFd(
            listen_fd_.release(), kj::LowLevelAsyncIoProvider::TAKE_OWNERSHIP |
                                      kj::LowLevelAsyncIoProvider::ALREADY_CLOEXEC);
        tasks.add(acceptLoop(*listener));
      }
      auto paf = kj::newPromiseAndFulfiller<void>();
      stop_ = kj::mv(paf.fulfiller);
      ready.set_value();
      paf.promise.wait(io.waitScope);

      // Teardown on the loop thread, before the event loop goes away: the inbox (no more
      // posts), then connections (they hold feed handles), then tasks.
      inbox_.close();
      conns_.clear();  // releases the handles each client still holds
      ctx_ = nullptr;
      tasks_ = nullptr;
    }
    if (!options_.socket_path.empty()) ::unlink(options_.socket_path.c_str());
    io_ = nullptr;
  }

  kj::Promise<void> acceptLoop(kj::ConnectionReceiver& listener) {
    return listener.acceptAuthenticated().then(
        [this, &listener](kj::AuthenticatedStream&& s) {
          auto* local = dynamic_cast<kj::LocalPeerIdentity*>(s.peerIdentity.get());
          if (local == nullptr) {
            refuse("peer identity unknown");
          } else {
            auto creds = local->getCredentials();
            KJ_IF_MAYBE (uid, creds.uid) {
              int pid = 0;
              KJ_IF_MAYBE (p, creds.pid) {
                pid = *p;
              }
              admit(kj::mv(s.stream), *uid, pid);
            } else {
              refuse("peer uid unknown");
            }
          }
          return acceptLoop(listener);
        },
        [this, &listener](kj::Exception&& e) -> kj::Promise<void> {
          spdlog::error("capnp server {}: accept failed: {}", options_.socket_path,
                        e.getDescription().cStr());
          return io_->provider->getTimer()
              .afterDelay(100 * kj::MILLISECONDS)
              .then([this, &listener] { return acceptLoop(listener); });
        });
  }

  void refuse(const std::string& why) {
    refused_.fetch_add(1);
    spdlog::warn("capnp server {}: refused a connection: {}", options_.socket_path, why);
  }

  void admit(kj::Own<kj::AsyncIoStream> stream, uid_t uid, int pid) {
    if (!peerUidAllowed(uid)) {
      return refuse(fmt::format("uid {} (pid {}) is neither ours nor root", uid, pid));
    }
    accepted_.fetch_add(1);
    auto peer = fmt::format("uid {} pid {}", uid, pid);
    // A bootstrap object per connection: a Vault's holds a share of its client's handles.
    auto conn = kj::heap<ServerConn>(kj::mv(stream), peer,
                                     readerOptions(options_.max_message_bytes), make_(*ctx_, pid));
    ServerConn* raw = conn.get();
    conns_.emplace(raw, kj::mv(conn));
    tasks_->add(raw->network.onDisconnect().then([this, raw] {
      if (raw->messages.failed()) closed_on_error_.fetch_add(1);
      spdlog::debug("capnp server {}: {} disconnected", options_.socket_path, raw->messages.peer());
      return kj::evalLater([this, raw] { conns_.erase(raw); });
    }));
  }

  void taskFailed(kj::Exception&& e) override {
    spdlog::warn("capnp server {}: {}", options_.socket_path, e.getDescription().cStr());
  }

  ServerOptions options_;
  MakeBootstrap make_;
  UniqueFd listen_fd_;
  std::thread thread_;
  LoopInbox inbox_;
  std::atomic<std::uint64_t> accepted_{0}, refused_{0}, closed_on_error_{0};

  // Loop thread only.
  kj::AsyncIoContext* io_ = nullptr;
  kj::TaskSet* tasks_ = nullptr;
  kj::Own<kj::PromiseFulfiller<void>> stop_;
  ServerContext* ctx_ = nullptr;
  std::map<ServerConn*, kj::Own<ServerConn>> conns_;
};

CapnpServer::CapnpServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

CapnpServer::~CapnpServer() {
  impl_->stop();
}

Result<std::unique_ptr<CapnpServer>> CapnpServer::serve(Vault& local, ServerOptions options) {
  // Shared by the connections (the loop thread makes them; tables die on any thread).
  auto clients = std::make_shared<ClientRegistry>(local, options.max_open_handles);
  auto impl =
      std::make_unique<Impl>(std::move(options), [&local, clients](ServerContext& ctx, int pid) {
        return capnp::Capability::Client(kj::heap<VaultServer>(local, ctx, clients->join(pid)));
      });
  SEAMS_RETURN_IF_ERROR(impl->start());
  return std::make_unique<CapnpServer>(std::move(impl));
}

Result<std::unique_ptr<CapnpServer>> CapnpServer::serve(Auth& local, ServerOptions options) {
  auto impl = std::make_unique<Impl>(std::move(options), [&local](ServerContext& ctx, int) {
    return capnp::Capability::Client(kj::heap<AuthServer>(local, ctx));
  });
  SEAMS_RETURN_IF_ERROR(impl->start());
  return std::make_unique<CapnpServer>(std::move(impl));
}

Status CapnpServer::adopt(UniqueFd fd) {
  return impl_->adopt(std::move(fd));
}

ServerCounters CapnpServer::counters() const {
  return impl_->counters();
}

}  // namespace seams::ipc
