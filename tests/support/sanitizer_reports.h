// Sanitizers over real processes: what the tests that spawn daemons need to run under the `asan`
// and `tsan` presets.
//
// A sanitizer reports on the stderr of the process it runs in. A daemon's stderr is a log file
// nobody waits for, and a daemon is often a grandchild of the test (test -> seam-split ->
// seam-fsd), so its report and its exit code never reach the test. SanitizerReports routes every
// report of every process started with its environment() to files of its own (`log_path`), and
// the test reads them back once those processes are gone: a report from any process of a
// deployment fails the test that started it, with the report printed.
//
// The same tests run slower in a sanitized Debug build (ASan about 2-3x, TSan 5-15x): timeScale()
// is the factor every wait and timeout of these tests, and every deadline they write into a
// deployment's config, is multiplied by.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

namespace seams::testing {

// The sanitizers this build was compiled with (SEAMS_SANITIZE): "", "address,undefined", "thread".
const char* sanitizers();
// How much slower than a release build this build runs real processes: 1 (release), 3 (ASan),
// 6 (TSan). SEAMS_TEST_TIME_SCALE in the environment (a number >= 1) overrides it, for a slower
// machine.
double timeScale();
// `d` times timeScale(), rounded up to a whole millisecond.
std::chrono::milliseconds scaled(std::chrono::milliseconds d);
// The same for a config value in milliseconds.
int scaledMs(int ms);

// The exit code of a process that a sanitizer stopped (exitcode=): distinct from every code our
// binaries exit with (1 failure, 3 the fakes' scripted failure, 70 escalation, 127 exec failure).
constexpr int kSanitizerExitCode = 86;

// Collects the sanitizer reports of the processes started with environment().
//
// Threading: one owner thread.
class SanitizerReports {
 public:
  // Reports go to files `dir/report.<pid>`; `dir` is created (mode 0777: daemons that switch to
  // another uid must still be able to write their report) and is the caller's to remove.
  explicit SanitizerReports(std::string dir);

  // "ASAN_OPTIONS=...", "UBSAN_OPTIONS=...", "TSAN_OPTIONS=...": this process's own values (the
  // test preset's suppressions, detect_leaks, ...) followed by log_path, halt_on_error=1,
  // exitcode=kSanitizerExitCode, abort_on_error=0 and handle_segv=0. Children inherit them, so
  // a launcher passes them on to its daemons unchanged.
  //
  // handle_segv=0: the fault tests send SIGSEGV as the "hard fault" (DESIGN.md); it must kill the
  // process as it does in production, so the launcher sees "killed by signal 11" and restarts it.
  // The sanitizers still report every bad access they instrument; only a wild access that the
  // instrumentation misses becomes a plain crash instead of a report.
  std::vector<std::string> environment() const;

  // Pids of live processes started with this environment (found through /proc/PID/environ, so
  // grandchildren and orphans count too; zombies do not).
  std::vector<pid_t> processes() const;
  // Waits until processes() is empty or `bound` passed; returns what is still running. A process
  // that exits writes its last report (LeakSanitizer's) on the way out: read reports after this.
  std::vector<pid_t> waitUntilGone(std::chrono::milliseconds bound) const;

  // Keeps the sanitizer reports found in `text`, a process's captured stderr (a daemon log, a
  // seamctl's output), as report files of their own named after `origin`. Needed because GCC's
  // libubsan, linked beside libasan, ignores log_path: UBSan's reports ("runtime error: ...") go
  // to stderr only. Any other sanitizer's words found there are kept too.
  void collectFromStderr(const std::string& text, const std::string& origin) const;

  // Every report written so far, each headed by its file name; "" if there is none.
  std::string reports() const;
  const std::string& dir() const { return dir_; }

 private:
  std::string dir_;
  std::string log_path_;
};

// For a harness's teardown: waits (scaled, bounded) for the processes of `reports` to end, then
// adds a GoogleTest failure for every report found, with its text, and one naming any process
// still running. `what` names the deployment in the messages.
void expectNoSanitizerReports(const SanitizerReports& reports, const std::string& what);

}  // namespace seams::testing
