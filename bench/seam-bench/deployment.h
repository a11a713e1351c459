// Deployments under test, and the /proc accounting of their processes.
//
// A deployment name maps to (launcher binary, codec, coherence):
//   mono                       seamd
//   split/CODEC/COHERENCE      seam-split, [split] codec = CODEC, [cache] coherence = COHERENCE,
//                              CODEC one of capnp, protobuf, grpc; COHERENCE one of push, ttl, off
// BenchDeployment writes its config with `seamctl init` into a fresh temp dir (free loopback
// port, mount point inside, faults enabled), edits keys (cache budget, ...), fills the vault with
// the data set, and spawns the launcher with NOTIFY_SOCKET on a socket the bench owns, so READY=1
// is timed exactly as systemd would see it.
//
// Threading: one owner thread; processTree()/counters()/memory() may be called from any thread.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "bench/seam-bench/metrics.h"
#include "core/common/status.h"
#include "core/common/unique_fd.h"
#include "core/process/child_process.h"
#include "core/process/notify_socket.h"

namespace seams::bench {

struct Variant {
  std::string name;      // "mono", "split/capnp/push", ...
  std::string launcher;  // "seamd" | "seam-split"
  std::string codec;
  std::string coherence;
};
// Every valid name: mono, then split/CODEC/COHERENCE for each codec and coherence.
const std::vector<Variant>& knownVariants();
std::optional<Variant> findVariant(const std::string& name);
// findVariant(), or invalid_argument "unknown deployment 'NAME' (valid: mono, split/capnp/push,
// ...)".
Result<Variant> parseDeployment(const std::string& name);

// Where the binaries are: seamd, seamctl, seam-split (whichever exist).
struct Binaries {
  std::string dir;  // the build tree (binaries are looked up in its mono/, split/, core/control/)
  std::string seamd() const;
  std::string seamctl() const;
  std::string seamSplit() const;
  std::string launcher(const Variant& v) const {
    return v.launcher == "seamd" ? seamd() : seamSplit();
  }
};

// One start of a deployment: what startup measured.
struct StartTimes {
  double ready_ms = -1;       // spawn -> READY=1 of the launcher
  double first_http_ms = -1;  // spawn -> first 200 on GET /readyz
  double first_fuse_ms = -1;  // spawn -> first successful stat of a data-set file in the mount
  nlohmann::json timeline = nlohmann::json::array();  // every notify message: ms, pid, fields
  // Each service's or daemon's start from the launcher's log ("service X started", "mounted",
  // ...): ms after spawn (the log's wall clock has 1 ms resolution).
  nlohmann::json services = nlohmann::json::array();
};
// The start events of a launcher log written since `spawn`.
nlohmann::json serviceTimeline(const std::string& log_text,
                               std::chrono::system_clock::time_point spawn);

class BenchDeployment {
 public:
  BenchDeployment(Variant variant, Binaries bins, std::map<std::string, std::string> overrides);
  ~BenchDeployment();
  BenchDeployment(const BenchDeployment&) = delete;
  BenchDeployment& operator=(const BenchDeployment&) = delete;

  // seamctl init + overrides. The vault is then filled by the caller (vaultRoot()).
  Status prepare();
  // Spawns and waits for READY=1, the first HTTP GET and the first FUSE stat of `probe_path`.
  Result<StartTimes> start(const std::string& probe_path, double timeout_s = 60);
  // SIGTERM -> every process of the tree gone and the mount released (ms); SIGKILL after grace.
  Result<double> stop(double grace_s = 30);
  // SIGKILL to the whole tree (the hard-fault path); the mount is left to the next start.
  void kill9();
  bool running() const { return process_ && process_->running(); }
  // Plays systemd's socket unit for the HTTP API (the upgrade scenario, mono): binds
  // 127.0.0.1:httpPort() now and holds it until destruction; every later start() passes it to the
  // launcher (LISTEN_FDS, the socket named "http"), so the listener outlives each launcher and a
  // stop() and start() refuses no connection. REQUIRES: not running (the port must be free).
  Status holdHttpListener();
  bool holdsHttpListener() const { return http_listener_.valid(); }
  pid_t pid() const { return process_ ? process_->pid() : -1; }

  const Variant& variant() const { return variant_; }
  const std::string& dir() const { return dir_; }
  std::string configPath() const { return dir_ + "/seams.toml"; }
  std::string vaultRoot() const { return dir_ + "/vault"; }
  std::string mountpoint() const { return dir_ + "/mnt"; }
  std::string controlSocket() const { return dir_ + "/run/control.sock"; }
  std::uint16_t httpPort() const { return http_port_; }
  std::string password(const std::string& user) const;
  std::string configText() const;
  // The last `lines` lines of the launcher's log (stdout and stderr).
  std::string logTail(int lines) const;

  struct CtlResult {
    int exit_code = -1;
    std::string output;
  };
  CtlResult seamctl(const std::vector<std::string>& args) const;

  // The launcher and every descendant, now.
  std::vector<pid_t> processTree() const;
  ProcCounters counters() const;
  MemoryRollup memory() const;

 private:
  Variant variant_;
  Binaries bins_;
  std::map<std::string, std::string> overrides_;
  std::string dir_;
  std::uint16_t http_port_ = 0;
  std::map<std::string, std::string> passwords_;
  // Plays systemd's part after start: keeps reading NOTIFY_SOCKET (STATUS lines on every
  // restart, WATCHDOG pings), so the deployment never meets a full queue.
  void startDrain();
  void stopDrain();

  UniqueFd http_listener_;  // holdHttpListener()'s socket; outlives process_
  std::optional<NotifySocket> notify_;
  std::optional<ChildProcess> process_;
  std::thread drain_;  // owns notify_ while it runs
  std::atomic<bool> drain_stop_{false};
  std::atomic<std::uint64_t> notify_messages_{0};
};

// The text of a seams.toml with `overrides` (KEY -> TOML value text, KEY "section.key" or a
// top-level "key") written over the lines of those keys, every other line as it was (comments
// kept). invalid_argument naming the first key the text does not have.
Result<std::string> applyConfigOverrides(const std::string& text,
                                         const std::map<std::string, std::string>& overrides);

// Free TCP port on 127.0.0.1; mount check in /proc/self/mountinfo; whole-file read.
std::uint16_t freePort();
bool isMounted(const std::string& path);
std::string readFile(const std::string& path);
// Descendants of `root` (inclusive) from /proc/*/stat.
std::vector<pid_t> processTreeOf(pid_t root);
ProcCounters countersOf(const std::vector<pid_t>& pids);
MemoryRollup memoryOf(const std::vector<pid_t>& pids);
// Runs a program, waits, returns exit code and combined output.
std::pair<int, std::string> runProgram(const std::string& program,
                                       const std::vector<std::string>& args, double timeout_s,
                                       const std::string& scratch_dir);

}  // namespace seams::bench
