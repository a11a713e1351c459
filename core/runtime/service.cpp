#include "core/runtime/service.h"

#include <cstdlib>
#include <stdexcept>

namespace seams {

std::string_view restartPolicyName(RestartPolicy p) noexcept {
  switch (p) {
    case RestartPolicy::permanent:
      return "permanent";
    case RestartPolicy::transient:
      return "transient";
    case RestartPolicy::temporary:
      return "temporary";
  }
  return "unknown";
}

std::string_view serviceStateName(ServiceState s) noexcept {
  switch (s) {
    case ServiceState::stopped:
      return "stopped";
    case ServiceState::starting:
      return "starting";
    case ServiceState::running:
      return "running";
    case ServiceState::backoff:
      return "backoff";
    case ServiceState::failed:
      return "failed";
    case ServiceState::stopping:
      return "stopping";
  }
  return "unknown";
}

std::string_view faultKindName(FaultKind k) noexcept {
  switch (k) {
    case FaultKind::crash:
      return "crash";
    case FaultKind::hang:
      return "hang";
    case FaultKind::throw_exception:
      return "throw";
    case FaultKind::abort_process:
      return "abort";
  }
  return "unknown";
}

std::optional<FaultKind> parseFaultKind(std::string_view name) noexcept {
  for (FaultKind k :
       {FaultKind::crash, FaultKind::hang, FaultKind::throw_exception, FaultKind::abort_process}) {
    if (faultKindName(k) == name) return k;
  }
  return std::nullopt;
}

RunContext::RunContext(RuntimeEnv& env, WatchdogThresholds deadlines, Duration start_timeout)
    : env_(env), deadlines_(deadlines), start_timeout_(start_timeout), heartbeat_(env.clock()) {}

void RunContext::ready() {
  {
    MutexLock lock(mutex_);
    ready_ = true;
  }
  heartbeat_.touch();
  cv_.notify_all();
}

bool RunContext::stopRequested() const {
  MutexLock lock(mutex_);
  return stop_requested_;
}

bool RunContext::waitForStop(Duration timeout) {
  MutexLock lock(mutex_);
  return env_.waitUntil(lock.native(), cv_, env_.clock().now() + timeout, [&] {
    mutex_.assertHeld();
    return stop_requested_ || fault_.has_value();
  }) && stop_requested_;
}

void RunContext::idleUntilStopped() {
  for (;;) {
    heartbeat();
    if (waitForStop(heartbeatInterval())) return;
  }
}

void RunContext::heartbeat() {
  checkpoint();
  heartbeat_.touch();
}

void RunContext::checkpoint() {
  MutexLock lock(mutex_);
  if (!fault_) return;
  const FaultKind kind = *fault_;
  fault_.reset();
  switch (kind) {
    case FaultKind::crash:
      lock.unlock();
      throw InjectedCrash{};
    case FaultKind::throw_exception:
      lock.unlock();
      throw std::runtime_error("injected fault");
    case FaultKind::hang:
      // Blocks without touching the heartbeat, as a deadlocked thread would. Only the manager's
      // teardown releases it, so tests can join the abandoned thread.
      cv_.wait(lock.native(), [&] {
        mutex_.assertHeld();
        return hang_released_;
      });
      return;
    case FaultKind::abort_process:
      std::abort();
  }
}

void RunContext::requestStop() {
  {
    MutexLock lock(mutex_);
    stop_requested_ = true;
  }
  cv_.notify_all();
}

void RunContext::abandon() {
  {
    MutexLock lock(mutex_);
    abandoned_ = true;
    stop_requested_ = true;
  }
  cv_.notify_all();
}

void RunContext::releaseHang() {
  {
    MutexLock lock(mutex_);
    hang_released_ = true;
  }
  cv_.notify_all();
}

void RunContext::setFault(FaultKind kind) {
  {
    MutexLock lock(mutex_);
    fault_ = kind;
  }
  cv_.notify_all();
}

Status RunContext::followReplaced(const std::string& what) {
  {
    MutexLock lock(mutex_);
    follows_replaced_ = true;
  }
  return Status(Errc::unavailable, what + " was replaced; restarting to use the new one");
}

bool RunContext::followsReplaced() const {
  MutexLock lock(mutex_);
  return follows_replaced_;
}

void RunContext::finish(Exit exit) {
  {
    MutexLock lock(mutex_);
    exit_ = std::move(exit);
  }
  cv_.notify_all();
}

bool RunContext::isReady() const {
  MutexLock lock(mutex_);
  return ready_;
}

std::optional<RunContext::Exit> RunContext::exit() const {
  MutexLock lock(mutex_);
  return exit_;
}

bool RunContext::abandoned() const {
  MutexLock lock(mutex_);
  return abandoned_;
}

bool RunContext::faultPending() const {
  MutexLock lock(mutex_);
  return fault_.has_value();
}

bool RunContext::waitReadyOrExit(MonoTime deadline) {
  MutexLock lock(mutex_);
  env_.waitUntil(lock.native(), cv_, deadline, [&] {
    mutex_.assertHeld();
    return ready_ || exit_.has_value();
  });
  return ready_;
}

bool RunContext::waitExit(MonoTime deadline) {
  MutexLock lock(mutex_);
  return env_.waitUntil(lock.native(), cv_, deadline, [&] {
    mutex_.assertHeld();
    return exit_.has_value();
  });
}

bool RunContext::waitExitRealTime(std::chrono::milliseconds bound) {
  MutexLock lock(mutex_);
  return cv_.wait_for(lock.native(), bound, [&] {
    mutex_.assertHeld();
    return exit_.has_value();
  });
}

}  // namespace seams
