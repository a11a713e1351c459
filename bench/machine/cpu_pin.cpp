#include "bench/machine/cpu_pin.h"

#include <sched.h>
#include <sys/types.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <string>

namespace seams::bench {

std::vector<int> allowedCpus() {
  std::vector<int> out;
  cpu_set_t set;
  CPU_ZERO(&set);
  if (::sched_getaffinity(0, sizeof set, &set) != 0) return out;
  for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
    if (CPU_ISSET(cpu, &set)) out.push_back(cpu);
  }
  return out;
}

int defaultPinCpu() {
  const auto cpus = allowedCpus();
  return cpus.empty() ? 0 : cpus.back();
}

Status pinProcessTo(int cpu) {
  const auto cpus = allowedCpus();
  if (std::find(cpus.begin(), cpus.end(), cpu) == cpus.end()) {
    return Status(Errc::invalid_argument,
                  "CPU " + std::to_string(cpu) + " is not one this process may run on");
  }
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  // sched_setaffinity acts on one thread: every thread there is now, so none is left unpinned.
  std::error_code ec;
  for (const auto& task : std::filesystem::directory_iterator("/proc/self/task", ec)) {
    const pid_t tid = static_cast<pid_t>(std::stol(task.path().filename().string()));
    if (::sched_setaffinity(tid, sizeof set, &set) != 0 && errno != ESRCH) {
      return Status::fromErrno(errno, "sched_setaffinity(" + std::to_string(tid) + ")");
    }
  }
  if (ec) return Status(Errc::io_error, "/proc/self/task: " + ec.message());
  return Status();
}

}  // namespace seams::bench
