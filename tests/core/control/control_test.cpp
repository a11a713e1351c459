#include <gtest/gtest.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "core/common/unique_fd.h"
#include "core/control/control_client.h"
#include "core/control/control_server.h"
#include "core/control/control_service.h"
#include "core/control/manager_target.h"
#include "core/control/seamctl.h"
#include "tests/core/runtime/test_support.h"

namespace seams {
namespace {

using namespace std::chrono_literals;

// A ControlTarget that answers from fixed rows and records what it was asked.
class FakeTarget final : public ControlTarget {
 public:
  std::vector<ControlRow> status() override {
    ControlRow http{"http", "service", "running", 4242, 2, "", 12.5};
    ControlRow fuse{"fuse",       "service", fuse_running ? "running" : "backoff",
                    4242,         3,         "thread ended (injected crash)",
                    std::nullopt, 1};
    return {http, fuse};
  }
  std::string stats() override {
    return "# TYPE seams_requests_total counter\n"
           "seams_requests_total{frontend=\"http\",op=\"get\"} 17\n"
           "seams_uptime_seconds 3.5\n";
  }
  std::vector<CacheEntryRow> caches() override {
    return {{"vault", "content", "/docs/a.txt", 7, 4352}, {"vault", "list", "/docs", 0, 300}};
  }
  Status restart(std::string_view name) override {
    record("restart " + std::string(name));
    if (name != "http" && name != "fuse") {
      return Status(Errc::not_found, "no service named '" + std::string(name) + "'");
    }
    return okStatus();
  }
  Status fault(std::string_view name, FaultKind kind) override {
    record("fault " + std::string(name) + " " + std::string(faultKindName(kind)));
    return okStatus();
  }
  Status stop() override {
    record("stop");
    return okStatus();
  }
  std::vector<std::string> calls() {
    std::lock_guard<std::mutex> lock(mutex_);
    return calls_;
  }
  std::atomic<bool> fuse_running{false};

 private:
  void record(std::string call) {
    std::lock_guard<std::mutex> lock(mutex_);
    calls_.push_back(std::move(call));
  }
  std::mutex mutex_;
  std::vector<std::string> calls_;
};

class ControlTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/seams-control-XXXXXX";
    dir_ = mkdtemp(tmpl);
    ::chmod(dir_.c_str(), 0755);  // so another uid reaches the socket and meets its own checks
    path_ = dir_ + "/control.sock";
  }
  void TearDown() override {
    server_.reset();
    std::filesystem::remove_all(dir_);
  }
  ControlServer& serve(bool faults_enabled = false) {
    server_ = std::make_unique<ControlServer>(target_, ControlServerOptions{path_, faults_enabled});
    EXPECT_TRUE(server_->start().ok());
    return *server_;
  }
  std::unique_ptr<ControlClient> client() {
    auto c = ControlClient::connect(path_);
    EXPECT_TRUE(c.ok()) << c.status().toString();
    return c.ok() ? std::move(c.value()) : nullptr;
  }
  int seamctl(std::vector<std::string> args, std::string* out_text = nullptr,
              std::string* err_text = nullptr) {
    args.insert(args.begin(), "seamctl");
    std::vector<const char*> argv;
    for (const auto& a : args) argv.push_back(a.c_str());
    std::ostringstream out, err;
    int code = runSeamctl(static_cast<int>(argv.size()), argv.data(), out, err);
    if (out_text != nullptr) *out_text = out.str();
    if (err_text != nullptr) *err_text = err.str();
    return code;
  }

  // Connects to the socket from a child process running as `nobody`, with raw syscalls only.
  // Returns what the child saw: "connect refused", "closed by server", "still open", or an error.
  std::string connectAsNobody() {
    pid_t pid = ::fork();
    if (pid == 0) {
      if (::setgid(65534) != 0 || ::setuid(65534) != 0) ::_exit(10);
      int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
      sockaddr_un addr{};
      addr.sun_family = AF_UNIX;
      std::strncpy(addr.sun_path, path_.c_str(), sizeof(addr.sun_path) - 1);
      if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
        ::_exit(errno == EACCES ? 0 : 11);
      }
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, 20'000) == 1) {
        char c;
        ::_exit(::read(fd, &c, 1) == 0 ? 1 : 12);
      }
      ::_exit(2);
    }
    int wstatus = 0;
    ::waitpid(pid, &wstatus, 0);
    if (!WIFEXITED(wstatus)) return "child died";
    switch (WEXITSTATUS(wstatus)) {
      case 0:
        return "connect refused";
      case 1:
        return "closed by server";
      case 2:
        return "still open";
      default:
        return "child error " + std::to_string(WEXITSTATUS(wstatus));
    }
  }

  std::string dir_;
  std::string path_;
  FakeTarget target_;
  std::unique_ptr<ControlServer> server_;
};

