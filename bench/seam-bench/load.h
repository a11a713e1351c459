// Load generators: closed loop (fixed concurrency) and open loop (fixed rate, latency measured
// from each request's scheduled send time, so coordinated omission is corrected).
//
// A worker is a callable doing one operation and answering whether it succeeded; each worker
// thread gets its own (made by the factory on that thread), so a worker may own a connection.
//
// Threading: each call runs its own threads and joins them before returning.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "bench/seam-bench/metrics.h"
#include "core/stats/histogram.h"

namespace seams::bench {

using Op = std::function<bool()>;
using WorkerFactory = std::function<Op(int worker)>;

std::int64_t nowNs();  // CLOCK_MONOTONIC
// Sleeps (clock_nanosleep, absolute) until ~100 us before `deadline_ns`, then spins.
void waitUntil(std::int64_t deadline_ns);

struct LoadResult {
  std::unique_ptr<Histogram> latency = std::make_unique<Histogram>();
  std::uint64_t ok = 0;
  std::uint64_t errors = 0;
  double seconds = 0;      // wall time of the measurement
  double target_rate = 0;  // open loop: requests per second asked for (0: closed loop)
  int workers = 0;
  double throughput() const { return seconds > 0 ? double(ok) / seconds : 0; }
  double achievedRate() const { return seconds > 0 ? double(ok + errors) / seconds : 0; }
  nlohmann::json toJson(bool with_histogram = true) const;
};

LoadResult closedLoop(int workers, double seconds, const WorkerFactory& factory);

// An operation that does one of `mix`'s operations per call, drawn by weight with `rng` (the
// worker's own); `op_named` makes each from its name. For one worker thread, as any Op.
Op weightedMix(const std::vector<std::pair<std::string, double>>& mix,
               const std::function<Op(const std::string&)>& op_named,
               std::shared_ptr<std::mt19937_64> rng);
// Schedules `rate` requests per second over `workers` threads for `seconds`; latency of each
// request is completion minus its scheduled send time.
LoadResult openLoop(int workers, double rate, double seconds, const WorkerFactory& factory);

}  // namespace seams::bench
