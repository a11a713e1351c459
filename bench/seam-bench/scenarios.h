// The scenarios of seam-bench (DESIGN.md "Bench"). Each returns the JSON of its figures (every
// figure {"value", "unit"}) and adds its headline figures to the summary.
//
// Threading: called from the main thread; each scenario runs and joins its own load threads.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "bench/seam-bench/dataset.h"
#include "bench/seam-bench/deployment.h"
#include "bench/seam-bench/load.h"

namespace seams::bench {

struct Settings {
  bool quick = false;
  double measure_s = 2.0;  // one load measurement
  double floor_s = 0.5;    // one floor probe (UNIX or TCP ping-pong)
  int connections = 8;     // N of "closed loop at 1 and N"
  int fuse_threads = 4;
  int drift_trials = 20;
  int startup_reps = 5;
  std::vector<double> sweep;  // open-loop rates as fractions of the closed-loop N throughput
  std::string scratch;        // a temp dir the bench owns
  Binaries bins;
  std::uint64_t seed = 1;
  int hot_files = 32;
  int cold_files = 512;
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
// Not tied to a deployment: direct directory, passthrough_ll, nginx, raw socket ping-pong.
// `repeat` > 1 of a quick run skips the wrk cross-check (run once per quick run).
nlohmann::json runBaselines(const Settings& s, const std::string& vault_root, Summary& summary,
                            int repeat = 1);

// Our HTTP client against wrk on the same URL, at c1 and cN ({"c1": ..., "cN": ...}); adds
// "<metric> cK: ours/wrk p50" rows to the summary under `deployment`.
nlohmann::json wrkCrossChecks(const std::string& host, std::uint16_t port, const std::string& token,
                              const std::string& target, const Settings& s, Summary& summary,
                              const std::string& deployment, const std::string& metric);

// A figure: {"value": v, "unit": u}.
nlohmann::json fig(double value, const std::string& unit);

}  // namespace seams::bench
