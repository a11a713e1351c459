#include "tests/e2e/deployment.h"

#include <netinet/in.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>

#include "core/common/unique_fd.h"
#include "core/config/config.h"
#include "core/process/host.h"
#include "core/runtime/service_names.h"

namespace seams::e2e {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using testing::scaled;
using testing::scaledMs;

std::uint16_t freePort() {
  return freeLoopbackPort();
}
bool isMounted(const std::string& path) {
  return isMountPoint(path);
}
std::string readFile(const std::string& path) {
  return readWholeFile(path);
}

std::string TestDeployment::seamdPath() {
  return SEAMS_SEAMD_PATH;
}
std::string TestDeployment::seamctlPath() {
  return SEAMS_SEAMCTL_PATH;
}
std::string TestDeployment::seamSplitPath() {
#ifdef SEAMS_SEAM_SPLIT_PATH
  return SEAMS_SEAM_SPLIT_PATH;
#else
  return {};
#endif
}

DeploymentOptions DeploymentOptions::fromName(const std::string& name) {
  DeploymentOptions o;
  std::vector<std::string> parts;
  std::stringstream ss(name);
  for (std::string part; std::getline(ss, part, '/');) parts.push_back(part);
  o.kind = parts.empty() ? "mono" : parts[0];
  if (parts.size() > 1) o.codec = parts[1];
  if (parts.size() > 2) o.coherence = parts[2];
  return o;
}

std::vector<std::string> TestDeployment::componentNames() const {
  if (split())
    return {kFsdDaemon, kAuthdDaemon, kSyncdDaemon, kHttpdDaemon, kFusedDaemon, kControlService};
  return {kStorageService, kAuthService, kSyncService, kHttpService, kFuseService, kControlService};
}

std::string TestDeployment::statusField(const std::string& component,
                                        const std::string& field) const {
  CtlResult r = seamctl({"status", "--json"});
  auto j = nlohmann::json::parse(r.output, nullptr, false);
  if (j.is_discarded() || !j.contains("services")) return {};
  for (const auto& row : j["services"]) {
    if (row.value("name", "") == component && row.contains(field)) {
      const auto& v = row[field];
      return v.is_string() ? v.get<std::string>() : v.dump();
    }
  }
  return {};
}

pid_t TestDeployment::componentPid(const std::string& component) const {
  std::string v = statusField(component, "pid");
  return v.empty() || v == "null" ? -1 : static_cast<pid_t>(std::stol(v));
}

int TestDeployment::componentRestarts(const std::string& component) const {
  std::string v = statusField(component, "restarts");
  return v.empty() || v == "null" ? -1 : std::stoi(v);
}

TestDeployment::TestDeployment(DeploymentOptions options) : options_(std::move(options)) {
  char tmpl[] = "/tmp/seams-e2e-XXXXXX";
  if (::mkdtemp(tmpl) != nullptr) dir_ = tmpl;
  // Other uids (the demo users alice and bob, whom FUSE tests act as) must be able to reach
  // the mount point inside; mkdtemp made the directory 0700.
  if (!dir_.empty()) ::chmod(dir_.c_str(), 0711);
  mountpoint_ = dir_ + "/mnt";
  if (!dir_.empty()) sanitizer_reports_.emplace(dir_ + "/sanitizer");
}

TestDeployment::~TestDeployment() {
  if (process_ && process_->running()) (void)stop(10s);
  process_.reset();
  // Reports are read once every process of the deployment has ended (a survivor fails the test
  // and is killed): a daemon's last words, LeakSanitizer's, come at its exit, and the log is
  // complete only then.
  if (sanitizer_reports_) {
    (void)sanitizer_reports_->waitUntilGone(scaled(20s));
    sanitizer_reports_->collectFromStderr(readFile(logPath()), "daemon.log");
    testing::expectNoSanitizerReports(*sanitizer_reports_, "deployment " + dir_);
  }
  // Whatever happened, leave no mount behind (a test that killed the daemon, say).
  if (!mountpoint_.empty() && isMounted(mountpoint_)) ::umount2(mountpoint_.c_str(), MNT_DETACH);
  std::error_code ec;
  if (!dir_.empty()) fs::remove_all(dir_, ec);
}

std::string TestDeployment::password(const std::string& user) const {
  auto it = passwords_.find(user);
  return it == passwords_.end() ? std::string() : it->second;
}

Result<ChildProcess> TestDeployment::spawn(const std::string& program,
                                           std::vector<std::string> args,
                                           const std::string& output_path,
                                           std::vector<std::string> extra_env,
                                           std::vector<PassedSocket> listen_fds) const {
  if (sanitizer_reports_) {
    for (std::string& kv : sanitizer_reports_->environment()) extra_env.push_back(std::move(kv));
  }
  return ChildProcess::spawn({.program = program,
                              .args = std::move(args),
                              .extra_env = std::move(extra_env),
                              .stdout_path = output_path,
                              .stderr_path = output_path,
                              .listen_fds = std::move(listen_fds)});
}

TestDeployment::CtlResult TestDeployment::seamctl(const std::vector<std::string>& args) const {
  std::string out_path = dir_ + "/seamctl.out";
  ::unlink(out_path.c_str());
  std::vector<std::string> argv = {"--socket", controlSocket()};
  argv.insert(argv.end(), args.begin(), args.end());
  CtlResult r;
  auto child = spawn(seamctlPath(), argv, out_path);
  if (!child.ok()) {
    r.output = child.status().toString();
    return r;
  }
  auto st = child->wait(scaled(60s));
  r.output = readFile(out_path);
  if (sanitizer_reports_) sanitizer_reports_->collectFromStderr(r.output, "seamctl");
  if (st.ok()) r.exit_code = st->signaled ? 128 + st->code : st->code;
  return r;
}

Status TestDeployment::initialise() {
  if (dir_.empty()) return Status(Errc::io_error, "mkdtemp failed");
  http_port_ = freePort();
  std::vector<std::string> args = {"init",        dir_,
                                   "--http",      "127.0.0.1:" + std::to_string(http_port_),
                                   "--mount",     mountpoint_,
                                   "--codec",     options_.codec,
                                   "--coherence", options_.coherence};
  if (options_.faults) args.push_back("--faults");
  std::string out_path = dir_ + "/init.out";
  auto child = spawn(seamctlPath(), args, out_path);
  if (!child.ok()) return child.status();
  auto st = child->wait(scaled(120s));
  if (!st.ok()) return st.status();
  if (sanitizer_reports_) sanitizer_reports_->collectFromStderr(readFile(out_path), "seamctl-init");
  if (!st->success()) {
    return Status(Errc::internal, "seamctl init failed: " + readFile(out_path));
  }
  std::istringstream creds(readFile(dir_ + "/credentials"));
  std::string user, pass;
  while (creds >> user >> pass) passwords_[user] = pass;

  // A sanitized daemon starts and stops slower: scale the supervisor's own timeouts from their
  // defaults unless the test sets them.
  std::map<std::string, std::string> overrides = options_.overrides;
  if (testing::timeScale() > 1.0) {
    const WatchdogConfig defaults;
    overrides.emplace("watchdog.start_timeout_ms",
                      std::to_string(scaledMs(defaults.start_timeout_ms)));
    overrides.emplace("watchdog.stop_timeout_ms",
                      std::to_string(scaledMs(defaults.stop_timeout_ms)));
  }
  return editConfig(overrides);
}

Status TestDeployment::editConfig(const std::map<std::string, std::string>& overrides) const {
  if (overrides.empty()) return okStatus();
  // Edit keys in place: find the [section] header, then the `key = ...` line beneath it.
  std::istringstream in(readFile(configPath()));
  std::ostringstream out;
  std::string line, section;
  std::map<std::string, std::string> pending = overrides;
  std::regex header(R"(^\s*\[([A-Za-z0-9_.]+)\]\s*$)");
  std::regex keyline(R"(^\s*([A-Za-z0-9_]+)\s*=.*$)");
  std::smatch m;
  while (std::getline(in, line)) {
    if (std::regex_match(line, m, header)) {
      section = m[1];
    } else if (std::regex_match(line, m, keyline)) {
      std::string full = section.empty() ? std::string(m[1]) : section + "." + std::string(m[1]);
      auto it = pending.find(full);
      if (it != pending.end()) {
        line = std::string(m[1]) + " = " + it->second;
        pending.erase(it);
      }
    }
    out << line << '\n';
  }
  if (!pending.empty()) {
    return Status(Errc::invalid_argument,
                  "override key not in the config: " + pending.begin()->first);
  }
  std::ofstream(configPath(), std::ios::trunc) << out.str();
  return okStatus();
}

Status TestDeployment::start(std::chrono::milliseconds timeout) {
  if (passwords_.empty()) {
    if (Status s = initialise(); !s.ok()) return s;
  }
  // freeLoopbackPort() hands out a port from the kernel's ephemeral range, where any process's
  // outgoing connection may take it before our daemon binds it: on a CI machine shared with
  // other suites that happens. Such a start is retried on a fresh port; nothing else is, and
  // not a port a test configured itself (a test may take one on purpose).
  for (int attempt = 1;; ++attempt) {
    const std::size_t log_offset = readFile(logPath()).size();
    Status s = startOnce(timeout);
    const std::string log = readFile(logPath()).substr(log_offset);
    const std::string ours = "cannot listen on 127.0.0.1:" + std::to_string(http_port_) + ":";
    const bool port_taken = !s.ok() && log.find(ours) != std::string::npos &&
                            log.find("Address already in use") != std::string::npos;
    if (!port_taken || attempt == 3) return s;
    if (process_) (void)process_->wait(scaled(30s));
    process_.reset();
    http_port_ = freePort();
    SEAMS_RETURN_IF_ERROR(
        editConfig({{"http.listen", "\"127.0.0.1:" + std::to_string(http_port_) + "\""}}));
  }
}

Status TestDeployment::startOnce(std::chrono::milliseconds timeout) {
  // Drop the previous run's socket first: its destructor unlinks the path we bind again.
  notify_.reset();
  auto notify = NotifySocket::bind(dir_ + "/notify.sock");
  if (!notify.ok()) return notify.status();
  notify_.emplace(std::move(*notify));
  std::string program = split() ? seamSplitPath() : seamdPath();
  if (program.empty()) return Status(Errc::not_supported, "this build has no seam-split");
  std::vector<PassedSocket> listeners;
  if (options_.http_listener >= 0) listeners.push_back({options_.http_listener, kHttpListenerName});
  auto child = spawn(program, {"--config", configPath()}, logPath(),
                     {"NOTIFY_SOCKET=" + notify_->path()}, std::move(listeners));
  if (!child.ok()) return child.status();
  process_.emplace(std::move(*child));
  const auto deadline = std::chrono::steady_clock::now() + scaled(timeout);
  while (std::chrono::steady_clock::now() < deadline) {
    auto msg = notify_->receive(200ms);
    if (msg.ok() && msg->has("READY", "1")) return okStatus();
    if (!process_->running()) {
      return Status(Errc::unavailable,
                    "daemon exited before READY=1; log:\n" + readFile(logPath()));
    }
  }
  return Status(Errc::timeout, "no READY=1 in time; log:\n" + readFile(logPath()));
}

Result<ExitStatus> TestDeployment::stop(std::chrono::milliseconds grace) {
  if (!process_) return Status(Errc::invalid_argument, "not started");
  return process_->terminate(scaled(grace));
}

void TestDeployment::kill9() {
  if (process_) {
    (void)process_->signal(SIGKILL);
    (void)process_->wait(scaled(30s));
  }
}

}  // namespace seams::e2e
