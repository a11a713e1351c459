#include "bench/seam-bench/load.h"

#include <time.h>

#include <atomic>
#include <thread>

#include "core/stats/histogram_json.h"

namespace seams::bench {

std::int64_t nowNs() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return std::int64_t(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

void waitUntil(std::int64_t deadline_ns) {
  constexpr std::int64_t kSpinNs = 100'000;
  std::int64_t now = nowNs();
  if (deadline_ns - now > kSpinNs) {
    const std::int64_t wake = deadline_ns - kSpinNs;
    timespec ts{static_cast<time_t>(wake / 1'000'000'000), static_cast<long>(wake % 1'000'000'000)};
    ::clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr);
  }
  while (nowNs() < deadline_ns) {
  }
}

nlohmann::json LoadResult::toJson(bool with_histogram) const {
  nlohmann::json j = {{"workers", workers},
                      {"seconds", seconds},
                      {"ok", ok},
                      {"errors", errors},
                      {"throughput", {{"value", throughput()}, {"unit", "req/s"}}},
                      {"latency", bench::toJson(summarise(*latency))}};
  if (target_rate > 0) {
    j["target_rate"] = {{"value", target_rate}, {"unit", "req/s"}};
    j["achieved_rate"] = {{"value", achievedRate()}, {"unit", "req/s"}};
  }
  if (with_histogram) j["histogram_ns"] = latency->snapshot();
  return j;
}

namespace {
// Runs `body(worker, op)` on `workers` threads once all of them have made their op (so slow
// setup such as connecting does not eat the measurement).
template <typename Body>
void runWorkers(int workers, const WorkerFactory& factory, std::int64_t& start_out,
                const Body& body) {
  std::atomic<int> ready{0};
  std::atomic<std::int64_t> start{0};
  std::vector<std::thread> threads;
  for (int w = 0; w < workers; ++w) {
    threads.emplace_back([&, w] {
      Op op = factory(w);
      ready.fetch_add(1);
      std::int64_t s;
      while ((s = start.load(std::memory_order_acquire)) == 0) std::this_thread::yield();
      body(w, op, s);
    });
  }
  while (ready.load() < workers) std::this_thread::yield();
  start_out = nowNs() + 1'000'000;  // 1 ms for every thread to see the start
  start.store(start_out, std::memory_order_release);
  for (auto& t : threads) t.join();
}
}  // namespace

Op weightedMix(const std::vector<std::pair<std::string, double>>& mix,
               const std::function<Op(const std::string&)>& op_named,
               std::shared_ptr<std::mt19937_64> rng) {
  std::vector<Op> ops;
  std::vector<double> weights;
  for (const auto& [name, weight] : mix) {
    ops.push_back(op_named(name));
    weights.push_back(weight);
  }
  auto pick =
      std::make_shared<std::discrete_distribution<std::size_t>>(weights.begin(), weights.end());
  return [ops, pick, rng] { return ops[(*pick)(*rng)](); };
}

LoadResult closedLoop(int workers, double seconds, const WorkerFactory& factory) {
  LoadResult r;
  r.workers = workers;
  std::atomic<std::uint64_t> ok{0}, errors{0};
  const auto duration = static_cast<std::int64_t>(seconds * 1e9);
  std::int64_t start = 0;
  runWorkers(workers, factory, start, [&](int, Op& op, std::int64_t s) {
    waitUntil(s);
    const std::int64_t end = s + duration;
    std::uint64_t my_ok = 0, my_err = 0;
    for (;;) {
      const std::int64_t t0 = nowNs();
      if (t0 >= end) break;
      const bool success = op();
      const std::int64_t t1 = nowNs();
      if (success) {
        r.latency->record(static_cast<std::uint64_t>(t1 - t0));
        ++my_ok;
      } else {
        ++my_err;
      }
    }
    ok += my_ok;
    errors += my_err;
  });
  r.seconds = seconds;
  r.ok = ok;
  r.errors = errors;
  return r;
}

LoadResult openLoop(int workers, double rate, double seconds, const WorkerFactory& factory) {
  LoadResult r;
  r.workers = workers;
  r.target_rate = rate;
  std::atomic<std::uint64_t> ok{0}, errors{0};
  const auto duration = static_cast<std::int64_t>(seconds * 1e9);
  std::int64_t start = 0;
  runWorkers(workers, factory, start, [&](int w, Op& op, std::int64_t s) {
    const std::int64_t end = s + duration;
    std::uint64_t my_ok = 0, my_err = 0;
    for (std::uint64_t i = 0;; ++i) {
      const std::int64_t due = scheduledSendNs(s, rate, workers, w, i);
      if (due >= end) break;
      waitUntil(due);  // returns at once when we are behind schedule
      const bool success = op();
      const std::int64_t done = nowNs();
      if (success) {
        r.latency->record(openLoopLatency(due, done));
        ++my_ok;
      } else {
        ++my_err;
      }
    }
    ok += my_ok;
    errors += my_err;
  });
  // The wall time includes any backlog drained after the schedule ended.
  r.seconds = std::max(seconds, double(nowNs() - start) / 1e9);
  r.ok = ok;
  r.errors = errors;
  return r;
}

}  // namespace seams::bench
