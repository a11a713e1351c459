// The upgrade scenario: under steady HTTP load, replace one component's process as an operator
// deploying a new build would, and count what the clients lose.
//
//   split  `seamctl restart httpd` (through the launcher's control socket): seam-split stops
//          seam-httpd and starts a new one, handing it the HTTP listener it holds (LISTEN_FDS).
//   mono   the whole seamd, restarted as systemd restarts a unit with a .socket: the bench holds
//          the listener (BenchDeployment::holdHttpListener, the part of seamd.socket), stops seamd
//          (SIGTERM, waits for it to exit and the mount to go) and starts a new one on it.
//
// Load: `connections` closed-loop workers, each on a plain socket so a refused connect()
// (ECONNREFUSED) is told apart from a request that failed after it; each connection carries
// kRequestsPerConnection keep-alive GETs of the hot files in turn and is then closed, so new
// connections keep arriving throughout the restart (a refusal shows; a kept-alive connection
// alone would hide one). A 401 (a session lost with the restarted process) makes the worker log
// in again; the 401 counts as a failed request. A request on a kept-alive connection that the
// stopping process closed before answering is sent once more on a new connection, as an HTTP
// client does with an idempotent request; it counts as retried, and as failed only if the retry
// fails too.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <thread>

#include "bench/seam-bench/cache_probe.h"
#include "bench/seam-bench/http_client.h"
#include "bench/seam-bench/scenarios.h"
#include "core/common/unique_fd.h"
#include "core/stats/histogram.h"

