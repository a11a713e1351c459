#include "core/runtime/service_manager.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <map>

namespace seams {
namespace {

using std::chrono::milliseconds;

long long toMs(Duration d) {
  return std::chrono::duration_cast<milliseconds>(d).count();
}

// The body of every service thread: runs one run of the service and records how it ended.
// Exceptions stop here: they never cross the thread.
void runBody(Service& service, RunContext& run, const std::function<void()>& on_exit) {
  RunContext::Exit exit;
  try {
    Status st = service.run(run);
    if (!st.ok()) {
      exit.reason = "exited with error: " + st.toString();
      exit.follows_replaced = run.followsReplaced();
    } else {
      exit.clean = true;
      exit.reason = run.stopRequested() ? "stopped" : "exited";
    }
  } catch (const InjectedCrash&) {
    exit.reason = "thread ended (injected crash)";
  } catch (const std::exception& e) {
    exit.reason = std::string("threw: ") + e.what();
  } catch (...) {
    exit.reason = "threw a non-standard exception";
  }
  run.finish(std::move(exit));
  // An abandoned run may end after the manager is gone (it was detached at teardown): it must
  // not touch the manager, which does not wait for it anyway.
  if (!run.abandoned()) on_exit();
}

}  // namespace

std::string_view runtimeEventKindName(RuntimeEventKind k) noexcept {
  switch (k) {
    case RuntimeEventKind::starting:
      return "starting";
    case RuntimeEventKind::started:
      return "started";
    case RuntimeEventKind::start_failed:
      return "start_failed";
    case RuntimeEventKind::exited:
      return "exited";
    case RuntimeEventKind::heartbeat_missed:
      return "heartbeat_missed";
    case RuntimeEventKind::hung:
      return "hung";
    case RuntimeEventKind::restart_scheduled:
      return "restart_scheduled";
    case RuntimeEventKind::stopped:
      return "stopped";
    case RuntimeEventKind::stop_timed_out:
      return "stop_timed_out";
    case RuntimeEventKind::escalated:
      return "escalated";
  }
  return "unknown";
}

struct ServiceManager::Entry {
  std::unique_ptr<Service> service;
  std::string name;
  std::vector<std::string> dep_names;
  RestartPolicy policy;
  bool accepts_faults;
  std::vector<Entry*> deps;  // resolved by start()

  // Entry's fields are guarded by its manager's mutexes, which an annotation on a nested struct
  // cannot name (clang would look for them in the Entry), so these stay comments.
  std::thread thread;  // GUARDED_BY(lifecycle_mutex_): the current run's thread

