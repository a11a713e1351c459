// seam-bench: starts each deployment from a generated config, drives identical HTTP and FUSE
// workloads against it, stops it, and writes one JSON document per run. See --help.
#include <fmt/format.h>
#include <signal.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <charconv>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <set>
#include <thread>
#include <tuple>

#include "bench/machine/codec_versions.h"
#include "bench/machine/cpu_pin.h"
#include "bench/machine/pm_qos.h"
#include "bench/model/advise.h"
#include "bench/model/model.h"
#include "bench/seam-bench/dataset.h"
#include "bench/seam-bench/deployment.h"
#include "bench/seam-bench/floor_probe.h"
#include "bench/seam-bench/scenarios.h"
#include "bench/seam-bench/startup_stats.h"
#include "bench/seam-bench/workload.h"
#include "core/common/probe.h"

namespace seams::bench {
namespace {

namespace fs = std::filesystem;

const std::vector<std::string> kScenarios = {"startup", "http",    "fuse",     "drift",
                                             "memory",  "fio",     "git",      "fault",
                                             "sweep",   "upgrade", "baselines"};

constexpr const char* kJsonHelp = R"(
JSON written to OUT/seam-bench-<UTC time>.json (schema "seam-bench/1"):
  {"schema": "seam-bench/1",
   "started_at": ISO-8601 UTC, "duration_s": number,
   "machine": {"hostname", "kernel" (uname -r), "kernel_version" (uname -v), "arch",
               "cpu_model" (/proc/cpuinfo), "cores"},
   "build": {"compiler", "build_type", "git_revision", "git_dirty"},
   "options": every flag as used, "settings": the derived durations and counts,
   "workload": every workload key as run (bench/workloads/README.md), "set": {KEY: value},
               "config_overrides": {KEY: TOML text}, "given": {"file": [KEY], "flags": [KEY]},
   "pm_qos": {"requested", "held", "device", "max_latency_us", "status"} (/dev/cpu_dma_latency
             held at 0 for the whole run unless --no-pm-qos; "status" says why it is not held),
   "pinning": {"pinned", "cpu", "allowed_cpus"} (--pin: every process and thread on one CPU),
   "loadavg": {"start", "end"} (/proc/loadavg: 1, 5, 15 min),
   "runs": [ {"deployment", "repeat", "launcher", "codec", "coherence",
              "skipped": reason (only when skipped; nothing else then),
              "error": message (only when it failed),
              "config_overrides": {key: value}, "config": the seams.toml text,
              "loadavg": {"before", "after"},
              "floor": {"before"|"after": {"unix"|"tcp": PINGPONG}, "shift": {"unix"|"tcp":
                        {"before_p50", "after_p50", "change", "moved"}}, "moved" (either floor's
                        p50 moved > 25% between before and after), "threshold"},
              "dataset": {"bytes", "data_files", "data_bytes"},
              "startup": {"ready", "first_http_get", "first_fuse_stat", "shutdown":
                            {"median", "ci95_low", "ci95_high", "samples_ms"}, "timeline": [...],
                          "spread": {FIGURE: {"n", "p50", "p90", "max", "spread"}},
                          "intervals": [{"unit_name", "n", "p50", "p90", "max", "spread",
                                         "samples_ms"}] (each service's or daemon's own start)},
              "http": {"closed_loop": {OP: {"c1"|"cN": LOAD (+ "payload_bytes"; dataset: +
                        "by_size": {SIZE: {"files", "ok", "errors", "latency", "throughput",
                        "bytes_per_s"}})}}, "open_loop": {OP: {"points":
                        [LOAD + target_rate, achieved_rate, keeps_up], "knee"}}, "wrk_crosscheck"},
              "fuse": {"kernel_cache_settings", "ops": {OP: {"t1"|"tN": LOAD (split: +
                        "fsd_calls_per_op", seam-fused's calls to seam-fsd per operation)}}},
              "fio": {"settings", "layout", "jobs": {"randread-4k"|"randwrite-4k"|
                      "randrw-4k-verify"|"seqread-1m": {"command", "ok", "runtime",
                      "read"|"write": {"iops", "bandwidth" (MiB/s), "clat_p50", "clat_p99",
                      "io_bytes", "total_ios"}, "fsd_calls_per_io" (split), "failure",
                      "verify_failed", "output" (on failure)}}, "error", "verify_failed"},
              "git": {"tarball", "steps": [{"name", "command", "seconds", "exit_code", "ok",
                      "output" (on failure)}], "total", "ok", "failed_step", "not_run",
                      "extracted_files", "error"},
              "drift": {"visibility_lag_http_to_fuse", "visibility_lag_fuse_to_http",
                        "stale_read_ratio", "revocation_lag_http", "revocation_lag_fuse",
                        "logout_lag_http"},
              "memory": {"after_warmup", "under_load": {"pss","uss","rss"},
                         "cache_bytes_held_twice": {"value" (KiB), "cache_bytes_total",
                         "entries", "extra_copies", "per_cache_bytes"}},
              "fault": {"soft": [...], "hard": [...]: per fault "unit_back" (ms until its
                        service/daemon runs again), per path requests/failed/slow/recovery,
                        "paths_failed" (blast radius), "cache_hit_ratio": {"before", "after"},
                        "timeline": {"bin_ms", "faults": [{"t_s", "fault"}], "http_ok",
                        "http_failed", "fuse_ok", "fuse_failed", "cache_hit_ratio"}},
              "sweep": {"grid": {"calls", "work_us", "payload_bytes", "connections" [1, N],
                                 "quick_subset"},
                        "timing": {"budget_s", "min_requests", "max_cell_s", "pilot_requests"},
                        "calibration": {"iterations_per_us"} (the owner's work loop),
                        "cells": [{"calls", "work_us", "payload_bytes", "connections",
                                   "requests", "errors", "seconds", "p50", "p99", "throughput",
                                   "cpu_us_per_req", "ctx_switches_per_req" (the deployment's
                                   process tree)}]} (GET /v1/probe?calls=K&work_us=W&bytes=B),
              "upgrade": {"restart": {"status", "old_process_gone", "back"},
                          "connections_refused", "connect_errors_other", "requests",
                          "requests_failed" (+ "_unauthorized", "_io"), "worst_latency",
                          "first_success_after_restart", "longest_gap_between_successes",
                          "cache_hit_ratio": {"before", "after", "by_process"}, "loses"}} ],
   "sweep": {"reference": "mono", "grid", "cells": [{"deployment", "calls", "work_us",
             "payload_bytes", "connections", "repeats", "p50_us", "p99_us", "throughput_rps",
             "cpu_us_per_req", "ctx_switches_per_req" (medians over repeats), "p50_us_samples",
             "cpu_us_per_req_samples", "tax_latency", "tax_cpu" (deployment / mono - 1),
             "delta_latency_us", "delta_cpu_us" (deployment - mono); null for mono or a cell
             mono lacks}]} (when the sweep ran),
   "baselines": [ {"repeat", "direct", "passthrough_ll", "nginx", "unix_pingpong",
                   "fio": {"direct"|"passthrough_ll": FIO}, "git": {"direct"|"passthrough_ll": GIT}} ],
   "summary": [ {"deployment", "metric", "unit", "median", "ci95_low", "ci95_high", "values"} ],
   "model": the boundary-cost model fitted from "sweep" (only when the sweep ran; bench/model/
            model.h): per split deployment the latency and CPU tax's form, parameters with 95%
            intervals, R2, hold-out errors and the break-even grid, or {"error": why}}
  LOAD = {"workers", "seconds", "ok", "errors", "throughput", "latency": {"unit": "us", "count",
          "mean", "p50", "p90", "p99", "p99.9", "max"}, "histogram_ns": {"count","sum","min","max",
          "buckets": [[low, high, count], ...]}, "cpu_per_request", "ctx_switches_per_request"}
  A run whose fio verify failed has "error" (a failure of the run) and seam-bench exits 1.
  PINGPONG = {"request_bytes", "response_bytes", "round_trips", "seconds", "latency", "histogram_ns"}
  Every figure is {"value": number, "unit": string} or sits beside its "unit".
)";

struct Options {
  bool quick = false;
  bool no_pm_qos = false;
  bool pin = false;
  int pin_cpu = -1;  // default: defaultPinCpu()
  std::string out = "results/bench";
  std::string bin_dir = SEAMS_BUILD_DIR;
  // The workload (workload.h): the file, each key's flag text, and --set.
  std::string workload_file;
  std::map<std::string, std::string> knob_text;  // knob key -> flag text (given ones only)
  std::vector<std::string> sets;
};

std::string firstLine(const std::string& s) {
  return s.substr(0, s.find('\n'));
}

nlohmann::json machineInfo() {
  nlohmann::json m;
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  m["hostname"] = host;
  utsname u{};
  ::uname(&u);
  m["kernel"] = u.release;
  m["kernel_version"] = u.version;
  m["arch"] = u.machine;
  std::ifstream cpu("/proc/cpuinfo");
  std::string line;
  while (std::getline(cpu, line)) {
    if (line.rfind("model name", 0) == 0) {
      m["cpu_model"] = line.substr(line.find(':') + 2);
      break;
    }
  }
  m["cores"] = std::thread::hardware_concurrency();
  return m;
}

nlohmann::json buildInfo(const std::string& scratch) {
  nlohmann::json b;
#if defined(__clang__)
  b["compiler"] = "clang " __clang_version__;
#elif defined(__GNUC__)
  b["compiler"] = "gcc " __VERSION__;
#endif
  b["build_type"] = SEAMS_BUILD_TYPE;
  b["codecs"] = codecVersions();
  b["capnp_source"] = capnpSource();
  auto [code, rev] = runProgram("git", {"-C", SEAMS_SOURCE_DIR, "rev-parse", "HEAD"}, 10, scratch);
  b["git_revision"] = code == 0 ? firstLine(rev) : "unknown";
  auto [code2, dirty] =
      runProgram("git", {"-C", SEAMS_SOURCE_DIR, "status", "--porcelain", "--untracked-files=no"},
                 20, scratch);
  b["git_dirty"] = code2 == 0 ? !dirty.empty() : false;
  return b;
}

// 1, 5 and 15 minute load averages: what else the machine was doing around a measurement.
nlohmann::json loadAverage() {
  std::ifstream in("/proc/loadavg");
  double a = 0, b = 0, c = 0;
  if (!(in >> a >> b >> c)) return nullptr;
  return {a, b, c};
}

// Both floors, each its p50 in us added to the summary under the deployment.
nlohmann::json measureFloors(const Settings& s, const std::string& deployment, Summary& summary) {
  nlohmann::json out;
  const std::pair<const char*, PingPongOptions> probes[] = {{"unix", unixFloorOptions(s.floor_s)},
                                                            {"tcp", tcpFloorOptions(s.floor_s)}};
  for (const auto& [kind, opts] : probes) {
    auto r = std::string(kind) == "unix" ? unixPingPong(opts) : tcpPingPong(opts);
    if (!r.ok()) {
      out[kind] = {{"error", r.status().toString()}};
      continue;
    }
    out[kind] = r->toJson(opts);
    summary.add(deployment,
                std::string(kind) == "unix" ? "floor unix ping-pong 64B p50"
                                            : "floor tcp ping-pong GET-sized p50",
                double(r->latency->percentile(50)) / 1000, "us");
  }
  return out;
}

// Before and after, and whether either floor moved by more than 25% in between.
nlohmann::json floorShiftJson(const nlohmann::json& before, const nlohmann::json& after) {
  constexpr double kThreshold = 0.25;
  nlohmann::json shift, moved_kinds = nlohmann::json::array();
  bool moved = false;
  for (const char* kind : {"unix", "tcp"}) {
    auto p50 = [kind](const nlohmann::json& floor) {
      const auto it = floor.find(kind);
      if (it == floor.end() || !it->contains("latency")) return -1.0;
      return (*it)["latency"].value("p50", -1.0);
    };
    const double b = p50(before), a = p50(after);
    auto f = floorShift(b, a, kThreshold);
    if (!f) {
      shift[kind] = {{"error", "not measured before and after"}};
      continue;
    }
    shift[kind] = {{"before_p50", fig(f->before, "us")},
                   {"after_p50", fig(f->after, "us")},
                   {"change", f->change},
                   {"moved", f->moved}};
    if (f->moved) {
      moved = true;
      moved_kinds.push_back(kind);
    }
  }
  return {{"before", before},
          {"after", after},
          {"shift", shift},
          {"moved", moved},
          {"moved_kinds", moved_kinds},
          {"threshold", kThreshold},
          {"rule", "max(p50 before, p50 after) > 1.25 x the smaller"}};
}

nlohmann::json samplesJson(const std::vector<double>& v) {
  Interval iv = medianInterval(v);
  return {{"median", fig(iv.median, "ms")},
          {"ci95_low", fig(iv.low, "ms")},
          {"ci95_high", fig(iv.high, "ms")},
          {"samples_ms", v}};
}

nlohmann::json runDeployment(const Variant& v, int rep, const std::set<std::string>& scenarios,
                             const Settings& settings, const DatasetOptions& data_opts,
                             const std::map<std::string, std::string>& workload_overrides,
                             Summary& summary) {
  nlohmann::json run = {{"deployment", v.name},
                        {"repeat", rep},
                        {"launcher", v.launcher},
                        {"codec", v.codec},
                        {"coherence", v.coherence}};
  const std::string launcher = settings.bins.launcher(v);
  if (::access(launcher.c_str(), X_OK) != 0) {
    const std::string why = launcher + " is not built";
    progress("SKIP " + v.name + ": " + why);
    run["skipped"] = why;
    return run;
  }
  // The workload's (Workload::configOverrides): by default the cache budget is smaller than the
  // cold set, so cycling through it misses every time, and the hot set fits; restart intensity
  // is raised so the fault scenario's crashes do not escalate; then the user's --set / [set].
  std::map<std::string, std::string> overrides = workload_overrides;
  // The sweep's grid within the deployment's [probe] bounds: raised only where it goes beyond
  // the defaults (core/common/probe.h).
  if (scenarios.count("sweep")) {
    const SweepGrid g = sweepGrid(settings);
    const ProbeLimits defaults;
    auto raise = [&](const char* key, const std::vector<std::uint64_t>& v, std::uint64_t def) {
      if (!v.empty() && v.back() > def) overrides[key] = std::to_string(v.back());
    };
    raise("probe.max_calls", g.calls, defaults.max_calls);
    raise("probe.max_work_us", g.work_us, defaults.max_work_us);
    raise("probe.max_reply_bytes", g.bytes, defaults.max_reply_bytes);
  }
  nlohmann::json ov = overrides;
  run["config_overrides"] = ov;
  BenchDeployment dep(v, settings.bins, overrides);
  if (Status s = dep.prepare(); !s.ok()) {
    run["error"] = s.toString();
    return run;
  }
  run["config"] = dep.configText();
  progress(v.name + ": writing the data set (" + std::to_string(data_opts.files) + " files, seed " +
           std::to_string(data_opts.seed) + ")");
  auto data = writeDataset(dep.vaultRoot(), data_opts);
  if (!data.ok()) {
    run["error"] = data.status().toString();
    return run;
  }
  run["dataset"] = data->toJson();
  run["loadavg"] = {{"before", loadAverage()}};
  progress(v.name + ": the floor before (UNIX and TCP ping-pong)");
  const nlohmann::json floor_before = measureFloors(settings, v.name, summary);
  run["floor"] = {{"before", floor_before}};  // kept should the run fail before "after"

  std::vector<double> ready, http_first, fuse_first, shutdown;
  nlohmann::json timeline;
  // Each unit's own start interval, in the order units first appear, over every start.
  std::vector<std::pair<std::string, std::vector<double>>> intervals;
  auto record = [&](const StartTimes& t) {
    ready.push_back(t.ready_ms);
    http_first.push_back(t.first_http_ms);
    fuse_first.push_back(t.first_fuse_ms);
    if (timeline.is_null()) timeline = {{"notify", t.timeline}, {"services", t.services}};
    for (const StartInterval& si : startIntervals(t.services)) {
      auto it = std::find_if(intervals.begin(), intervals.end(),
                             [&](const auto& e) { return e.first == si.unit; });
      if (it == intervals.end()) it = intervals.insert(intervals.end(), {si.unit, {}});
      it->second.push_back(si.ms);
    }
  };
  const bool startup = scenarios.count("startup");
  if (startup) {
    for (int i = 0; i + 1 < settings.startup_reps; ++i) {
      progress(v.name + " startup: start/stop " + std::to_string(i + 1) + "/" +
               std::to_string(settings.startup_reps));
      auto st = dep.start(hotPath(0));
      if (!st.ok()) {
        run["error"] = st.status().toString();
        return run;
      }
      record(*st);
      auto down = dep.stop(settings.quick ? 3 : 15);
      if (down.ok()) shutdown.push_back(*down);
    }
  }
  progress(v.name + ": starting for the load scenarios");
  auto st = dep.start(hotPath(0));
  if (!st.ok()) {
    run["error"] = st.status().toString();
    return run;
  }
  if (startup) record(*st);

  Context ctx{dep, settings, *data, summary, v.name, rep};
  // upgrade last: in mono it restarts seamd on a listener the bench holds from then on.
  const std::vector<std::pair<std::string, nlohmann::json (*)(Context&)>> steps = {
      {"http", runHttp},     {"fuse", runFuse},   {"drift", runDrift},
      {"memory", runMemory}, {"fio", runFio},     {"git", runGit},
      {"sweep", runSweep},   {"fault", runFault}, {"upgrade", runUpgrade}};
  for (const auto& [name, fn] : steps) {
    if (!scenarios.count(name)) continue;
    // The quick run's later repeats are for the latency figures' intervals: the fault, fio and
    // git scenarios (the longest, and not the latency figures) run in its first repeat only.
    if (settings.quick && rep > 1 && (name == "fault" || name == "fio" || name == "git")) {
      run[name] = {
          {"skipped", "quick run: the " + name + " scenario runs in the first repeat only"}};
      continue;
    }
    progress(v.name + ": scenario " + name);
    if (!dep.running()) {
      run[name] = {{"error", "the deployment is not running"}};
      continue;
    }
    try {
      run[name] = fn(ctx);
    } catch (const std::exception& e) {
      run[name] = {{"error", e.what()}};
    }
    if (auto failure = name == "fio" ? fioRunFailure(run[name]) : std::nullopt) {
      run["error"] = *failure;
      progress(v.name + ": FAILED: " + *failure);
    }
  }
  progress(v.name + ": stopping");
  if (dep.running()) {
    auto down = dep.stop(settings.quick ? 3 : 15);
    if (down.ok())
      shutdown.push_back(*down);
    else
      run["stop_error"] = down.status().toString();
  }
  progress(v.name + ": the floor after");
  run["floor"] = floorShiftJson(floor_before, measureFloors(settings, v.name, summary));
  run["loadavg"]["after"] = loadAverage();
  if (run["floor"]["moved"].get<bool>())
    progress(v.name + ": WARNING: the floor moved > 25% during this run");
  if (startup) {
    run["startup"] = {{"ready", samplesJson(ready)},
                      {"first_http_get", samplesJson(http_first)},
                      {"first_fuse_stat", samplesJson(fuse_first)},
                      {"shutdown", samplesJson(shutdown)},
                      {"timeline", timeline},
                      {"definition",
                       "spawn -> READY=1 (NOTIFY_SOCKET owned by the bench); spawn -> "
                       "first 200 on GET /readyz; spawn -> first stat of a file in "
                       "the mount; SIGTERM -> every process gone and mount released"}};
    // The spread over this run's starts: p50, p90, max and p90 - p50 of each figure, and of each
    // unit's own start interval. In the summary, one value per run, so repeats give intervals.
    const std::vector<std::pair<std::string, const std::vector<double>*>> figures = {
        {"spawn->READY=1", &ready},
        {"spawn->first HTTP GET", &http_first},
        {"spawn->first FUSE stat", &fuse_first}};
    nlohmann::json spreads = nlohmann::json::object();
    for (const auto& [name, samples] : figures) {
      for (double x : *samples) summary.add(v.name, "startup " + name, x, "ms");
      const Spread sp = spreadOf(*samples);
      spreads[name] = spreadJson(sp, "ms");
      summary.add(v.name, "startup " + name + " p90", sp.p90, "ms");
      summary.add(v.name, "startup " + name + " max", sp.max, "ms");
      summary.add(v.name, "startup " + name + " spread (p90-p50)", sp.spread, "ms");
    }
    run["startup"]["spread"] = spreads;
    nlohmann::json units = nlohmann::json::array();
    for (const auto& [unit, samples] : intervals) {
      const Spread sp = spreadOf(samples);
      nlohmann::json u = spreadJson(sp, "ms");
      u["unit_name"] = unit;
      u["samples_ms"] = samples;
      units.push_back(u);
      summary.add(v.name, "startup interval " + unit + " p50", sp.p50, "ms");
      summary.add(v.name, "startup interval " + unit + " spread (p90-p50)", sp.spread, "ms");
    }
    run["startup"]["intervals"] = units;
    for (double x : shutdown) summary.add(v.name, "shutdown stop->all gone", x, "ms");
  }
  return run;
}

int runCommand(const Options& o, const PmQosHold& pm_qos, const nlohmann::json& pinning) {
  auto resolved = resolveWorkload({o.quick, o.workload_file, o.knob_text, o.sets}, kScenarios);
  if (!resolved.ok()) {
    std::cerr << "seam-bench: " << resolved.status().message() << "\n";
    return 2;
  }
  const Workload& w = *resolved;
  Settings s;
  s.quick = o.quick;
  const int repeats = w.repeat;
  s.measure_s = w.seconds;
  s.floor_s = o.quick ? 0.1 : 0.5;
  s.connections = w.connections;
  s.fuse_threads = w.fuse_threads;
  s.drift_trials = o.quick ? 4 : 20;
  s.startup_reps = w.starts;
  s.open_loop_fractions = w.open_loop_fractions;
  // The sweep's grid (empty: the standard grid, sweepGrid()), sorted and without duplicates.
  for (const auto& [from, into] :
       {std::pair{&w.sweep_calls, &s.sweep_calls}, std::pair{&w.sweep_work_us, &s.sweep_work_us},
        std::pair{&w.sweep_bytes, &s.sweep_bytes}}) {
    std::set<std::uint64_t> sorted(from->begin(), from->end());
    into->assign(sorted.begin(), sorted.end());
  }
  s.bins.dir = o.bin_dir;
  s.seed = w.seed;
  s.hot_files = w.hot_files;
  s.cold_files = w.cold_files;
  s.source_dir = SEAMS_SOURCE_DIR;
  s.http_ops = w.http_ops;
  s.open_loop_ops = w.open_loop_ops;
  s.open_loop_rates = w.open_loop_rates;
  s.http_mix = w.http_mix;
  s.put_bytes = w.put_bytes;
  s.hot_bytes = w.hot_bytes;
  s.cold_bytes = w.cold_bytes;
  s.fuse_ops = w.fuse_ops;
  s.fuse_mix = w.fuse_mix;
  std::vector<Variant> variants;
  for (const auto& name : w.deployments) variants.push_back(*parseDeployment(name));
  const std::set<std::string> scenarios(w.scenarios.begin(), w.scenarios.end());
  const std::map<std::string, std::string> overrides = w.configOverrides();
  if (std::uint64_t(w.hot_files) * w.hot_bytes > w.cache_budget_bytes)
    progress("note: the hot set (" + std::to_string(w.hot_files) + " x " +
             std::to_string(w.hot_bytes) + " B) does not fit the cache budget (" +
             std::to_string(w.cache_budget_bytes) + " B): get_cached will miss");
  // Only once the arguments are known good, so a typo leaves nothing behind.
  char tmpl[] = "/tmp/seam-bench-scratch-XXXXXX";
  if (!::mkdtemp(tmpl)) {
    std::cerr << "seam-bench: mkdtemp failed\n";
    return 1;
  }
  s.scratch = tmpl;
  const DatasetOptions data_opts{w.seed,       w.files,     w.size_classes, w.hot_files,
                                 w.cold_files, w.hot_bytes, w.cold_bytes};

  const auto wall_start = std::chrono::system_clock::now();
  const std::int64_t t_start = nowNs();
  nlohmann::json doc;
  doc["schema"] = "seam-bench/1";
  const std::time_t tt = std::chrono::system_clock::to_time_t(wall_start);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&tt));
  doc["started_at"] = stamp;
  doc["machine"] = machineInfo();
  doc["build"] = buildInfo(s.scratch);
  doc["pm_qos"] = pm_qos.toJson();
  doc["pinning"] = pinning;
  doc["loadavg"] = {{"start", loadAverage()}};
  progress(std::string("PM QoS (") + kCpuDmaLatencyPath + "): " + pm_qos.why());
  if (pinning.value("pinned", false))
    progress("pinned: every process and thread of the run on CPU " +
             std::to_string(pinning["cpu"].get<int>()));
  std::string joined_deployments, joined_scenarios;
  for (const auto& d : w.deployments)
    joined_deployments += (joined_deployments.empty() ? "" : ",") + d;
  for (const auto& x : w.scenarios) joined_scenarios += (joined_scenarios.empty() ? "" : ",") + x;
  doc["options"] = {{"deployments", joined_deployments},
                    {"scenarios", joined_scenarios},
                    {"quick", o.quick},
                    {"repeat", repeats},
                    {"no_pm_qos", o.no_pm_qos},
                    {"pin", o.pin},
                    {"out", o.out},
                    {"files", data_opts.files},
                    {"size_dist", w.size_dist},
                    {"seed", w.seed},
                    {"bin_dir", o.bin_dir},
                    {"workload_file", o.workload_file}};
  // The workload actually run: every key after defaults, the file and the flags.
  doc["workload"] = w.toJson();
  doc["settings"] = {
      {"measure_s", s.measure_s},
      {"floor_s", s.floor_s},
      {"connections", s.connections},
      {"fuse_threads", s.fuse_threads},
      {"drift_trials", s.drift_trials},
      {"startup_reps", s.startup_reps},
      {"sweep_fractions", s.open_loop_fractions},
      {"sweep_grid",
       {{"calls", sweepGrid(s).calls},
        {"work_us", sweepGrid(s).work_us},
        {"payload_bytes", sweepGrid(s).bytes},
        {"quick_subset", sweepGrid(s).quick_subset}}},
      {"sweep_cell_timing",
       {{"budget_s", sweepTiming(s).budget_s},
        {"min_requests", sweepTiming(s).min_requests},
        {"max_cell_s", sweepTiming(s).max_cell_s}}},
      {"hot_files", s.hot_files},
      {"cold_files", s.cold_files},
      {"fio_runtime_s_per_job", fioSettings(s).runtime_s},
      {"fio_file_mib_per_job", fioSettings(s).file_mib},
      {"fio_git_repeats", s.quick ? "first repeat only (quick run)" : "every repeat"}};
  doc["runs"] = nlohmann::json::array();
  doc["baselines"] = nlohmann::json::array();
  Summary summary;

  // Interleaved: every repeat runs each deployment once, in the same order (A B A B ...).
  std::vector<std::string> plan;
  for (int rep = 1; rep <= repeats; ++rep) {
    for (const auto& v : variants) plan.push_back(v.name + " #" + std::to_string(rep));
    if (scenarios.count("baselines")) plan.push_back("baselines #" + std::to_string(rep));
  }
  std::size_t done = 0;
  auto announce = [&](const std::string& what) {
    std::string left;
    for (std::size_t i = done + 1; i < plan.size(); ++i)
      left += (left.empty() ? "" : ", ") + plan[i];
    progress(fmt::format("=== {} ({}/{}); then: {}", what, done + 1, plan.size(),
                         left.empty() ? "summary" : left));
  };
  for (int rep = 1; rep <= repeats; ++rep) {
    for (const auto& v : variants) {
      announce(v.name + " #" + std::to_string(rep));
      doc["runs"].push_back(runDeployment(v, rep, scenarios, s, data_opts, overrides, summary));
      ++done;
    }
    if (scenarios.count("baselines")) {
      announce("baselines #" + std::to_string(rep));
      // The same data set, in a directory of its own.
      const std::string root = s.scratch + "/baseline-vault";
      std::error_code ec;
      fs::remove_all(root, ec);
      fs::create_directories(root, ec);
      nlohmann::json b = {{"repeat", rep}};
      auto data = writeDataset(root, data_opts);
      const bool tools_now = !(s.quick && rep > 1);
      const BaselineTools tools{scenarios.count("fio") > 0 && tools_now,
                                scenarios.count("git") > 0 && tools_now};
      if (!data.ok()) {
        b["error"] = data.status().toString();
      } else {
        b.update(runBaselines(s, root, summary, rep, tools, &*data));
        // A verify failure on a floor fails the run as one on a deployment does.
        for (const char* floor : {"direct", "passthrough_ll"}) {
          if (!b.contains("fio") || !b["fio"].contains(floor)) continue;
          if (auto failure = fioRunFailure(b["fio"][floor]))
            b["error"] = std::string(floor) + ": " + *failure;
        }
      }
      doc["baselines"].push_back(b);
      ++done;
    }
  }
  // The sweep's boundary tax: every run's cells against mono's (doc["sweep"]).
  if (scenarios.count("sweep")) doc["sweep"] = aggregateSweep(doc["runs"]);
  doc["duration_s"] = double(nowNs() - t_start) / 1e9;
  doc["loadavg"]["end"] = loadAverage();
  doc["summary"] = summary.toJson();
  if (doc.contains("sweep")) doc["model"] = model::modelOfRun(doc);

  std::error_code ec;
  fs::create_directories(o.out, ec);
  std::string name = stamp;
  for (char& ch : name) {
    if (ch == ':') ch = '-';
  }
  const std::string path = o.out + "/seam-bench-" + name + ".json";
  std::ofstream(path) << doc.dump(1) << "\n";
  fs::remove_all(s.scratch, ec);

  std::cout << "\n" << summary.table() << "\n";
  // The tax table of a small grid (the quick one: 24 lines per deployment); a full grid's is in
  // the JSON and the report.
  if (doc.contains("sweep") && doc["sweep"].is_object() && doc["sweep"]["cells"].size() <= 200)
    std::cout << "sweep (p50 latency and CPU per request; tax = deployment / mono - 1):\n"
              << sweepTaxTable(doc["sweep"]) << "\n";
  for (const auto& run : doc["runs"]) {
    if (run.contains("skipped"))
      std::cout << "skipped " << run["deployment"].get<std::string>() << ": "
                << run["skipped"].get<std::string>() << "\n";
    if (run.contains("error"))
      std::cout << "FAILED " << run["deployment"].get<std::string>() << ": "
                << run["error"].get<std::string>() << "\n";
  }
  // A failed fio verify fails the run: said last, loudly, and in the exit code.
  int rc = 0;
  auto loud = [&](const std::string& who, const nlohmann::json& fio) {
    const nlohmann::json jobs = fio.value("jobs", nlohmann::json::object());
    for (const auto& [job, j] : jobs.items()) {
      if (j.value("verify_failed", false)) {
        std::cout << "FAILED: fio verify on " << who << " (" << job
                  << "): " << j.value("failure", std::string()) << "\n";
        rc = 1;
      }
    }
  };
  for (const auto& run : doc["runs"]) {
    if (run.contains("fio"))
      loud(run["deployment"].get<std::string>() + " #" + std::to_string(run["repeat"].get<int>()),
           run["fio"]);
  }
  for (const auto& b : doc["baselines"]) {
    for (const char* floor : {"direct", "passthrough_ll"}) {
      if (b.contains("fio") && b["fio"].contains(floor)) loud(floor, b["fio"][floor]);
    }
  }
  for (const auto& run : doc["runs"]) {
    if (run.contains("floor") && run["floor"]["moved"].get<bool>())
      std::cout << "floor moved > 25% during " << run["deployment"].get<std::string>() << " #"
                << run["repeat"].get<int>() << ": its figures are not comparable\n";
  }
  std::cout << "PM QoS: " << pm_qos.why() << "\n";
  std::cout << fmt::format("wrote {} ({:.1f} s)\n", path, doc["duration_s"].get<double>());
  return rc;
}

}  // namespace
}  // namespace seams::bench

int main(int argc, char** argv) {
  using namespace seams::bench;
  CLI::App app{"seam-bench: identical FUSE and HTTP workloads against every deployment"};
  app.require_subcommand(1);
  Options o;
  auto* run =
      app.add_subcommand("run", "run scenarios against deployments and write a JSON document");
  run->add_option("--workload", o.workload_file,
                  "a TOML file of workload keys (bench/workloads/README.md; every flag below "
                  "marked [KEY] is one); a flag overrides the file")
      ->check(CLI::ExistingFile);
  run->add_option("--set", o.sets,
                  "KEY=VALUE: a key of the deployments' seams.toml (e.g. http.threads=4, "
                  "cache.budget_bytes=1M), typed by the config schema; repeatable; after the "
                  "file's [set]")
      ->allow_extra_args(false);
  // One flag per workload key, from the table (workload.cpp): the value is parsed and checked
  // there, so the file and the flag give the same answer and the same message.
  std::vector<std::pair<const Knob*, CLI::Option*>> knob_options;
  for (const Knob& k : workloadKnobs()) {
    if (k.flag.empty()) continue;
    knob_options.emplace_back(
        &k, run->add_option(k.flag, o.knob_text[k.key], k.help + " [" + k.key + "]"));
  }
  run->add_flag("--quick", o.quick,
                "short measurements (0.2 s each, 4 connections, 4 drift trials, 5 starts, 200 "
                "files, 2 repeats; fio jobs of 2 s over 8 MiB files; the fault, fio and git "
                "scenarios and the wrk checks in the first repeat only) for CI");
  run->add_flag("--no-pm-qos", o.no_pm_qos,
                "do not hold /dev/cpu_dma_latency at 0 during the run (by default it is held, so "
                "idle CPUs poll instead of halting and c1 figures measure code, not wake-ups)");
  run->add_flag("--pin", o.pin,
                "run everything on one CPU: the bench's threads, the deployment's processes, "
                "nginx, wrk and the floor probes (the software cost without cross-CPU wake-ups; "
                "the report keeps pinned runs apart)");
  run->add_option("--pin-cpu", o.pin_cpu, "the CPU of --pin (default: the highest allowed)");
  run->add_option("--out", o.out, "directory for the JSON document")->capture_default_str();
  run->add_option("--bin-dir", o.bin_dir,
                  "build tree holding mono/seamd, split/seam-split, core/control/seamctl")
      ->capture_default_str();
  model::AdviseOptions advise_opts;
  auto* advise = app.add_subcommand(
      "advise",
      "predict the seam's latency and CPU tax for a workload from a run's sweep: per split "
      "deployment, the tax with a 95% interval, the work per call at which it falls below 10% "
      "and 1%, and the measured cells it rests on");
  advise->add_option("--from", advise_opts.from, "a seam-bench JSON with a sweep");
  advise->add_option("--calls", advise_opts.calls, "K: calls across the seam per request (>= 1)");
  advise->add_option("--work-us", advise_opts.work_us, "W: work per call, us (>= 0)");
  advise->add_option("--payload", advise_opts.payload,
                     "B: bytes per reply (K, M, G suffixes: powers of 1024)");
  advise->add_option("--rtt-us", advise_opts.rtt_us,
                     "the round trip between the daemons, us (refused until a JSON has "
                     "placements with a measured RTT, issue 17)");
  advise->add_flag("--extrapolate", advise_opts.extrapolate,
                   "predict outside the measured range of K, W and B (and say so)");
  advise->add_flag("--json", advise_opts.json, "print the advice as JSON");
  app.footer(kJsonHelp);
  run->footer(kJsonHelp);
  CLI11_PARSE(app, argc, argv);
  if (advise->parsed()) return model::runAdvise(advise_opts, std::cout, std::cerr);
  // Only the flags given reach the workload: the others leave the file's value or the default.
  for (auto it = o.knob_text.begin(); it != o.knob_text.end();) {
    const auto given = std::find_if(knob_options.begin(), knob_options.end(),
                                    [&](const auto& e) { return e.first->key == it->first; });
    it = given != knob_options.end() && given->second->count() > 0 ? std::next(it)
                                                                   : o.knob_text.erase(it);
  }
  ::signal(SIGPIPE, SIG_IGN);
  // Pinned before any thread or child exists, so all of them inherit the one CPU.
  nlohmann::json pinning = {{"pinned", false}, {"allowed_cpus", allowedCpus()}};
  if (o.pin) {
    const int cpu = o.pin_cpu >= 0 ? o.pin_cpu : defaultPinCpu();
    if (seams::Status st = pinProcessTo(cpu); !st.ok()) {
      std::cerr << "seam-bench: --pin: " << st.message() << "\n";
      return 2;
    }
    pinning = {{"pinned", true}, {"cpu", cpu}, {"allowed_cpus", pinning["allowed_cpus"]}};
  } else if (o.pin_cpu >= 0) {
    std::cerr << "seam-bench: --pin-cpu needs --pin\n";
    return 2;
  }
  // The hold covers the whole run and is withdrawn when it ends, however it ends.
  return whileHoldingPmQos({.enabled = !o.no_pm_qos},
                           [&](const PmQosHold& hold) { return runCommand(o, hold, pinning); });
}
