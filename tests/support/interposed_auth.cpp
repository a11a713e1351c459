#include "tests/support/interposed_auth.h"

#include <utility>

namespace seams::testing {
namespace {

// The hook's answer if it refuses, else the inner call's.
template <typename R, typename F>
R gate(Status hooked, F&& call) {
  if (!hooked.ok()) return hooked;
  return std::forward<F>(call)();
}

}  // namespace

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
