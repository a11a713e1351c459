#include "core/fuse/in_flight.h"

#include <gtest/gtest.h>

#include <optional>
#include <thread>
#include <vector>

namespace seams {
namespace {

using std::chrono::seconds;

TEST(InFlightTracker, IdleMeansNoOldestRequest) {
  ManualClock clock;
  InFlightTracker tracker(4, clock);
  EXPECT_EQ(tracker.oldestStart(), std::nullopt);
  EXPECT_EQ(tracker.inFlight(), 0u);
}

TEST(InFlightTracker, ReportsTheStartOfTheOldestRequestStillRunning) {
  ManualClock clock;
  InFlightTracker tracker(4, clock);
  const MonoTime first = clock.now();
  std::optional<InFlightTracker::Scope> a(std::in_place, tracker);
  clock.advance(seconds(3));
  {
    InFlightTracker::Scope b(tracker);
    EXPECT_EQ(tracker.inFlight(), 2u);
    EXPECT_EQ(tracker.oldestStart(), first);
  }
  EXPECT_EQ(tracker.oldestStart(), first);
  a.reset();
  EXPECT_EQ(tracker.oldestStart(), std::nullopt);
  EXPECT_EQ(tracker.started(), 2u);
}

TEST(InFlightTracker, MoreRequestsThanSlotsAreCountedButNeverBlock) {
  ManualClock clock;
  InFlightTracker tracker(1, clock);
  InFlightTracker::Scope a(tracker);
  InFlightTracker::Scope b(tracker);  // untracked
  EXPECT_EQ(tracker.inFlight(), 1u);
  EXPECT_EQ(tracker.started(), 2u);
}

TEST(InFlightTracker, ManyThreadsLeaveNoSlotBehind) {
  SystemClock clock;
  InFlightTracker tracker(8, clock);
  std::vector<std::thread> threads;
  for (int t = 0; t < 6; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 10000; ++i) InFlightTracker::Scope s(tracker);
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(tracker.inFlight(), 0u);
  EXPECT_EQ(tracker.oldestStart(), std::nullopt);
  EXPECT_EQ(tracker.started(), 60000u);
}

}  // namespace
}  // namespace seams
