#include "core/process/notify_socket.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

namespace seams {
namespace {

using namespace std::chrono_literals;

std::string socketPath(const char* tag) {
  return "/tmp/seams-notify-" + std::to_string(::getpid()) + "-" + tag;
}

TEST(NotifySocket, ReceivesFieldsAndTheSendersPid) {
  auto sock = NotifySocket::bind(socketPath("a"));
  ASSERT_TRUE(sock.ok()) << sock.status().toString();
  ::setenv("NOTIFY_SOCKET", sock->path().c_str(), 1);
  ASSERT_GT(::sd_notify(0, "READY=1\nSTATUS=serving"), 0);
  ::unsetenv("NOTIFY_SOCKET");
  auto msg = sock->receive(5s);
  ASSERT_TRUE(msg.ok()) << msg.status().toString();
  EXPECT_TRUE(msg->has("READY", "1"));
  EXPECT_TRUE(msg->has("STATUS", "serving"));
  EXPECT_EQ(msg->pid, ::getpid());
}

TEST(NotifySocket, TellsChildrenApartByPid) {
  auto sock = NotifySocket::bind(socketPath("b"));
  ASSERT_TRUE(sock.ok());
  ::setenv("NOTIFY_SOCKET", sock->path().c_str(), 1);
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) ::_exit(::sd_notify(0, "READY=1") > 0 ? 0 : 1);
  ::unsetenv("NOTIFY_SOCKET");
  int wstatus = 0;
  ASSERT_EQ(::waitpid(child, &wstatus, 0), child);
  ASSERT_EQ(WEXITSTATUS(wstatus), 0);
  auto msg = sock->receive(10s);
  ASSERT_TRUE(msg.ok()) << msg.status().toString();
  EXPECT_TRUE(msg->has("READY", "1"));
  EXPECT_EQ(msg->pid, child);
}

TEST(NotifySocket, TimesOutWhenNothingArrives) {
  auto sock = NotifySocket::bind(socketPath("c"));
  ASSERT_TRUE(sock.ok());
  EXPECT_EQ(sock->receive(20ms).code(), Errc::timeout);
}

TEST(NotifySocket, SkipsMalformedLines) {
  auto sock = NotifySocket::bind(socketPath("d"));
  ASSERT_TRUE(sock.ok());
  ::setenv("NOTIFY_SOCKET", sock->path().c_str(), 1);
  ASSERT_GT(::sd_notify(0, "garbage\n=x\nREADY=1"), 0);
  ::unsetenv("NOTIFY_SOCKET");
  auto msg = sock->receive(5s);
  ASSERT_TRUE(msg.ok());
  EXPECT_EQ(msg->fields.size(), 1u);
  EXPECT_TRUE(msg->has("READY", "1"));
}

}  // namespace
}  // namespace seams
