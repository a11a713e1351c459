#include "core/roots/cache_introspection.h"

#include <memory>

#include "core/cache/cache_metrics.h"
#include "core/cache/fs_cache.h"

namespace seams {
namespace {

constexpr std::string_view kRoles[] = {kVaultCacheRole, kFrontendCacheRole};

}  // namespace

std::function<std::string()> processStats(MetricsRegistry& metrics, Deps& deps) {
  return [&metrics, &deps] {
    std::string text = metrics.renderPrometheus();
    for (std::string_view role : kRoles) {
      if (std::shared_ptr<const FsCache> cache = deps.get<const FsCache>(role)) {
        text += renderCacheMetrics(cache->stats(), role);
      }
    }
    return text;
  };
}

std::function<std::vector<CacheEntryRow>()> processCaches(Deps& deps) {
  return [&deps] {
    std::vector<CacheEntryRow> rows;
    for (std::string_view role : kRoles) {
      std::shared_ptr<const FsCache> cache = deps.get<const FsCache>(role);
      if (!cache) continue;
      for (FsCacheEntryInfo& e : cache->entries()) {
        rows.push_back(
            {std::string(role), std::string(e.kind), std::move(e.path), e.version, e.bytes});
      }
    }
    return rows;
  };
}

}  // namespace seams
