// RuntimeEnv: time, waiting, thread creation and randomness for the runtime, behind one interface
// (Envoy's Api, LevelDB's Env), so the service manager and watchdog run on simulated time in tests.
//
// SystemEnv is the real thing. SimulatedEnv runs on a ManualClock: waits end when their condition
// holds or when the test has advanced the clock past their deadline, never because real time
// passed.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <random>
#include <string_view>
#include <thread>
#include <vector>

#include "core/common/clock.h"
#include "core/common/thread_annotations.h"

namespace seams {

using Duration = std::chrono::nanoseconds;

// Thread-safe: every method may be called from any thread.
class RuntimeEnv {
 public:
  virtual ~RuntimeEnv() = default;

  virtual Clock& clock() = 0;

  // Blocks until pred() holds or clock().now() >= deadline; returns pred() as last evaluated.
  // REQUIRES: `lock` holds the mutex guarding pred's state, and whoever changes that state
  // notifies `cv` (so a condition is noticed at once; only deadlines depend on the clock).
  virtual bool waitUntil(std::unique_lock<std::mutex>& lock, std::condition_variable& cv,
                         MonoTime deadline, const std::function<bool()>& pred) = 0;

  // Starts a thread running `body`. `name` is for debuggers and `top -H` (first 15 bytes).
  virtual std::thread spawn(std::string_view name, std::function<void()> body) = 0;

  // A uniform random number in [-1, 1], for backoff jitter.
  virtual double jitter() = 0;
};

class SystemEnv final : public RuntimeEnv {
 public:
  SystemEnv();
  Clock& clock() override { return clock_; }
  bool waitUntil(std::unique_lock<std::mutex>& lock, std::condition_variable& cv, MonoTime deadline,
                 const std::function<bool()>& pred) override;
  std::thread spawn(std::string_view name, std::function<void()> body) override;
  double jitter() override;

 private:
  SystemClock clock_;
  Mutex rng_mutex_;
  std::mt19937_64 rng_ GUARDED_BY(rng_mutex_);
};

// Simulated time for tests. The clock moves only in advance(); a waiter re-checks the clock at
// least every millisecond of real time, so a test advances the clock and then waits (on a
// condition, with a generous bound) for the effect, never on the clock itself.
class SimulatedEnv final : public RuntimeEnv {
 public:
  Clock& clock() override { return clock_; }
  ManualClock& manualClock() { return clock_; }
  bool waitUntil(std::unique_lock<std::mutex>& lock, std::condition_variable& cv, MonoTime deadline,
                 const std::function<bool()>& pred) override;
  std::thread spawn(std::string_view name, std::function<void()> body) override;
  double jitter() override;

  void advance(Duration d) { clock_.advance(d); }
  // The value jitter() returns from now on (default 0: no jitter).
  void setJitter(double value);
  // Blocks until at least `n` threads are inside waitUntil() with a deadline not yet reached, so
  // a test can advance the clock knowing a timed wait is in progress.
  void awaitTimedWaiters(int n);
  int threadsSpawned() const;
  // Every timeout (deadline - now at the start of the wait) seen by waitUntil(), in order.
  std::vector<Duration> timeoutsSeen() const;

 private:
  ManualClock clock_;
  mutable Mutex mutex_;
  std::condition_variable waiters_cv_;
  int timed_waiters_ GUARDED_BY(mutex_) = 0;
  int threads_spawned_ GUARDED_BY(mutex_) = 0;
  double jitter_ GUARDED_BY(mutex_) = 0;
  std::vector<Duration> timeouts_seen_ GUARDED_BY(mutex_);
};

}  // namespace seams