namespace seams::bench {
namespace {

constexpr int kRequestsPerConnection = 8;

// One HTTP/1.1 connection on a blocking socket, so the caller sees connect()'s errno itself.
class RawConnection {
 public:
  // 0, or connect()'s errno (ECONNREFUSED: nothing listens).
  int open(std::uint16_t port) {
    buffer_.clear();
    fd_.reset(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!fd_) return errno;
    const timeval timeout{10, 0};  // a request that takes this long counts as failed
    ::setsockopt(fd_.get(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    ::setsockopt(fd_.get(), SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
    const int one = 1;
    ::setsockopt(fd_.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      const int err = errno;
      fd_.reset();
      return err;
    }
    return 0;
  }
  bool connected() const { return fd_.valid(); }
  bool answered() const { return answered_; }
  void close() { fd_.reset(); }

  // The response's status, or -1 when the exchange failed (reset, EOF, timeout, garbage); the
  // connection is closed after a failure or a `Connection: close`. answered() then says whether
  // any byte of a response came back.
  int get(const std::string& target, const std::string& token) {
    answered_ = false;
    const std::string request = "GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n" +
                                "Authorization: Bearer " + token + "\r\n\r\n";
    if (!sendAll(request)) return fail();
    std::size_t head_end;
    while ((head_end = buffer_.find("\r\n\r\n")) == std::string::npos) {
      if (!receive()) return fail();
    }
    const std::string head = buffer_.substr(0, head_end + 4);
    int status = -1;
    if (head.rfind("HTTP/1.", 0) != 0 || head.size() < 12) return fail();
    status = std::atoi(head.c_str() + 9);
    std::string lower = head;
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
    std::size_t length = 0;
    if (auto at = lower.find("\r\ncontent-length:"); at != std::string::npos) {
      length = std::strtoull(lower.c_str() + at + 17, nullptr, 10);
    }
    while (buffer_.size() < head.size() + length) {
      if (!receive()) return fail();
    }
    buffer_.erase(0, head.size() + length);
    if (lower.find("\r\nconnection: close") != std::string::npos) close();
    return status;
  }

 private:
  int fail() {
    close();
    return -1;
  }
  bool sendAll(const std::string& data) {
    std::size_t sent = 0;
    while (sent < data.size()) {
      const ssize_t n = ::send(fd_.get(), data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return false;
      sent += static_cast<std::size_t>(n);
    }
    return true;
  }
  bool receive() {
    char chunk[16384];
    for (;;) {
      const ssize_t n = ::recv(fd_.get(), chunk, sizeof chunk, 0);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return false;
      buffer_.append(chunk, static_cast<std::size_t>(n));
      answered_ = true;
      return true;
    }
  }

  UniqueFd fd_;
  std::string buffer_;
  bool answered_ = false;
};

enum class Outcome : std::uint8_t { ok, refused, connect_failed, failed };

struct Sample {
  std::int64_t start = 0, done = 0;
  Outcome outcome = Outcome::ok;
  int status = 0;        // HTTP status; -1 an I/O failure; for a failed connect, its errno
  bool retried = false;  // sent again on a new connection (see UpgradeLoad::work)
};

// The closed-loop load: every worker's samples, kept until the scenario reads them.
class UpgradeLoad {
 public:
  UpgradeLoad(std::uint16_t port, std::string token, std::string admin_password, int hot)
      : port_(port),
        token_(std::move(token)),
        admin_password_(std::move(admin_password)),
        hot_(std::max(1, hot)) {}
  ~UpgradeLoad() { stop(); }

  void start(int workers) {
    for (int w = 0; w < workers; ++w) threads_.emplace_back([this, w] { work(w); });
  }
  void stop() {
    stop_ = true;
    for (auto& t : threads_) t.join();
    threads_.clear();
  }
  std::vector<Sample> samples() const {
    std::lock_guard lock(mu_);
    return samples_;
  }

 private:
  void work(int worker) {
    RawConnection conn;
    int on_connection = 0;
    int i = worker;  // workers start on different files
    std::string token;
    {
      std::lock_guard lock(mu_);
      token = token_;
    }
    while (!stop_.load()) {
      std::int64_t start = nowNs();
      if (!conn.connected()) {
        const int err = conn.open(port_);
        if (err != 0) {
          record({start, nowNs(), err == ECONNREFUSED ? Outcome::refused : Outcome::connect_failed,
                  err});
          // Not a spin: a refused connect returns at once.
          std::this_thread::sleep_for(std::chrono::milliseconds(1));
          continue;
        }
        on_connection = 0;  // the connect's time counts in its first request's latency
      }
      const std::string target = "/v1/files" + hotPath(i++ % hot_);
      const bool reused = on_connection > 0;
      int status = conn.get(target, token);
      // A kept-alive connection the server closed (the old process stopping) under a request it
      // never answered: the request is sent once more on a new connection, as HTTP clients do
      // for an idempotent request (RFC 9110 9.2.2). Counted apart; a refused reconnect counts as
      // refused.
      bool retried = false;
      if (status < 0 && reused && !conn.answered()) {
        retried = true;
        const std::int64_t reconnect = nowNs();
        const int err = conn.open(port_);
        if (err != 0) {
          record({reconnect, nowNs(),
                  err == ECONNREFUSED ? Outcome::refused : Outcome::connect_failed, err});
        } else {
          on_connection = 0;
          status = conn.get(target, token);
        }
      }
      record({start, nowNs(), status == 200 ? Outcome::ok : Outcome::failed, status, retried});
      if (status == 401) token = relogin(token);
      if (++on_connection >= kRequestsPerConnection) conn.close();
    }
  }

  // A new session after a 401, shared with the other workers (one login for all of them).
  std::string relogin(const std::string& stale) {
    std::lock_guard lock(login_mu_);
    {
      std::lock_guard data(mu_);
      if (token_ != stale) return token_;
    }
    HttpClient client("127.0.0.1", port_);
    auto fresh = client.login("admin", admin_password_);
    if (!fresh.ok()) return stale;
    std::lock_guard data(mu_);
    token_ = *fresh;
    return token_;
  }

  void record(const Sample& s) {
    std::lock_guard lock(mu_);
    samples_.push_back(s);
  }

  const std::uint16_t port_;
  std::string token_;  // guarded by mu_
  const std::string admin_password_;
  const int hot_;
  std::atomic<bool> stop_{false};
  std::vector<std::thread> threads_;
  std::mutex login_mu_;    // one login at a time
  mutable std::mutex mu_;  // guards samples_ and token_
  std::vector<Sample> samples_;
};

// The row of `unit` in the deployment's `seamctl status --json`: (pid, restarts, state).
struct UnitState {
  long pid = 0;
  long restarts = -1;
  std::string state;
};
std::optional<UnitState> unitState(BenchDeployment& dep, const std::string& unit) {
  auto status = dep.seamctl({"status", "--json"});
  try {
    // Held in a variable: a range-for over parse(...).at(...) would iterate a destroyed temporary.
    const nlohmann::json doc = nlohmann::json::parse(status.output);
    for (const auto& row : doc.at("services")) {
      if (row.value("name", "") == unit) {
        return UnitState{row.value("pid", 0L), row.value("restarts", -1L),
                         row.value("state", std::string())};
      }
    }
  } catch (const std::exception&) {
  }
  return std::nullopt;
}

// The scrapes of one process only (its caches' hits and misses).
std::vector<CacheScrape> onlyProcess(const std::vector<CacheScrape>& scrapes,
                                     const std::string& process) {
  std::vector<CacheScrape> out;
  for (const CacheScrape& s : scrapes) {
    CacheScrape one{s.t_ns, {}};
    if (auto it = s.by_process.find(process); it != s.by_process.end()) {
      one.by_process.insert(*it);
    }
    out.push_back(std::move(one));
  }
  return out;
}

double lookups(const std::vector<CacheDelta>& deltas, std::int64_t from, std::int64_t to,
               bool misses_only) {
  double n = 0;
  for (const CacheDelta& d : deltas) {
    if (d.t_ns >= from && d.t_ns < to) n += d.misses + (misses_only ? 0 : d.hits);
  }
  return n;
}

nlohmann::json ratioJson(std::optional<double> r) {
  return r ? nlohmann::json(*r) : nlohmann::json();
}

}  // namespace

nlohmann::json runUpgrade(Context& c) {
  const Settings& s = c.settings;
  BenchDeployment& dep = c.dep;
  const bool mono = dep.variant().launcher == "seamd";
  nlohmann::json out;

  if (mono && !dep.holdsHttpListener()) {
    // From now on the bench plays seamd.socket: it holds the listener, seamd gets it from us.
    // Done before the load starts; this start is not measured.
    progress(c.name + " upgrade: restarting seamd on a listener the bench holds (seamd.socket)");
    if (auto down = dep.stop(s.quick ? 3 : 15); !down.ok()) {
      return {{"error", "stop before holding the listener: " + down.status().toString()}};
    }
    if (Status held = dep.holdHttpListener(); !held.ok()) return {{"error", held.toString()}};
    if (auto st = dep.start(hotPath(0)); !st.ok()) {
      return {{"error", "start with LISTEN_FDS: " + st.status().toString()}};
    }
  }

  HttpClient admin("127.0.0.1", dep.httpPort());
  auto token = admin.login("admin", dep.password("admin"));
  if (!token.ok()) return {{"error", token.status().toString()}};
  const std::string unit = mono ? "" : "httpd";
  std::optional<UnitState> before_state;
  if (!mono) {
    before_state = unitState(dep, unit);
    if (!before_state || before_state->pid <= 0) {
      return {{"error", "no running httpd in `seamctl status --json`: " +
                            dep.seamctl({"status", "--json"}).output}};
    }
  }

  const int workers = std::max(1, std::min(s.connections, 4));
  const double pre_s = s.quick ? 0.5 : 2.0;
  const double post_s = s.quick ? 1.0 : 3.0;
  out["load"] = {
      {"workers", workers},
      {"kind",
       "closed loop; each worker opens a connection, sends " +
           std::to_string(kRequestsPerConnection) +
           " keep-alive GETs of the hot files in turn, closes it and opens the next; a 401 makes "
           "it log in again (and counts as failed); a GET on a kept-alive connection closed "
           "before any response byte is retried once on a new connection (requests_retried; "
           "failed only if the retry fails)"},
      {"hot_files", s.hot_files},
      {"restart",
       mono ? "seamd stopped (SIGTERM) and started again by seam-bench, which holds the HTTP "
              "listener and passes it with LISTEN_FDS, as systemd does with seamd.socket"
            : "`seamctl restart httpd` through the launcher's control socket; seam-split holds "
              "the HTTP listener and passes it to the new seam-httpd with LISTEN_FDS"},
      {"cache_hit_ratio",
       "hits / lookups of the FS caches (seams_cache_hits_total and seams_cache_misses_total "
       "scraped every 100 ms from every process's control socket): `before` over the "
       "pre-restart window, `after` from the first success after the old process exited to the "
       "end of the window; `by_process` splits them per process"}};

  CacheSampler caches(dep.dir() + "/run", std::chrono::milliseconds(100));
  UpgradeLoad load(dep.httpPort(), *token, dep.password("admin"), s.hot_files);
  const std::int64_t scenario_start = nowNs();
  load.start(workers);
  std::this_thread::sleep_for(std::chrono::milliseconds(static_cast<int>(pre_s * 1000)));

  // The restart. old_gone: when the replaced process had exited (mono: when stop() saw it gone;
  // split: the first poll that found its pid gone, every millisecond).
  const std::int64_t t_restart = nowNs();
  std::int64_t old_gone = 0, back = 0;
  Status restarted = okStatus();
  if (mono) {
    progress(c.name + " upgrade: seamd restarted on the held listener");
    auto down = dep.stop(s.quick ? 3 : 15);
    old_gone = nowNs();
    if (!down.ok()) restarted = down.status();
    if (restarted.ok()) {
      auto st = dep.start(hotPath(0));
      if (!st.ok()) restarted = st.status();
    }
    back = nowNs();
  } else {
    progress(c.name + " upgrade: seamctl restart httpd");
    const pid_t old_pid = static_cast<pid_t>(before_state->pid);
    std::atomic<bool> watching{true};
    std::atomic<std::int64_t> gone_at{0};
    std::thread watcher([&] {
      while (watching.load() && ::kill(old_pid, 0) == 0) {
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
      gone_at = nowNs();
    });
    auto r = dep.seamctl({"restart", unit});
    if (r.exit_code != 0) restarted = Status(Errc::internal, "seamctl restart: " + r.output);
    // Back: the row shows a new pid, running, one more restart.
    const std::int64_t cap = t_restart + static_cast<std::int64_t>(30e9);
    while (restarted.ok() && nowNs() < cap) {
      auto row = unitState(dep, unit);
      if (row && row->state == "running" && row->restarts > before_state->restarts &&
          row->pid != before_state->pid) {
        back = nowNs();
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    if (restarted.ok() && back == 0) restarted = Status(Errc::timeout, "httpd not back in 30 s");
    watching = false;
    watcher.join();
    old_gone = gone_at.load();
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(static_cast<int>(post_s * 1000)));
  load.stop();
  const std::int64_t end = nowNs();
  std::this_thread::sleep_for(std::chrono::milliseconds(120));  // one more scrape past the end
  caches.stop();

  const std::vector<Sample> samples = load.samples();
  std::uint64_t requests = 0, ok = 0, failed = 0, unauthorized = 0, io_failed = 0, refused = 0,
                connect_failed = 0, retried = 0;
  std::map<std::string, std::uint64_t> connect_errors;
  Histogram pre_latency;
  std::int64_t worst_ns = 0, first_success = 0, last_ok_done = 0, longest_gap = 0;
  std::vector<std::int64_t> ok_done;
  for (const Sample& sm : samples) {
    if (sm.outcome == Outcome::ok) ok_done.push_back(sm.done);
  }
  std::sort(ok_done.begin(), ok_done.end());
  for (const Sample& sm : samples) {
    switch (sm.outcome) {
      case Outcome::refused:
        ++refused;
        ++connect_errors[std::strerror(sm.status)];
        continue;
      case Outcome::connect_failed:
        ++connect_failed;
        ++connect_errors[std::strerror(sm.status)];
        continue;
      case Outcome::ok:
        ++ok;
        break;
      case Outcome::failed:
        ++failed;
        if (sm.status == 401) ++unauthorized;
        if (sm.status < 0) ++io_failed;
        break;
    }
    ++requests;
    if (sm.retried) ++retried;
    if (sm.start < t_restart && sm.outcome == Outcome::ok) {
      pre_latency.record(static_cast<std::uint64_t>(sm.done - sm.start));
    }
    if (sm.done >= t_restart) worst_ns = std::max(worst_ns, sm.done - sm.start);
  }
  for (std::int64_t done : ok_done) {
    if (old_gone > 0 && done > old_gone && first_success == 0) first_success = done;
    if (done >= t_restart && last_ok_done > 0)
      longest_gap = std::max(longest_gap, done - last_ok_done);
    last_ok_done = done;
  }

  out["restart"] = {
      {"status", restarted.ok() ? "ok" : restarted.toString()},
      {"old_process_gone", fig(old_gone ? double(old_gone - t_restart) / 1e6 : -1, "ms")},
      {"back", fig(back ? double(back - t_restart) / 1e6 : -1, "ms")}};
  out["connections_refused"] = refused;
  out["connect_errors_other"] = connect_failed;
  out["connect_errors"] = connect_errors;
  out["requests"] = requests;
  out["requests_ok"] = ok;
  out["requests_failed"] = failed;
  out["requests_failed_unauthorized"] = unauthorized;
  out["requests_failed_io"] = io_failed;
  out["requests_retried"] = retried;
  out["latency_before_p50"] = fig(double(pre_latency.percentile(50)) / 1e6, "ms");
  out["latency_before_p99"] = fig(double(pre_latency.percentile(99)) / 1e6, "ms");
  out["worst_latency"] = fig(double(worst_ns) / 1e6, "ms");
  out["first_success_after_restart"] =
      fig(first_success ? double(first_success - t_restart) / 1e6 : -1, "ms");
  out["longest_gap_between_successes"] = fig(double(longest_gap) / 1e6, "ms");

  const std::vector<CacheScrape> scrapes = caches.scrapes();
  const std::int64_t pre_from = t_restart - static_cast<std::int64_t>(pre_s * 1e9);
  const std::int64_t after_from = first_success ? first_success : (back ? back : t_restart);
  const std::int64_t after_to = end + 100'000'000;
  const std::vector<CacheDelta> all = cacheDeltas(scrapes);
  nlohmann::json ratio = {{"before", ratioJson(hitRatio(all, pre_from, t_restart))},
                          {"after", ratioJson(hitRatio(all, after_from, after_to))},
                          {"unit", "ratio"}};
  nlohmann::json by_process = nlohmann::json::object();
  std::set<std::string> processes;
  for (const CacheScrape& sc : scrapes) {
    for (const auto& [name, counts] : sc.by_process) processes.insert(name);
  }
  for (const std::string& p : processes) {
    const std::vector<CacheDelta> d = cacheDeltas(onlyProcess(scrapes, p));
    if (lookups(d, scenario_start, after_to, false) == 0) continue;  // no FS cache in use
    by_process[p] = {{"before", ratioJson(hitRatio(d, pre_from, t_restart))},
                     {"after", ratioJson(hitRatio(d, after_from, after_to))},
                     {"misses_after", lookups(d, after_from, after_to, true)}};
  }
  ratio["by_process"] = by_process;
  out["cache_hit_ratio"] = ratio;
  out["loses"] = mono ? "every cache of seamd (the FS cache, sessions, the FUSE mount while it "
                        "restarts): one process holds them all"
                      : "seam-httpd's own caches only; seam-fsd's and seam-authd's stay warm "
                        "(sessions live in seam-authd)";
  out["window"] = fig(double(end - t_restart) / 1e6, "ms");
  if (failed + refused + connect_failed > 0) out["daemon_log_tail"] = dep.logTail(20);

  const std::string label = std::string("upgrade ") + (mono ? "seamd" : "httpd");
  c.summary.add(c.name, label + " connections refused", double(refused), "count");
  c.summary.add(c.name, label + " requests failed", double(failed), "count");
  c.summary.add(c.name, label + " requests retried", double(retried), "count");
  c.summary.add(c.name, label + " worst latency", double(worst_ns) / 1e6, "ms");
  if (first_success) {
    c.summary.add(c.name, label + " first success after restart",
                  double(first_success - t_restart) / 1e6, "ms");
  }
  if (ratio["after"].is_number()) {
    c.summary.add(c.name, label + " cache hit ratio after", ratio["after"].get<double>(), "ratio");
  }
  return out;
}

}  // namespace seams::bench
