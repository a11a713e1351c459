#include "core/runtime/restart_policy.h"

#include <algorithm>

namespace seams {

Duration Backoff::next(double draw) {
  const Duration base = next_;
  const double factor = 1.0 + options_.jitter * draw;
  const Duration delay =
      std::clamp(Duration(static_cast<Duration::rep>(static_cast<double>(base.count()) * factor)),
                 Duration(0), options_.max);
  next_ = std::min(base * 2, options_.max);
  return delay;
}

bool RestartIntensity::exceededAfterRestart(MonoTime now) {
  restarts_.push_back(now);
  while (!restarts_.empty() && restarts_.front() <= now - period_) restarts_.pop_front();
  return static_cast<int>(restarts_.size()) > max_restarts_;
}

}  // namespace seams
