// The sweep scenario (issue 14, part 3): GET /v1/probe over a grid of calls per request (K), work
// per call (W) and reply bytes per call (B), each cell closed loop at 1 connection and at N, with
// the deployment's process tree's CPU time and context switches per request; and the aggregate
// over runs, `doc["sweep"]`, whose boundary tax is split over mono - 1 per cell.
//
// Per-cell duration: a pilot of kPilotRequests requests on one connection (also the warm-up)
// estimates the request's latency L; the cell then runs max(budget, min_requests * L), at most
// max_cell_s, so a cheap cell gets its time budget and an expensive one (K = 16, W = 1 ms,
// B = 1 MiB: tens of ms per request) still gets min_requests requests.
#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <memory>
#include <tuple>

#include "bench/seam-bench/http_client.h"
#include "bench/seam-bench/scenarios.h"

namespace seams::bench {

namespace {

constexpr int kPilotRequests = 3;

std::string probeTarget(std::uint64_t calls, std::uint64_t work_us, std::uint64_t bytes) {
  return fmt::format("/v1/probe?calls={}&work_us={}&bytes={}", calls, work_us, bytes);
}

// One request; ok only if the route answered 200 and received every byte it asked for.
bool probeOnce(HttpClient& client, const std::string& target, const std::string& expect_received,
               std::string* body_out = nullptr) {
  auto r = client.request("GET", target);
  if (!r.ok() || r->status != 200) return false;
  if (r->body.find(expect_received) == std::string::npos) return false;
  if (body_out != nullptr) *body_out = std::move(r->body);
  return true;
}

double medianOf(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

nlohmann::json gridJson(const SweepGrid& g, int connections) {
  return {{"calls", g.calls},
          {"work_us", g.work_us},
          {"payload_bytes", g.bytes},
          {"connections", {1, connections}},
          {"quick_subset", g.quick_subset}};
}

}  // namespace

SweepGrid sweepGrid(const Settings& s) {
  SweepGrid g;
  g.quick_subset = s.quick;
  g.calls =
      s.quick ? std::vector<std::uint64_t>{1, 4, 16} : std::vector<std::uint64_t>{1, 2, 4, 8, 16};
  // The quick grid spans the whole work range, so its break-even (where the tax falls below 10%)
  // lies inside what it measured rather than beyond it.
  g.work_us =
      s.quick ? std::vector<std::uint64_t>{0, 1000} : std::vector<std::uint64_t>{0, 10, 100, 1000};
  g.bytes = s.quick ? std::vector<std::uint64_t>{64, 65536}
                    : std::vector<std::uint64_t>{64, 4096, 65536, 1048576};
  // A grid given by flags is the user's own: not the quick subset of the standard one.
  if (!s.sweep_calls.empty()) g.calls = s.sweep_calls, g.quick_subset = false;
  if (!s.sweep_work_us.empty()) g.work_us = s.sweep_work_us, g.quick_subset = false;
  if (!s.sweep_bytes.empty()) g.bytes = s.sweep_bytes, g.quick_subset = false;
  return g;
}

SweepTiming sweepTiming(const Settings& s) {
  return s.quick ? SweepTiming{0.15, 10, 1.5} : SweepTiming{0.3, 20, 3.0};
}

nlohmann::json runSweep(Context& c) {
  const Settings& s = c.settings;
  const SweepGrid grid = sweepGrid(s);
  const SweepTiming timing = sweepTiming(s);
  HttpClient admin("127.0.0.1", c.dep.httpPort());
  auto token = admin.login("admin", c.dep.password("admin"));
  if (!token.ok()) return {{"error", token.status().toString()}};
  admin.setToken(*token);

  nlohmann::json out;
  out["grid"] = gridJson(grid, s.connections);
  out["timing"] = {{"budget_s", timing.budget_s},
                   {"min_requests", timing.min_requests},
                   {"max_cell_s", timing.max_cell_s},
                   {"pilot_requests", kPilotRequests},
                   {"rule",
                    "each cell runs max(budget_s, min_requests x the pilot's mean latency), at "
                    "most max_cell_s, after kPilotRequests warm-up requests on one connection"}};
  // The owner's calibration, from one probe's answer.
  std::string body;
  if (!probeOnce(admin, probeTarget(1, 0, 0), "\"bytes_received\":0", &body)) {
    return {{"error", "GET " + probeTarget(1, 0, 0) + " failed"}, {"grid", out["grid"]}};
  }
  const auto first = nlohmann::json::parse(body, nullptr, false);
  out["calibration"] = {
      {"iterations_per_us",
       fig(first.is_object() ? first.value("iterations_per_us", 0.0) : 0.0, "1/us")}};

  nlohmann::json cells = nlohmann::json::array();
  const std::size_t total = grid.calls.size() * grid.work_us.size() * grid.bytes.size() * 2;
  std::size_t step = 0;
  for (std::uint64_t calls : grid.calls) {
    for (std::uint64_t work : grid.work_us) {
      for (std::uint64_t bytes : grid.bytes) {
        const std::string target = probeTarget(calls, work, bytes);
        const std::string expect = fmt::format("\"bytes_received\":{}", calls * bytes);
        // Pilot and warm-up: the request's latency on one connection sets the cell's length.
        std::int64_t t0 = nowNs();
        int pilot_ok = 0;
        for (int i = 0; i < kPilotRequests; ++i) pilot_ok += probeOnce(admin, target, expect);
        const double pilot_s = double(nowNs() - t0) / 1e9 / kPilotRequests;
        const double seconds =
            std::clamp(timing.min_requests * pilot_s, timing.budget_s, timing.max_cell_s);
        for (int conns : {1, s.connections}) {
          progress(fmt::format("{} sweep: K={} W={}us B={} c={} ({:.2f} s; {}/{})", c.name, calls,
                               work, bytes, conns, seconds, ++step, total));
          nlohmann::json cell = {{"calls", calls},
                                 {"work_us", work},
                                 {"payload_bytes", bytes},
                                 {"connections", conns}};
          if (pilot_ok == 0) {
            cell["error"] = "every pilot request failed: GET " + target;
            cell["requests"] = 0;
            cell["errors"] = kPilotRequests;
            cells.push_back(cell);
            continue;
          }
          const ProcCounters before = c.dep.counters();
          const std::int64_t wall_start = nowNs();
          LoadResult r = closedLoop(conns, seconds, [&](int) -> Op {
            auto client = std::make_shared<HttpClient>("127.0.0.1", c.dep.httpPort());
            client->setToken(*token);
            return [client, target, expect] { return probeOnce(*client, target, expect); };
          });
          const ProcCounters d = c.dep.counters() - before;
          // closedLoop() stops starting requests after `seconds` but lets the last ones finish:
          // with requests of a large part of the cell's length the wall time is what counts
          // (less closedLoop's 1 ms start barrier).
          const double wall_s = std::max(r.seconds, double(nowNs() - wall_start) / 1e9 - 0.001);
          const double n = double(std::max<std::uint64_t>(1, r.ok + r.errors));
          cell["requests"] = r.ok + r.errors;
          cell["errors"] = r.errors;
          cell["seconds"] = wall_s;
          cell["p50"] = fig(double(r.latency->percentile(50)) / 1000, "us");
          cell["p99"] = fig(double(r.latency->percentile(99)) / 1000, "us");
          cell["throughput"] = fig(double(r.ok) / wall_s, "req/s");
          cell["cpu_us_per_req"] = fig(d.cpu_seconds / n * 1e6, "us");
          cell["ctx_switches_per_req"] =
              fig(double(d.voluntary_switches + d.involuntary_switches) / n, "1");
          if (calls == grid.calls.front() && work == grid.work_us.front() &&
              bytes == grid.bytes.front()) {
            const std::string key = fmt::format("sweep K{} W{} B{} c{}", calls, work, bytes, conns);
            c.summary.add(c.name, key + " p50", double(r.latency->percentile(50)) / 1000, "us");
            c.summary.add(c.name, key + " CPU per request", d.cpu_seconds / n * 1e6, "us");
          }
          cells.push_back(std::move(cell));
        }
      }
    }
  }
  out["cells"] = std::move(cells);
  return out;
}

nlohmann::json aggregateSweep(const nlohmann::json& runs, const std::string& reference) {
  using Key = std::tuple<std::uint64_t, std::uint64_t, std::uint64_t, int>;  // K, W, B, conns
  struct Samples {
    std::vector<double> p50, p99, throughput, cpu, ctx;
  };
  // deployment -> cell -> samples over repeats, deployments in the order they first ran.
  std::vector<std::string> order;
  std::map<std::string, std::map<Key, Samples>> by;
  nlohmann::json grid;
  for (const auto& run : runs) {
    if (!run.contains("sweep") || !run["sweep"].contains("cells")) continue;
    const std::string dep = run.value("deployment", std::string());
    if (!by.count(dep)) order.push_back(dep);
    if (grid.is_null()) grid = run["sweep"]["grid"];
    auto& cells = by[dep];
    for (const auto& cell : run["sweep"]["cells"]) {
      if (!cell.contains("p50") || cell.value("requests", 0) == cell.value("errors", 0)) continue;
      const Key k{cell["calls"].get<std::uint64_t>(), cell["work_us"].get<std::uint64_t>(),
                  cell["payload_bytes"].get<std::uint64_t>(), cell["connections"].get<int>()};
      Samples& smp = cells[k];
      smp.p50.push_back(cell["p50"]["value"].get<double>());
      smp.p99.push_back(cell["p99"]["value"].get<double>());
      smp.throughput.push_back(cell["throughput"]["value"].get<double>());
      smp.cpu.push_back(cell["cpu_us_per_req"]["value"].get<double>());
      smp.ctx.push_back(cell["ctx_switches_per_req"]["value"].get<double>());
    }
  }
  if (order.empty()) return nullptr;
  const auto ref = by.find(reference);
  nlohmann::json out_cells = nlohmann::json::array();
  for (const std::string& dep : order) {
    for (const auto& [k, smp] : by[dep]) {
      const auto& [calls, work, bytes, conns] = k;
      const double p50 = medianOf(smp.p50), cpu = medianOf(smp.cpu);
      nlohmann::json cell = {{"deployment", dep},
                             {"calls", calls},
                             {"work_us", work},
                             {"payload_bytes", bytes},
                             {"connections", conns},
                             {"repeats", smp.p50.size()},
                             {"p50_us", p50},
                             {"p99_us", medianOf(smp.p99)},
                             {"throughput_rps", medianOf(smp.throughput)},
                             {"cpu_us_per_req", cpu},
                             {"ctx_switches_per_req", medianOf(smp.ctx)},
                             {"p50_us_samples", smp.p50},
                             {"cpu_us_per_req_samples", smp.cpu},
                             {"tax_latency", nullptr},
                             {"tax_cpu", nullptr},
                             {"delta_latency_us", nullptr},
                             {"delta_cpu_us", nullptr}};
      if (dep != reference && ref != by.end()) {
        if (auto m = ref->second.find(k); m != ref->second.end()) {
          const double mono_p50 = medianOf(m->second.p50), mono_cpu = medianOf(m->second.cpu);
          if (mono_p50 > 0) cell["tax_latency"] = p50 / mono_p50 - 1;
          if (mono_cpu > 0) cell["tax_cpu"] = cpu / mono_cpu - 1;
          cell["delta_latency_us"] = p50 - mono_p50;
          cell["delta_cpu_us"] = cpu - mono_cpu;
        }
      }
      out_cells.push_back(std::move(cell));
    }
  }
  return {{"reference", reference},
          {"grid", grid},
          {"definition",
           "per cell, medians over repeats; tax = split / reference - 1 and delta = split - "
           "reference, of the p50 latency and of the process tree's CPU-us per request, at the "
           "same K (calls), W (work_us), B (payload_bytes) and connections; null for the "
           "reference itself or when it has no such cell"},
          {"cells", std::move(out_cells)}};
}

std::string sweepTaxTable(const nlohmann::json& sweep) {
  if (!sweep.is_object() || !sweep.contains("cells")) return {};
  std::string out =
      fmt::format("{:<22} {:>3} {:>5} {:>8} {:>3}  {:>10} {:>10} {:>10} {:>10}\n", "deployment",
                  "K", "W us", "B", "c", "p50 us", "tax lat", "cpu us", "tax cpu");
  auto pct = [](const nlohmann::json& v) {
    return v.is_number() ? fmt::format("{:+.1f}%", v.get<double>() * 100) : std::string("-");
  };
  for (const auto& c : sweep["cells"]) {
    out += fmt::format("{:<22} {:>3} {:>5} {:>8} {:>3}  {:>10.1f} {:>10} {:>10.1f} {:>10}\n",
                       c["deployment"].get<std::string>(), c["calls"].get<std::uint64_t>(),
                       c["work_us"].get<std::uint64_t>(), c["payload_bytes"].get<std::uint64_t>(),
                       c["connections"].get<int>(), c["p50_us"].get<double>(),
                       pct(c["tax_latency"]), c["cpu_us_per_req"].get<double>(), pct(c["tax_cpu"]));
  }
  return out;
}

}  // namespace seams::bench
