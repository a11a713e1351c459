// seam-bench advise: what splitting would cost a workload described by calls per request, work
// per call and payload, predicted from the boundary-cost model (model.h) refitted from a
// seam-bench JSON's "sweep".
//
//   seam-bench advise --from RESULTS.json --calls K --work-us W --payload B
//                     [--rtt-us X] [--extrapolate] [--json]
//
// Per split deployment: the predicted latency and CPU tax (µs, and as a fraction of mono's
// predicted figure) with 95% intervals for the mean at that point, the work per call at which
// each tax falls below 10% and 1% (for these K and B), the model's form, R² and held-out error,
// and the measured cells the prediction rests on (those at the measured levels of K, W and B
// that bracket the inputs). An input outside the measured range is refused unless
// --extrapolate is given; then the output says it is extrapolated.
#pragma once

#include <iosfwd>
#include <nlohmann/json.hpp>
#include <string>

#include "core/common/status.h"

namespace seams::bench::model {

// As given on the command line; runAdvise validates them (so every refusal is its own, exit 2).
struct AdviseOptions {
  std::string from;
  std::string calls;    // K, a whole number >= 1
  std::string work_us;  // W >= 0, µs
  std::string payload;  // B >= 0, bytes; K, M and G suffixes are powers of 1024
  std::string rtt_us;   // empty: not given
  bool extrapolate = false;
  bool json = false;
};

struct AdviseInputs {
  double calls = 0, work_us = 0, payload_bytes = 0;
  bool extrapolate = false;
};

// The advice as JSON (what --json prints), from a seam-bench document. Refused
// (invalid_argument or not_found, with the reason): no usable sweep, or an input outside the
// measured range without `extrapolate` (out_of_range is reported as invalid_argument too).
Result<nlohmann::json> advise(const nlohmann::json& doc, const AdviseInputs& in);

// The advice as text, from advise()'s JSON.
std::string adviceText(const nlohmann::json& advice);

// The subcommand: reads o.from, validates, prints to `out` (text or --json), errors to `err`.
// Returns 0, or 2 for any refused input (missing file, not a seam-bench JSON, no sweep, a bad
// or out-of-range value, --rtt-us without a measured RTT).
int runAdvise(const AdviseOptions& o, std::ostream& out, std::ostream& err);

}  // namespace seams::bench::model
