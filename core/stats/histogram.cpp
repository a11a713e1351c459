#include "core/stats/histogram.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <limits>
#include <string>

namespace seams {
namespace {

constexpr std::uint64_t kEmptyMin = std::numeric_limits<std::uint64_t>::max();
constexpr std::uint64_t kExactLimit = 2 * Histogram::kSubBucketCount;  // values below are exact

void storeMin(std::atomic<std::uint64_t>& slot, std::uint64_t v) noexcept {
  std::uint64_t cur = slot.load(std::memory_order_relaxed);
  while (v < cur && !slot.compare_exchange_weak(cur, v, std::memory_order_relaxed)) {
  }
}

void storeMax(std::atomic<std::uint64_t>& slot, std::uint64_t v) noexcept {
  std::uint64_t cur = slot.load(std::memory_order_relaxed);
  while (v > cur && !slot.compare_exchange_weak(cur, v, std::memory_order_relaxed)) {
  }
}

// The value a bucket stands for in percentile(): its midpoint, so the error is at most half a
// bucket width either way.
std::uint64_t bucketMid(std::size_t index) noexcept {
  const std::uint64_t low = Histogram::bucketLow(index);
  return low + (Histogram::bucketHigh(index) - low + 1) / 2;
}

}  // namespace

Histogram::Histogram()
    : buckets_(std::make_unique<std::atomic<std::uint64_t>[]>(kBucketCount)), min_(kEmptyMin) {}

std::size_t Histogram::bucketIndex(std::uint64_t value) noexcept {
  if (value < kExactLimit) return static_cast<std::size_t>(value);
  value = std::min(value, kMaxTrackable);
  const int e = std::bit_width(value) - 1;  // value in [2^e, 2^(e+1)), e >= kSubBucketBits + 1
  const int shift = e - kSubBucketBits;
  // (value >> shift) is the top kSubBucketBits+1 bits, in [kSubBucketCount, 2*kSubBucketCount).
  return static_cast<std::size_t>(static_cast<std::uint64_t>(shift) * kSubBucketCount +
                                  (value >> shift));
}

std::uint64_t Histogram::bucketLow(std::size_t index) noexcept {
  if (index < kExactLimit) return index;
  const std::uint64_t shift = index / kSubBucketCount - 1;
  const std::uint64_t mantissa = index % kSubBucketCount + kSubBucketCount;
  return mantissa << shift;
}

std::uint64_t Histogram::bucketHigh(std::size_t index) noexcept {
  if (index < kExactLimit) return index;
  const std::uint64_t shift = index / kSubBucketCount - 1;
  return bucketLow(index) + (std::uint64_t{1} << shift) - 1;
}

void Histogram::recordMany(std::uint64_t value, std::uint64_t n) noexcept {
  if (n == 0) return;
  buckets_[bucketIndex(value)].fetch_add(n, std::memory_order_relaxed);
  count_.fetch_add(n, std::memory_order_relaxed);
  sum_.fetch_add(value * n, std::memory_order_relaxed);
  storeMin(min_, value);
  storeMax(max_, value);
}

std::uint64_t Histogram::min() const noexcept {
  const std::uint64_t m = min_.load(std::memory_order_relaxed);
  return m == kEmptyMin ? 0 : m;
}

std::uint64_t Histogram::max() const noexcept {
  return max_.load(std::memory_order_relaxed);
}

double Histogram::mean() const noexcept {
  const std::uint64_t n = count();
  return n == 0 ? 0.0 : static_cast<double>(sum()) / static_cast<double>(n);
}

std::uint64_t Histogram::percentile(double p) const noexcept {
  if (!(p >= 0.0)) p = 0.0;  // also catches NaN
  p = std::min(p, 100.0);
  std::uint64_t total = 0;
  for (std::size_t i = 0; i < kBucketCount; ++i) {
    total += buckets_[i].load(std::memory_order_relaxed);
  }
  if (total == 0) return 0;
  const std::uint64_t lo = min();
  const std::uint64_t hi = max();
  if (p == 0.0) return lo;
  if (p == 100.0) return hi;
  // Nearest rank: the ceil(p/100 * N)-th smallest sample, at least the first.
  const double exact_rank = p / 100.0 * static_cast<double>(total);
  std::uint64_t rank = static_cast<std::uint64_t>(std::ceil(exact_rank));
  rank = std::clamp<std::uint64_t>(rank, 1, total);
  std::uint64_t seen = 0;
  for (std::size_t i = 0; i < kBucketCount; ++i) {
    seen += buckets_[i].load(std::memory_order_relaxed);
    if (seen >= rank) return std::clamp(bucketMid(i), lo, std::max(lo, hi));
  }
  return hi;  // buckets grew while we read them; the top is the honest answer
}

void Histogram::merge(const Histogram& other) noexcept {
  std::uint64_t n = 0;
  for (std::size_t i = 0; i < kBucketCount; ++i) {
    const std::uint64_t c = other.buckets_[i].load(std::memory_order_relaxed);
    if (c == 0) continue;
    buckets_[i].fetch_add(c, std::memory_order_relaxed);
    n += c;
  }
  if (n == 0) return;
  count_.fetch_add(n, std::memory_order_relaxed);
  sum_.fetch_add(other.sum(), std::memory_order_relaxed);
  storeMin(min_, other.min_.load(std::memory_order_relaxed));
  storeMax(max_, other.max());
}

void Histogram::reset() noexcept {
  for (std::size_t i = 0; i < kBucketCount; ++i) buckets_[i].store(0, std::memory_order_relaxed);
  count_.store(0, std::memory_order_relaxed);
  sum_.store(0, std::memory_order_relaxed);
  min_.store(kEmptyMin, std::memory_order_relaxed);
  max_.store(0, std::memory_order_relaxed);
}

HistogramSnapshot Histogram::snapshot() const {
  HistogramSnapshot s;
  for (std::size_t i = 0; i < kBucketCount; ++i) {
    const std::uint64_t c = buckets_[i].load(std::memory_order_relaxed);
    if (c == 0) continue;
    s.buckets.push_back({bucketLow(i), bucketHigh(i), c});
    s.count += c;
  }
  if (s.count == 0) return s;
  s.sum = sum();
  s.min = min();
  s.max = max();
  return s;
}

Status Histogram::add(const HistogramSnapshot& snapshot) {
  auto bad = [](std::string what) {
    return Status(Errc::invalid_argument, "histogram snapshot: " + std::move(what));
  };
  std::uint64_t n = 0;
  std::size_t prev = 0;
  bool first = true;
  for (const auto& b : snapshot.buckets) {
    const std::size_t i = bucketIndex(b.low);
    if (bucketLow(i) != b.low || bucketHigh(i) != b.high) {
      return bad("bucket [" + std::to_string(b.low) + ", " + std::to_string(b.high) +
                 "] does not match the bucket layout");
    }
    if (!first && i <= prev) return bad("buckets are not strictly ascending");
    if (b.count == 0) return bad("bucket with a zero count");
    first = false;
    prev = i;
    n += b.count;
  }
  if (n != snapshot.count) {
    return bad("count " + std::to_string(snapshot.count) + " is not the sum of the buckets (" +
               std::to_string(n) + ")");
  }
  if (n == 0) return okStatus();
  const std::size_t lo_index = bucketIndex(snapshot.buckets.front().low);
  const std::size_t hi_index = bucketIndex(snapshot.buckets.back().low);
  if (snapshot.min > snapshot.max || bucketIndex(snapshot.min) != lo_index ||
      bucketIndex(snapshot.max) != hi_index) {
    return bad("min/max do not fall in the lowest/highest bucket");
  }
  for (const auto& b : snapshot.buckets) {
    buckets_[bucketIndex(b.low)].fetch_add(b.count, std::memory_order_relaxed);
  }
  count_.fetch_add(n, std::memory_order_relaxed);
  sum_.fetch_add(snapshot.sum, std::memory_order_relaxed);
  storeMin(min_, snapshot.min);
  storeMax(max_, snapshot.max);
  return okStatus();
}

Result<std::unique_ptr<Histogram>> Histogram::fromSnapshot(const HistogramSnapshot& snapshot) {
  auto h = std::make_unique<Histogram>();
  SEAMS_RETURN_IF_ERROR(h->add(snapshot));
  return h;
}

}  // namespace seams
