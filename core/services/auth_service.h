// AuthService ("auth"): builds LocalAuth from the config's users and rules and publishes it as
// the process's Auth. Sweeps expired sessions once a second, so their end reaches the change feed
// even when nobody presents the token again. The owner of sessions in seamd and seam-authd.
#pragma once

#include <utility>
#include <vector>

#include "core/auth/auth_config.h"
#include "core/runtime/deps.h"
#include "core/runtime/service.h"
#include "core/runtime/service_names.h"

namespace seams {

class AuthService final : public Service {
 public:
  // The config's [[users]], [[rules]] and [auth]; `deps` must outlive the service.
  AuthService(std::vector<UserConfig> users, std::vector<RuleConfig> rules, AuthConfig options,
              Deps& deps)
      : users_(std::move(users)), rules_(std::move(rules)), options_(options), deps_(deps) {}

  std::string name() const override { return kAuthService; }
  Status run(RunContext& ctx) override;
  bool acceptsFaults() const override { return true; }

 private:
  const std::vector<UserConfig> users_;
  const std::vector<RuleConfig> rules_;
  const AuthConfig options_;
  Deps& deps_;
};

}  // namespace seams
