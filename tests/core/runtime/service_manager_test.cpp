#include "core/runtime/service_manager.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "tests/core/runtime/test_support.h"

namespace seams {
namespace {

using namespace seams::testing;
using namespace std::chrono_literals;

class ServiceManagerTest : public ::testing::Test {
 protected:
  ServiceManager& makeManager(WatchdogConfig config = testWatchdogConfig(),
                              bool parallel_start = false) {
    ManagerOptions options;
    options.watchdog = config;
    options.parallel_start = parallel_start;
    options.on_event = events_.hook();
    options.exit_process = [this](int code) { exit_codes_.push_back(code); };
    manager_ = std::make_unique<ServiceManager>(env_, std::move(options));
    return *manager_;
  }

  // A service that runs until it is stopped, or until the test makes it return on its own:
  // trigger.set(1) returns okStatus(), trigger.set(2) an error.
  struct ExitTrigger {
    std::mutex mu;
    std::condition_variable cv;
    int mode = 0;
    bool stop = false;
    void set(int m) {
      {
        std::lock_guard<std::mutex> lock(mu);
        mode = m;
      }
      cv.notify_all();
    }
  };
  std::unique_ptr<FnService> exitableService(const std::string& name, ExitTrigger& t) {
    auto svc =
        std::make_unique<FnService>(name, std::vector<std::string>{}, [&, name](RunContext& ctx) {
          probe_.record("start " + name);
          ctx.ready();
          std::unique_lock<std::mutex> lock(t.mu);
          t.cv.wait(lock, [&] { return t.mode != 0 || t.stop; });
          if (t.stop) return okStatus();
          int mode = std::exchange(t.mode, 0);
          return mode == 1 ? okStatus() : Status(Errc::io_error, "disk on fire");
        });
    svc->on_wake = [&t] {
      {
        std::lock_guard<std::mutex> lock(t.mu);
        t.stop = true;
      }
      t.cv.notify_all();
    };
    return svc;
  }

