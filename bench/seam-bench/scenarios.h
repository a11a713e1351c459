// The scenarios of seam-bench (DESIGN.md "Bench"). Each returns the JSON of its figures (every
// figure {"value", "unit"}) and adds its headline figures to the summary.
//
// Threading: called from the main thread; each scenario runs and joins its own load threads.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "bench/seam-bench/dataset.h"
#include "bench/seam-bench/deployment.h"
#include "bench/seam-bench/load.h"
#include "bench/seam-bench/tool_results.h"  // fioRunFailure
#include "bench/seam-bench/workload.h"      // Weights

namespace seams::bench {

struct Settings {
  bool quick = false;
  double measure_s = 2.0;  // one load measurement
  double floor_s = 0.5;    // one floor probe (UNIX or TCP ping-pong)
  int connections = 8;     // N of "closed loop at 1 and N"
  int fuse_threads = 4;
  int drift_trials = 20;
  int startup_reps = 5;
  // Open-loop rates as fractions of the closed-loop N throughput (the http scenario).
  std::vector<double> open_loop_fractions;
  // The sweep scenario's grid from --sweep-calls, --sweep-work-us, --sweep-bytes; empty: the
  // standard grid (sweepGrid()).
  std::vector<std::uint64_t> sweep_calls, sweep_work_us, sweep_bytes;
  std::string scratch;  // a temp dir the bench owns
  Binaries bins;
  std::uint64_t seed = 1;
  int hot_files = 32;
  int cold_files = 512;
  std::string source_dir;  // the project's source tree (the git scenario extracts its core/)
  // The operations, mixes and payloads of the workload (workload.h); the defaults are the
  // bench's fixed workload before there were knobs.
  std::vector<std::string> http_ops = {"get_cached", "get_uncached", "stat",
                                       "list",       "put",          "mixed"};
  std::vector<std::string> open_loop_ops = {"get_cached", "mixed"};
  std::vector<double> open_loop_rates;  // req/s; when given, instead of `sweep`'s fractions
  Weights http_mix = {
      {"get_cached", 70}, {"stat", 10}, {"list", 5}, {"get_uncached", 5}, {"put", 10}};
  std::uint64_t put_bytes = 4096;
  std::uint64_t hot_bytes = 4096;
  std::uint64_t cold_bytes = 4096;
  std::vector<std::string> fuse_ops = {"stat", "read4k", "read1m", "readdir", "create", "mix"};
  Weights fuse_mix = {{"stat", 60}, {"read4k", 25}, {"readdir", 5}, {"create", 10}};
};

// Headline figures for the end-of-run table: (deployment, metric) -> values over repeats.
class Summary {
 public:
  void add(const std::string& deployment, const std::string& metric, double value,
           const std::string& unit);
  nlohmann::json toJson() const;
  std::string table() const;

