#include "core/roots/daemon_lifecycle.h"

#include <pthread.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <chrono>

#include "core/process/listen_fds.h"
#include "core/runtime/fd_limit.h"

namespace seams {

sigset_t blockStopSignals() {
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  ::signal(SIGPIPE, SIG_IGN);
  return stop_signals;
}

StopSignals::StopSignals(ServiceManager& manager, sigset_t signals, std::string who)
    : thread_([this, &manager, signals, who = std::move(who)] {
        int sig = 0;
        if (sigwait(&signals, &sig) != 0 || released_.load()) return;
        spdlog::info("{}: signal {} received, stopping", who, sig);
        manager.requestStop(0);
      }) {}

StopSignals::~StopSignals() {
  released_.store(true);
  // A thread-directed SIGTERM ends a sigwait() still in progress; harmless if it has returned.
  ::pthread_kill(thread_.native_handle(), SIGTERM);
  thread_.join();
}

void logRuntimeEvent(const RuntimeEvent& e) {
  switch (e.kind) {
    case RuntimeEventKind::starting:
      spdlog::info("{} starting", e.service);
      break;
    case RuntimeEventKind::started:
      spdlog::info("{} started", e.service);
      break;
    case RuntimeEventKind::stopped:
      spdlog::info("{} stopped ({})", e.service, e.detail);
      break;
    case RuntimeEventKind::restart_scheduled:
      spdlog::warn("{}: restart in {} ms ({})", e.service,
                   std::chrono::duration_cast<std::chrono::milliseconds>(e.delay).count(),
                   e.detail);
      break;
    case RuntimeEventKind::escalated:
      spdlog::critical("escalating: {}", e.detail);
      break;
    case RuntimeEventKind::exited:
      // The detail says how ("exited with error: ...", "thread ended (injected crash)").
      spdlog::warn("{}: {}", e.service, e.detail);
      break;
    default:
      spdlog::warn("{}: {} {}", e.service, runtimeEventKindName(e.kind), e.detail);
      break;
  }
}

void raiseAndLogFdLimit(std::string_view who) {
  Result<FdLimit> limit = raiseFdLimitToHard();
  if (!limit.ok()) {
    spdlog::warn("{}: cannot raise the file-descriptor limit: {}", who, limit.status().toString());
  } else if (limit->soft != limit->before) {
    spdlog::info("{}: file descriptors: soft limit {} raised to the hard limit {}", who,
                 limit->before, limit->soft);
  } else {
    spdlog::info("{}: file descriptors: limit {} (already the hard limit)", who, limit->soft);
  }
}

}  // namespace seams

namespace seams {

Result<UniqueFd> adoptHttpListener(const Config& config, std::string_view who) {
  Result<InheritedSockets> inherited = InheritedSockets::fromEnvironment();
  if (!inherited.ok()) return inherited.status();
  if (inherited->empty()) return UniqueFd();
  Result<UniqueFd> http = inherited->take(kHttpListenerName, {AF_INET, AF_INET6});
  if (!http.ok()) return http.status();
  if (!http->valid()) {
    std::string names;
    for (const std::string& name : inherited->names()) names += (names.empty() ? "" : ", ") + name;
    return Status(Errc::invalid_argument,
                  "LISTEN_FDS passed sockets (" + names + ") but none named '" + kHttpListenerName +
                      "' (LISTEN_FDNAMES; FileDescriptorName=http in a .socket unit)");
  }
  for (const std::string& name : inherited->names()) {
    spdlog::warn("{}: LISTEN_FDS socket '{}' is not one we serve: closed", who, name);
  }
  if (!config.http.enabled) {
    spdlog::warn("{}: LISTEN_FDS passed an HTTP listener ({}) but [http] enabled = false: closed",
                 who, socketAddress(http->get()));
    return UniqueFd();
  }
  const std::string address = socketAddress(http->get());
  spdlog::info("{}: serving HTTP on the inherited socket {} (LISTEN_FDS){}", who, address,
               address == config.http.listen
                   ? ""
                   : ", not http.listen " + config.http.listen + ": the supervisor's socket wins");
  return std::move(*http);
}

}  // namespace seams