  SimulatedEnv env_;
  Probe probe_;
  EventLog events_;
  std::vector<int> exit_codes_;  // only the thread running checkOnce() touches it
  std::unique_ptr<ServiceManager> manager_;
};

TEST_F(ServiceManagerTest, StartsADiamondInDependencyOrderAndStopsItInReverse) {
  auto& m = makeManager();
  // d needs b and c; b and c need a. Registered in an unhelpful order on purpose.
  ASSERT_TRUE(m.add(idleService(probe_, "d", {"b", "c"})).ok());
  ASSERT_TRUE(m.add(idleService(probe_, "c", {"a"})).ok());
  ASSERT_TRUE(m.add(idleService(probe_, "b", {"a"})).ok());
  ASSERT_TRUE(m.add(idleService(probe_, "a")).ok());

  ASSERT_TRUE(m.start().ok());
  EXPECT_EQ(m.startOrder(), (std::vector<std::string>{"a", "b", "c", "d"}));
  EXPECT_EQ(probe_.lines(), (std::vector<std::string>{"start a", "start b", "start c", "start d"}));
  EXPECT_TRUE(m.healthy());

  probe_.clear();
  ASSERT_TRUE(m.shutdown().ok());
  EXPECT_EQ(probe_.lines(), (std::vector<std::string>{"stop d", "stop c", "stop b", "stop a"}));
  for (const auto& s : m.status()) EXPECT_EQ(s.state, ServiceState::stopped) << s.name;
  EXPECT_TRUE(m.shutdown().ok()) << "shutdown is safe twice";
}

// Proof of overlap without a clock: "a" becomes ready only once "b" has begun to run. A start
// that waits for "a" before running "b" would see "a" give up waiting (after 20 s) first.
TEST_F(ServiceManagerTest, ParallelStartRunsIndependentServicesTogetherAndDependentsAfterThem) {
  auto& m = makeManager(testWatchdogConfig(), /*parallel_start=*/true);
  std::atomic<bool> a_saw_b{false};
  ASSERT_TRUE(
      m.add(std::make_unique<FnService>("a", std::vector<std::string>{}, [&](RunContext& ctx) {
         probe_.record("start a");
         a_saw_b = probe_.awaitLine("start b");
         ctx.ready();
         ctx.waitForStop(1h);
         return okStatus();
       })).ok());
  ASSERT_TRUE(m.add(idleService(probe_, "b")).ok());
  ASSERT_TRUE(m.add(idleService(probe_, "c", {"a", "b"})).ok());

  ASSERT_TRUE(m.start().ok());
  EXPECT_TRUE(a_saw_b) << "b ran while a was still starting";
  const std::vector<std::string> lines = probe_.lines();
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines.back(), "start c") << "a dependent starts after the whole wave is ready";
  EXPECT_TRUE(m.healthy());
  probe_.clear();
  ASSERT_TRUE(m.shutdown().ok());
  EXPECT_EQ(probe_.lines().front(), "stop c") << "stop order is still the reverse of start";
}

TEST_F(ServiceManagerTest, AParallelStartFailureWaitsForItsWaveAndStopsEverythingStarted) {
  auto& m = makeManager(testWatchdogConfig(), /*parallel_start=*/true);
  ASSERT_TRUE(m.add(idleService(probe_, "a")).ok());
  ASSERT_TRUE(m.add(std::make_unique<FnService>("b", std::vector<std::string>{}, [&](RunContext&) {
                 probe_.record("start b");
                 return Status(Errc::io_error, "no disk");
               })).ok());
  ASSERT_TRUE(m.add(idleService(probe_, "c")).ok());
  ASSERT_TRUE(m.add(idleService(probe_, "d", {"a", "b", "c"})).ok());

  Status st = m.start();
  EXPECT_EQ(st.code(), Errc::unavailable);
  EXPECT_EQ(st.message(),
            "service 'b' failed to start: exited during start with error: io_error: no disk "
            "(stopped again: c, a)");
  EXPECT_EQ(stateOf(m, "a"), ServiceState::stopped);
  EXPECT_EQ(stateOf(m, "b"), ServiceState::failed);
  EXPECT_EQ(stateOf(m, "c"), ServiceState::stopped);
  EXPECT_EQ(stateOf(m, "d"), ServiceState::stopped) << "never started";
  for (const std::string& line : probe_.lines()) EXPECT_NE(line, "start d");
}

TEST_F(ServiceManagerTest, RefusesADependencyCycleAndNamesIt) {
  auto& m = makeManager();
  ASSERT_TRUE(m.add(idleService(probe_, "a", {"b"})).ok());
  ASSERT_TRUE(m.add(idleService(probe_, "b", {"c"})).ok());
  ASSERT_TRUE(m.add(idleService(probe_, "c", {"a"})).ok());
  Status st = m.start();
  EXPECT_EQ(st.code(), Errc::invalid_argument);
  EXPECT_EQ(st.message(), "dependency cycle: a -> b -> c -> a");
  EXPECT_TRUE(probe_.lines().empty()) << "nothing starts when the graph is wrong";
}

TEST_F(ServiceManagerTest, RefusesAMissingDependencyAndNamesIt) {
  auto& m = makeManager();
  ASSERT_TRUE(m.add(idleService(probe_, "http", {"vault"})).ok());
  Status st = m.start();
  EXPECT_EQ(st.code(), Errc::invalid_argument);
  EXPECT_EQ(st.message(), "service 'http' depends on 'vault', which is not registered");
}

TEST_F(ServiceManagerTest, RefusesTheSameNameTwice) {
  auto& m = makeManager();
  ASSERT_TRUE(m.add(idleService(probe_, "a")).ok());
  EXPECT_EQ(m.add(idleService(probe_, "a")).code(), Errc::already_exists);
}

TEST_F(ServiceManagerTest, AStartFailureStopsWhatStartedInReverseAndSaysWhichFailedAndWhy) {
  auto& m = makeManager();
  ASSERT_TRUE(m.add(idleService(probe_, "a")).ok());
  ASSERT_TRUE(m.add(idleService(probe_, "b", {"a"})).ok());
  ASSERT_TRUE(
      m.add(std::make_unique<FnService>("c", std::vector<std::string>{"b"}, [&](RunContext&) {
         probe_.record("start c");
         return Status(Errc::io_error, "no disk");
       })).ok());
  ASSERT_TRUE(m.add(idleService(probe_, "d", {"c"})).ok());

  Status st = m.start();
  EXPECT_EQ(st.code(), Errc::unavailable);
  EXPECT_EQ(st.message(),
            "service 'c' failed to start: exited during start with error: io_error: no disk "
            "(stopped again: b, a)");
  EXPECT_EQ(probe_.lines(),
            (std::vector<std::string>{"start a", "start b", "start c", "stop b", "stop a"}));
  EXPECT_EQ(stateOf(m, "c"), ServiceState::failed);
  EXPECT_EQ(stateOf(m, "d"), ServiceState::stopped) << "never started";
}

TEST_F(ServiceManagerTest, AServiceThatIsNeverReadyFailsAtTheStartTimeout) {
  auto& m = makeManager();
  ASSERT_TRUE(
      m.add(std::make_unique<FnService>("slow", std::vector<std::string>{}, [&](RunContext& ctx) {
         probe_.record("running slow");
         while (!ctx.waitForStop(1h)) {
         }
         return okStatus();
       })).ok());
  std::thread mover([&] {
    probe_.awaitLine("running slow");
    env_.advance(1000ms);  // the start timeout
  });
  Status st = m.start();
  mover.join();
  EXPECT_EQ(st.code(), Errc::timeout);
  EXPECT_EQ(st.message(), "service 'slow' failed to start: not ready within 1000 ms");
}

TEST_F(ServiceManagerTest, ACrashIsRestartedAfterAnExponentialBackoffWithACap) {
  auto& m = makeManager();
  ASSERT_TRUE(m.add(idleService(probe_, "svc")).ok());
  ASSERT_TRUE(m.start().ok());

  const std::vector<Duration> expected = {100ms, 200ms, 400ms, 800ms, 1000ms, 1000ms};
  for (std::size_t i = 0; i < expected.size(); ++i) {
    ASSERT_TRUE(m.injectFault("svc", FaultKind::crash).ok());
    ASSERT_TRUE(settle(m, [&] { return stateOf(m, "svc") == ServiceState::backoff; }));
    auto s = statusOf(m, "svc");
    EXPECT_EQ(s->restart_delay, expected[i]);
    EXPECT_EQ(s->last_error, "thread ended (injected crash)");

    env_.advance(expected[i] - 1ms);
    m.checkOnce();
    EXPECT_EQ(stateOf(m, "svc"), ServiceState::backoff) << "not before the delay";
    env_.advance(1ms);
    m.checkOnce();
    EXPECT_EQ(stateOf(m, "svc"), ServiceState::running);
    EXPECT_EQ(statusOf(m, "svc")->restarts, i + 1);
  }
  EXPECT_EQ(events_.restartDelays("svc"), expected);
  EXPECT_EQ(probe_.count("start svc"), 7);
}

TEST_F(ServiceManagerTest, BackoffResetsAfterTheServiceStayedUp) {
  auto& m = makeManager();
  ASSERT_TRUE(m.add(idleService(probe_, "svc")).ok());
  ASSERT_TRUE(m.start().ok());
  for (Duration d : {100ms, 200ms}) {
    ASSERT_TRUE(m.injectFault("svc", FaultKind::crash).ok());
    ASSERT_TRUE(settle(m, [&] { return stateOf(m, "svc") == ServiceState::backoff; }));
    env_.advance(d);
    m.checkOnce();
    ASSERT_EQ(stateOf(m, "svc"), ServiceState::running);
  }
  env_.advance(30s);  // backoff_reset_after_ms
  ASSERT_TRUE(m.injectFault("svc", FaultKind::crash).ok());
  ASSERT_TRUE(settle(m, [&] { return stateOf(m, "svc") == ServiceState::backoff; }));
  EXPECT_EQ(events_.restartDelays("svc"), (std::vector<Duration>{100ms, 200ms, 100ms}));
}

TEST_F(ServiceManagerTest, JitterSpreadsTheDelayByTheConfiguredFraction) {
  auto config = testWatchdogConfig();
  config.backoff_jitter = 0.2;
  auto& m = makeManager(config);
  env_.setJitter(0.5);  // +0.5 of the +/-20% band: +10%
  ASSERT_TRUE(m.add(idleService(probe_, "svc")).ok());
  ASSERT_TRUE(m.start().ok());
  ASSERT_TRUE(m.injectFault("svc", FaultKind::throw_exception).ok());
  ASSERT_TRUE(settle(m, [&] { return stateOf(m, "svc") == ServiceState::backoff; }));
  EXPECT_EQ(events_.restartDelays("svc"), (std::vector<Duration>{110ms}));
  EXPECT_EQ(statusOf(m, "svc")->last_error, "threw: injected fault");
}

TEST_F(ServiceManagerTest, PermanentRestartsEvenAfterACleanExit) {
  ExitTrigger trigger;
  auto& m = makeManager();
  ASSERT_TRUE(m.add(exitableService("svc", trigger), RestartPolicy::permanent).ok());
  ASSERT_TRUE(m.start().ok());
  trigger.set(1);
  ASSERT_TRUE(settle(m, [&] { return stateOf(m, "svc") == ServiceState::backoff; }));
  EXPECT_EQ(statusOf(m, "svc")->last_exit, "exited");
  EXPECT_EQ(statusOf(m, "svc")->last_error, "") << "a clean exit is not an error";
}

TEST_F(ServiceManagerTest, TransientRestartsOnlyAfterAnAbnormalEnd) {
  ExitTrigger clean, broken;
  auto& m = makeManager();
  ASSERT_TRUE(m.add(exitableService("clean", clean), RestartPolicy::transient).ok());
  ASSERT_TRUE(m.add(exitableService("broken", broken), RestartPolicy::transient).ok());
  ASSERT_TRUE(m.start().ok());
  clean.set(1);
  broken.set(2);
  ASSERT_TRUE(settle(m, [&] {
    return stateOf(m, "clean") == ServiceState::stopped &&
           stateOf(m, "broken") == ServiceState::backoff;
  }));
  EXPECT_EQ(statusOf(m, "broken")->last_error, "exited with error: io_error: disk on fire");
  EXPECT_TRUE(events_.restartDelays("clean").empty());
}

TEST_F(ServiceManagerTest, TemporaryIsNeverRestarted) {
  auto& m = makeManager();
  ASSERT_TRUE(m.add(idleService(probe_, "once"), RestartPolicy::temporary).ok());
  ASSERT_TRUE(m.start().ok());
  ASSERT_TRUE(m.injectFault("once", FaultKind::crash).ok());
  ASSERT_TRUE(settle(m, [&] { return stateOf(m, "once") == ServiceState::failed; }));
  env_.advance(10s);
  m.checkOnce();
  EXPECT_EQ(stateOf(m, "once"), ServiceState::failed);
  EXPECT_EQ(probe_.count("start once"), 1);
  EXPECT_TRUE(m.healthy()) << "a temporary service left down on purpose is not a health problem";
}

TEST_F(ServiceManagerTest, RestForOneStopsDependentsInReverseAndRestartsThemInOrder) {
  auto config = testWatchdogConfig();
  config.strategy = RestartStrategy::rest_for_one;
  auto& m = makeManager(config);
  ASSERT_TRUE(m.add(idleService(probe_, "store")).ok());
  ASSERT_TRUE(m.add(idleService(probe_, "cache", {"store"})).ok());
  ASSERT_TRUE(m.add(idleService(probe_, "http", {"cache"})).ok());
  ASSERT_TRUE(m.add(idleService(probe_, "other")).ok());
  ASSERT_TRUE(m.start().ok());
  probe_.clear();

  ASSERT_TRUE(m.injectFault("store", FaultKind::crash).ok());
  ASSERT_TRUE(settle(m, [&] { return stateOf(m, "store") == ServiceState::backoff; }));
  EXPECT_EQ(probe_.lines(), (std::vector<std::string>{"stop http", "stop cache"}));
  EXPECT_TRUE(statusOf(m, "http")->waiting_for_dependency);
  EXPECT_EQ(stateOf(m, "other"), ServiceState::running) << "unrelated services keep running";

  env_.advance(100ms);
  m.checkOnce();
  EXPECT_EQ(probe_.lines(), (std::vector<std::string>{"stop http", "stop cache", "start store",
                                                      "start cache", "start http"}));
  for (const auto& s : m.status()) EXPECT_EQ(s.state, ServiceState::running) << s.name;
  EXPECT_EQ(statusOf(m, "http")->restarts, 1u);
  EXPECT_EQ(statusOf(m, "other")->restarts, 0u);
}

TEST_F(ServiceManagerTest, OneForOneLeavesDependentsRunning) {
  auto& m = makeManager();
  ASSERT_TRUE(m.add(idleService(probe_, "store")).ok());
  ASSERT_TRUE(m.add(idleService(probe_, "http", {"store"})).ok());
  ASSERT_TRUE(m.start().ok());
  probe_.clear();
  ASSERT_TRUE(m.injectFault("store", FaultKind::crash).ok());
  ASSERT_TRUE(settle(m, [&] { return stateOf(m, "store") == ServiceState::backoff; }));
  env_.advance(100ms);
  m.checkOnce();
  EXPECT_EQ(probe_.lines(), (std::vector<std::string>{"start store"}));
  EXPECT_EQ(stateOf(m, "http"), ServiceState::running);
}

TEST_F(ServiceManagerTest, ExceedingTheIntensityStopsEverythingInOrderAndExitsNonZero) {
  auto config = testWatchdogConfig();
  config.intensity_max_restarts = 2;
  config.intensity_period_s = 30;
  auto& m = makeManager(config);
  ASSERT_TRUE(m.add(idleService(probe_, "base")).ok());
  ASSERT_TRUE(m.add(idleService(probe_, "flaky", {"base"})).ok());
  ASSERT_TRUE(m.add(idleService(probe_, "top", {"flaky"})).ok());
  ASSERT_TRUE(m.start().ok());

  for (int i = 0; i < 2; ++i) {
    ASSERT_TRUE(m.injectFault("flaky", FaultKind::crash).ok());
    ASSERT_TRUE(settle(m, [&] { return stateOf(m, "flaky") == ServiceState::backoff; }));
    env_.advance(1s);
    m.checkOnce();
    ASSERT_EQ(stateOf(m, "flaky"), ServiceState::running);
  }
  EXPECT_TRUE(exit_codes_.empty()) << "two restarts in 30 s are allowed";
  probe_.clear();

  ASSERT_TRUE(m.injectFault("flaky", FaultKind::crash).ok());
  ASSERT_TRUE(settle(m, [&] { return m.escalated(); }));
  EXPECT_EQ(exit_codes_, (std::vector<int>{kEscalationExitCode}));
  EXPECT_EQ(probe_.lines(), (std::vector<std::string>{"stop top", "stop base"}));
  for (const auto& s : m.status()) EXPECT_NE(s.state, ServiceState::running) << s.name;
  auto escalations = events_.of(RuntimeEventKind::escalated);
  ASSERT_EQ(escalations.size(), 1u);
  EXPECT_EQ(escalations[0].detail,
            "restart intensity exceeded: more than 2 restarts within 30 s (last: 'flaky' thread "
            "ended (injected crash))");
  EXPECT_EQ(m.waitForStopRequest(), kEscalationExitCode);
}

TEST_F(ServiceManagerTest, RestartsOutsideTheIntensityPeriodDoNotEscalate) {
  auto config = testWatchdogConfig();
  config.intensity_max_restarts = 1;
  config.intensity_period_s = 5;
  auto& m = makeManager(config);
  ASSERT_TRUE(m.add(idleService(probe_, "svc")).ok());
  ASSERT_TRUE(m.start().ok());
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(m.injectFault("svc", FaultKind::crash).ok());
    ASSERT_TRUE(settle(m, [&] { return stateOf(m, "svc") == ServiceState::backoff; }));
    env_.advance(6s);
    m.checkOnce();
    ASSERT_EQ(stateOf(m, "svc"), ServiceState::running);
  }
  EXPECT_FALSE(m.escalated());
}

