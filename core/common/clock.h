// Time, injected. Everything that expires, backs off or times out (sessions, TTL caches, the
// watchdog) takes a Clock&, so tests drive it with ManualClock and never sleep to wait.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

namespace seams {

using MonoTime = std::chrono::steady_clock::time_point;
using WallTime = std::chrono::system_clock::time_point;

// Thread-safe: every method may be called from any thread.
class Clock {
 public:
  virtual ~Clock() = default;
  // Monotonic time, for intervals and deadlines.
  virtual MonoTime now() const = 0;
  // Wall-clock time, only for what is shown to people or clients (expires_at).
  virtual WallTime wallNow() const = 0;
};

class SystemClock final : public Clock {
 public:
  MonoTime now() const override { return std::chrono::steady_clock::now(); }
  WallTime wallNow() const override { return std::chrono::system_clock::now(); }
};

// A clock that moves only when told to. Starts at an arbitrary fixed point.
class ManualClock final : public Clock {
 public:
  MonoTime now() const override {
    return MonoTime(std::chrono::nanoseconds(ns_.load(std::memory_order_acquire)));
  }
  WallTime wallNow() const override {
    return WallTime(std::chrono::duration_cast<WallTime::duration>(
        std::chrono::nanoseconds(kWallEpochNs + ns_.load(std::memory_order_acquire))));
  }
  void advance(std::chrono::nanoseconds d) { ns_.fetch_add(d.count(), std::memory_order_acq_rel); }

 private:
  // 2026-01-01T00:00:00Z, so wall times in tests look plausible.
  static constexpr std::int64_t kWallEpochNs = 1767225600LL * 1000000000LL;
  std::atomic<std::int64_t> ns_{1000000000LL};
};

}  // namespace seams