TEST_F(ControlTest, ServesStatusRowsToAClient) {
  serve();
  auto c = client();
  auto rows = c->status();
  ASSERT_TRUE(rows.ok()) << rows.status().toString();
  ASSERT_EQ(rows->size(), 2u);
  EXPECT_EQ((*rows)[0].name, "http");
  EXPECT_EQ((*rows)[0].kind, "service");
  EXPECT_EQ((*rows)[0].pid, 4242);
  EXPECT_EQ((*rows)[0].restarts, 2u);
  EXPECT_EQ((*rows)[0].heartbeat_age_ms, 12.5);
  EXPECT_EQ((*rows)[1].state, "backoff");
  EXPECT_EQ((*rows)[1].last_error, "thread ended (injected crash)");
  EXPECT_FALSE((*rows)[1].heartbeat_age_ms.has_value());
}

TEST_F(ControlTest, ErrorsKeepTheirCodeAndMessageAcrossTheWire) {
  serve();
  auto c = client();
  Status st = c->restart("ghost");
  EXPECT_EQ(st.code(), Errc::not_found);
  EXPECT_EQ(st.message(), "no service named 'ghost'");
  EXPECT_TRUE(c->restart("http").ok());
  EXPECT_TRUE(c->stop().ok());
  EXPECT_EQ(target_.calls(), (std::vector<std::string>{"restart ghost", "restart http", "stop"}));
}

TEST_F(ControlTest, RefusesFaultsWhenTheConfigDisablesThem) {
  serve(/*faults_enabled=*/false);
  Status st = client()->fault("http", FaultKind::crash);
  EXPECT_EQ(st.code(), Errc::permission_denied);
  EXPECT_EQ(st.message(),
            "fault injection is disabled (set [faults] enabled = true in the config)");
  EXPECT_TRUE(target_.calls().empty()) << "the target never hears of it";
}

TEST_F(ControlTest, PassesFaultsThroughWhenEnabled) {
  serve(/*faults_enabled=*/true);
  auto c = client();
  for (FaultKind k :
       {FaultKind::crash, FaultKind::hang, FaultKind::throw_exception, FaultKind::abort_process}) {
    EXPECT_TRUE(c->fault("http", k).ok());
  }
  EXPECT_EQ(target_.calls(), (std::vector<std::string>{"fault http crash", "fault http hang",
                                                       "fault http throw", "fault http abort"}));
}

TEST_F(ControlTest, TheSocketIsForItsOwnerOnlyAndGoesAwayOnStop) {
  serve();
  struct stat st {};
  ASSERT_EQ(::lstat(path_.c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  server_->stop();
  server_->stop();  // safe twice
  EXPECT_NE(::lstat(path_.c_str(), &st), 0);
}

TEST_F(ControlTest, AStaleSocketFromACrashedRunIsReplaced) {
  serve();
  server_->stop();
  // What kill -9 leaves behind: a socket file nobody listens on.
  int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path_.c_str(), sizeof(addr.sun_path) - 1);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ::close(fd);
  serve();
  EXPECT_TRUE(client()->status().ok());
}

TEST_F(ControlTest, AnotherUidCannotConnectToTheSocket) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to switch to another uid";
  serve();
  EXPECT_EQ(connectAsNobody(), "connect refused");
}

TEST_F(ControlTest, AnotherUidIsRefusedByPeerCredentialsEvenIfTheModeWouldLetItIn) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to switch to another uid";
  serve();
  ASSERT_EQ(::chmod(path_.c_str(), 0666), 0);  // as if someone loosened the mode
  EXPECT_EQ(connectAsNobody(), "closed by server");
  EXPECT_TRUE(client()->status().ok()) << "the server keeps serving its own uid";
}

TEST_F(ControlTest, TheClientSaysWhenThereIsNoSocket) {
  auto c = ControlClient::connect(dir_ + "/nope.sock");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.code(), Errc::not_found);
  EXPECT_EQ(c.status().message(), "no control socket at " + dir_ +
                                      "/nope.sock (is the daemon running? is the path right?)");
}

TEST_F(ControlTest, SeamctlStatusPrintsATable) {
  serve();
  std::string out;
  ASSERT_EQ(seamctl({"--socket", path_, "status"}, &out), 0);
  EXPECT_EQ(out,
            "NAME  KIND     STATE    PID   RESTARTS  HEARTBEAT  ABANDONED  LAST ERROR\n"
            "http  service  running  4242  2         12 ms      0          -\n"
            "fuse  service  backoff  4242  3         -          1          thread ended (injected "
            "crash)\n");
}

