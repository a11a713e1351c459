#include "tests/split/launcher/launcher_harness.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "core/runtime/service_names.h"
#include "split/launcher/daemon_spec.h"

namespace seams::split::testing {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using seams::testing::scaled;
using seams::testing::scaledMs;

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

std::string seamctlPath() {
  return SEAMS_SEAMCTL_PATH;
}
std::string seamSplitPath() {
  return SEAMS_SEAM_SPLIT_PATH;
}
std::string fakeDaemonPath() {
  return SEAMS_FAKE_DAEMON_PATH;
}

bool processGone(pid_t pid) {
  if (::kill(pid, 0) != 0 && errno == ESRCH) return true;
  // Orphans are reaped by whoever adopts them; until then a zombie runs nothing.
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  const std::size_t paren = text.rfind(')');
  if (text.empty() || paren == std::string::npos || paren + 2 >= text.size()) return true;
  return text[paren + 2] == 'Z' || text[paren + 2] == 'X';
}

bool waitAllGone(const std::vector<pid_t>& pids, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + scaled(timeout);
  for (;;) {
    bool all = true;
    for (pid_t p : pids) all = all && processGone(p);
    if (all) return true;
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(10ms);
  }
}

namespace {

// Short and under /tmp: socket paths must fit sockaddr_un.
std::string makeTempDir() {
  char tmpl[] = "/tmp/seams-split-XXXXXX";
  const char* dir = ::mkdtemp(tmpl);
  return dir != nullptr ? dir : "";
}

}  // namespace

LauncherUnderTest::LauncherUnderTest(LauncherOptions options)
    : options_(std::move(options)), dir_(makeTempDir()), reports_(dir_ + "/sanitizer") {
  fs::create_directories(dir_ + "/fake");
  if (options_.seamctl_init) {
    init_status_ = initWithSeamctl();
  } else {
    writeConfig();
  }
}

Status LauncherUnderTest::initWithSeamctl() {
  config_path_ = dir_ + "/seams.toml";
  SpawnOptions options;
  options.program = seamctlPath();
  options.args = {"init", dir_, "--http", "127.0.0.1:0", "--faults"};
  options.extra_env = reports_.environment();
  options.stdout_path = dir_ + "/init.log";
  options.stderr_path = dir_ + "/init.log";
  Result<ChildProcess> child = ChildProcess::spawn(options);
  if (!child.ok()) return child.status();
  Result<ExitStatus> exit = child->wait(scaled(60s));
  if (!exit.ok()) return exit.status();
  reports_.collectFromStderr(slurp(dir_ + "/init.log"), "seamctl-init");
  if (!exit->success()) {
    return Status(Errc::internal,
                  "seamctl init " + exit->toString() + ": " + slurp(dir_ + "/init.log"));
  }
  return okStatus();
}

LauncherUnderTest::~LauncherUnderTest() {
  if (process_ && process_->running()) (void)process_->terminate(scaled(10s));
  process_.reset();
  // A report from seam-split, a fake, or a seamctl fails the test (sanitizer_reports.h).
  (void)reports_.waitUntilGone(scaled(20s));  // the log is complete once every process ended
  reports_.collectFromStderr(log(), "launcher.log");
  seams::testing::expectNoSanitizerReports(reports_, "seam-split in " + dir_);
  notify_.reset();
  // Never leave a test's mount behind, whatever failed (remove_all would also walk into it).
  (void)detachFuseMount(mountpoint());
  std::error_code ec;
  fs::remove_all(dir_, ec);
}

void LauncherUnderTest::writeConfig() {
  const std::string bin = dir_ + "/bin";
  fs::create_directories(bin);
  for (const char* name : {kFsdDaemon, kAuthdDaemon, kSyncdDaemon, kHttpdDaemon, kFusedDaemon}) {
    fs::create_symlink(fakeDaemonPath(), bin + "/seam-" + name);
  }
  fs::create_directories(dir_ + "/vault");
  fs::create_directories(mountpoint());
  config_path_ = dir_ + "/seams.toml";
  std::ofstream out(config_path_);
  out << "vault_root = \"vault\"\n"
      << "runtime_dir = \"run\"\n"
      << "log_level = \"debug\"\n"
      << "[http]\nlisten = \"127.0.0.1:0\"\n"
      << "[fuse]\nmountpoint = \"mnt\"\n"
      << "[watchdog]\n"
      << "interval_ms = 20\n"
      << "heartbeat_deadline_ms = " << scaledMs(300) << "\n"
      << "kill_deadline_ms = " << scaledMs(800) << "\n"
      << "start_timeout_ms = " << scaledMs(options_.start_timeout_ms) << "\n"
      << "stop_timeout_ms = " << scaledMs(2000) << "\n"
      << "backoff_initial_ms = 20\n"
      << "backoff_max_ms = 200\n"
      << "backoff_jitter = 0.0\n"
      << "intensity_max_restarts = " << options_.intensity_max_restarts << "\n"
      << "intensity_period_s = 60\n"
      << "strategy = \"" << options_.strategy << "\"\n"
      << "[split]\nbin_dir = \"" << bin << "\"\n"
      << "[faults]\nenabled = " << (options_.faults ? "true" : "false") << "\n";
}

void LauncherUnderTest::script(const std::string& name, const std::string& mode) {
  const std::string path = dir_ + "/fake/" + name + ".mode";
  if (mode.empty()) {
    fs::remove(path);
  } else {
    std::ofstream(path) << mode << "\n";
  }
}

Status LauncherUnderTest::spawn() {
  SEAMS_RETURN_IF_ERROR(init_status_);
  notify_.reset();  // before binding anew: its destructor removes the file at the same path
  Result<NotifySocket> notify = NotifySocket::bind(dir_ + "/test-notify.sock");
  if (!notify.ok()) return notify.status();
  notify_.emplace(std::move(*notify));
  SpawnOptions options;
  options.program = seamSplitPath();
  options.args = {"--config", config_path_};
  // In a sanitizer build the fakes are instrumented too; with this environment a `fault crash`
  // (SIGSEGV) kills them as it kills a daemon, and any report they or seam-split make is kept.
  options.extra_env = reports_.environment();
  options.extra_env.push_back("NOTIFY_SOCKET=" + notify_->path());
  options.stderr_path = dir_ + "/launcher.log";
  options.stdout_path = dir_ + "/launcher.log";
  Result<ChildProcess> child = ChildProcess::spawn(options);
  if (!child.ok()) return child.status();
  process_.emplace(std::move(*child));
  return okStatus();
}

Status LauncherUnderTest::waitFor(const std::string& key, const std::string& value,
                                  std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + scaled(timeout);
  while (std::chrono::steady_clock::now() < deadline) {
    Result<NotifyMessage> m = notify_->receive(100ms);
    if (m.ok() && m->pid == process_->pid() && m->has(key, value)) return okStatus();
    if (!m.ok() && !process_->running()) {
      return Status(Errc::unavailable,
                    "seam-split exited before " + key + "=" + value + "; its log:\n" + log());
    }
  }
  return Status(Errc::timeout, "no " + key + "=" + value + " from seam-split; its log:\n" + log());
}

Status LauncherUnderTest::start(std::chrono::milliseconds timeout) {
  SEAMS_RETURN_IF_ERROR(spawn());
  return waitFor("READY", "1", timeout);
}

Result<ExitStatus> LauncherUnderTest::waitExit(std::chrono::milliseconds timeout) {
  return process_->wait(scaled(timeout));
}

LauncherUnderTest::Ctl LauncherUnderTest::seamctl(const std::vector<std::string>& args) const {
  const std::string out_path = dir_ + "/seamctl.out";
  fs::remove(out_path);
  SpawnOptions options;
  options.program = seamctlPath();
  options.args = {"--socket", runtimeDir() + "/control.sock"};
  options.args.insert(options.args.end(), args.begin(), args.end());
  options.extra_env = reports_.environment();
  options.stdout_path = out_path;
  options.stderr_path = out_path;
  Ctl ctl;
  Result<ChildProcess> child = ChildProcess::spawn(options);
  if (!child.ok()) {
    ctl.output = child.status().toString();
    return ctl;
  }
  Result<ExitStatus> exit = child->wait(scaled(30s));
  if (exit.ok()) ctl.exit_code = exit->signaled ? 128 + exit->code : exit->code;
  ctl.output = slurp(out_path);
  reports_.collectFromStderr(ctl.output, "seamctl");
  return ctl;
}

std::map<std::string, nlohmann::json> LauncherUnderTest::status() const {
  std::map<std::string, nlohmann::json> rows;
  Ctl ctl = seamctl({"status", "--json"});
  if (ctl.exit_code != 0) return rows;
  nlohmann::json doc = nlohmann::json::parse(ctl.output, nullptr, false);
  if (doc.is_discarded() || !doc.contains("services")) return rows;
  for (const auto& row : doc["services"]) rows[row["name"].get<std::string>()] = row;
  return rows;
}

Result<nlohmann::json> LauncherUnderTest::waitForRow(
    const std::string& name, const std::function<bool(const nlohmann::json&)>& pred,
    std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + scaled(timeout);
  nlohmann::json last;
  while (std::chrono::steady_clock::now() < deadline) {
    auto rows = status();
    if (auto it = rows.find(name); it != rows.end()) {
      last = it->second;
      if (pred(last)) return last;
    }
    std::this_thread::sleep_for(20ms);
  }
  return Status(Errc::timeout, "row " + name + " never matched; last: " + last.dump() +
                                   "\nlauncher log:\n" + log());
}

std::vector<std::string> LauncherUnderTest::events() const {
  std::vector<std::string> lines;
  std::istringstream in(slurp(dir_ + "/fake/events"));
  std::string line;
  while (std::getline(in, line)) lines.push_back(line);
  return lines;
}

std::vector<std::string> LauncherUnderTest::eventNames(const std::string& verb) const {
  std::vector<std::string> names;
  for (const std::string& line : events()) {
    std::istringstream fields(line);
    std::string v, name;
    fields >> v >> name;
    if (v == verb) names.push_back(name);
  }
  return names;
}

std::vector<pid_t> LauncherUnderTest::fakePids() const {
  std::vector<pid_t> pids;
  for (const std::string& line : events()) {
    std::istringstream fields(line);
    std::string verb, name;
    pid_t pid = 0;
    fields >> verb >> name >> pid;
    if (verb == "start" && pid > 0) pids.push_back(pid);
  }
  return pids;
}

std::string LauncherUnderTest::log() const {
  return slurp(dir_ + "/launcher.log");
}

}  // namespace seams::split::testing
