// The FS cache's counters as Prometheus text, for a process's `seamctl stats` / GET /metrics.
//
// Why not MetricsRegistry counters: FsCache keeps its counters per shard (no shared cache line on
// a hit) and sums them in stats(); rendering that snapshot at scrape time costs nothing on the hot
// path, where mirroring every hit into a registry counter would.
//
// Series, each labelled cache="<role>" (vault | frontend) and kind="attr|list|content":
//   seams_cache_hits_total, seams_cache_misses_total, seams_cache_evictions_total,
//   seams_cache_invalidations_total, seams_cache_bytes, seams_cache_entries;
// and per cache: seams_cache_budget_bytes.
// Counters restart from 0 when the cache is rebuilt (its service restarted), as Prometheus
// counters may.
#pragma once

#include <string>
#include <string_view>

#include "core/cache/fs_cache.h"

namespace seams {

// `cache` must be a plain label value (letters, digits, '_').
std::string renderCacheMetrics(const FsCacheStats& stats, std::string_view cache);

}  // namespace seams
