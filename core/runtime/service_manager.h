// ServiceManager: starts services in dependency order, watches them, restarts them, stops them.
//
// Lifecycle:
//   add() every service, then start(): the dependency graph is resolved (a cycle or a missing
//   dependency is an error naming them) and services start in topological order, each only once
//   the ones it depends on are running: one by one, or with ManagerOptions::parallel_start in
//   waves (every service whose dependencies all run starts at once, and the next wave waits for
//   the whole wave). If one fails to start, those already started are stopped in reverse order and
//   start() reports which one failed and why. Once all run, READY=1.
//   startWatchdog() then runs the watchdog thread; shutdown() (safe twice; also run by the
//   destructor) stops the watchdog, sends STOPPING=1 and stops services in reverse order, each
//   within the stop timeout.
//
// The watchdog thread (checkOnce() is one pass, callable directly by tests) looks every
// interval_ms, or at once when a service's thread ends:
//   - crash: a run ended on its own (returned, returned an error, threw, injected crash);
//   - hang: each running service's heartbeat age goes to the Watchdog (watchdog.h), which finds a
//     *miss* (older than heartbeat_deadline_ms, reported once per stall) or a *hang* (older than
//     kill_deadline_ms). The manager acts on a hang per HangAction: restart abandons the hung
//     thread (C++ cannot kill a thread: it is left blocked, counted in abandoned_threads, and
//     never joined while it stays stuck) and restarts the service on a fresh thread; escalate
//     treats the whole process as broken (below).
// It collects what it found under mutex_ and acts only after releasing it, so a service whose
// start or stop calls back into the manager (status(), healthy()) cannot deadlock with it.
//
// What happens after a run ends is the restart policy's call (see RestartPolicy): a restart waits
// the service's Backoff (restart_policy.h: backoff_initial_ms doubling up to backoff_max_ms,
// +/- backoff_jitter, back to the initial delay once the service stayed up
// backoff_reset_after_ms). Under
// `rest_for_one` the services that depend on it (transitively) are stopped in reverse order and
// restarted in order once it runs again; under `one_for_one` they keep running (and see it missing
// from Deps meanwhile). More than intensity_max_restarts restarts within intensity_period_s
// (RestartIntensity, restart_policy.h) escalates (a run that ended through
// RunContext::followReplaced is no failure and does not count: one crash of the storage service
// must not escalate through the frontends that follow it): every service stops in order and the
// process exits with kEscalationExitCode, so the outer supervisor (systemd, seam-split) restarts
// the whole daemon.
//
// Thread-safety: every public method may be called from any thread, except that start(),
// restart() and shutdown() must not be called from a service's own run() (they wait for it).
// Locks: lifecycle_mutex_ serialises every start/stop of a service (start, restart, watchdog
// actions, shutdown) and is held while calling into services; mutex_ guards the state fields and
// is never held while calling a service, the notifier or the event hook. Order: lifecycle_mutex_,
// then mutex_, then a RunContext's own mutex.
// Wiring, in a composition root such as seamd's main():
//
//   SystemEnv env;
//   SystemdNotifier notifier;
//   Deps deps;                                   // services publish into it from run()
//   ServiceManager manager(env, {.watchdog = config.watchdog, .notifier = &notifier,
//                                .on_event = logEvent});
//   manager.add(std::make_unique<VaultService>(config.vault_root, config.allow_shared_vault_root,
//                                              config.cache, deps));
//   manager.add(std::make_unique<HttpService>(config.http, deps, metrics, {"storage", "auth"}),
//               RestartPolicy::permanent);
//   ServiceManagerTarget target(manager, [&] { return metrics.renderPrometheus(); });
//   manager.add(std::make_unique<ControlService>(target, ControlServerOptions{...}));
//   if (Status st = manager.start(); !st.ok()) { log(st); return 1; }
//   manager.startWatchdog();
//   // SIGTERM/SIGINT: block them in main before any thread starts, sigwait() on a thread of your
//   // own and call manager.requestStop() from there (it takes a mutex: not from a signal handler).
//   int code = manager.waitForStopRequest();
//   Status st = manager.shutdown();
//   return code != 0 ? code : (st.ok() ? 0 : 1);
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "core/common/status.h"
#include "core/common/thread_annotations.h"
#include "core/config/config.h"
#include "core/runtime/env.h"
#include "core/runtime/notifier.h"
#include "core/runtime/restart_policy.h"
#include "core/runtime/service.h"
#include "core/runtime/watchdog.h"

