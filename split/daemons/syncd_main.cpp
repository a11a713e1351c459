// seam-syncd: watches the backing directory with inotify and hands each change to seam-fsd's
// reconcile() over IPC. Services: upstream-fsd (the bare Vault stub: sync caches nothing) and
// sync (SyncService, as in seamd).
#include <memory>

#include "core/runtime/service_names.h"
#include "core/services/sync_service.h"
#include "split/daemons/daemon_main.h"
#include "split/daemons/upstream_service.h"

int main(int argc, char** argv) {
  using namespace seams;
  return split::daemonMain(argc, argv, kSyncdDaemon, [](split::DaemonParts& p) -> Status {
    SEAMS_RETURN_IF_ERROR(p.manager.add(std::make_unique<split::UpstreamService>(
        split::Served::vault, /*cached=*/false, p.config, p.deps, p.metrics)));
    return p.manager.add(std::make_unique<SyncService>(
        p.config.vault_root, p.deps, p.metrics, std::vector<std::string>{kUpstreamFsdService}));
  });
}
