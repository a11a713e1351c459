// seam-split with the real daemons (split/daemons) on the deployment `seamctl init` writes: the
// launcher's contract end to end, once. The behaviour of the deployment itself (HTTP, FUSE,
// coherence) is the conformance suite's.
#include <gtest/gtest.h>
#include <signal.h>

#include <filesystem>

#include "core/runtime/service_names.h"
#include "split/launcher/daemon_spec.h"
#include "tests/split/launcher/launcher_harness.h"

namespace seams::split::testing {
namespace {

using namespace std::chrono_literals;

TEST(SeamSplitWithTheRealDaemons, RunsASeamctlInitDeploymentUntilReadyAndStopsWithNothingLeft) {
#ifndef SEAMS_REAL_DAEMONS
  GTEST_SKIP() << "the split daemons (split/daemons: seam-fsd, ...) are not part of this build";
#else
  LauncherUnderTest launcher({.seamctl_init = true});
  ASSERT_TRUE(launcher.start(120s).ok()) << launcher.log();

  auto rows = launcher.status();
  std::vector<pid_t> pids;
  for (const char* name : {kFsdDaemon, kAuthdDaemon, kSyncdDaemon, kHttpdDaemon, kFusedDaemon}) {
    ASSERT_TRUE(rows.count(name)) << name << "\n" << launcher.log();
    EXPECT_EQ(rows[name]["kind"], "daemon");
    EXPECT_EQ(rows[name]["state"], "running");
    pids.push_back(static_cast<pid_t>(rows[name]["pid"].get<std::int64_t>()));
    EXPECT_GT(pids.back(), 0);
  }
  EXPECT_TRUE(isFuseMounted(launcher.mountpoint()));

  ASSERT_TRUE(launcher.signal(SIGTERM).ok());
  Result<ExitStatus> exit = launcher.waitExit(120s);
  ASSERT_TRUE(exit.ok());
  EXPECT_TRUE(exit->success()) << exit->toString() << "\n" << launcher.log();
  EXPECT_TRUE(waitAllGone(pids));
  EXPECT_FALSE(isFuseMounted(launcher.mountpoint()));
  for (const auto& entry : std::filesystem::directory_iterator(launcher.runtimeDir())) {
    ADD_FAILURE() << "left behind: " << entry.path();
  }
#endif
}

}  // namespace
}  // namespace seams::split::testing
