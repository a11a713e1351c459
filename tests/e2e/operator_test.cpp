// Issue 12, the operator's half: what a new user meets when running a deployment, through the
// real binaries. A private vault on disk (4), one deployment per runtime dir (7), a file as the
// mount point and the leftovers of a crash (8), errors that say what happened (9), running as a
// normal user and finding the control socket (10), and the launcher's caches (11). Parameterised
// over mono and split/capnp where both deployments share the behaviour.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <regex>
#include <thread>

#include "core/common/unique_fd.h"
#include "core/config/fuse_access.h"
#include "core/runtime/service_names.h"
#include "tests/core/http/test_client.h"
#include "tests/e2e/deployment.h"

namespace seams::e2e {
namespace {

namespace fs = std::filesystem;
namespace bhttp = boost::beast::http;
using http::testing::Reply;
using http::testing::TestClient;
using namespace std::chrono_literals;

struct Shell {
  int code = -1;
  std::string output;  // stdout and stderr
};

// Runs `command` with /bin/sh, stdout and stderr together.
Shell sh(const std::string& command) {
  Shell r;
  FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return r;
  char buf[4096];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, pipe)) > 0) r.output.append(buf, n);
  const int status = ::pclose(pipe);
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return r;
}

unsigned modeOf(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return 07777 + 1;  // never a valid mode
  return st.st_mode & 07777;
}

std::string quoted(const std::string& s) {
  return "\"" + s + "\"";
}

// Sets `key = value` (a top-level key or "section.key") in a config file that already has it.
void setConfigKey(const std::string& path, const std::string& key, const std::string& value) {
  std::string section, name = key;
  if (auto dot = key.find('.'); dot != std::string::npos) {
    section = key.substr(0, dot);
    name = key.substr(dot + 1);
  }
  std::istringstream in(readFile(path));
  std::ostringstream out;
  std::string line, current;
  bool done = false;
  while (std::getline(in, line)) {
    if (!line.empty() && line[0] == '[') current = line.substr(1, line.find(']') - 1);
    if (!done && current == section && line.rfind(name + " = ", 0) == 0) {
      line = name + " = " + value;
      done = true;
    }
    out << line << "\n";
  }
  ASSERT_TRUE(done) << key << " not in " << path;
  std::ofstream(path, std::ios::trunc) << out.str();
}

// Polls `pred` every 20 ms until it holds or `limit` passes; the bound is a safety net, not the
// assertion.
bool eventually(const std::function<bool()>& pred, std::chrono::milliseconds limit = 20s) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(20ms);
  }
  return pred();
}

std::string lastLine(const std::string& text) {
  std::string last;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) last = line;
  }
  return last;
}

std::string binDirOfSplit() {
  return fs::path(TestDeployment::seamSplitPath()).parent_path().string();
}

class OperatorTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (::access("/dev/fuse", R_OK | W_OK) != 0) GTEST_SKIP() << "/dev/fuse is not accessible";
    if (isSplit() && TestDeployment::seamSplitPath().empty()) GTEST_SKIP() << "no seam-split";
  }
  void TearDown() override {
    if (HasFailure()) {
      for (auto* d : {dep_.get(), other_.get()}) {
        if (d) std::cerr << "---- " << d->dir() << " log ----\n" << readFile(d->logPath()) << "\n";
      }
    }
    other_.reset();
    dep_.reset();
  }
  bool isSplit() const { return GetParam() != "mono"; }

  DeploymentOptions options(std::map<std::string, std::string> overrides = {}) const {
    DeploymentOptions o = DeploymentOptions::fromName(GetParam());
    o.overrides = std::move(overrides);
    o.overrides.emplace("watchdog.backoff_initial_ms", "50");
    return o;
  }
  TestDeployment& deploy(std::map<std::string, std::string> overrides = {}) {
    dep_ = std::make_unique<TestDeployment>(options(std::move(overrides)));
    return *dep_;
  }
  std::string login(TestDeployment& d, const std::string& user) {
    TestClient c(d.httpPort());
    nlohmann::json body = {{"user", user}, {"password", d.password(user)}};
    Reply r = c.request(bhttp::verb::post, "/v1/login", "", body.dump(),
                        {{"Content-Type", "application/json"}});
    EXPECT_EQ(r.status, 200u) << r.body;
    return r.status == 200 ? nlohmann::json::parse(r.body).at("token").get<std::string>() : "";
  }

  std::unique_ptr<TestDeployment> dep_;
  std::unique_ptr<TestDeployment> other_;
};

