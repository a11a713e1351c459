// seam-httpd: the HTTP API over seam-fsd's Vault and seam-authd's Auth, each behind this
// daemon's own coherence cache. Services: upstream-fsd, upstream-authd, http (HttpService, the
// same code as in seamd), on the HTTP listener seam-split holds for it.
#include <memory>

#include "core/runtime/service_names.h"
#include "core/services/http_service.h"
#include "split/daemons/daemon_main.h"
#include "split/daemons/upstream_service.h"

int main(int argc, char** argv) {
  using namespace seams;
  return split::daemonMain(argc, argv, kHttpdDaemon, [](split::DaemonParts& p) -> Status {
    SEAMS_RETURN_IF_ERROR(p.manager.add(std::make_unique<split::UpstreamService>(
        split::Served::vault, /*cached=*/true, p.config, p.deps, p.metrics)));
    SEAMS_RETURN_IF_ERROR(p.manager.add(std::make_unique<split::UpstreamService>(
        split::Served::auth, /*cached=*/true, p.config, p.deps, p.metrics)));
    return p.manager.add(std::make_unique<HttpService>(
        p.config.http, p.deps, p.metrics,
        std::vector<std::string>{kUpstreamFsdService, kUpstreamAuthdService}, p.config.probe,
        p.http_listen_fd));
  });
}
