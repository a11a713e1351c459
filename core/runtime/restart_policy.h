// Restart policy: how long to wait before trying again, and when too many restarts mean the whole
// process is broken. Pure values over durations and time points: no clock, threads or randomness
// of their own (the caller passes `now` and a jitter draw), so they are tested on plain numbers.
//
//  - Backoff: initial, doubling on each further attempt up to max, each delay spread by
//    +/- jitter (a fraction, scaled by a draw in [-1, 1]); back to initial after reset() or once
//    the thing it paces stayed up reset_after. Used by the ServiceManager for each service's
//    restarts (and so by seam-split for its daemons) and by the IPC stubs for their reconnects.
//  - RestartIntensity: more than max_restarts restarts within period is exceeded (Erlang's R/P):
//    the ServiceManager then escalates.
//
// Which services are restarted at all (permanent/transient/temporary) is service.h's
// RestartPolicy; which of their dependents go with them is the config's RestartStrategy.
//
// Thread-safety: values owned by one thread (or guarded by their owner's mutex).
#pragma once

#include <deque>

#include "core/common/clock.h"
#include "core/runtime/env.h"

namespace seams {

struct BackoffOptions {
  Duration initial{0};
  Duration max{0};
  double jitter = 0;                       // +/- fraction, 0..1
  Duration reset_after = Duration::max();  // up this long: the next delay is `initial` again
};

class Backoff {
 public:
  explicit Backoff(BackoffOptions options) : options_(options), next_(options.initial) {}

  // The delay before the next attempt, spread by `draw` (in [-1, 1]; 0: none) times the jitter
  // and capped at max; the one after it is based on twice this one's base.
  Duration next(double draw = 0);
  // After a success: the next delay is `initial` again.
  void reset() { next_ = options_.initial; }
  // The paced thing ran `up` long before it failed: reset() if that reached reset_after.
  void ranFor(Duration up) {
    if (up >= options_.reset_after) reset();
  }

 private:
  BackoffOptions options_;
  Duration next_;  // the base of the next delay, before jitter
};

class RestartIntensity {
 public:
  RestartIntensity(int max_restarts, Duration period)
      : max_restarts_(max_restarts), period_(period) {}

  // Counts a restart at `now`; true once more than max_restarts fall within the period ending at
  // `now` (those older than the period are forgotten).
  bool exceededAfterRestart(MonoTime now);

 private:
  int max_restarts_;
  Duration period_;
  std::deque<MonoTime> restarts_;  // within the period, oldest first
};

}  // namespace seams
