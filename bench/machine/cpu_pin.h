// Pinned mode: the whole measurement on one CPU.
//
// On one CPU a request and its reply hand over through the run queue instead of waking a second,
// idle (halted) vCPU, so a pinned figure is the software cost of a path: its instructions, system
// calls and context switches, without the cross-CPU wake-up. It is not what a deployment costs on
// an idle multi-core machine; the report keeps pinned and unpinned runs apart, side by side.
//
// Threading: call before the process starts threads that must not be pinned; affinity is
// inherited by every thread and child process made afterwards.
#pragma once

#include <vector>

#include "core/common/status.h"

namespace seams::bench {

// The CPUs this process may run on now (sched_getaffinity), ascending.
std::vector<int> allowedCpus();
// The highest-numbered allowed CPU: the default of --pin (CPU 0 tends to take more interrupts).
int defaultPinCpu();
// Pins every thread of this process to `cpu` (so the threads and children it makes later are
// pinned too). invalid_argument when `cpu` is not allowed; the OS error otherwise.
Status pinProcessTo(int cpu);

}  // namespace seams::bench