TEST_F(ControlTest, SeamctlStatusPrintsJson) {
  serve();
  std::string out;
  ASSERT_EQ(seamctl({"--socket", path_, "status", "--json"}, &out), 0);
  auto j = nlohmann::json::parse(out);
  ASSERT_EQ(j["services"].size(), 2u);
  EXPECT_EQ(j["services"][0]["name"], "http");
  EXPECT_EQ(j["services"][0]["pid"], 4242);
  EXPECT_EQ(j["services"][0]["heartbeat_age_ms"], 12.5);
  EXPECT_EQ(j["services"][1]["state"], "backoff");
  EXPECT_TRUE(j["services"][1]["heartbeat_age_ms"].is_null());
  EXPECT_EQ(j["services"][1]["abandoned_threads"], 1);
}

TEST_F(ControlTest, SeamctlStatsPrintsPrometheusTextOrJson) {
  serve();
  std::string out;
  ASSERT_EQ(seamctl({"--socket", path_, "stats"}, &out), 0);
  EXPECT_NE(out.find("seams_requests_total{frontend=\"http\",op=\"get\"} 17"), std::string::npos);
  ASSERT_EQ(seamctl({"--json", "--socket", path_, "stats"}, &out), 0);
  auto j = nlohmann::json::parse(out);
  ASSERT_EQ(j["metrics"].size(), 2u);
  EXPECT_EQ(j["metrics"][0]["name"], "seams_requests_total");
  EXPECT_EQ(j["metrics"][0]["labels"]["op"], "get");
  EXPECT_EQ(j["metrics"][0]["value"], 17.0);
  EXPECT_EQ(j["metrics"][1]["value"], 3.5);
}

TEST_F(ControlTest, SeamctlCachesListsEveryEntryAsATableOrJson) {
  serve();
  std::string out;
  ASSERT_EQ(seamctl({"--socket", path_, "caches"}, &out), 0);
  EXPECT_NE(out.find("/docs/a.txt"), std::string::npos);
  EXPECT_NE(out.find("2 entries, 4652 bytes"), std::string::npos);
  ASSERT_EQ(seamctl({"--json", "--socket", path_, "caches"}, &out), 0);
  auto j = nlohmann::json::parse(out);
  ASSERT_EQ(j["entries"].size(), 2u);
  EXPECT_EQ(j["entries"][0]["cache"], "vault");
  EXPECT_EQ(j["entries"][0]["kind"], "content");
  EXPECT_EQ(j["entries"][0]["path"], "/docs/a.txt");
  EXPECT_EQ(j["entries"][0]["version"], 7);
  EXPECT_EQ(j["entries"][0]["bytes"], 4352);
  EXPECT_EQ(j["entries"][1]["kind"], "list");
}

