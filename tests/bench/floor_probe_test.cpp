// The floor probes: real round trips through a forked echo process, and the child reaped after.
#include "bench/seam-bench/floor_probe.h"

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cerrno>

namespace seams::bench {
namespace {

// No child of this process is left behind (running or a zombie).
bool noChildLeft() {
  int status = 0;
  return ::waitpid(-1, &status, WNOHANG) < 0 && errno == ECHILD;
}

PingPongOptions counted(PingPongOptions o, std::uint64_t round_trips) {
  o.seconds = 600;  // the count ends it, never the clock
  o.max_round_trips = round_trips;
  o.warmup_round_trips = 10;
  return o;
}

TEST(FloorProbe, TheUnixPingPongTimesEveryRoundTripAndReapsItsEchoProcess) {
  const PingPongOptions o = counted(unixFloorOptions(0.1), 300);
  auto r = unixPingPong(o);
  ASSERT_TRUE(r.ok()) << r.status().toString();
  EXPECT_EQ(r->round_trips, 300u);
  EXPECT_EQ(r->latency->count(), 300u);
  EXPECT_GT(r->latency->percentile(50), 0u);
  const auto j = r->toJson(o);
  EXPECT_EQ(j["request_bytes"], 64);
  EXPECT_EQ(j["response_bytes"], 64);
  EXPECT_EQ(j["latency"]["count"], 300);
  EXPECT_TRUE(noChildLeft());
}

TEST(FloorProbe, TheTcpPingPongMovesAGetSizedExchangeAndReapsItsEchoProcess) {
  const PingPongOptions o = counted(tcpFloorOptions(0.1), 200);
  EXPECT_EQ(o.request_bytes, 160u);
  EXPECT_EQ(o.response_bytes, 4096u + 200u);
  auto r = tcpPingPong(o);
  ASSERT_TRUE(r.ok()) << r.status().toString();
  EXPECT_EQ(r->round_trips, 200u);
  EXPECT_EQ(r->latency->count(), 200u);
  EXPECT_TRUE(noChildLeft());
}

}  // namespace
}  // namespace seams::bench
