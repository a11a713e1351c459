#include "ipc/rpc/capnp_client.h"

#include <capnp/serialize.h>

#include "ipc/rpc/capnp_channel.h"
#include "ipc/rpc/capnp_codec.h"
#include "ipc/transport/wire.h"

namespace seams::ipc {
namespace {

using namespace capnpcodec;  // NOLINT(google-build-using-namespace): codec helpers, this file only

// One call through the codec: over the channel (socket mode) or serialised to bytes and served
// in-process (loopback). `makeRequest(client)` starts the RPC, `encode(params)` fills it,
// `serve(local, params, results)` answers it in loopback, `decode(results)` reads the answer.
template <typename Iface, typename Params, typename Results, typename Local, typename MakeRequest,
          typename Encode, typename Serve, typename Decode>
auto invoke(CapnpChannel* channel, Local* local, std::size_t max_bytes,
            std::atomic<std::uint64_t>& round_trips, bool shared, MakeRequest&& makeRequest,
            Encode&& encode, Serve&& serve, Decode&& decode)
    -> decltype(decode(std::declval<typename Results::Reader>())) {
  using R = decltype(decode(std::declval<typename Results::Reader>()));
  round_trips.fetch_add(1, std::memory_order_relaxed);
  if (local != nullptr) {
    try {
      auto options = readerOptions(max_bytes);
      capnp::MallocMessageBuilder request(64);
      encode(request.initRoot<Params>());
      auto request_words = capnp::messageToFlatArray(request);
      capnp::FlatArrayMessageReader request_in(request_words, options);
      capnp::MallocMessageBuilder response(64);
      serve(*local, request_in.getRoot<Params>(), response.initRoot<Results>());
      auto response_words = capnp::messageToFlatArray(response);
      capnp::FlatArrayMessageReader response_in(response_words, options);
      return decode(response_in.getRoot<Results>());
    } catch (const kj::Exception& e) {
      return R(statusFromKj(e));
    }
  }
  return channel->call<R>(
      [&](capnp::Capability::Client& cap) {
        auto req = makeRequest(cap.castAs<Iface>());
        encode(req);
        return req.send().then(
            [&decode](capnp::Response<Results>&& resp) -> R { return decode(resp); });
      },
      shared);
}

template <typename Results>
Result<FileAttr> decodeAttr(Results r) {
  SEAMS_RETURN_IF_ERROR(errorOf(r));
  return fromWire(r.getAttr());
}

template <typename Results>
Result<Principal> decodePrincipal(Results r) {
  SEAMS_RETURN_IF_ERROR(errorOf(r));
  return fromWire(r.getPrincipal());
}

template <typename Results>
Status decodeStatus(Results r) {
  return errorOf(r);
}

// A Subscription that ends a feed: on the channel's loop (socket mode) or locally (loopback).
class FeedSubscription final : public Subscription {
 public:
  FeedSubscription(CapnpChannel& channel, std::unique_ptr<CapnpChannel::Feed> feed)
      : channel_(channel), feed_(std::move(feed)) {
    channel_.addFeed(feed_.get());
  }
  ~FeedSubscription() override {
    channel_.removeFeed(feed_.get());
    // The feed holds capabilities: release them on the loop thread.
    auto* raw = feed_.release();
    channel_.runOnLoop([raw] { delete raw; });
  }

 private:
  CapnpChannel& channel_;
  std::unique_ptr<CapnpChannel::Feed> feed_;
};

// State shared by a feed and the listener capability it hands out; loop thread only. `live`
// turns false when the feed is removed, so a late event never reaches a dead listener.
template <typename Fn>
struct ListenerState {
  Fn fn;
  bool live = true;
};

class ChangeListenerImpl final : public wire::ChangeListener::Server {
 public:
  explicit ChangeListenerImpl(std::shared_ptr<ListenerState<ChangeListener>> state)
      : state_(std::move(state)) {}
  kj::Promise<void> changed(ChangedContext ctx) override {
    auto ev = fromWire(ctx.getParams().getEvent());
    if (ev && state_->live) state_->fn(*ev);
    return kj::READY_NOW;
  }

