#include "ipc/grpc/grpc_client.h"

// Before gRPC's headers: abseil (under them) defines the same legacy annotation names, and the
// later definition warns unless it is in a system header.
// clang-format off
#include "core/common/thread_annotations.h"
// clang-format on

#include <fcntl.h>
#include <fmt/format.h>
#include <grpcpp/create_channel_posix.h>
#include <grpcpp/grpcpp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <condition_variable>
#include <limits>
#include <mutex>
#include <thread>

#include "core/runtime/restart_policy.h"
#include "ipc/grpc/grpc_server.h"
#include "ipc/grpc/seams_grpc.grpc.pb.h"
#include "ipc/net/log_registry.h"
#include "ipc/proto/proto_codec.h"

namespace seams::ipc {

using namespace protocodec;  // NOLINT(google-build-using-namespace): codec helpers, this file only
namespace gw = ::seams::wire::grpc;
using Clock = std::chrono::steady_clock;

namespace {

int messageLimit(std::size_t bytes) {
  return static_cast<int>(std::min<std::size_t>(bytes, std::numeric_limits<int>::max()));
}

bool isHex(std::string_view s) {
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

}  // namespace

// The stub's connection to its server (or to its in-process server in loopback), redialled with
// the runtime's backoff. Thread-safe.
class GrpcLink {
 public:
  struct Conn {
    std::shared_ptr<grpc::Channel> channel;
    std::unique_ptr<gw::Vault::Stub> vault;
    std::unique_ptr<gw::Auth::Stub> auth;
    std::string cookie;  // empty in loopback
    UniqueFd watch;      // a dup of gRPC's fd, polled for hang-up; invalid in loopback
  };

  explicit GrpcLink(ClientOptions options)
      : options_(std::move(options)),
        backoff_(BackoffOptions{options_.backoff_initial, options_.backoff_max}) {}

  GrpcLink(Vault* vault, Auth* auth)
      : options_{.socket_path = "loopback"}, loopback_(true), backoff_(BackoffOptions{}) {
    auto server = GrpcServer::serve(vault, auth, {});
    if (!server) {
      last_error_ = server.status();
      return;
    }
    server_ = std::move(*server);
    current_ = makeConn(server_->inProcessChannel(), "");
  }

  ~GrpcLink() {
    MutexLock lock(mu_);
    current_.reset();  // before the in-process server
  }

  const ClientOptions& options() const { return options_; }

  // One unary call: fn(conn, ctx, &response) on the current connection, with the deadline and
  // the cookie set.
  template <typename F>
  Result<pb::Response> call(F&& fn) {
    auto conn = connection();
    if (!conn) return conn.status();
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + options_.call_timeout);
    if (!(*conn)->cookie.empty()) ctx.AddMetadata(kGrpcCookieKey, (*conn)->cookie);
    pb::Response out;
    grpc::Status st = fn(**conn, &ctx, &out);
    if (st.ok()) return out;
    return failed(*conn, st);
  }

  // The current connection, made if there is none and the backoff allows an attempt now.
  Result<std::shared_ptr<Conn>> connection() {
    MutexLock lock(mu_);
    if (current_ != nullptr) {
      if (!current_->watch.valid() || !hungUp(current_->watch.get())) return current_;
      dropLocked(Status(Errc::unavailable, options_.socket_path + ": the server hung up"));
    }
    if (loopback_) return Status(Errc::unavailable, "loopback: " + last_error_.toString());
    auto now = Clock::now();
    if (now < next_attempt_) {
      auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(next_attempt_ - now);
      return Status(Errc::unavailable, fmt::format("{} (next reconnect attempt in {} ms)",
                                                   last_error_.toString(), ms.count()));
    }
    auto conn = dial();
    if (!conn) {
      last_error_ = conn.status();
      next_attempt_ = Clock::now() + backoff_.next();
      return Status(Errc::unavailable, last_error_.toString());
    }
    backoff_.reset();
    current_ = std::move(*conn);
    return current_;
  }