// --- 4: the backing directory is private -------------------------------------------------------

TEST_P(OperatorTest, TheVaultOnDiskIsReadableOnlyByTheDaemonsUserAndSyncStillWorks) {
  TestDeployment& d = deploy();
  ASSERT_TRUE(d.start().ok());
  const std::string v = d.vaultRoot();
  EXPECT_EQ(modeOf(v), 0700u) << "seamctl init makes the root private";
  EXPECT_EQ(modeOf(v + "/README.md"), 0600u);
  EXPECT_EQ(modeOf(v + "/docs"), 0700u);
  EXPECT_EQ(modeOf(v + "/docs/welcome.txt"), 0600u);

  const std::string token = login(d, "alice");
  TestClient c(d.httpPort());
  Reply put = c.request(bhttp::verb::put, "/v1/files/docs/put.txt", token, "over http");
  ASSERT_EQ(put.status, 200u) << put.body;
  EXPECT_EQ(modeOf(v + "/docs/put.txt"), 0600u) << "a PUT makes a 0600 file";
  Reply again = c.request(bhttp::verb::put, "/v1/files/README.md", token, "replaced");
  ASSERT_EQ(again.status, 200u) << again.body;
  EXPECT_EQ(modeOf(v + "/README.md"), 0600u) << "a replace keeps it 0600";

  // Through the mount as root (the admin user), asking for loose modes.
  const std::string m = d.mountpoint();
  {
    UniqueFd fd(::open((m + "/docs/fuse.txt").c_str(), O_CREAT | O_WRONLY | O_EXCL, 0666));
    ASSERT_TRUE(fd.valid()) << std::strerror(errno);
    ASSERT_EQ(::write(fd.get(), "via fuse", 8), 8);
  }
  ASSERT_EQ(::mkdir((m + "/docs/sub").c_str(), 0777), 0) << std::strerror(errno);
  EXPECT_EQ(modeOf(v + "/docs/fuse.txt"), 0600u) << "a FUSE create makes a 0600 file";
  EXPECT_EQ(modeOf(v + "/docs/sub"), 0700u) << "a FUSE mkdir makes a 0700 directory";

  // The daemon's user still changes files behind the vault's back, and sync still sees them.
  std::ofstream(v + "/docs/outside.txt") << "written beside the vault";
  bool seen = eventually([&] {
    TestClient g(d.httpPort());
    Reply r = g.get("/v1/files/docs/outside.txt", token);
    return r.status == 200 && r.body == "written beside the vault";
  });
  EXPECT_TRUE(seen) << "sync turned the outside write into a servable file";
}

TEST_P(OperatorTest, ARootOtherUsersCanReadIsRefusedUnlessTheConfigAllowsIt) {
  TestDeployment& d = deploy();
  ASSERT_TRUE(d.start().ok());
  ASSERT_TRUE(d.stop().ok());
  ASSERT_EQ(::chmod(d.vaultRoot().c_str(), 0755), 0);

  Status refused = d.start(60s);
  ASSERT_FALSE(refused.ok());
  const std::string expected = "vault_root: " + d.vaultRoot() + " has mode 0755";
  EXPECT_NE(refused.message().find(expected), std::string::npos) << refused.message();
  // The launcher's last line carries the daemon's cause, not just "exited with code 1".
  EXPECT_NE(lastLine(readFile(d.logPath())).find("allow_shared_vault_root = true"),
            std::string::npos)
      << lastLine(readFile(d.logPath()));
  EXPECT_EQ(readFile(d.logPath()).find("exited exited"), std::string::npos);

  setConfigKey(d.configPath(), "allow_shared_vault_root", "true");
  Status allowed = d.start();
  EXPECT_TRUE(allowed.ok()) << allowed.toString();
}

// --- 7: one deployment per runtime dir ---------------------------------------------------------

