// LoginThrottle on simulated time: the growing delays, their two scopes, and what clears them.
#include "core/http/login_throttle.h"

#include <gtest/gtest.h>

namespace seams::http {
namespace {

using namespace std::chrono_literals;

LoginThrottle::Options options() {
  LoginThrottle::Options o;
  o.free_per_address = 3;
  o.free_per_user = 2;
  o.delay_base = 1000ms;
  o.delay_max = 4000ms;
  o.forget_after = 600s;
  return o;
}

TEST(LoginThrottle, AnAddressPastItsFreeFailuresWaitsDelaysThatDoubleUpToTheMaximum) {
  ManualClock clock;
  LoginThrottle::Options o = options();
  o.free_per_user = 1000;  // the address rule alone
  LoginThrottle t(o, clock);
  // Each failure against another name: the address rule alone applies.
  for (int i = 0; i < 4; ++i) {  // 3 free, the 4th starts the wait
    EXPECT_FALSE(t.admit("u" + std::to_string(i), "10.0.0.1")) << i;
    t.failed("u" + std::to_string(i), "10.0.0.1");
  }
  std::chrono::milliseconds expected[] = {1000ms, 2000ms, 4000ms, 4000ms};
  for (auto d : expected) {
    auto wait = t.admit("anyone", "10.0.0.1");
    ASSERT_TRUE(wait);
    EXPECT_EQ(wait->scope, LoginThrottle::Scope::address);
    EXPECT_EQ(wait->remaining, d);
    clock.advance(d - 1ms);
    EXPECT_TRUE(t.admit("anyone", "10.0.0.1"));
    clock.advance(1ms);
    EXPECT_FALSE(t.admit("anyone", "10.0.0.1"));
    t.failed("anyone", "10.0.0.1");
  }
  EXPECT_FALSE(t.admit("anyone", "10.0.0.2"));  // other addresses are untouched
}

TEST(LoginThrottle, AUserUnderAttackWaitsOnlyForTheAddressesThatFailedAgainstIt) {
  ManualClock clock;
  LoginThrottle t(options(), clock);
  for (int i = 0; i < 3; ++i) t.failed("alice", "10.0.0.1");  // 2 free, the 3rd starts the wait
  auto wait = t.admit("alice", "10.0.0.1");
  ASSERT_TRUE(wait);
  EXPECT_EQ(wait->scope, LoginThrottle::Scope::user);
  EXPECT_EQ(wait->remaining, 1000ms);
  // A fresh address gets its attempt; failing, it joins the wait, which grows with the name's
  // failures from every address.
  EXPECT_FALSE(t.admit("alice", "10.0.0.2"));
  t.failed("alice", "10.0.0.2");
  ASSERT_TRUE(t.admit("alice", "10.0.0.2"));
  EXPECT_EQ(t.admit("alice", "10.0.0.2")->remaining, 2000ms);
  EXPECT_EQ(t.admit("alice", "10.0.0.1")->remaining, 2000ms);
  // The same addresses may still try other names.
  EXPECT_FALSE(t.admit("bob", "10.0.0.1"));
}

TEST(LoginThrottle, KnownAndUnknownNamesAreThrottledAlike) {
  ManualClock clock;
  LoginThrottle t(options(), clock);
  // The throttle has no user list: any name is a key like any other.
  for (const char* name : {"alice", "no-such-user"}) {
    std::string address = std::string("10.1.0.") + (name[0] == 'a' ? "1" : "2");
    for (int i = 0; i < 3; ++i) t.failed(name, address);
    auto wait = t.admit(name, address);
    ASSERT_TRUE(wait) << name;
    EXPECT_EQ(wait->remaining, 1000ms) << name;
  }
}

TEST(LoginThrottle, ASuccessClearsItsAddressButNotTheNamesCount) {
  ManualClock clock;
  LoginThrottle t(options(), clock);
  for (int i = 0; i < 4; ++i) t.failed("alice", "10.0.0.1");
  ASSERT_TRUE(t.admit("alice", "10.0.0.1"));
  t.succeeded("alice", "10.0.0.1");
  EXPECT_FALSE(t.admit("alice", "10.0.0.1"));
  // The name keeps its failures: the next address that fails on it waits the grown delay.
  t.failed("alice", "10.0.0.9");
  EXPECT_EQ(t.admit("alice", "10.0.0.9")->remaining, 4000ms);
}

TEST(LoginThrottle, RecordsAreForgottenAfterTheirTime) {
  ManualClock clock;
  LoginThrottle t(options(), clock);
  for (int i = 0; i < 6; ++i) t.failed("alice", "10.0.0.1");
  ASSERT_TRUE(t.admit("alice", "10.0.0.1"));
  clock.advance(600s);
  EXPECT_FALSE(t.admit("alice", "10.0.0.1"));
  // Counting starts over: the free failures are free again.
  t.failed("alice", "10.0.0.1");
  EXPECT_FALSE(t.admit("alice", "10.0.0.1"));
}

TEST(LoginThrottle, MemoryStaysBoundedUnderAFloodOfDistinctNamesAndAddresses) {
  ManualClock clock;
  LoginThrottle t(options(), clock);
  const int n = static_cast<int>(LoginThrottle::kMaxRecords) + 5000;
  for (int i = 0; i < n; ++i) {
    t.failed("user" + std::to_string(i), "10." + std::to_string(i / 65536) + "." +
                                             std::to_string((i / 256) % 256) + "." +
                                             std::to_string(i % 256));
    clock.advance(1ms);
  }
  EXPECT_LE(t.records(), 3 * LoginThrottle::kMaxRecords);
  // The newest records survive the eviction.
  std::string last = "10." + std::to_string((n - 1) / 65536) + "." +
                     std::to_string(((n - 1) / 256) % 256) + "." + std::to_string((n - 1) % 256);
  for (int i = 0; i < 3; ++i) t.failed("x" + std::to_string(i), last);
  EXPECT_TRUE(t.admit("y", last));
}

}  // namespace
}  // namespace seams::http