namespace seams {

// EX_SOFTWARE: what the process exits with after an escalation.
inline constexpr int kEscalationExitCode = 70;

struct ServiceStatus {
  std::string name;
  std::vector<std::string> dependencies;
  RestartPolicy policy = RestartPolicy::permanent;
  ServiceState state = ServiceState::stopped;
  std::uint32_t restarts = 0;  // restarts attempted since start()
  std::string last_exit;       // how the last run ended ("stopped", "threw: ...")
  std::optional<WallTime> last_exit_at;
  std::string last_error;                 // the last abnormal end or start failure; "" if none
  std::optional<Duration> heartbeat_age;  // while running
  std::optional<Duration> restart_delay;  // while in backoff: the delay chosen
  bool waiting_for_dependency = false;    // in backoff until a dependency runs again
  std::uint32_t abandoned_threads = 0;    // hung runs left behind
  bool fault_pending = false;             // injected, not yet taken at a checkpoint
};

enum class RuntimeEventKind : std::uint8_t {
  starting,           // a service's run is about to begin on a fresh thread (start or restart)
  started,            // a service became ready (first start or restart)
  start_failed,       // detail: why
  exited,             // a run ended on its own; detail: how
  heartbeat_missed,   // once per stall; detail: age
  hung,               // past the kill deadline; detail: age and what is done
  restart_scheduled,  // delay: the backoff chosen
  stopped,            // stopped on request (shutdown, restart, rest_for_one)
  stop_timed_out,     // its thread was abandoned
  escalated,          // detail: why; the process is about to exit
};
std::string_view runtimeEventKindName(RuntimeEventKind k) noexcept;

struct RuntimeEvent {
  RuntimeEventKind kind;
  std::string service;  // empty for escalated
  std::string detail;
  Duration delay{0};
  MonoTime at;
};

struct ManagerOptions {
  WatchdogConfig watchdog;
  // Optional: READY=1 / STATUS= / WATCHDOG=1 / STOPPING=1. Must outlive the manager.
  Notifier* notifier = nullptr;
  // Optional: every RuntimeEvent, on whichever thread caused it, never under mutex_ (it may call
  // status(), not start/restart/shutdown). For logs and tests.
  std::function<void(const RuntimeEvent&)> on_event;
  // Called after an escalation's orderly stop. Default: flush stdio and std::_Exit(code).
  std::function<void(int exit_code)> exit_process;
  // start() in waves: services that do not depend on each other start at the same time. The
  // launcher's daemons (each an exec, a config parse and a READY=1) then overlap instead of
  // queueing; the order within a process's log is no longer one fixed order. Restarts are
  // unaffected (one service, then its dependents in order).
  bool parallel_start = false;
};

class ServiceManager {
 public:
  ServiceManager(RuntimeEnv& env, ManagerOptions options);
  ~ServiceManager();
  ServiceManager(const ServiceManager&) = delete;
  ServiceManager& operator=(const ServiceManager&) = delete;

  // REQUIRES: before start(); names unique.
  Status add(std::unique_ptr<Service> service, RestartPolicy policy = RestartPolicy::permanent);

  Status start();
  void startWatchdog();
  // One watchdog pass: what the watchdog thread does each interval.
  void checkOnce();
  Status shutdown();

  // Stops `name` (and under rest_for_one its dependents, in reverse) and starts it again (then
  // them, in order). Waits for it. Not from a service's own thread.
  Status restart(std::string_view name);
  // The same, performed by the watchdog on its next pass; returns at once (for the control plane,
  // whose own thread may be the one restarted).
  Status requestRestart(std::string_view name);
  // Delivers `kind` at the service's next checkpoint. not_supported unless it acceptsFaults().
  Status injectFault(std::string_view name, FaultKind kind);

  // Asks whoever waits in waitForStopRequest() (main) to shut down and exit with `exit_code`.
  void requestStop(int exit_code = 0);
  // Blocks until requestStop() or an escalation; returns the exit code.
  int waitForStopRequest();

  std::vector<ServiceStatus> status() const;
  // Every service running (or deliberately stopped) with a fresh heartbeat.
  bool healthy() const;
  // Names in start order (after start()).
  std::vector<std::string> startOrder() const;
  std::uint32_t abandonedThreads() const;
  bool escalated() const;

 private:
  struct Entry;
  struct Abandoned {
    std::shared_ptr<RunContext> run;
    std::thread thread;
    Entry* entry;
  };

