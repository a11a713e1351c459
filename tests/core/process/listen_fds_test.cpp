// Socket activation, both sides: what counts as a listening socket, ChildProcess passing sockets
// (fds 3.., LISTEN_PID = the child's own pid, no other child gets them), and InheritedSockets
// adopting them (in a forked child, which can own fd 3).
#include "core/process/listen_fds.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "core/process/child_process.h"

namespace seams {
namespace {

using namespace std::chrono_literals;

UniqueFd tcpListener() {
  Result<UniqueFd> fd = listenTcp("127.0.0.1:0");
  EXPECT_TRUE(fd.ok()) << fd.status().toString();
  return fd.ok() ? std::move(*fd) : UniqueFd();
}

std::string readAll(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(CheckListeningSocket, AcceptsAListeningTcpSocket) {
  UniqueFd fd = tcpListener();
  EXPECT_TRUE(checkListeningSocket(fd.get(), {AF_INET, AF_INET6}, "x").ok());
  EXPECT_EQ(socketAddress(fd.get()).rfind("127.0.0.1:", 0), 0u) << socketAddress(fd.get());
}

TEST(CheckListeningSocket, NamesWhatAWrongFdIsInstead) {
  int p[2];
  ASSERT_EQ(::pipe2(p, O_CLOEXEC), 0);
  UniqueFd r(p[0]), w(p[1]);
  Status s = checkListeningSocket(r.get(), {AF_INET}, "LISTEN_FDS socket 'http'");
  EXPECT_EQ(s.code(), Errc::invalid_argument);
  EXPECT_NE(s.message().find("LISTEN_FDS socket 'http': fd"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("is a pipe"), std::string::npos) << s.message();

  UniqueFd udp(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  s = checkListeningSocket(udp.get(), {AF_INET}, "x");
  EXPECT_NE(s.message().find("datagram"), std::string::npos) << s.message();

  UniqueFd idle(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  s = checkListeningSocket(idle.get(), {AF_INET}, "x");
  EXPECT_NE(s.message().find("nobody called listen() on"), std::string::npos) << s.message();

  UniqueFd unix_listener(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;  // autobind: an abstract address, no file
  ASSERT_EQ(::bind(unix_listener.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(sa_family_t)),
            0);
  ASSERT_EQ(::listen(unix_listener.get(), 1), 0);
  s = checkListeningSocket(unix_listener.get(), {AF_INET, AF_INET6}, "x");
  EXPECT_NE(s.message().find("AF_UNIX socket; expected AF_INET or AF_INET6"), std::string::npos)
      << s.message();

  s = checkListeningSocket(987654, {AF_INET}, "x");
  EXPECT_NE(s.message().find("is not open"), std::string::npos) << s.message();
}

TEST(ListenTcp, RefusesBadAddressesAndATakenPort) {
  EXPECT_EQ(listenTcp("localhost:80").status().code(), Errc::invalid_argument);
  EXPECT_EQ(listenTcp("127.0.0.1").status().code(), Errc::invalid_argument);
  EXPECT_EQ(listenTcp("127.0.0.1:99999").status().code(), Errc::invalid_argument);
  UniqueFd held = tcpListener();
  Result<UniqueFd> again = listenTcp(socketAddress(held.get()));
  EXPECT_EQ(again.status().code(), Errc::unavailable);
  Result<UniqueFd> v6 = listenTcp("[::1]:0");
  if (v6.ok()) {
    EXPECT_EQ(socketAddress(v6->get()).rfind("[::1]:", 0), 0u);
  }
}

TEST(ChildProcessListenFds, TheChildGetsTheSocketsAsFd3OnWithItsOwnPid) {
  UniqueFd first = tcpListener();
  UniqueFd second = tcpListener();
  struct stat a {
  }, b{};
  ASSERT_EQ(::fstat(first.get(), &a), 0);
  ASSERT_EQ(::fstat(second.get(), &b), 0);
  char dir[] = "/tmp/listen-fds-XXXXXX";
  ASSERT_NE(::mkdtemp(dir), nullptr);
  const std::string out = std::string(dir) + "/out";
  // $$ is the shell's pid, which is the pid exec'd into: LISTEN_PID must equal it.
  const std::string script =
      "echo \"$LISTEN_FDS $LISTEN_FDNAMES $LISTEN_PID $$\"; "
      "readlink /proc/$$/fd/3; readlink /proc/$$/fd/4; "
      "[ -e /proc/$$/fd/5 ] && echo fd5-open || echo fd5-closed";
  Result<ChildProcess> child = ChildProcess::spawn(
      {.program = "/bin/sh",
       .args = {"-c", script},
       .extra_env = {"LISTEN_FDS=9", "LISTEN_PID=1"},  // replaced, never passed through
       .stdout_path = out,
       .listen_fds = {{first.get(), "http"}, {second.get(), "other"}}});
  ASSERT_TRUE(child.ok()) << child.status().toString();
  Result<ExitStatus> exit = child->wait(10s);
  ASSERT_TRUE(exit.ok() && exit->success());
  std::istringstream lines(readAll(out));
  std::string count, names, listen_pid, self, fd3, fd4, fd5;
  lines >> count >> names >> listen_pid >> self >> fd3 >> fd4 >> fd5;
  EXPECT_EQ(count, "2");
  EXPECT_EQ(names, "http:other");
  EXPECT_EQ(listen_pid, self);
  EXPECT_EQ(fd3, "socket:[" + std::to_string(a.st_ino) + "]");
  EXPECT_EQ(fd4, "socket:[" + std::to_string(b.st_ino) + "]");
  EXPECT_EQ(fd5, "fd5-closed");
  std::filesystem::remove_all(dir);
}

TEST(ChildProcessListenFds, AChildWithoutListenFdsGetsNeitherSocketsNorVariables) {
  UniqueFd listener = tcpListener();
  char dir[] = "/tmp/listen-fds-XXXXXX";
  ASSERT_NE(::mkdtemp(dir), nullptr);
  const std::string out = std::string(dir) + "/out";
  ::setenv("LISTEN_FDS", "1", 1);  // as if passed to us and never unset
  Result<ChildProcess> child = ChildProcess::spawn(
      {.program = "/bin/sh",
       .args = {"-c", "echo \"[${LISTEN_FDS-unset}] \"; [ -e /proc/$$/fd/" +
                          std::to_string(listener.get()) + " ] && echo leaked || echo closed"},
       .stdout_path = out});
  ::unsetenv("LISTEN_FDS");
  ASSERT_TRUE(child.ok());
  ASSERT_TRUE(child->wait(10s).ok());
  std::istringstream lines(readAll(out));
  std::string var, fd;
  lines >> var >> fd;
  EXPECT_EQ(var, "[unset]");
  EXPECT_EQ(fd, "closed");
  std::filesystem::remove_all(dir);
}

TEST(ChildProcessListenFds, RefusesAPassedSocketWithoutAUsableName) {
  UniqueFd listener = tcpListener();
  EXPECT_EQ(ChildProcess::spawn({.program = "/bin/true", .listen_fds = {{listener.get(), "a:b"}}})
                .status()
                .code(),
            Errc::invalid_argument);
  EXPECT_EQ(
      ChildProcess::spawn({.program = "/bin/true", .listen_fds = {{-1, "http"}}}).status().code(),
      Errc::invalid_argument);
}

// Runs `body` in a forked child that owns fd 3 = `fd3` with LISTEN_* for itself; the child's exit
// code is body's result (0 = as expected).
int inForkedChild(int fd3, const std::string& names, int (*body)()) {
  const pid_t pid = ::fork();
  if (pid == 0) {
    if (::dup2(fd3, 3) < 0) ::_exit(90);
    ::setenv("LISTEN_FDS", "1", 1);
    ::setenv("LISTEN_PID", std::to_string(::getpid()).c_str(), 1);
    if (!names.empty()) ::setenv("LISTEN_FDNAMES", names.c_str(), 1);
    ::_exit(body());
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 99;
}

TEST(InheritedSockets, AdoptsTheNamedSocketUnsetsTheVariablesAndMarksItCloseOnExec) {
  UniqueFd listener = tcpListener();
  EXPECT_EQ(inForkedChild(listener.get(), "http",
                          [] {
                            Result<InheritedSockets> in = InheritedSockets::fromEnvironment();
                            if (!in.ok() || in->names() != std::vector<std::string>{"http"}) {
                              return 1;
                            }
                            if (::getenv("LISTEN_FDS") || ::getenv("LISTEN_PID") ||
                                ::getenv("LISTEN_FDNAMES")) {
                              return 2;
                            }
                            Result<UniqueFd> other = in->take("admin", {AF_INET});
                            if (!other.ok() || other->valid()) return 3;
                            Result<UniqueFd> fd = in->take("http", {AF_INET, AF_INET6});
                            if (!fd.ok() || fd->get() != 3) return 4;
                            if ((::fcntl(3, F_GETFD) & FD_CLOEXEC) == 0) return 5;
                            return in->empty() ? 0 : 6;
                          }),
            0);
}

TEST(InheritedSockets, RefusesAPassedFdThatIsNotAListeningSocket) {
  int p[2];
  ASSERT_EQ(::pipe2(p, O_CLOEXEC), 0);
  UniqueFd r(p[0]), w(p[1]);
  EXPECT_EQ(inForkedChild(r.get(), "http",
                          [] {
                            Result<InheritedSockets> in = InheritedSockets::fromEnvironment();
                            if (in.ok()) return 1;
                            return in.status().message().find("is a pipe") != std::string::npos ? 0
                                                                                                : 2;
                          }),
            0);
}

TEST(InheritedSockets, IgnoresSocketsMeantForAnotherProcess) {
  ::setenv("LISTEN_FDS", "1", 1);
  ::setenv("LISTEN_PID", "1", 1);  // not us
  Result<InheritedSockets> in = InheritedSockets::fromEnvironment();
  ASSERT_TRUE(in.ok()) << in.status().toString();
  EXPECT_TRUE(in->empty());
  EXPECT_EQ(::getenv("LISTEN_FDS"), nullptr);
  EXPECT_EQ(::getenv("LISTEN_PID"), nullptr);
}

}  // namespace
}  // namespace seams
