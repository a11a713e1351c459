// Watchdog: the verdict on one watched heartbeat, apart from whatever acts on it (in the style of
// Envoy's GuardDog, whose step() only looks and reports).
//
// It is given an age (how overdue a heartbeat is: the time since its last touch; see heartbeat.h)
// and the thresholds, and finds:
//   - miss: older than the miss deadline (heartbeat_deadline_ms). Reported once per stall: the
//     Record remembers it was, until a fresh heartbeat ends the stall;
//   - hang: older than the kill deadline (kill_deadline_ms). Reported on every look, until whoever
//     acts on it (the ServiceManager, per HangAction; the launcher, for a daemon's WATCHDOG=1)
//     replaces the run.
// It knows no threads, services or clocks: ages in, findings out, so it is tested on plain values.
//
// Thread-safety: a Watchdog is immutable; a Record belongs to one watched run and is guarded by
// whoever owns that run (the manager's mutex_).
#pragma once

#include <cstdint>

#include "core/runtime/env.h"

namespace seams {

struct WatchdogConfig;  // core/config/config.h

struct WatchdogThresholds {
  Duration miss;  // first alert
  Duration kill;  // handled (REQUIRES: kill >= miss)
};

// From the [watchdog] section: heartbeat_deadline_ms and kill_deadline_ms.
WatchdogThresholds watchdogThresholds(const WatchdogConfig& config);

enum class WatchdogFinding : std::uint8_t { none, miss, hang };

class Watchdog {
 public:
  // What the watchdog remembers about one watched run. A fresh Record for each run.
  struct Record {
    bool miss_reported = false;  // the current stall was reported as a miss
  };

  explicit Watchdog(WatchdogThresholds thresholds) : thresholds_(thresholds) {}

  // One look at a heartbeat `age` old. A miss is returned only the first time in a stall; a hang
  // every time (it leaves the record as it was: the stall goes on until the run is replaced).
  WatchdogFinding check(Record& record, Duration age) const;
  // Younger than the miss deadline: what "healthy" (and a systemd watchdog ping) requires.
  bool fresh(Duration age) const { return age < thresholds_.miss; }
  const WatchdogThresholds& thresholds() const { return thresholds_; }

 private:
  WatchdogThresholds thresholds_;
};

}  // namespace seams
