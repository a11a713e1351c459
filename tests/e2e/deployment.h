// TestDeployment: a whole deployment under test, as a user would run it.
//
// `seamctl init` writes a config into a fresh temp dir (with a free HTTP port, a mount point in
// the temp dir, faults enabled), optional overrides edit keys of that file, and the deployment's
// launcher (`seamd` for mono, `seam-split` for split) is spawned with NOTIFY_SOCKET pointing at a
// socket the test owns: start() returns once READY=1 arrived, exactly as systemd would see it.
// The destructor stops it (SIGTERM, then SIGKILL), unmounts anything left and removes the dir.
//
// Sanitizer builds: every process of the deployment (the launcher, its daemons, each seamctl) is
// started with SanitizerReports::environment(), so a report from any of them, a grandchild
// included, lands in `dir()/sanitizer/`. The destructor waits for them all to end and fails the
// running test with every report found (tests/support/sanitizer_reports.h). The timeouts below
// and the watchdog's start/stop timeouts written into the config are scaled with timeScale().
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/common/status.h"
#include "core/process/child_process.h"
#include "core/process/listen_fds.h"
#include "core/process/notify_socket.h"
#include "core/runtime/service_names.h"
#include "tests/support/sanitizer_reports.h"

namespace seams::e2e {

struct DeploymentOptions {
  std::string kind = "mono";       // "mono" (seamd) or "split" (seam-split and its five daemons)
  std::string codec = "capnp";     // split.codec
  std::string coherence = "push";  // cache.coherence
  bool faults = true;
  // "section.key" -> TOML value text, e.g. {"watchdog.kill_deadline_ms", "1500"}; a key without a
  // section ("log_level") is a top-level key.
  std::map<std::string, std::string> overrides;
  // A listening socket the launcher gets by socket activation (LISTEN_FDS, the socket named
  // "http"), as systemd passes seamd.socket's; -1: none. Borrowed: it must outlive the deployment.
  int http_listener = -1;

  // From a deployment name as the suite spells it: "mono", "split/CODEC" (coherence push) or
  // "split/CODEC/COHERENCE", e.g. "split/capnp/ttl".
  static DeploymentOptions fromName(const std::string& name);
};

class TestDeployment {
 public:
  explicit TestDeployment(DeploymentOptions options = {});
  ~TestDeployment();
  TestDeployment(const TestDeployment&) = delete;
  TestDeployment& operator=(const TestDeployment&) = delete;

  // Creates the config (first call only), spawns the launcher, waits for READY=1 (`timeout`
  // times timeScale()).
  Status start(std::chrono::milliseconds timeout = std::chrono::seconds(60));
  // SIGTERM and wait for a clean exit (SIGKILL after `grace` times timeScale()). Returns how it
  // ended.
  Result<ExitStatus> stop(std::chrono::milliseconds grace = std::chrono::seconds(30));
  // SIGKILL, no cleanup by the daemon (the mount is left dead: the next start must clear it).
  void kill9();
  bool running() const { return process_ && process_->running(); }
  bool split() const { return options_.kind == "split"; }
  const DeploymentOptions& options() const { return options_; }

  // What `seamctl status` lists: mono's services, or split's daemons (and the launcher's own
  // control service in both).
  std::vector<std::string> componentNames() const;
  // The component serving HTTP / the mount: "http"/"fuse" in mono, "httpd"/"fused" in split.
  std::string httpComponent() const { return split() ? kHttpdDaemon : kHttpService; }
  std::string fuseComponent() const { return split() ? kFusedDaemon : kFuseService; }
  // A row of `seamctl status --json` by name (pid, state, restarts, ...); null if missing.
  std::string statusField(const std::string& component, const std::string& field) const;
  pid_t componentPid(const std::string& component) const;
  int componentRestarts(const std::string& component) const;
  pid_t pid() const { return process_ ? process_->pid() : -1; }

  const std::string& dir() const { return dir_; }
  std::string configPath() const { return dir_ + "/seams.toml"; }
  std::string vaultRoot() const { return dir_ + "/vault"; }
  const std::string& mountpoint() const { return mountpoint_; }
  std::string controlSocket() const { return dir_ + "/run/control.sock"; }
  std::uint16_t httpPort() const { return http_port_; }
  std::string logPath() const { return dir_ + "/daemon.log"; }
  // The password `seamctl init` generated for a demo user ("admin", "alice", "bob").
  std::string password(const std::string& user) const;

  // Runs seamctl with the control socket of this deployment; stdout (and stderr) in `output`.
  struct CtlResult {
    int exit_code = -1;
    std::string output;
  };
  CtlResult seamctl(const std::vector<std::string>& args) const;

  // Paths of the built binaries.
  static std::string seamdPath();
  static std::string seamSplitPath();  // empty when the build has no seam-split
  static std::string seamctlPath();

 private:
  Status initialise();
  // Sets "section.key" -> TOML value text in the config file; every key must be there already.
  Status editConfig(const std::map<std::string, std::string>& overrides) const;
  // One spawn of the launcher and the wait for its READY=1.
  Status startOnce(std::chrono::milliseconds timeout);
  // Spawns one of our binaries with the sanitizer environment (and `extra_env`) added.
  Result<ChildProcess> spawn(const std::string& program, std::vector<std::string> args,
                             const std::string& output_path,
                             std::vector<std::string> extra_env = {},
                             std::vector<PassedSocket> listen_fds = {}) const;

  DeploymentOptions options_;
  std::string dir_;
  std::string mountpoint_;
  std::uint16_t http_port_ = 0;
  std::map<std::string, std::string> passwords_;
  std::optional<NotifySocket> notify_;
  std::optional<testing::SanitizerReports> sanitizer_reports_;
  std::optional<ChildProcess> process_;
};

// A free TCP port on 127.0.0.1 (bound and released; a tiny race is acceptable in tests).
std::uint16_t freePort();
// True if `path` is a mount point in /proc/self/mountinfo.
bool isMounted(const std::string& path);
// Reads a whole file ("" if missing).
std::string readFile(const std::string& path);

}  // namespace seams::e2e
