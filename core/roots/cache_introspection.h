// What the control plane shows of a process's FS caches. Each cache is published in Deps as a
// `const FsCache` under its role name (core/runtime/service_names.h) by the service that owns it
// (VaultService: kVaultCacheRole; a split frontend's upstream service: kFrontendCacheRole), so a
// composition root can show every cache without knowing which services it runs.
//
//   ServiceManagerTarget target(manager, processStats(metrics, deps), processCaches(deps));
//
// Thread-safety: the returned functions may be called from any thread; they take Deps snapshots.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "core/control/control_target.h"
#include "core/runtime/deps.h"
#include "core/runtime/service_names.h"
#include "core/stats/metrics.h"

namespace seams {

// The registry's metrics followed by every published cache's counters (cache_metrics.h).
// REQUIRES: metrics and deps outlive the function.
std::function<std::string()> processStats(MetricsRegistry& metrics, Deps& deps);
// Every entry of every published cache.
std::function<std::vector<CacheEntryRow>()> processCaches(Deps& deps);

}  // namespace seams
