// SanitizerReports: a defect in any process started with its environment, however deep in the
// tree, ends up as a report the test can read; a clean process leaves none.
#include "tests/support/sanitizer_reports.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "core/process/child_process.h"
#include "core/process/host.h"

namespace seams::testing {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

bool built(const char* sanitizer) {
  return std::string(sanitizers()).find(sanitizer) != std::string::npos;
}

class SanitizerReportsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/seams-san-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    reports_.emplace(dir_ + "/sanitizer");
  }
  void TearDown() override {
    reports_.reset();
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  // Runs the probe with the collector's environment; how it ended.
  ExitStatus probe(const std::vector<std::string>& args) {
    Result<ChildProcess> child = ChildProcess::spawn({.program = SEAMS_SANITIZER_PROBE_PATH,
                                                      .args = args,
                                                      .extra_env = reports_->environment(),
                                                      .stdout_path = dir_ + "/probe.log",
                                                      .stderr_path = dir_ + "/probe.log"});
    EXPECT_TRUE(child.ok()) << child.status().toString();
    if (!child.ok()) return {};
    Result<ExitStatus> exit = child->wait(scaled(60s));
    EXPECT_TRUE(exit.ok()) << exit.status().toString();
    return exit.ok() ? *exit : ExitStatus{};
  }

  std::string dir_;
  std::optional<SanitizerReports> reports_;
};

TEST_F(SanitizerReportsTest, TheEnvironmentKeepsThePresetsOptionsAndAddsOurs) {
  const char* preset = std::getenv("TSAN_OPTIONS");
  const std::string saved = preset != nullptr ? preset : "";
  ::setenv("TSAN_OPTIONS", "second_deadlock_stack=1", 1);
  std::string tsan;
  for (const std::string& kv : reports_->environment()) {
    if (kv.rfind("TSAN_OPTIONS=", 0) == 0) tsan = kv;
  }
  if (preset != nullptr) {
    ::setenv("TSAN_OPTIONS", saved.c_str(), 1);
  } else {
    ::unsetenv("TSAN_OPTIONS");
  }
  EXPECT_EQ(tsan.rfind("TSAN_OPTIONS=second_deadlock_stack=1:", 0), 0u) << tsan;
  for (const std::string& flag : std::vector<std::string>{
           "log_path=" + reports_->dir() + "/report", "halt_on_error=1",
           "exitcode=" + std::to_string(kSanitizerExitCode), "handle_segv=0"}) {
    EXPECT_NE(tsan.find(flag), std::string::npos) << flag << " in " << tsan;
  }
}

TEST_F(SanitizerReportsTest, ACleanProcessLeavesNoReportAndIsNotCountedOnceGone) {
  EXPECT_TRUE(probe({"spawn", "clean"}).success());
  EXPECT_TRUE(reports_->waitUntilGone(scaled(10s)).empty());
  EXPECT_EQ(reports_->reports(), "");
}

TEST_F(SanitizerReportsTest, ARunningProcessIsFoundByItsEnvironmentEvenAsAGrandchild) {
  Result<ChildProcess> sh = ChildProcess::spawn({.program = "/bin/sh",
                                                 .args = {"-c", "sleep 30 & wait"},
                                                 .extra_env = reports_->environment()});
  ASSERT_TRUE(sh.ok()) << sh.status().toString();
  // The shell and its sleep both carry the environment.
  std::vector<pid_t> found;
  for (int i = 0; i < 500 && found.size() < 2; ++i) {
    found = reports_->processes();
    if (found.size() < 2) ::usleep(10'000);
  }
  EXPECT_EQ(found.size(), 2u);
  for (pid_t pid : found) ::kill(pid, SIGKILL);
  (void)sh->wait(scaled(10s));
  EXPECT_TRUE(reports_->waitUntilGone(scaled(10s)).empty());
}

TEST_F(SanitizerReportsTest, ReportsInACapturedStderrAreKeptAndOrdinaryLogLinesAreNot) {
  reports_->collectFromStderr("info: service http started\nwarn: slow start\n", "daemon.log");
  EXPECT_EQ(reports_->reports(), "");
  reports_->collectFromStderr(
      "info: started\nx.cpp:3:5: runtime error: load of null pointer\n    #0 0x1 in f x.cpp:3\n",
      "daemon.log");
  const std::string text = reports_->reports();
  EXPECT_NE(text.find("runtime error: load of null pointer"), std::string::npos) << text;
  EXPECT_NE(text.find("#0 0x1 in f"), std::string::npos) << text;
  EXPECT_EQ(text.find("info: started"), std::string::npos) << text;
}

TEST_F(SanitizerReportsTest, AnInjectedSigsegvKillsAsInProductionAndIsNoReport) {
  const ExitStatus exit = probe({"segv"});
  EXPECT_TRUE(exit.signaled) << exit.toString();
  EXPECT_EQ(exit.code, SIGSEGV) << exit.toString();
  EXPECT_EQ(reports_->reports(), "");
}

TEST_F(SanitizerReportsTest, AHeapUseAfterFreeInAGrandchildIsReported) {
  if (!built("address")) GTEST_SKIP() << "not an AddressSanitizer build";
  EXPECT_EQ(probe({"spawn", "heap-use-after-free"}).code, kSanitizerExitCode);
  EXPECT_NE(reports_->reports().find("heap-use-after-free"), std::string::npos)
      << reports_->reports();
}

TEST_F(SanitizerReportsTest, ALeakInAGrandchildIsReportedAtItsExit) {
  if (!built("address")) GTEST_SKIP() << "not an AddressSanitizer build";
  EXPECT_EQ(probe({"spawn", "leak"}).code, kSanitizerExitCode);
  EXPECT_NE(reports_->reports().find("LeakSanitizer"), std::string::npos) << reports_->reports();
}

TEST_F(SanitizerReportsTest, UndefinedBehaviourInAGrandchildIsReported) {
  if (!built("undefined")) GTEST_SKIP() << "not an UndefinedBehaviorSanitizer build";
  EXPECT_EQ(probe({"spawn", "signed-overflow"}).code, kSanitizerExitCode);
  // GCC's UBSan beside ASan writes to stderr whatever log_path says: the harness reads it there.
  reports_->collectFromStderr(readWholeFile(dir_ + "/probe.log"), "probe");
  EXPECT_NE(reports_->reports().find("signed integer overflow"), std::string::npos)
      << reports_->reports();
}

TEST_F(SanitizerReportsTest, ADataRaceInAGrandchildIsReported) {
  if (!built("thread")) GTEST_SKIP() << "not a ThreadSanitizer build";
  EXPECT_EQ(probe({"spawn", "race"}).code, kSanitizerExitCode);
  EXPECT_NE(reports_->reports().find("data race"), std::string::npos) << reports_->reports();
}

TEST(TimeScale, IsOneInAReleaseBuildAndMoreUnderASanitizer) {
  if (std::getenv("SEAMS_TEST_TIME_SCALE") != nullptr) GTEST_SKIP() << "overridden here";
  if (std::string(sanitizers()).empty()) {
    EXPECT_EQ(timeScale(), 1.0);
  } else {
    EXPECT_GT(timeScale(), 1.0);
  }
  EXPECT_GE(scaled(100ms), 100ms);
}

}  // namespace
}  // namespace seams::testing
