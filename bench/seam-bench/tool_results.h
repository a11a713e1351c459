// What the bench reads back from the real tools it runs on a mount (the `fio` and `git`
// scenarios, scenario_tools.cpp): fio's JSON output, the verdict on a fio job, and the verdict on
// a sequence of timed shell steps. Pure functions over captured text, so each is tested on real
// captured output (tests/bench/tool_results_test.cpp, fixtures in tests/bench/fixtures/).
//
// Threading: plain functions and value types; no shared state.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/common/status.h"

namespace seams::bench {

// One direction (read or write) of a fio job, as fio reports it with --group_reporting (every
// job of the group summed: IOPS and bandwidth are totals, latency percentiles are over all I/Os).
struct FioDirection {
  double iops = 0;
  double bw_bytes_per_s = 0;
  std::uint64_t io_bytes = 0;
  std::uint64_t total_ios = 0;
  double clat_p50_us = 0;  // completion latency (fio's clat_ns), 50th and 99th percentile
  double clat_p99_us = 0;
};

struct FioJobResult {
  std::string jobname;
  int error = 0;  // fio's per-job "error" (an errno; EILSEQ = 84 when a verify failed)
  double runtime_s = 0;
  FioDirection read, write;
};

// Parses fio's --output-format=json text. fio may print warnings ("fio: multiple writers may
// ...") before the document; everything before the first line that starts with '{' is skipped.
// The first job is read (the bench runs one group with --group_reporting). An error when there
// is no JSON, it does not parse, or it has no job.
Result<FioJobResult> parseFioJson(std::string_view text);

// The verdict on one fio run: ok only when fio exited 0 and the job reports no error. A verify
// failure is the job's error EILSEQ (84) or a "verify:" line in fio's output (fio prints one per
// bad block, e.g. "verify: bad magic header ..."); its message quotes the first such line.
struct FioVerdict {
  bool ok = true;
  bool verify_failed = false;
  std::string message;  // why not ok; "" when ok
};
FioVerdict fioVerdict(int exit_code, const std::optional<FioJobResult>& job,
                      std::string_view output);

// One fio job as the bench records it: the parsed job (when its JSON parsed), the verdict, and
// its JSON {"command", "seconds", "ok", "runtime", "read"|"write": {"iops", "bandwidth" (MiB/s),
// "clat_p50", "clat_p99", "io_bytes", "total_ios"}, "fio_error"} plus, when not ok, "failure",
// "verify_failed" and "output" (fio's first 4 KiB).
struct FioRun {
  std::optional<FioJobResult> job;
  FioVerdict verdict;
  nlohmann::json json;
};
FioRun fioRun(const std::string& command, int exit_code, double seconds, std::string_view output);
// Adds a job to a suite's JSON ("jobs": {name: ...}); a failed one also goes into the suite's
// "error" (every failure, joined by "; ") and a failed verify sets the suite's "verify_failed".
void addFioJob(nlohmann::json& suite, const std::string& name, const FioRun& run);
// A failed verify fails the whole run: the run's "error" when a suite says so, else nullopt.
std::optional<std::string> fioRunFailure(const nlohmann::json& suite);

// The first line of `text` that contains `needle`, or "" (for quoting tool output in a verdict).
std::string firstLineContaining(std::string_view text, std::string_view needle);

// One timed step of the git workload (extract, git init, git add -A, git commit, git fsck).
struct StepResult {
  std::string name;
  std::string command;  // as a shell would show it, for the report
  double seconds = 0;
  int exit_code = 0;   // 128 + signal when killed; -1 when it could not run or timed out
  std::string output;  // stdout and stderr, kept only when the step failed (its last 4 KiB)
};
// {"steps": [{"name", "command", "seconds": FIGURE, "exit_code", "ok"} (+ "output" on failure)],
//  "total": FIGURE (of the steps that ran), "ok": bool, "failed_step" and "failure" when one
//  failed}. Steps after a failed one did not run and are listed in "not_run".
nlohmann::json stepsJson(const std::vector<StepResult>& ran,
                         const std::vector<std::string>& not_run);

}  // namespace seams::bench
