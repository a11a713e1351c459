// The workload of one `seam-bench run`: which deployments and scenarios, and what the scenarios
// do (data set, HTTP payloads and request mix, hot and cold sets, cache budget, FUSE threads,
// HTTP connections, open-loop rates, operations), plus `[set]` overrides of the deployment config.
//
// Three sources, later ones winning key by key: the defaults (which depend on --quick), the TOML
// file of --workload FILE, and the command-line flags. Every key is one row of a table
// (workloadKnobs()): its name in the file, its flag, its help, and one typed setter that parses
// and validates, so a file value and a flag value of the same key meet the same check and the
// same message. bench/workloads/README.md documents every key; bench/workloads/example.toml uses
// them all.
//
// Adding a key (h-probe's sweep grid, say): a field in Workload and one row in workloadKnobs()
// (workload.cpp), e.g.
//   knob("sweep.calls", "--sweep-calls", "calls per request K", &Workload::sweep_calls,
//        eachInRange(1, 1024)),
// and its flag, its file key, its check and its record in doc["workload"] follow from the row.
//
// Errors are invalid_argument Statuses naming the source and the key, e.g.
//   "bench/workloads/x.toml: http.connections: must be between 1 and 1024 (got 0)"
//   "bench/workloads/x.toml: unknown key 'http.conections' (valid keys: deployments, ...)"
//   "--set http.thread: not a key of seams.toml (keys of [http]: enabled, listen, threads, ...)"
// and seam-bench exits 2 on them before it starts anything.
//
// Threading: plain functions and values.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "bench/seam-bench/dataset.h"
#include "bench/seam-bench/deployment.h"
#include "core/common/status.h"

namespace seams::bench {

// One `--set KEY=VALUE` (or `[set]` entry), typed by the config schema: `toml` is the value as
// TOML text (an integer, a float, true/false or a quoted string), ready for the config file.
struct ConfigOverride {
  std::string key;   // "cache.budget_bytes"
  std::string toml;  // "524288", "true", "\"debug\""
  nlohmann::json value;
};

// Operation names, as the scenarios report them (http.closed_loop.OP, fuse.ops.OP).
const std::vector<std::string>&
httpOpNames();  // get_cached get_uncached stat list put mixed dataset
const std::vector<std::string>& fuseOpNames();  // stat read4k read1m readdir create mix dataset

using Weights = std::vector<std::pair<std::string, double>>;  // (operation, relative weight)

struct Workload {
  // What runs.
  std::vector<std::string> deployments;  // names as parseDeployment() reads them
  std::vector<std::string> scenarios;
  int repeat = 1;
  double seconds = 2.0;  // one load measurement
  int starts = 20;       // starts per deployment in the startup scenario
  std::uint64_t seed = 1;
  // [data]: the data set written into every vault (dataset.h).
  int files = 1000;
  std::string size_dist = "4K:70,64K:25,1M:5";
  int hot_files = 32;
  int cold_files = 1024;
  std::uint64_t hot_bytes = 4096;   // each hot file: the cached GET's and FUSE read4k's payload
  std::uint64_t cold_bytes = 4096;  // each cold file: the uncached GET's payload
  // [http]
  int connections = 8;  // N of "closed loop at 1 and N"
  std::vector<std::string> http_ops;
  Weights http_mix;                // the `mixed` operation
  std::uint64_t put_bytes = 4096;  // the PUT body
  std::vector<std::string> open_loop_ops;
  std::vector<double> open_loop_fractions;  // of the closed-loop N throughput
  std::vector<double> open_loop_rates;      // req/s; when given, used instead of the fractions
  // [fuse]
  int fuse_threads = 4;  // N of "closed loop at 1 and N threads" (the bench's client threads)
  std::vector<std::string> fuse_ops;
  Weights fuse_mix;  // the `mix` operation
  // [sweep]: the grid of the sweep scenario; empty: the standard grid (scenarios.h sweepGrid()).
  std::vector<std::int64_t> sweep_calls, sweep_work_us, sweep_bytes;
  // [cache]
  std::uint64_t cache_budget_bytes = 512 * 1024;  // the config's cache.budget_bytes
  // [set] and --set: config keys, applied after the bench's own (the last of a key wins).
  std::vector<ConfigOverride> set;

  // Derived: size_dist parsed.
  std::vector<SizeClass> size_classes;
  // Which keys the file and the flags gave (the rest are defaults).
  std::set<std::string> from_file, from_flags;

  // Every key at its value, as doc["workload"] records it.
  nlohmann::json toJson() const;
  // The overrides of the deployment config: the bench's own (cache budget, restart intensity),
  // then `set` in order; key -> TOML value text.
  std::map<std::string, std::string> configOverrides() const;
};

// The defaults of a run (--quick or not).
Workload defaultWorkload(bool quick);

// A key of the table: how it reads a value and where it puts it.
struct Knob {
  std::string key;   // in the file: "http.connections" is `connections` under [http]
  std::string flag;  // "--connections"; empty: file only
  std::string help;
  // Parse a flag's text / a file's value (the TOML node as JSON) into the key's type, check it
  // and store it. Each returns the problem (without the key), or "" when stored.
  std::function<std::string(Workload&, const std::string& text)> setText;
  std::function<std::string(Workload&, const nlohmann::json& value)> setJson;
  std::function<nlohmann::json(const Workload&)> get;
};
const std::vector<Knob>& workloadKnobs();

struct WorkloadSources {
  bool quick = false;
  std::string file;                          // --workload FILE ("": none)
  std::map<std::string, std::string> flags;  // knob key -> the flag's text, flags given only
  std::vector<std::string> sets;             // --set KEY=VALUE, in order
};

// Defaults, then the file, then the flags, then the cross-key checks (the open-loop operations
// must be measured closed-loop first; `dataset` needs files; scenarios among `scenario_names`),
// then every config override checked against the config schema by the parser seamd uses.
Result<Workload> resolveWorkload(const WorkloadSources& sources,
                                 const std::vector<std::string>& scenario_names);

// `KEY=VALUE` (or a [set] entry) typed by the schema of seams.toml: the key must be one that
// renderConfig() writes (so `seamctl init` writes it) and not one the bench owns (paths, listen
// address, codec and coherence: those come from the deployment name).
Result<ConfigOverride> parseConfigOverride(const std::string& key, const std::string& value_text);
// Checks a set of overrides by applying them to the default config and parsing it with
// parseConfig() (core/config/config.h): the ranges and cross-key rules seamd itself applies.
Status checkConfigOverrides(const std::map<std::string, std::string>& overrides);

}  // namespace seams::bench
