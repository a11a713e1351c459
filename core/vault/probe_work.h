// The probe's work (Vault::probe, core/common/probe.h): a hash chain whose every step depends on
// the one before, so it can be neither vectorised nor removed (its result seeds the reply),
// calibrated once per process to iterations per microsecond of thread CPU time.
//
// Calibration runs on the first probe of a process (not at start, so a deployment's startup
// figures do not carry it): five trials of ~2 ms of thread CPU time each, the fastest kept, so a
// trial slowed by an interrupt, a busy hyperthread sibling or a cold cache does not shrink the
// work (a rate measured too low would make W us of work cost less than W us). Work of W us then
// costs at least ~W us of CPU on an otherwise idle core; contention lengthens its wall time, not
// its CPU time.
//
// Thread-safety: every function may be called from any thread (the calibration is a
// function-local static, initialised once).
#pragma once

#include <cstdint>

#include "core/common/probe.h"
#include "core/common/status.h"

namespace seams {

// Iterations of the chain per microsecond of thread CPU time (calibrated on the first call).
double probeIterationsPerUs();

// `iterations` steps of the chain from `seed`; what probe() burns.
std::uint64_t probeChain(std::uint64_t seed, std::uint64_t iterations);

// The owner's side of Vault::probe: invalid_argument when `work_us` or `reply_bytes` is beyond
// `limits` (a frontend cannot make the owner burn or allocate more than its config allows),
// otherwise the reply: `reply_bytes` bytes derived from the chain's result.
Result<ProbeReply> runProbe(const ProbeLimits& limits, std::uint64_t work_us,
                            std::uint64_t reply_bytes);

}  // namespace seams