TEST_P(OperatorTest, ASecondDeploymentOnTheSameRuntimeDirIsRefusedNamingTheHolder) {
  TestDeployment& first = deploy();
  ASSERT_TRUE(first.start().ok());
  const std::string run = first.dir() + "/run";
  other_ = std::make_unique<TestDeployment>(
      options({{"runtime_dir", quoted(run)},
               {"control_socket", quoted(run + "/control.sock")},
               {"split.fsd_socket", quoted(run + "/fsd.sock")},
               {"split.authd_socket", quoted(run + "/authd.sock")}}));
  Status second = other_->start(60s);
  ASSERT_FALSE(second.ok());
  const std::string holder = (isSplit() ? "seam-split (pid " : "seamd (pid ") +
                             std::to_string(first.pid()) + ", lock " + run + "/deployment.lock)";
  EXPECT_NE(second.message().find("runtime_dir " + run + " is in use by " + holder),
            std::string::npos)
      << second.message();
  EXPECT_FALSE(other_->running());

  // The first one is untouched: its control socket is there and answers.
  EXPECT_TRUE(fs::exists(run + "/control.sock"));
  TestDeployment::CtlResult status = first.seamctl({"status"});
  EXPECT_EQ(status.exit_code, 0) << status.output;

  if (isSplit()) {
    // A daemon started by hand beside a running deployment is refused too, naming its twin.
    const pid_t fsd = first.componentPid(kFsdDaemon);
    Shell twin = sh(binDirOfSplit() + "/seam-fsd --config " + first.configPath());
    EXPECT_EQ(twin.code, 1) << twin.output;
    EXPECT_NE(twin.output.find("is in use by seam-fsd (pid " + std::to_string(fsd) + ","),
              std::string::npos)
        << twin.output;
    EXPECT_EQ(first.componentPid(kFsdDaemon), fsd) << "the running fsd was not disturbed";
    EXPECT_TRUE(fs::exists(run + "/fsd.sock"));
  }
  status = first.seamctl({"status"});
  EXPECT_EQ(status.exit_code, 0) << status.output;
}

// --- 8: the mount point, and what a crash leaves -----------------------------------------------

TEST_P(OperatorTest, ARegularFileAsTheMountPointIsRefusedNamingTheKey) {
  char tmpl[] = "/tmp/seams-e2e-file-XXXXXX";
  const int fd = ::mkstemp(tmpl);
  ASSERT_GE(fd, 0);
  ::close(fd);
  const std::string file = tmpl;
  TestDeployment& d = deploy({{"fuse.mountpoint", quoted(file)}});
  Status s = d.start(60s);
  fs::remove(file);
  ASSERT_FALSE(s.ok());
  const std::string expected = "fuse.mountpoint: " + file + " is a regular file, not a directory";
  EXPECT_NE(s.message().find(expected), std::string::npos) << s.message();
  EXPECT_NE(lastLine(readFile(d.logPath())).find(expected), std::string::npos)
      << "the last line says why: " << lastLine(readFile(d.logPath()));
}

TEST_P(OperatorTest, AStaleMountAndSocketsLeftByACrashAreClearedWithALogLine) {
  TestDeployment& d = deploy();
  ASSERT_TRUE(d.start().ok());
  if (isSplit()) {
    // kill -9 of the owner daemon: the launcher removes the socket it left, and says so.
    const pid_t fsd = d.componentPid(kFsdDaemon);
    ASSERT_GT(fsd, 0);
    ASSERT_EQ(::kill(fsd, SIGKILL), 0);
    const std::string line = "fsd: removed a stale socket at " + d.dir() + "/run/fsd.sock";
    EXPECT_TRUE(eventually([&] { return readFile(d.logPath()).find(line) != std::string::npos; }))
        << "expected: " << line;
    EXPECT_TRUE(eventually([&] {
      const pid_t now = d.componentPid(kFsdDaemon);
      return now > 0 && now != fsd && d.statusField(kFsdDaemon, "state") == "running";
    }));
  }
  d.kill9();
  EXPECT_TRUE(fs::exists(d.controlSocket())) << "SIGKILL leaves the control socket";
  if (!isSplit()) {
    EXPECT_TRUE(isMounted(d.mountpoint())) << "and, for seamd, a dead mount";
  }
  const std::size_t before = readFile(d.logPath()).size();
  ASSERT_TRUE(d.start().ok());
  const std::string log = readFile(d.logPath()).substr(before);
  EXPECT_NE(log.find("control: removed a stale socket at " + d.controlSocket()), std::string::npos)
      << log;
  if (!isSplit()) {
    EXPECT_NE(log.find("fuse: cleared a stale FUSE mount at " + d.mountpoint()), std::string::npos)
        << log;
  }
  TestDeployment::CtlResult status = d.seamctl({"status"});
  EXPECT_EQ(status.exit_code, 0) << status.output;
  struct stat st {};
  EXPECT_EQ(::stat((d.mountpoint() + "/README.md").c_str(), &st), 0) << "the mount serves again";
}