  Status resolveOrder();
  Entry* find(std::string_view name) const;
  std::vector<Entry*> dependentsOf(const Entry& e) const;  // transitive, in start order
  void emit(RuntimeEventKind kind, const std::string& service, std::string detail,
            Duration delay = Duration(0));
  void wakeWatchdog();
  void watchdogLoop();
  bool healthyLocked(MonoTime now) const REQUIRES(mutex_);

  // The waves of start(): each service in the wave after the last of its dependencies; with
  // parallel_start off, one service per wave, in start order.
  std::vector<std::vector<Entry*>> startWaves() const;
  // A start in two halves, so a wave's services all run before the first is waited for.
  struct PendingStart {
    Entry* entry;
    std::shared_ptr<RunContext> run;
    MonoTime deadline;
  };

  // These run with lifecycle_mutex_ held (and not mutex_): they start and stop services.
  Status startOne(Entry& e) REQUIRES(lifecycle_mutex_) EXCLUDES(mutex_);
  PendingStart beginStart(Entry& e) REQUIRES(lifecycle_mutex_) EXCLUDES(mutex_);
  Status finishStart(const PendingStart& pending) REQUIRES(lifecycle_mutex_) EXCLUDES(mutex_);
  Status stopOne(Entry& e, std::string_view why) REQUIRES(lifecycle_mutex_) EXCLUDES(mutex_);
  void abandonRun(Entry& e) REQUIRES(lifecycle_mutex_) EXCLUDES(mutex_);
  void handleEnd(Entry& e, bool hung, const std::string& reason, bool clean,
                 bool follows_replaced = false) REQUIRES(lifecycle_mutex_) EXCLUDES(mutex_);
  // `failure` false: the run ended through RunContext::followReplaced (see there): restarted
  // at once, outside the backoff and the restart intensity.
  bool scheduleRestart(Entry& e, const std::string& reason, bool failure = true)
      REQUIRES(lifecycle_mutex_) EXCLUDES(mutex_);
  void restartNow(Entry& e) REQUIRES(lifecycle_mutex_) EXCLUDES(mutex_);
  void restartLocked(Entry& e) REQUIRES(lifecycle_mutex_) EXCLUDES(mutex_);
  void restartHeldDependents(Entry& e) REQUIRES(lifecycle_mutex_) EXCLUDES(mutex_);
  void escalate(const std::string& reason) REQUIRES(lifecycle_mutex_) EXCLUDES(mutex_);
  Status stopAllLocked() REQUIRES(lifecycle_mutex_) EXCLUDES(mutex_);

  RuntimeEnv& env_;
  const ManagerOptions options_;
  const Duration interval_, start_timeout_, stop_timeout_;
  const Watchdog watchdog_;               // the verdicts; acting on them is ours
  const BackoffOptions backoff_options_;  // each Entry's Backoff

  // Written under lifecycle_mutex_ and mutex_ (so either lock suffices to read), and only before
  // services run: entries_ in add(), order_ in start().
  std::vector<std::unique_ptr<Entry>> entries_;  // registration order
  std::vector<Entry*> order_;                    // start order

  mutable Mutex lifecycle_mutex_;
  std::vector<Abandoned> abandoned_ GUARDED_BY(lifecycle_mutex_);
  RestartIntensity intensity_ GUARDED_BY(lifecycle_mutex_);
  bool stopped_ GUARDED_BY(lifecycle_mutex_) = false;

  mutable Mutex mutex_;
  std::condition_variable cv_;  // watchdog wake-ups and stop requests
  bool started_ GUARDED_BY(mutex_) = false;
  bool stopping_ GUARDED_BY(mutex_) = false;
  bool escalated_ GUARDED_BY(mutex_) = false;
  bool watchdog_stop_ GUARDED_BY(mutex_) = false;
  bool wake_pending_ GUARDED_BY(mutex_) = false;
  bool stop_requested_ GUARDED_BY(mutex_) = false;
  int exit_code_ GUARDED_BY(mutex_) = 0;
  std::optional<MonoTime> last_ping_ GUARDED_BY(mutex_);
  std::vector<Entry*> restart_requests_ GUARDED_BY(mutex_);
  std::uint32_t abandoned_count_ GUARDED_BY(mutex_) = 0;

  std::thread watchdog_thread_;  // started once; joined by shutdown()
};

}  // namespace seams
