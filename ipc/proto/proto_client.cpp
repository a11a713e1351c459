#include "ipc/proto/proto_client.h"

#include <mutex>

#include "ipc/proto/proto_channel.h"
#include "ipc/transport/wire.h"

namespace seams::ipc {

using namespace protocodec;  // NOLINT(google-build-using-namespace): codec helpers, this file only

namespace {

std::uint32_t accessBits(Access a) {
  return static_cast<std::uint32_t>(a);
}

class FeedSubscription final : public Subscription {
 public:
  FeedSubscription(ProtoChannel& channel, std::uint64_t key) : channel_(channel), key_(key) {}
  ~FeedSubscription() override { channel_.removeFeed(key_); }

 private:
  ProtoChannel& channel_;
  std::uint64_t key_;
};

}  // namespace

// ---- Vault ---------------------------------------------------------------------------------

ProtoVaultClient::ProtoVaultClient(ClientOptions options)
    : channel_(makeSocketChannel(std::move(options))) {}
ProtoVaultClient::ProtoVaultClient(Vault& local) : channel_(makeLoopbackChannel(&local, nullptr)) {}
ProtoVaultClient::~ProtoVaultClient() = default;

#define SEAMS_CALL(build)                                 \
  [&] {                                                   \
    round_trips_.fetch_add(1, std::memory_order_relaxed); \
    pb::Request req;                                      \
    build;                                                \
    return channel_->call(req);                           \
  }()
// open(): on the stub's shared connection, which then stays up while the stub lives and keeps
// the client's handles alive at the server when its per-thread connections come and go
// (proto_client.h, "Handles").
#define SEAMS_ANCHOR_CALL(build)                             \
  [&] {                                                      \
    round_trips_.fetch_add(1, std::memory_order_relaxed);    \
    pb::Request req;                                         \
    build;                                                   \
    return channel_->call(req, ProtoChannel::Route::shared); \
  }()

Result<FileAttr> ProtoVaultClient::stat(const VaultPath& path) {
  return attrOf(SEAMS_CALL(req.mutable_stat()->set_path(path.str())));
}

std::vector<Result<FileAttr>> ProtoVaultClient::statMany(const std::vector<VaultPath>& paths) {
  round_trips_.fetch_add(1, std::memory_order_relaxed);
  std::vector<pb::Request> reqs(paths.size());
  for (std::size_t i = 0; i < paths.size(); ++i) reqs[i].mutable_stat()->set_path(paths[i].str());
  auto responses = channel_->callMany(reqs, ProtoChannel::Route::any);
  std::vector<Result<FileAttr>> out;
  out.reserve(responses.size());
  for (auto& r : responses) out.push_back(attrOf(r));
  return out;
}

Result<std::vector<DirEntry>> ProtoVaultClient::list(const VaultPath& path) {
  auto r = SEAMS_CALL(req.mutable_list()->set_path(path.str()));
  if (!r) return r.status();
  SEAMS_RETURN_IF_ERROR(errorOf(*r));
  std::vector<DirEntry> out;
  out.reserve(r->entries().entries_size());
  for (const auto& e : r->entries().entries())
    out.push_back(DirEntry{e.name(), fromWire(e.attr())});
  return out;
}

Result<ReadResult> ProtoVaultClient::read(const VaultPath& path, std::uint64_t offset,
                                          std::uint64_t length) {
  auto r = SEAMS_CALL({
    auto* a = req.mutable_read();
    a->set_path(path.str());
    a->set_offset(offset);
    a->set_length(length);
  });
  if (!r) return r.status();
  SEAMS_RETURN_IF_ERROR(errorOf(*r));
  auto* data = r->mutable_read();
  return ReadResult{std::move(*data->mutable_data()), data->version(), data->file_size()};
}

Result<FileAttr> ProtoVaultClient::write(const VaultPath& path, std::uint64_t offset,
                                         std::string_view data) {
  return attrOf(SEAMS_CALL({
    auto* a = req.mutable_write();
    a->set_path(path.str());
    a->set_offset(offset);
    a->set_data(data.data(), data.size());
  }));
}

Result<FileAttr> ProtoVaultClient::put(const VaultPath& path, std::string_view data) {
  return attrOf(SEAMS_CALL({
    auto* a = req.mutable_put();
    a->set_path(path.str());
    a->set_data(data.data(), data.size());
  }));
}

Result<FileAttr> ProtoVaultClient::create(const VaultPath& path, std::uint32_t mode) {
  return attrOf(SEAMS_CALL({
    req.mutable_create()->set_path(path.str());
    req.mutable_create()->set_mode(mode);
  }));
}

Result<FileAttr> ProtoVaultClient::mkdir(const VaultPath& path, std::uint32_t mode) {
  return attrOf(SEAMS_CALL({
    req.mutable_mkdir()->set_path(path.str());
    req.mutable_mkdir()->set_mode(mode);
  }));
}

Status ProtoVaultClient::unlink(const VaultPath& path) {
  return statusOf(SEAMS_CALL(req.mutable_unlink()->set_path(path.str())));
}

Status ProtoVaultClient::rmdir(const VaultPath& path) {
  return statusOf(SEAMS_CALL(req.mutable_rmdir()->set_path(path.str())));
}

Result<FileAttr> ProtoVaultClient::rename(const VaultPath& from, const VaultPath& to) {
  return attrOf(SEAMS_CALL({
    req.mutable_rename()->set_from(from.str());
    req.mutable_rename()->set_to(to.str());
  }));
}

Result<FileAttr> ProtoVaultClient::truncate(const VaultPath& path, std::uint64_t size) {
  return attrOf(SEAMS_CALL({
    req.mutable_truncate()->set_path(path.str());
    req.mutable_truncate()->set_size(size);
  }));
}

Result<FileAttr> ProtoVaultClient::setAttributes(const VaultPath& path, const AttrChange& change) {
  return attrOf(SEAMS_CALL({
    auto* arg = req.mutable_set_attributes();
    arg->set_path(path.str());
    toWire(change, arg);
  }));
}

Status ProtoVaultClient::fsync(const VaultPath& path) {
  return statusOf(SEAMS_CALL(req.mutable_fsync()->set_path(path.str())));
}

Status ProtoVaultClient::reconcile(const VaultPath& path) {
  return statusOf(SEAMS_CALL(req.mutable_reconcile()->set_path(path.str())));
}

Result<OpenedFile> ProtoVaultClient::open(const VaultPath& path, std::uint32_t mode) {
  auto r = SEAMS_ANCHOR_CALL({
    req.mutable_open()->set_path(path.str());
    req.mutable_open()->set_mode(mode);
  });
  if (!r) return r.status();
  SEAMS_RETURN_IF_ERROR(errorOf(*r));
  if (!r->has_opened()) return Status(Errc::internal, "response without an opened file");
  return fromWire(r->opened());
}

Result<ReadResult> ProtoVaultClient::readHandle(HandleId handle, std::uint64_t offset,
                                                std::uint64_t length) {
  auto r = SEAMS_CALL({
    auto* a = req.mutable_read_handle();
    a->set_handle(handle);
    a->set_offset(offset);
    a->set_length(length);
  });
  if (!r) return r.status();
  SEAMS_RETURN_IF_ERROR(errorOf(*r));
  auto* data = r->mutable_read();
  return ReadResult{std::move(*data->mutable_data()), data->version(), data->file_size()};
}

Result<FileAttr> ProtoVaultClient::writeHandle(HandleId handle, std::uint64_t offset,
                                               std::string_view data) {
  return attrOf(SEAMS_CALL({
    auto* a = req.mutable_write_handle();
    a->set_handle(handle);
    a->set_offset(offset);
    a->set_data(data.data(), data.size());
  }));
}

Result<FileAttr> ProtoVaultClient::statHandle(HandleId handle) {
  return attrOf(SEAMS_CALL(req.mutable_stat_handle()->set_handle(handle)));
}

Result<FileAttr> ProtoVaultClient::truncateHandle(HandleId handle, std::uint64_t size) {
  return attrOf(SEAMS_CALL({
    req.mutable_truncate_handle()->set_handle(handle);
    req.mutable_truncate_handle()->set_size(size);
  }));
}

Status ProtoVaultClient::fsyncHandle(HandleId handle) {
  return statusOf(SEAMS_CALL(req.mutable_fsync_handle()->set_handle(handle)));
}

Status ProtoVaultClient::release(HandleId handle) {
  return statusOf(SEAMS_CALL(req.mutable_release()->set_handle(handle)));
}

Result<ProbeReply> ProtoVaultClient::probe(std::uint64_t work_us, std::uint64_t reply_bytes) {
  return probeOf(SEAMS_CALL({
    auto* a = req.mutable_probe();
    a->set_work_us(work_us);
    a->set_reply_bytes(reply_bytes);
  }));
}

std::unique_ptr<Subscription> ProtoVaultClient::subscribe(ChangeListener listener) {
  pb::Request start;
  start.mutable_vault_subscribe();
  auto shared = std::make_shared<ChangeListener>(std::move(listener));
  auto key = channel_->addFeed(
      std::move(start),
      [shared](const pb::Event& ev) {
        if (!ev.has_change()) return;
        auto change = fromWire(ev.change());
        if (change) (*shared)(*change);
      },
      [shared] { deliverVaultResync(*shared); });
  return std::make_unique<FeedSubscription>(*channel_, key);
}

// ---- Auth ----------------------------------------------------------------------------------

ProtoAuthClient::ProtoAuthClient(ClientOptions options)
    : channel_(makeSocketChannel(std::move(options))) {}
ProtoAuthClient::ProtoAuthClient(Auth& local) : channel_(makeLoopbackChannel(nullptr, &local)) {}
ProtoAuthClient::~ProtoAuthClient() = default;

Result<Session> ProtoAuthClient::login(std::string_view user, std::string_view password) {
  auto r = SEAMS_CALL({
    req.mutable_login()->set_user(user.data(), user.size());
    req.mutable_login()->set_password(password.data(), password.size());
  });
  if (!r) return r.status();
  SEAMS_RETURN_IF_ERROR(errorOf(*r));
  return Session{r->session().token(), r->session().expires_at_ms()};
}

Status ProtoAuthClient::logout(std::string_view token) {
  return statusOf(SEAMS_CALL(req.mutable_logout()->set_token(token.data(), token.size())));
}

Result<Principal> ProtoAuthClient::validate(std::string_view token) {
  return principalOf(SEAMS_CALL(req.mutable_validate()->set_token(token.data(), token.size())));
}

Status ProtoAuthClient::check(const Principal& who, const VaultPath& path, Access access) {
  return statusOf(SEAMS_CALL({
    auto* a = req.mutable_check();
    toWire(who, a->mutable_principal());
    a->set_path(path.str());
    a->set_access(accessBits(access));
  }));
}

Result<Principal> ProtoAuthClient::authorize(std::string_view token, const VaultPath& path,
                                             Access access) {
  return principalOf(SEAMS_CALL({
    auto* a = req.mutable_authorize();
    a->set_token(token.data(), token.size());
    a->set_path(path.str());
    a->set_access(accessBits(access));
  }));
}

Result<Principal> ProtoAuthClient::principalForUid(std::uint32_t uid) {
  return principalOf(SEAMS_CALL(req.mutable_principal_for_uid()->set_uid(uid)));
}

Status ProtoAuthClient::grant(const Principal& admin, const Rule& rule) {
  return statusOf(SEAMS_CALL({
    toWire(admin, req.mutable_grant()->mutable_admin());
    toWire(rule, req.mutable_grant()->mutable_rule());
  }));
}

Status ProtoAuthClient::revoke(const Principal& admin, const Rule& rule) {
  return statusOf(SEAMS_CALL({
    toWire(admin, req.mutable_revoke()->mutable_admin());
    toWire(rule, req.mutable_revoke()->mutable_rule());
  }));
}

Result<std::vector<Rule>> ProtoAuthClient::rules() {
  auto r = SEAMS_CALL(req.mutable_rules());
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

#undef SEAMS_ANCHOR_CALL
#undef SEAMS_CALL

std::unique_ptr<Subscription> ProtoAuthClient::subscribe(AuthListener listener) {
  pb::Request start;
  start.mutable_auth_subscribe();
  auto shared = std::make_shared<AuthListener>(std::move(listener));
  auto key = channel_->addFeed(
      std::move(start),
      [shared](const pb::Event& ev) {
        if (ev.has_auth()) (*shared)(fromWire(ev.auth()));
      },
      [shared] { deliverAuthResync(*shared); });
  return std::make_unique<FeedSubscription>(*channel_, key);
}

}  // namespace seams::ipc
