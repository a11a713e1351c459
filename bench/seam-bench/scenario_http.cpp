// http and memory scenarios, and the wrk cross-check.
#include <algorithm>
#include <random>
#include <regex>
#include <thread>

#include "bench/seam-bench/cache_probe.h"
#include "bench/seam-bench/fs_ops.h"
#include "bench/seam-bench/http_client.h"
#include "bench/seam-bench/scenarios.h"
#include "core/stats/histogram_json.h"

namespace seams::bench {

namespace {

struct HttpTarget {
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;
  std::string token;
  int hot_files = 32;
  int cold_files = 512;
  std::uint64_t seed = 1;
  std::uint64_t put_bytes = 4096;
  Weights mix;
  const DatasetInfo* data = nullptr;      // bench/data: what `dataset` reads
  std::shared_ptr<SizeClassTally> tally;  // `dataset`'s figures per size class, if kept
};

HttpTarget targetOf(const Settings& s, std::uint16_t port, const std::string& token,
                    const DatasetInfo* data) {
  return {"127.0.0.1", port,        token,      s.hot_files, s.cold_files,
          s.seed,      s.put_bytes, s.http_mix, data,        nullptr};
}

std::string filesUrl(const std::string& vpath) {
  return "/v1/files" + vpath;
}

WorkerFactory httpWorker(const HttpTarget& t, const std::string& op) {
  return [t, op](int w) -> Op {
    auto client = std::make_shared<HttpClient>(t.host, t.port);
    client->setToken(t.token);
    auto rng = std::make_shared<std::mt19937_64>(t.seed * 104729 + static_cast<std::uint64_t>(w));
    auto cold_next = std::make_shared<int>(w * 97 % std::max(1, t.cold_files));
    auto put_next = std::make_shared<std::uint64_t>(0);
    auto body = std::make_shared<std::string>(t.put_bytes, 'p');
    auto get = [client](const std::string& target) {
      auto r = client->request("GET", target);
      return r.ok() && r->status == 200;
    };
    auto hot = [=] { return hotPath(static_cast<int>((*rng)() % t.hot_files)); };
    auto get_cached = [=] { return get(filesUrl(hot())); };
    // In order through the cold set: an LRU cache smaller than it misses every time.
    auto get_uncached = [=] {
      const int i = *cold_next;
      *cold_next = (i + 1) % t.cold_files;
      return get(filesUrl(coldPath(i)));
    };
    auto stat = [=] { return get("/v1/stat" + hot()); };
    auto list = [=] { return get("/v1/list/bench/hot"); };
    auto put = [=] {
      const std::string target =
          "/v1/files/bench/wr/h" + std::to_string(w) + "_" + std::to_string((*put_next)++ % 16);
      auto r = client->request("PUT", target, *body, "application/octet-stream");
      return r.ok() && r->status == 200;
    };
    // A file of the data set, drawn uniformly: its size follows the distribution it was written
    // with. The whole body must come back.
    auto dataset = [=] {
      const auto& paths = t.data->data_paths;
      const std::size_t i = (*rng)() % paths.size();
      const std::uint64_t size = t.data->data_sizes[i];
      const std::int64_t t0 = nowNs();
      auto r = client->request("GET", filesUrl(paths[i]));
      const bool ok = r.ok() && r->status == 200 && r->body.size() == size;
      if (t.tally) t.tally->record(size, static_cast<std::uint64_t>(nowNs() - t0), ok);
      return ok;
    };
    const bool has_data = t.data != nullptr && !t.data->data_paths.empty();
    auto byName = [=](const std::string& name) -> Op {
      if (name == "get_one") return [=] { return get(filesUrl(hotPath(0))); };
      if (name == "get_cached") return get_cached;
      if (name == "get_uncached") return get_uncached;
      if (name == "stat") return stat;
      if (name == "list") return list;
      if (name == "put") return put;
      if (name == "dataset" && has_data) return dataset;
      return [] { return false; };  // the workload's checks refuse this before any run
    };
    if (op != "mixed") return byName(op);
    // mixed: each request one of the mix's operations, by weight (default 70% cached GET, 10%
    // stat, 5% list, 5% uncached GET, 10% PUT).
    return weightedMix(t.mix, byName, rng);
  };
}

// Runs a load with the deployment's /proc counters around it.
nlohmann::json measured(BenchDeployment* dep, const std::function<LoadResult()>& run,
                        LoadResult* keep = nullptr) {
  ProcCounters before = dep ? dep->counters() : ProcCounters{};
  LoadResult r = run();
  nlohmann::json j = r.toJson();
  if (dep) {
    ProcCounters d = dep->counters() - before;
    const double n = double(std::max<std::uint64_t>(1, r.ok + r.errors));
    j["cpu_per_request"] = fig(d.cpu_seconds / n * 1e6, "us");
    j["ctx_switches_per_request"] =
        fig(double(d.voluntary_switches + d.involuntary_switches) / n, "1");
    j["server_cpu_seconds"] = fig(d.cpu_seconds, "s");
  }
  if (keep) *keep = std::move(r);
  return j;
}

// wrk on the same server and concurrency; our client's p50 on the same URL right before.
nlohmann::json wrkCrossCheck(const std::string& host, std::uint16_t port, const std::string& token,
                             const std::string& target, int connections, double seconds,
                             const std::string& scratch, std::uint64_t seed) {
  nlohmann::json j;
  // Ours, wrk, ours again: the machine's drift during the check lands on both sides; our p50 is
  // the mean of the two runs'.
  auto ourRun = [&] {
    return closedLoop(connections, seconds, [&](int w) {
      auto client = std::make_shared<HttpClient>(host, port);
      client->setToken(token);
      return Op([client, target] {
        auto r = client->request("GET", target);
        return r.ok() && r->status == 200;
      });
    });
  };
  LoadResult ours = ourRun();
  const double ours_before_us = double(ours.latency->percentile(50)) / 1000.0;
  std::vector<std::string> args = {
      "-t",       std::to_string(connections),  // one thread per connection, as ours
      "-c",       std::to_string(connections),
      "-d",       std::to_string(std::max(1, int(seconds + 0.5))) + "s",
      "--latency"};
  if (!token.empty()) {
    args.push_back("-H");
    args.push_back("Authorization: Bearer " + token);
  }
  args.push_back("http://" + host + ":" + std::to_string(port) + target);
  auto [code, out] = runProgram("wrk", args, seconds + 30, scratch);
  LoadResult ours_after = ourRun();
  const double ours_after_us = double(ours_after.latency->percentile(50)) / 1000.0;
  const double ours_p50_us = (ours_before_us + ours_after_us) / 2;
  j["ours_p50_runs"] = {{"before", ours_before_us}, {"after", ours_after_us}, {"unit", "us"}};
  j["wrk_command"] = "wrk -t" + std::to_string(connections) + " -c" + std::to_string(connections) +
                     " -d" + std::to_string(std::max(1, int(seconds + 0.5))) + "s --latency";
  j["connections"] = connections;
  j["ours_p50"] = fig(ours_p50_us, "us");
  j["ours_throughput"] = fig(ours.throughput(), "req/s");
  if (code != 0) {
    j["error"] = "wrk failed (exit " + std::to_string(code) + "): " + out.substr(0, 300);
    return j;
  }
  std::smatch m;
  const std::regex p50(R"(50%\s+([0-9.]+)(us|ms|s)\b)");
  const std::regex rps(R"(Requests/sec:\s+([0-9.]+))");
  if (std::regex_search(out, m, p50)) {
    double v = std::stod(m[1]);
    const std::string unit = m[2];
    const double us = unit == "us" ? v : unit == "ms" ? v * 1000 : v * 1e6;
    j["wrk_p50"] = fig(us, "us");
    j["p50_ratio_ours_over_wrk"] = ours_p50_us / us;
    j["within_10_percent"] = std::abs(ours_p50_us - us) <= 0.10 * us;
  }
  if (std::regex_search(out, m, rps)) j["wrk_throughput"] = fig(std::stod(m[1]), "req/s");
  return j;
}

}  // namespace

nlohmann::json runHttp(Context& c) {
  const Settings& s = c.settings;
  nlohmann::json out;
  HttpClient admin("127.0.0.1", c.dep.httpPort());
  auto token = admin.login("admin", c.dep.password("admin"));
  if (!token.ok()) return {{"error", token.status().toString()}};
  admin.setToken(*token);
  const HttpTarget t = targetOf(s, c.dep.httpPort(), *token, &c.data);
  for (int i = 0; i < s.hot_files; ++i) (void)admin.request("GET", filesUrl(hotPath(i)));

  nlohmann::json closed;
  const std::vector<std::string>& ops = s.http_ops;
  // The payload each operation moves, beside its figures (the workload sets them).
  const std::map<std::string, std::uint64_t> payload = {
      {"get_cached", s.hot_bytes}, {"get_uncached", s.cold_bytes}, {"put", s.put_bytes}};
  std::map<std::string, double> throughput_n;
  int step = 0;
  const int steps = static_cast<int>(ops.size()) * 2;
  for (const auto& op : ops) {
    for (int conns : {1, s.connections}) {
      progress(c.name + " http: closed loop " + op + " c=" + std::to_string(conns) + " (" +
               std::to_string(++step) + "/" + std::to_string(steps) + ")");
      HttpTarget tt = t;
      if (op == "dataset") tt.tally = std::make_shared<SizeClassTally>(c.data);
      LoadResult r;
      nlohmann::json j = measured(
          &c.dep, [&] { return closedLoop(conns, s.measure_s, httpWorker(tt, op)); }, &r);
      if (auto it = payload.find(op); it != payload.end()) j["payload_bytes"] = it->second;
      const std::string key = "http " + op + " c" + std::to_string(conns);
      if (tt.tally) {
        j["by_size"] = tt.tally->toJson(r.seconds);
        for (const auto& [label, cls] : j["by_size"].items()) {
          if (conns == 1)
            c.summary.add(c.name, "http dataset " + label + " c1 p50",
                          cls["latency"]["p50"].get<double>(), "us");
          else
            c.summary.add(c.name,
                          "http dataset " + label + " c" + std::to_string(conns) + " bytes/s",
                          cls["bytes_per_s"]["value"].get<double>(), "MiB/s");
        }
      }
      closed[op]["c" + std::to_string(conns)] = j;
      if (conns == 1)
        c.summary.add(c.name, key + " p50", double(r.latency->percentile(50)) / 1000, "us");
      else {
        c.summary.add(c.name, key + " throughput", r.throughput(), "req/s");
        c.summary.add(c.name, key + " p99", double(r.latency->percentile(99)) / 1000, "us");
        throughput_n[op] = r.throughput();
      }
    }
  }
  out["closed_loop"] = closed;

  // Open loop: a sweep of fixed rates (fractions of the closed-loop N throughput, or the
  // workload's own rates in req/s) to the knee: the highest rate still achieved (>= 95% of the
  // target) with p99 under 10x the lowest rate's.
  nlohmann::json open = nlohmann::json::object();  // empty when no operation runs open loop
  for (const std::string& op : s.open_loop_ops) {
    if (!throughput_n.count(op)) continue;  // only operations measured closed loop (workload.h)
    nlohmann::json points = nlohmann::json::array();
    double base_p99 = 0, knee = 0;
    std::vector<double> rates;
    if (!s.open_loop_rates.empty()) {
      rates = s.open_loop_rates;
    } else {
      for (double frac : s.open_loop_fractions) rates.push_back(std::max(100.0, frac * throughput_n[op]));
    }
    std::sort(rates.begin(), rates.end());
    for (double rate : rates) {
      progress(c.name + " http: open loop " + op + " at " + std::to_string(int(rate)) + " req/s");
      HttpTarget tt = t;
      if (op == "dataset") tt.tally = std::make_shared<SizeClassTally>(c.data);
      LoadResult r;
      nlohmann::json j = measured(
          &c.dep, [&] { return openLoop(s.connections, rate, s.measure_s, httpWorker(tt, op)); },
          &r);
      j["fraction_of_closed_loop_max"] = throughput_n[op] > 0 ? rate / throughput_n[op] : 0.0;
      if (tt.tally) j["by_size"] = tt.tally->toJson(r.seconds);
      const double p99 = double(r.latency->percentile(99));
      if (base_p99 == 0) base_p99 = p99;
      const bool keeps_up = r.achievedRate() >= 0.95 * rate && p99 <= 10 * base_p99;
      j["keeps_up"] = keeps_up;
      if (keeps_up) knee = std::max(knee, rate);
      points.push_back(j);
    }
    // When the highest rate tried still kept up, the knee lies beyond the sweep: a lower bound.
    const bool lower_bound = !points.empty() && points.back()["keeps_up"].get<bool>();
    open[op] = {
        {"points", points},
        {"knee_is_lower_bound", lower_bound},
        {"knee", fig(knee, "req/s")},
        {"knee_rule", "highest rate achieved >= 95% with p99 <= 10x the lowest rate's p99"}};
    c.summary.add(c.name, "http " + op + " open-loop knee", knee, "req/s");
  }
  out["open_loop"] = open;

  // A check of our client, not a figure of the deployment: once per quick run is enough.
  if (s.quick && c.repeat > 1) {
    out["wrk_crosscheck"] = {{"skipped", "quick run: the wrk check runs in the first repeat only"}};
    return out;
  }
  progress(c.name + " http: wrk cross-check (c=1 and c=" + std::to_string(s.connections) + ")");
  out["wrk_crosscheck"] = wrkCrossChecks("127.0.0.1", c.dep.httpPort(), *token,
                                         filesUrl(hotPath(0)), s, c.summary, c.name, "wrk check");
  return out;
}

nlohmann::json wrkCrossChecks(const std::string& host, std::uint16_t port, const std::string& token,
                              const std::string& target, const Settings& s, Summary& summary,
                              const std::string& deployment, const std::string& metric) {
  nlohmann::json out;
  // At c1 both clients do one request at a time, so the p50s compare the clients' own cost per
  // request: the fidelity check. At cN on two shared cores a client's CPU appetite also slows the
  // server it competes with, so that ratio says how much heavier our client is, not how wrong.
  for (int conns : {1, s.connections}) {
    nlohmann::json j =
        wrkCrossCheck(host, port, token, target, conns, s.quick ? 1.0 : 3.0, s.scratch, s.seed);
    if (j.contains("p50_ratio_ours_over_wrk")) {
      summary.add(deployment, metric + " c" + std::to_string(conns) + ": ours/wrk p50",
                  j["p50_ratio_ours_over_wrk"].get<double>(), "ratio");
    }
    out["c" + std::to_string(conns)] = std::move(j);
  }
  return out;
}

nlohmann::json runMemory(Context& c) {
  const Settings& s = c.settings;
  nlohmann::json out;
  auto toJ = [](const MemoryRollup& m) {
    return nlohmann::json{{"pss", fig(double(m.pss) / 1048576.0, "MiB")},
                          {"uss", fig(double(m.uss()) / 1048576.0, "MiB")},
                          {"rss", fig(double(m.rss) / 1048576.0, "MiB")}};
  };
  HttpClient admin("127.0.0.1", c.dep.httpPort());
  auto token = admin.login("admin", c.dep.password("admin"));
  if (!token.ok()) return {{"error", token.status().toString()}};
  const HttpTarget t = targetOf(s, c.dep.httpPort(), *token, &c.data);
  progress(c.name + " memory: warm-up then idle sample");
  (void)closedLoop(2, s.measure_s / 2, httpWorker(t, "mixed"));
  const auto pids = c.dep.processTree();
  MemoryRollup idle = c.dep.memory();
  out["processes"] = pids.size();
  out["after_warmup"] = toJ(idle);
  progress(c.name + " memory: sample under load (mixed, c=" + std::to_string(s.connections) + ")");
  MemoryRollup loaded;
  std::thread sampler([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(static_cast<int>(s.measure_s * 500)));
    loaded = c.dep.memory();
  });
  (void)closedLoop(s.connections, s.measure_s, httpWorker(t, "mixed"));
  sampler.join();
  out["under_load"] = toJ(loaded);
  c.summary.add(c.name, "memory PSS after warm-up", double(idle.pss) / 1048576.0, "MiB");
  c.summary.add(c.name, "memory PSS under load", double(loaded.pss) / 1048576.0, "MiB");
  c.summary.add(c.name, "memory USS under load", double(loaded.uss()) / 1048576.0, "MiB");