  // The transport of `conn` failed: the next call redials (at once; then with backoff).
  void lost(const std::shared_ptr<Conn>& conn, const Status& why) {
    MutexLock lock(mu_);
    if (current_ == conn && !loopback_) dropLocked(why);
  }

  // How long until connection() may try again.
  Clock::duration retryIn() {
    MutexLock lock(mu_);
    return std::max(next_attempt_ - Clock::now(), Clock::duration::zero());
  }

  Status failed(const std::shared_ptr<Conn>& conn, const grpc::Status& st) {
    switch (st.error_code()) {
      case grpc::StatusCode::UNIMPLEMENTED:
        return Status(Errc::not_supported,
                      fmt::format("{}: not served: {}", options_.socket_path, st.error_message()));
      case grpc::StatusCode::DEADLINE_EXCEEDED:
        return Status(Errc::unavailable,
                      fmt::format("{}: no answer within {} ms", options_.socket_path,
                                  options_.call_timeout.count()));
      case grpc::StatusCode::UNAVAILABLE: {
        Status s(Errc::unavailable,
                 fmt::format("{}: connection lost: {}", options_.socket_path, st.error_message()));
        lost(conn, s);
        return s;
      }
      default:
        return Status(Errc::unavailable,
                      fmt::format("{}: gRPC status {}: {}", options_.socket_path,
                                  static_cast<int>(st.error_code()), st.error_message()));
    }
  }

 private:
  static bool hungUp(int fd) {
    pollfd p{fd, POLLRDHUP, 0};
    return ::poll(&p, 1, 0) > 0;
  }

  void dropLocked(const Status& why) REQUIRES(mu_) {
    current_.reset();
    last_error_ = why;
    next_attempt_ = {};  // the first attempt after a loss is immediate
  }

  std::shared_ptr<Conn> makeConn(std::shared_ptr<grpc::Channel> channel, std::string cookie) {
    auto c = std::make_shared<Conn>();
    c->channel = std::move(channel);
    c->vault = gw::Vault::NewStub(c->channel);
    c->auth = gw::Auth::NewStub(c->channel);
    c->cookie = std::move(cookie);
    return c;
  }