 private:
  struct Row {
    std::vector<double> values;
    std::string unit;
  };
  std::vector<std::string> metrics_order_;
  std::vector<std::string> deployments_order_;
  std::map<std::pair<std::string, std::string>, Row> rows_;
};

// Terminal progress: what runs now, how far, what is left.
void progress(const std::string& line);

struct Context {
  BenchDeployment& dep;
  const Settings& settings;
  const DatasetInfo& data;
  Summary& summary;
  std::string name;  // the deployment's name
  int repeat = 1;    // 1-based: which interleaved repeat this is
};

nlohmann::json runHttp(Context& c);
nlohmann::json runFuse(Context& c);
nlohmann::json runDrift(Context& c);
nlohmann::json runMemory(Context& c);
nlohmann::json runFault(Context& c);

// --- the sweep (scenario_sweep.cpp) ------------------------------------------------------------

// K (calls per request), W (work per call, us) and B (reply bytes per call) of GET /v1/probe.
// Standard: K {1,2,4,8,16} x W {0,10,100,1000} x B {64,4096,65536,1048576}; --quick runs the
// subset K {1,4,16} x W {0,1000} x B {64,65536} (quick_subset); flags replace either list.
struct SweepGrid {
  std::vector<std::uint64_t> calls, work_us, bytes;
  bool quick_subset = false;
};
SweepGrid sweepGrid(const Settings& s);
// How long each cell runs: max(budget_s, min_requests x the pilot's latency), at most
// max_cell_s (quick: 0.15 s, 10, 1.5 s; otherwise 0.3 s, 20, 3 s).
struct SweepTiming {
  double budget_s = 0.3;
  int min_requests = 20;
  double max_cell_s = 3.0;
};
SweepTiming sweepTiming(const Settings& s);
// Every cell of the grid, closed loop at 1 and at Settings::connections: p50, p99, throughput,
// CPU-us and context switches per request over the deployment's process tree, and the owner's
// calibration (runs[i]["sweep"], see --help).
nlohmann::json runSweep(Context& c);
// doc["sweep"] from every run's "sweep": per (deployment, K, W, B, connections) the medians over
// repeats and, against `reference` (mono), tax = deployment / reference - 1 and delta =
// deployment - reference of the p50 latency and of the CPU-us per request (null for the
// reference and for cells it lacks). Null when no run has a sweep.
nlohmann::json aggregateSweep(const nlohmann::json& runs, const std::string& reference = "mono");
// That aggregate as a text table (one line per cell), for the terminal.
std::string sweepTaxTable(const nlohmann::json& sweep);

// Restarts without a refused connection (scenario_upgrade.cpp): under closed-loop HTTP load,
// `seamctl restart httpd` in split, the whole seamd restarted on a listener the bench holds in
// mono (as systemd with seamd.socket). Summary rows "upgrade seamd|httpd ...".
nlohmann::json runUpgrade(Context& c);
// fio and git on the mount (scenario_tools.cpp); summary rows "fio JOB DIR ..." / "git STEP".
nlohmann::json runFio(Context& c);
nlohmann::json runGit(Context& c);
// Not tied to a deployment: direct directory, passthrough_ll, nginx, raw socket ping-pong; and,
// when `tools` is set, fio and git on the direct directory and on passthrough_ll ("fio" and
// "git": {"direct", "passthrough_ll"}). `repeat` > 1 of a quick run skips the wrk cross-check
// (run once per quick run). `data` is the data set written under `vault_root` (the FUSE
// `dataset` operation reads it; without it that operation is left out).
struct BaselineTools {
  bool fio = false;
  bool git = false;
};
nlohmann::json runBaselines(const Settings& s, const std::string& vault_root, Summary& summary,
                            int repeat = 1, BaselineTools tools = {},
                            const DatasetInfo* data = nullptr);

// --- fio and git (scenario_tools.cpp) ----------------------------------------------------------

// seam-fused's calls to seam-fsd so far (its stub's gauge seams_ipc_round_trips{owner="fsd"},
// read through seam-fused's control socket, 150 ms after the call since the gauge is refreshed
// every 100 ms); nullopt for mono (no IPC), a null `dep`, or when unreadable.
std::optional<double> fusedVaultCalls(const BenchDeployment* dep);

// Each fio job runs `runtime_s` seconds (time_based) over 2 files of `file_mib` MiB (one per
// job): 2 s and 8 MiB with --quick, 10 s and 32 MiB otherwise.
struct FioSettings {
  int runtime_s = 10;
  int file_mib = 32;
};
FioSettings fioSettings(const Settings& s);
// fio's four jobs (randread 4k, randwrite 4k, randrw 4k with verify=crc32c, sequential read 1 MiB;
// psync, 2 jobs, no O_DIRECT) in ROOT/seam-bench-fio, removed after. Summary rows under
// `deployment`: "<label> JOB read|write IOPS|bandwidth|clat p50|clat p99". With a split `dep`,
// also seam-fused's calls to seam-fsd per I/O ("ipc fsd calls per fio JOB I/O"). A failed job
// sets "error"; a failed verify also sets "verify_failed" (see fioRunFailure).
nlohmann::json fioSuite(const std::string& root, const Settings& s, Summary& summary,
                        const std::string& deployment, const std::string& label,
                        const BenchDeployment* dep);
// The project's core/ as a tar file in the scratch dir, made on the first call of a run.
Result<std::string> sourceTarball(const Settings& s);
// Extract that tarball into ROOT/seam-bench-git, then git init, add -A, commit and fsck there
// (git with no system or user config), each step timed; the first failed step stops the rest
// and sets "error" with its output. Summary rows (s) "<label> extract", "<label> init", "<label>
// add -A", "<label> commit", "<label> fsck" and "<label> total", only when every step worked.
nlohmann::json gitWorkload(const std::string& root, const Settings& s, Summary& summary,
                           const std::string& deployment, const std::string& label);

// Our HTTP client against wrk on the same URL, at c1 and cN ({"c1": ..., "cN": ...}); adds
// "<metric> cK: ours/wrk p50" rows to the summary under `deployment`.
nlohmann::json wrkCrossChecks(const std::string& host, std::uint16_t port, const std::string& token,
                              const std::string& target, const Settings& s, Summary& summary,
                              const std::string& deployment, const std::string& metric);

// A figure: {"value": v, "unit": u}.
nlohmann::json fig(double value, const std::string& unit);

}  // namespace seams::bench
