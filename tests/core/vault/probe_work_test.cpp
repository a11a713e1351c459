// The coupling probe's work at the owner (core/vault/probe_work.h) and LocalVault::probe: the
// calibration, the reply derived from the work, the owner's bounds, and the reply checksum.
#include "core/vault/probe_work.h"

#include <gtest/gtest.h>
#include <time.h>

#include "core/common/clock.h"
#include "core/vault/local_vault.h"
#include "tests/core/storage/temp_dir.h"

namespace seams {
namespace {

std::int64_t threadCpuUs() {
  timespec ts{};
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return std::int64_t{ts.tv_sec} * 1'000'000 + ts.tv_nsec / 1000;
}

TEST(ProbeWork, TheCalibrationIsAPositiveRateAndStaysTheSameForTheProcess) {
  const double rate = probeIterationsPerUs();
  EXPECT_GT(rate, 0.0);
  EXPECT_EQ(probeIterationsPerUs(), rate);
}

// A loose lower bound only: the calibration keeps the fastest of its trials, so W us of work
// costs at least about W us of CPU; a slow machine or a sanitizer makes it longer, never
// shorter than half.
TEST(ProbeWork, WorkOfTwoMillisecondsCostsAtLeastOneMillisecondOfThreadCpuTime) {
  (void)probeIterationsPerUs();  // calibrate first: not part of the measured call
  const std::int64_t before = threadCpuUs();
  auto reply = runProbe(ProbeLimits{}, 2000, 64);
  const std::int64_t spent = threadCpuUs() - before;
  ASSERT_TRUE(reply.ok()) << reply.status().toString();
  EXPECT_GE(spent, 1000) << "2000 us of work took " << spent << " us of thread CPU time";
}

TEST(ProbeWork, TheReplyHasTheAskedSizeAndIsDerivedFromTheWork) {
  for (std::uint64_t bytes : {0, 1, 7, 8, 13, 4096, 65537}) {
    auto r = runProbe(ProbeLimits{}, 3, bytes);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->data.size(), bytes);
    EXPECT_GT(r->iterations_per_us, 0.0);
  }
  auto a = runProbe(ProbeLimits{}, 10, 64).value();
  EXPECT_EQ(runProbe(ProbeLimits{}, 10, 64).value(), a);  // the same work, the same bytes
  EXPECT_NE(runProbe(ProbeLimits{}, 11, 64).value().data, a.data);
  EXPECT_NE(runProbe(ProbeLimits{}, 0, 64).value().data, a.data);
  EXPECT_NE(probeChain(1, 100), probeChain(1, 101));
  EXPECT_NE(probeChain(1, 100), probeChain(2, 100));
}

TEST(ProbeWork, WorkOrBytesBeyondTheLimitsAreInvalidArgument) {
  ProbeLimits limits;
  limits.max_work_us = 50;
  limits.max_reply_bytes = 1000;
  EXPECT_TRUE(runProbe(limits, 50, 1000).ok());
  EXPECT_EQ(runProbe(limits, 51, 0).code(), Errc::invalid_argument);
  EXPECT_EQ(runProbe(limits, 0, 1001).code(), Errc::invalid_argument);
  // A hostile frontend's 10 GB is refused before anything is allocated.
  EXPECT_EQ(runProbe(ProbeLimits{}, 0, 10'000'000'000ULL).code(), Errc::invalid_argument);
  EXPECT_EQ(runProbe(ProbeLimits{}, ~0ULL, 0).code(), Errc::invalid_argument);
  auto refused = runProbe(limits, 0, 5000);
  EXPECT_NE(refused.status().message().find("1000"), std::string::npos)
      << refused.status().toString();
}

TEST(ProbeWork, TheChecksumSeesEveryByteAndTheLength) {
  std::string a(1000, 'a');
  const std::uint64_t base = probeChecksum(a);
  EXPECT_EQ(probeChecksum(a), base);
  for (std::size_t at : {0, 7, 8, 500, 999}) {
    std::string b = a;
    b[at] = 'b';
    EXPECT_NE(probeChecksum(b), base) << "byte " << at;
  }
  EXPECT_NE(probeChecksum(std::string(1001, 'a')), base);
  EXPECT_NE(probeChecksum(""), probeChecksum(std::string(1, '\0')));
}

TEST(ProbeWork, LocalVaultProbesWithinTheLimitsItWasGiven) {
  testing::TempDir dir;
  auto storage = Storage::open(dir.str()).value();
  ManualClock clock;
  FsCache cache(FsCache::Options{}, clock);
  ProbeLimits limits;
  limits.max_work_us = 20;
  limits.max_reply_bytes = 512;
  LocalVault vault(*storage, cache, LocalVault::kDefaultMaxOpenHandles, limits);
  auto ok = vault.probe(20, 512);
  ASSERT_TRUE(ok.ok()) << ok.status().toString();
  EXPECT_EQ(ok->data, runProbe(limits, 20, 512).value().data);
  EXPECT_EQ(vault.probe(21, 0).code(), Errc::invalid_argument);
  EXPECT_EQ(vault.probe(0, 513).code(), Errc::invalid_argument);
}

}  // namespace
}  // namespace seams
