#include "ipc/grpc/grpc_server.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/server_posix.h>
#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <vector>

#include "core/common/thread_annotations.h"
#include "ipc/grpc/seams_grpc.grpc.pb.h"
#include "ipc/net/log_registry.h"
#include "ipc/proto/proto_codec.h"

namespace seams::ipc {

using namespace protocodec;  // NOLINT(google-build-using-namespace): codec helpers, this file only
namespace gw = ::seams::wire::grpc;

namespace {

// A feed's pending events, from the listener (any thread) to the stream's handler thread. Bounded:
// a client that stops reading ends its stream (it re-subscribes and resyncs) instead of growing
// the owner's memory.
class EventQueue {
 public:
  static constexpr std::size_t kMax = 1 << 16;

  void push(pb::Event e) {
    std::lock_guard lock(mu_);
    if (events_.size() >= kMax) {
      overflowed_ = true;
    } else {
      events_.push_back(std::move(e));
    }
    cv_.notify_one();
  }
  // Waits up to `wait` for events; false if the queue overflowed.
  bool take(std::deque<pb::Event>* out, std::chrono::milliseconds wait) {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, wait, [&] { return !events_.empty() || overflowed_; });
    out->swap(events_);
    return !overflowed_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<pb::Event> events_;
  bool overflowed_ = false;
};

// Lends `arg` to a Request's oneof for the dispatcher, without copying it (a write's data), and
// takes it back before the Request dies.
template <typename Arg>
class Lent {
 public:
  using Set = void (pb::Request::*)(Arg*);
  using Take = Arg* (pb::Request::*)();
  Lent(pb::Request& req, Set set, Take take, const Arg* arg) : req_(req), take_(take) {
    (req_.*set)(const_cast<Arg*>(arg));
  }
  ~Lent() { (void)(req_.*take_)(); }
  Lent(const Lent&) = delete;
  Lent& operator=(const Lent&) = delete;

 private:
  pb::Request& req_;
  Take take_;
};

std::string newCookie() {
  unsigned char raw[kGrpcCookieBytes / 2];
  std::size_t got = 0;
  while (got < sizeof raw) {
    ssize_t n = ::getrandom(raw + got, sizeof raw - got, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) std::abort();  // getrandom() on Linux >= 3.17 does not fail once seeded
    got += static_cast<std::size_t>(n);
  }
  std::string out;
  out.reserve(kGrpcCookieBytes);
  for (unsigned char c : raw) out += fmt::format("{:02x}", c);
  return out;
}

constexpr auto kFeedPoll = std::chrono::milliseconds(100);

}  // namespace

class GrpcServer::Impl {
 public:
  Impl(Vault* vault, Auth* auth, ServerOptions options)
      : vault_(vault),
        auth_(auth),
        options_(std::move(options)),
        clients_(vault != nullptr
                     ? std::make_unique<ClientRegistry>(*vault, options_.max_open_handles)
                     : nullptr),
        vault_service_(*this),
        auth_service_(*this) {}

  ~Impl() { stop(); }

  Status start() {
    grpc::ServerBuilder builder;
    builder.SetMaxReceiveMessageSize(static_cast<int>(
        std::min<std::size_t>(options_.max_message_bytes, std::numeric_limits<int>::max())));
    if (vault_ != nullptr) builder.RegisterService(&vault_service_);
    if (auth_ != nullptr) builder.RegisterService(&auth_service_);
    server_ = builder.BuildAndStart();
    if (server_ == nullptr) return Status(Errc::internal, "gRPC server did not start");
    wake_.reset(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    if (!options_.socket_path.empty()) {
      auto fd = listenUnix(options_.socket_path);
      if (!fd) return fd.status();
      listen_fd_ = std::move(*fd);
    }
    touchLogRegistry();
    watch_thread_ = std::thread([this] { watchLoop(); });
    return okStatus();
  }

  void stop() {
    if (stopped_.exchange(true)) return;
    stopping_.store(true);
    wake();
    if (watch_thread_.joinable()) watch_thread_.join();
    if (server_ != nullptr) {
      // Feeds see stopping_ within kFeedPoll; calls still running after the deadline are
      // cancelled (their answers are dropped), and Shutdown waits for their handlers.
      server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1));
      server_->Wait();
    }
    {
      MutexLock lock(mu_);
      conns_.clear();  // every connection's share: clients' last shares release their handles
      loopback_.reset();
    }
    if (listen_fd_.valid() && !options_.socket_path.empty()) {
      ::unlink(options_.socket_path.c_str());
    }
    listen_fd_.reset();
  }

