#include "core/process/child_process.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <thread>

namespace seams {
namespace {

using namespace std::chrono_literals;

TEST(ChildProcess, ReportsTheExitCode) {
  auto child = ChildProcess::spawn({.program = "/bin/sh", .args = {"-c", "exit 7"}});
  ASSERT_TRUE(child.ok()) << child.status().toString();
  auto st = child->wait(30s);
  ASSERT_TRUE(st.ok());
  EXPECT_FALSE(st->signaled);
  EXPECT_EQ(st->code, 7);
}

TEST(ChildProcess, ExecFailureIsAnErrorNotAChild) {
  auto child = ChildProcess::spawn({.program = "/nonexistent/seams-binary"});
  EXPECT_EQ(child.code(), Errc::not_found);
}

TEST(ChildProcess, WaitTimesOutWhileRunningAndTerminateEndsIt) {
  auto child = ChildProcess::spawn({.program = "sleep", .args = {"60"}});
  ASSERT_TRUE(child.ok());
  EXPECT_TRUE(child->running());
  EXPECT_EQ(child->wait(10ms).code(), Errc::timeout);
  auto st = child->terminate(5s);
  ASSERT_TRUE(st.ok());
  EXPECT_TRUE(st->signaled);
  EXPECT_EQ(st->code, SIGTERM);
  EXPECT_FALSE(child->running());
}

TEST(ChildProcess, TerminateEscalatesToSigkillWhenTermIsIgnored) {
  auto child = ChildProcess::spawn(
      {.program = "/bin/sh", .args = {"-c", "trap '' TERM; while :; do sleep 0.05; done"}});
  ASSERT_TRUE(child.ok());
  // Give the shell time to install its trap (bounded: a real process is involved).
  for (int i = 0; i < 100 && child->running(); ++i) std::this_thread::sleep_for(10ms);
  auto st = child->terminate(300ms);
  ASSERT_TRUE(st.ok());
  EXPECT_TRUE(st->signaled);
}

TEST(ChildProcess, PassesEnvironmentAndRedirectsOutput) {
  std::string out = "/tmp/seams-child-" + std::to_string(::getpid()) + ".out";
  ::unlink(out.c_str());
  auto child = ChildProcess::spawn({.program = "/bin/sh",
                                    .args = {"-c", "echo $SEAMS_TEST_VAR"},
                                    .extra_env = {"SEAMS_TEST_VAR=hello"},
                                    .stdout_path = out});
  ASSERT_TRUE(child.ok());
  ASSERT_TRUE(child->wait(30s).ok());
  std::ifstream in(out);
  std::stringstream ss;
  ss << in.rdbuf();
  EXPECT_EQ(ss.str(), "hello\n");
  ::unlink(out.c_str());
}

TEST(ChildProcess, DestroyingARunningChildKillsIt) {
  pid_t pid;
  {
    auto child = ChildProcess::spawn({.program = "sleep", .args = {"60"}});
    ASSERT_TRUE(child.ok());
    pid = child->pid();
  }
  EXPECT_NE(::kill(pid, 0), 0);  // reaped: the pid no longer names our child
}

}  // namespace
}  // namespace seams
