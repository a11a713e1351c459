// The deployment's FS caches, seen through each process's control socket (`seamctl caches` and
// `seamctl stats` without spawning seamctl): mono has one socket (run/control.sock); split has one
// per daemon (run/seam-NAME.control.sock), and the caches live in fsd (the owner's) and in httpd
// and fused (the frontends' own, under ttl and push).
//
// Threading: a ControlClient owns its thread's one KJ event loop, so each CacheSampler scrapes on
// its own thread, one connection at a time; cacheEntries() may be called from any thread that has
// no KJ event loop alive.
#pragma once

#include <atomic>
#include <chrono>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "bench/seam-bench/metrics.h"
#include "core/common/status.h"

namespace seams::bench {

// (process name, control socket) of every process of the deployment whose runtime dir is `run`.
std::vector<std::pair<std::string, std::string>> processControlSockets(const std::string& run_dir);

// Every entry of every cache of every process; entries' cache is "<process>/<role>".
Result<std::vector<CacheEntrySample>> cacheEntries(const std::string& run_dir);

// seams_cache_hits_total / seams_cache_misses_total of one scrape, summed over caches and kinds.
CacheCounts cacheCountsOf(std::string_view prometheus_text);

// Scrapes every process's cache counters every `interval` on its own thread, until stopped.
class CacheSampler {
 public:
  CacheSampler(std::string run_dir, std::chrono::milliseconds interval);
  ~CacheSampler();
  CacheSampler(const CacheSampler&) = delete;
  CacheSampler& operator=(const CacheSampler&) = delete;

  void stop();
  std::vector<CacheScrape> scrapes() const;

 private:
  void loop();

  std::string run_dir_;
  std::chrono::milliseconds interval_;
  std::atomic<bool> stop_{false};
  mutable std::mutex mu_;  // guards scrapes_
  std::vector<CacheScrape> scrapes_;
  std::thread thread_;  // last: started once the members above exist
};

}  // namespace seams::bench
