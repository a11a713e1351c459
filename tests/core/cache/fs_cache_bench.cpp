// Google Benchmark of the FS cache's hot paths. Not a test: it reports figures, asserts nothing.
//   fs_cache_bench --benchmark_filter=Hit
#include <benchmark/benchmark.h>

#include <random>
#include <string>
#include <vector>

#include "core/cache/fs_cache.h"

namespace seams {
namespace {

constexpr int kPaths = 4096;

std::vector<VaultPath> makePaths() {
  std::vector<VaultPath> paths;
  paths.reserve(kPaths);
  for (int i = 0; i < kPaths; ++i) {
    paths.push_back(VaultPath::parse("/projects/team" + std::to_string(i % 16) + "/docs/file-" +
                                     std::to_string(i) + ".txt")
                        .value());
  }
  return paths;
}

// One cache shared by every thread of a benchmark, filled before the timed loop.
struct Fixture {
  SystemClock clock;
  std::vector<VaultPath> paths = makePaths();
  FsCache cache{FsCache::Options{}, clock};

  Fixture() {
    for (const VaultPath& p : paths) {
      FileAttr a;
      a.version = 1;
      cache.putAttr(p, a, cache.beginFill(p));
      cache.putContent(p, 1, std::string(1024, 'c'), cache.beginFill(p));
    }
  }
};

Fixture& fixture() {
  static Fixture f;  // a benchmark binary's only global: built once, before timing
  return f;
}

void BM_GetAttrHit(benchmark::State& state) {
  Fixture& f = fixture();
  std::size_t i = static_cast<std::size_t>(state.thread_index()) * 997;
  for (auto _ : state) {
    benchmark::DoNotOptimize(f.cache.getAttr(f.paths[i++ % kPaths]));
  }
}
BENCHMARK(BM_GetAttrHit)->ThreadRange(1, 4)->UseRealTime();

void BM_GetContentHit(benchmark::State& state) {
  Fixture& f = fixture();
  std::size_t i = static_cast<std::size_t>(state.thread_index()) * 997;
  for (auto _ : state) {
    benchmark::DoNotOptimize(f.cache.getContent(f.paths[i++ % kPaths]));
  }
}
BENCHMARK(BM_GetContentHit)->ThreadRange(1, 4)->UseRealTime();

void BM_GetAttrMiss(benchmark::State& state) {
  Fixture& f = fixture();
  const VaultPath missing = VaultPath::parse("/projects/nowhere/never-cached.txt").value();
  for (auto _ : state) benchmark::DoNotOptimize(f.cache.getAttr(missing));
}
BENCHMARK(BM_GetAttrMiss)->ThreadRange(1, 4)->UseRealTime();

// Inserts into a full cache: every put reserves, evicts the oldest entry and links a new one.
void BM_PutContentWithEviction(benchmark::State& state) {
  SystemClock clock;
  FsCache::Options o;
  o.budget_bytes = 256 * 1024;
  FsCache cache(o, clock);
  std::vector<VaultPath> paths = makePaths();
  std::uint64_t version = 1;
  std::size_t i = 0;
  for (auto _ : state) {
    const VaultPath& p = paths[i++ % kPaths];
    cache.putContent(p, ++version, std::string(1024, 'p'), cache.beginFill(p));
  }
  state.counters["evictions"] = static_cast<double>(cache.stats().total.evictions);
}
BENCHMARK(BM_PutContentWithEviction);

void BM_Invalidate(benchmark::State& state) {
  Fixture& f = fixture();
  std::size_t i = 0;
  for (auto _ : state) f.cache.invalidate(f.paths[i++ % kPaths]);
}
BENCHMARK(BM_Invalidate);

}  // namespace
}  // namespace seams

BENCHMARK_MAIN();
