// The coupling probe (issue 14): Vault::probe(work_us, reply_bytes) does `work_us` microseconds of
// real CPU work where the vault lives (in seam-fsd across the seam, in-process in seamd) and
// answers `reply_bytes` bytes derived from that work; GET /v1/probe makes K such calls in
// sequence per request. It models "services that talk": how much the K calls cost when they cross
// a process boundary, apart from the file vault. The values both ends share live here: the limits
// (the config's [probe] section, checked by the HTTP route and again by the owner) and the reply.
//
// Thread-safety: values and pure functions.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace seams {

struct ProbeLimits {                         // [probe]
  std::uint64_t max_calls = 64;              // max_calls: K per request, 1..kCeilingCalls
  std::uint64_t max_work_us = 100'000;       // max_work_us: per call, 0..kCeilingWorkUs
  std::uint64_t max_reply_bytes = 4u << 20;  // max_reply_bytes: per call, 0..kCeilingReplyBytes

  // What the config may raise them to: a reply must fit the IPC message limit (96 MiB) with room
  // to spare, and work must stay well under any sane call timeout.
  static constexpr std::uint64_t kCeilingCalls = 4096;
  static constexpr std::uint64_t kCeilingWorkUs = 10'000'000;
  static constexpr std::uint64_t kCeilingReplyBytes = 64u << 20;

  friend bool operator==(const ProbeLimits&, const ProbeLimits&) = default;
};

struct ProbeReply {
  std::string data;              // reply_bytes bytes derived from the work's result
  double iterations_per_us = 0;  // the owner's calibration: work iterations per CPU-us

  friend bool operator==(const ProbeReply&, const ProbeReply&) = default;
};

// A cheap checksum of a reply (a sum and an xor of its 8-byte words, and its length): the HTTP
// route touches every byte it received with it, at memory speed, so a reply cannot go unread and
// the route's own cost stays small beside the seam's.
inline std::uint64_t probeChecksum(std::string_view data) {
  std::uint64_t sum = 0, mix = 0;
  std::size_t i = 0;
  for (; i + 8 <= data.size(); i += 8) {
    std::uint64_t w;
    std::memcpy(&w, data.data() + i, 8);
    sum += w;
    mix ^= w;
  }
  for (; i < data.size(); ++i) sum += static_cast<unsigned char>(data[i]) << (8 * (i % 8));
  return sum ^ (mix * 0x9E3779B97F4A7C15ULL) ^ data.size();
}

}  // namespace seams
