#include "core/stats/metrics.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "core/common/clock.h"

namespace seams {
namespace {

using std::chrono::microseconds;
using std::chrono::milliseconds;

TEST(MetricsTest, RendersThePrometheusTextFormat) {
  MetricsRegistry m;
  m.counter("seams_http_requests_total", "HTTP requests served",
            {{"method", "GET"}, {"code", "200"}})
      .inc(3);
  m.counter("seams_http_requests_total", "ignored: the first help wins",
            {{"code", "404"}, {"method", "GET"}})
      .inc();
  m.gauge("seams_cache_bytes", "Bytes held by the cache\nmetadata and content").set(1536);
  m.gauge("seams_up", "Whether the service is up", {{"service", "vault"}}).set(1);
  Histogram& lat = m.histogram("seams_fuse_op_seconds", "FUSE operation latency", {{"op", "read"}});
  // 100 us falls in the bucket [99840, 100351] ns, whose midpoint 100096 ns is what quantiles show.
  for (int i = 0; i < 1000; ++i) lat.record(100'000);
  lat.record(2'000'000'000);  // one slow 2 s outlier
  m.histogram("seams_empty_seconds", "Never recorded");
  m.counter("seams_odd_labels_total", "Escaping", {{"path", "a\\b \"c\"\nd"}}).inc();

  const std::string expected =
      "# HELP seams_cache_bytes Bytes held by the cache\\nmetadata and content\n"
      "# TYPE seams_cache_bytes gauge\n"
      "seams_cache_bytes 1536\n"
      "# HELP seams_empty_seconds Never recorded\n"
      "# TYPE seams_empty_seconds summary\n"
      "seams_empty_seconds{quantile=\"0.5\"} NaN\n"
      "seams_empty_seconds{quantile=\"0.9\"} NaN\n"
      "seams_empty_seconds{quantile=\"0.99\"} NaN\n"
      "seams_empty_seconds{quantile=\"0.999\"} NaN\n"
      "seams_empty_seconds_sum 0\n"
      "seams_empty_seconds_count 0\n"
      "# HELP seams_fuse_op_seconds FUSE operation latency\n"
      "# TYPE seams_fuse_op_seconds summary\n"
      "seams_fuse_op_seconds{op=\"read\",quantile=\"0.5\"} 0.000100096\n"
      "seams_fuse_op_seconds{op=\"read\",quantile=\"0.9\"} 0.000100096\n"
      "seams_fuse_op_seconds{op=\"read\",quantile=\"0.99\"} 0.000100096\n"
      "seams_fuse_op_seconds{op=\"read\",quantile=\"0.999\"} 0.000100096\n"
      "seams_fuse_op_seconds_sum{op=\"read\"} 2.1\n"
      "seams_fuse_op_seconds_count{op=\"read\"} 1001\n"
      "# HELP seams_http_requests_total HTTP requests served\n"
      "# TYPE seams_http_requests_total counter\n"
      "seams_http_requests_total{code=\"200\",method=\"GET\"} 3\n"
      "seams_http_requests_total{code=\"404\",method=\"GET\"} 1\n"
      "# HELP seams_odd_labels_total Escaping\n"
      "# TYPE seams_odd_labels_total counter\n"
      "seams_odd_labels_total{path=\"a\\\\b \\\"c\\\"\\nd\"} 1\n"
      "# HELP seams_up Whether the service is up\n"
      "# TYPE seams_up gauge\n"
      "seams_up{service=\"vault\"} 1\n";
  EXPECT_EQ(m.renderPrometheus(), expected);
}

TEST(MetricsTest, NameAndLabelsIdentifyASeriesWhateverTheLabelOrder) {
  MetricsRegistry m;
  Counter& a = m.counter("x_total", "x", {{"a", "1"}, {"b", "2"}});
  Counter& b = m.counter("x_total", "x", {{"b", "2"}, {"a", "1"}});
  Counter& other = m.counter("x_total", "x", {{"a", "1"}, {"b", "3"}});
  EXPECT_EQ(&a, &b);
  EXPECT_NE(&a, &other);
  EXPECT_EQ(&m.histogram("h_seconds", "h"), &m.histogram("h_seconds", "h"));
}

TEST(MetricsTest, ReferencesStayValidAsMoreSeriesAreRegistered) {
  MetricsRegistry m;
  Counter& first = m.counter("c_total", "c", {{"i", "0"}});
  for (int i = 1; i < 500; ++i) m.counter("c_total", "c", {{"i", std::to_string(i)}}).inc();
  first.inc(7);
  EXPECT_EQ(m.counter("c_total", "c", {{"i", "0"}}).value(), 7u);
}

TEST(MetricsTest, GaugesGoUpAndDown) {
  MetricsRegistry m;
  Gauge& g = m.gauge("inflight", "in flight");
  g.inc();
  g.inc();
  g.dec();
  g.add(0.5);
  EXPECT_DOUBLE_EQ(g.value(), 1.5);
  g.set(-2);
  EXPECT_DOUBLE_EQ(g.value(), -2.0);
}

TEST(MetricsTest, ScopedTimerRecordsTheElapsedTimeOnce) {
  ManualClock clock;
  Histogram h;
  {
    ScopedTimer t(h, clock);
    clock.advance(microseconds(250));
  }
  EXPECT_EQ(h.count(), 1u);
  EXPECT_EQ(h.max(), 250'000u);

  ScopedTimer t(h, clock);
  clock.advance(milliseconds(3));
  EXPECT_EQ(t.stop(), 3'000'000u);
  EXPECT_EQ(t.stop(), 0u) << "a stopped timer records nothing more";
  EXPECT_EQ(h.count(), 2u);
}

TEST(MetricsTest, ACancelledScopedTimerRecordsNothing) {
  Histogram h;
  {
    ScopedTimer t(h);
    t.cancel();
  }
  EXPECT_EQ(h.count(), 0u);
}

TEST(MetricsTest, ThreadsMayRegisterRecordAndRenderAtOnce) {
  MetricsRegistry m;
  constexpr int kThreads = 4;
  constexpr int kIterations = 2000;
  m.counter("started_total", "registered before the threads start").inc();
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&m, t] {
      for (int i = 0; i < kIterations; ++i) {
        m.counter("ops_total", "ops", {{"thread", std::to_string(t % 2)}}).inc();
        m.histogram("op_seconds", "op").record(static_cast<std::uint64_t>(i));
        m.gauge("last", "last").set(i);
      }
    });
  }
  for (int i = 0; i < 20; ++i) EXPECT_FALSE(m.renderPrometheus().empty());
  for (auto& th : threads) th.join();
  EXPECT_EQ(m.counter("ops_total", "ops", {{"thread", "0"}}).value() +
                m.counter("ops_total", "ops", {{"thread", "1"}}).value(),
            static_cast<std::uint64_t>(kThreads * kIterations));
  EXPECT_EQ(m.histogram("op_seconds", "op").count(),
            static_cast<std::uint64_t>(kThreads * kIterations));
}

}  // namespace
}  // namespace seams
