#include "core/cache/cache_metrics.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "core/cache/fs_cache.h"

namespace seams {
namespace {

VaultPath P(std::string_view raw) {
  return VaultPath::parse(raw).value();
}

class CacheIntrospectionTest : public ::testing::Test {
 protected:
  ManualClock clock_;
  FsCache cache_{FsCache::Options{}, clock_};

  void fill() {
    FileAttr a;
    a.version = 4;
    a.size = 5;
    cache_.putAttr(P("/d/a"), a, cache_.beginFill(P("/d/a")));
    cache_.putContent(P("/d/a"), 4, "hello", cache_.beginFill(P("/d/a")));
    cache_.putList(P("/d"), {}, cache_.beginFill(P("/d")));
  }
};

TEST_F(CacheIntrospectionTest, EntriesListEveryHeldEntryWithItsCharge) {
  EXPECT_TRUE(cache_.entries().empty());
  fill();
  std::vector<FsCacheEntryInfo> entries = cache_.entries();
  ASSERT_EQ(entries.size(), 3u);
  std::sort(entries.begin(), entries.end(),
            [](const auto& x, const auto& y) { return x.kind < y.kind; });
  EXPECT_EQ(entries[0].kind, "attr");
  EXPECT_EQ(entries[0].path, "/d/a");
  EXPECT_EQ(entries[0].version, 4u);
  EXPECT_EQ(entries[1].kind, "content");
  EXPECT_EQ(entries[1].version, 4u);
  EXPECT_EQ(entries[2].kind, "list");
  EXPECT_EQ(entries[2].path, "/d");
  std::uint64_t charged = 0;
  for (const auto& e : entries) charged += e.bytes;
  EXPECT_EQ(charged, cache_.stats().bytes);  // the same books as the budget
  cache_.invalidate(P("/d/a"));
  EXPECT_TRUE(cache_.entries().empty());  // the file and its parent's listing
}

TEST_F(CacheIntrospectionTest, MetricsCarryTheCountersPerKindUnderTheCacheLabel) {
  fill();
  (void)cache_.getContent(P("/d/a"));  // hit
  (void)cache_.getContent(P("/d/b"));  // miss
  const std::string text = renderCacheMetrics(cache_.stats(), "vault");
  EXPECT_NE(text.find("# TYPE seams_cache_hits_total counter\n"), std::string::npos);
  EXPECT_NE(text.find("seams_cache_hits_total{cache=\"vault\",kind=\"content\"} 1\n"),
            std::string::npos);
  EXPECT_NE(text.find("seams_cache_misses_total{cache=\"vault\",kind=\"content\"} 1\n"),
            std::string::npos);
  EXPECT_NE(text.find("seams_cache_entries{cache=\"vault\",kind=\"attr\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("seams_cache_budget_bytes{cache=\"vault\"} " +
                      std::to_string(FsCache::Options{}.budget_bytes) + "\n"),
            std::string::npos);
}

}  // namespace
}  // namespace seams
