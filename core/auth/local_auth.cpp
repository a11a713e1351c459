#include "core/auth/local_auth.h"

#include <cstdint>
#include <list>
#include <mutex>
#include <string>
#include <utility>

#include "core/common/thread_annotations.h"

namespace seams {

// The listeners. publish() holds `mu_` shared while it calls them, and unsubscribing holds it
// exclusive, so a Subscription's destructor waits for calls in flight and a listener is never
// called after its Subscription is gone. Shared with each Subscription, so one that outlives
// the LocalAuth (against the contract) still does no harm.
class LocalAuth::Feed {
 public:
  std::unique_ptr<Subscription> add(std::shared_ptr<Feed> self, AuthListener listener) {
    WriterLock lock(mu_);
    listeners_.push_back(std::move(listener));
    return std::make_unique<Handle>(std::move(self), std::prev(listeners_.end()));
  }

  // noexcept: a listener that throws is a bug, and the change it reports has already happened;
  // terminating says so loudly instead of failing the grant or logout that made the change.
  void publish(const AuthEvent& event) const noexcept {
    ReaderLock lock(mu_);
    for (const AuthListener& l : listeners_) l(event);
  }

 private:
  using List = std::list<AuthListener>;

  class Handle final : public Subscription {
   public:
    Handle(std::shared_ptr<Feed> feed, List::iterator it) : feed_(std::move(feed)), it_(it) {}
    ~Handle() override {
      WriterLock lock(feed_->mu_);
      feed_->listeners_.erase(it_);
    }

   private:
    std::shared_ptr<Feed> feed_;
    List::iterator it_;
  };

  mutable SharedMutex mu_;
  List listeners_ GUARDED_BY(mu_);
};

LocalAuth::LocalAuth(PrivateTag, std::size_t cache_entries, std::shared_ptr<Feed> feed)
    : feed_(std::move(feed)), permissions_(std::make_unique<PermissionTable>(cache_entries)) {}

LocalAuth::~LocalAuth() = default;

Result<std::unique_ptr<LocalAuth>> LocalAuth::create(const std::vector<UserConfig>& users,
                                                     const std::vector<Rule>& initial_rules,
                                                     const AuthConfig& config, const Clock& clock) {
  if (config.decision_cache_entries < 0) {
    return Status(Errc::invalid_argument, "auth.decision_cache_entries: must not be negative");
  }
  auto feed = std::make_shared<Feed>();
  auto auth = std::make_unique<LocalAuth>(
      PrivateTag{}, static_cast<std::size_t>(config.decision_cache_entries), feed);
  auto sessions = SessionStore::create(users, config, clock, [feed](const EndedSession& ended) {
    feed->publish(AuthEvent{AuthEvent::Kind::session_ended, ended.token_id, ended.user});
  });
  if (!sessions.ok()) return sessions.status();
  auth->sessions_ = std::move(sessions).value();
  for (std::size_t i = 0; i < initial_rules.size(); ++i) {
    const Status valid = PermissionTable::validate(initial_rules[i]);
    if (!valid.ok()) {
      return Status(Errc::invalid_argument,
                    "rules[" + std::to_string(i) + "] (" + initial_rules[i].subject + " on " +
                        initial_rules[i].prefix.str() + "): " + valid.message());
    }
    auth->permissions_->add(initial_rules[i]);
  }
  return auth;
}

Result<Session> LocalAuth::login(std::string_view user, std::string_view password) {
  return sessions_->login(user, password);
}

Status LocalAuth::logout(std::string_view token) {
  return sessions_->logout(token);
}

Result<Principal> LocalAuth::validate(std::string_view token) {
  return sessions_->validate(token);
}

Status LocalAuth::check(const Principal& who, const VaultPath& path, Access access) {
  if (permissions_->allowed(who, path, access)) return Status();
  return Status(Errc::permission_denied,
                "'" + who.user + "' may not " + std::string(accessName(access)) + " " + path.str());
}

Result<Principal> LocalAuth::authorize(std::string_view token, const VaultPath& path,
                                       Access access) {
  auto who = sessions_->validate(token);
  if (!who.ok()) return who;
  SEAMS_RETURN_IF_ERROR(check(*who, path, access));
  return who;
}

Result<Principal> LocalAuth::principalForUid(std::uint32_t uid) {
  return sessions_->principalForUid(uid);
}

Status LocalAuth::grant(const Principal& admin, const Rule& rule) {
  SEAMS_RETURN_IF_ERROR(PermissionTable::validate(rule));
  SEAMS_RETURN_IF_ERROR(check(admin, rule.prefix, Access::admin));
  // Granting a rule that is already there changes nothing and tells no one.
  if (permissions_->add(rule)) feed_->publish(AuthEvent{AuthEvent::Kind::rules_changed, {}, {}});
  return Status();
}

Status LocalAuth::revoke(const Principal& admin, const Rule& rule) {
  SEAMS_RETURN_IF_ERROR(check(admin, rule.prefix, Access::admin));
  if (!permissions_->remove(rule)) {
    return Status(Errc::not_found,
                  "no such rule for '" + rule.subject + "' on " + rule.prefix.str());
  }
  feed_->publish(AuthEvent{AuthEvent::Kind::rules_changed, {}, {}});
  return Status();
}

Result<std::vector<Rule>> LocalAuth::rules() {
  return permissions_->rules();
}

std::unique_ptr<Subscription> LocalAuth::subscribe(AuthListener listener) {
  return feed_->add(feed_, std::move(listener));
}

std::size_t LocalAuth::sweepExpired() {
  return sessions_->sweepExpired();
}

}  // namespace seams
