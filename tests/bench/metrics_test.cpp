// The bench's metric definitions on synthetic inputs with known answers.
#include "bench/seam-bench/metrics.h"

#include <gtest/gtest.h>

namespace seams::bench {
namespace {

constexpr std::int64_t kMs = 1'000'000;

TEST(LatencySummary, PercentilesOfAKnownSpreadAreTheNearestRanks) {
  Histogram h;
  for (std::uint64_t v = 1; v <= 1000; ++v) h.record(v * 1000);  // 1 us .. 1000 us
  LatencySummary s = summarise(h);
  EXPECT_EQ(s.count, 1000u);
  EXPECT_NEAR(double(s.p50_ns), 500'000, 500'000 * Histogram::kRelativeError);
  EXPECT_NEAR(double(s.p90_ns), 900'000, 900'000 * Histogram::kRelativeError);
  EXPECT_NEAR(double(s.p99_ns), 990'000, 990'000 * Histogram::kRelativeError);
  EXPECT_NEAR(double(s.p999_ns), 999'000, 999'000 * Histogram::kRelativeError);
  EXPECT_EQ(s.max_ns, 1'000'000u);
  EXPECT_NEAR(s.mean_ns, 500'500, 1);
  auto j = toJson(s);
  EXPECT_EQ(j["unit"], "us");
  EXPECT_NEAR(j["p50"].get<double>(), 500, 2);
}

TEST(OpenLoop, TheScheduleInterleavesConnectionsEvenly) {
  // 1000 req/s over 4 connections: connection 1's third request is slot 2*4+1 = 9 -> 9 ms.
  EXPECT_EQ(scheduledSendNs(0, 1000, 4, 1, 2), 9 * kMs);
  EXPECT_EQ(scheduledSendNs(5, 1000, 1, 0, 0), 5);
}

// A server answering one request at a time in 10 us, stalled for 100 ms at t = 200 ms, under a
// fixed rate of 1000 req/s for one second. Measured from the scheduled send time, the ~100
// requests queued behind the stall are charged their wait (coordinated omission corrected);
// measured from the actual send, only the one request in flight sees the stall.
TEST(OpenLoop, CorrectedLatencyChargesEveryRequestQueuedBehindAStall) {
  Histogram corrected, naive;
  std::int64_t server_free = 0;
  for (std::uint64_t i = 0; i < 1000; ++i) {
    const std::int64_t due = scheduledSendNs(0, 1000, 1, 0, i);
    const std::int64_t sent = std::max(due, server_free);  // a closed connection waits its turn
    const std::int64_t service = i == 200 ? 100 * kMs + 10'000 : 10'000;  // the stall
    const std::int64_t done = sent + service;
    server_free = done;
    corrected.record(openLoopLatency(due, done));
    naive.record(static_cast<std::uint64_t>(done - sent));
  }
  // ~100 of 1000 requests waited 100, 99, ..., 1 ms: the 95th percentile is about 50 ms.
  EXPECT_NEAR(double(corrected.percentile(95)) / kMs, 50, 2);
  EXPECT_GE(corrected.percentile(99), static_cast<std::uint64_t>(89 * kMs));
  EXPECT_LT(corrected.percentile(85), static_cast<std::uint64_t>(kMs));
  EXPECT_LT(naive.percentile(99), static_cast<std::uint64_t>(kMs));
  EXPECT_GE(naive.max(), static_cast<std::uint64_t>(100 * kMs));
  EXPECT_EQ(openLoopLatency(10, 5), 0u);
}

TEST(VisibilityLag, IsTheStartOfTheFinalRunOfFreshReads) {
  // Write of version 7 acknowledged at t0 = 100 ms; reads at 101 (old), 102 (new), 103 (old:
  // a stale cache answered), 104, 105 (new): every read from 104 on is fresh -> lag 4 ms.
  std::vector<ReadSample> reads = {{101 * kMs, 0, 6, true},
                                   {102 * kMs, 0, 7, true},
                                   {103 * kMs, 0, 6, true},
                                   {105 * kMs, 0, 7, true},
                                   {104 * kMs, 0, 8, true}};
  auto lag = visibilityLagNs(100 * kMs, 7, reads);
  ASSERT_TRUE(lag.has_value());
  EXPECT_EQ(*lag, 4 * kMs);
}

TEST(VisibilityLag, IsZeroWhenTheFirstReadIsAlreadyFreshAndNoneWhenTheLastIsStale) {
  EXPECT_EQ(visibilityLagNs(10, 3, {{5, 0, 3, true}, {20, 0, 3, true}}), 0);
  EXPECT_FALSE(visibilityLagNs(10, 3, {{20, 0, 3, true}, {30, 0, 2, true}}).has_value());
  // A failed read is not fresh, whatever version it carries.
  EXPECT_EQ(visibilityLagNs(0, 3, {{10, 0, 3, false}, {20, 0, 3, true}}), 20);
  EXPECT_FALSE(visibilityLagNs(0, 1, {}).has_value());
}

TEST(DenialLag, CountsFromTheRevocationToTheFinalRunOfDenials) {
  std::vector<DenySample> reads = {
      {1 * kMs, false}, {2 * kMs, true}, {3 * kMs, false}, {4 * kMs, true}, {5 * kMs, true}};
  EXPECT_EQ(denialLagNs(0, reads), 4 * kMs);
  EXPECT_FALSE(denialLagNs(0, {{1, true}, {2, false}}).has_value());
}

TEST(StaleReads, AReadThatBeganAfterAnAckAndReturnedAnOlderVersionIsStale) {
  std::vector<WriteAck> writes = {{"/a", 10, 1}, {"/a", 20, 2}, {"/b", 15, 5}};
  std::vector<KeyRead> reads = {
      {"/a", 5, 0},   // before any ack on /a: not classified
      {"/a", 12, 1},  // after v1's ack, returned v1: fresh
      {"/a", 25, 1},  // after v2's ack, returned v1: stale
      {"/a", 25, 2},  // fresh
      {"/a", 20, 1},  // began exactly at v2's ack: only v1 was acknowledged before: fresh
      {"/b", 16, 4},  // older than v5: stale
      {"/c", 16, 0},  // a key nobody wrote: not classified
  };
  StaleStats s = classifyStaleReads(writes, reads);
  EXPECT_EQ(s.classified, 5u);
  EXPECT_EQ(s.stale, 2u);
  EXPECT_DOUBLE_EQ(s.ratio(), 0.4);
}

TEST(StaleReads, TheNewestAcknowledgedVersionCountsEvenIfAcksArriveOutOfOrder) {
  // v3 acknowledged at 10, v2 (a slower writer) at 12: a read at 13 must see at least v3.
  StaleStats s = classifyStaleReads({{"/k", 12, 2}, {"/k", 10, 3}}, {{"/k", 13, 2}});
  EXPECT_EQ(s.classified, 1u);
  EXPECT_EQ(s.stale, 1u);
}

TEST(Memory, SmapsRollupGivesPssAndUssInBytes) {
  const char* sample =
      "55d0c5a4e000-7ffd2b5f3000 ---p 00000000 00:00 0                          [rollup]\n"
      "Rss:               12345 kB\n"
      "Pss:                8000 kB\n"
      "Pss_Anon:           5000 kB\n"
      "Pss_File:           3000 kB\n"
      "Pss_Shmem:             0 kB\n"
      "Shared_Clean:       4000 kB\n"
      "Shared_Dirty:        100 kB\n"
      "Private_Clean:      1000 kB\n"
      "Private_Dirty:      7245 kB\n"
      "Referenced:        12000 kB\n"
      "Anonymous:          7000 kB\n"
      "Swap:                  0 kB\n"
      "SwapPss:              16 kB\n"
      "Locked:                0 kB\n";
  MemoryRollup m = parseSmapsRollup(sample);
  EXPECT_EQ(m.rss, 12345u * 1024);
  EXPECT_EQ(m.pss, 8000u * 1024);
  EXPECT_EQ(m.uss(), (1000u + 7245u) * 1024);
  EXPECT_EQ(m.swap_pss, 16u * 1024);
  MemoryRollup sum = m;
  sum += m;
  EXPECT_EQ(sum.pss, 16000u * 1024);
}

TEST(ProcStat, CpuSecondsAndParentComeFromTheFieldsAfterTheCommand) {
  // A comm with spaces and parentheses must not shift the fields.
  const char* stat =
      "1234 (seam (x) d) S 99 1234 1234 0 -1 4194560 500 0 0 0 250 150 0 0 20 0 7 0 100 1000 "
      "200 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0";
  EXPECT_EQ(parseStatPpid(stat), 99);
  auto cpu = parseStatCpuSeconds(stat, 100);
  ASSERT_TRUE(cpu.has_value());
  EXPECT_DOUBLE_EQ(*cpu, 4.0);
  EXPECT_FALSE(parseStatCpuSeconds("garbage", 100).has_value());
  ProcCounters c;
  parseStatusSwitches("Name:\tx\nvoluntary_ctxt_switches:\t10\nnonvoluntary_ctxt_switches:\t3\n",
                      c);
  parseStatusSwitches("voluntary_ctxt_switches:\t5\n", c);
  EXPECT_EQ(c.voluntary_switches, 15u);
  EXPECT_EQ(c.involuntary_switches, 3u);
}

TEST(Prometheus, SumsEverySampleOfAMetricWhateverItsLabels) {
  const char* text =
      "# HELP seams_cache_bytes bytes\n"
      "seams_cache_bytes{cache=\"fs\"} 100\n"
      "seams_cache_bytes{cache=\"http\"} 50\n"
      "seams_cache_bytes_total 7\n"
      "seams_other 1\n";
  EXPECT_EQ(prometheusSum(text, "seams_cache_bytes"), 150.0);
  EXPECT_EQ(prometheusSum(text, "seams_other"), 1.0);
  EXPECT_FALSE(prometheusSum(text, "seams_missing").has_value());
}

TEST(Prometheus, SumWhereKeepsOnlyTheSamplesWithTheLabel) {
  const std::string text =
      "# TYPE seams_ipc_round_trips gauge\n"
      "seams_ipc_round_trips{owner=\"fsd\"} 1200\n"
      "seams_ipc_round_trips{owner=\"authd\"} 30\n"
      "seams_ipc_round_trips_other{owner=\"fsd\"} 5\n"
      "seams_ipc_round_trips 7\n";
  EXPECT_EQ(prometheusSumWhere(text, "seams_ipc_round_trips", "owner=\"fsd\""), 1200.0);
  EXPECT_EQ(prometheusSumWhere(text, "seams_ipc_round_trips", "owner=\"authd\""), 30.0);
  // A sample without labels never matches a label filter.
  EXPECT_FALSE(prometheusSumWhere(text, "seams_ipc_round_trips", "owner=\"syncd\"").has_value());
  EXPECT_EQ(prometheusSum(text, "seams_ipc_round_trips"), 1237.0);
}

TEST(CacheBytes, ExtraCopiesOfOneKindAndPathAcrossCachesAreHeldTwice) {
  std::vector<CacheEntrySample> entries = {
      {"seam-fsd/vault", "content", "/a", 1000},     {"seam-httpd/frontend", "content", "/a", 1000},
      {"seam-fused/frontend", "content", "/a", 900}, {"seam-fsd/vault", "attr", "/a", 300},
      {"seam-fsd/vault", "content", "/b", 500},      {"seam-fused/frontend", "attr", "/b", 300},
  };
  DuplicateBytes d = duplicateCacheBytes(entries);
  EXPECT_EQ(d.total_bytes, 4000u);
  EXPECT_EQ(d.entries, 6u);
  // /a content: three copies, the largest (1000) is kept aside: 1000 + 900 are extra. The attr
  // of /a and the content and attr of /b are each held once.
  EXPECT_EQ(d.held_twice_bytes, 1900u);
  EXPECT_EQ(d.duplicated_entries, 2u);
  EXPECT_EQ(duplicateCacheBytes({}).held_twice_bytes, 0u);
}

TEST(CacheHitRatio, DeltasBetweenScrapesSurviveAResetAndAMissingProcess) {
  const std::int64_t ms = 1'000'000;
  std::vector<CacheScrape> scrapes = {
      {0, {{"fsd", {100, 10}}, {"httpd", {50, 5}}}},
      {100 * ms, {{"fsd", {190, 20}}, {"httpd", {60, 5}}}},  // +90/+10, +10/+0
      {200 * ms, {{"httpd", {70, 5}}}},                      // fsd unreachable: +10/+0
      {300 * ms, {{"fsd", {5, 15}}, {"httpd", {80, 5}}}},    // fsd restarted: +5/+15, +10/+0
  };
  std::vector<CacheDelta> d = cacheDeltas(scrapes);
  ASSERT_EQ(d.size(), 3u);
  EXPECT_EQ(d[0].t_ns, 100 * ms);
  EXPECT_EQ(d[0].hits, 100.0);
  EXPECT_EQ(d[0].misses, 10.0);
  EXPECT_EQ(d[1].hits, 10.0);
  EXPECT_EQ(d[2].hits, 15.0);
  EXPECT_EQ(d[2].misses, 15.0);
  EXPECT_DOUBLE_EQ(*hitRatio(d, 300 * ms, 400 * ms), 0.5);
  EXPECT_DOUBLE_EQ(*hitRatio(d, 0, 400 * ms), 125.0 / 150.0);
  EXPECT_FALSE(hitRatio(d, 400 * ms, 500 * ms).has_value());
}

TEST(Repeats, MedianIntervalHoldsTheMedianAndCollapsesForOneValue) {
  Interval one = medianInterval({3.0});
  EXPECT_EQ(one.median, 3.0);
  EXPECT_EQ(one.low, 3.0);
  EXPECT_EQ(one.high, 3.0);
  Interval iv = medianInterval({5, 1, 4, 2, 3});
  EXPECT_EQ(iv.median, 3.0);
  EXPECT_LE(iv.low, 3.0);
  EXPECT_GE(iv.high, 3.0);
  EXPECT_GE(iv.low, 1.0);
  EXPECT_LE(iv.high, 5.0);
  EXPECT_EQ(medianInterval({}).n, 0u);
}

TEST(FloorShift, AFloorThatGrewOrShrankByMoreThanAQuarterIsFlagged) {
  auto up = floorShift(20.0, 26.0);  // 1.30x
  ASSERT_TRUE(up.has_value());
  EXPECT_TRUE(up->moved);
  EXPECT_DOUBLE_EQ(up->change, 0.3);
  // The rule is symmetric: 20 -> 15 is the same 1.33x apart as 15 -> 20.
  auto down = floorShift(20.0, 15.0);
  ASSERT_TRUE(down.has_value());
  EXPECT_TRUE(down->moved);
  EXPECT_DOUBLE_EQ(down->change, -0.25);
  EXPECT_TRUE(floorShift(15.0, 20.0)->moved);
}

TEST(FloorShift, AFloorWithinAQuarterIsNotFlagged) {
  EXPECT_FALSE(floorShift(20.0, 24.9)->moved);
  EXPECT_FALSE(floorShift(20.0, 20.0)->moved);
  EXPECT_FALSE(floorShift(24.9, 20.0)->moved);
  // Exactly 1.25x is not more than 25%.
  EXPECT_FALSE(floorShift(20.0, 25.0)->moved);
  // The threshold is the caller's.
  EXPECT_TRUE(floorShift(20.0, 22.5, 0.10)->moved);
}

TEST(FloorShift, AFloorThatWasNotMeasuredGivesNoVerdict) {
  EXPECT_FALSE(floorShift(-1.0, 20.0).has_value());
  EXPECT_FALSE(floorShift(20.0, 0.0).has_value());
}

}  // namespace
}  // namespace seams::bench
