#include "tests/fuzz/memory_auth.h"

#include <utility>

namespace seams::fuzz {
namespace {

struct User {
  std::string_view name;
  std::uint32_t uid;
  std::string_view group;
};
constexpr User kUsers[] = {
    {"admin", 0, "admins"}, {"alice", 1000, "staff"}, {"bob", 1001, "staff"}};

const User* userNamed(std::string_view name) {
  for (const User& u : kUsers) {
    if (u.name == name) return &u;
  }
  return nullptr;
}

Principal principalOf(const User& u) {
  return Principal{std::string(u.name), {std::string(u.group)}};
}

Rule rule(Rule::Subject kind, std::string subject, const char* prefix, AccessMask access,
          Rule::Effect effect = Rule::Effect::allow) {
  Rule r;
  r.subject_kind = kind;
  r.subject = std::move(subject);
  r.prefix = *VaultPath::parse(prefix);
  r.access = access;
  r.effect = effect;
  return r;
}

constexpr std::string_view kTokenPrefix = "tok-";

}  // namespace

class MemoryAuth::Sub final : public Subscription {
 public:
  Sub(MemoryAuth& auth, std::uint64_t id) : auth_(auth), id_(id) {}
  ~Sub() override {
    std::lock_guard lock(auth_.feed_mu_);
    auth_.listeners_.erase(id_);
  }

 private:
  MemoryAuth& auth_;
  std::uint64_t id_;
};

MemoryAuth::MemoryAuth() {
  reset();
}

void MemoryAuth::reset() {
  // A fresh table rather than removing rules one by one.
  auto table = std::make_shared<PermissionTable>(256);
  table->add(rule(Rule::Subject::user, "admin", "/", kAllAccess));
  table->add(rule(Rule::Subject::user, "alice", "/",
                  mask(Access::read) | mask(Access::write) | mask(Access::list)));
  table->add(rule(Rule::Subject::user, "bob", "/docs", mask(Access::read) | mask(Access::list)));
  table->add(rule(Rule::Subject::group, "staff", "/docs", mask(Access::write), Rule::Effect::deny));
  std::lock_guard lock(mu_);
  table_ = std::move(table);
  live_.clear();
  for (const User& u : kUsers) live_.insert(std::string(u.name));
}

Result<Session> MemoryAuth::login(std::string_view user, std::string_view password) {
  const User* u = userNamed(user);
  if (u == nullptr || password != std::string(user) + "-pw") {
    return Status(Errc::unauthenticated, "bad user or password");
  }
  std::lock_guard lock(mu_);
  live_.insert(std::string(u->name));
  return Session{std::string(kTokenPrefix) + std::string(u->name), 4'102'444'800'000};
}

Status MemoryAuth::logout(std::string_view token) {
  auto who = validate(token);
  if (!who.ok()) return who.status();
  {
    std::lock_guard lock(mu_);
    live_.erase(who->user);
  }
  publish(AuthEvent{AuthEvent::Kind::session_ended, tokenId(token), who->user});
  return okStatus();
}

Result<Principal> MemoryAuth::validate(std::string_view token) {
  if (token.substr(0, kTokenPrefix.size()) != kTokenPrefix) {
    return Status(Errc::unauthenticated, "unknown token");
  }
  const User* u = userNamed(token.substr(kTokenPrefix.size()));
  std::lock_guard lock(mu_);
  if (u == nullptr || live_.count(std::string(u->name)) == 0) {
    return Status(Errc::unauthenticated, "unknown or ended session");
  }
  return principalOf(*u);
}

Status MemoryAuth::check(const Principal& who, const VaultPath& path, Access access) {
  if (table()->allowed(who, path, access)) return okStatus();
  return Status(Errc::permission_denied, std::string(accessName(access)) + " on " + path.str());
}

Result<Principal> MemoryAuth::authorize(std::string_view token, const VaultPath& path,
                                        Access access) {
  auto who = validate(token);
  if (!who.ok()) return who;
  SEAMS_RETURN_IF_ERROR(check(*who, path, access));
  return who;
}

Result<Principal> MemoryAuth::principalForUid(std::uint32_t uid) {
  for (const User& u : kUsers) {
    if (u.uid == uid) return principalOf(u);
  }
  return Status(Errc::not_found, "uid " + std::to_string(uid) + " is not mapped");
}

Status MemoryAuth::grant(const Principal& admin, const Rule& r) {
  SEAMS_RETURN_IF_ERROR(PermissionTable::validate(r));
  SEAMS_RETURN_IF_ERROR(check(admin, r.prefix, Access::admin));
  if (table()->add(r)) publish(AuthEvent{AuthEvent::Kind::rules_changed, {}, {}});
  return okStatus();
}

Status MemoryAuth::revoke(const Principal& admin, const Rule& r) {
  SEAMS_RETURN_IF_ERROR(check(admin, r.prefix, Access::admin));
  if (!table()->remove(r)) return Status(Errc::not_found, "no such rule");
  publish(AuthEvent{AuthEvent::Kind::rules_changed, {}, {}});
  return okStatus();
}

Result<std::vector<Rule>> MemoryAuth::rules() {
  return table()->rules();
}

std::unique_ptr<Subscription> MemoryAuth::subscribe(AuthListener listener) {
  std::lock_guard lock(feed_mu_);
  const std::uint64_t id = next_listener_++;
  listeners_.emplace(id, std::move(listener));
  return std::make_unique<Sub>(*this, id);
}

std::shared_ptr<PermissionTable> MemoryAuth::table() const {
  std::lock_guard lock(mu_);
  return table_;
}

void MemoryAuth::publish(const AuthEvent& event) {
  std::lock_guard lock(feed_mu_);
  for (auto& [id, listener] : listeners_) listener(event);
}

}  // namespace seams::fuzz
