#include "bench/seam-bench/deployment.h"

#include <dirent.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <atomic>
#include <cmath>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <thread>

#include "bench/seam-bench/http_client.h"
#include "bench/seam-bench/load.h"
#include "core/common/unique_fd.h"
#include "core/config/config.h"
#include "core/process/host.h"
#include "core/process/listen_fds.h"

namespace seams::bench {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

const std::vector<Variant>& knownVariants() {
  static const std::vector<Variant> v = [] {
    std::vector<Variant> out = {{"mono", "seamd", "capnp", "push"}};
    for (const char* codec : {"capnp", "protobuf", "grpc"}) {
      for (const char* coherence : {"push", "off", "ttl"}) {
        out.push_back(
            {std::string("split/") + codec + "/" + coherence, "seam-split", codec, coherence});
      }
    }
    return out;
  }();
  return v;
}

std::optional<Variant> findVariant(const std::string& name) {
  for (const auto& v : knownVariants()) {
    if (v.name == name) return v;
  }
  return std::nullopt;
}

Result<Variant> parseDeployment(const std::string& name) {
  if (auto v = findVariant(name)) return *v;
  std::string valid;
  for (const Variant& k : knownVariants()) valid += (valid.empty() ? "" : ", ") + k.name;
  return Status(Errc::invalid_argument, "unknown deployment '" + name + "' (valid: " + valid + ")");
}

std::string Binaries::seamd() const {
  return dir + "/mono/seamd";
}
std::string Binaries::seamctl() const {
  return dir + "/core/control/seamctl";
}
std::string Binaries::seamSplit() const {
  // The split executables land together in split/bin/ (seam-split finds its daemons beside it).
  const std::string in_bin = dir + "/split/bin/seam-split";
  return ::access(in_bin.c_str(), X_OK) == 0 ? in_bin : dir + "/split/seam-split";
}
std::uint16_t freePort() {
  return freeLoopbackPort();
}
bool isMounted(const std::string& path) {
  return isMountPoint(path);
}
std::string readFile(const std::string& path) {
  return readWholeFile(path);
}

std::vector<pid_t> processTreeOf(pid_t root) {
  std::vector<pid_t> out;
  if (root <= 0) return out;
  std::map<pid_t, std::vector<pid_t>> children;
  if (DIR* d = ::opendir("/proc")) {
    while (dirent* e = ::readdir(d)) {
      char* end = nullptr;
      long pid = std::strtol(e->d_name, &end, 10);
      if (*end != '\0' || pid <= 0) continue;
      auto ppid = parseStatPpid(readFile("/proc/" + std::string(e->d_name) + "/stat"));
      if (ppid) children[*ppid].push_back(static_cast<pid_t>(pid));
    }
    ::closedir(d);
  }
  if (::kill(root, 0) != 0) return out;
  std::vector<pid_t> stack = {root};
  while (!stack.empty()) {
    pid_t p = stack.back();
    stack.pop_back();
    out.push_back(p);
    for (pid_t c : children[p]) stack.push_back(c);
  }
  return out;
}

ProcCounters countersOf(const std::vector<pid_t>& pids) {
  static const long ticks = ::sysconf(_SC_CLK_TCK);
  ProcCounters total;
  for (pid_t pid : pids) {
    const std::string base = "/proc/" + std::to_string(pid);
    if (auto cpu = parseStatCpuSeconds(readFile(base + "/stat"), ticks)) total.cpu_seconds += *cpu;
    if (DIR* d = ::opendir((base + "/task").c_str())) {
      while (dirent* e = ::readdir(d)) {
        if (e->d_name[0] == '.') continue;
        parseStatusSwitches(readFile(base + "/task/" + e->d_name + "/status"), total);
      }
      ::closedir(d);
    }
  }
  return total;
}

MemoryRollup memoryOf(const std::vector<pid_t>& pids) {
  MemoryRollup m;
  for (pid_t pid : pids)
    m += parseSmapsRollup(readFile("/proc/" + std::to_string(pid) + "/smaps_rollup"));
  return m;
}

std::pair<int, std::string> runProgram(const std::string& program,
                                       const std::vector<std::string>& args, double timeout_s,
                                       const std::string& scratch_dir) {
  static std::atomic<int> counter{0};
  const std::string out_path =
      scratch_dir + "/run." + std::to_string(::getpid()) + "." + std::to_string(counter++) + ".out";
  auto child = ChildProcess::spawn(
      {.program = program, .args = args, .stdout_path = out_path, .stderr_path = out_path});
  if (!child.ok()) return {-1, child.status().toString()};
  auto st = child->wait(std::chrono::milliseconds(static_cast<long>(timeout_s * 1000)));
  std::string out = readFile(out_path);
  ::unlink(out_path.c_str());
  if (!st.ok()) return {-1, out + st.status().toString()};
  return {st->signaled ? 128 + st->code : st->code, out};
}

BenchDeployment::BenchDeployment(Variant variant, Binaries bins,
                                 std::map<std::string, std::string> overrides)
    : variant_(std::move(variant)), bins_(std::move(bins)), overrides_(std::move(overrides)) {
  char tmpl[] = "/tmp/seam-bench-XXXXXX";
  if (::mkdtemp(tmpl) != nullptr) dir_ = tmpl;
  if (!dir_.empty()) ::chmod(dir_.c_str(), 0711);  // demo uids reach the mount point inside
}

BenchDeployment::~BenchDeployment() {
  if (running()) (void)stop(10);
  stopDrain();
  process_.reset();
  if (!dir_.empty() && isMounted(mountpoint())) ::umount2(mountpoint().c_str(), MNT_DETACH);
  std::error_code ec;
  if (!dir_.empty()) fs::remove_all(dir_, ec);
}

std::string BenchDeployment::password(const std::string& user) const {
  auto it = passwords_.find(user);
  return it == passwords_.end() ? std::string() : it->second;
}

std::string BenchDeployment::configText() const {
  return readFile(configPath());
}

std::string BenchDeployment::logTail(int lines) const {
  const std::string text = readFile(dir_ + "/daemon.log");
  std::size_t pos = text.size();
  for (int n = 0; n <= lines && pos > 0; ++n) {
    pos = text.rfind('\n', pos - 1);
    if (pos == std::string::npos) return text;
  }
  return text.substr(pos + 1);
}

BenchDeployment::CtlResult BenchDeployment::seamctl(const std::vector<std::string>& args) const {
  std::vector<std::string> argv = {"--socket", controlSocket()};
  argv.insert(argv.end(), args.begin(), args.end());
  auto [code, out] = runProgram(bins_.seamctl(), argv, 60, dir_);
  return {code, out};
}

Status BenchDeployment::prepare() {
  if (dir_.empty()) return Status(Errc::io_error, "mkdtemp failed");
  http_port_ = freePort();
  auto [code, out] = runProgram(
      bins_.seamctl(),
      {"init", dir_, "--http", "127.0.0.1:" + std::to_string(http_port_), "--mount", mountpoint(),
       "--codec", variant_.codec, "--coherence", variant_.coherence, "--faults"},
      120, "/tmp");
  if (code != 0) return Status(Errc::internal, "seamctl init failed: " + out);
  std::istringstream creds(readFile(dir_ + "/credentials"));
  std::string user, pass;
  while (creds >> user >> pass) passwords_[user] = pass;

  auto edited = applyConfigOverrides(readFile(configPath()), overrides_);
  if (!edited.ok()) return edited.status();
  std::ofstream(configPath(), std::ios::trunc) << *edited;
  // The same check seamd makes at its start, here so a bad override names itself before the
  // launcher's log would.
  if (auto parsed = loadConfig(configPath()); !parsed.ok()) return parsed.status();
  return okStatus();
}

Result<std::string> applyConfigOverrides(const std::string& text,
                                         const std::map<std::string, std::string>& overrides) {
  // Edit keys in place: the [section] header, then `key = ...` beneath it.
  std::istringstream in(text);
  std::ostringstream edited;
  std::string line, section;
  auto pending = overrides;
  const std::regex header(R"(^\s*\[([A-Za-z0-9_.]+)\]\s*$)");
  const std::regex array_header(R"(^\s*\[\[.*$)");
  const std::regex keyline(R"(^\s*([A-Za-z0-9_]+)\s*=.*$)");
  std::smatch m;
  bool in_array = false;  // [[users]], [[rules]]: their keys are not the config's own
  while (std::getline(in, line)) {
    if (std::regex_match(line, m, header)) {
      section = m[1];
      in_array = false;
    } else if (std::regex_match(line, array_header)) {
      in_array = true;
    } else if (!in_array && std::regex_match(line, m, keyline)) {
      std::string full = section.empty() ? std::string(m[1]) : section + "." + std::string(m[1]);
      if (auto it = pending.find(full); it != pending.end()) {
        line = std::string(m[1]) + " = " + it->second;
        pending.erase(it);
      }
    }
    edited << line << '\n';
  }
  if (!pending.empty()) {
    return Status(Errc::invalid_argument,
                  "override key not in the config: " + pending.begin()->first);
  }
  return edited.str();
}

namespace {
constexpr long kFuseSuperMagic = 0x65735546;
bool fuseStatOk(const std::string& mountpoint, const std::string& path) {
  struct statfs sfs {};
  if (::statfs(mountpoint.c_str(), &sfs) != 0 || sfs.f_type != kFuseSuperMagic) return false;
  struct stat st {};
  return ::stat((mountpoint + path).c_str(), &st) == 0;
}
}  // namespace

Result<StartTimes> BenchDeployment::start(const std::string& probe_path, double timeout_s) {
  const std::string program = bins_.launcher(variant_);
  if (::access(program.c_str(), X_OK) != 0) {
    return Status(Errc::not_found, program + " is not built");
  }
  // A restart (after a hard fault) binds afresh: the old socket goes first, since its
  // destructor removes the path the new one would have taken over.
  stopDrain();
  notify_.reset();
  process_.reset();
  auto notify = NotifySocket::bind(dir_ + "/notify.sock");
  if (!notify.ok()) return notify.status();
  notify_.emplace(std::move(*notify));
  const std::string log = dir_ + "/daemon.log";

  StartTimes times;
  std::atomic<bool> give_up{false};
  std::atomic<std::int64_t> http_at{0}, fuse_at{0};
  const std::size_t log_offset = readFile(log).size();
  const auto wall_spawn = std::chrono::system_clock::now();
  const std::int64_t spawn_ns = nowNs();
  const auto steady_spawn = std::chrono::steady_clock::now();
  std::vector<PassedSocket> listeners;
  if (http_listener_) listeners.push_back({http_listener_.get(), kHttpListenerName});
  auto child = ChildProcess::spawn({.program = program,
                                    .args = {"--config", configPath()},
                                    .extra_env = {"NOTIFY_SOCKET=" + notify_->path()},
                                    .stdout_path = log,
                                    .stderr_path = log,
                                    .listen_fds = listeners});
  if (!child.ok()) return child.status();
  process_.emplace(std::move(*child));
  const std::uint16_t port = http_port_;
  std::thread http_probe([&] {
    HttpClient client("127.0.0.1", port);
    while (!give_up.load()) {
      auto r = client.request("GET", "/readyz");
      if (r.ok() && r->status == 200) {
        http_at = nowNs();
        return;
      }
      std::this_thread::sleep_for(200us);
    }
  });
  const std::string mnt = mountpoint();
  std::thread fuse_probe([&] {
    while (!give_up.load()) {
      if (fuseStatOk(mnt, probe_path)) {
        fuse_at = nowNs();
        return;
      }
      std::this_thread::sleep_for(200us);
    }
  });
  const std::int64_t deadline = spawn_ns + static_cast<std::int64_t>(timeout_s * 1e9);
  Status result = okStatus();
  while (true) {
    if (times.ready_ms >= 0 && http_at.load() && fuse_at.load()) break;
    if (nowNs() > deadline) {
      result = Status(Errc::timeout, "not ready in time; log:\n" + readFile(log));
      break;
    }
    if (!process_->running()) {
      result = Status(Errc::unavailable, "launcher exited during start; log:\n" + readFile(log));
      break;
    }
    auto msg = notify_->receive(20ms);
    if (!msg.ok()) continue;
    const double ms =
        std::chrono::duration<double, std::milli>(msg->received - steady_spawn).count();
    nlohmann::json fields = msg->fields;
    times.timeline.push_back({{"ms", ms}, {"pid", msg->pid}, {"fields", fields}});
    if (msg->has("READY", "1") && msg->pid == process_->pid()) times.ready_ms = ms;
  }
  give_up = true;
  http_probe.join();
  fuse_probe.join();
  if (!result.ok()) return result;
  times.first_http_ms = double(http_at.load() - spawn_ns) / 1e6;
  times.first_fuse_ms = double(fuse_at.load() - spawn_ns) / 1e6;
  times.services = serviceTimeline(readFile(log).substr(log_offset), wall_spawn);
  startDrain();
  return times;
}

Status BenchDeployment::holdHttpListener() {
  if (http_listener_) return okStatus();
  if (running()) return Status(Errc::conflict, "holdHttpListener: the deployment is running");
  Result<UniqueFd> fd = listenTcp("127.0.0.1:" + std::to_string(http_port_));
  if (!fd.ok()) return fd.status();
  http_listener_ = std::move(*fd);
  return okStatus();
}

void BenchDeployment::startDrain() {
  drain_stop_ = false;
  drain_ = std::thread([this] {
    while (!drain_stop_.load()) {
      if (auto msg = notify_->receive(50ms); msg.ok()) ++notify_messages_;
    }
  });
}

void BenchDeployment::stopDrain() {
  drain_stop_ = true;
  if (drain_.joinable()) drain_.join();
}

nlohmann::json serviceTimeline(const std::string& log_text,
                               std::chrono::system_clock::time_point spawn) {
  // "2026-11-26T11:52:21.777123 info [29045] service fuse started" (spdlog, UTC wall clock, µs;
  // logs of older builds have ms).
  static const std::regex line_re(
      R"(^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)\.(\d{3,6}) \w+ \[([^\]]+)\] (.*)$)");
  static const std::regex event_re(
      R"((spawned|starting|started|ready|READY|mounted|listening|running))");
  nlohmann::json out = nlohmann::json::array();
  std::istringstream in(log_text);
  std::string line;
  const double spawn_ms =
      std::chrono::duration<double, std::milli>(spawn.time_since_epoch()).count();
  std::smatch m;
  while (std::getline(in, line)) {
    if (!std::regex_match(line, m, line_re)) continue;
    const std::string text = m[9];
    if (!std::regex_search(text, event_re)) continue;
    std::tm tm{};
    tm.tm_year = std::stoi(m[1]) - 1900;
    tm.tm_mon = std::stoi(m[2]) - 1;
    tm.tm_mday = std::stoi(m[3]);
    tm.tm_hour = std::stoi(m[4]);
    tm.tm_min = std::stoi(m[5]);
    tm.tm_sec = std::stoi(m[6]);
    const std::string frac = m[7];
    const double ms = double(::timegm(&tm)) * 1000.0 +
                      std::stod(frac) / std::pow(10.0, double(frac.size()) - 3) - spawn_ms;
    out.push_back({{"ms", ms}, {"who", std::string(m[8])}, {"event", text}});
  }
  return out;
}

Result<double> BenchDeployment::stop(double grace_s) {
  if (!process_) return Status(Errc::invalid_argument, "not started");
  const std::vector<pid_t> tree = processTree();
  const std::int64_t t0 = nowNs();
  auto st = process_->terminate(std::chrono::milliseconds(static_cast<long>(grace_s * 1000)));
  if (!st.ok()) return st.status();
  // Every process of the tree gone (children reparented away from the launcher included) and
  // the mount released.
  const std::int64_t deadline = t0 + static_cast<std::int64_t>(grace_s * 1e9);
  for (;;) {
    bool alive = false;
    for (pid_t p : tree) {
      if (p != process_->pid() && ::kill(p, 0) == 0) alive = true;
    }
    if (!alive && !isMounted(mountpoint())) break;
    if (nowNs() > deadline) return Status(Errc::timeout, "processes or mount left after stop");
    std::this_thread::sleep_for(100us);
  }
  const double ms = double(nowNs() - t0) / 1e6;
  process_.reset();
  return ms;
}

void BenchDeployment::kill9() {
  for (pid_t p : processTree()) ::kill(p, SIGKILL);
  if (process_) (void)process_->wait(30s);
}

std::vector<pid_t> BenchDeployment::processTree() const {
  return processTreeOf(pid());
}
ProcCounters BenchDeployment::counters() const {
  return countersOf(processTree());
}
MemoryRollup BenchDeployment::memory() const {
  return memoryOf(processTree());
}

}  // namespace seams::bench
