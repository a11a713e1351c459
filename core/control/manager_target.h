// ServiceManagerTarget: the control plane's view of a ServiceManager (seamd).
//
// restart and stop are requests the manager carries out on its own threads (the watchdog and
// main()), so a control command never waits on the control server's own thread being restarted.
// stats() is the composition root's metrics text followed by per-service gauges
// (seams_service_up, seams_service_restarts_total, seams_service_abandoned_threads).
// Thread-safety: as ControlTarget; the manager and the stats callback must outlive it.
#pragma once

#include <functional>
#include <string>

#include "core/control/control_target.h"
#include "core/runtime/service_manager.h"

namespace seams {

class ServiceManagerTarget final : public ControlTarget {
 public:
  // `stats` renders the process's metrics (e.g. MetricsRegistry::renderPrometheus); `caches`
  // lists its FS caches' entries. Either may be empty.
  ServiceManagerTarget(ServiceManager& manager, std::function<std::string()> stats,
                       std::function<std::vector<CacheEntryRow>()> caches = {});

  std::vector<ControlRow> status() override;
  std::string stats() override;
  std::vector<CacheEntryRow> caches() override;
  Status restart(std::string_view name) override;
  Status fault(std::string_view name, FaultKind kind) override;
  Status stop() override;

 private:
  ServiceManager& manager_;
  std::function<std::string()> stats_;
  std::function<std::vector<CacheEntryRow>()> caches_;
};

}  // namespace seams
