#include "core/control/manager_target.h"

#include <fmt/format.h>
#include <unistd.h>

#include <chrono>

namespace seams {

ServiceManagerTarget::ServiceManagerTarget(ServiceManager& manager,
                                           std::function<std::string()> stats,
                                           std::function<std::vector<CacheEntryRow>()> caches)
    : manager_(manager), stats_(std::move(stats)), caches_(std::move(caches)) {}

std::vector<CacheEntryRow> ServiceManagerTarget::caches() {
  return caches_ ? caches_() : std::vector<CacheEntryRow>{};
}

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
  std::string text = stats_ ? stats_() : std::string();
  if (!text.empty() && text.back() != '\n') text += '\n';
  // The supervisor's own view, so `seamctl stats` shows restarts beside the traffic figures.
  const std::vector<ServiceStatus> services = manager_.status();
  text +=
      "# HELP seams_service_up 1 while the service is running.\n# TYPE seams_service_up gauge\n";
  for (const auto& s : services) {
    text += fmt::format("seams_service_up{{service=\"{}\"}} {}\n", s.name,
                        s.state == ServiceState::running ? 1 : 0);
  }
  text +=
      "# HELP seams_service_restarts_total Restarts since the process started.\n"
      "# TYPE seams_service_restarts_total counter\n";
  for (const auto& s : services) {
    text += fmt::format("seams_service_restarts_total{{service=\"{}\"}} {}\n", s.name, s.restarts);
  }
  text +=
      "# HELP seams_service_abandoned_threads Hung threads left behind.\n"
      "# TYPE seams_service_abandoned_threads gauge\n";
  for (const auto& s : services) {
    text += fmt::format("seams_service_abandoned_threads{{service=\"{}\"}} {}\n", s.name,
                        s.abandoned_threads);
  }
  return text;
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
