// seam-fused: the FUSE mount over seam-fsd's Vault and seam-authd's Auth, each behind this
// daemon's own coherence cache (whose feed also invalidates the kernel's caches). Services:
// upstream-fsd, upstream-authd, fuse (FuseService, the same code as in seamd).
#include <memory>

#include "core/runtime/service_names.h"
#include "core/services/fuse_service.h"
#include "split/daemons/daemon_main.h"
#include "split/daemons/upstream_service.h"

int main(int argc, char** argv) {
  using namespace seams;
  return split::daemonMain(argc, argv, kFusedDaemon, [](split::DaemonParts& p) -> Status {
    SEAMS_RETURN_IF_ERROR(p.manager.add(std::make_unique<split::UpstreamService>(
        split::Served::vault, /*cached=*/true, p.config, p.deps, p.metrics)));
    SEAMS_RETURN_IF_ERROR(p.manager.add(std::make_unique<split::UpstreamService>(
        split::Served::auth, /*cached=*/true, p.config, p.deps, p.metrics)));
    return p.manager.add(std::make_unique<FuseService>(
        p.config.fuse, p.deps,
        std::vector<std::string>{kUpstreamFsdService, kUpstreamAuthdService}));
  });
}