 private:
  std::shared_ptr<ListenerState<ChangeListener>> state_;
};

class AuthListenerImpl final : public wire::AuthListener::Server {
 public:
  explicit AuthListenerImpl(std::shared_ptr<ListenerState<AuthListener>> state)
      : state_(std::move(state)) {}
  kj::Promise<void> event(EventContext ctx) override {
    if (state_->live) state_->fn(fromWire(ctx.getParams().getEvent()));
    return kj::READY_NOW;
  }

 private:
  std::shared_ptr<ListenerState<AuthListener>> state_;
};

class VaultFeed final : public CapnpChannel::Feed {
 public:
  explicit VaultFeed(ChangeListener fn)
      : state_(std::make_shared<ListenerState<ChangeListener>>(
            ListenerState<ChangeListener>{std::move(fn)})) {}
  ~VaultFeed() noexcept(false) override { state_->live = false; }

  kj::Promise<void> attach(capnp::Capability::Client& bootstrap) override {
    auto req = bootstrap.castAs<wire::Vault>().subscribeRequest();
    req.setListener(kj::heap<ChangeListenerImpl>(state_));
    auto promise = req.send();
    handle_ = promise.getHandle();
    return promise.ignoreResult();
  }
  void resync() override {
    if (state_->live) deliverVaultResync(state_->fn);
  }
  void detach() override { handle_ = nullptr; }

 private:
  std::shared_ptr<ListenerState<ChangeListener>> state_;
  kj::Maybe<wire::Handle::Client> handle_;
};

class AuthFeed final : public CapnpChannel::Feed {
 public:
  explicit AuthFeed(AuthListener fn)
      : state_(std::make_shared<ListenerState<AuthListener>>(
            ListenerState<AuthListener>{std::move(fn)})) {}
  ~AuthFeed() noexcept(false) override { state_->live = false; }

  kj::Promise<void> attach(capnp::Capability::Client& bootstrap) override {
    auto req = bootstrap.castAs<wire::Auth>().subscribeRequest();
    req.setListener(kj::heap<AuthListenerImpl>(state_));
    auto promise = req.send();
    handle_ = promise.getHandle();
    return promise.ignoreResult();
  }
  void resync() override {
    if (state_->live) deliverAuthResync(state_->fn);
  }
  void detach() override { handle_ = nullptr; }

 private:
  std::shared_ptr<ListenerState<AuthListener>> state_;
  kj::Maybe<wire::Handle::Client> handle_;
};

std::string roundTripEvent(const ChangeEvent& ev, ChangeEvent* out) {
  capnp::MallocMessageBuilder msg(64);
  toWire(ev, msg.initRoot<wire::ChangeEvent>());
  auto words = capnp::messageToFlatArray(msg);
  capnp::FlatArrayMessageReader in(words);
  auto decoded = fromWire(in.getRoot<wire::ChangeEvent>());
  if (!decoded) return decoded.status().toString();
  *out = std::move(*decoded);
  return {};
}

AuthEvent roundTripEvent(const AuthEvent& ev) {
  capnp::MallocMessageBuilder msg(64);
  toWire(ev, msg.initRoot<wire::AuthEvent>());
  auto words = capnp::messageToFlatArray(msg);
  capnp::FlatArrayMessageReader in(words);
  return fromWire(in.getRoot<wire::AuthEvent>());
}

}  // namespace

// ---- Vault ---------------------------------------------------------------------------------

CapnpVaultClient::CapnpVaultClient(ClientOptions options)
    : max_message_bytes_(options.max_message_bytes) {
  channel_ = std::make_unique<CapnpChannel>(std::move(options));
}

// Loopback is one connection: the same per-connection view of the vault a server gives.
CapnpVaultClient::CapnpVaultClient(Vault& local)
    : loopback_(std::make_unique<LoopbackPeer>(&local, nullptr)), local_(loopback_->vault()) {}

CapnpVaultClient::~CapnpVaultClient() = default;

// SEAMS_VAULT_CALL(Name, makeRequest, encode, serve, decode): see invoke().
#define SEAMS_VAULT_CALL(Name, ...)                                           \
  invoke<wire::Vault, wire::Vault::Name##Params, wire::Vault::Name##Results>( \
      channel_.get(), local_, max_message_bytes_, round_trips_, false, __VA_ARGS__)
