// Helpers shared by the auth tests.
#pragma once

#include <sodium.h>

#include <string>
#include <string_view>
#include <vector>

#include "core/auth/auth.h"
#include "core/auth/sessions.h"
#include "core/common/vault_path.h"
#include "core/config/config.h"

namespace seams::testing {

// Argon2id at libsodium's minimum cost, so tests that log in stay fast.
inline std::string cheapHash(std::string_view password) {
  return hashPassword(password, crypto_pwhash_OPSLIMIT_MIN, crypto_pwhash_MEMLIMIT_MIN).value();
}

inline UserConfig user(std::string name, std::string_view password,
                       std::vector<std::string> groups = {},
                       std::optional<std::uint32_t> uid = std::nullopt) {
  return UserConfig{std::move(name), cheapHash(password), uid, std::move(groups)};
}

inline VaultPath path(std::string_view raw) {
  return VaultPath::parse(raw).value();
}

inline Rule allow(Rule::Subject kind, std::string subject, std::string_view prefix,
                  AccessMask access) {
  return Rule{kind, std::move(subject), path(prefix), access, Rule::Effect::allow};
}
inline Rule deny(Rule::Subject kind, std::string subject, std::string_view prefix,
                 AccessMask access) {
  return Rule{kind, std::move(subject), path(prefix), access, Rule::Effect::deny};
}
inline Rule allowUser(std::string u, std::string_view prefix, AccessMask access) {
  return allow(Rule::Subject::user, std::move(u), prefix, access);
}
inline Rule denyUser(std::string u, std::string_view prefix, AccessMask access) {
  return deny(Rule::Subject::user, std::move(u), prefix, access);
}
inline Rule allowGroup(std::string g, std::string_view prefix, AccessMask access) {
  return allow(Rule::Subject::group, std::move(g), prefix, access);
}
inline Rule denyGroup(std::string g, std::string_view prefix, AccessMask access) {
  return deny(Rule::Subject::group, std::move(g), prefix, access);
}

constexpr AccessMask kRead = mask(Access::read);
constexpr AccessMask kWrite = mask(Access::write);
constexpr AccessMask kList = mask(Access::list);
constexpr AccessMask kAdmin = mask(Access::admin);

}  // namespace seams::testing