  Status adopt(UniqueFd fd) {
    auto creds = peerCredentials(fd.get());
    if (!creds) return creds.status();
    if (!admit(std::move(fd), *creds)) return Status(Errc::permission_denied, "peer refused");
    return okStatus();
  }

  ServerCounters counters() const {
    return {accepted_.load(), refused_.load(), closed_on_error_.load()};
  }

  std::shared_ptr<grpc::Channel> inProcessChannel() {
    {
      MutexLock lock(mu_);
      if (vault_ != nullptr && loopback_ == nullptr) {
        loopback_ = std::make_shared<ConnectionVault>(*vault_, options_.max_open_handles);
      }
    }
    grpc::ChannelArguments args;
    args.SetMaxReceiveMessageSize(static_cast<int>(
        std::min<std::size_t>(options_.max_message_bytes, std::numeric_limits<int>::max())));
    return server_->InProcessChannel(args);
  }

  // The view of the vault a call's connection has: by its cookie; without one, the in-process
  // client, once inProcessChannel() made one (a socket client that sends no cookie gets null
  // otherwise, and so cannot share it). Null: unknown.
  std::shared_ptr<Vault> connectionOf(grpc::ServerContext* ctx) {
    const auto& md = ctx->client_metadata();
    auto it = md.find(kGrpcCookieKey);
    MutexLock lock(mu_);
    if (it == md.end()) return loopback_;
    std::string cookie(it->second.data(), it->second.size());
    auto c = conns_.find(cookie);
    if (c == conns_.end()) return nullptr;
    return c->second.vault;
  }

  Vault* vault() const { return vault_; }
  Auth* auth() const { return auth_; }
  bool stopping() const { return stopping_.load(std::memory_order_relaxed); }

 private:
  struct Conn {
    UniqueFd watch;  // a dup of gRPC's fd, polled for hang-up only
    std::shared_ptr<ConnectionVault> vault;
    std::string peer;
  };

  // ---- the services ----

  class VaultService final : public gw::Vault::Service {
   public:
    explicit VaultService(Impl& impl) : impl_(impl) {}

#define SEAMS_GRPC_VAULT(Method, Arg, field)                                                      \
  grpc::Status Method(grpc::ServerContext* ctx, const pb::Arg* arg, pb::Response* out) override { \
    return dispatch(ctx, out, &pb::Request::unsafe_arena_set_allocated_##field,                   \
                    &pb::Request::unsafe_arena_release_##field, arg);                             \
  }
    SEAMS_GRPC_VAULT(Stat, PathArg, stat)
    SEAMS_GRPC_VAULT(List, PathArg, list)
    SEAMS_GRPC_VAULT(Read, ReadArg, read)
    SEAMS_GRPC_VAULT(Write, WriteArg, write)
    SEAMS_GRPC_VAULT(Put, PutArg, put)
    SEAMS_GRPC_VAULT(Create, CreateArg, create)
    SEAMS_GRPC_VAULT(Mkdir, CreateArg, mkdir)
    SEAMS_GRPC_VAULT(Unlink, PathArg, unlink)
    SEAMS_GRPC_VAULT(Rmdir, PathArg, rmdir)
    SEAMS_GRPC_VAULT(Rename, RenameArg, rename)
    SEAMS_GRPC_VAULT(Truncate, TruncateArg, truncate)
    SEAMS_GRPC_VAULT(SetAttributes, SetAttributesArg, set_attributes)
    SEAMS_GRPC_VAULT(Fsync, PathArg, fsync)
    SEAMS_GRPC_VAULT(Reconcile, PathArg, reconcile)
    SEAMS_GRPC_VAULT(Open, OpenArg, open)
    SEAMS_GRPC_VAULT(ReadHandle, ReadHandleArg, read_handle)
    SEAMS_GRPC_VAULT(WriteHandle, WriteHandleArg, write_handle)
    SEAMS_GRPC_VAULT(StatHandle, HandleArg, stat_handle)
    SEAMS_GRPC_VAULT(TruncateHandle, TruncateHandleArg, truncate_handle)
    SEAMS_GRPC_VAULT(FsyncHandle, HandleArg, fsync_handle)
    SEAMS_GRPC_VAULT(Release, HandleArg, release)
    SEAMS_GRPC_VAULT(Probe, ProbeArg, probe)
#undef SEAMS_GRPC_VAULT

    grpc::Status Subscribe(grpc::ServerContext* ctx, const pb::SubscribeArg*,
                           grpc::ServerWriter<pb::Event>* writer) override {
      auto queue = std::make_shared<EventQueue>();
      auto sub = impl_.vault()->subscribe([queue](const ChangeEvent& ev) {
        pb::Event e;
        toWire(ev, e.mutable_change());
        queue->push(std::move(e));
      });
      return impl_.pump(ctx, writer, *queue);
    }

   private:
    template <typename Arg>
    grpc::Status dispatch(grpc::ServerContext* ctx, pb::Response* out, typename Lent<Arg>::Set set,
                          typename Lent<Arg>::Take take, const Arg* arg) {
      auto vault = impl_.connectionOf(ctx);
      if (vault == nullptr) {
        setError(Status(Errc::unavailable, "unknown gRPC connection (no or stale seams-conn)"),
                 out->mutable_error());
        return grpc::Status::OK;
      }
      pb::Request req;
      Lent<Arg> lent(req, set, take, arg);
      ProtoDispatcher(vault.get(), nullptr).handle(req, out);
      return grpc::Status::OK;
    }

    Impl& impl_;
  };

