// Allocations counted in-process: seam-counts replaces malloc, calloc and realloc
// (alloc_counter.cpp) with versions that count each call and forward to glibc's own. operator new
// in libstdc++ calls malloc, so C++ allocations are counted too, and so are those of C libraries
// (libfuse). aligned_alloc / posix_memalign / memalign are not counted (none of the measured paths
// use them).
//
// Thread-safety: the counter is one relaxed atomic; seam-counts measures one thread at a time.
#pragma once

#include <cstdint>

namespace seams::counts {

// Calls to malloc, calloc and realloc since the process started.
std::uint64_t allocationsSoFar() noexcept;

}  // namespace seams::counts
