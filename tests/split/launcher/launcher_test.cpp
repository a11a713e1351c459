// seam-split end to end, against fake daemons (fake_daemon.cpp): real processes, a real
// NOTIFY_SOCKET, the real control socket and seamctl. Each test reads as what the launcher
// promises; timings in the config are short so restarts and hang verdicts come quickly, and every
// wait for a real process is a bounded poll, never a sleep that stands for a result.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <set>

#include "core/runtime/service_names.h"
#include "split/launcher/daemon_spec.h"
#include "tests/split/launcher/launcher_harness.h"

namespace seams::split::testing {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using nlohmann::json;

const std::vector<std::string> kStartOrder = {kFsdDaemon, kAuthdDaemon, kSyncdDaemon, kHttpdDaemon,
                                              kFusedDaemon};

// The launcher starts in waves (ManagerOptions::parallel_start): fsd and authd together, then
// the three that need them. Within a wave the order of their first log lines is a race.
bool startedInWaves(std::vector<std::string> names,
                    const std::vector<std::set<std::string>>& waves) {
  std::size_t at = 0;
  for (const std::set<std::string>& wave : waves) {
    std::set<std::string> seen;
    for (std::size_t i = 0; i < wave.size() && at < names.size(); ++i) seen.insert(names[at++]);
    if (seen != wave) return false;
  }
  return at == names.size();
}

pid_t pidOf(const json& row) {
  return static_cast<pid_t>(row["pid"].get<std::int64_t>());
}

std::vector<pid_t> daemonPids(const std::map<std::string, json>& rows) {
  std::vector<pid_t> pids;
  for (const auto& [name, row] : rows) {
    if (row["kind"] == "daemon" && pidOf(row) > 0) pids.push_back(pidOf(row));
  }
  return pids;
}

TEST(SeamSplit, StartsTheDaemonsInDependencyOrderAndIsReadyOnlyAfterAllOfThem) {
  LauncherUnderTest launcher;
  ASSERT_TRUE(launcher.start().ok()) << launcher.log();

  EXPECT_TRUE(
      startedInWaves(launcher.eventNames("start"),
                     {{kFsdDaemon, kAuthdDaemon}, {kSyncdDaemon, kHttpdDaemon, kFusedDaemon}}))
      << ::testing::PrintToString(launcher.eventNames("start"));
  auto rows = launcher.status();
  for (const std::string& name : kStartOrder) {
    ASSERT_TRUE(rows.count(name)) << name;
    EXPECT_EQ(rows[name]["kind"], "daemon");
    EXPECT_EQ(rows[name]["state"], "running");
    EXPECT_EQ(rows[name]["restarts"], 0);
    EXPECT_GT(pidOf(rows[name]), 0);
    EXPECT_FALSE(processGone(pidOf(rows[name])));
  }
  ASSERT_TRUE(rows.count(kControlService));
  EXPECT_EQ(rows[kControlService]["kind"], "service");
  EXPECT_EQ(pidOf(rows[kControlService]), launcher.pid());
}

TEST(SeamSplit, RestartsADaemonKilledWithSigkillUnderANewPid) {
  LauncherUnderTest launcher;
  ASSERT_TRUE(launcher.start().ok()) << launcher.log();
  const pid_t old_pid = pidOf(launcher.status()[kAuthdDaemon]);
  ASSERT_EQ(::kill(old_pid, SIGKILL), 0);

  Result<json> row = launcher.waitForRow(kAuthdDaemon, [&](const json& r) {
    return r["state"] == "running" && r["restarts"] == 1 && pidOf(r) != old_pid && pidOf(r) > 0;
  });
  ASSERT_TRUE(row.ok()) << row.status().toString();
  EXPECT_NE((*row)["last_error"].get<std::string>().find("killed by signal 9"), std::string::npos)
      << (*row)["last_error"];
  EXPECT_TRUE(processGone(old_pid));
  // one_for_one: nobody else was touched.
  EXPECT_EQ(launcher.status()[kHttpdDaemon]["restarts"], 0);
}

TEST(SeamSplit, RestForOneRestartsTheDependentsOfADaemonThatDied) {
  LauncherUnderTest launcher({.strategy = "rest_for_one"});
  ASSERT_TRUE(launcher.start().ok()) << launcher.log();
  auto before = launcher.status();
  ASSERT_EQ(::kill(pidOf(before[kFsdDaemon]), SIGKILL), 0);

  for (const std::string name : {kFsdDaemon, kSyncdDaemon, kHttpdDaemon, kFusedDaemon}) {
    Result<json> row = launcher.waitForRow(name, [&](const json& r) {
      return r["state"] == "running" && r["restarts"] == 1 && pidOf(r) != pidOf(before[name]);
    });
    EXPECT_TRUE(row.ok()) << name << ": " << row.status().toString();
  }
  EXPECT_EQ(launcher.status()[kAuthdDaemon]["restarts"], 0);
  EXPECT_EQ(pidOf(launcher.status()[kAuthdDaemon]), pidOf(before[kAuthdDaemon]));
}

TEST(SeamSplit, ADaemonThatNeverBecomesReadyFailsTheStartAndTheOthersStopInReverse) {
  LauncherUnderTest launcher({.start_timeout_ms = 1000});
  launcher.script(kHttpdDaemon, "never-ready");
  ASSERT_TRUE(launcher.spawn().ok());

  Result<ExitStatus> exit = launcher.waitExit(60s);
  ASSERT_TRUE(exit.ok()) << exit.status().toString();
  EXPECT_EQ(exit->toString(), "exited with code 1");
  // httpd's whole wave started; httpd is stopped at its timeout, then what had started, in
  // reverse.
  EXPECT_TRUE(
      startedInWaves(launcher.eventNames("start"),
                     {{kFsdDaemon, kAuthdDaemon}, {kSyncdDaemon, kHttpdDaemon, kFusedDaemon}}))
      << ::testing::PrintToString(launcher.eventNames("start"));
  EXPECT_EQ(launcher.eventNames("stop"),
            (std::vector<std::string>{kHttpdDaemon, kFusedDaemon, kSyncdDaemon, kAuthdDaemon,
                                      kFsdDaemon}));
  EXPECT_TRUE(waitAllGone(launcher.fakePids()));
  const std::string verdict =
      "not ready within " + std::to_string(seams::testing::scaledMs(1000)) + " ms";
  EXPECT_NE(launcher.log().find(verdict), std::string::npos) << launcher.log();
}

TEST(SeamSplit, ADaemonThatFailsAtStartFailsTheLauncherWithItsExitStatus) {
  LauncherUnderTest launcher;
  launcher.script(kAuthdDaemon, "fail-start");
  ASSERT_TRUE(launcher.spawn().ok());

  Result<ExitStatus> exit = launcher.waitExit(60s);
  ASSERT_TRUE(exit.ok()) << exit.status().toString();
  EXPECT_EQ(exit->code, 1);
  EXPECT_EQ(launcher.eventNames("stop"), std::vector<std::string>{kFsdDaemon});
  EXPECT_NE(launcher.log().find("exited with code 3"), std::string::npos) << launcher.log();
  EXPECT_TRUE(waitAllGone(launcher.fakePids()));
}

TEST(SeamSplit, AHangFaultStopsTheWatchdogPingsAndTheDaemonIsKilledAndRestarted) {
  LauncherUnderTest launcher;
  ASSERT_TRUE(launcher.start().ok()) << launcher.log();
  const pid_t old_pid = pidOf(launcher.status()[kSyncdDaemon]);

  LauncherUnderTest::Ctl ctl = launcher.seamctl({"fault", kSyncdDaemon, "hang"});
  ASSERT_EQ(ctl.exit_code, 0) << ctl.output;

  Result<json> row = launcher.waitForRow(kSyncdDaemon, [&](const json& r) {
    return r["state"] == "running" && r["restarts"] == 1 && pidOf(r) != old_pid;
  });
  ASSERT_TRUE(row.ok()) << row.status().toString();
  EXPECT_NE((*row)["last_error"].get<std::string>().find("no WATCHDOG=1"), std::string::npos)
      << (*row)["last_error"];
  EXPECT_TRUE(waitAllGone({old_pid}));
}

TEST(SeamSplit, ACrashFaultDeliversSigsegvAndTheDaemonIsRestarted) {
  LauncherUnderTest launcher;
  ASSERT_TRUE(launcher.start().ok()) << launcher.log();
  const pid_t old_pid = pidOf(launcher.status()[kHttpdDaemon]);

  ASSERT_EQ(launcher.seamctl({"fault", kHttpdDaemon, "crash"}).exit_code, 0);
  Result<json> row = launcher.waitForRow(kHttpdDaemon, [&](const json& r) {
    return r["state"] == "running" && r["restarts"] == 1 && pidOf(r) != old_pid;
  });
  ASSERT_TRUE(row.ok()) << row.status().toString();
  EXPECT_NE((*row)["last_error"].get<std::string>().find("killed by signal 11"), std::string::npos)
      << (*row)["last_error"];
}

TEST(SeamSplit, AnAbortFaultDeliversSigabrtAndTheDaemonIsRestarted) {
  LauncherUnderTest launcher;
  ASSERT_TRUE(launcher.start().ok()) << launcher.log();
  const pid_t old_pid = pidOf(launcher.status()[kAuthdDaemon]);

  ASSERT_EQ(launcher.seamctl({"fault", kAuthdDaemon, "abort"}).exit_code, 0);
  Result<json> row = launcher.waitForRow(kAuthdDaemon, [&](const json& r) {
    return r["state"] == "running" && r["restarts"] == 1 && pidOf(r) != old_pid;
  });
  ASSERT_TRUE(row.ok()) << row.status().toString();
  EXPECT_NE((*row)["last_error"].get<std::string>().find("killed by signal 6"), std::string::npos)
      << (*row)["last_error"];
}

TEST(SeamSplit, AThrowFaultHasNoMeaningForADaemonAndIsRefused) {
  LauncherUnderTest launcher;
  ASSERT_TRUE(launcher.start().ok()) << launcher.log();
  const pid_t pid = pidOf(launcher.status()[kFsdDaemon]);

  LauncherUnderTest::Ctl ctl = launcher.seamctl({"fault", kFsdDaemon, "throw"});
  EXPECT_NE(ctl.exit_code, 0);
  EXPECT_NE(ctl.output.find("crash, hang or abort"), std::string::npos) << ctl.output;
  EXPECT_EQ(pidOf(launcher.status()[kFsdDaemon]), pid);
}

TEST(SeamSplit, FaultsAreRefusedWhenTheConfigDisablesThem) {
  LauncherUnderTest launcher({.faults = false});
  ASSERT_TRUE(launcher.start().ok()) << launcher.log();
  const pid_t pid = pidOf(launcher.status()[kFsdDaemon]);

  for (const char* kind : {"crash", "hang", "abort"}) {
    LauncherUnderTest::Ctl ctl = launcher.seamctl({"fault", kFsdDaemon, kind});
    EXPECT_NE(ctl.exit_code, 0) << kind;
    EXPECT_NE(ctl.output.find("disabled"), std::string::npos) << ctl.output;
  }
  auto row = launcher.status()[kFsdDaemon];
  EXPECT_EQ(pidOf(row), pid);
  EXPECT_EQ(row["restarts"], 0);
  EXPECT_FALSE(processGone(pid));
}

TEST(SeamSplit, ExceedingTheRestartIntensityExitsNonZeroAndLeavesNoChild) {
  LauncherUnderTest launcher({.intensity_max_restarts = 2});
  launcher.script(kSyncdDaemon, "exit-after-ready");
  ASSERT_TRUE(launcher.start().ok()) << launcher.log();

  Result<ExitStatus> exit = launcher.waitExit(60s);
  ASSERT_TRUE(exit.ok()) << exit.status().toString();
  EXPECT_EQ(exit->toString(), "exited with code 70") << launcher.log();
  EXPECT_TRUE(waitAllGone(launcher.fakePids()));
  EXPECT_FALSE(fs::exists(launcher.runtimeDir() + "/fsd.sock"));
  EXPECT_FALSE(fs::exists(launcher.runtimeDir() + "/notify.sock"));
  EXPECT_FALSE(fs::exists(launcher.runtimeDir() + "/control.sock"));
}

TEST(SeamSplit, KilledWithSigkillItLeavesNoOrphanDaemon) {
  LauncherUnderTest launcher;
  ASSERT_TRUE(launcher.start().ok()) << launcher.log();
  const std::vector<pid_t> pids = daemonPids(launcher.status());
  ASSERT_EQ(pids.size(), kStartOrder.size());

  ASSERT_TRUE(launcher.signal(SIGKILL).ok());
  ASSERT_TRUE(launcher.waitExit().ok());
  EXPECT_TRUE(waitAllGone(pids));
}

TEST(SeamSplit, SigtermStopsEveryDaemonInReverseOrderAndRemovesTheirSockets) {
  LauncherUnderTest launcher;
  ASSERT_TRUE(launcher.start().ok()) << launcher.log();
  const std::vector<pid_t> pids = daemonPids(launcher.status());
  ASSERT_TRUE(fs::exists(launcher.runtimeDir() + "/fsd.sock"));
  ASSERT_TRUE(fs::exists(launcher.runtimeDir() + "/authd.sock"));

  ASSERT_TRUE(launcher.signal(SIGTERM).ok());
  EXPECT_TRUE(launcher.waitFor("STOPPING", "1").ok());
  Result<ExitStatus> exit = launcher.waitExit();
  ASSERT_TRUE(exit.ok());
  EXPECT_TRUE(exit->success()) << exit->toString() << launcher.log();

  std::vector<std::string> reverse(kStartOrder.rbegin(), kStartOrder.rend());
  EXPECT_EQ(launcher.eventNames("stop"), reverse);
  EXPECT_TRUE(waitAllGone(pids));
  for (const char* socket : {"fsd.sock", "authd.sock", "control.sock", "notify.sock"}) {
    EXPECT_FALSE(fs::exists(launcher.runtimeDir() + "/" + socket)) << socket;
  }
}

TEST(SeamSplit, ADaemonThatIgnoresSigtermIsKilledAtTheStopTimeout) {
  LauncherUnderTest launcher;
  launcher.script(kFusedDaemon, "ignore-term");
  ASSERT_TRUE(launcher.start().ok()) << launcher.log();
  const std::vector<pid_t> pids = daemonPids(launcher.status());

  ASSERT_TRUE(launcher.signal(SIGTERM).ok());
  Result<ExitStatus> exit = launcher.waitExit();
  ASSERT_TRUE(exit.ok());
  EXPECT_TRUE(exit->success()) << exit->toString() << launcher.log();
  EXPECT_TRUE(waitAllGone(pids));
  EXPECT_NE(launcher.log().find("ignored SIGTERM"), std::string::npos) << launcher.log();
}

TEST(SeamSplit, SeamctlStatusShowsEveryDaemonAsTextAndAsJson) {
  LauncherUnderTest launcher;
  ASSERT_TRUE(launcher.start().ok()) << launcher.log();

  LauncherUnderTest::Ctl text = launcher.seamctl({"status"});
  ASSERT_EQ(text.exit_code, 0) << text.output;
  for (const std::string& name : kStartOrder) {
    EXPECT_NE(text.output.find(name + " "), std::string::npos) << text.output;
  }
  EXPECT_NE(text.output.find("daemon"), std::string::npos) << text.output;

  LauncherUnderTest::Ctl raw = launcher.seamctl({"status", "--json"});
  ASSERT_EQ(raw.exit_code, 0) << raw.output;
  json doc = json::parse(raw.output);
  ASSERT_EQ(doc["services"].size(), kStartOrder.size() + 1);  // five daemons and the control socket
  for (const json& row : doc["services"]) {
    for (const char* key : {"name", "kind", "state", "pid", "restarts", "last_error",
                            "heartbeat_age_ms", "abandoned_threads"}) {
      EXPECT_TRUE(row.contains(key)) << key << " in " << row.dump();
    }
  }
  // A daemon's heartbeat is its WATCHDOG=1 pings: fresh while it runs.
  Result<json> fsd = launcher.waitForRow(kFsdDaemon, [](const json& r) {
    return r["heartbeat_age_ms"].is_number() && r["heartbeat_age_ms"].get<double>() < 800;
  });
  EXPECT_TRUE(fsd.ok()) << fsd.status().toString();

  LauncherUnderTest::Ctl stats = launcher.seamctl({"stats"});
  ASSERT_EQ(stats.exit_code, 0);
  EXPECT_NE(stats.output.find("seams_daemon_pid{daemon=\"fsd\"}"), std::string::npos)
      << stats.output;
}

TEST(SeamSplit, SeamctlRestartReplacesTheDaemonAndSeamctlStopEndsTheLauncher) {
  LauncherUnderTest launcher;
  ASSERT_TRUE(launcher.start().ok()) << launcher.log();
  const pid_t old_pid = pidOf(launcher.status()[kFusedDaemon]);

  ASSERT_EQ(launcher.seamctl({"restart", kFusedDaemon}).exit_code, 0);
  Result<json> row = launcher.waitForRow(kFusedDaemon, [&](const json& r) {
    return r["state"] == "running" && r["restarts"] == 1 && pidOf(r) != old_pid;
  });
  ASSERT_TRUE(row.ok()) << row.status().toString();
  EXPECT_EQ((*row)["last_error"], "");  // a requested restart is not an error

  const std::vector<pid_t> pids = daemonPids(launcher.status());
  // What the launcher promises is the stop itself. seamctl's own answer can be lost when the
  // launcher is gone within milliseconds of the request (fake daemons stop at once): the control
  // server ends its event loop without flushing a queued reply. Known, and core/control's to fix;
  // any other failure of seamctl still fails here.
  LauncherUnderTest::Ctl stop = launcher.seamctl({"stop"});
  if (stop.exit_code != 0) {
    EXPECT_NE(stop.output.find("closed the connection"), std::string::npos) << stop.output;
  }
  Result<ExitStatus> exit = launcher.waitExit();
  ASSERT_TRUE(exit.ok());
  EXPECT_TRUE(exit->success()) << exit->toString();
  EXPECT_TRUE(waitAllGone(pids));
}

TEST(SeamSplit, AMissingDaemonBinaryFailsTheStartNamingIt) {
  LauncherUnderTest launcher;
  fs::remove(launcher.dir() + "/bin/seam-syncd");
  ASSERT_TRUE(launcher.spawn().ok());

  Result<ExitStatus> exit = launcher.waitExit(60s);
  ASSERT_TRUE(exit.ok());
  EXPECT_EQ(exit->code, 1);
  EXPECT_NE(launcher.log().find("seam-syncd"), std::string::npos) << launcher.log();
  EXPECT_TRUE(waitAllGone(launcher.fakePids()));
}

TEST(SeamSplit, TheDeadMountOfACrashedFusedIsDetachedBeforeItStartsAgain) {
  LauncherUnderTest launcher;
  launcher.script(kFusedDaemon, "mount");
  ASSERT_TRUE(launcher.start().ok()) << launcher.log();
  ASSERT_TRUE(isFuseMounted(launcher.mountpoint()));
  const pid_t old_pid = pidOf(launcher.status()[kFusedDaemon]);

  launcher.script(kFusedDaemon,
                  "");  // its next life mounts nothing: any mount left is the dead one
  ASSERT_EQ(::kill(old_pid, SIGKILL), 0);
  Result<json> row = launcher.waitForRow(kFusedDaemon, [&](const json& r) {
    return r["state"] == "running" && r["restarts"] == 1 && pidOf(r) != old_pid;
  });
  ASSERT_TRUE(row.ok()) << row.status().toString();
  EXPECT_FALSE(isFuseMounted(launcher.mountpoint()));
  EXPECT_NE(launcher.log().find("detaching the mount left at"), std::string::npos)
      << launcher.log();
}

TEST(SeamSplit, StoppingLeavesNoMountEvenWhenFusedExitsWithoutUnmounting) {
  LauncherUnderTest launcher;
  launcher.script(kFusedDaemon, "mount");
  ASSERT_TRUE(launcher.start().ok()) << launcher.log();
  ASSERT_TRUE(isFuseMounted(launcher.mountpoint()));

  ASSERT_TRUE(launcher.signal(SIGTERM).ok());
  Result<ExitStatus> exit = launcher.waitExit();
  ASSERT_TRUE(exit.ok());
  EXPECT_TRUE(exit->success()) << launcher.log();
  EXPECT_FALSE(isFuseMounted(launcher.mountpoint()));
}

TEST(SeamSplit, AfterItWasKilledTheNextLauncherClearsTheDeadMountAndStaleSockets) {
  LauncherUnderTest launcher;
  launcher.script(kFusedDaemon, "mount");
  ASSERT_TRUE(launcher.start().ok()) << launcher.log();
  const std::vector<pid_t> pids = daemonPids(launcher.status());
  ASSERT_TRUE(launcher.signal(SIGKILL).ok());
  ASSERT_TRUE(launcher.waitExit().ok());
  ASSERT_TRUE(waitAllGone(pids));
  // Nobody cleaned up: the mount is dead and the sockets are stale.
  ASSERT_TRUE(isFuseMounted(launcher.mountpoint()));
  ASSERT_TRUE(fs::exists(launcher.runtimeDir() + "/authd.sock"));

  launcher.script(kFusedDaemon, "");
  ASSERT_TRUE(launcher.start().ok()) << launcher.log();
  EXPECT_FALSE(isFuseMounted(launcher.mountpoint()));
  EXPECT_EQ(launcher.status()[kFusedDaemon]["state"], "running");
}

}  // namespace
}  // namespace seams::split::testing
