// Heartbeat: how the watchdog tells a working service from a hung one.
//
// The service's own loop calls touch() every iteration; the age is the time since the last touch.
// A service whose workers sleep while idle (FUSE threads sit in read() on /dev/fuse) does not
// touch from the workers: its run() keeps a loop of its own that touches the heartbeat only while
// its component says it is alive (core/services/supervised_loop.h), and the component judges
// itself by the requests it has in flight (core/fuse/in_flight.h), so an idle mount is never
// "hung" and a stuck request is.
//
// Thread-safety: every method may be called from any thread; touch() is lock-free.
#pragma once

#include <atomic>
#include <cstdint>

#include "core/common/clock.h"
#include "core/runtime/env.h"

namespace seams {

class Heartbeat {
 public:
  explicit Heartbeat(const Clock& clock);
  Heartbeat(const Heartbeat&) = delete;
  Heartbeat& operator=(const Heartbeat&) = delete;

  void touch();
  // How overdue this heartbeat is at `now` (never negative).
  Duration age(MonoTime now) const;

 private:
  static std::int64_t toNs(MonoTime t) { return t.time_since_epoch().count(); }

  const Clock& clock_;
  std::atomic<std::int64_t> last_touch_ns_;
};

}  // namespace seams
