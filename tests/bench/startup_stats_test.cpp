#include "bench/seam-bench/startup_stats.h"

#include <gtest/gtest.h>

namespace seams::bench {
namespace {

nlohmann::json event(double ms, const std::string& who, const std::string& text) {
  return {{"ms", ms}, {"who", who}, {"event", text}};
}

TEST(SpreadOf, GivesNearestRankPercentilesAndTheirDistance) {
  // 20 starts: 18 at 40..57 ms and two slow ones.
  std::vector<double> starts;
  for (int i = 0; i < 18; ++i) starts.push_back(40 + i);
  starts.push_back(90);
  starts.push_back(120);
  const Spread s = spreadOf(starts);
  EXPECT_EQ(s.n, 20u);
  EXPECT_DOUBLE_EQ(s.p50, 49);  // the 10th of 20
  EXPECT_DOUBLE_EQ(s.p90, 57);  // the 18th of 20
  EXPECT_DOUBLE_EQ(s.max, 120);
  EXPECT_DOUBLE_EQ(s.spread, 8);
}

TEST(SpreadOf, OfOneStartIsThatStartWithNoSpread) {
  const Spread s = spreadOf({42});
  EXPECT_DOUBLE_EQ(s.p50, 42);
  EXPECT_DOUBLE_EQ(s.p90, 42);
  EXPECT_DOUBLE_EQ(s.spread, 0);
}

TEST(StartIntervals, MeasureEachSeamdServiceFromStartingToStartedAndTheExecBefore) {
  // A wave: storage and auth start together.
  const nlohmann::json tl = {event(12, "1000", "storage starting"),
                             event(12.1, "1000", "auth starting"),
                             event(12.5, "1000", "auth started"),
                             event(14, "1000", "storage started"),
                             event(14.2, "1000", "http starting"),
                             event(15.5, "1001", "http: listening on port 8080"),
                             event(16, "1000", "http started"),
                             event(17, "1000", "seamd: all services running (vault /v)")};
  const auto iv = startIntervals(tl);
  ASSERT_EQ(iv.size(), 4u);
  EXPECT_EQ(iv[0].unit, "seamd: exec to first service");
  EXPECT_DOUBLE_EQ(iv[0].ms, 12);
  EXPECT_EQ(iv[1].unit, "seamd: auth");
  EXPECT_NEAR(iv[1].ms, 0.4, 1e-9);
  EXPECT_EQ(iv[2].unit, "seamd: storage");
  EXPECT_DOUBLE_EQ(iv[2].ms, 2);
  EXPECT_EQ(iv[3].unit, "seamd: http");
  EXPECT_NEAR(iv[3].ms, 1.8, 1e-9);
}

TEST(StartIntervals, MeasureADaemonFromItsSpawnToItsReadyAndItsServicesWithin) {
  const nlohmann::json tl = {
      event(4.9, "split", "fsd starting"),
      event(5, "split", "fsd: spawned /b/split/daemons/seam-fsd (pid 7)"),
      event(10, "seam-fsd 7", "storage starting"), event(12, "seam-fsd 7", "storage started"),
      event(12.5, "seam-fsd 7", "ipc starting"), event(15, "seam-fsd 7", "ipc started"),
      event(16, "split", "fsd: ready (pid 7)"), event(16.2, "split", "fsd started"),
      event(16.5, "split", "authd: spawned /b/split/daemons/seam-authd (pid 8)"),
      event(30, "split", "authd: ready (pid 8)"),
      // A daemon whose spawn this log does not show gives no exec interval.
      event(31, "seam-httpd 9", "http starting"), event(32, "seam-httpd 9", "http started")};
  const auto iv = startIntervals(tl);
  ASSERT_EQ(iv.size(), 6u);
  EXPECT_EQ(iv[0].unit, "seam-fsd: exec to first service");
  EXPECT_DOUBLE_EQ(iv[0].ms, 5);
  EXPECT_EQ(iv[1].unit, "seam-fsd: storage");
  EXPECT_DOUBLE_EQ(iv[1].ms, 2);
  EXPECT_EQ(iv[2].unit, "seam-fsd: ipc");
  EXPECT_DOUBLE_EQ(iv[2].ms, 2.5);
  EXPECT_EQ(iv[3].unit, "launcher: fsd");
  EXPECT_DOUBLE_EQ(iv[3].ms, 11);
  EXPECT_EQ(iv[4].unit, "launcher: authd");
  EXPECT_DOUBLE_EQ(iv[4].ms, 13.5);
  EXPECT_EQ(iv[5].unit, "seam-httpd: http");
  EXPECT_DOUBLE_EQ(iv[5].ms, 1);
}

TEST(StartIntervals, IgnoreWhatIsNotATimeline) {
  EXPECT_TRUE(startIntervals(nlohmann::json::object()).empty());
  EXPECT_TRUE(startIntervals({{{"who", "1"}, {"event", "x starting"}}}).empty());  // no ms
  // A "started" without its "starting" says nothing about how long the start took.
  EXPECT_TRUE(startIntervals({event(3, "1", "x started")}).empty());
}

}  // namespace
}  // namespace seams::bench
