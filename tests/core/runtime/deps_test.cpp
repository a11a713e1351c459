#include "core/runtime/deps.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "core/runtime/heartbeat.h"

namespace seams {
namespace {

struct Store {
  explicit Store(int v) : version(v) {}
  int version;
};

TEST(DepsTest, HandsOutNullUntilPublishedAndTheObjectAfter) {
  Deps deps;
  auto h = deps.handle<Store>();
  EXPECT_EQ(h.get(), nullptr);
  deps.publish(std::make_shared<Store>(1));
  ASSERT_NE(h.get(), nullptr);
  EXPECT_EQ(h.get()->version, 1);
  deps.withdraw<Store>();
  EXPECT_EQ(deps.get<Store>(), nullptr);
}

TEST(DepsTest, AReaderKeepsItsSnapshotAliveAcrossAReplacement) {
  Deps deps;
  deps.publish(std::make_shared<Store>(1));
  std::shared_ptr<Store> held = deps.get<Store>();
  std::weak_ptr<Store> watch = held;
  const auto gen = deps.handle<Store>().generation();
  deps.publish(std::make_shared<Store>(2));  // the owning service restarted
  EXPECT_EQ(held->version, 1) << "the old object lives while a reader uses it";
  EXPECT_EQ(deps.get<Store>()->version, 2);
  EXPECT_NE(deps.handle<Store>().generation(), gen);
  held.reset();
  EXPECT_TRUE(watch.expired()) << "and goes once the last reader lets go";
}

TEST(DepsTest, NamedSlotsOfOneTypeAreSeparate) {
  Deps deps;
  deps.publish(std::make_shared<Store>(1), "hot");
  deps.publish(std::make_shared<Store>(2), "cold");
  EXPECT_EQ(deps.get<Store>("hot")->version, 1);
  EXPECT_EQ(deps.get<Store>("cold")->version, 2);
  EXPECT_EQ(deps.get<Store>(), nullptr);
}

TEST(DepsTest, ReadersAndARestartingPublisherRaceSafely) {
  Deps deps;
  deps.publish(std::make_shared<Store>(0));
  auto h = deps.handle<Store>();
  std::atomic<bool> stop{false};
  std::vector<std::thread> readers;
  for (int i = 0; i < 4; ++i) {
    readers.emplace_back([&] {
      int last = 0;
      while (!stop) {
        if (auto s = h.get()) {
          EXPECT_GE(s->version, last);
          last = s->version;
        }
      }
    });
  }
  for (int v = 1; v <= 2000; ++v) {
    if (v % 100 == 0) deps.withdraw<Store>();
    deps.publish(std::make_shared<Store>(v));
  }
  stop = true;
  for (auto& t : readers) t.join();
  EXPECT_EQ(h.get()->version, 2000);
}

TEST(HeartbeatTest, TouchModeAgesFromTheLastTouch) {
  ManualClock clock;
  Heartbeat hb(clock);
  clock.advance(std::chrono::seconds(3));
  EXPECT_EQ(hb.age(clock.now()), std::chrono::seconds(3));
  hb.touch();
  EXPECT_EQ(hb.age(clock.now()), Duration(0));
}

}  // namespace
}  // namespace seams