// open(): on the stub's shared connection, which then stays up while the stub lives and keeps
// the client's handles alive at the server when its per-thread connections come and go
// (capnp_client.h, "Handles").
#define SEAMS_VAULT_ANCHOR_CALL(Name, ...)                                    \
  invoke<wire::Vault, wire::Vault::Name##Params, wire::Vault::Name##Results>( \
      channel_.get(), local_, max_message_bytes_, round_trips_, true, __VA_ARGS__)

Result<FileAttr> CapnpVaultClient::stat(const VaultPath& path) {
  return SEAMS_VAULT_CALL(
      Stat, [](wire::Vault::Client c) { return c.statRequest(); },
      [&](wire::Vault::StatParams::Builder p) { p.setPath(asText(path.str())); }, serveStat,
      [](wire::Vault::StatResults::Reader r) { return decodeAttr(r); });
}

Result<std::vector<DirEntry>> CapnpVaultClient::list(const VaultPath& path) {
  return SEAMS_VAULT_CALL(
      List, [](wire::Vault::Client c) { return c.listRequest(); },
      [&](wire::Vault::ListParams::Builder p) { p.setPath(asText(path.str())); }, serveList,
      [](wire::Vault::ListResults::Reader r) -> Result<std::vector<DirEntry>> {
        SEAMS_RETURN_IF_ERROR(errorOf(r));
        std::vector<DirEntry> out;
        out.reserve(r.getEntries().size());
        for (auto e : r.getEntries()) {
          out.push_back(DirEntry{std::string(view(e.getName())), fromWire(e.getAttr())});
        }
        return out;
      });
}

Result<ReadResult> CapnpVaultClient::read(const VaultPath& path, std::uint64_t offset,
                                          std::uint64_t length) {
  return SEAMS_VAULT_CALL(
      Read, [](wire::Vault::Client c) { return c.readRequest(); },
      [&](wire::Vault::ReadParams::Builder p) {
        p.setPath(asText(path.str()));
        p.setOffset(offset);
        p.setLength(length);
      },
      serveRead,
      [](wire::Vault::ReadResults::Reader r) -> Result<ReadResult> {
        SEAMS_RETURN_IF_ERROR(errorOf(r));
        return ReadResult{std::string(view(r.getData())), r.getVersion(), r.getFileSize()};
      });
}

Result<FileAttr> CapnpVaultClient::write(const VaultPath& path, std::uint64_t offset,
                                         std::string_view bytes) {
  return SEAMS_VAULT_CALL(
      Write, [](wire::Vault::Client c) { return c.writeRequest(); },
      [&](wire::Vault::WriteParams::Builder p) {
        p.setPath(asText(path.str()));
        p.setOffset(offset);
        p.setData(asData(bytes));
      },
      serveWrite, [](wire::Vault::WriteResults::Reader r) { return decodeAttr(r); });
}

Result<FileAttr> CapnpVaultClient::put(const VaultPath& path, std::string_view bytes) {
  return SEAMS_VAULT_CALL(
      Put, [](wire::Vault::Client c) { return c.putRequest(); },
      [&](wire::Vault::PutParams::Builder p) {
        p.setPath(asText(path.str()));
        p.setData(asData(bytes));
      },
      servePut, [](wire::Vault::PutResults::Reader r) { return decodeAttr(r); });
}

Result<FileAttr> CapnpVaultClient::create(const VaultPath& path, std::uint32_t mode) {
  return SEAMS_VAULT_CALL(
      Create, [](wire::Vault::Client c) { return c.createRequest(); },
      [&](wire::Vault::CreateParams::Builder p) {
        p.setPath(asText(path.str()));
        p.setMode(mode);
      },
      serveCreate, [](wire::Vault::CreateResults::Reader r) { return decodeAttr(r); });
}

