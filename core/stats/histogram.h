// Histogram: a latency histogram with log-linear buckets, in the style of HdrHistogram.
//
// Why our own: Debian 12 packages HdrHistogram only for Java and Go (libhdrhistogram-java,
// golang-github-codahale-hdrhistogram-dev), not the C library nor a C++ one, and what we need is
// small: lock-free recording from many threads, percentiles with a known error bound, merge, and a
// snapshot the bench can write as JSON and read back.
//
// Values are uint64, nanoseconds by convention.
//
// Buckets. Values below 2^(kSubBucketBits+1) = 256 each get their own bucket (exact). Above that,
// every power-of-two range [2^e, 2^(e+1)) is split into 2^kSubBucketBits = 128 equal sub-buckets,
// so a bucket's width is at most 1/128 of its lower bound. The highest trackable value is
// kMaxTrackable = 2^43 - 1 ns (about 2 h 26 min); larger values are counted in the top bucket
// (min, max and sum still see their true value).
//
// Error bound. percentile(p) finds the bucket holding the nearest-rank sample (the smallest
// recorded value v such that at least p% of the recorded values are <= v) and answers that
// bucket's midpoint, clamped to [min(), max()]. Its relative error against the exact
// nearest-rank percentile of the recorded values is therefore at most 2^-(kSubBucketBits+1) =
// 1/256 ≈ 0.39% (exact below 256). kRelativeError states it for tests and readers.
//
// Memory: kBucketCount (4736) 8-byte counters ≈ 37 KiB per histogram.
//
// Thread-safety: record(), recordMany() and every reader may be called concurrently from any
// thread; recording uses relaxed atomics and takes no lock. A reader running during recording sees
// each counter at some recent value, so count(), sum and the buckets may disagree by the records
// in flight; percentile() and snapshot() use the bucket counts they read, so they are consistent
// with themselves. merge(), add(snapshot) and reset() may run during recording too (records racing
// with reset() may survive it or not).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "core/common/status.h"

namespace seams {

// The non-zero buckets of a histogram, for serialisation (the bench writes it as JSON) and for
// rebuilding a histogram later (Histogram::add / fromSnapshot).
struct HistogramSnapshot {
  struct Bucket {
    std::uint64_t low = 0;   // smallest value the bucket holds
    std::uint64_t high = 0;  // largest value the bucket holds (inclusive)
    std::uint64_t count = 0;

    friend bool operator==(const Bucket&, const Bucket&) = default;
  };
  std::uint64_t count = 0;      // sum of the bucket counts
  std::uint64_t sum = 0;        // sum of the recorded values (exact, wraps past 2^64)
  std::uint64_t min = 0;        // 0 when empty
  std::uint64_t max = 0;        // 0 when empty
  std::vector<Bucket> buckets;  // ascending by low; only buckets with count > 0

  friend bool operator==(const HistogramSnapshot&, const HistogramSnapshot&) = default;
};

class Histogram {
 public:
  static constexpr int kSubBucketBits = 7;
  static constexpr std::uint64_t kSubBucketCount = std::uint64_t{1} << kSubBucketBits;  // 128
  static constexpr int kMaxExponent = 42;  // top power-of-two range is [2^42, 2^43)
  static constexpr std::uint64_t kMaxTrackable = (std::uint64_t{1} << (kMaxExponent + 1)) - 1;
  static constexpr std::size_t kBucketCount =
      2 * kSubBucketCount + (kMaxExponent - kSubBucketBits) * kSubBucketCount;
  // Bound on |percentile(p) - exact| / exact, see above.
  static constexpr double kRelativeError = 1.0 / (2.0 * kSubBucketCount);

  Histogram();
  Histogram(const Histogram&) = delete;
  Histogram& operator=(const Histogram&) = delete;

  void record(std::uint64_t value) noexcept { recordMany(value, 1); }
  // Records `value` n times (n = 0 does nothing).
  void recordMany(std::uint64_t value, std::uint64_t n) noexcept;

  std::uint64_t count() const noexcept { return count_.load(std::memory_order_relaxed); }
  // Smallest / largest recorded value; 0 when empty.
  std::uint64_t min() const noexcept;
  std::uint64_t max() const noexcept;
  std::uint64_t sum() const noexcept { return sum_.load(std::memory_order_relaxed); }
  // Arithmetic mean of the recorded values (exact up to double rounding); 0 when empty.
  double mean() const noexcept;
  // p in [0, 100] (clamped). The nearest-rank percentile within kRelativeError; 0 when empty.
  // percentile(0) is min(), percentile(100) is max().
  std::uint64_t percentile(double p) const noexcept;

  // Adds every record of `other` to this one. `other` may be recording concurrently.
  // REQUIRES: &other != this
  void merge(const Histogram& other) noexcept;
  void reset() noexcept;

  HistogramSnapshot snapshot() const;
  // Adds a snapshot's records. invalid_argument (and nothing added) when a bucket does not match
  // this layout exactly, buckets are not ascending, or the counts or min/max disagree.
  Status add(const HistogramSnapshot& snapshot);
  static Result<std::unique_ptr<Histogram>> fromSnapshot(const HistogramSnapshot& snapshot);

  // Bucket layout, exposed for tests and for readers of snapshots.
  static std::size_t bucketIndex(std::uint64_t value) noexcept;
  static std::uint64_t bucketLow(std::size_t index) noexcept;
  static std::uint64_t bucketHigh(std::size_t index) noexcept;  // inclusive

 private:
  std::unique_ptr<std::atomic<std::uint64_t>[]> buckets_;
  std::atomic<std::uint64_t> count_{0};
  std::atomic<std::uint64_t> sum_{0};
  std::atomic<std::uint64_t> min_;  // UINT64_MAX when empty
  std::atomic<std::uint64_t> max_{0};
};

}  // namespace seams