  class AuthService final : public gw::Auth::Service {
   public:
    explicit AuthService(Impl& impl) : impl_(impl) {}

#define SEAMS_GRPC_AUTH(Method, Arg, field)                                                       \
  grpc::Status Method(grpc::ServerContext* ctx, const pb::Arg* arg, pb::Response* out) override { \
    pb::Request req;                                                                              \
    Lent<pb::Arg> lent(req, &pb::Request::unsafe_arena_set_allocated_##field,                     \
                       &pb::Request::unsafe_arena_release_##field, arg);                          \
    ProtoDispatcher(nullptr, impl_.auth()).handle(req, out);                                      \
    return grpc::Status::OK;                                                                      \
  }
    SEAMS_GRPC_AUTH(Login, LoginArg, login)
    SEAMS_GRPC_AUTH(Logout, TokenArg, logout)
    SEAMS_GRPC_AUTH(Validate, TokenArg, validate)
    SEAMS_GRPC_AUTH(Check, CheckArg, check)
    SEAMS_GRPC_AUTH(Authorize, AuthorizeArg, authorize)
    SEAMS_GRPC_AUTH(PrincipalForUid, UidArg, principal_for_uid)
    SEAMS_GRPC_AUTH(Grant, RuleArg, grant)
    SEAMS_GRPC_AUTH(Revoke, RuleArg, revoke)
    SEAMS_GRPC_AUTH(Rules, Empty, rules)
#undef SEAMS_GRPC_AUTH

    grpc::Status Subscribe(grpc::ServerContext* ctx, const pb::SubscribeArg*,
                           grpc::ServerWriter<pb::Event>* writer) override {
      auto queue = std::make_shared<EventQueue>();
      auto sub = impl_.auth()->subscribe([queue](const AuthEvent& ev) {
        pb::Event e;
        toWire(ev, e.mutable_auth());
        queue->push(std::move(e));
      });
      return impl_.pump(ctx, writer, *queue);
    }

   private:
    Impl& impl_;
  };

  // Acknowledges a subscription (initial metadata, sent once the listener is registered), then
  // writes its events until the client cancels or the server stops.
  grpc::Status pump(grpc::ServerContext* ctx, grpc::ServerWriter<pb::Event>* writer,
                    EventQueue& queue) {
    ctx->AddInitialMetadata("seams-subscribed", "1");
    writer->SendInitialMetadata();
    std::deque<pb::Event> batch;
    while (!stopping() && !ctx->IsCancelled()) {
      if (!queue.take(&batch, kFeedPoll)) {
        return grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED, "feed fell behind");
      }
      for (auto& e : batch) {
        if (!writer->Write(e)) return grpc::Status::OK;  // the client went away
      }
      batch.clear();
    }
    return grpc::Status::OK;
  }

  // ---- connections ----

  void wake() {
    if (!wake_.valid()) return;
    std::uint64_t one = 1;
    [[maybe_unused]] auto n = ::write(wake_.get(), &one, sizeof(one));
  }

  void refuse(const std::string& why) {
    refused_.fetch_add(1);
    spdlog::warn("gRPC server {}: refused a connection: {}", options_.socket_path, why);
  }

