#include "tests/support/sanitizer_reports.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

namespace seams::testing {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

std::string slurp(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// `NAME=` followed by this process's value of NAME and `extra`, colon-separated (a later flag
// wins over an earlier one, so ours override the preset's where they meet).
std::string optionsVar(const char* name, const std::string& extra) {
  const char* current = std::getenv(name);
  std::string value = current != nullptr ? current : "";
  if (!value.empty()) value += ':';
  return std::string(name) + "=" + value + extra;
}

}  // namespace

const char* sanitizers() {
  return SEAMS_TEST_SANITIZE;
}

double timeScale() {
  if (const char* env = std::getenv("SEAMS_TEST_TIME_SCALE")) {
    char* end = nullptr;
    const double v = std::strtod(env, &end);
    if (end != env && *end == '\0' && v >= 1.0) return v;
  }
  const std::string s = sanitizers();
  if (s.find("thread") != std::string::npos) return 6.0;
  if (s.find("address") != std::string::npos) return 3.0;
  return 1.0;
}

std::chrono::milliseconds scaled(std::chrono::milliseconds d) {
  return std::chrono::milliseconds(
      static_cast<std::int64_t>(std::ceil(static_cast<double>(d.count()) * timeScale())));
}

int scaledMs(int ms) {
  return static_cast<int>(scaled(std::chrono::milliseconds(ms)).count());
}

SanitizerReports::SanitizerReports(std::string dir) : dir_(std::move(dir)) {
  std::error_code ec;
  fs::create_directories(dir_, ec);
  ::chmod(dir_.c_str(), 0777);
  log_path_ = dir_ + "/report";
}

std::vector<std::string> SanitizerReports::environment() const {
  const std::string common = "log_path=" + log_path_ +
                             ":halt_on_error=1:exitcode=" + std::to_string(kSanitizerExitCode) +
                             ":abort_on_error=0";
  return {
      optionsVar("ASAN_OPTIONS", common + ":handle_segv=0"),
      optionsVar("UBSAN_OPTIONS", common + ":print_stacktrace=1"),
      optionsVar("TSAN_OPTIONS", common + ":handle_segv=0"),
  };
}

std::vector<pid_t> SanitizerReports::processes() const {
  // Our log_path is unique to this collector: a process whose environment carries it was
  // started by us (or by a process we started), however far down the tree.
  const std::string marker = "log_path=" + log_path_ + ":";
  std::vector<pid_t> pids;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator("/proc", ec)) {
    const std::string name = entry.path().filename();
    if (name.empty() || !std::all_of(name.begin(), name.end(), ::isdigit)) continue;
    const std::string environ = slurp(entry.path() / "environ");  // "" for a zombie
    if (environ.find(marker) != std::string::npos) pids.push_back(std::stoi(name));
  }
  return pids;
}

std::vector<pid_t> SanitizerReports::waitUntilGone(std::chrono::milliseconds bound) const {
  const auto deadline = std::chrono::steady_clock::now() + bound;
  for (;;) {
    std::vector<pid_t> left = processes();
    if (left.empty() || std::chrono::steady_clock::now() > deadline) return left;
    std::this_thread::sleep_for(20ms);
  }
}

void SanitizerReports::collectFromStderr(const std::string& text, const std::string& origin) const {
  static constexpr const char* kMarkers[] = {"runtime error:", "AddressSanitizer", "LeakSanitizer",
                                             "ThreadSanitizer", "UndefinedBehaviorSanitizer"};
  // Each line that names a sanitizer, and the stack and summary that follow it.
  constexpr int kContextLines = 40;
  std::istringstream in(text);
  std::string line, excerpt;
  int context = 0;
  while (std::getline(in, line)) {
    const bool marked = std::any_of(std::begin(kMarkers), std::end(kMarkers), [&](const char* m) {
      return line.find(m) != std::string::npos;
    });
    if (marked) context = kContextLines;
    if (context > 0) {
      excerpt += line + '\n';
      --context;
    }
  }
  if (excerpt.empty()) return;
  std::string name = origin;
  for (char& ch : name) {
    if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '-';
  }
  for (int n = 0;; ++n) {
    const fs::path path = fs::path(dir_) / ("stderr." + name + "." + std::to_string(n));
    if (fs::exists(path)) continue;
    std::ofstream(path) << excerpt;
    return;
  }
}

std::string SanitizerReports::reports() const {
  std::vector<fs::path> files;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir_, ec)) files.push_back(entry.path());
  std::sort(files.begin(), files.end());
  std::string text;
  for (const fs::path& file : files) {
    text += "==== " + file.filename().string() + " ====\n" + slurp(file) + "\n";
  }
  return text;
}

void expectNoSanitizerReports(const SanitizerReports& reports, const std::string& what) {
  std::vector<pid_t> left = reports.waitUntilGone(scaled(20s));
  if (!left.empty()) {
    std::string pids;
    for (pid_t p : left) pids += " " + std::to_string(p);
    ADD_FAILURE() << what << ": processes still running after the test:" << pids << " (killed now)";
    // They are ours (they carry our environment); none may outlive the test.
    for (pid_t p : left) ::kill(p, SIGKILL);
    (void)reports.waitUntilGone(scaled(10s));
  }
  const std::string text = reports.reports();
  if (!text.empty()) ADD_FAILURE() << what << ": sanitizer report(s):\n" << text;
}

}  // namespace seams::testing
