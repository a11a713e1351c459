// Service: one long-running part of a daemon (storage, auth, HTTP, FUSE, sync, control), run and
// supervised by the ServiceManager.
//
// Lifecycle (each start is one "run", on a fresh thread the runtime creates):
//   1. The manager starts a service only after every service it depends on is running.
//   2. run(ctx) sets up, publishes its shared objects into Deps, and calls ctx.ready(): the
//      manager's start returns then (or fails once the start timeout passes without ready()).
//   3. run() serves until ctx.stopRequested(), proving it is alive through its heartbeat
//      (ctx.heartbeat() each loop iteration; see heartbeat.h).
//   4. On stop it withdraws its objects from Deps, releases everything and returns okStatus().
// Returning an error or throwing is a crash; returning ok without a stop request is a clean exit.
// Either way the thread ends, the watchdog notices, and the restart policy decides what follows.
//
// A restart runs run() again on the same Service object, on a new thread with a new RunContext.
// A run whose thread hung is abandoned, not joined (C++ cannot kill a thread): its RunContext is
// marked abandoned, so when (if ever) it wakes, ctx.stopRequested() is true and it should leave
// without touching shared state. Keep per-run state in run()'s own frame, not in members, so an
// abandoned run and its successor never share it.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/common/status.h"
#include "core/common/thread_annotations.h"
#include "core/runtime/env.h"
#include "core/runtime/heartbeat.h"
#include "core/runtime/watchdog.h"

namespace seams {

// What the manager does when a service's run ends on its own (not through a stop):
//  permanent: always restart; transient: restart only after an abnormal end (crash, throw, error,
//  hang), not after a clean return; temporary: never restart.
enum class RestartPolicy : std::uint8_t { permanent = 0, transient = 1, temporary = 2 };

enum class ServiceState : std::uint8_t { stopped, starting, running, backoff, failed, stopping };

// Injected faults (seamctl fault NAME KIND), delivered at the service's next checkpoint:
//  crash: its thread ends, as if it had crashed; throw: run() throws std::runtime_error;
//  hang: it stops touching its heartbeat and blocks forever; abort: std::abort(), the process dies.
enum class FaultKind : std::uint8_t { crash = 0, hang = 1, throw_exception = 2, abort_process = 3 };

std::string_view restartPolicyName(RestartPolicy p) noexcept;
std::string_view serviceStateName(ServiceState s) noexcept;
std::string_view faultKindName(FaultKind k) noexcept;  // "crash" | "hang" | "throw" | "abort"
std::optional<FaultKind> parseFaultKind(std::string_view name) noexcept;

// What an injected crash throws to unwind the service's thread. Deliberately not derived from
// std::exception, so a service's `catch (const std::exception&)` does not swallow it.
struct InjectedCrash {};

// One run of a service: what its run() sees. Created by the ServiceManager for each start.
//
// Thread-safety: the service's own threads call ready/heartbeat/checkpoint/stopRequested/
// waitForStop; the manager's threads call the rest. mutex_ guards every non-atomic field.
class RunContext {
 public:
  // `deadlines`: the watchdog's, which the service's own liveness checks should match;
  // `start_timeout`: how long the manager waits for ready().
  RunContext(RuntimeEnv& env, WatchdogThresholds deadlines, Duration start_timeout);
  RunContext(const RunContext&) = delete;
  RunContext& operator=(const RunContext&) = delete;

