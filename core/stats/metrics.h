// Metrics: counters, gauges and latency histograms, exported as Prometheus text.
//
// One MetricsRegistry per process, built in main() and handed out through Deps (no global).
// Components register their series once (at construction) and keep the returned reference; the
// reference stays valid for the registry's lifetime. Recording on it takes no lock.
//
//   MetricsRegistry& m = deps.metrics;
//   Counter& hits = m.counter("seams_cache_hits_total", "Cache lookups that hit", {{"cache",
//   "meta"}}); Histogram& lat = m.histogram("seams_http_request_seconds", "HTTP request latency",
//                                {{"method", "GET"}});
//   hits.inc();
//   { ScopedTimer t(lat); serve(); }
//   std::string text = m.renderPrometheus();   // GET /metrics
//
// A series is identified by its name and its label set (label order does not matter). Asking for
// an existing series returns the same object. Asking for a name already registered as another
// type, or passing a name or label name Prometheus does not allow, is a programming error and
// aborts with the name (it cannot be a runtime condition: names are literals in our code).
//
// Histograms record nanoseconds; renderPrometheus() shows them as summaries in seconds (name them
// "..._seconds"), with quantiles 0.5, 0.9, 0.99, 0.999 and _sum, _count.
//
// Thread-safety: every method of every class here may be called concurrently from any thread.
// MetricsRegistry::mutex_ guards the set of series (registration, rendering), never a value.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/common/clock.h"
#include "core/common/thread_annotations.h"
#include "core/stats/histogram.h"

namespace seams {

// Label name -> value. Order given does not matter; series are kept sorted by label name.
using Labels = std::vector<std::pair<std::string, std::string>>;

class Counter {
 public:
  void inc(std::uint64_t n = 1) noexcept { value_.fetch_add(n, std::memory_order_relaxed); }
  std::uint64_t value() const noexcept { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> value_{0};
};

class Gauge {
 public:
  void set(double v) noexcept { value_.store(v, std::memory_order_relaxed); }
  void add(double d) noexcept;
  void inc() noexcept { add(1.0); }
  void dec() noexcept { add(-1.0); }
  double value() const noexcept { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0.0};
};

class MetricsRegistry {
 public:
  enum class Type : std::uint8_t { counter = 0, gauge = 1, histogram = 2 };

  MetricsRegistry();
  ~MetricsRegistry();
  MetricsRegistry(const MetricsRegistry&) = delete;
  MetricsRegistry& operator=(const MetricsRegistry&) = delete;

  // The series `name{labels}`, created on first use. `help` is kept from the first registration
  // of `name`.
  Counter& counter(std::string_view name, std::string_view help, const Labels& labels = {});
  Gauge& gauge(std::string_view name, std::string_view help, const Labels& labels = {});
  Histogram& histogram(std::string_view name, std::string_view help, const Labels& labels = {});

  // Prometheus text exposition format 0.0.4 (Content-Type "text/plain; version=0.0.4"):
  // families sorted by name, series sorted by labels, one HELP and TYPE line per family.
  std::string renderPrometheus() const;

  // Quantiles shown for each histogram.
  static constexpr double kQuantiles[] = {0.5, 0.9, 0.99, 0.999};

 private:
  struct Series;
  struct Family;
  Series& seriesFor(std::string_view name, std::string_view help, Type type, const Labels& labels);

  mutable Mutex mutex_;
  std::map<std::string, std::unique_ptr<Family>, std::less<>> families_ GUARDED_BY(mutex_);
};

// Records the time from construction to destruction (or to stop()) into a histogram, in ns.
// One thread only (it lives on a stack); the histogram may be shared.
class ScopedTimer {
 public:
  explicit ScopedTimer(Histogram& histogram) : ScopedTimer(histogram, systemClock()) {}
  // `clock` must outlive the timer.
  ScopedTimer(Histogram& histogram, const Clock& clock)
      : histogram_(&histogram), clock_(&clock), start_(clock.now()) {}
  ~ScopedTimer() { stop(); }
  ScopedTimer(const ScopedTimer&) = delete;
  ScopedTimer& operator=(const ScopedTimer&) = delete;

  // Records now and returns the elapsed ns; later calls (and the destructor) record nothing.
  std::uint64_t stop() noexcept;
  // Drops the measurement: nothing will be recorded.
  void cancel() noexcept { histogram_ = nullptr; }

 private:
  static const Clock& systemClock() noexcept;

  Histogram* histogram_;
  const Clock* clock_;
  MonoTime start_;
};

}  // namespace seams
