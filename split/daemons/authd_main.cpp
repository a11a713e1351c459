// seam-authd: owns sessions and permission rules and their change feed, and serves Auth over
// split.authd_socket. Services: auth (AuthService, as in seamd) and auth-ipc.
#include <memory>

#include "core/runtime/service_names.h"
#include "core/services/auth_service.h"
#include "split/daemons/daemon_main.h"
#include "split/daemons/ipc_server_service.h"

int main(int argc, char** argv) {
  using namespace seams;
  return split::daemonMain(argc, argv, kAuthdDaemon, [](split::DaemonParts& p) -> Status {
    SEAMS_RETURN_IF_ERROR(p.manager.add(
        std::make_unique<AuthService>(p.config.users, p.config.rules, p.config.auth, p.deps)));
    return p.manager.add(std::make_unique<split::IpcServerService>(split::Served::auth,
                                                                   kAuthService, p.config, p.deps));
  });
}
