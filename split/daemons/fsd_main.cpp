// seam-fsd: owns the backing directory, the authoritative FS cache and the change feed, and
// serves the Vault over split.fsd_socket. Services: storage (VaultService, as in seamd) and
// vault-ipc (the codec's server over the socket).
#include <memory>

#include "core/runtime/service_names.h"
#include "core/services/vault_service.h"
#include "split/daemons/daemon_main.h"
#include "split/daemons/ipc_server_service.h"

int main(int argc, char** argv) {
  using namespace seams;
  return split::daemonMain(argc, argv, kFsdDaemon, [](split::DaemonParts& p) -> Status {
    SEAMS_RETURN_IF_ERROR(p.manager.add(
        std::make_unique<VaultService>(p.config.vault_root, p.config.allow_shared_vault_root,
                                       p.config.cache, p.deps, p.config.probe)));
    return p.manager.add(std::make_unique<split::IpcServerService>(
        split::Served::vault, kStorageService, p.config, p.deps));
  });
}