Result<FileAttr> CapnpVaultClient::mkdir(const VaultPath& path, std::uint32_t mode) {
  return SEAMS_VAULT_CALL(
      Mkdir, [](wire::Vault::Client c) { return c.mkdirRequest(); },
      [&](wire::Vault::MkdirParams::Builder p) {
        p.setPath(asText(path.str()));
        p.setMode(mode);
      },
      serveMkdir, [](wire::Vault::MkdirResults::Reader r) { return decodeAttr(r); });
}

Status CapnpVaultClient::unlink(const VaultPath& path) {
  return SEAMS_VAULT_CALL(
      Unlink, [](wire::Vault::Client c) { return c.unlinkRequest(); },
      [&](wire::Vault::UnlinkParams::Builder p) { p.setPath(asText(path.str())); }, serveUnlink,
      [](wire::Vault::UnlinkResults::Reader r) { return decodeStatus(r); });
}

Status CapnpVaultClient::rmdir(const VaultPath& path) {
  return SEAMS_VAULT_CALL(
      Rmdir, [](wire::Vault::Client c) { return c.rmdirRequest(); },
      [&](wire::Vault::RmdirParams::Builder p) { p.setPath(asText(path.str())); }, serveRmdir,
      [](wire::Vault::RmdirResults::Reader r) { return decodeStatus(r); });
}

Result<FileAttr> CapnpVaultClient::rename(const VaultPath& from, const VaultPath& to) {
  return SEAMS_VAULT_CALL(
      Rename, [](wire::Vault::Client c) { return c.renameRequest(); },
      [&](wire::Vault::RenameParams::Builder p) {
        p.setFrom(asText(from.str()));
        p.setTo(asText(to.str()));
      },
      serveRename, [](wire::Vault::RenameResults::Reader r) { return decodeAttr(r); });
}

Result<FileAttr> CapnpVaultClient::truncate(const VaultPath& path, std::uint64_t size) {
  return SEAMS_VAULT_CALL(
      Truncate, [](wire::Vault::Client c) { return c.truncateRequest(); },
      [&](wire::Vault::TruncateParams::Builder p) {
        p.setPath(asText(path.str()));
        p.setSize(size);
      },
      serveTruncate, [](wire::Vault::TruncateResults::Reader r) { return decodeAttr(r); });
}

Result<FileAttr> CapnpVaultClient::setAttributes(const VaultPath& path, const AttrChange& change) {
  return SEAMS_VAULT_CALL(
      SetAttributes, [](wire::Vault::Client c) { return c.setAttributesRequest(); },
      [&](wire::Vault::SetAttributesParams::Builder p) {
        p.setPath(asText(path.str()));
        toWire(change, p.initChange());
      },
      serveSetAttributes,
      [](wire::Vault::SetAttributesResults::Reader r) { return decodeAttr(r); });
}

Status CapnpVaultClient::fsync(const VaultPath& path) {
  return SEAMS_VAULT_CALL(
      Fsync, [](wire::Vault::Client c) { return c.fsyncRequest(); },
      [&](wire::Vault::FsyncParams::Builder p) { p.setPath(asText(path.str())); }, serveFsync,
      [](wire::Vault::FsyncResults::Reader r) { return decodeStatus(r); });
}

Status CapnpVaultClient::reconcile(const VaultPath& path) {
  return SEAMS_VAULT_CALL(
      Reconcile, [](wire::Vault::Client c) { return c.reconcileRequest(); },
      [&](wire::Vault::ReconcileParams::Builder p) { p.setPath(asText(path.str())); },
      serveReconcile, [](wire::Vault::ReconcileResults::Reader r) { return decodeStatus(r); });
}

Result<ProbeReply> CapnpVaultClient::probe(std::uint64_t work_us, std::uint64_t reply_bytes) {
  return SEAMS_VAULT_CALL(
      Probe, [](wire::Vault::Client c) { return c.probeRequest(); },
      [&](wire::Vault::ProbeParams::Builder p) {
        p.setWorkUs(work_us);
        p.setReplyBytes(reply_bytes);
      },
      serveProbe,
      [](wire::Vault::ProbeResults::Reader r) -> Result<ProbeReply> {
        SEAMS_RETURN_IF_ERROR(errorOf(r));
        return ProbeReply{std::string(view(r.getData())), r.getIterationsPerUs()};
      });
}