TEST_F(ServiceManagerTest, FollowingAReplacedDependencyIsNoFailureAndNeverEscalates) {
  auto config = testWatchdogConfig();
  config.intensity_max_restarts = 2;
  auto& m = makeManager(config);
  // Ends through followReplaced() each time the test says so, as a frontend does when the vault
  // it holds is replaced by the storage service's restart.
  ExitTrigger t;
  auto svc = std::make_unique<FnService>("follower", std::vector<std::string>{},
                                         [&](RunContext& ctx) -> Status {
                                           probe_.record("start follower");
                                           ctx.ready();
                                           std::unique_lock<std::mutex> lock(t.mu);
                                           t.cv.wait(lock, [&] { return t.mode != 0 || t.stop; });
                                           if (t.stop) return okStatus();
                                           t.mode = 0;
                                           return ctx.followReplaced("the vault");
                                         });
  svc->on_wake = [&t] {
    {
      std::lock_guard<std::mutex> lock(t.mu);
      t.stop = true;
    }
    t.cv.notify_all();
  };
  ASSERT_TRUE(m.add(std::move(svc)).ok());
  ASSERT_TRUE(m.start().ok());
  for (int i = 0; i < 5; ++i) {  // more than the intensity allows for failures
    t.set(3);
    // Restarted with no backoff: the simulated clock does not move at all.
    ASSERT_TRUE(settle(m, [&] {
      auto st = statusOf(m, "follower");
      return st->state == ServiceState::running && st->restarts == static_cast<unsigned>(i + 1);
    }));
  }
  EXPECT_FALSE(m.escalated());
  EXPECT_TRUE(exit_codes_.empty());
  EXPECT_EQ(statusOf(m, "follower")->last_error, "") << "following a replacement is no error";
  EXPECT_EQ(probe_.lines().size(), 6u);
  EXPECT_TRUE(m.shutdown().ok());  // before `t`, which the running follower waits on, goes away
}