  // GUARDED_BY(mutex_):
  std::shared_ptr<RunContext> run;
  ServiceState state = ServiceState::stopped;
  std::uint32_t restarts = 0;
  std::string last_exit;
  std::optional<WallTime> last_exit_at;
  std::string last_error;
  std::optional<MonoTime> up_since;
  Backoff backoff{BackoffOptions{}};  // set by add()
  Duration restart_delay{0};
  MonoTime next_attempt{};
  Entry* held_for = nullptr;  // rest_for_one: restarted after this dependency runs again
  Watchdog::Record watch;     // per run
  std::uint32_t abandoned = 0;
};

ServiceManager::ServiceManager(RuntimeEnv& env, ManagerOptions options)
    : env_(env),
      options_(std::move(options)),
      interval_(milliseconds(options_.watchdog.interval_ms)),
      start_timeout_(milliseconds(options_.watchdog.start_timeout_ms)),
      stop_timeout_(milliseconds(options_.watchdog.stop_timeout_ms)),
      watchdog_(watchdogThresholds(options_.watchdog)),
      backoff_options_{.initial = milliseconds(options_.watchdog.backoff_initial_ms),
                       .max = milliseconds(options_.watchdog.backoff_max_ms),
                       .jitter = options_.watchdog.backoff_jitter,
                       .reset_after = milliseconds(options_.watchdog.backoff_reset_after_ms)},
      intensity_(options_.watchdog.intensity_max_restarts,
                 std::chrono::seconds(options_.watchdog.intensity_period_s)) {}

ServiceManager::~ServiceManager() {
  (void)shutdown();
  // Injected hangs are released so their threads can be joined; a thread stuck in real code is
  // left running and its Service leaked, since it may still touch it when it wakes.
  MutexLock lifecycle(lifecycle_mutex_);
  for (Abandoned& a : abandoned_) {
    a.run->releaseHang();
    if (a.run->waitExitRealTime(std::chrono::seconds(5))) {
      a.thread.join();
    } else {
      a.thread.detach();
      (void)a.entry->service.release();
    }
  }
}

Status ServiceManager::add(std::unique_ptr<Service> service, RestartPolicy policy) {
  MutexLock lifecycle(lifecycle_mutex_);
  {
    MutexLock lock(mutex_);
    if (started_) return Status(Errc::conflict, "services must be added before start()");
  }
  auto e = std::make_unique<Entry>();
  e->name = service->name();
  if (e->name.empty()) return Status(Errc::invalid_argument, "a service needs a name");
  if (find(e->name) != nullptr) {
    return Status(Errc::already_exists, fmt::format("service '{}' added twice", e->name));
  }
  e->dep_names = service->dependencies();
  e->policy = policy;
  e->backoff = Backoff(backoff_options_);
  e->accepts_faults = service->acceptsFaults();
  e->service = std::move(service);
  MutexLock lock(mutex_);  // status() may read entries_ from any thread
  entries_.push_back(std::move(e));
  return okStatus();
}

ServiceManager::Entry* ServiceManager::find(std::string_view name) const {
  for (const auto& e : entries_) {
    if (e->name == name) return e.get();
  }
  return nullptr;
}

Status ServiceManager::resolveOrder() {
  for (auto& e : entries_) {
    e->deps.clear();
    for (const std::string& d : e->dep_names) {
      Entry* dep = find(d);
      if (dep == nullptr) {
        return Status(
            Errc::invalid_argument,
            fmt::format("service '{}' depends on '{}', which is not registered", e->name, d));
      }
      e->deps.push_back(dep);
    }
  }
  // Depth-first, dependencies first, ties in registration order: a deterministic order.
  enum class Mark { none, visiting, done };
  std::map<const Entry*, Mark> marks;
  std::vector<Entry*> path;
  std::vector<Entry*> order;
  std::function<Status(Entry*)> visit = [&](Entry* e) -> Status {
    if (marks[e] == Mark::done) return okStatus();
    if (marks[e] == Mark::visiting) {
      std::string cycle;
      auto from = std::find(path.begin(), path.end(), e);
      for (auto it = from; it != path.end(); ++it) cycle += (*it)->name + " -> ";
      cycle += e->name;
      return Status(Errc::invalid_argument, "dependency cycle: " + cycle);
    }
    marks[e] = Mark::visiting;
    path.push_back(e);
    for (Entry* d : e->deps) SEAMS_RETURN_IF_ERROR(visit(d));
    path.pop_back();
    marks[e] = Mark::done;
    order.push_back(e);
    return okStatus();
  };
  for (auto& e : entries_) SEAMS_RETURN_IF_ERROR(visit(e.get()));
  MutexLock lock(mutex_);
  order_ = std::move(order);
  return okStatus();
}

std::vector<ServiceManager::Entry*> ServiceManager::dependentsOf(const Entry& root) const {
  std::vector<Entry*> result;
  // order_ is topological, so one forward sweep finds every transitive dependent.
  std::vector<const Entry*> affected{&root};
  for (Entry* e : order_) {
    if (e == &root) continue;
    for (Entry* d : e->deps) {
      if (std::find(affected.begin(), affected.end(), d) != affected.end()) {
        affected.push_back(e);
        result.push_back(e);
        break;
      }
    }
  }
  return result;
}

void ServiceManager::emit(RuntimeEventKind kind, const std::string& service, std::string detail,
                          Duration delay) {
  if (!options_.on_event) return;
  options_.on_event(RuntimeEvent{kind, service, std::move(detail), delay, env_.clock().now()});
}

Status ServiceManager::start() {
  MutexLock lifecycle(lifecycle_mutex_);
  {
    MutexLock lock(mutex_);
    if (started_) return Status(Errc::conflict, "start() called twice");
    started_ = true;
  }
  Status resolved = resolveOrder();
  if (!resolved.ok()) {
    stopped_ = true;
    return resolved;
  }
  std::vector<Entry*> started;  // in the order they became ready
  for (const std::vector<Entry*>& wave : startWaves()) {
    std::vector<PendingStart> pending;
    pending.reserve(wave.size());
    for (Entry* e : wave) pending.push_back(beginStart(*e));
    // Every start of the wave is waited for, even after one failed, so none is left starting.
    Entry* failed = nullptr;
    Status failure;
    for (const PendingStart& p : pending) {
      Status st = finishStart(p);
      if (st.ok()) {
        started.push_back(p.entry);
      } else if (failed == nullptr) {
        failed = p.entry;
        failure = st;
      }
    }
    if (failed == nullptr) continue;
    std::vector<std::string> unwound;
    for (auto it = started.rbegin(); it != started.rend(); ++it) {
      (void)stopOne(**it, "start of " + failed->name + " failed");
      unwound.push_back((*it)->name);
    }
    {
      MutexLock lock(mutex_);
      stopping_ = true;
    }
    stopped_ = true;
    std::string msg =
        fmt::format("service '{}' failed to start: {}", failed->name, failure.message());
    if (!unwound.empty()) msg += fmt::format(" (stopped again: {})", fmt::join(unwound, ", "));
    return Status(failure.code(), msg);
  }
  if (options_.notifier != nullptr) {
    options_.notifier->ready(fmt::format("running {} services", order_.size()));
  }
  return okStatus();
}

std::vector<std::vector<ServiceManager::Entry*>> ServiceManager::startWaves() const {
  std::vector<std::vector<Entry*>> waves;
  std::map<const Entry*, std::size_t> wave_of;
  for (Entry* e : order_) {  // topological: every dependency has its wave already
    std::size_t w = options_.parallel_start ? 0 : waves.size();
    if (options_.parallel_start) {
      for (const Entry* d : e->deps) w = std::max(w, wave_of[d] + 1);
    }
    wave_of[e] = w;
    if (waves.size() <= w) waves.resize(w + 1);
    waves[w].push_back(e);
  }
  return waves;
}

Status ServiceManager::startOne(Entry& e) {
  return finishStart(beginStart(e));
}

ServiceManager::PendingStart ServiceManager::beginStart(Entry& e) {
  auto run = std::make_shared<RunContext>(env_, watchdog_.thresholds(), start_timeout_);
  {
    MutexLock lock(mutex_);
    e.run = run;
    e.state = ServiceState::starting;
    e.watch = Watchdog::Record{};
    e.held_for = nullptr;
  }
  Service* service = e.service.get();
  emit(RuntimeEventKind::starting, e.name, "");
  // The deadline is fixed before the thread exists, so a clock moved meanwhile counts against it.
  const MonoTime deadline = env_.clock().now() + start_timeout_;
  e.thread = env_.spawn(
      e.name, [this, service, run] { runBody(*service, *run, [this] { wakeWatchdog(); }); });
  return PendingStart{&e, std::move(run), deadline};
}

Status ServiceManager::finishStart(const PendingStart& pending) {
  Entry& e = *pending.entry;
  Service* service = e.service.get();
  const std::shared_ptr<RunContext>& run = pending.run;
  if (run->waitReadyOrExit(pending.deadline)) {
    {
      MutexLock lock(mutex_);
      e.state = ServiceState::running;
      e.up_since = env_.clock().now();
    }
    emit(RuntimeEventKind::started, e.name, "");
    return okStatus();
  }
  std::string reason;
  Errc code = Errc::unavailable;
  if (auto exit = run->exit()) {
    e.thread.join();
    // "exited with error: X" reads "exited during start with error: X", not "exited ... exited".
    const std::string_view exited = "exited ";
    const bool starts_exited = exit->reason.rfind(exited, 0) == 0;
    reason = exit->clean
                 ? "run() returned before ready()"
                 : "exited during start" + (starts_exited ? " " + exit->reason.substr(exited.size())
                                                          : ": " + exit->reason);
  } else {
    code = Errc::timeout;
    reason = fmt::format("not ready within {} ms", toMs(start_timeout_));
    const MonoTime stop_deadline = env_.clock().now() + stop_timeout_;
    run->requestStop();
    service->wake();
    if (run->waitExit(stop_deadline)) {
      e.thread.join();
    } else {
      abandonRun(e);
      reason += "; its thread did not stop and was abandoned";
    }
  }
  {
    MutexLock lock(mutex_);
    e.state = ServiceState::failed;
    e.last_exit = reason;
    e.last_error = reason;
    e.last_exit_at = env_.clock().wallNow();
    e.up_since.reset();
  }
  emit(RuntimeEventKind::start_failed, e.name, reason);
  return Status(code, reason);
}

Status ServiceManager::stopOne(Entry& e, std::string_view why) {
  std::shared_ptr<RunContext> run;
  {
    MutexLock lock(mutex_);
    if (e.state != ServiceState::running && e.state != ServiceState::starting) {
      if (e.state == ServiceState::backoff) e.state = ServiceState::stopped;
      return okStatus();
    }
    e.state = ServiceState::stopping;
    run = e.run;
  }
  const MonoTime deadline = env_.clock().now() + stop_timeout_;
  run->requestStop();
  e.service->wake();
  if (run->waitExit(deadline)) {
    if (e.thread.joinable()) e.thread.join();
    {
      MutexLock lock(mutex_);
      e.state = ServiceState::stopped;
      e.last_exit = fmt::format("stopped ({})", why);
      e.last_exit_at = env_.clock().wallNow();
      e.up_since.reset();
    }
    emit(RuntimeEventKind::stopped, e.name, std::string(why));
    return okStatus();
  }
  abandonRun(e);
  std::string reason =
      fmt::format("did not stop within {} ms; its thread was abandoned", toMs(stop_timeout_));
  {
    MutexLock lock(mutex_);
    e.state = ServiceState::failed;
    e.last_exit = reason;
    e.last_error = reason;
    e.last_exit_at = env_.clock().wallNow();
    e.up_since.reset();
  }
  emit(RuntimeEventKind::stop_timed_out, e.name, reason);
  return Status(Errc::timeout, e.name + ": " + reason);
}

void ServiceManager::abandonRun(Entry& e) {
  std::shared_ptr<RunContext> run;
  {
    MutexLock lock(mutex_);
    run = e.run;
    ++e.abandoned;
    ++abandoned_count_;
  }
  run->abandon();
  // The best chance a stuck run has to leave on its own; nobody waits for it.
  e.service->wake();
  abandoned_.push_back(Abandoned{run, std::move(e.thread), &e});
}

void ServiceManager::wakeWatchdog() {
  {
    MutexLock lock(mutex_);
    wake_pending_ = true;
  }
  cv_.notify_all();
}

void ServiceManager::startWatchdog() {
  MutexLock lifecycle(lifecycle_mutex_);
  if (watchdog_thread_.joinable() || stopped_) return;
  watchdog_thread_ = env_.spawn("seams-watchdog", [this] { watchdogLoop(); });
}

void ServiceManager::watchdogLoop() {
  for (;;) {
    // The next pass is due one interval after this one began, however long this one took.
    const MonoTime next_pass = env_.clock().now() + interval_;
    checkOnce();
    MutexLock lock(mutex_);
    if (watchdog_stop_ || escalated_) return;
    env_.waitUntil(lock.native(), cv_, next_pass, [&] {
      mutex_.assertHeld();
      return watchdog_stop_ || wake_pending_;
    });
    wake_pending_ = false;
    if (watchdog_stop_) return;
  }
}

bool ServiceManager::healthyLocked(MonoTime now) const {
  for (const Entry* e : order_) {
    switch (e->state) {
      case ServiceState::running:
        if (e->run->exit() || !watchdog_.fresh(e->run->heartbeatAge(now))) return false;
        break;
      case ServiceState::stopped:
        break;
      case ServiceState::failed:
        // Only a temporary service is left failed on purpose; anything else failed is unhealthy.
        if (e->policy != RestartPolicy::temporary) return false;
        break;
      default:
        return false;
    }
  }
  return true;
}

void ServiceManager::checkOnce() {
  struct Finding {
    Entry* entry;
    std::shared_ptr<RunContext> run;
    bool hung;
    std::string reason;
    bool clean;
    bool follows_replaced;
  };
  std::vector<Finding> findings;
  std::vector<Entry*> due;
  std::vector<Entry*> requests;
  std::vector<std::pair<Entry*, Duration>> misses;
  bool ping = false;
  {
    MutexLock lock(mutex_);
    if (!started_ || stopping_ || escalated_ || order_.empty()) return;
    const MonoTime now = env_.clock().now();
    for (Entry* e : order_) {
      if (e->state == ServiceState::running) {
        if (auto exit = e->run->exit()) {
          findings.push_back({e, e->run, false, exit->reason, exit->clean, exit->follows_replaced});
          continue;
        }
        const Duration age = e->run->heartbeatAge(now);
        switch (watchdog_.check(e->watch, age)) {
          case WatchdogFinding::hang:
            findings.push_back({e, e->run, true,
                                fmt::format("hung: no heartbeat for {} ms", toMs(age)), false,
                                false});
            break;
          case WatchdogFinding::miss:
            misses.emplace_back(e, age);
            break;
          case WatchdogFinding::none:
            break;
        }
      } else if (e->state == ServiceState::backoff && e->held_for == nullptr &&
                 now >= e->next_attempt) {
        due.push_back(e);
      }
    }
    requests.swap(restart_requests_);
    if (options_.notifier != nullptr) {
      const Duration every = options_.notifier->watchdogPingInterval();
      if (every > Duration(0) && healthyLocked(now) &&
          (!last_ping_ || now - *last_ping_ >= every)) {
        ping = true;
        last_ping_ = now;
      }
    }
  }
  for (auto& [e, age] : misses) {
    emit(RuntimeEventKind::heartbeat_missed, e->name,
         fmt::format("no heartbeat for {} ms", toMs(age)));
  }
  if (ping) options_.notifier->watchdogPing();
  if (findings.empty() && due.empty() && requests.empty()) return;

  // Acting happens here, after mutex_ was released: starting and stopping call into services.
  MutexLock lifecycle(lifecycle_mutex_);
  if (stopped_) return;
  for (Finding& f : findings) {
    {
      MutexLock lock(mutex_);
      if (f.entry->run != f.run || f.entry->state != ServiceState::running) continue;
    }
    handleEnd(*f.entry, f.hung, f.reason, f.clean, f.follows_replaced);
    if (escalated()) return;
  }
  for (Entry* e : due) {
    {
      MutexLock lock(mutex_);
      if (e->state != ServiceState::backoff || e->held_for != nullptr) continue;
    }
    restartNow(*e);
    if (escalated()) return;
  }
  for (Entry* e : requests) {
    restartLocked(*e);
    if (escalated()) return;
  }
}

void ServiceManager::handleEnd(Entry& e, bool hung, const std::string& reason, bool clean,
                               bool follows_replaced) {
  if (hung) {
    if (options_.watchdog.hang_action == HangAction::escalate) {
      emit(RuntimeEventKind::hung, e.name, reason + "; escalating");
      abandonRun(e);  // it will not stop: do not wait for it during the orderly stop
      {
        MutexLock lock(mutex_);
        e.state = ServiceState::failed;
        e.last_exit = reason;
        e.last_error = reason;
        e.last_exit_at = env_.clock().wallNow();
      }
      escalate(fmt::format("service '{}' {}", e.name, reason));
      return;
    }
    emit(RuntimeEventKind::hung, e.name, reason + "; abandoning its thread and restarting");
    abandonRun(e);
  } else {
    e.thread.join();
    emit(RuntimeEventKind::exited, e.name, reason);
  }
  const bool restart =
      e.policy == RestartPolicy::permanent || (e.policy == RestartPolicy::transient && !clean);
  {
    MutexLock lock(mutex_);
    e.last_exit = reason;
    e.last_exit_at = env_.clock().wallNow();
    if (!clean && !follows_replaced) e.last_error = reason;
    // Until a restart is scheduled (and if an escalation prevents one) it is down.
    e.state = clean ? ServiceState::stopped : ServiceState::failed;
  }
  if (restart) scheduleRestart(e, reason, /*failure=*/!follows_replaced);
}

bool ServiceManager::scheduleRestart(Entry& e, const std::string& reason, bool failure) {
  const MonoTime now = env_.clock().now();
  if (failure && intensity_.exceededAfterRestart(now)) {
    escalate(
        fmt::format("restart intensity exceeded: more than {} restarts within {} s (last: '{}' {})",
                    options_.watchdog.intensity_max_restarts, options_.watchdog.intensity_period_s,
                    e.name, reason));
    return false;
  }
  Duration delay;
  {
    MutexLock lock(mutex_);
    if (failure) {
      if (e.up_since) e.backoff.ranFor(now - *e.up_since);
      delay = e.backoff.next(env_.jitter());
    } else {
      delay = Duration(0);  // what it follows is already back: no reason to wait
    }
    e.restart_delay = delay;
    e.next_attempt = now + delay;
    e.state = ServiceState::backoff;
    e.up_since.reset();
  }
  emit(RuntimeEventKind::restart_scheduled, e.name, reason, delay);
  if (options_.notifier != nullptr) {
    options_.notifier->status(
        fmt::format("restarting {} in {} ms: {}", e.name, toMs(delay), reason));
  }
  if (options_.watchdog.strategy == RestartStrategy::rest_for_one) {
    std::vector<Entry*> dependents = dependentsOf(e);
    for (auto it = dependents.rbegin(); it != dependents.rend(); ++it) {
      (void)stopOne(**it, "restarting with " + e.name);
      MutexLock lock(mutex_);
      if ((*it)->state == ServiceState::stopped || (*it)->state == ServiceState::backoff) {
        (*it)->state = ServiceState::backoff;
        (*it)->held_for = &e;
        (*it)->restart_delay = delay;
      }
    }
  }
  return true;
}

void ServiceManager::restartNow(Entry& e) {
  {
    MutexLock lock(mutex_);
    ++e.restarts;
  }
  Status st = startOne(e);
  if (!st.ok()) {
    (void)scheduleRestart(e, "restart failed: " + st.message());
    return;
  }
  if (options_.notifier != nullptr) options_.notifier->status("restarted " + e.name);
  restartHeldDependents(e);
}

void ServiceManager::restartHeldDependents(Entry& e) {
  for (Entry* d : dependentsOf(e)) {
    {
      MutexLock lock(mutex_);
      if (d->held_for == nullptr) continue;
      bool deps_up = std::all_of(d->deps.begin(), d->deps.end(),
                                 [](const Entry* x) { return x->state == ServiceState::running; });
      if (!deps_up) continue;
      d->held_for = nullptr;
      ++d->restarts;
    }
    Status st = startOne(*d);
    if (!st.ok()) {
      if (!scheduleRestart(*d, "restart failed: " + st.message())) return;
    }
  }
}

void ServiceManager::restartLocked(Entry& e) {
  if (options_.watchdog.strategy == RestartStrategy::rest_for_one) {
    std::vector<Entry*> dependents = dependentsOf(e);
    for (auto it = dependents.rbegin(); it != dependents.rend(); ++it) {
      (void)stopOne(**it, "restarting with " + e.name);
      MutexLock lock(mutex_);
      if ((*it)->state == ServiceState::stopped) {
        (*it)->state = ServiceState::backoff;
        (*it)->held_for = &e;
      }
    }
  }
  (void)stopOne(e, "restart requested");
  restartNow(e);
}

Status ServiceManager::restart(std::string_view name) {
  Entry* e = find(name);
  if (e == nullptr) return Status(Errc::not_found, fmt::format("no service named '{}'", name));
  MutexLock lifecycle(lifecycle_mutex_);
  {
    MutexLock lock(mutex_);
    if (!started_ || stopping_ || escalated_) {
      return Status(Errc::unavailable, "the service manager is not running");
    }
  }
  restartLocked(*e);
  MutexLock lock(mutex_);
  if (e->state == ServiceState::running) return okStatus();
  return Status(Errc::unavailable,
                fmt::format("service '{}' did not come back: {}", e->name, e->last_error));
}

Status ServiceManager::requestRestart(std::string_view name) {
  Entry* e = find(name);
  if (e == nullptr) return Status(Errc::not_found, fmt::format("no service named '{}'", name));
  {
    MutexLock lock(mutex_);
    if (!started_ || stopping_ || escalated_) {
      return Status(Errc::unavailable, "the service manager is not running");
    }
    restart_requests_.push_back(e);
    wake_pending_ = true;
  }
  cv_.notify_all();
  return okStatus();
}

Status ServiceManager::injectFault(std::string_view name, FaultKind kind) {
  Entry* e = find(name);
  if (e == nullptr) return Status(Errc::not_found, fmt::format("no service named '{}'", name));
  if (!e->accepts_faults) {
    return Status(Errc::not_supported,
                  fmt::format("service '{}' does not take injected faults", e->name));
  }
  MutexLock lock(mutex_);
  if (e->state != ServiceState::running) {
    return Status(Errc::unavailable, fmt::format("service '{}' is not running (it is {})", e->name,
                                                 serviceStateName(e->state)));
  }
  e->run->setFault(kind);
  return okStatus();
}

void ServiceManager::escalate(const std::string& reason) {
  {
    MutexLock lock(mutex_);
    escalated_ = true;
    stop_requested_ = true;
    exit_code_ = kEscalationExitCode;
  }
  cv_.notify_all();
  emit(RuntimeEventKind::escalated, "", reason);
  if (options_.notifier != nullptr) options_.notifier->status("escalating: " + reason);
  (void)stopAllLocked();
  if (options_.exit_process) {
    options_.exit_process(kEscalationExitCode);
  } else {
    std::fflush(nullptr);
    std::_Exit(kEscalationExitCode);
  }
}

Status ServiceManager::stopAllLocked() {
  if (stopped_) return okStatus();
  {
    MutexLock lock(mutex_);
    stopping_ = true;
    if (!started_) {
      stopped_ = true;
      return okStatus();
    }
  }
  if (options_.notifier != nullptr) options_.notifier->stopping();
  std::vector<std::string> timed_out;
  for (auto it = order_.rbegin(); it != order_.rend(); ++it) {
    Status st = stopOne(**it, "shutdown");
    if (!st.ok()) timed_out.push_back((*it)->name);
  }
  stopped_ = true;
  if (timed_out.empty()) return okStatus();
  return Status(Errc::timeout, fmt::format("did not stop in time (threads abandoned): {}",
                                           fmt::join(timed_out, ", ")));
}

Status ServiceManager::shutdown() {
  {
    MutexLock lock(mutex_);
    watchdog_stop_ = true;
  }
  cv_.notify_all();
  if (watchdog_thread_.joinable() && watchdog_thread_.get_id() != std::this_thread::get_id()) {
    watchdog_thread_.join();
  }
  MutexLock lifecycle(lifecycle_mutex_);
  return stopAllLocked();
}

void ServiceManager::requestStop(int exit_code) {
  {
    MutexLock lock(mutex_);
    if (!stop_requested_) exit_code_ = exit_code;
    stop_requested_ = true;
  }
  cv_.notify_all();
}

int ServiceManager::waitForStopRequest() {
  MutexLock lock(mutex_);
  cv_.wait(lock.native(), [&] {
    mutex_.assertHeld();
    return stop_requested_;
  });
  return exit_code_;
}

std::vector<ServiceStatus> ServiceManager::status() const {
  MutexLock lock(mutex_);
  const MonoTime now = env_.clock().now();
  std::vector<ServiceStatus> rows;
  std::vector<const Entry*> entries;
  if (!order_.empty()) {
    entries.assign(order_.begin(), order_.end());
  } else {
    for (const auto& e : entries_) entries.push_back(e.get());
  }
  for (const Entry* e : entries) {
    ServiceStatus s;
    s.name = e->name;
    s.dependencies = e->dep_names;
    s.policy = e->policy;
    s.state = e->state;
    s.restarts = e->restarts;
    s.last_exit = e->last_exit;
    s.last_exit_at = e->last_exit_at;
    s.last_error = e->last_error;
    if (e->state == ServiceState::running) s.heartbeat_age = e->run->heartbeatAge(now);
    if (e->state == ServiceState::backoff) {
      s.restart_delay = e->restart_delay;
      s.waiting_for_dependency = e->held_for != nullptr;
    }
    s.abandoned_threads = e->abandoned;
    s.fault_pending = e->run != nullptr && e->run->faultPending();
    rows.push_back(std::move(s));
  }
  return rows;
}

bool ServiceManager::healthy() const {
  MutexLock lock(mutex_);
  return started_ && !stopping_ && healthyLocked(env_.clock().now());
}

std::vector<std::string> ServiceManager::startOrder() const {
  MutexLock lock(mutex_);
  std::vector<std::string> names;
  for (const Entry* e : order_) names.push_back(e->name);
  return names;
}

std::uint32_t ServiceManager::abandonedThreads() const {
  MutexLock lock(mutex_);
  return abandoned_count_;
}

bool ServiceManager::escalated() const {
  MutexLock lock(mutex_);
  return escalated_;
}

}  // namespace seams
