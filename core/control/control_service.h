// ControlService: the control server as a supervised service, so seamd runs its control socket
// under the watchdog like every other service (restartable, fault-injectable, stopped in order).
// Each run owns its own ControlServer, so an abandoned run never shares one with its successor.
#pragma once

#include <string>
#include <vector>

#include "core/control/control_server.h"
#include "core/runtime/service.h"
#include "core/runtime/service_names.h"

namespace seams {

class ControlService final : public Service {
 public:
  // `target` must outlive the service. `dependencies`: what must run before the socket opens.
  ControlService(ControlTarget& target, ControlServerOptions options,
                 std::vector<std::string> dependencies = {})
      : target_(target), options_(std::move(options)), dependencies_(std::move(dependencies)) {}

  std::string name() const override { return kControlService; }
  std::vector<std::string> dependencies() const override { return dependencies_; }
  bool acceptsFaults() const override { return true; }

  Status run(RunContext& ctx) override {
    ControlServer server(target_, options_);
    SEAMS_RETURN_IF_ERROR(server.start());
    ctx.ready();
    // A loop that died (an accept error) is a crash: the watchdog restarts the service.
    while (!ctx.waitForStop(ctx.heartbeatInterval())) {
      if (!server.serving()) return Status(Errc::unavailable, "control event loop ended");
      ctx.heartbeat();
    }
    server.stop();
    return okStatus();
  }

 private:
  ControlTarget& target_;
  const ControlServerOptions options_;
  const std::vector<std::string> dependencies_;
};

}  // namespace seams
