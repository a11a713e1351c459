#include "core/stats/histogram.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <thread>
#include <vector>

#include "core/stats/histogram_json.h"

namespace seams {
namespace {

// The exact nearest-rank percentile of `sorted`: the smallest value such that at least p% of
// the values are <= it.
std::uint64_t exactPercentile(const std::vector<std::uint64_t>& sorted, double p) {
  if (p <= 0.0) return sorted.front();
  std::uint64_t rank =
      static_cast<std::uint64_t>(std::ceil(p / 100.0 * static_cast<double>(sorted.size())));
  rank = std::clamp<std::uint64_t>(rank, 1, sorted.size());
  return sorted[rank - 1];
}

void expectPercentilesWithinBound(const std::vector<std::uint64_t>& values) {
  Histogram h;
  for (auto v : values) h.record(v);
  std::vector<std::uint64_t> sorted = values;
  std::sort(sorted.begin(), sorted.end());
  for (double p : {0.0, 1.0, 10.0, 25.0, 50.0, 75.0, 90.0, 99.0, 99.9, 99.99, 100.0}) {
    const double exact = static_cast<double>(exactPercentile(sorted, p));
    const double got = static_cast<double>(h.percentile(p));
    EXPECT_LE(std::abs(got - exact), exact * Histogram::kRelativeError)
        << "p" << p << ": got " << got << ", exact " << exact;
  }
}

TEST(HistogramTest, EveryValueFallsInABucketNoWiderThanTheRelativeErrorAllows) {
  std::mt19937_64 rng(7);
  std::vector<std::uint64_t> probes = {0,   1,   255,  256,       257,
                                       511, 512, 1000, 1'000'000, Histogram::kMaxTrackable};
  for (int i = 0; i < 10'000; ++i) probes.push_back(rng() >> (rng() % 22 + 21));
  for (auto v : probes) {
    const auto i = Histogram::bucketIndex(v);
    ASSERT_LT(i, Histogram::kBucketCount);
    const auto low = Histogram::bucketLow(i);
    const auto high = Histogram::bucketHigh(i);
    EXPECT_LE(low, v);
    EXPECT_GE(high, v);
    EXPECT_LE(static_cast<double>(high - low + 1), std::max(1.0, low / 128.0)) << v;
  }
}

TEST(HistogramTest, BucketsAreContiguousAndCoverAtLeastOneHourInNanoseconds) {
  for (std::size_t i = 1; i < Histogram::kBucketCount; ++i) {
    ASSERT_EQ(Histogram::bucketLow(i), Histogram::bucketHigh(i - 1) + 1) << i;
  }
  EXPECT_EQ(Histogram::bucketLow(0), 0u);
  EXPECT_EQ(Histogram::bucketHigh(Histogram::kBucketCount - 1), Histogram::kMaxTrackable);
  EXPECT_GE(Histogram::kMaxTrackable, 3600ull * 1'000'000'000ull);
}

TEST(HistogramTest, AnEmptyHistogramAnswersZero) {
  Histogram h;
  EXPECT_EQ(h.count(), 0u);
  EXPECT_EQ(h.min(), 0u);
  EXPECT_EQ(h.max(), 0u);
  EXPECT_EQ(h.mean(), 0.0);
  EXPECT_EQ(h.percentile(50), 0u);
  EXPECT_TRUE(h.snapshot().buckets.empty());
}

TEST(HistogramTest, CountMinMaxAndMeanAreExact) {
  Histogram h;
  h.record(1000);
  h.record(3000);
  h.recordMany(5'000'000, 2);
  h.recordMany(42, 0);
  EXPECT_EQ(h.count(), 4u);
  EXPECT_EQ(h.min(), 1000u);
  EXPECT_EQ(h.max(), 5'000'000u);
  EXPECT_EQ(h.sum(), 10'004'000u);
  EXPECT_DOUBLE_EQ(h.mean(), 10'004'000 / 4.0);
  EXPECT_EQ(h.percentile(0), 1000u);
  EXPECT_EQ(h.percentile(100), 5'000'000u);
}

TEST(HistogramTest, SmallValuesAreExact) {
  Histogram h;
  for (std::uint64_t v = 0; v < 200; ++v) h.record(v);
  EXPECT_EQ(h.percentile(50), 99u);
  EXPECT_EQ(h.percentile(99), 197u);
}

TEST(HistogramTest, PercentilesOfAUniformDistributionAreWithinTheBound) {
  std::mt19937_64 rng(1);
  std::uniform_int_distribution<std::uint64_t> dist(1, 1'000'000'000);
  std::vector<std::uint64_t> values(100'000);
  for (auto& v : values) v = dist(rng);
  expectPercentilesWithinBound(values);
}

TEST(HistogramTest, PercentilesOfAnExponentialDistributionAreWithinTheBound) {
  std::mt19937_64 rng(2);
  std::exponential_distribution<double> dist(1.0 / 50'000.0);  // mean 50 us
  std::vector<std::uint64_t> values(100'000);
  for (auto& v : values) v = static_cast<std::uint64_t>(dist(rng));
  expectPercentilesWithinBound(values);
}

TEST(HistogramTest, PercentilesOfASpikeWithOutliersAreWithinTheBound) {
  std::vector<std::uint64_t> values(10'000, 123'457);
  values.push_back(10);
  values.push_back(3'600'000'000'000);  // one hour
  expectPercentilesWithinBound(values);
}

TEST(HistogramTest, ValuesBeyondTheTrackableRangeAreCountedInTheTopBucket) {
  Histogram h;
  h.record(UINT64_MAX / 2);
  EXPECT_EQ(h.count(), 1u);
  EXPECT_EQ(h.max(), UINT64_MAX / 2);
  EXPECT_EQ(h.percentile(50), UINT64_MAX / 2);  // clamped to [min, max]
  ASSERT_EQ(h.snapshot().buckets.size(), 1u);
  EXPECT_EQ(h.snapshot().buckets[0].high, Histogram::kMaxTrackable);
}

TEST(HistogramTest, MergeEqualsRecordingBoth) {
  std::mt19937_64 rng(3);
  Histogram a, b, both;
  for (int i = 0; i < 5000; ++i) {
    const std::uint64_t v = rng() % 10'000'000;
    ((i % 3 == 0) ? a : b).record(v);
    both.record(v);
  }
  a.merge(b);
  EXPECT_EQ(a.snapshot(), both.snapshot());
  EXPECT_EQ(a.percentile(99), both.percentile(99));
}

TEST(HistogramTest, MergingAnEmptyHistogramChangesNothing) {
  Histogram a, empty;
  a.record(500);
  const auto before = a.snapshot();
  a.merge(empty);
  EXPECT_EQ(a.snapshot(), before);
  EXPECT_EQ(a.min(), 500u);
}

TEST(HistogramTest, ResetForgetsEverything) {
  Histogram h;
  h.record(77);
  h.record(1'000'000);
  h.reset();
  EXPECT_EQ(h.count(), 0u);
  EXPECT_EQ(h.min(), 0u);
  EXPECT_EQ(h.max(), 0u);
  EXPECT_TRUE(h.snapshot().buckets.empty());
  h.record(5);
  EXPECT_EQ(h.min(), 5u);
}

TEST(HistogramTest, ManyThreadsRecordingLoseNoRecord) {
  constexpr int kThreads = 4;
  constexpr int kPerThread = 50'000;
  Histogram shared, serial;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&shared, t] {
      for (int i = 0; i < kPerThread; ++i) shared.record(static_cast<std::uint64_t>(t * 1000 + i));
    });
  }
  // A reader during recording must be safe too.
  std::uint64_t seen = 0;
  for (int i = 0; i < 10; ++i) seen = std::max(seen, shared.percentile(50));
  for (auto& th : threads) th.join();
  for (int t = 0; t < kThreads; ++t) {
    for (int i = 0; i < kPerThread; ++i) serial.record(static_cast<std::uint64_t>(t * 1000 + i));
  }
  EXPECT_EQ(shared.count(), static_cast<std::uint64_t>(kThreads * kPerThread));
  EXPECT_EQ(shared.snapshot(), serial.snapshot());
}

TEST(HistogramTest, ASnapshotRebuildsAnEqualHistogram) {
  std::mt19937_64 rng(4);
  Histogram h;
  for (int i = 0; i < 20'000; ++i) h.record(rng() % 100'000'000'000);
  const HistogramSnapshot s = h.snapshot();
  auto rebuilt = Histogram::fromSnapshot(s);
  ASSERT_TRUE(rebuilt.ok()) << rebuilt.status().toString();
  EXPECT_EQ((*rebuilt)->snapshot(), s);
  for (double p : {50.0, 90.0, 99.0, 99.9}) EXPECT_EQ((*rebuilt)->percentile(p), h.percentile(p));
  EXPECT_EQ((*rebuilt)->mean(), h.mean());
}

TEST(HistogramTest, ASnapshotThatDoesNotMatchTheLayoutIsRejected) {
  Histogram h;
  h.record(1000);
  h.record(2000);
  HistogramSnapshot misaligned = h.snapshot();
  misaligned.buckets[0].low += 1;
  EXPECT_EQ(Histogram::fromSnapshot(misaligned).code(), Errc::invalid_argument);

  HistogramSnapshot wrong_count = h.snapshot();
  wrong_count.count = 3;
  EXPECT_EQ(Histogram::fromSnapshot(wrong_count).code(), Errc::invalid_argument);

  HistogramSnapshot unordered = h.snapshot();
  std::swap(unordered.buckets[0], unordered.buckets[1]);
  EXPECT_EQ(Histogram::fromSnapshot(unordered).code(), Errc::invalid_argument);

  HistogramSnapshot bad_max = h.snapshot();
  bad_max.max = 10'000;
  EXPECT_EQ(Histogram::fromSnapshot(bad_max).code(), Errc::invalid_argument);

  Histogram target;
  EXPECT_FALSE(target.add(bad_max).ok());
  EXPECT_EQ(target.count(), 0u) << "a rejected snapshot adds nothing";
}

TEST(HistogramTest, ASnapshotSurvivesAJsonRoundTrip) {
  Histogram h;
  for (std::uint64_t v : {100u, 1000u, 3999u, 3999u}) h.record(v);
  const nlohmann::json j = h.snapshot();
  EXPECT_EQ(j.at("count"), 4);
  EXPECT_EQ(j.at("buckets").at(0), nlohmann::json::parse("[100, 100, 1]"));
  auto back = Histogram::fromSnapshot(nlohmann::json::parse(j.dump()).get<HistogramSnapshot>());
  ASSERT_TRUE(back.ok()) << back.status().toString();
  EXPECT_EQ((*back)->snapshot(), h.snapshot());
}

TEST(HistogramTest, AMalformedJsonSnapshotThrowsForTheReaderToCatch) {
  const auto bad =
      nlohmann::json::parse(R"({"count":1,"sum":1,"min":1,"max":1,"buckets":[[1,1]]})");
  EXPECT_THROW(bad.get<HistogramSnapshot>(), nlohmann::json::exception);
}

}  // namespace
}  // namespace seams