class HangTest : public ServiceManagerTest {
 protected:
  ServiceManager& makeHangManager(HangAction hang_action) {
    auto config = testWatchdogConfig();
    config.heartbeat_deadline_ms = 200;
    config.kill_deadline_ms = 1000;
    config.hang_action = hang_action;
    auto& m = makeManager(config);
    // Touches its heartbeat only when it runs a loop iteration; the clock moves only in the test.
    EXPECT_TRUE(m.add(idleService(probe_, "worker")).ok());
    EXPECT_TRUE(m.start().ok());
    EXPECT_TRUE(m.injectFault("worker", FaultKind::hang).ok());
    // Wait until the worker took the fault: from then on it never touches its heartbeat.
    EXPECT_TRUE(settle(m, [&] { return !statusOf(m, "worker")->fault_pending; }));
    return m;
  }
};

TEST_F(HangTest, AMissIsReportedOnceAndAHangIsHandledAtTheKillDeadline) {
  auto& m = makeHangManager(HangAction::restart);
  env_.advance(199ms);
  m.checkOnce();
  EXPECT_TRUE(events_.of(RuntimeEventKind::heartbeat_missed).empty());
  EXPECT_TRUE(m.healthy());

  env_.advance(1ms);
  m.checkOnce();
  m.checkOnce();
  env_.advance(500ms);
  m.checkOnce();
  EXPECT_EQ(events_.of(RuntimeEventKind::heartbeat_missed).size(), 1u) << "once per stall";
  EXPECT_FALSE(m.healthy());
  EXPECT_EQ(stateOf(m, "worker"), ServiceState::running);

  env_.advance(299ms);  // 999 ms without a heartbeat
  m.checkOnce();
  EXPECT_EQ(stateOf(m, "worker"), ServiceState::running);
  env_.advance(1ms);
  m.checkOnce();
  EXPECT_EQ(stateOf(m, "worker"), ServiceState::backoff);
  EXPECT_EQ(events_.of(RuntimeEventKind::hung).size(), 1u);
}

