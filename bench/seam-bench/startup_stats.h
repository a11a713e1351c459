// What repeated starts of one deployment say about its startup: the spread of each figure over
// the starts (so "deterministic" is a number, not a claim) and each service's or daemon's own
// start interval, read from the launcher's log (serviceTimeline()).
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

namespace seams::bench {

// Nearest-rank order statistics of one figure over n starts. spread = p90 - p50: how much later
// than usual one start in ten comes in. With n < 10, p90 is the second-largest sample or less
// (nearest rank), never an interpolation past the data.
struct Spread {
  std::size_t n = 0;
  double p50 = 0, p90 = 0, max = 0, spread = 0;
};
// REQUIRES: !samples.empty().
Spread spreadOf(std::vector<double> samples);
nlohmann::json spreadJson(const Spread& s, const std::string& unit);

// One unit's start in one start of the deployment: `unit` names it ("seamd: auth",
// "launcher: fsd", "seam-fsd: storage"), `ms` is how long it took.
struct StartInterval {
  std::string unit;
  double ms = 0;
};
// From one start's service timeline ([{"ms", "who", "event"}], ms after spawn):
// - a daemon the launcher spawned: its "NAME: spawned PROGRAM (pid P)" to its "NAME: ready"
//   (unit "launcher: NAME");
// - a service of a process: its "NAME starting" to its "NAME started" (unit "PROCESS: NAME");
// - a process itself, up to its first "starting" (unit "PROCESS: exec to first service"): from
//   the spawn for seamd, from the launcher's "spawned" line for a daemon.
// Events the rules do not name are ignored; a unit without its end event gives no interval.
std::vector<StartInterval> startIntervals(const nlohmann::json& services);

}  // namespace seams::bench
