// The executable's malloc, calloc and realloc win symbol resolution over glibc's for every
// library in the process (ELF interposition); glibc exports its own as __libc_* for exactly this
// use. free() stays glibc's: the memory comes from the same allocator.
#include "bench/counts/alloc_counter.h"

#include <atomic>
#include <cstddef>

extern "C" {
void* __libc_malloc(std::size_t size);
void* __libc_calloc(std::size_t n, std::size_t size);
void* __libc_realloc(void* p, std::size_t size);
}

namespace {
std::atomic<std::uint64_t> g_allocations{0};
}

extern "C" {

void* malloc(std::size_t size) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  return __libc_malloc(size);
}

void* calloc(std::size_t n, std::size_t size) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  return __libc_calloc(n, size);
}

void* realloc(void* p, std::size_t size) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  return __libc_realloc(p, size);
}

}  // extern "C"

namespace seams::counts {

std::uint64_t allocationsSoFar() noexcept {
  return g_allocations.load(std::memory_order_relaxed);
}

}  // namespace seams::counts