TEST_F(HangTest, RestartActionAbandonsTheHungThreadAndRunsOnAFreshOne) {
  auto& m = makeHangManager(HangAction::restart);
  const int threads_before = env_.threadsSpawned();
  env_.advance(1000ms);
  m.checkOnce();
  ASSERT_EQ(stateOf(m, "worker"), ServiceState::backoff);
  EXPECT_EQ(m.abandonedThreads(), 1u);
  EXPECT_EQ(statusOf(m, "worker")->last_error, "hung: no heartbeat for 1000 ms");

  env_.advance(100ms);
  m.checkOnce();
  EXPECT_EQ(stateOf(m, "worker"), ServiceState::running);
  EXPECT_EQ(env_.threadsSpawned(), threads_before + 1) << "a fresh thread for the new run";
  EXPECT_EQ(statusOf(m, "worker")->abandoned_threads, 1u);
  EXPECT_TRUE(exit_codes_.empty());
  EXPECT_TRUE(m.shutdown().ok()) << "the abandoned thread does not hold up the stop";
}

TEST_F(HangTest, EscalateActionStopsEverythingAndExitsNonZero) {
  auto& m = makeHangManager(HangAction::escalate);
  env_.advance(1000ms);
  m.checkOnce();
  EXPECT_TRUE(m.escalated());
  EXPECT_EQ(exit_codes_, (std::vector<int>{kEscalationExitCode}));
  EXPECT_EQ(stateOf(m, "worker"), ServiceState::failed);
}

