// Heartbeat: how the watchdog tells a working service from a hung one.
//
// Two ways to be watched, chosen per service (Service::heartbeatMode()):
//  - touch: the service's own loop calls touch() every iteration; age = now - last touch.
//    For loops that wake regularly (timers, accept loops with a heartbeat timer).
//  - busy: for workers that block while idle (FUSE threads sit in read() on /dev/fuse), an idle
//    thread is healthy however long it sleeps; each request holds a BusyScope instead, and the age
//    is that of the oldest request still in flight (zero when none is).
//
// Thread-safety: every method may be called from any thread; touch() and busy() are lock-free.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>

#include "core/common/clock.h"
#include "core/runtime/env.h"

namespace seams {

enum class HeartbeatMode : std::uint8_t { touch = 0, busy = 1 };

class Heartbeat {
 public:
  // Up to this many requests are tracked at once; more in flight are served but not watched.
  static constexpr int kBusySlots = 64;

  explicit Heartbeat(const Clock& clock);
  Heartbeat(const Heartbeat&) = delete;
  Heartbeat& operator=(const Heartbeat&) = delete;

  void touch();

  // Marks one request in flight from now until the scope ends.
  class BusyScope {
   public:
    BusyScope(BusyScope&& other) noexcept;
    BusyScope& operator=(BusyScope&&) = delete;
    ~BusyScope();

   private:
    friend class Heartbeat;
    explicit BusyScope(std::atomic<std::int64_t>* slot) : slot_(slot) {}
    std::atomic<std::int64_t>* slot_;  // null when untracked or moved from
  };
  BusyScope busy();

  // How overdue this heartbeat is at `now` in the given mode (never negative).
  Duration age(MonoTime now, HeartbeatMode mode) const;

 private:
  static std::int64_t toNs(MonoTime t) { return t.time_since_epoch().count(); }

  const Clock& clock_;
  std::atomic<std::int64_t> last_touch_ns_;
  // Start time of each tracked request, 0 for a free slot.
  std::array<std::atomic<std::int64_t>, kBusySlots> busy_since_ns_{};
};

}  // namespace seams