  // Connects, checks the server, reads its cookie and hands the socket to gRPC.
  Result<std::shared_ptr<Conn>> dial() {
    auto fd = options_.connector ? options_.connector() : connectUnix(options_.socket_path);
    if (!fd) return fd.status();
    if (!options_.connector) SEAMS_RETURN_IF_ERROR(checkServerPeer(fd->get()));
    timeval tv{};
    tv.tv_sec = static_cast<time_t>(options_.call_timeout.count() / 1000);
    tv.tv_usec = static_cast<suseconds_t>((options_.call_timeout.count() % 1000) * 1000);
    ::setsockopt(fd->get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    std::string cookie(kGrpcCookieBytes, '\0');
    if (auto st = readExact(fd->get(), cookie.data(), cookie.size()); !st.ok()) {
      return Status(Errc::unavailable, fmt::format("{}: no connection cookie: {}",
                                                   options_.socket_path, st.message()));
    }
    if (!isHex(cookie)) {
      return Status(Errc::unavailable,
                    options_.socket_path + ": not a gRPC seams server (bad connection cookie)");
    }
    tv = {};
    ::setsockopt(fd->get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::fcntl(fd->get(), F_SETFL, ::fcntl(fd->get(), F_GETFL) | O_NONBLOCK);
    UniqueFd watch(::fcntl(fd->get(), F_DUPFD_CLOEXEC, 0));
    if (!watch.valid()) return Status(Errc::unavailable, "dup: " + std::string(strerror(errno)));
    grpc::ChannelArguments args;
    args.SetMaxReceiveMessageSize(messageLimit(options_.max_message_bytes));
    auto channel = grpc::CreateCustomInsecureChannelFromFd("unix:" + options_.socket_path,
                                                           fd->release(), args);
    auto conn = makeConn(std::move(channel), std::move(cookie));
    conn->watch = std::move(watch);
    return conn;
  }

  const ClientOptions options_;
  const bool loopback_ = false;
  std::unique_ptr<GrpcServer> server_;  // loopback only; outlives current_

  Mutex mu_;
  std::shared_ptr<Conn> current_ GUARDED_BY(mu_);
  Backoff backoff_ GUARDED_BY(mu_);
  Status last_error_ GUARDED_BY(mu_) = okStatus();
  Clock::time_point next_attempt_ GUARDED_BY(mu_){};
};

namespace {

// A feed: a thread that keeps a server stream open (re-subscribing after a loss, then
// delivering the resync events) and hands each event to the listener.
class GrpcFeed final : public Subscription {
 public:
  using Start = std::function<std::unique_ptr<grpc::ClientReader<pb::Event>>(GrpcLink::Conn&,
                                                                             grpc::ClientContext*)>;

  GrpcFeed(GrpcLink& link, Start start, std::function<void(const pb::Event&)> deliver,
           std::function<void()> resync)
      : link_(link),
        start_(std::move(start)),
        deliver_(std::move(deliver)),
        resync_(std::move(resync)) {
    touchLogRegistry();
    thread_ = std::thread([this] { run(); });
    // Like the other codecs, subscribe() returns once the server has the subscription (so a
    // call made afterwards raises an event this feed sees), or after the call timeout.
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, link_.options().call_timeout, [&] { return first_done_; });
  }

  ~GrpcFeed() override {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
      if (ctx_ != nullptr) ctx_->TryCancel();
      cv_.notify_all();
    }
    thread_.join();
  }

 private:
  void firstDone() {
    std::lock_guard lock(mu_);
    first_done_ = true;
    cv_.notify_all();
  }

  void run() {
    Backoff backoff(BackoffOptions{link_.options().backoff_initial, link_.options().backoff_max});
    bool resync_next = false;  // every subscription after the first attempt's
    for (;;) {
      {
        std::lock_guard lock(mu_);
        if (stopping_) break;
      }
      Clock::duration delay;
      auto conn = link_.connection();
      if (conn) {
        grpc::ClientContext ctx;
        if (!(*conn)->cookie.empty()) ctx.AddMetadata(kGrpcCookieKey, (*conn)->cookie);
        {
          std::lock_guard lock(mu_);
          if (stopping_) break;
          ctx_ = &ctx;
        }
        auto reader = start_(**conn, &ctx);
        reader->WaitForInitialMetadata();
        bool acked = ctx.GetServerInitialMetadata().count("seams-subscribed") > 0;
        if (acked) {
          backoff.reset();
          if (resync_next) resync_();
        }
        firstDone();
        resync_next = true;
        pb::Event ev;
        while (acked && reader->Read(&ev)) deliver_(ev);
        grpc::Status st = reader->Finish();
        reader.reset();
        {
          std::lock_guard lock(mu_);
          ctx_ = nullptr;
        }
        if (st.error_code() == grpc::StatusCode::UNAVAILABLE) {
          link_.lost(*conn, Status(Errc::unavailable, st.error_message()));
        }
        delay = backoff.next();
      } else {
        firstDone();
        resync_next = true;
        delay = std::max<Clock::duration>(link_.retryIn(), std::chrono::milliseconds(5));
      }
      std::unique_lock lock(mu_);
      cv_.wait_for(lock, delay, [&] { return stopping_; });
    }
    firstDone();
  }

  GrpcLink& link_;
  Start start_;
  std::function<void(const pb::Event&)> deliver_;
  std::function<void()> resync_;
  std::thread thread_;

  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  bool first_done_ = false;
  grpc::ClientContext* ctx_ = nullptr;  // the stream's, while it is open
};

Result<ReadResult> readOf(Result<pb::Response> r) {
  if (!r) return r.status();
  SEAMS_RETURN_IF_ERROR(errorOf(*r));
  auto* data = r->mutable_read();
  return ReadResult{std::move(*data->mutable_data()), data->version(), data->file_size()};
}

std::uint32_t accessBits(Access a) {
  return static_cast<std::uint32_t>(a);
}

}  // namespace

#define SEAMS_GRPC_CALL(service, Method, arg)                                        \
  (round_trips_.fetch_add(1, std::memory_order_relaxed),                             \
   link_->call([&](GrpcLink::Conn& c, grpc::ClientContext* ctx, pb::Response* out) { \
     return c.service->Method(ctx, arg, out);                                        \
   }))

// ---- Vault ---------------------------------------------------------------------------------

GrpcVaultClient::GrpcVaultClient(ClientOptions options)
    : link_(std::make_unique<GrpcLink>(std::move(options))) {}
GrpcVaultClient::GrpcVaultClient(Vault& local)
    : link_(std::make_unique<GrpcLink>(&local, nullptr)) {}
GrpcVaultClient::~GrpcVaultClient() = default;

namespace {
pb::PathArg pathArg(const VaultPath& path) {
  pb::PathArg a;
  a.set_path(path.str());
  return a;
}
pb::HandleArg handleArg(HandleId handle) {
  pb::HandleArg a;
  a.set_handle(handle);
  return a;
}
pb::CreateArg createArg(const VaultPath& path, std::uint32_t mode) {
  pb::CreateArg a;
  a.set_path(path.str());
  a.set_mode(mode);
  return a;
}
}  // namespace

Result<FileAttr> GrpcVaultClient::stat(const VaultPath& path) {
  return attrOf(SEAMS_GRPC_CALL(vault, Stat, pathArg(path)));
}

Result<std::vector<DirEntry>> GrpcVaultClient::list(const VaultPath& path) {
  auto r = SEAMS_GRPC_CALL(vault, List, pathArg(path));
  if (!r) return r.status();
  SEAMS_RETURN_IF_ERROR(errorOf(*r));
  std::vector<DirEntry> out;
  out.reserve(r->entries().entries_size());
  for (const auto& e : r->entries().entries())
    out.push_back(DirEntry{e.name(), fromWire(e.attr())});
  return out;
}

Result<ReadResult> GrpcVaultClient::read(const VaultPath& path, std::uint64_t offset,
                                         std::uint64_t length) {
  pb::ReadArg a;
  a.set_path(path.str());
  a.set_offset(offset);
  a.set_length(length);
  return readOf(SEAMS_GRPC_CALL(vault, Read, a));
}

Result<FileAttr> GrpcVaultClient::write(const VaultPath& path, std::uint64_t offset,
                                        std::string_view data) {
  pb::WriteArg a;
  a.set_path(path.str());
  a.set_offset(offset);
  a.set_data(data.data(), data.size());
  return attrOf(SEAMS_GRPC_CALL(vault, Write, a));
}

Result<FileAttr> GrpcVaultClient::put(const VaultPath& path, std::string_view data) {
  pb::PutArg a;
  a.set_path(path.str());
  a.set_data(data.data(), data.size());
  return attrOf(SEAMS_GRPC_CALL(vault, Put, a));
}

Result<FileAttr> GrpcVaultClient::create(const VaultPath& path, std::uint32_t mode) {
  return attrOf(SEAMS_GRPC_CALL(vault, Create, createArg(path, mode)));
}

Result<FileAttr> GrpcVaultClient::mkdir(const VaultPath& path, std::uint32_t mode) {
  return attrOf(SEAMS_GRPC_CALL(vault, Mkdir, createArg(path, mode)));
}

Status GrpcVaultClient::unlink(const VaultPath& path) {
  return statusOf(SEAMS_GRPC_CALL(vault, Unlink, pathArg(path)));
}

Status GrpcVaultClient::rmdir(const VaultPath& path) {
  return statusOf(SEAMS_GRPC_CALL(vault, Rmdir, pathArg(path)));
}

Result<FileAttr> GrpcVaultClient::rename(const VaultPath& from, const VaultPath& to) {
  pb::RenameArg a;
  a.set_from(from.str());
  a.set_to(to.str());
  return attrOf(SEAMS_GRPC_CALL(vault, Rename, a));
}

Result<FileAttr> GrpcVaultClient::truncate(const VaultPath& path, std::uint64_t size) {
  pb::TruncateArg a;
  a.set_path(path.str());
  a.set_size(size);
  return attrOf(SEAMS_GRPC_CALL(vault, Truncate, a));
}

Result<FileAttr> GrpcVaultClient::setAttributes(const VaultPath& path, const AttrChange& change) {
  pb::SetAttributesArg a;
  a.set_path(path.str());
  toWire(change, &a);
  return attrOf(SEAMS_GRPC_CALL(vault, SetAttributes, a));
}

Status GrpcVaultClient::fsync(const VaultPath& path) {
  return statusOf(SEAMS_GRPC_CALL(vault, Fsync, pathArg(path)));
}

Status GrpcVaultClient::reconcile(const VaultPath& path) {
  return statusOf(SEAMS_GRPC_CALL(vault, Reconcile, pathArg(path)));
}

Result<OpenedFile> GrpcVaultClient::open(const VaultPath& path, std::uint32_t mode) {
  pb::OpenArg a;
  a.set_path(path.str());
  a.set_mode(mode);
  auto r = SEAMS_GRPC_CALL(vault, Open, a);
  if (!r) return r.status();
  SEAMS_RETURN_IF_ERROR(errorOf(*r));
  if (!r->has_opened()) return Status(Errc::internal, "response without an opened file");
  return fromWire(r->opened());
}

Result<ReadResult> GrpcVaultClient::readHandle(HandleId handle, std::uint64_t offset,
                                               std::uint64_t length) {
  pb::ReadHandleArg a;
  a.set_handle(handle);
  a.set_offset(offset);
  a.set_length(length);
  return readOf(SEAMS_GRPC_CALL(vault, ReadHandle, a));
}

Result<FileAttr> GrpcVaultClient::writeHandle(HandleId handle, std::uint64_t offset,
                                              std::string_view data) {
  pb::WriteHandleArg a;
  a.set_handle(handle);
  a.set_offset(offset);
  a.set_data(data.data(), data.size());
  return attrOf(SEAMS_GRPC_CALL(vault, WriteHandle, a));
}

Result<FileAttr> GrpcVaultClient::statHandle(HandleId handle) {
  return attrOf(SEAMS_GRPC_CALL(vault, StatHandle, handleArg(handle)));
}

Result<FileAttr> GrpcVaultClient::truncateHandle(HandleId handle, std::uint64_t size) {
  pb::TruncateHandleArg a;
  a.set_handle(handle);
  a.set_size(size);
  return attrOf(SEAMS_GRPC_CALL(vault, TruncateHandle, a));
}

Result<ProbeReply> GrpcVaultClient::probe(std::uint64_t work_us, std::uint64_t reply_bytes) {
  pb::ProbeArg a;
  a.set_work_us(work_us);
  a.set_reply_bytes(reply_bytes);
  return probeOf(SEAMS_GRPC_CALL(vault, Probe, a));
}

Status GrpcVaultClient::fsyncHandle(HandleId handle) {
  return statusOf(SEAMS_GRPC_CALL(vault, FsyncHandle, handleArg(handle)));
}

Status GrpcVaultClient::release(HandleId handle) {
  return statusOf(SEAMS_GRPC_CALL(vault, Release, handleArg(handle)));
}

std::unique_ptr<Subscription> GrpcVaultClient::subscribe(ChangeListener listener) {
  auto shared = std::make_shared<ChangeListener>(std::move(listener));
  return std::make_unique<GrpcFeed>(
      *link_,
      [](GrpcLink::Conn& c, grpc::ClientContext* ctx) {
        return c.vault->Subscribe(ctx, pb::SubscribeArg());
      },
      [shared](const pb::Event& ev) {
        if (!ev.has_change()) return;
        auto change = fromWire(ev.change());
        if (change) (*shared)(*change);
      },
      [shared] {
        ChangeEvent resync;
        resync.kind = ChangeEvent::Kind::modified;
        resync.version = 0;
        (*shared)(resync);
      });
}

// ---- Auth ----------------------------------------------------------------------------------

GrpcAuthClient::GrpcAuthClient(ClientOptions options)
    : link_(std::make_unique<GrpcLink>(std::move(options))) {}
GrpcAuthClient::GrpcAuthClient(Auth& local) : link_(std::make_unique<GrpcLink>(nullptr, &local)) {}
GrpcAuthClient::~GrpcAuthClient() = default;

Result<Session> GrpcAuthClient::login(std::string_view user, std::string_view password) {
  pb::LoginArg a;
  a.set_user(user.data(), user.size());
  a.set_password(password.data(), password.size());
  auto r = SEAMS_GRPC_CALL(auth, Login, a);
  if (!r) return r.status();
  SEAMS_RETURN_IF_ERROR(errorOf(*r));
  return Session{r->session().token(), r->session().expires_at_ms()};
}

namespace {
pb::TokenArg tokenArg(std::string_view token) {
  pb::TokenArg a;
  a.set_token(token.data(), token.size());
  return a;
}
pb::RuleArg ruleArg(const Principal& admin, const Rule& rule) {
  pb::RuleArg a;
  toWire(admin, a.mutable_admin());
  toWire(rule, a.mutable_rule());
  return a;
}
}  // namespace

Status GrpcAuthClient::logout(std::string_view token) {
  return statusOf(SEAMS_GRPC_CALL(auth, Logout, tokenArg(token)));
}

Result<Principal> GrpcAuthClient::validate(std::string_view token) {
  return principalOf(SEAMS_GRPC_CALL(auth, Validate, tokenArg(token)));
}

Status GrpcAuthClient::check(const Principal& who, const VaultPath& path, Access access) {
  pb::CheckArg a;
  toWire(who, a.mutable_principal());
  a.set_path(path.str());
  a.set_access(accessBits(access));
  return statusOf(SEAMS_GRPC_CALL(auth, Check, a));
}

Result<Principal> GrpcAuthClient::authorize(std::string_view token, const VaultPath& path,
                                            Access access) {
  pb::AuthorizeArg a;
  a.set_token(token.data(), token.size());
  a.set_path(path.str());
  a.set_access(accessBits(access));
  return principalOf(SEAMS_GRPC_CALL(auth, Authorize, a));
}

Result<Principal> GrpcAuthClient::principalForUid(std::uint32_t uid) {
  pb::UidArg a;
  a.set_uid(uid);
  return principalOf(SEAMS_GRPC_CALL(auth, PrincipalForUid, a));
}

Status GrpcAuthClient::grant(const Principal& admin, const Rule& rule) {
  return statusOf(SEAMS_GRPC_CALL(auth, Grant, ruleArg(admin, rule)));
}

Status GrpcAuthClient::revoke(const Principal& admin, const Rule& rule) {
  return statusOf(SEAMS_GRPC_CALL(auth, Revoke, ruleArg(admin, rule)));
}

Result<std::vector<Rule>> GrpcAuthClient::rules() {
  auto r = SEAMS_GRPC_CALL(auth, Rules, pb::Empty());
  if (!r) return r.status();
  SEAMS_RETURN_IF_ERROR(errorOf(*r));
  std::vector<Rule> out;
  for (const auto& w : r->rules().rules()) {
    auto rule = fromWire(w);
    if (!rule) return rule.status();
    out.push_back(std::move(*rule));
  }
  return out;
}

#undef SEAMS_GRPC_CALL

std::unique_ptr<Subscription> GrpcAuthClient::subscribe(AuthListener listener) {
  auto shared = std::make_shared<AuthListener>(std::move(listener));
  return std::make_unique<GrpcFeed>(
      *link_,
      [](GrpcLink::Conn& c, grpc::ClientContext* ctx) {
        return c.auth->Subscribe(ctx, pb::SubscribeArg());
      },
      [shared](const pb::Event& ev) {
        if (ev.has_auth()) (*shared)(fromWire(ev.auth()));
      },
      [shared] {
        AuthEvent rules;
        rules.kind = AuthEvent::Kind::rules_changed;
        (*shared)(rules);
        AuthEvent sessions;
        sessions.kind = AuthEvent::Kind::session_ended;
        (*shared)(sessions);
      });
}

}  // namespace seams::ipc
