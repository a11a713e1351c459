#include "split/launcher/launcher_target.h"

#include <fmt/format.h>
#include <signal.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <thread>

#include "core/control/control_client.h"

namespace seams::split {

LauncherTarget::LauncherTarget(ServiceManager& manager, RuntimeEnv& env,
                               std::vector<const DaemonService*> daemons)
    : env_(env), daemons_(std::move(daemons)), inner_(manager, [this] {
        std::string text =
            "# HELP seams_daemon_pid The pid of each running daemon (0 while it is down).\n"
            "# TYPE seams_daemon_pid gauge\n";
        for (const DaemonService* d : daemons_) {
          text += fmt::format("seams_daemon_pid{{daemon=\"{}\"}} {}\n", d->name(), d->pid());
        }
        return text;
      }) {}

const DaemonService* LauncherTarget::daemon(std::string_view name) const {
  for (const DaemonService* d : daemons_) {
    if (d->name() == name) return d;
  }
  return nullptr;
}

std::vector<ControlRow> LauncherTarget::status() {
  std::vector<ControlRow> rows = inner_.status();
  const MonoTime now = env_.clock().now();
  for (ControlRow& row : rows) {
    const DaemonService* d = daemon(row.name);
    if (d == nullptr) continue;
    row.kind = "daemon";
    row.pid = d->pid();
    row.heartbeat_age_ms.reset();
    if (row.state == serviceStateName(ServiceState::running)) {
      if (std::optional<Duration> age = d->signAge(now)) {
        row.heartbeat_age_ms = std::chrono::duration<double, std::milli>(*age).count();
      }
    }
  }
  return rows;
}

std::string LauncherTarget::stats() {
  return inner_.stats();
}

std::vector<CacheEntryRow> LauncherTarget::caches() {
  // We are called on the control server's KJ event loop thread, and a ControlClient runs an
  // event loop of its own: one thread may hold only one, so the asking happens on another.
  std::vector<CacheEntryRow> all;
  std::thread asker([this, &all] {
    // Nothing may escape the thread.
    try {
      askDaemons(all);
    } catch (const std::exception& e) {
      spdlog::warn("caches: {}", e.what());
    } catch (...) {
      spdlog::warn("caches: asking the daemons failed");
    }
  });
  asker.join();
  return all;
}

void LauncherTarget::askDaemons(std::vector<CacheEntryRow>& all) const {
  for (const DaemonService* d : daemons_) {
    if (d->pid() == 0) continue;
    const std::string& socket = d->spec().control_socket;
    auto client = ControlClient::connect(socket, std::chrono::milliseconds(1000));
    Result<std::vector<CacheEntryRow>> rows =
        client.ok() ? (*client)->caches() : Result<std::vector<CacheEntryRow>>(client.status());
    if (!rows.ok()) {
      spdlog::warn("caches: {} left out: {}", d->name(), rows.status().toString());
      continue;
    }
    for (CacheEntryRow& row : *rows) {
      row.cache = d->name() + "/" + row.cache;
      all.push_back(std::move(row));
    }
  }
}

Status LauncherTarget::restart(std::string_view name) {
  return inner_.restart(name);
}

Status LauncherTarget::fault(std::string_view name, FaultKind kind) {
  const DaemonService* d = daemon(name);
  if (d == nullptr) return inner_.fault(name, kind);
  switch (kind) {
    case FaultKind::crash:
      return d->signal(SIGSEGV);
    case FaultKind::hang:
      return d->signal(SIGSTOP);
    case FaultKind::abort_process:
      return d->signal(SIGABRT);
    case FaultKind::throw_exception:
      break;
  }
  return Status(Errc::not_supported,
                fmt::format("daemon '{}' takes crash, hang or abort; '{}' is a thread fault", name,
                            faultKindName(kind)));
}

Status LauncherTarget::stop() {
  return inner_.stop();
}

}  // namespace seams::split
