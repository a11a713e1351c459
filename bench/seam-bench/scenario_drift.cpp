// drift and fault scenarios.
#include <fcntl.h>
#include <signal.h>
#include <sys/fsuid.h>
#include <sys/syscall.h>
#include <toml++/toml.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <mutex>
#include <random>
#include <thread>

#include "bench/seam-bench/cache_probe.h"
#include "bench/seam-bench/fs_ops.h"
#include "bench/seam-bench/http_client.h"
#include "bench/seam-bench/scenarios.h"
#include "core/control/control_client.h"

namespace seams::bench {

namespace {

std::string keyContent(int key, std::uint64_t seq) {
  std::string s = "k=" + std::to_string(key) + ";seq=" + std::to_string(seq) + ";";
  s.resize(64, '.');
  return s;
}
// The seq in a content written by keyContent; nullopt for anything else (the data set's initial
// bytes, or a read that caught a FUSE write between its truncate and its write).
std::optional<std::uint64_t> seqOf(const std::string& content) {
  auto p = content.find(";seq=");
  if (p == std::string::npos || content.size() != 64) return std::nullopt;
  auto e = content.find(';', p + 5);
  if (e == std::string::npos) return std::nullopt;
  try {
    return std::stoull(content.substr(p + 5, e - p - 5));
  } catch (...) {
    return std::nullopt;
  }
}

// Polls `read` until the final run of fresh reads is at least `min_run` long and `min_ms` have
// passed, or `max_ms` pass.
template <typename Sample, typename Read, typename Fresh>
std::vector<Sample> pollUntilStable(const Read& read, const Fresh& fresh, double min_ms,
                                    double max_ms, int min_run = 20) {
  std::vector<Sample> samples;
  const std::int64_t start = nowNs();
  int run = 0;
  for (;;) {
    Sample smp = read();
    run = fresh(smp) ? run + 1 : 0;
    samples.push_back(smp);
    const double ms = double(nowNs() - start) / 1e6;
    if ((run >= min_run && ms >= min_ms) || ms >= max_ms) break;
  }
  return samples;
}

nlohmann::json lagStats(const std::vector<std::optional<std::int64_t>>& lags,
                        const std::string& what, Summary& summary, const std::string& deployment) {
  std::vector<double> ms;
  int invisible = 0;
  for (const auto& l : lags) {
    if (l)
      ms.push_back(double(*l) / 1e6);
    else
      ++invisible;
  }
  Interval iv = medianInterval(ms);
  double max = 0;
  for (double v : ms) max = std::max(max, v);
  if (!ms.empty()) summary.add(deployment, what + " (median)", iv.median, "ms");
  nlohmann::json samples = ms;
  return {{"trials", lags.size()},
          {"never_within_window", invisible},
          {"median", fig(iv.median, "ms")},
          {"ci95_low", fig(iv.low, "ms")},
          {"ci95_high", fig(iv.high, "ms")},
          {"max", fig(max, "ms")},
          {"samples_ms", samples}};
}

std::uint32_t uidOf(const std::string& config_text, const std::string& user) {
  try {
    auto tbl = toml::parse(config_text);
    if (auto* users = tbl["users"].as_array()) {
      for (auto& u : *users) {
        auto* t = u.as_table();
        if (t && (*t)["name"].value<std::string>() == user) {
          return static_cast<std::uint32_t>((*t)["uid"].value<std::int64_t>().value_or(0));
        }
      }
    }
  } catch (...) {
  }
  return 0;
}

// setfsuid for this thread only (the raw syscall: the kernel's fsuid is per thread).
struct FsUid {
  explicit FsUid(std::uint32_t uid) { ::syscall(SYS_setfsuid, uid); }
  ~FsUid() { ::syscall(SYS_setfsuid, 0); }
};

}  // namespace

nlohmann::json runDrift(Context& c) {
  const Settings& s = c.settings;
  nlohmann::json out;
  const std::string mnt = c.dep.mountpoint();
  const std::uint16_t port = c.dep.httpPort();
  HttpClient admin("127.0.0.1", port);
  auto token = admin.login("admin", c.dep.password("admin"));
  if (!token.ok()) return {{"error", token.status().toString()}};
  admin.setToken(*token);
  HttpClient reader("127.0.0.1", port);
  reader.setToken(*token);
  const double max_ms = 3000;  // above the kernel's 1 s attr/entry timeouts
  std::uint64_t seq = 1000;

  // Visibility lag, HTTP -> FUSE: PUT acknowledged at t0 with version v; FUSE reads (version
  // xattr, then the content) until every read returns v and the new bytes.
  progress(c.name + " drift: visibility lag HTTP -> FUSE (" + std::to_string(s.drift_trials) +
           " trials)");
  std::vector<std::optional<std::int64_t>> h2f, f2h;
  for (int i = 0; i < s.drift_trials; ++i) {
    const int key = i % kSharedKeys;
    const std::string content = keyContent(key, ++seq);
    auto r =
        admin.request("PUT", "/v1/files" + sharedPath(key), content, "application/octet-stream");
    const std::int64_t t0 = nowNs();
    if (!r.ok() || r->status != 200) {
      h2f.push_back(std::nullopt);
      continue;
    }
    const std::uint64_t v = r->version;
    const std::string path = mnt + sharedPath(key);
    auto samples = pollUntilStable<ReadSample>(
        [&] {
          ReadSample smp;
          smp.start_ns = nowNs();
          smp.version = fuseVersion(path);
          std::string got;
          smp.ok = readSmall(path, got) && got == content;
          smp.end_ns = nowNs();
          return smp;
        },
        [&](const ReadSample& smp) { return smp.ok && smp.version >= v; }, 20, max_ms);
    h2f.push_back(visibilityLagNs(t0, v, samples));
  }
  out["visibility_lag_http_to_fuse"] =
      lagStats(h2f, "drift visibility HTTP->FUSE", c.summary, c.name);

  progress(c.name + " drift: visibility lag FUSE -> HTTP");
  for (int i = 0; i < s.drift_trials; ++i) {
    const int key = i % kSharedKeys;
    const std::string content = keyContent(key, ++seq);
    const std::string path = mnt + sharedPath(key);
    if (!writeSmall(path, content)) {
      f2h.push_back(std::nullopt);
      continue;
    }
    const std::int64_t t0 = nowNs();  // close() returned: the write is acknowledged
    const std::uint64_t v = fuseVersion(path);
    auto samples = pollUntilStable<ReadSample>(
        [&] {
          ReadSample smp;
          smp.start_ns = nowNs();
          auto r = reader.request("GET", "/v1/files" + sharedPath(key));
          smp.ok = r.ok() && r->status == 200 && r->body == content;
          smp.version = r.ok() ? r->version : 0;
          smp.end_ns = nowNs();
          return smp;
        },
        [&](const ReadSample& smp) { return smp.ok && smp.version >= v; }, 20, max_ms);
    f2h.push_back(visibilityLagNs(t0, v, samples));
  }
  out["visibility_lag_fuse_to_http"] =
      lagStats(f2h, "drift visibility FUSE->HTTP", c.summary, c.name);
  out["visibility_lag_definition"] =
      "write acknowledged on A at t0 (HTTP PUT answer / FUSE close()); B read in a loop (HTTP GET "
      "with X-Seams-Version; FUSE getxattr user.seams.version + open/read/close); lag = start of "
      "the first read of the final run of reads returning that version and bytes, minus t0";

  // Stale-read ratio: keys 0-7 written over HTTP, 8-15 over FUSE, read concurrently over both.
  progress(c.name + " drift: stale-read ratio under mixed concurrent traffic");
  {
    struct Log {
      std::mutex mu;
      std::vector<WriteAck> acks;
      std::map<std::pair<int, std::uint64_t>, std::uint64_t> seq_version;  // (key, seq) -> version
      std::vector<KeyRead> reads[2];
      std::vector<std::pair<int, std::uint64_t>> read_seqs[2];
      std::uint64_t unparsed[2] = {0, 0};
    } log;
    std::atomic<bool> stop{false};
    std::atomic<std::uint64_t> seq_gen{seq + 1};
    auto writer = [&](bool over_http) {
      HttpClient w("127.0.0.1", port);
      w.setToken(*token);
      std::mt19937_64 rng(s.seed + (over_http ? 1 : 2));
      while (!stop.load()) {
        const int key = (over_http ? 0 : 8) + static_cast<int>(rng() % 8);
        const std::uint64_t sq = seq_gen++;
        const std::string content = keyContent(key, sq);
        std::uint64_t v = 0;
        std::int64_t ack = 0;
        if (over_http) {
          auto r =
              w.request("PUT", "/v1/files" + sharedPath(key), content, "application/octet-stream");
          ack = nowNs();
          if (!r.ok() || r->status != 200) continue;
          v = r->version;
        } else {
          if (!writeSmall(mnt + sharedPath(key), content)) continue;
          ack = nowNs();
          v = fuseVersion(mnt + sharedPath(key));  // one writer per key: this is our version
        }
        std::lock_guard lock(log.mu);
        log.acks.push_back({sharedPath(key), ack, v});
        log.seq_version[{key, sq}] = v;
      }
    };
    auto readerLoop = [&](int idx) {
      HttpClient rd("127.0.0.1", port);
      rd.setToken(*token);
      std::mt19937_64 rng(s.seed + 10 + static_cast<std::uint64_t>(idx));
      std::vector<KeyRead> mine;
      std::vector<std::pair<int, std::uint64_t>> seqs;
      std::uint64_t unparsed = 0;
      while (!stop.load()) {
        const int key = static_cast<int>(rng() % kSharedKeys);
        const std::int64_t start = nowNs();
        std::string body;
        bool ok;
        if (idx == 0) {
          auto r = rd.request("GET", "/v1/files" + sharedPath(key));
          ok = r.ok() && r->status == 200;
          if (ok) body = r->body;
        } else {
          ok = readSmall(mnt + sharedPath(key), body);
        }
        if (!ok) continue;
        auto sq = seqOf(body);
        if (!sq) {
          ++unparsed;
          continue;
        }
        mine.push_back({sharedPath(key), start, 0});
        seqs.emplace_back(key, *sq);
      }
      std::lock_guard lock(log.mu);
      log.reads[idx] = std::move(mine);
      log.read_seqs[idx] = std::move(seqs);
      log.unparsed[idx] = unparsed;
    };
    std::vector<std::thread> threads;
    threads.emplace_back(writer, true);
    threads.emplace_back(writer, false);
    threads.emplace_back(readerLoop, 0);
    threads.emplace_back(readerLoop, 1);
    std::this_thread::sleep_for(std::chrono::milliseconds(static_cast<int>(s.measure_s * 2000)));
    stop = true;
    for (auto& t : threads) t.join();
    nlohmann::json stale;
    const char* names[2] = {"http_reads", "fuse_reads"};
    double total_classified = 0, total_stale = 0;
    for (int idx = 0; idx < 2; ++idx) {
      auto& reads = log.reads[idx];
      std::uint64_t unknown = 0;
      for (std::size_t i = 0; i < reads.size(); ++i) {
        auto [key, sq] = log.read_seqs[idx][i];
        auto it = log.seq_version.find({key, sq});
        // A seq from before this run (the visibility trials) is older than every write here.
        if (it == log.seq_version.end()) {
          reads[i].version = 0;
          if (sq > seq) ++unknown;
        } else {
          reads[i].version = it->second;
        }
      }
      StaleStats st = classifyStaleReads(log.acks, reads);
      total_classified += double(st.classified);
      total_stale += double(st.stale);
      stale[names[idx]] = {{"reads", reads.size()},
                           {"classified", st.classified},
                           {"stale", st.stale},
                           {"ratio", fig(st.ratio(), "1")},
                           {"mid_write_reads_excluded", log.unparsed[idx]},
                           {"unacknowledged_seq_reads", unknown}};
    }
    stale["writes"] = log.acks.size();
    stale["ratio"] = fig(total_classified ? total_stale / total_classified : 0, "1");
    stale["definition"] =
        "a read that began after a write's acknowledgement yet returned an older version; the "
        "version a read returned is the version of the write whose bytes it read";
    c.summary.add(c.name, "drift stale-read ratio",
                  total_classified ? total_stale / total_classified : 0, "1");
    out["stale_read_ratio"] = stale;
  }

  // Revocation lag: bob may read /bench/rev/f only through a more specific allow rule beneath a
  // deny; revoking the allow must turn his reads into 403 (HTTP) and EACCES (FUSE).
  progress(c.name + " drift: revocation lag (HTTP and FUSE)");
  {
    const nlohmann::json deny = {{"subject", "user:bob"},
                                 {"prefix", "/bench/rev"},
                                 {"access", {"read"}},
                                 {"effect", "deny"}};
    const nlohmann::json allow = {{"subject", "user:bob"},
                                  {"prefix", "/bench/rev/f"},
                                  {"access", {"read"}},
                                  {"effect", "allow"}};
    (void)admin.request("PUT", "/v1/files/bench/rev/f", "revocation probe",
                        "application/octet-stream");
    (void)admin.request("POST", "/v1/admin/grant", deny.dump(), "application/json");
    HttpClient bob("127.0.0.1", port);
    auto bob_token = bob.login("bob", c.dep.password("bob"));
    const std::uint32_t bob_uid = uidOf(c.dep.configText(), "bob");
    std::vector<std::optional<std::int64_t>> http_lags, fuse_lags;
    std::vector<double> grant_fuse;
    int fuse_grant_never_visible = 0;
    const int trials = std::max(1, s.drift_trials / 4);
    for (int i = 0; i < trials && bob_token.ok(); ++i) {
      bob.setToken(*bob_token);
      (void)admin.request("POST", "/v1/admin/grant", allow.dump(), "application/json");
      // Wait until bob can read on both paths before revoking (a grant has its own lag).
      for (int k = 0; k < 3000; ++k) {
        auto r = bob.request("GET", "/v1/files/bench/rev/f");
        if (r.ok() && r->status == 200) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
      std::atomic<std::int64_t> t0{0};
      std::vector<DenySample> fuse_samples;
      std::atomic<int> fuse_state{0};  // 0: waiting, 1: bob reads over FUSE, 2: never did
      double grant_fuse_ms = 0;
      std::thread fuse_poll([&] {
        FsUid as_bob(bob_uid);
        const std::string p = mnt + "/bench/rev/f";
        // Readable first (the grant has its own lag); the revoke waits for this.
        const std::int64_t grant_seen_from = nowNs();
        bool readable = false;
        for (int k = 0; k < 5000 && !readable; ++k) {
          int fd = ::open(p.c_str(), O_RDONLY);
          if (fd >= 0) {
            ::close(fd);
            readable = true;
          } else {
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
          }
        }
        grant_fuse_ms = double(nowNs() - grant_seen_from) / 1e6;
        fuse_state = readable ? 1 : 2;
        if (!readable) return;
        while (t0.load() == 0) std::this_thread::yield();
        fuse_samples = pollUntilStable<DenySample>(
            [&] {
              DenySample d{nowNs(), false};
              int fd = ::open(p.c_str(), O_RDONLY);
              if (fd >= 0) {
                char b[64];
                d.denied = ::read(fd, b, sizeof b) < 0 && errno == EACCES;
                ::close(fd);
              } else {
                d.denied = errno == EACCES || errno == EPERM;
              }
              return d;
            },
            [](const DenySample& d) { return d.denied; }, 20, max_ms);
      });
      while (fuse_state.load() == 0) std::this_thread::sleep_for(std::chrono::microseconds(100));
      auto rv = admin.request("POST", "/v1/admin/revoke", allow.dump(), "application/json");
      t0 = nowNs();
      auto http_samples = pollUntilStable<DenySample>(
          [&] {
            DenySample d{nowNs(), false};
            auto r = bob.request("GET", "/v1/files/bench/rev/f");
            d.denied = r.ok() && r->status == 403;
            return d;
          },
          [](const DenySample& d) { return d.denied; }, 20, max_ms);
      fuse_poll.join();
      if (!rv.ok() || rv->status != 200) continue;
      http_lags.push_back(denialLagNs(t0, http_samples));
      if (fuse_state.load() == 1) {
        fuse_lags.push_back(denialLagNs(t0, fuse_samples));
      } else {
        ++fuse_grant_never_visible;
      }
      grant_fuse.push_back(grant_fuse_ms);
    }
    out["revocation_lag_http"] =
        lagStats(http_lags, "drift revocation lag HTTP", c.summary, c.name);
    out["revocation_lag_fuse"] =
        lagStats(fuse_lags, "drift revocation lag FUSE", c.summary, c.name);
    // Not a defined metric, but it gates the FUSE trials: how long bob waited to read over FUSE
    // after the grant (the HTTP path already served him).
    out["revocation_lag_fuse"]["grant_visible_after_ms"] = grant_fuse;
    out["revocation_lag_fuse"]["trials_skipped_grant_never_visible"] = fuse_grant_never_visible;
    if (!bob_token.ok()) out["revocation_error"] = bob_token.status().toString();
  }

  // Logout lag: alice's session ends at t0 (the logout answer); her token must then get 401.
  progress(c.name + " drift: logout lag");
  {
    std::vector<std::optional<std::int64_t>> lags;
    const int trials = std::max(1, s.drift_trials / 4);
    for (int i = 0; i < trials; ++i) {
      HttpClient a("127.0.0.1", port), b("127.0.0.1", port);
      auto t = a.login("alice", c.dep.password("alice"));
      if (!t.ok()) break;
      a.setToken(*t);
      b.setToken(*t);
      (void)b.request("GET", "/v1/files" + hotPath(0));  // the session is in use (and cached)
      auto r = a.request("POST", "/v1/logout");
      const std::int64_t t0 = nowNs();
      if (!r.ok() || r->status >= 300) continue;
      auto samples = pollUntilStable<DenySample>(
          [&] {
            DenySample d{nowNs(), false};
            auto g = b.request("GET", "/v1/files" + hotPath(0));
            d.denied = g.ok() && g->status == 401;
            return d;
          },
          [](const DenySample& d) { return d.denied; }, 20, max_ms);
      lags.push_back(denialLagNs(t0, samples));
    }
    out["logout_lag_http"] = lagStats(lags, "drift logout lag HTTP", c.summary, c.name);
  }
  return out;
}

// --- fault ------------------------------------------------------------------------------------

namespace {

struct Event {
  std::int64_t scheduled = 0, done = 0;
  bool ok = false;
};

// An open-loop load on one path, recording every request.
class PathLoad {
 public:
  PathLoad(std::string name, double rate, std::function<Op()> make)
      : name_(std::move(name)), rate_(rate), make_(std::move(make)) {}
  ~PathLoad() { stop(); }
  void start() {
    thread_ = std::thread([this] {
      Op op = make_();
      const std::int64_t s = nowNs();
      for (std::uint64_t i = 0; !stop_.load(); ++i) {
        const std::int64_t due = scheduledSendNs(s, rate_, 1, 0, i);
        waitUntil(due);
        const bool ok = op();
        const std::int64_t done = nowNs();
        std::lock_guard lock(mu_);
        events_.push_back({due, done, ok});
      }
    });
  }
  void stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  std::vector<Event> between(std::int64_t from, std::int64_t to) {
    std::lock_guard lock(mu_);
    std::vector<Event> out;
    for (const auto& e : events_) {
      if (e.scheduled >= from && e.scheduled < to) out.push_back(e);
    }
    return out;
  }
  const std::string& name() const { return name_; }

 private:
  std::string name_;
  double rate_;
  std::function<Op()> make_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::mutex mu_;  // guards events_
  std::vector<Event> events_;
};

struct PathOutcome {
  std::uint64_t requests = 0, failed = 0, slow = 0;
  double recovery_ms = 0;  // first success after the last failure, minus the injection
  double post_p50_ratio = 0;
};

PathOutcome analyse(const std::vector<Event>& before, const std::vector<Event>& after,
                    std::int64_t inject) {
  Histogram pre;
  for (const auto& e : before) {
    if (e.ok) pre.record(static_cast<std::uint64_t>(e.done - e.scheduled));
  }
  const std::uint64_t slow_ns = std::max<std::uint64_t>(10 * pre.percentile(99), 10'000'000);
  PathOutcome o;
  std::int64_t last_fail_done = 0;
  for (const auto& e : after) {
    ++o.requests;
    if (!e.ok) {
      ++o.failed;
      last_fail_done = std::max(last_fail_done, e.done);
    } else if (static_cast<std::uint64_t>(e.done - e.scheduled) > slow_ns) {
      ++o.slow;
    }
  }
  std::int64_t recovered = 0;
  if (last_fail_done) {
    for (const auto& e : after) {
      if (e.ok && e.scheduled >= last_fail_done) {
        recovered = e.done;
        break;
      }
    }
    o.recovery_ms = recovered ? double(recovered - inject) / 1e6 : -1;
  }
  // How cold it is afterwards: p50 of the 300 ms after recovery over the p50 before the fault.
  Histogram post;
  const std::int64_t from = recovered ? recovered : inject;
  for (const auto& e : after) {
    if (e.ok && e.scheduled >= from && e.scheduled < from + 300'000'000) {
      post.record(static_cast<std::uint64_t>(e.done - e.scheduled));
    }
  }
  if (pre.count() && post.count())
    o.post_p50_ratio = double(post.percentile(50)) / double(pre.percentile(50));
  return o;
}

// The row of one service (seamd) or daemon (seam-split) in the deployment's status; nullopt when
// the control socket does not answer.
std::optional<ControlRow> unitRow(const std::string& control_socket, const std::string& name) {
  auto client = ControlClient::connect(control_socket, std::chrono::milliseconds(1000));
  if (!client.ok()) return std::nullopt;
  auto rows = (*client)->status();
  if (!rows.ok()) return std::nullopt;
  for (ControlRow& r : *rows) {
    if (r.name == name) return std::move(r);
  }
  return std::nullopt;
}

// The whole scenario as a time series: requests per 100 ms bin on each path (scheduled in that
// bin; failed ones apart), the cache hit ratio per bin, and when each fault was injected.
nlohmann::json faultTimeline(std::int64_t start, std::int64_t end, PathLoad& http, PathLoad& fuse,
                             const std::vector<CacheDelta>& deltas, const nlohmann::json& marks) {
  constexpr std::int64_t kBinNs = 100'000'000;
  const std::size_t bins = static_cast<std::size_t>((end - start) / kBinNs + 1);
  nlohmann::json out = {{"bin_ms", kBinNs / 1'000'000}, {"faults", marks}};
  for (PathLoad* p : {&http, &fuse}) {
    std::vector<std::uint64_t> ok(bins, 0), failed(bins, 0);
    for (const Event& e : p->between(start, end)) {
      const auto b = static_cast<std::size_t>((e.scheduled - start) / kBinNs);
      if (b >= bins) continue;
      (e.ok ? ok : failed)[b]++;
    }
    out[p->name() + "_ok"] = ok;
    out[p->name() + "_failed"] = failed;
  }
  nlohmann::json hit = nlohmann::json::array();
  for (std::size_t b = 0; b < bins; ++b) {
    const std::int64_t from = start + static_cast<std::int64_t>(b) * kBinNs;
    auto r = hitRatio(deltas, from, from + kBinNs);
    hit.push_back(r ? nlohmann::json(*r) : nlohmann::json());
  }
  out["cache_hit_ratio"] = hit;
  return out;
}

}  // namespace

nlohmann::json runFault(Context& c) {
  const Settings& s = c.settings;
  nlohmann::json out;
  HttpClient admin("127.0.0.1", c.dep.httpPort());
  auto token = admin.login("admin", c.dep.password("admin"));
  if (!token.ok()) return {{"error", token.status().toString()}};
  auto status = c.dep.seamctl({"status", "--json"});
  nlohmann::json services;
  try {
    services = nlohmann::json::parse(status.output).at("services");
  } catch (const std::exception& e) {
    return {{"error", "seamctl status --json: " + std::string(e.what()) + ": " + status.output}};
  }
  const std::uint16_t port = c.dep.httpPort();
  const std::string tok = *token;
  const double rate = 500;
  const std::string admin_password = c.dep.password("admin");
  // A client as a user would write it: on 401 (sessions lost with a restarted auth service or
  // daemon) it logs in again; the 401 itself counts as a failed request.
  // Both paths cycle through the hot set, so a rebuilt cache shows as misses (a single file
  // would be warm again after one request).
  const int hot = std::max(1, s.hot_files);
  PathLoad http("http", rate, [port, tok, admin_password, hot] {
    auto client = std::make_shared<HttpClient>("127.0.0.1", port);
    client->setToken(tok);
    auto i = std::make_shared<int>(0);
    return Op([client, admin_password, hot, i] {
      auto r = client->request("GET", "/v1/files" + hotPath((*i)++ % hot));
      if (r.ok() && r->status == 401) {
        if (auto t = client->login("admin", admin_password); t.ok()) client->setToken(*t);
      }
      return r.ok() && r->status == 200;
    });
  });
  // getxattr always reaches the daemon (the kernel caches no xattrs), unlike a cached stat.
  const std::string mount = c.dep.mountpoint();
  PathLoad fuse("fuse", rate, [mount, hot] {
    auto i = std::make_shared<int>(0);
    return Op([mount, hot, i] { return fuseVersion(mount + hotPath((*i)++ % hot)) != 0; });
  });
  const std::int64_t scenario_start = nowNs();
  CacheSampler caches(c.dep.dir() + "/run", std::chrono::milliseconds(100));
  http.start();
  fuse.start();
  nlohmann::json marks = nlohmann::json::array();
  out["load"] = {
      {"http",
       "open loop GET of the hot files in turn at 500 req/s, 1 connection; re-login on 401"},
      {"fuse",
       "open loop getxattr user.seams.version of the hot files in turn at 500 op/s, 1 thread"},
      {"hot_files", hot},
      {"slow", "latency (from the scheduled send) over max(10x pre-fault p99, 10 ms)"},
      {"cache_hit_ratio",
       "hits / lookups of every FS cache of every process (seams_cache_* scraped every 100 ms "
       "from each control socket): `before` over the pre-fault window, `after` from the recovery "
       "(the later of the two paths', or the injection if nothing failed) to the window's end"}};
  const double pre_ms = s.quick ? 200 : 1000;
  const double settle_ms = s.quick ? 300 : 1000;
  const double max_ms = s.quick ? 1500 : 15000;

  // `unit` is the service or daemon the fault hits ("" when the bench restarts the whole
  // process itself): the window stays open until its row shows it running again after one more
  // restart, so effects that come only with the restart (lost sessions, cold caches) fall in
  // this fault's window even when caches kept both paths serving meanwhile.
  auto inject = [&](const std::string& label, const std::string& unit,
                    const std::function<Status()>& fault) {
    std::this_thread::sleep_for(std::chrono::milliseconds(static_cast<int>(pre_ms)));
    const std::optional<ControlRow> before =
        unit.empty() ? std::nullopt : unitRow(c.dep.controlSocket(), unit);
    const std::int64_t t = nowNs();
    marks.push_back({{"t_s", double(t - scenario_start) / 1e9}, {"fault", label}});
    Status st = fault();
    bool back = !before.has_value();
    std::int64_t back_at = back ? t : 0;
    // Wait until the unit is back and both paths have served without a failure for `settle_ms`
    // (or the cap).
    for (;;) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      const std::int64_t now = nowNs();
      if (!back) {
        auto row = unitRow(c.dep.controlSocket(), unit);
        back = row && row->state == "running" && row->restarts > before->restarts;
        if (back) back_at = nowNs();
      }
      bool clean = true;
      for (PathLoad* p : {&http, &fuse}) {
        auto recent = p->between(now - static_cast<std::int64_t>(settle_ms * 1e6), now);
        for (const auto& e : recent) clean = clean && e.ok;
        if (recent.empty()) clean = false;
      }
      if ((back && clean && now - t > settle_ms * 1e6) || now - t > max_ms * 1e6) break;
    }
    const std::int64_t end = nowNs();
    nlohmann::json j = {{"fault", label}, {"injected", st.ok() ? "ok" : st.toString()}};
    j["unit_back"] = back ? fig(double(back_at - t) / 1e6, "ms") : nlohmann::json();
    nlohmann::json blast = nlohmann::json::array();
    std::int64_t recovered = t;
    for (PathLoad* p : {&http, &fuse}) {
      PathOutcome o = analyse(p->between(t - static_cast<std::int64_t>(pre_ms * 1e6), t),
                              p->between(t, end), t);
      j[p->name()] = {{"requests", o.requests},
                      {"failed", o.failed},
                      {"slow", o.slow},
                      {"recovery", fig(o.recovery_ms, "ms")},
                      {"post_p50_ratio", o.post_p50_ratio}};
      if (o.failed) blast.push_back(p->name());
      if (o.recovery_ms > 0) {
        recovered = std::max(recovered, t + static_cast<std::int64_t>(o.recovery_ms * 1e6));
      }
    }
    j["paths_failed"] = blast;
    // How cold the caches are afterwards. The sampler scrapes every 100 ms, so give it one more
    // scrape past the window's end before reading.
    std::this_thread::sleep_for(std::chrono::milliseconds(120));
    const std::vector<CacheDelta> deltas = cacheDeltas(caches.scrapes());
    auto ratio = [](std::optional<double> r) { return r ? nlohmann::json(*r) : nlohmann::json(); };
    j["cache_hit_ratio"] = {
        {"before", ratio(hitRatio(deltas, t - static_cast<std::int64_t>(pre_ms * 1e6), t))},
        {"after", ratio(hitRatio(deltas, recovered, end + 100'000'000))},
        {"unit", "ratio"}};
    if (!blast.empty()) j["daemon_log_tail"] = c.dep.logTail(15);
    j["window"] = fig(double(end - t) / 1e6, "ms");
    return j;
  };

  nlohmann::json soft = nlohmann::json::array();
  for (const auto& svc : services) {
    const std::string name = svc.value("name", "");
    if (name.empty() || name == "control") continue;  // control carries the fault command itself
    progress(c.name + " fault: soft crash of " + name);
    nlohmann::json j = inject("seamctl fault " + name + " crash", name, [&] {
      auto r = c.dep.seamctl({"fault", name, "crash"});
      return r.exit_code == 0 ? okStatus() : Status(Errc::internal, r.output);
    });
    j["service"] = name;
    if (j["cache_hit_ratio"]["after"].is_number()) {
      c.summary.add(c.name, "fault soft " + name + " cache hit ratio after",
                    j["cache_hit_ratio"]["after"].get<double>(), "ratio");
    }
    for (const char* path : {"http", "fuse"}) {
      if (j[path]["failed"].get<std::uint64_t>() > 0) {
        c.summary.add(c.name, std::string("fault soft ") + name + " " + path + " recovery",
                      j[path]["recovery"]["value"].get<double>(), "ms");
      }
    }
    soft.push_back(j);
  }
  out["soft"] = soft;

  // Hard fault: SIGSEGV to the process hosting each service. In mono that is seamd itself, for
  // every service, so it is done once; the bench then restarts it as systemd would
  // (Restart=on-failure, RestartSec=0). In split, each daemon is hit in turn and the launcher
  // restarts it.
  nlohmann::json hard = nlohmann::json::array();
  std::map<long, std::string> hosts;
  for (const auto& svc : services) {
    long pid = svc.value("pid", 0L);
    // Not the launcher itself (its control row): nothing outside the bench would restart it.
    if (pid > 0 && pid != c.dep.pid() && svc.value("name", "") != "control") {
      hosts.emplace(pid, svc.value("name", ""));
    }
  }
  const bool mono = c.dep.variant().launcher == "seamd";
  if (mono) hosts = {{c.dep.pid(), "seamd (every service)"}};
  for (const auto& [pid, name] : hosts) {
    progress(c.name + " fault: SIGSEGV to the process hosting " + name);
    nlohmann::json j = inject("SIGSEGV to " + name, mono ? "" : name, [&, pid = pid, name = name] {
      // Soft faults restarted daemons under new pids: look the host up again now.
      long target = pid;
      if (!mono) {
        target = 0;
        try {
          auto now = nlohmann::json::parse(c.dep.seamctl({"status", "--json"}).output);
          for (const auto& svc : now.at("services")) {
            if (svc.value("name", "") == name) target = svc.value("pid", 0L);
          }
        } catch (const std::exception&) {
        }
        if (target <= 0) return Status(Errc::not_found, "no pid for " + name);
      }
      if (::kill(static_cast<pid_t>(target), SIGSEGV) != 0)
        return Status(Errc::internal, "kill failed");
      if (!mono) return okStatus();
      // The outer supervisor's part: wait for the exit, start again.
      for (int i = 0; i < 10000 && c.dep.running(); ++i)
        std::this_thread::sleep_for(std::chrono::microseconds(200));
      auto st = c.dep.start(hotPath(0));
      return st.ok() ? okStatus() : st.status();
    });
    j["host"] = name;
    j["restarted_by"] = mono ? "seam-bench, as systemd Restart=on-failure" : "the launcher";
    if (j["cache_hit_ratio"]["after"].is_number()) {
      c.summary.add(c.name,
                    std::string("fault hard ") + (mono ? "seamd" : name) + " cache hit ratio after",
                    j["cache_hit_ratio"]["after"].get<double>(), "ratio");
    }
    for (const char* path : {"http", "fuse"}) {
      if (j[path]["failed"].get<std::uint64_t>() > 0) {
        c.summary.add(
            c.name, std::string("fault hard ") + (mono ? "seamd" : name) + " " + path + " recovery",
            j[path]["recovery"]["value"].get<double>(), "ms");
      }
    }
    hard.push_back(j);
  }
  out["hard"] = hard;
  http.stop();
  fuse.stop();
  caches.stop();
  out["timeline"] =
      faultTimeline(scenario_start, nowNs(), http, fuse, cacheDeltas(caches.scrapes()), marks);
  return out;
}

}  // namespace seams::bench
