// The machine's floor for a round trip, measured right before and right after each deployment's
// run so every figure has the machine's state of that moment beside it.
//
//   unix  a 64-byte message and its echo over a UNIX socketpair between this process and a forked
//         echo process: the floor of any IPC call (the "raw ping-pong").
//   tcp   a GET-sized exchange over TCP loopback (request 160 bytes, answer 4096 + 200 bytes, as
//         a cached 4 KiB GET and its headers), TCP_NODELAY both ways, to a forked echo process:
//         the floor of an HTTP request on this machine, with no HTTP in it.
// Two processes, not two threads, because the deployments' round trips cross processes (and a
// wake-up of another process is what the idle vCPUs make slow). The echo process is forked, does
// only read/write until its socket closes, and dies with the bench (PDEATHSIG). The TCP listener
// binds 127.0.0.1 port 0 (a port the kernel picks), so concurrent runs never collide.
//
// Threading: each call runs and reaps its own child; any thread may call.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "core/common/status.h"
#include "core/stats/histogram.h"

namespace seams::bench {

struct PingPongOptions {
  std::size_t request_bytes = 64;
  std::size_t response_bytes = 64;
  double seconds = 0.2;                   // how long to measure (after the warm-up)
  std::uint64_t max_round_trips = 50000;  // or stop after this many
  std::uint64_t warmup_round_trips = 200;
};
PingPongOptions unixFloorOptions(double seconds);
PingPongOptions tcpFloorOptions(double seconds);

struct PingPongResult {
  std::unique_ptr<Histogram> latency = std::make_unique<Histogram>();  // ns per round trip
  std::uint64_t round_trips = 0;
  double seconds = 0;
  // {"request_bytes", "response_bytes", "round_trips", "latency": {...us}, "histogram_ns"}
  nlohmann::json toJson(const PingPongOptions& o) const;
};

Result<PingPongResult> unixPingPong(const PingPongOptions& o);
Result<PingPongResult> tcpPingPong(const PingPongOptions& o);

}  // namespace seams::bench
