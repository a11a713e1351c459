// LauncherUnderTest: seam-split run as systemd would run it, against fake daemons.
//
// A fresh temp dir holds seams.toml (fast watchdog timings, a mountpoint, faults as asked), a bin
// dir of symlinks seam-fsd ... -> fake_daemon (split.bin_dir), and fake/ (scripts and the event
// log of the fakes, see fake_daemon.cpp); or, for the real daemons, what `seamctl init` writes.
// start() spawns seam-split with NOTIFY_SOCKET at a socket the test owns and returns once
// seam-split's READY=1 arrived.
//
// Under the sanitizers: seam-split, the fakes (instrumented too) and every seamctl run with
// SanitizerReports::environment(); the destructor fails the test with any report they wrote
// (tests/support/sanitizer_reports.h). Every timeout below and the watchdog deadlines written into
// the config are multiplied by timeScale().
#pragma once

#include <sys/types.h>

#include <chrono>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/common/status.h"
#include "core/process/child_process.h"
#include "core/process/notify_socket.h"
#include "tests/support/sanitizer_reports.h"

namespace seams::split::testing {

struct LauncherOptions {
  bool faults = true;
  std::string strategy = "one_for_one";
  int start_timeout_ms = 5000;
  int intensity_max_restarts = 5;
  // Instead of our own config and fake daemons: `seamctl init DIR --http 127.0.0.1:0 --faults`,
  // run as written, with the real daemons beside seam-split.
  bool seamctl_init = false;
};

class LauncherUnderTest {
 public:
  explicit LauncherUnderTest(LauncherOptions options = {});
  ~LauncherUnderTest();
  LauncherUnderTest(const LauncherUnderTest&) = delete;
  LauncherUnderTest& operator=(const LauncherUnderTest&) = delete;

  // Scripts daemon `name` (fsd, authd, ...) for its next starts: see fake_daemon.cpp.
  void script(const std::string& name, const std::string& mode);

  // Spawns seam-split; does not wait.
  Status spawn();
  // Waits for a notify message from seam-split with `key`=`value` (READY=1, STOPPING=1).
  Status waitFor(const std::string& key, const std::string& value,
                 std::chrono::milliseconds timeout = std::chrono::seconds(30));
  // spawn() and waitFor READY=1.
  Status start(std::chrono::milliseconds timeout = std::chrono::seconds(30));
  // Waits for seam-split to exit.
  Result<ExitStatus> waitExit(std::chrono::milliseconds timeout = std::chrono::seconds(30));
  pid_t pid() const { return process_ ? process_->pid() : -1; }
  Status signal(int sig) const { return process_->signal(sig); }

  struct Ctl {
    int exit_code = -1;
    std::string output;
  };
  Ctl seamctl(const std::vector<std::string>& args) const;
  // `seamctl status --json`, as one object per name.
  std::map<std::string, nlohmann::json> status() const;
  // Polls status() until `pred` holds for the row of `name` (bounded: real processes).
  Result<nlohmann::json> waitForRow(const std::string& name,
                                    const std::function<bool(const nlohmann::json&)>& pred,
                                    std::chrono::milliseconds timeout = std::chrono::seconds(30));

  // "start NAME PID" / "stop NAME PID" lines written by the fakes, in order.
  std::vector<std::string> events() const;
  // The names in the events of `verb` ("start" | "stop"), in order.
  std::vector<std::string> eventNames(const std::string& verb) const;
  // Every pid a fake has reported.
  std::vector<pid_t> fakePids() const;

  const std::string& dir() const { return dir_; }
  std::string runtimeDir() const { return dir_ + "/run"; }
  std::string mountpoint() const { return dir_ + "/mnt"; }
  std::string log() const;

 private:
  void writeConfig();
  Status initWithSeamctl();

  LauncherOptions options_;
  std::string dir_;
  seams::testing::SanitizerReports reports_;
  std::string config_path_;
  Status init_status_;
  std::optional<NotifySocket> notify_;
  std::optional<ChildProcess> process_;
};

// A process that is gone or a zombie no longer runs anything.
bool processGone(pid_t pid);
// Polls processGone() for every pid (bounded).
bool waitAllGone(const std::vector<pid_t>& pids,
                 std::chrono::milliseconds timeout = std::chrono::seconds(20));
std::string seamctlPath();
std::string seamSplitPath();
std::string fakeDaemonPath();

}  // namespace seams::split::testing
