// A permission rule (core/auth/auth.h `Rule`) as the HTTP API writes it, for POST
// /v1/admin/grant and /v1/admin/revoke:
//
//   {"subject": "user:alice" | "group:NAME", "prefix": "/vault/path",
//    "access": ["read", "write", "list", "admin"], "effect": "allow" | "deny"}
//
// `access` is a non-empty array of those names (repeats are harmless); `effect` may be left out
// and is then "allow". Other keys are ignored. ruleToJson() writes all four keys, the access names
// in the order above, so ruleFromJson(ruleToJson(r)) == r for every rule Auth accepts (a
// subject name and at least one access).
#pragma once

#include <nlohmann/json.hpp>

#include "core/auth/auth.h"
#include "core/common/status.h"

namespace seams::http {

// invalid_argument, naming the offending key, for anything but a rule as above; the prefix's
// errors are VaultPath::parse's.
Result<Rule> ruleFromJson(const nlohmann::json& j);

nlohmann::json ruleToJson(const Rule& rule);

}  // namespace seams::http
