// AuthService ("auth"): builds LocalAuth from the config's users and rules and publishes it as
// the process's Auth. Sweeps expired sessions once a second, so their end reaches the change feed
// even when nobody presents the token again. The owner of sessions in seamd and seam-authd.
#pragma once

#include "core/config/config.h"
#include "core/runtime/deps.h"
#include "core/runtime/service.h"
#include "core/runtime/service_names.h"

namespace seams {

class AuthService final : public Service {
 public:
  AuthService(const Config& config, Deps& deps) : config_(config), deps_(deps) {}

  std::string name() const override { return kAuthService; }
  Status run(RunContext& ctx) override;
  bool acceptsFaults() const override { return true; }

 private:
  const Config& config_;
  Deps& deps_;
};

}  // namespace seams