TEST_F(ServiceManagerTest, AStopThatTimesOutAbandonsTheThreadAndTheRestStillStopInOrder) {
  auto& m = makeManager();
  // Shared, not on this stack: the abandoned run wakes after the release below and still has to
  // take the mutex when the test body may already have ended (a stack mutex here aborted in glibc
  // one run in many).
  struct Gate {
    std::mutex mu;
    std::condition_variable cv;
    bool released = false;
  };
  auto gate = std::make_shared<Gate>();
  ASSERT_TRUE(m.add(idleService(probe_, "base")).ok());
  auto stubborn = std::make_unique<FnService>("stubborn", std::vector<std::string>{"base"},
                                              [gate](RunContext& ctx) {
                                                ctx.ready();
                                                std::unique_lock<std::mutex> lock(gate->mu);
                                                gate->cv.wait(lock, [&] { return gate->released; });
                                                return okStatus();
                                              });
  std::atomic<bool> asked{false};
  stubborn->on_wake = [&] {
    if (!asked.exchange(true)) probe_.record("asked stubborn to stop");
  };
  ASSERT_TRUE(m.add(std::move(stubborn)).ok());
  ASSERT_TRUE(m.add(idleService(probe_, "top", {"stubborn"})).ok());
  ASSERT_TRUE(m.start().ok());
  probe_.clear();

  std::thread mover([&] {
    probe_.awaitLine("asked stubborn to stop");
    env_.advance(1000ms);  // the stop timeout
  });
  Status st = m.shutdown();
  mover.join();
  EXPECT_EQ(st.code(), Errc::timeout);
  EXPECT_EQ(st.message(), "did not stop in time (threads abandoned): stubborn");
  EXPECT_EQ(probe_.lines(),
            (std::vector<std::string>{"stop top", "asked stubborn to stop", "stop base"}));
  EXPECT_EQ(statusOf(m, "stubborn")->last_error,
            "did not stop within 1000 ms; its thread was abandoned");
  EXPECT_EQ(m.abandonedThreads(), 1u);
  {
    std::lock_guard<std::mutex> lock(gate->mu);
    gate->released = true;  // so the abandoned thread can end
  }
  gate->cv.notify_all();
}

