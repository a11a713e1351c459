// ControlService ("control"): serves the control socket (seamctl) for a ControlTarget — the
// process's own ServiceManager in seamd, the launcher's daemon table in seam-split.
#pragma once

#include "core/config/config.h"
#include "core/control/control_target.h"
#include "core/runtime/service.h"

namespace seams {

class ControlService final : public Service {
 public:
  // `target` and `config` must outlive the service.
  ControlService(const Config& config, ControlTarget& target) : config_(config), target_(target) {}

  std::string name() const override { return "control"; }
  Status run(RunContext& ctx) override;
  bool acceptsFaults() const override { return true; }

 private:
  const Config& config_;
  ControlTarget& target_;
};

}  // namespace seams
