#include "core/control/manager_target.h"

#include <unistd.h>

#include <chrono>

namespace seams {

ServiceManagerTarget::ServiceManagerTarget(ServiceManager& manager,
                                           std::function<std::string()> stats)
    : manager_(manager), stats_(std::move(stats)) {}

std::vector<ControlRow> ServiceManagerTarget::status() {
  std::vector<ControlRow> rows;
  const std::int64_t pid = ::getpid();
  for (const ServiceStatus& s : manager_.status()) {
    ControlRow row;
    row.name = s.name;
    row.kind = "service";
    row.state = std::string(serviceStateName(s.state));
    row.pid = pid;
    row.restarts = s.restarts;
    row.last_error = s.last_error;
    row.abandoned_threads = s.abandoned_threads;
    if (s.heartbeat_age) {
      row.heartbeat_age_ms = std::chrono::duration<double, std::milli>(*s.heartbeat_age).count();
    }
    rows.push_back(std::move(row));
  }
  return rows;
}

std::string ServiceManagerTarget::stats() {
  return stats_ ? stats_() : std::string();
}

Status ServiceManagerTarget::restart(std::string_view name) {
  return manager_.requestRestart(name);
}

Status ServiceManagerTarget::fault(std::string_view name, FaultKind kind) {
  return manager_.injectFault(name, kind);
}

Status ServiceManagerTarget::stop() {
  manager_.requestStop(0);
  return okStatus();
}

}  // namespace seams
