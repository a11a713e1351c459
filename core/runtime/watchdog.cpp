#include "core/runtime/watchdog.h"

#include <chrono>

#include "core/config/config.h"

namespace seams {

WatchdogThresholds watchdogThresholds(const WatchdogConfig& config) {
  return WatchdogThresholds{std::chrono::milliseconds(config.heartbeat_deadline_ms),
                            std::chrono::milliseconds(config.kill_deadline_ms)};
}

WatchdogFinding Watchdog::check(Record& record, Duration age) const {
  if (age >= thresholds_.kill) return WatchdogFinding::hang;
  if (age >= thresholds_.miss) {
    if (record.miss_reported) return WatchdogFinding::none;
    record.miss_reported = true;
    return WatchdogFinding::miss;
  }
  record.miss_reported = false;  // a fresh heartbeat ends the stall
  return WatchdogFinding::none;
}

}  // namespace seams