  // --- for the service ---
  // The service is serving: the manager's start() returns ok.
  void ready();
  bool stopRequested() const;
  // Waits up to `timeout` (on the runtime's clock) for a stop request; true once one came.
  bool waitForStop(Duration timeout);
  // For services with nothing to do but hold their objects: touches the heartbeat until a stop
  // request comes, delivering faults.
  void idleUntilStopped();
  // Proves liveness (touches the heartbeat) and is a checkpoint.
  void heartbeat();
  // Delivers a pending injected fault, if any. May throw (crash/throw), block forever (hang) or
  // abort; so call it only where the service may be interrupted.
  void checkpoint();
  Clock& clock() { return env_.clock(); }
  // For a service that sees an object it holds from Deps replaced (its owner restarted): return
  // this from run(). The manager restarts the service at once and does not count it as a failure
  // (no backoff, no restart intensity): the owner's own restart was counted already, and one
  // failure must not add up to an escalation through its dependents.
  Status followReplaced(const std::string& what);
  // How often a loop with nothing else to wait for should touch its heartbeat (a quarter of the
  // miss deadline).
  Duration heartbeatInterval() const { return deadlines_.miss / 4; }
  // The watchdog's deadlines for this run (heartbeat_deadline_ms, kill_deadline_ms): what a
  // service that watches something of its own (a frontend's loops, a child's WATCHDOG=1) holds
  // it to, so it judges by the same deadlines the watchdog judges it by.
  Duration heartbeatDeadline() const { return deadlines_.miss; }
  Duration killDeadline() const { return deadlines_.kill; }
  // How long the manager waits for ready() (start_timeout_ms): what a service that waits for
  // something of its own while it starts (FUSE: the kernel's INIT) bounds that wait by.
  Duration startTimeout() const { return start_timeout_; }

  // --- for the runtime ---
  struct Exit {
    std::string reason;  // "stopped", "exited", "threw: ...", "thread ended (injected crash)"...
    bool clean = false;  // returned okStatus()
    bool follows_replaced = false;  // ended through followReplaced(): not a failure
  };
  void requestStop();
  void abandon();      // also requests stop; the run is no longer watched or joined
  void releaseHang();  // lets an injected hang return (only at manager teardown)
  void setFault(FaultKind kind);
  void finish(Exit exit);  // called once, by the runtime, when run() has returned or thrown
  bool isReady() const;
  std::optional<Exit> exit() const;
  bool abandoned() const;
  bool faultPending() const;
  bool followsReplaced() const;
  Duration heartbeatAge(MonoTime now) const { return heartbeat_.age(now); }
  // Waits (on the runtime's clock) until ready or finished; true if ready() came first.
  bool waitReadyOrExit(MonoTime deadline);
  // Waits (on the runtime's clock) until run() returned; true if it did before `deadline`.
  bool waitExit(MonoTime deadline);
  // Waits in real time, for teardown of abandoned runs only (the simulated clock may never move).
  bool waitExitRealTime(std::chrono::milliseconds bound);

 private:
  RuntimeEnv& env_;
  const WatchdogThresholds deadlines_;
  const Duration start_timeout_;
  Heartbeat heartbeat_;
  mutable Mutex mutex_;
  std::condition_variable cv_;
  bool ready_ GUARDED_BY(mutex_) = false;
  bool stop_requested_ GUARDED_BY(mutex_) = false;
  bool abandoned_ GUARDED_BY(mutex_) = false;
  bool hang_released_ GUARDED_BY(mutex_) = false;
  bool follows_replaced_ GUARDED_BY(mutex_) = false;
  std::optional<FaultKind> fault_ GUARDED_BY(mutex_);
  std::optional<Exit> exit_ GUARDED_BY(mutex_);
};

// The interface every supervised service implements. run() is called on a runtime thread;
// everything else may be called from any thread.
class Service {
 public:
  virtual ~Service() = default;

  virtual std::string name() const = 0;
  // Names of services that must be running before this one starts.
  virtual std::vector<std::string> dependencies() const { return {}; }

  // See the lifecycle at the top of this file.
  virtual Status run(RunContext& ctx) = 0;

  // Called from another thread after ctx.requestStop(), to unblock a run() that blocks (close a
  // listener, stop an io_context, exit a FUSE session). Default: nothing (run() polls ctx).
  virtual void wake() {}

  // Opting in to fault injection: return true if run() reaches a checkpoint (ctx.heartbeat()
  // or ctx.checkpoint()) often enough for `seamctl fault` to take effect, and may be
  // interrupted there (it unwinds cleanly from an exception).
  virtual bool acceptsFaults() const { return false; }
};

}  // namespace seams
