// Metric definitions of DESIGN.md "Bench", as pure functions over recorded samples, so each one is
// tested on synthetic inputs with known answers (tests/bench/metrics_test.cpp).
//
// Threading: plain functions and value types; no shared state.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/stats/histogram.h"

namespace seams::bench {

// --- latency ---------------------------------------------------------------------------------

// p50/p90/p99/p99.9/max of a histogram, in nanoseconds, plus count and mean.
struct LatencySummary {
  std::uint64_t count = 0;
  double mean_ns = 0;
  std::uint64_t p50_ns = 0, p90_ns = 0, p99_ns = 0, p999_ns = 0, max_ns = 0;
};
LatencySummary summarise(const Histogram& h);
nlohmann::json toJson(const LatencySummary& s);

// Open-loop latency with coordinated omission corrected: a request scheduled at `scheduled_ns`
// that completed at `completed_ns` took completed - scheduled, however late it was actually sent
// (a stall delays every request queued behind it, and each of them is charged the wait).
inline std::uint64_t openLoopLatency(std::int64_t scheduled_ns, std::int64_t completed_ns) {
  return completed_ns > scheduled_ns ? static_cast<std::uint64_t>(completed_ns - scheduled_ns) : 0;
}

// The send schedule of an open-loop client: request i of connection c (of n) at rate `rate`
// (requests per second over all connections) is due at start + (i * n + c) / rate seconds, so the
// connections interleave evenly.
std::int64_t scheduledSendNs(std::int64_t start_ns, double rate, int connections, int connection,
                             std::uint64_t index);

// --- drift ------------------------------------------------------------------------------------

// One read on frontend B while a write acknowledged on frontend A at t0 is propagating.
struct ReadSample {
  std::int64_t start_ns = 0;
  std::int64_t end_ns = 0;
  std::uint64_t version = 0;  // the version the read returned (0: failed / missing)
  bool ok = true;             // false: the read failed (counts as not fresh)
};

// Visibility lag: the first time after which every read on B returns (at least) `version`, minus
// t0. Reads are taken in start order; the lag is the start of the first read of the final run of
// fresh reads, minus t0 (0 if that read began before t0). nullopt if the last read was stale (the
// write never became visible within the polling window).
std::optional<std::int64_t> visibilityLagNs(std::int64_t t0_ns, std::uint64_t version,
                                            std::vector<ReadSample> reads);

// Revocation / logout lag: the same shape, with "fresh" meaning "denied" (403 / EACCES / 401).
struct DenySample {
  std::int64_t start_ns = 0;
  bool denied = false;
};
std::optional<std::int64_t> denialLagNs(std::int64_t t0_ns, std::vector<DenySample> reads);

// Stale-read ratio: writes on shared keys (key, acknowledged at, version), reads on them (key,
// began at, version returned). A read is stale when it began after some write's acknowledgement
// yet returned an older version than that write's. Reads of a key before any acknowledged write
// are not classified (they count in neither total nor stale).
struct WriteAck {
  std::string key;
  std::int64_t ack_ns = 0;
  std::uint64_t version = 0;
};
struct KeyRead {
  std::string key;
  std::int64_t start_ns = 0;
  std::uint64_t version = 0;
};
struct StaleStats {
  std::uint64_t classified = 0;
  std::uint64_t stale = 0;
  double ratio() const { return classified ? double(stale) / double(classified) : 0.0; }
};
StaleStats classifyStaleReads(const std::vector<WriteAck>& writes,
                              const std::vector<KeyRead>& reads);

// --- memory -----------------------------------------------------------------------------------

// The fields of /proc/PID/smaps_rollup that matter, in bytes.
struct MemoryRollup {
  std::uint64_t rss = 0, pss = 0, private_clean = 0, private_dirty = 0, shared_clean = 0,
                shared_dirty = 0, swap_pss = 0;
  std::uint64_t uss() const { return private_clean + private_dirty; }
  MemoryRollup& operator+=(const MemoryRollup& o);
};
// Parses smaps_rollup text ("Pss:   123 kB" lines); unknown lines are ignored.
MemoryRollup parseSmapsRollup(std::string_view text);

// Cache bytes held more than once, across every FS cache of a deployment's processes (one
// `seamctl caches` listing per process). An entry is (kind, path); when k >= 2 caches hold it,
// every copy but one is "held twice": its bytes count (the copy kept aside is the largest, so the
// figure never overstates). Versions are not compared: a stale copy is a copy all the same.
struct CacheEntrySample {
  std::string cache;  // who holds it: "<process>/<role>", e.g. "seam-fsd/vault"
  std::string kind;
  std::string path;
  std::uint64_t bytes = 0;
};
struct DuplicateBytes {
  std::uint64_t total_bytes = 0;       // every entry of every cache
  std::uint64_t held_twice_bytes = 0;  // the extra copies
  std::uint64_t entries = 0;
  std::uint64_t duplicated_entries = 0;  // extra copies, counted as entries
};
DuplicateBytes duplicateCacheBytes(const std::vector<CacheEntrySample>& entries);

// Cache hit ratio over time from periodic scrapes of every process's seams_cache_hits_total and
// seams_cache_misses_total (all caches, all kinds). A process's counters that went down were
// reset (its cache was rebuilt after a restart) and count again from 0; a process missing from a
// scrape (restarting, stopped) keeps its last values. (A rebuilt cache that passes its old counts
// within one scrape interval is undercounted; at 100 ms scrapes of warm caches it does not.)
struct CacheCounts {
  double hits = 0;
  double misses = 0;
};
struct CacheScrape {
  std::int64_t t_ns = 0;
  std::map<std::string, CacheCounts> by_process;
};
// Lookups between consecutive scrapes, attributed to the later scrape's time: (t, hits, misses).
struct CacheDelta {
  std::int64_t t_ns = 0;
  double hits = 0;
  double misses = 0;
};
std::vector<CacheDelta> cacheDeltas(const std::vector<CacheScrape>& scrapes);
// hits / lookups over deltas with from <= t < to; nullopt when no lookup happened.
std::optional<double> hitRatio(const std::vector<CacheDelta>& deltas, std::int64_t from_ns,
                               std::int64_t to_ns);

// --- /proc accounting -------------------------------------------------------------------------

struct ProcCounters {
  double cpu_seconds = 0;                // utime + stime
  std::uint64_t voluntary_switches = 0;  // summed over the threads alive now
  std::uint64_t involuntary_switches = 0;
  ProcCounters& operator+=(const ProcCounters& o);
  ProcCounters operator-(const ProcCounters& o) const;
};
// utime+stime from a /proc/PID/stat line (fields 14 and 15, after the parenthesised comm).
std::optional<double> parseStatCpuSeconds(std::string_view stat_line, long ticks_per_second);
// ppid (field 4) from a /proc/PID/stat line.
std::optional<int> parseStatPpid(std::string_view stat_line);
// voluntary_ctxt_switches / nonvoluntary_ctxt_switches from /proc/PID/task/TID/status text.
void parseStatusSwitches(std::string_view status_text, ProcCounters& into);

// --- Prometheus text --------------------------------------------------------------------------

// Sums every sample of metric `name` (any labels) in Prometheus text; nullopt if absent.
std::optional<double> prometheusSum(std::string_view text, std::string_view name);
// The same over the samples whose label set contains `label` verbatim (e.g. `owner="fsd"`).
std::optional<double> prometheusSumWhere(std::string_view text, std::string_view name,
                                         std::string_view label);

// --- the floor beside each deployment -------------------------------------------------------

// The raw ping-pong floor measured right before and right after one deployment's run. The floor
// moved when the larger of the two p50s exceeds the smaller by more than `threshold` (0.25: 25%),
// either way: the machine changed under the run (load from elsewhere, a CPU's idle state, a
// migration) and the run's figures are not comparable with its neighbours'.
struct FloorShift {
  double before = 0, after = 0;
  double change = 0;  // (after - before) / before
  bool moved = false;
};
// nullopt when either figure is missing (<= 0: the probe failed).
std::optional<FloorShift> floorShift(double before, double after, double threshold = 0.25);

// --- statistics over repeats ------------------------------------------------------------------

struct Interval {
  double median = 0, low = 0, high = 0;  // a 95% bootstrap percentile interval of the median
  std::size_t n = 0;
};
// Median and a seeded bootstrap 95% CI of the median (2000 resamples). n = 1: low = high = value.
Interval medianInterval(std::vector<double> values, std::uint64_t seed = 1);

}  // namespace seams::bench