// The deadlock regression: a service whose start calls back into the manager while the watchdog
// thread restarts it, with another thread reading status all along.
TEST_F(ServiceManagerTest, AServiceCallingBackIntoTheManagerDuringRestartDoesNotDeadlock) {
  auto config = testWatchdogConfig();
  config.strategy = RestartStrategy::rest_for_one;
  auto& m = makeManager(config);
  ASSERT_TRUE(m.add(idleService(probe_, "base")).ok());
  std::atomic<int> runs{0};
  ASSERT_TRUE(m.add(std::make_unique<FnService>("needy", std::vector<std::string>{"base"},
                                                [&](RunContext& ctx) {
                                                  // Like a service that reports its peers' health
                                                  // while starting.
                                                  (void)m.status();
                                                  (void)m.healthy();
                                                  probe_.record("start needy " +
                                                                std::to_string(++runs));
                                                  ctx.ready();
                                                  ctx.idleUntilStopped();
                                                  (void)m.status();
                                                  return okStatus();
                                                }))
                  .ok());
  ASSERT_TRUE(m.start().ok());
  m.startWatchdog();

  std::atomic<bool> done{false};
  std::thread reader([&] {
    while (!done) (void)m.status();
  });
  ASSERT_TRUE(m.injectFault("base", FaultKind::crash).ok());
  // The watchdog thread notices, stops needy (rest_for_one), and once the backoff has passed
  // restarts base, then needy.
  ASSERT_TRUE(events_.await(RuntimeEventKind::restart_scheduled, "base"));
  env_.advance(100ms);
  EXPECT_TRUE(probe_.awaitLine("start needy 2"));
  done = true;
  reader.join();
  EXPECT_TRUE(m.shutdown().ok());
}