Result<OpenedFile> CapnpVaultClient::open(const VaultPath& path, std::uint32_t mode) {
  return SEAMS_VAULT_ANCHOR_CALL(
      Open, [](wire::Vault::Client c) { return c.openRequest(); },
      [&](wire::Vault::OpenParams::Builder p) {
        p.setPath(asText(path.str()));
        p.setMode(mode);
      },
      serveOpen,
      [](wire::Vault::OpenResults::Reader r) -> Result<OpenedFile> {
        SEAMS_RETURN_IF_ERROR(errorOf(r));
        return fromWire(r.getOpened());
      });
}

Result<ReadResult> CapnpVaultClient::readHandle(HandleId handle, std::uint64_t offset,
                                                std::uint64_t length) {
  return SEAMS_VAULT_CALL(
      ReadHandle, [](wire::Vault::Client c) { return c.readHandleRequest(); },
      [&](wire::Vault::ReadHandleParams::Builder p) {
        p.setHandle(handle);
        p.setOffset(offset);
        p.setLength(length);
      },
      serveReadHandle,
      [](wire::Vault::ReadHandleResults::Reader r) -> Result<ReadResult> {
        SEAMS_RETURN_IF_ERROR(errorOf(r));
        return ReadResult{std::string(view(r.getData())), r.getVersion(), r.getFileSize()};
      });
}

Result<FileAttr> CapnpVaultClient::writeHandle(HandleId handle, std::uint64_t offset,
                                               std::string_view bytes) {
  return SEAMS_VAULT_CALL(
      WriteHandle, [](wire::Vault::Client c) { return c.writeHandleRequest(); },
      [&](wire::Vault::WriteHandleParams::Builder p) {
        p.setHandle(handle);
        p.setOffset(offset);
        p.setData(asData(bytes));
      },
      serveWriteHandle, [](wire::Vault::WriteHandleResults::Reader r) { return decodeAttr(r); });
}

Result<FileAttr> CapnpVaultClient::statHandle(HandleId handle) {
  return SEAMS_VAULT_CALL(
      StatHandle, [](wire::Vault::Client c) { return c.statHandleRequest(); },
      [&](wire::Vault::StatHandleParams::Builder p) { p.setHandle(handle); }, serveStatHandle,
      [](wire::Vault::StatHandleResults::Reader r) { return decodeAttr(r); });
}

Result<FileAttr> CapnpVaultClient::truncateHandle(HandleId handle, std::uint64_t size) {
  return SEAMS_VAULT_CALL(
      TruncateHandle, [](wire::Vault::Client c) { return c.truncateHandleRequest(); },
      [&](wire::Vault::TruncateHandleParams::Builder p) {
        p.setHandle(handle);
        p.setSize(size);
      },
      serveTruncateHandle,
      [](wire::Vault::TruncateHandleResults::Reader r) { return decodeAttr(r); });
}

Status CapnpVaultClient::fsyncHandle(HandleId handle) {
  return SEAMS_VAULT_CALL(
      FsyncHandle, [](wire::Vault::Client c) { return c.fsyncHandleRequest(); },
      [&](wire::Vault::FsyncHandleParams::Builder p) { p.setHandle(handle); }, serveFsyncHandle,
      [](wire::Vault::FsyncHandleResults::Reader r) { return decodeStatus(r); });
}

Status CapnpVaultClient::release(HandleId handle) {
  return SEAMS_VAULT_CALL(
      ReleaseHandle, [](wire::Vault::Client c) { return c.releaseHandleRequest(); },
      [&](wire::Vault::ReleaseHandleParams::Builder p) { p.setHandle(handle); }, serveReleaseHandle,
      [](wire::Vault::ReleaseHandleResults::Reader r) { return decodeStatus(r); });
}

#undef SEAMS_VAULT_ANCHOR_CALL
#undef SEAMS_VAULT_CALL