TEST_F(ControlTest, AServerThatNeverAnswersTimesTheCallOutInsteadOfHanging) {
  // A socket that listens but never accepts: the kernel completes the connection, nobody answers,
  // as with a daemon stopped by SIGSTOP.
  UniqueFd listener(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  ASSERT_TRUE(listener.valid());
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path_.c_str(), sizeof(addr.sun_path) - 1);
  ASSERT_EQ(::bind(listener.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(::listen(listener.get(), 4), 0);
  auto c = ControlClient::connect(path_, 100ms);
  ASSERT_TRUE(c.ok()) << c.status().toString();
  auto rows = (*c)->status();
  ASSERT_FALSE(rows.ok());
  EXPECT_EQ(rows.status().code(), Errc::timeout);
  EXPECT_NE(rows.status().message().find("no answer on"), std::string::npos);
  c->reset();  // one KJ event loop per thread: seamctl below makes its own
  std::string out, err;
  EXPECT_EQ(seamctl({"--socket", path_, "--timeout", "0.1", "stats"}, &out, &err), 1);
  EXPECT_NE(err.find("within 100 ms"), std::string::npos) << err;
}

TEST_F(ControlTest, SeamctlGivesClearErrors) {
  serve();
  std::string out, err;
  EXPECT_EQ(seamctl({"--socket", path_, "restart", "ghost"}, &out, &err), 1);
  EXPECT_EQ(err, "seamctl: no service named 'ghost'\n");
  EXPECT_EQ(seamctl({"--socket", path_, "fault", "http", "crash"}, &out, &err), 1);
  EXPECT_EQ(err,
            "seamctl: fault injection is disabled (set [faults] enabled = true in the config)\n");
  EXPECT_EQ(seamctl({"--socket", dir_ + "/gone.sock", "status"}, &out, &err), 1);
  EXPECT_NE(err.find("no control socket at"), std::string::npos);
  EXPECT_EQ(seamctl({"status"}, &out, &err), 2);
  EXPECT_NE(err.find("give --socket PATH or --config FILE"), std::string::npos) << err;
  EXPECT_EQ(seamctl({"--socket", path_, "fault", "http", "explode"}, &out, &err), 2);
  EXPECT_NE(err.find("explode not in {crash,hang,throw,abort}"), std::string::npos);
}

TEST_F(ControlTest, SeamctlRestartAndStopAnswerWhatWasDone) {
  serve();
  std::string out;
  ASSERT_EQ(seamctl({"--socket", path_, "restart", "http"}, &out), 0);
  EXPECT_EQ(out, "restart of http requested\n");
  ASSERT_EQ(seamctl({"--socket", path_, "stop", "--json"}, &out), 0);
  EXPECT_EQ(nlohmann::json::parse(out)["ok"], true);
}

// The whole chain in one process: seamctl -> socket -> ControlServer -> ServiceManagerTarget ->
// ServiceManager.
TEST_F(ControlTest, SeamctlControlsARealServiceManager) {
  SimulatedEnv env;
  testing::Probe probe;
  ManagerOptions options;
  options.watchdog = testing::testWatchdogConfig();
  ServiceManager manager(env, options);
  ASSERT_TRUE(manager.add(testing::idleService(probe, "storage")).ok());
  ASSERT_TRUE(manager.add(testing::idleService(probe, "http", {"storage"})).ok());
  ASSERT_TRUE(manager.start().ok());
  ServiceManagerTarget target(manager, [] { return std::string("seams_up 1\n"); });
  ControlServer server(target, ControlServerOptions{path_, true});
  ASSERT_TRUE(server.start().ok());

  std::string out;
  ASSERT_EQ(seamctl({"--socket", path_, "status", "--json"}, &out), 0);
  auto j = nlohmann::json::parse(out);
  ASSERT_EQ(j["services"].size(), 2u);
  EXPECT_EQ(j["services"][0]["name"], "storage");
  EXPECT_EQ(j["services"][0]["state"], "running");
  EXPECT_EQ(j["services"][0]["pid"], ::getpid());

  ASSERT_EQ(seamctl({"--socket", path_, "restart", "http"}, &out), 0);
  manager.checkOnce();  // the watchdog carries the request out
  EXPECT_EQ(testing::statusOf(manager, "http")->restarts, 1u);

  ASSERT_EQ(seamctl({"--socket", path_, "stats"}, &out), 0);
  EXPECT_EQ(out.rfind("seams_up 1\n", 0), 0u) << "the root's metrics come first";
  EXPECT_NE(out.find("seams_service_restarts_total{service=\"http\"} 1\n"), std::string::npos);
  EXPECT_NE(out.find("seams_service_up{service=\"storage\"} 1\n"), std::string::npos);

  ASSERT_EQ(seamctl({"--socket", path_, "fault", "http", "crash"}, &out), 0);
  ASSERT_TRUE(testing::settle(
      manager, [&] { return testing::stateOf(manager, "http") == ServiceState::backoff; }));

  ASSERT_EQ(seamctl({"--socket", path_, "stop"}, &out), 0);
  EXPECT_EQ(manager.waitForStopRequest(), 0);
  server.stop();
  EXPECT_TRUE(manager.shutdown().ok());
}

TEST_F(ControlTest, TheControlServiceServesWhileRunningUnderTheManager) {
  SimulatedEnv env;
  ManagerOptions options;
  options.watchdog = testing::testWatchdogConfig();
  ServiceManager manager(env, options);
  ServiceManagerTarget target(manager, nullptr);
  ASSERT_TRUE(
      manager.add(std::make_unique<ControlService>(target, ControlServerOptions{path_, false}))
          .ok());
  ASSERT_TRUE(manager.start().ok());
  std::string out;
  ASSERT_EQ(seamctl({"--socket", path_, "status", "--json"}, &out), 0);
  EXPECT_EQ(nlohmann::json::parse(out)["services"][0]["name"], "control");
  ASSERT_EQ(seamctl({"--socket", path_, "restart", "control"}, &out), 0);
  manager.checkOnce();  // restarts the control service (a new server on a new thread)
  EXPECT_EQ(testing::statusOf(manager, "control")->restarts, 1u);
  ASSERT_EQ(seamctl({"--socket", path_, "status"}, &out), 0);
  EXPECT_TRUE(manager.shutdown().ok());
  EXPECT_FALSE(std::filesystem::exists(path_)) << "the socket goes with the service";
}

TEST_F(ControlTest, SeamctlInitWritesADeployment) {
  std::string out, err;
  ASSERT_EQ(seamctl({"init", dir_ + "/demo", "--http", "127.0.0.1:0", "--codec", "protobuf",
                     "--coherence", "ttl", "--faults"},
                    &out, &err),
            0)
      << err;
  EXPECT_TRUE(std::filesystem::exists(dir_ + "/demo/seams.toml"));
  EXPECT_TRUE(std::filesystem::exists(dir_ + "/demo/credentials"));
  EXPECT_EQ(seamctl({"init", dir_ + "/demo"}, &out, &err), 1) << "refuses to overwrite";
}

// --- issue 12: what seamctl says, and where it finds the socket ---------------------------------

TEST_F(ControlTest, ADaemonThatHangsUpMidCallIsReportedAsPossiblyExitedNotAsARefusal) {
  // What `fault fuse abort` does from the client's side: the connection is accepted, then the
  // process is gone. We are root (or the socket's owner), so this cannot be the uid check.
  UniqueFd listener(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path_.c_str(), path_.size());
  ASSERT_EQ(::bind(listener.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::listen(listener.get(), 4), 0);
  std::thread hang_up([&] { UniqueFd conn(::accept(listener.get(), nullptr, nullptr)); });
  std::string out, err;
  EXPECT_EQ(seamctl({"--socket", path_, "status"}, &out, &err), 1);
  hang_up.join();
  EXPECT_NE(err.find("the daemon closed the connection on " + path_), std::string::npos) << err;
  EXPECT_NE(err.find("it may have exited"), std::string::npos) << err;
  EXPECT_EQ(err.find("only its own uid"), std::string::npos) << err;
}

TEST_F(ControlTest, SeamctlTakesTheSocketFromConfigOrFromTheSeamsTomlInTheCurrentDirectory) {
  serve();
  const std::string config = dir_ + "/seams.toml";
  std::ofstream(config) << "vault_root = \"vault\"\ncontrol_socket = \"control.sock\"\n"
                           "[fuse]\nenabled = false\n";
  std::string out, err;
  EXPECT_EQ(seamctl({"--config", config, "status"}, &out, &err), 0) << err;
  EXPECT_NE(out.find("http"), std::string::npos) << out;

  const std::filesystem::path before = std::filesystem::current_path();
  std::filesystem::current_path(dir_);
  out.clear();
  const int here = seamctl({"status"}, &out, &err);
  std::filesystem::current_path("/");
  err.clear();
  const int nowhere = seamctl({"status"}, nullptr, &err);
  std::filesystem::current_path(before);
  EXPECT_EQ(here, 0) << "./seams.toml is the default";
  EXPECT_NE(out.find("http"), std::string::npos) << out;
  EXPECT_EQ(nowhere, 2);
  EXPECT_NE(err.find("give --socket PATH or --config FILE"), std::string::npos) << err;

  EXPECT_EQ(seamctl({"--socket", path_, "--config", config, "status"}, nullptr, &err), 2)
      << "one or the other";
  EXPECT_EQ(seamctl({"--config", dir_ + "/missing.toml", "status"}, nullptr, &err), 1);
  EXPECT_NE(err.find("missing.toml"), std::string::npos) << err;
}

TEST_F(ControlTest, WaitReturnsOnceEveryRowRunsAndOtherwiseSaysWhatItWaitsFor) {
  serve();
  std::string out, err;
  EXPECT_EQ(seamctl({"--socket", path_, "wait", "0.3"}, &out, &err), 1);
  EXPECT_NE(err.find("not ready within 0.3 s"), std::string::npos) << err;
  EXPECT_NE(err.find("fuse backoff"), std::string::npos) << err;

  target_.fuse_running = true;
  out.clear();
  EXPECT_EQ(seamctl({"--socket", path_, "wait", "5"}, &out, &err), 0) << err;
  EXPECT_NE(out.find("ready: 2 running"), std::string::npos) << out;
}

TEST_F(ControlTest, WaitForADaemonThatAlreadyExitedFailsAtOnce) {
  const pid_t pid = ::fork();
  if (pid == 0) ::_exit(1);
  int wstatus = 0;
  ASSERT_EQ(::waitpid(pid, &wstatus, 0), pid);
  std::string err;
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(
      seamctl({"--socket", path_, "wait", "600", "--pid", std::to_string(pid)}, nullptr, &err), 1);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(300))
      << "not the 600 s timeout";
  EXPECT_NE(err.find("exited before it was ready"), std::string::npos) << err;
}

}  // namespace
}  // namespace seams