TEST_F(ServiceManagerTest, WatchdogThreadNoticesACrashAndRestartsOnItsOwn) {
  auto& m = makeManager();
  ASSERT_TRUE(m.add(idleService(probe_, "svc")).ok());
  ASSERT_TRUE(m.start().ok());
  m.startWatchdog();
  ASSERT_TRUE(m.injectFault("svc", FaultKind::crash).ok());
  ASSERT_TRUE(events_.await(RuntimeEventKind::restart_scheduled, "svc"));
  env_.advance(100ms);
  EXPECT_TRUE(probe_.awaitLine("start svc", 2));
  EXPECT_TRUE(m.shutdown().ok());
}

TEST_F(ServiceManagerTest, ManualRestartStopsAndStartsTheService) {
  auto& m = makeManager();
  ASSERT_TRUE(m.add(idleService(probe_, "svc")).ok());
  ASSERT_TRUE(m.start().ok());
  probe_.clear();
  ASSERT_TRUE(m.restart("svc").ok());
  EXPECT_EQ(probe_.lines(), (std::vector<std::string>{"stop svc", "start svc"}));
  EXPECT_EQ(statusOf(m, "svc")->restarts, 1u);
  EXPECT_EQ(m.restart("nope").code(), Errc::not_found);
}

TEST_F(ServiceManagerTest, RequestedRestartIsPerformedByTheNextWatchdogPass) {
  auto& m = makeManager();
  ASSERT_TRUE(m.add(idleService(probe_, "svc")).ok());
  ASSERT_TRUE(m.start().ok());
  probe_.clear();
  ASSERT_TRUE(m.requestRestart("svc").ok());
  EXPECT_TRUE(probe_.lines().empty());
  m.checkOnce();
  EXPECT_EQ(probe_.lines(), (std::vector<std::string>{"stop svc", "start svc"}));
  EXPECT_EQ(m.requestRestart("nope").code(), Errc::not_found);
}

TEST_F(ServiceManagerTest, FaultsNeedTheServiceToOptIn) {
  auto& m = makeManager();
  auto plain = idleService(probe_, "plain");
  plain->accepts_faults = false;
  ASSERT_TRUE(m.add(std::move(plain)).ok());
  ASSERT_TRUE(m.start().ok());
  Status st = m.injectFault("plain", FaultKind::crash);
  EXPECT_EQ(st.code(), Errc::not_supported);
  EXPECT_EQ(st.message(), "service 'plain' does not take injected faults");
  EXPECT_EQ(m.injectFault("ghost", FaultKind::crash).code(), Errc::not_found);
}

TEST_F(ServiceManagerTest, RequestStopWakesTheMainThreadWithTheExitCode) {
  auto& m = makeManager();
  ASSERT_TRUE(m.add(idleService(probe_, "svc")).ok());
  ASSERT_TRUE(m.start().ok());
  std::thread requester([&] { m.requestStop(0); });
  EXPECT_EQ(m.waitForStopRequest(), 0);
  requester.join();
}

using ServiceManagerDeathTest = ServiceManagerTest;

TEST_F(ServiceManagerDeathTest, AbortFaultKillsTheProcess) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(
      {
        auto& m = makeManager();
        (void)m.add(idleService(probe_, "svc"));
        (void)m.start();
        (void)m.injectFault("svc", FaultKind::abort_process);
        probe_.awaitLine("never");
      },
      "");
}

}  // namespace
}  // namespace seams
