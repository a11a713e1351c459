// InterposedAuth: a test Auth that stands in front of another one.
//
// Every call goes to the inner Auth unchanged, unless the hook before() answers it first: a test
// double derives from this, overrides before() (and subscribe() if it owns the feed), and writes
// only what it changes. See interposed_vault.h for the Vault twin.
//
// Thread-safety: as the inner Auth's, plus whatever the derived hook needs.
#pragma once

#include <memory>
#include <string_view>

#include "core/auth/auth.h"

namespace seams::testing {

class InterposedAuth : public Auth {
 public:
  // `inner` must outlive this object.
  explicit InterposedAuth(Auth& inner) : inner_(inner) {}

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
  // The inner Auth's feed; the hook is not called. Override to publish a feed of one's own.
  std::unique_ptr<Subscription> subscribe(AuthListener listener) override;

 protected:
  // Called before every call but subscribe(), on the caller's thread, with the method's name
  // ("login", "authorize", ...) and its path (check, authorize: the path asked about; grant,
  // revoke: the rule's prefix), or nullptr for the calls without one. A non-ok Status is the
  // call's answer and the inner Auth is not called; ok lets the call through. The default lets
  // everything through.
  virtual Status before(std::string_view call, const VaultPath* path);

  Auth& inner() { return inner_; }

 private:
  Auth& inner_;
};

}  // namespace seams::testing
