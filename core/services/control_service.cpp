#include "core/services/control_service.h"

#include "core/control/control_server.h"

namespace seams {

Status ControlService::run(RunContext& ctx) {
  ControlServer server(target_, ControlServerOptions{.socket_path = config_.control_socket,
                                                     .faults_enabled = config_.faults.enabled});
  if (Status s = server.start(); !s.ok()) return s;
  ctx.ready();
  ctx.idleUntilStopped();
  server.stop();
  return okStatus();
}

}  // namespace seams
