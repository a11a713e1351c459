// LocalAuth: the in-process Auth, over a SessionStore and a PermissionTable.
//
// The change feed. subscribe() listeners are called synchronously, on the thread that made the
// change, before the call that made it returns:
//   - rules_changed after grant() or revoke() changed the rules (and the decision cache was
//     emptied), so a frontend that caches decisions can drop them before the admin sees "ok";
//   - session_ended (token_id, user) after logout(), or when an expired session is removed (by
//     validate()/authorize()/logout() finding it, or by sweepExpired()). The token itself is
//     never on the feed.
// Listeners may run concurrently with each other (two changes on two threads). A Subscription
// being destroyed waits for calls to its listener in flight, so a listener must not destroy its
// own Subscription or call back into this object.
//
// Periodic work: nothing here runs a thread. The owner (the auth service) should call
// sweepExpired() on a timer so sessions never presented again are removed and reported promptly;
// login() also sweeps at most once a minute (see SessionStore), which bounds the table anyway.
//
// Thread-safety: every method may be called concurrently from any thread.
#pragma once

#include <cstdint>
#include <memory>
#include <shared_mutex>
#include <string_view>
#include <vector>

#include "core/auth/auth.h"
#include "core/auth/auth_config.h"
#include "core/auth/permissions.h"
#include "core/auth/sessions.h"
#include "core/common/clock.h"

namespace seams {

class LocalAuth final : public Auth {
 public:
  // Errors: invalid_argument for a bad user (see SessionStore::create), a bad rule
  // (PermissionTable::validate) or a bad auth config value, naming what is wrong.
  // `clock` must outlive the object.
  static Result<std::unique_ptr<LocalAuth>> create(const std::vector<UserConfig>& users,
                                                   const std::vector<Rule>& initial_rules,
                                                   const AuthConfig& config, const Clock& clock);
  class Feed;  // the listeners; shared with the Subscriptions it hands out
  // Use create(); public only so std::make_unique can reach it.
  struct PrivateTag {
    explicit PrivateTag() = default;
  };
  LocalAuth(PrivateTag, std::size_t cache_entries, std::shared_ptr<Feed> feed);
  ~LocalAuth() override;

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

  // Removes expired sessions, reporting each as session_ended; returns how many.
  std::size_t sweepExpired();

  // For stats and tests.
  const PermissionTable& permissions() const { return *permissions_; }
  std::size_t sessionCount() const { return sessions_->sessionCount(); }

 private:
  std::shared_ptr<Feed> feed_;
  std::unique_ptr<PermissionTable> permissions_;
  std::unique_ptr<SessionStore> sessions_;
};

}  // namespace seams
