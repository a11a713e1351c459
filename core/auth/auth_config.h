// What auth is configured with: the users ([[users]]), the permission rules ([[rules]]) and the
// [auth] options. Auth owns these records, so it needs nothing of the rest of the config;
// core/config/config.h makes them part of Config, and its parser reads and checks them. Each
// field's key and default are written beside it, as in config.h.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/auth/auth.h"

namespace seams {

struct UserConfig {                  // [[users]]
  std::string name;                  // name = "alice"            (required, [A-Za-z0-9_.-]{1,64})
  std::string password_hash;         // password_hash = "$argon2id$..." (required, libsodium string)
  std::optional<std::uint32_t> uid;  // uid = 1000           (optional: FUSE callers with this uid)
  std::vector<std::string> groups;   // groups = ["staff"]   (default [])

  friend bool operator==(const UserConfig&, const UserConfig&) = default;
};

// [[rules]] subject = "user:alice" | "group:staff", prefix = "/docs",
//           access = ["read", "write", "list", "admin"], effect = "allow" | "deny"
using RuleConfig = Rule;

struct AuthConfig {                    // [auth]
  int session_ttl_s = 3600;            // session_ttl_s
  bool sliding_expiry = true;          // sliding_expiry: each validate() extends the session
  int decision_cache_entries = 65536;  // decision_cache_entries

  friend bool operator==(const AuthConfig&, const AuthConfig&) = default;
};

}  // namespace seams