// --- 9: errors that say what happened ----------------------------------------------------------

TEST_P(OperatorTest, ATakenHttpPortEndsTheStartWithTheCauseOnTheLastLine) {
  UniqueFd taken(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(taken.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::listen(taken.get(), 1), 0);
  socklen_t len = sizeof addr;
  ASSERT_EQ(::getsockname(taken.get(), reinterpret_cast<sockaddr*>(&addr), &len), 0);
  const std::string listen = "127.0.0.1:" + std::to_string(ntohs(addr.sin_port));

  TestDeployment& d = deploy({{"http.listen", quoted(listen)}});
  ASSERT_FALSE(d.start(60s).ok());
  const std::string log = readFile(d.logPath());
  EXPECT_NE(lastLine(log).find("Address already in use"), std::string::npos) << lastLine(log);
  EXPECT_EQ(log.find("exited exited"), std::string::npos) << log;
}

TEST(OperatorErrorsTest, SeamBenchListsTheDeploymentsItKnows) {
#ifndef SEAMS_SEAM_BENCH_PATH
  GTEST_SKIP() << "this build has no seam-bench";
#else
  Shell r = sh(std::string(SEAMS_SEAM_BENCH_PATH) + " run --deployments mono,bogus");
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_NE(r.output.find("unknown deployment 'bogus' (valid: mono, split/capnp/push, "
                          "split/capnp/off, split/capnp/ttl, split/protobuf/push, "
                          "split/protobuf/off, split/protobuf/ttl, split/grpc/push, "
                          "split/grpc/off, split/grpc/ttl)"),
            std::string::npos)
      << r.output;
#endif
}

TEST(OperatorErrorsTest, AbortingTheDaemonIsNotReportedAsARefusedUid) {
  if (::access("/dev/fuse", R_OK | W_OK) != 0) GTEST_SKIP() << "/dev/fuse is not accessible";
  TestDeployment d(DeploymentOptions::fromName("mono"));
  ASSERT_TRUE(d.start().ok());
  TestDeployment::CtlResult fault = d.seamctl({"fault", kFuseService, "abort"});
  EXPECT_EQ(fault.output.find("only its own uid"), std::string::npos) << fault.output;
  if (fault.exit_code != 0) {
    EXPECT_NE(fault.output.find("it may have exited"), std::string::npos) << fault.output;
  }
  // Whichever side of the abort the answer came from, the daemon is gone now, and says so.
  EXPECT_TRUE(eventually([&] { return !d.running(); }));
  TestDeployment::CtlResult after = d.seamctl({"status"});
  EXPECT_NE(after.exit_code, 0);
  EXPECT_EQ(after.output.find("only its own uid"), std::string::npos) << after.output;
}

// --- 10: the control socket from the config; a normal user -------------------------------------

TEST_P(OperatorTest, SeamctlFindsTheSocketThroughTheConfigAndWaitsForReady) {
  TestDeployment& d = deploy();
  ASSERT_TRUE(d.start().ok());
  const std::string ctl = TestDeployment::seamctlPath();
  Shell by_config = sh(ctl + " --config " + d.configPath() + " status");
  EXPECT_EQ(by_config.code, 0) << by_config.output;
  EXPECT_NE(by_config.output.find(kControlService), std::string::npos) << by_config.output;
  Shell here = sh("cd " + d.dir() + " && " + ctl + " status");
  EXPECT_EQ(here.code, 0) << "./seams.toml is the default: " << here.output;
  Shell ready = sh(ctl + " --config " + d.configPath() + " wait 30");
  EXPECT_EQ(ready.code, 0) << ready.output;
  EXPECT_NE(ready.output.find("ready: "), std::string::npos) << ready.output;

  ASSERT_TRUE(d.stop().ok());
  Shell gone = sh(ctl + " --config " + d.configPath() + " wait 0.5");
  EXPECT_EQ(gone.code, 1);
  EXPECT_NE(gone.output.find("not ready within 0.5 s"), std::string::npos) << gone.output;
}

// As uid 65534 (nobody): `seamctl init` chooses allow_other only when fuse.conf allows it, and
// seamd's FUSE errors name the next step.
TEST(OperatorNonRootTest, ANormalUserGetsAConfigThatCanWorkAndErrorsWithNextSteps) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to act as another user";
  if (::access("/usr/bin/setpriv", X_OK) != 0) GTEST_SKIP() << "no setpriv";
  char tmpl[] = "/tmp/seams-e2e-nobody-XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  const std::string dir = tmpl;
  ASSERT_EQ(::chown(dir.c_str(), 65534, 65534), 0);
  const std::string as_nobody = "setpriv --reuid=65534 --regid=65534 --clear-groups -- ";
  const std::string port = std::to_string(freePort());
  Shell init = sh(as_nobody + TestDeployment::seamctlPath() + " init " + dir +
                  "/d --http 127.0.0.1:" + port);
  ASSERT_EQ(init.code, 0) << init.output;
  const std::string config = readFile(dir + "/d/seams.toml");
  const bool conf_allows = fuseConfAllowsOther(readFile(kFuseConf));
  EXPECT_NE(config.find(conf_allows ? "allow_other = true" : "allow_other = false"),
            std::string::npos)
      << config;
  if (!conf_allows) {
    EXPECT_NE(init.output.find("user_allow_other"), std::string::npos) << init.output;
  }

  // What seamd says to that user when FUSE cannot work for them.
  Shell device = sh(as_nobody + "test -r /dev/fuse -a -w /dev/fuse");
  std::string expected;
  if (device.code != 0) {
    expected = "may not open /dev/fuse";
  } else if (!conf_allows) {
    setConfigKey(dir + "/d/seams.toml", "fuse.allow_other", "true");
    expected =
        "fuse.allow_other: a user other than root may mount with allow_other only when "
        "/etc/fuse.conf has a line `user_allow_other`";
  }
  if (!expected.empty()) {
    Shell run = sh("timeout 60 " + as_nobody + TestDeployment::seamdPath() + " --config " + dir +
                   "/d/seams.toml");
    EXPECT_EQ(run.code, 1) << run.output;
    EXPECT_NE(run.output.find(expected), std::string::npos) << run.output;
    EXPECT_NE(run.output.find("[fuse] enabled = false"), std::string::npos) << run.output;
  }
  (void)sh("umount -l " + dir + "/d/mnt");
  fs::remove_all(dir);
  if (expected.empty()) GTEST_SKIP() << "FUSE works for a normal user here: no error to check";
}