  // Checks the peer, hands it its cookie and gives the fd to gRPC. False: refused.
  bool admit(UniqueFd fd, PeerCredentials creds) {
    if (!peerUidAllowed(creds.uid)) {
      refuse(fmt::format("uid {} (pid {}) is neither ours nor root", creds.uid, creds.pid));
      return false;
    }
    if (stopping()) return false;
    std::string cookie = newCookie();
    // The socket is fresh and empty: this write does not block.
    if (!writeAll(fd.get(), cookie).ok()) return false;
    UniqueFd watch(::fcntl(fd.get(), F_DUPFD_CLOEXEC, 0));
    if (!watch.valid()) {
      refuse(fmt::format("dup: {}", std::strerror(errno)));
      return false;
    }
    int flags = ::fcntl(fd.get(), F_GETFL);
    ::fcntl(fd.get(), F_SETFL, flags | O_NONBLOCK);
    {
      MutexLock lock(mu_);
      Conn conn;
      conn.watch = std::move(watch);
      if (clients_ != nullptr) {
        conn.vault = std::make_shared<ConnectionVault>(*vault_, clients_->join(creds.pid));
      }
      conn.peer = fmt::format("uid {} pid {}", creds.uid, creds.pid);
      conns_.emplace(cookie, std::move(conn));
    }
    accepted_.fetch_add(1);
    grpc::AddInsecureChannelFromFd(server_.get(), fd.release());
    wake();  // the watch thread polls the new connection too
    return true;
  }

  void watchLoop() {
    std::vector<pollfd> fds;
    std::vector<std::string> keys;
    for (;;) {
      fds.clear();
      keys.clear();
      fds.push_back({wake_.get(), POLLIN, 0});
      if (listen_fd_.valid()) fds.push_back({listen_fd_.get(), POLLIN, 0});
      const std::size_t first_conn = fds.size();
      {
        MutexLock lock(mu_);
        for (auto& [key, conn] : conns_) {
          fds.push_back({conn.watch.get(), POLLRDHUP, 0});
          keys.push_back(key);
        }
      }
      int n = ::poll(fds.data(), fds.size(), -1);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 || stopping()) return;
      if (fds[0].revents & POLLIN) {
        std::uint64_t v;
        [[maybe_unused]] auto r = ::read(wake_.get(), &v, sizeof v);
      }
      for (std::size_t i = first_conn; i < fds.size(); ++i) {
        if (fds[i].revents == 0) continue;
        std::shared_ptr<ConnectionVault> last;  // released outside the lock
        MutexLock lock(mu_);
        auto it = conns_.find(keys[i - first_conn]);
        if (it == conns_.end()) continue;
        last = std::move(it->second.vault);
        conns_.erase(it);
      }
      if (listen_fd_.valid() && (fds[1].revents & POLLIN)) acceptOne();
    }
  }

  void acceptOne() {
    UniqueFd fd(::accept4(listen_fd_.get(), nullptr, nullptr, SOCK_CLOEXEC));
    if (!fd.valid()) {
      if (errno != EINTR && errno != EAGAIN && errno != ECONNABORTED) {
        spdlog::error("gRPC server {}: accept: {}", options_.socket_path, std::strerror(errno));
        std::this_thread::sleep_for(std::chrono::milliseconds(50));  // EMFILE: let fds free up
      }
      return;
    }
    auto creds = peerCredentials(fd.get());
    if (!creds) return refuse(creds.status().toString());
    admit(std::move(fd), *creds);
  }

  Vault* vault_;
  Auth* auth_;
  ServerOptions options_;
  std::unique_ptr<ClientRegistry> clients_;  // null without a vault; after options_ (uses it)
  VaultService vault_service_;
  AuthService auth_service_;
  std::unique_ptr<grpc::Server> server_;
  std::shared_ptr<ConnectionVault> loopback_ GUARDED_BY(mu_);  // the in-process client's view
  UniqueFd listen_fd_;
  UniqueFd wake_;
  std::thread watch_thread_;
  std::atomic<bool> stopping_{false}, stopped_{false};
  std::atomic<std::uint64_t> accepted_{0}, refused_{0}, closed_on_error_{0};

  Mutex mu_;
  std::unordered_map<std::string, Conn> conns_ GUARDED_BY(mu_);  // by cookie
};

GrpcServer::GrpcServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
GrpcServer::~GrpcServer() = default;

Result<std::unique_ptr<GrpcServer>> GrpcServer::serve(Vault* vault, Auth* auth,
                                                      ServerOptions options) {
  auto impl = std::make_unique<Impl>(vault, auth, std::move(options));
  SEAMS_RETURN_IF_ERROR(impl->start());
  return std::make_unique<GrpcServer>(std::move(impl));
}

Status GrpcServer::adopt(UniqueFd fd) {
  return impl_->adopt(std::move(fd));
}
ServerCounters GrpcServer::counters() const {
  return impl_->counters();
}
std::shared_ptr<grpc::Channel> GrpcServer::inProcessChannel() {
  return impl_->inProcessChannel();
}

}  // namespace seams::ipc
