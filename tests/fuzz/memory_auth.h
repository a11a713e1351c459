// MemoryAuth: an Auth with fixed users and tokens, for the fuzz targets.
//
// Users (password = name + "-pw"; uid for FUSE callers):
//   admin  (uid 0,    group "admins")  every access on /
//   alice  (uid 1000, group "staff")   read, write, list on /
//   bob    (uid 1001, group "staff")   read and list on /docs, write denied there
// login() hands out the deterministic token "tok-<user>" (so seeds can carry a valid bearer
// token), logout() ends it until the next login or reset(). Decisions come from a real
// PermissionTable (core/auth/permissions.h), so grant and revoke change what later requests may
// do, as they would in a deployment. No KDF: the fuzzer would spend its time hashing.
//
// Thread-safety: every method from any thread.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>

#include "core/auth/auth.h"
#include "core/auth/permissions.h"

namespace seams::fuzz {

class MemoryAuth final : public Auth {
 public:
  MemoryAuth();
  // Back to the starting rules; every user logged in once.
  void reset();

  Result<Session> login(std::string_view user, std::string_view password) override;
  Status logout(std::string_view token) override;
  Result<Principal> validate(std::string_view token) override;
  Status check(const Principal& who, const VaultPath& path, Access access) override;
  Result<Principal> authorize(std::string_view token, const VaultPath& path,
                              Access access) override;
  Result<Principal> principalForUid(std::uint32_t uid) override;
  Status grant(const Principal& admin, const Rule& rule) override;
  Status revoke(const Principal& admin, const Rule& rule) override;
  Result<std::vector<Rule>> rules() override;
  std::unique_ptr<Subscription> subscribe(AuthListener listener) override;

 private:
  class Sub;
  void publish(const AuthEvent& event);

  // The rules in force: replaced whole by reset(), so readers take their own reference.
  std::shared_ptr<PermissionTable> table() const;

  mutable std::mutex mu_;
  std::shared_ptr<PermissionTable> table_;           // guarded by mu_
  std::set<std::string> live_;                       // guarded by mu_: users whose token is live
  std::mutex feed_mu_;                               // leaf
  std::map<std::uint64_t, AuthListener> listeners_;  // guarded by feed_mu_
  std::uint64_t next_listener_ = 0;                  // guarded by feed_mu_
};

}  // namespace seams::fuzz
