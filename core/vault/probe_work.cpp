#include "core/vault/probe_work.h"

#include <time.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>

namespace seams {
namespace {

std::int64_t threadCpuNs() {
  timespec ts{};
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return std::int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

// An empty asm that claims to read `v`: the compiler must compute it, and cannot fold the
// calibration's chains away.
inline void keep(std::uint64_t v) {
  asm volatile("" : : "r"(v) : "memory");
}

double calibrate() {
  constexpr std::int64_t kTrialNs = 2'000'000;  // ~2 ms of CPU per trial
  constexpr std::uint64_t kChunk = 1u << 12;
  double best = 0;
  std::uint64_t x = 0x1234'5678'9abc'def0ULL;
  for (int trial = 0; trial < 5; ++trial) {
    const std::int64_t start = threadCpuNs();
    std::uint64_t done = 0;
    std::int64_t elapsed = 0;
    do {
      x = probeChain(x, kChunk);
      done += kChunk;
      elapsed = threadCpuNs() - start;
    } while (elapsed < kTrialNs);
    best = std::max(best, double(done) / (double(elapsed) / 1000.0));
  }
  keep(x);
  return best > 0 ? best : 1.0;
}

}  // namespace

double probeIterationsPerUs() {
  static const double rate = calibrate();
  return rate;
}

std::uint64_t probeChain(std::uint64_t seed, std::uint64_t iterations) {
  std::uint64_t x = seed;
  for (std::uint64_t i = 0; i < iterations; ++i) {
    // murmur3's finaliser, plus the step number so no fixed point is ever reached.
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 29;
    x += i;
  }
  return x;
}

Result<ProbeReply> runProbe(const ProbeLimits& limits, std::uint64_t work_us,
                            std::uint64_t reply_bytes) {
  if (work_us > limits.max_work_us) {
    return Status(Errc::invalid_argument, "probe: work_us " + std::to_string(work_us) +
                                              " is over the owner's limit of " +
                                              std::to_string(limits.max_work_us));
  }
  if (reply_bytes > limits.max_reply_bytes) {
    return Status(Errc::invalid_argument, "probe: reply_bytes " + std::to_string(reply_bytes) +
                                              " is over the owner's limit of " +
                                              std::to_string(limits.max_reply_bytes));
  }
  ProbeReply reply;
  reply.iterations_per_us = probeIterationsPerUs();
  const auto iterations =
      static_cast<std::uint64_t>(std::llround(double(work_us) * reply.iterations_per_us));
  const std::uint64_t seed = probeChain(work_us * 0x9E3779B97F4A7C15ULL + reply_bytes, iterations);
  keep(seed);  // computed even when no reply byte carries it (reply_bytes = 0)
  // The reply: words seed + j * golden, so every byte depends on the work (a cheap fill at
  // memory speed: the reply's cost is the seam's, not this loop's).
  reply.data.resize(reply_bytes);
  char* out = reply.data.data();
  std::uint64_t j = 0;
  std::size_t i = 0;
  for (; i + 8 <= reply_bytes; i += 8, ++j) {
    const std::uint64_t w = seed + j * 0x9E3779B97F4A7C15ULL;
    std::memcpy(out + i, &w, 8);
  }
  for (; i < reply_bytes; ++i) out[i] = static_cast<char>(seed >> (8 * (i % 8)));
  return reply;
}

}  // namespace seams
