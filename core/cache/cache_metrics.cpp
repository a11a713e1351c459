#include "core/cache/cache_metrics.h"

#include <fmt/format.h>

#include <cstdint>
#include <utility>

namespace seams {

std::string renderCacheMetrics(const FsCacheStats& stats, std::string_view cache) {
  const std::pair<std::string_view, const FsCacheKindStats*> kinds[] = {
      {"attr", &stats.attr}, {"list", &stats.list}, {"content", &stats.content}};
  struct Series {
    std::string_view name, type, help;
    std::uint64_t FsCacheKindStats::*field;
  };
  static constexpr Series kSeries[] = {
      {"seams_cache_hits_total", "counter", "FS cache lookups that hit", &FsCacheKindStats::hits},
      {"seams_cache_misses_total", "counter", "FS cache lookups that missed (or found it expired)",
       &FsCacheKindStats::misses},
      {"seams_cache_evictions_total", "counter", "FS cache entries evicted for room",
       &FsCacheKindStats::evictions},
      {"seams_cache_invalidations_total", "counter", "FS cache entries removed by invalidation",
       &FsCacheKindStats::invalidations},
      {"seams_cache_bytes", "gauge", "Bytes the FS cache holds (charged)",
       &FsCacheKindStats::bytes},
      {"seams_cache_entries", "gauge", "Entries the FS cache holds", &FsCacheKindStats::entries},
  };
  std::string out;
  for (const Series& s : kSeries) {
    out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", s.name, s.help, s.name, s.type);
    for (const auto& [kind, k] : kinds) {
      out += fmt::format("{}{{cache=\"{}\",kind=\"{}\"}} {}\n", s.name, cache, kind, k->*s.field);
    }
  }
  out += fmt::format(
      "# HELP seams_cache_budget_bytes The FS cache's byte budget\n"
      "# TYPE seams_cache_budget_bytes gauge\n"
      "seams_cache_budget_bytes{{cache=\"{}\"}} {}\n",
      cache, stats.budget_bytes);
  return out;
}

}  // namespace seams