std::vector<Result<FileAttr>> CapnpVaultClient::statMany(const std::vector<VaultPath>& paths) {
  if (local_ != nullptr) {
    std::vector<Result<FileAttr>> out;
    for (const auto& p : paths) out.push_back(stat(p));
    round_trips_.fetch_sub(paths.size() - std::min<std::size_t>(paths.size(), 1));
    return out;
  }
  round_trips_.fetch_add(1, std::memory_order_relaxed);
  using All = std::vector<Result<FileAttr>>;
  auto all = channel_->call<Result<All>>([&](capnp::Capability::Client& cap) {
    auto vault = cap.castAs<wire::Vault>();
    auto promises = kj::heapArrayBuilder<kj::Promise<Result<FileAttr>>>(paths.size());
    for (const auto& p : paths) {
      auto req = vault.statRequest();
      req.setPath(asText(p.str()));
      promises.add(req.send().then([](capnp::Response<wire::Vault::StatResults>&& r) {
        return decodeAttr(wire::Vault::StatResults::Reader(r));
      }));
    }
    return kj::joinPromises(promises.finish()).then([](kj::Array<Result<FileAttr>>&& results) {
      All out;
      for (auto& r : results) out.push_back(kj::mv(r));
      return Result<All>(std::move(out));
    });
  });
  if (all.ok()) return std::move(*all);
  return All(paths.size(), Result<FileAttr>(all.status()));
}

std::unique_ptr<Subscription> CapnpVaultClient::subscribe(ChangeListener listener) {
  if (local_ != nullptr) {
    return local_->subscribe([fn = std::move(listener)](const ChangeEvent& ev) {
      ChangeEvent decoded;
      if (roundTripEvent(ev, &decoded).empty()) fn(decoded);
    });
  }
  return std::make_unique<FeedSubscription>(*channel_,
                                            std::make_unique<VaultFeed>(std::move(listener)));
}

// ---- Auth ----------------------------------------------------------------------------------

CapnpAuthClient::CapnpAuthClient(ClientOptions options)
    : max_message_bytes_(options.max_message_bytes) {
  channel_ = std::make_unique<CapnpChannel>(std::move(options));
}

CapnpAuthClient::CapnpAuthClient(Auth& local) : local_(&local) {}

CapnpAuthClient::~CapnpAuthClient() = default;

#define SEAMS_AUTH_CALL(Name, ...)                                         \
  invoke<wire::Auth, wire::Auth::Name##Params, wire::Auth::Name##Results>( \
      channel_.get(), local_, max_message_bytes_, round_trips_, false, __VA_ARGS__)

Result<Session> CapnpAuthClient::login(std::string_view user, std::string_view password) {
  return SEAMS_AUTH_CALL(
      Login, [](wire::Auth::Client c) { return c.loginRequest(); },
      [&](wire::Auth::LoginParams::Builder p) {
        setText(p.initUser(user.size()), user);
        setText(p.initPassword(password.size()), password);
      },
      serveLogin,
      [](wire::Auth::LoginResults::Reader r) -> Result<Session> {
        SEAMS_RETURN_IF_ERROR(errorOf(r));
        return Session{std::string(view(r.getSession().getToken())),
                       r.getSession().getExpiresAtMs()};
      });
}

Status CapnpAuthClient::logout(std::string_view token) {
  return SEAMS_AUTH_CALL(
      Logout, [](wire::Auth::Client c) { return c.logoutRequest(); },
      [&](wire::Auth::LogoutParams::Builder p) { setText(p.initToken(token.size()), token); },
      serveLogout, [](wire::Auth::LogoutResults::Reader r) { return decodeStatus(r); });
}

Result<Principal> CapnpAuthClient::validate(std::string_view token) {
  return SEAMS_AUTH_CALL(
      Validate, [](wire::Auth::Client c) { return c.validateRequest(); },
      [&](wire::Auth::ValidateParams::Builder p) { setText(p.initToken(token.size()), token); },
      serveValidate, [](wire::Auth::ValidateResults::Reader r) { return decodePrincipal(r); });
}

Status CapnpAuthClient::check(const Principal& who, const VaultPath& path, Access access) {
  return SEAMS_AUTH_CALL(
      Check, [](wire::Auth::Client c) { return c.checkRequest(); },
      [&](wire::Auth::CheckParams::Builder p) {
        toWire(who, p.initPrincipal());
        p.setPath(asText(path.str()));
        p.setAccess(static_cast<std::uint8_t>(access));
      },
      serveCheck, [](wire::Auth::CheckResults::Reader r) { return decodeStatus(r); });
}

