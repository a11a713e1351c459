#include "core/runtime/watchdog.h"

#include <gtest/gtest.h>

#include "core/common/clock.h"
#include "core/config/config.h"
#include "core/runtime/heartbeat.h"

namespace seams {
namespace {

using namespace std::chrono_literals;

// A heartbeat on a manual clock, looked at by a watchdog with a 200 ms miss and a 1 s kill
// deadline: the ages are the ones the ServiceManager would pass.
class WatchdogTest : public ::testing::Test {
 protected:
  WatchdogFinding look() { return watchdog_.check(record_, heartbeat_.age(clock_.now())); }

  ManualClock clock_;
  Heartbeat heartbeat_{clock_};
  Watchdog watchdog_{{.miss = 200ms, .kill = 1000ms}};
  Watchdog::Record record_;
};

TEST_F(WatchdogTest, AFreshHeartbeatIsNoFinding) {
  clock_.advance(199ms);
  EXPECT_EQ(look(), WatchdogFinding::none);
  EXPECT_TRUE(watchdog_.fresh(heartbeat_.age(clock_.now())));
}

TEST_F(WatchdogTest, AMissIsReportedOncePerStall) {
  clock_.advance(200ms);
  EXPECT_FALSE(watchdog_.fresh(heartbeat_.age(clock_.now())));
  EXPECT_EQ(look(), WatchdogFinding::miss);
  clock_.advance(300ms);
  EXPECT_EQ(look(), WatchdogFinding::none);  // the same stall: already reported
  EXPECT_TRUE(record_.miss_reported);
}

TEST_F(WatchdogTest, AFreshHeartbeatEndsTheStallSoTheNextOneIsReportedAgain) {
  clock_.advance(250ms);
  EXPECT_EQ(look(), WatchdogFinding::miss);
  heartbeat_.touch();
  EXPECT_EQ(look(), WatchdogFinding::none);
  EXPECT_FALSE(record_.miss_reported);
  clock_.advance(250ms);
  EXPECT_EQ(look(), WatchdogFinding::miss);
}

TEST_F(WatchdogTest, PastTheKillDeadlineItIsAHangOnEveryLook) {
  clock_.advance(500ms);
  EXPECT_EQ(look(), WatchdogFinding::miss);
  clock_.advance(500ms);
  EXPECT_EQ(look(), WatchdogFinding::hang);
  clock_.advance(1ms);
  EXPECT_EQ(look(), WatchdogFinding::hang);  // until whoever acts replaces the run
}

TEST_F(WatchdogTest, AHangWithoutAnEarlierLookIsStillAHang) {
  clock_.advance(5s);
  EXPECT_EQ(look(), WatchdogFinding::hang);
}

TEST(WatchdogThresholdsTest, ComeFromTheWatchdogSection) {
  WatchdogConfig config;
  config.heartbeat_deadline_ms = 1500;
  config.kill_deadline_ms = 9000;
  const WatchdogThresholds t = watchdogThresholds(config);
  EXPECT_EQ(t.miss, 1500ms);
  EXPECT_EQ(t.kill, 9000ms);
}

}  // namespace
}  // namespace seams