// --- 11: caches on the launcher's socket -------------------------------------------------------

TEST(OperatorSplitTest, TheLaunchersCachesListEveryDaemonsEntries) {
  if (::access("/dev/fuse", R_OK | W_OK) != 0) GTEST_SKIP() << "/dev/fuse is not accessible";
  if (TestDeployment::seamSplitPath().empty()) GTEST_SKIP() << "no seam-split";
  TestDeployment d(DeploymentOptions::fromName("split/capnp"));
  ASSERT_TRUE(d.start().ok());
  TestClient c(d.httpPort());
  nlohmann::json body = {{"user", "admin"}, {"password", d.password("admin")}};
  Reply login = c.request(bhttp::verb::post, "/v1/login", "", body.dump(),
                          {{"Content-Type", "application/json"}});
  ASSERT_EQ(login.status, 200u);
  const std::string token = nlohmann::json::parse(login.body).at("token");
  // Sync's first pass after a start bumps every entry it has not seen (storage.h), which may
  // invalidate what the first GET cached: read until both caches hold the file.
  TestDeployment::CtlResult caches;
  bool owner = false, frontend = false;
  eventually([&] {
    EXPECT_EQ(c.get("/v1/files/docs/welcome.txt", token).status, 200u);
    caches = d.seamctl({"caches", "--json"});
    auto j = nlohmann::json::parse(caches.output, nullptr, false);
    if (caches.exit_code != 0 || j.is_discarded()) return false;
    owner = frontend = false;
    for (const auto& e : j.at("entries")) {
      if (e.at("path") != "/docs/welcome.txt" || e.at("kind") != "content") continue;
      owner = owner || e.at("cache") == "fsd/vault";
      frontend = frontend || e.at("cache") == "httpd/frontend";
    }
    return owner && frontend;
  });
  EXPECT_EQ(caches.exit_code, 0) << caches.output;
  EXPECT_TRUE(owner) << caches.output;
  EXPECT_TRUE(frontend) << caches.output;
}

INSTANTIATE_TEST_SUITE_P(Deployments, OperatorTest, ::testing::Values("mono", "split/capnp"),
                         [](const auto& info) {
                           std::string name = info.param;
                           for (char& c : name) {
                             if (c == '/') c = '_';
                           }
                           return name;
                         });

}  // namespace
}  // namespace seams::e2e