  // Cache bytes held more than once, from every process's `caches` listing now that both
  // frontends have read the hot set (the HTTP mix above; the FUSE reads here).
  progress(c.name + " memory: FUSE reads of the hot set, then every cache's entries");
  for (int i = 0; i < s.hot_files; ++i) {
    std::string data;
    (void)readSmall(c.dep.mountpoint() + hotPath(i), data);
  }
  nlohmann::json dup;
  auto entries = cacheEntries(c.dep.dir() + "/run");
  if (entries.ok()) {
    const DuplicateBytes d = duplicateCacheBytes(*entries);
    std::map<std::string, std::uint64_t> per_cache;
    for (const auto& e : *entries) per_cache[e.cache] += e.bytes;
    dup = {{"value", d.held_twice_bytes / 1024.0},
           {"unit", "KiB"},
           {"cache_bytes_total", fig(d.total_bytes / 1024.0, "KiB")},
           {"entries", d.entries},
           {"extra_copies", d.duplicated_entries},
           {"per_cache_bytes", per_cache},
           {"basis",
            "every process's `seamctl caches`: for each (kind, path) held by k >= 2 caches, "
            "the bytes of its k-1 smaller copies"}};
    c.summary.add(c.name, "memory cache held twice", d.held_twice_bytes / 1024.0, "KiB");
  } else {
    dup = {{"value", nullptr}, {"unit", "KiB"}, {"error", entries.status().toString()}};
  }
  out["cache_bytes_held_twice"] = dup;
  return out;
}

}  // namespace seams::bench
