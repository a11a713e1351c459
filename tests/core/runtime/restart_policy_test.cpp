#include "core/runtime/restart_policy.h"

#include <gtest/gtest.h>

#include "core/common/clock.h"

namespace seams {
namespace {

using namespace std::chrono_literals;

TEST(BackoffTest, DoublesFromTheInitialDelayUpToTheCap) {
  Backoff b({.initial = 100ms, .max = 1000ms});
  EXPECT_EQ(b.next(), 100ms);
  EXPECT_EQ(b.next(), 200ms);
  EXPECT_EQ(b.next(), 400ms);
  EXPECT_EQ(b.next(), 800ms);
  EXPECT_EQ(b.next(), 1000ms);
  EXPECT_EQ(b.next(), 1000ms);
}

TEST(BackoffTest, ResetStartsAgainFromTheInitialDelay) {
  Backoff b({.initial = 20ms, .max = 1000ms});
  (void)b.next();
  (void)b.next();
  b.reset();
  EXPECT_EQ(b.next(), 20ms);
}

TEST(BackoffTest, JitterSpreadsEachDelayByTheFractionButNotTheDoubling) {
  Backoff b({.initial = 100ms, .max = 10s, .jitter = 0.2});
  EXPECT_EQ(b.next(1.0), 120ms);
  EXPECT_EQ(b.next(-1.0), 160ms);  // base 200 ms, -20%
  EXPECT_EQ(b.next(0.5), 440ms);   // base 400 ms, +10%
}

TEST(BackoffTest, AJitteredDelayNeverExceedsTheCap) {
  Backoff b({.initial = 1000ms, .max = 1000ms, .jitter = 0.5});
  EXPECT_EQ(b.next(1.0), 1000ms);
  EXPECT_EQ(b.next(-1.0), 500ms);
}

TEST(BackoffTest, ARunThatStayedUpLongEnoughResetsIt) {
  Backoff b({.initial = 100ms, .max = 10s, .reset_after = 30s});
  (void)b.next();
  (void)b.next();
  b.ranFor(29s);  // not long enough: keeps doubling
  EXPECT_EQ(b.next(), 400ms);
  b.ranFor(30s);
  EXPECT_EQ(b.next(), 100ms);
}

TEST(BackoffTest, WithoutResetAfterItNeverResetsOnItsOwn) {
  Backoff b({.initial = 10ms, .max = 1s});
  (void)b.next();
  b.ranFor(24h);
  EXPECT_EQ(b.next(), 20ms);
}

TEST(RestartIntensityTest, MoreThanTheLimitWithinThePeriodIsExceeded) {
  ManualClock clock;
  RestartIntensity intensity(3, 10s);
  for (int i = 0; i < 3; ++i) {
    EXPECT_FALSE(intensity.exceededAfterRestart(clock.now())) << i;
    clock.advance(1s);
  }
  EXPECT_TRUE(intensity.exceededAfterRestart(clock.now()));
}

TEST(RestartIntensityTest, RestartsOlderThanThePeriodAreForgotten) {
  ManualClock clock;
  RestartIntensity intensity(2, 10s);
  EXPECT_FALSE(intensity.exceededAfterRestart(clock.now()));
  clock.advance(5s);
  EXPECT_FALSE(intensity.exceededAfterRestart(clock.now()));
  clock.advance(5s);  // the first is exactly one period old: out of the window
  EXPECT_FALSE(intensity.exceededAfterRestart(clock.now()));
  clock.advance(1s);
  EXPECT_TRUE(intensity.exceededAfterRestart(clock.now()));  // 5 s, 10 s, 11 s
}

TEST(RestartIntensityTest, ALimitOfZeroIsExceededByTheFirstRestart) {
  ManualClock clock;
  RestartIntensity intensity(0, 30s);
  EXPECT_TRUE(intensity.exceededAfterRestart(clock.now()));
}

}  // namespace
}  // namespace seams
