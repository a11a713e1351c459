// InterposedVault and InterposedAuth: every call asks the hook first, then the inner object unless
// the hook refused.
#include <utility>

#include "tests/support/interposed_auth.h"
#include "tests/support/interposed_vault.h"

namespace seams::testing {
namespace {

// The hook's answer if it refuses, else the inner call's.
template <typename R, typename F>
R gate(Status hooked, F&& call) {
  if (!hooked.ok()) return hooked;
  return std::forward<F>(call)();
}

}  // namespace

Status InterposedVault::before(std::string_view, const VaultPath*) {
  return okStatus();
}

Result<FileAttr> InterposedVault::stat(const VaultPath& p) {
  return gate<Result<FileAttr>>(before("stat", &p), [&] { return inner_.stat(p); });
}
Result<std::vector<DirEntry>> InterposedVault::list(const VaultPath& p) {
  return gate<Result<std::vector<DirEntry>>>(before("list", &p), [&] { return inner_.list(p); });
}
Result<ReadResult> InterposedVault::read(const VaultPath& p, std::uint64_t o, std::uint64_t n) {
  return gate<Result<ReadResult>>(before("read", &p), [&] { return inner_.read(p, o, n); });
}
Result<FileAttr> InterposedVault::write(const VaultPath& p, std::uint64_t o, std::string_view d) {
  return gate<Result<FileAttr>>(before("write", &p), [&] { return inner_.write(p, o, d); });
}
Result<FileAttr> InterposedVault::put(const VaultPath& p, std::string_view d) {
  return gate<Result<FileAttr>>(before("put", &p), [&] { return inner_.put(p, d); });
}
Result<FileAttr> InterposedVault::create(const VaultPath& p, std::uint32_t m) {
  return gate<Result<FileAttr>>(before("create", &p), [&] { return inner_.create(p, m); });
}
Result<FileAttr> InterposedVault::mkdir(const VaultPath& p, std::uint32_t m) {
  return gate<Result<FileAttr>>(before("mkdir", &p), [&] { return inner_.mkdir(p, m); });
}
Status InterposedVault::unlink(const VaultPath& p) {
  return gate<Status>(before("unlink", &p), [&] { return inner_.unlink(p); });
}
Status InterposedVault::rmdir(const VaultPath& p) {
  return gate<Status>(before("rmdir", &p), [&] { return inner_.rmdir(p); });
}
Result<FileAttr> InterposedVault::rename(const VaultPath& from, const VaultPath& to) {
  return gate<Result<FileAttr>>(before("rename", &from), [&] { return inner_.rename(from, to); });
}
Result<FileAttr> InterposedVault::truncate(const VaultPath& p, std::uint64_t s) {
  return gate<Result<FileAttr>>(before("truncate", &p), [&] { return inner_.truncate(p, s); });
}
Result<FileAttr> InterposedVault::setAttributes(const VaultPath& p, const AttrChange& c) {
  return gate<Result<FileAttr>>(before("setAttributes", &p),
                                [&] { return inner_.setAttributes(p, c); });
}
Status InterposedVault::fsync(const VaultPath& p) {
  return gate<Status>(before("fsync", &p), [&] { return inner_.fsync(p); });
}
Result<OpenedFile> InterposedVault::open(const VaultPath& p, std::uint32_t m) {
  return gate<Result<OpenedFile>>(before("open", &p), [&] { return inner_.open(p, m); });
}
Result<ReadResult> InterposedVault::readHandle(HandleId h, std::uint64_t o, std::uint64_t n) {
  return gate<Result<ReadResult>>(before("readHandle", nullptr),
                                  [&] { return inner_.readHandle(h, o, n); });
}
Result<FileAttr> InterposedVault::writeHandle(HandleId h, std::uint64_t o, std::string_view d) {
  return gate<Result<FileAttr>>(before("writeHandle", nullptr),
                                [&] { return inner_.writeHandle(h, o, d); });
}
Result<FileAttr> InterposedVault::statHandle(HandleId h) {
  return gate<Result<FileAttr>>(before("statHandle", nullptr),
                                [&] { return inner_.statHandle(h); });
}
Result<FileAttr> InterposedVault::truncateHandle(HandleId h, std::uint64_t s) {
  return gate<Result<FileAttr>>(before("truncateHandle", nullptr),
                                [&] { return inner_.truncateHandle(h, s); });
}
Status InterposedVault::fsyncHandle(HandleId h) {
  return gate<Status>(before("fsyncHandle", nullptr), [&] { return inner_.fsyncHandle(h); });
}
Status InterposedVault::release(HandleId h) {
  return gate<Status>(before("release", nullptr), [&] { return inner_.release(h); });
}
Status InterposedVault::reconcile(const VaultPath& p) {
  return gate<Status>(before("reconcile", &p), [&] { return inner_.reconcile(p); });
}
Result<ProbeReply> InterposedVault::probe(std::uint64_t work_us, std::uint64_t reply_bytes) {
  return gate<Result<ProbeReply>>(before("probe", nullptr),
                                  [&] { return inner_.probe(work_us, reply_bytes); });
}
std::unique_ptr<Subscription> InterposedVault::subscribe(ChangeListener listener) {
  return inner_.subscribe(std::move(listener));
}

Status InterposedAuth::before(std::string_view, const VaultPath*) {
  return okStatus();
}

Result<Session> InterposedAuth::login(std::string_view user, std::string_view password) {
  return gate<Result<Session>>(before("login", nullptr),
                               [&] { return inner_.login(user, password); });
}
Status InterposedAuth::logout(std::string_view token) {
  return gate<Status>(before("logout", nullptr), [&] { return inner_.logout(token); });
}
Result<Principal> InterposedAuth::validate(std::string_view token) {
  return gate<Result<Principal>>(before("validate", nullptr),
                                 [&] { return inner_.validate(token); });
}
Status InterposedAuth::check(const Principal& who, const VaultPath& path, Access access) {
  return gate<Status>(before("check", &path), [&] { return inner_.check(who, path, access); });
}
Result<Principal> InterposedAuth::authorize(std::string_view token, const VaultPath& path,
                                            Access access) {
  return gate<Result<Principal>>(before("authorize", &path),
                                 [&] { return inner_.authorize(token, path, access); });
}
Result<Principal> InterposedAuth::principalForUid(std::uint32_t uid) {
  return gate<Result<Principal>>(before("principalForUid", nullptr),
                                 [&] { return inner_.principalForUid(uid); });
}
Status InterposedAuth::grant(const Principal& admin, const Rule& rule) {
  return gate<Status>(before("grant", &rule.prefix), [&] { return inner_.grant(admin, rule); });
}
Status InterposedAuth::revoke(const Principal& admin, const Rule& rule) {
  return gate<Status>(before("revoke", &rule.prefix), [&] { return inner_.revoke(admin, rule); });
}
Result<std::vector<Rule>> InterposedAuth::rules() {
  return gate<Result<std::vector<Rule>>>(before("rules", nullptr), [&] { return inner_.rules(); });
}
std::unique_ptr<Subscription> InterposedAuth::subscribe(AuthListener listener) {
  return inner_.subscribe(std::move(listener));
}

}  // namespace seams::testing
