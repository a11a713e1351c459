// Auth: sessions and permissions, as every frontend sees them.
//
// Implementations: LocalAuth (core/auth/local_auth.h: SessionStore + PermissionTable,
// in-process) and the IPC client stubs in ipc/.
//
// A frontend request needs "who is this token" and "may they do this to that path". authorize()
// answers both in one call, so an IPC stub needs one round trip per request, not two.
//
// Thread-safety: every method may be called concurrently from any thread.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/common/status.h"
#include "core/common/subscription.h"
#include "core/common/vault_path.h"

namespace seams {

// Bit flags; a rule may cover several.
enum class Access : std::uint8_t { read = 1, write = 2, list = 4, admin = 8 };
using AccessMask = std::uint8_t;
constexpr AccessMask mask(Access a) {
  return static_cast<AccessMask>(a);
}
constexpr AccessMask kAllAccess = 15;
std::string_view accessName(Access a) noexcept;

struct Principal {
  std::string user;
  std::vector<std::string> groups;

  friend bool operator==(const Principal&, const Principal&) = default;
};

struct Session {
  std::string token;               // opaque, URL-safe; shown to the client once
  std::int64_t expires_at_ms = 0;  // wall clock, ms since the epoch
};

// A permission rule: allow or deny `access` on `prefix` (and everything beneath it) to a user or
// to every member of a group. Precedence: the rule on the longest matching prefix wins; at equal
// depth deny beats allow; no matching rule means deny.
struct Rule {
  enum class Subject : std::uint8_t { user = 0, group = 1 };
  enum class Effect : std::uint8_t { allow = 0, deny = 1 };
  Subject subject_kind = Subject::user;
  std::string subject;  // user or group name
  VaultPath prefix;
  AccessMask access = 0;
  Effect effect = Effect::allow;

  friend bool operator==(const Rule&, const Rule&) = default;
};

struct AuthEvent {
  enum class Kind : std::uint8_t { rules_changed = 0, session_ended = 1 };
  Kind kind = Kind::rules_changed;
  // For session_ended: a stable, non-secret id of the token (see tokenId()), never the token.
  std::string token_id;
  std::string user;
};
// Same contract as ChangeListener: fast, no calls back into Auth.
using AuthListener = std::function<void(const AuthEvent&)>;

class Auth {
 public:
  virtual ~Auth() = default;

  // unauthenticated on an unknown user or a wrong password (the same error for both).
  virtual Result<Session> login(std::string_view user, std::string_view password) = 0;
  // Ends the session; unauthenticated if the token is not a live session.
  virtual Status logout(std::string_view token) = 0;
  // The token's principal; unauthenticated if unknown, ended or expired.
  virtual Result<Principal> validate(std::string_view token) = 0;
  // ok, or permission_denied.
  virtual Status check(const Principal& who, const VaultPath& path, Access access) = 0;
  // validate() and check() in one call: the principal, unauthenticated, or permission_denied.
  virtual Result<Principal> authorize(std::string_view token, const VaultPath& path,
                                      Access access) = 0;
  // The vault user a local uid maps to (FUSE callers); not_found when unmapped.
  virtual Result<Principal> principalForUid(std::uint32_t uid) = 0;

  // Admin calls: `admin` needs Access::admin on rule.prefix. revoke() removes an equal rule
  // (not_found if none). Both clear every decision cache before they return.
  virtual Status grant(const Principal& admin, const Rule& rule) = 0;
  virtual Status revoke(const Principal& admin, const Rule& rule) = 0;
  virtual Result<std::vector<Rule>> rules() = 0;

  // Feed of rule changes and ended sessions, for caches outside this object.
  virtual std::unique_ptr<Subscription> subscribe(AuthListener listener) = 0;
};

// A stable id for a token that can be logged and sent on the feed (a hash prefix, not the token).
std::string tokenId(std::string_view token);

}  // namespace seams