Result<Principal> CapnpAuthClient::authorize(std::string_view token, const VaultPath& path,
                                             Access access) {
  return SEAMS_AUTH_CALL(
      Authorize, [](wire::Auth::Client c) { return c.authorizeRequest(); },
      [&](wire::Auth::AuthorizeParams::Builder p) {
        setText(p.initToken(token.size()), token);
        p.setPath(asText(path.str()));
        p.setAccess(static_cast<std::uint8_t>(access));
      },
      serveAuthorize, [](wire::Auth::AuthorizeResults::Reader r) { return decodePrincipal(r); });
}

Result<Principal> CapnpAuthClient::principalForUid(std::uint32_t uid) {
  return SEAMS_AUTH_CALL(
      PrincipalForUid, [](wire::Auth::Client c) { return c.principalForUidRequest(); },
      [&](wire::Auth::PrincipalForUidParams::Builder p) { p.setUid(uid); }, servePrincipalForUid,
      [](wire::Auth::PrincipalForUidResults::Reader r) { return decodePrincipal(r); });
}

Status CapnpAuthClient::grant(const Principal& admin, const Rule& rule) {
  return SEAMS_AUTH_CALL(
      Grant, [](wire::Auth::Client c) { return c.grantRequest(); },
      [&](wire::Auth::GrantParams::Builder p) {
        toWire(admin, p.initAdmin());
        toWire(rule, p.initRule());
      },
      serveGrant, [](wire::Auth::GrantResults::Reader r) { return decodeStatus(r); });
}

Status CapnpAuthClient::revoke(const Principal& admin, const Rule& rule) {
  return SEAMS_AUTH_CALL(
      Revoke, [](wire::Auth::Client c) { return c.revokeRequest(); },
      [&](wire::Auth::RevokeParams::Builder p) {
        toWire(admin, p.initAdmin());
        toWire(rule, p.initRule());
      },
      serveRevoke, [](wire::Auth::RevokeResults::Reader r) { return decodeStatus(r); });
}

Result<std::vector<Rule>> CapnpAuthClient::rules() {
  return SEAMS_AUTH_CALL(
      Rules, [](wire::Auth::Client c) { return c.rulesRequest(); },
      [](wire::Auth::RulesParams::Builder) {}, serveRules,
      [](wire::Auth::RulesResults::Reader r) -> Result<std::vector<Rule>> {
        SEAMS_RETURN_IF_ERROR(errorOf(r));
        std::vector<Rule> out;
        for (auto w : r.getRules()) {
          auto rule = fromWire(w);
          if (!rule) return rule.status();
          out.push_back(std::move(*rule));
        }
        return out;
      });
}

#undef SEAMS_AUTH_CALL

std::unique_ptr<Subscription> CapnpAuthClient::subscribe(AuthListener listener) {
  if (local_ != nullptr) {
    return local_->subscribe(
        [fn = std::move(listener)](const AuthEvent& ev) { fn(roundTripEvent(ev)); });
  }
  return std::make_unique<FeedSubscription>(*channel_,
                                            std::make_unique<AuthFeed>(std::move(listener)));
}

Result<Principal> CapnpAuthClient::authorizePipelined(std::string_view token, const VaultPath& path,
                                                      Access access) {
  if (local_ != nullptr) return authorize(token, path, access);
  round_trips_.fetch_add(1, std::memory_order_relaxed);
  return channel_->call<Result<Principal>>([&](capnp::Capability::Client& cap) {
    auto session_req = cap.castAs<wire::Auth>().sessionRequest();
    setText(session_req.initToken(token.size()), token);
    auto session = session_req.send().getSession();  // pipelined: not yet answered
    auto check_req = session.checkRequest();
    check_req.setPath(asText(path.str()));
    check_req.setAccess(static_cast<std::uint8_t>(access));
    return check_req.send().then([](capnp::Response<wire::SessionRef::CheckResults>&& r) {
      return decodePrincipal(wire::SessionRef::CheckResults::Reader(r));
    });
  });
}

}  // namespace seams::ipc
