// Test services and helpers for the runtime tests. Everything runs on SimulatedEnv: tests move the
// clock, then wait on conditions (with a generous real-time bound, since real threads are
// involved).
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "core/runtime/env.h"
#include "core/runtime/service.h"
#include "core/runtime/service_manager.h"

namespace seams::testing {

using namespace std::chrono_literals;

// A shared, thread-safe log of what services did, in order: "start a", "stop a", ...
class Probe {
 public:
  void record(std::string line) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      lines_.push_back(std::move(line));
    }
    cv_.notify_all();
  }
  std::vector<std::string> lines() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return lines_;
  }
  void clear() {
    std::lock_guard<std::mutex> lock(mutex_);
    lines_.clear();
  }
  int count(const std::string& line) const {
    std::lock_guard<std::mutex> lock(mutex_);
    return static_cast<int>(std::count(lines_.begin(), lines_.end(), line));
  }
  // Waits until `line` has been recorded at least `times` times.
  bool awaitLine(const std::string& line, int times = 1) {
    std::unique_lock<std::mutex> lock(mutex_);
    return cv_.wait_for(lock, 20s,
                        [&] { return std::count(lines_.begin(), lines_.end(), line) >= times; });
  }

 private:
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<std::string> lines_;
};

// A service whose run() is a lambda; by default it records "start NAME", becomes ready, idles
// until stopped and records "stop NAME".
class FnService final : public Service {
 public:
  using Body = std::function<Status(RunContext&)>;
  FnService(std::string name, std::vector<std::string> deps, Body body)
      : name_(std::move(name)), deps_(std::move(deps)), body_(std::move(body)) {}

  std::string name() const override { return name_; }
  std::vector<std::string> dependencies() const override { return deps_; }
  Status run(RunContext& ctx) override { return body_(ctx); }
  void wake() override {
    if (on_wake) on_wake();
  }
  bool acceptsFaults() const override { return accepts_faults; }

  std::function<void()> on_wake;
  bool accepts_faults = true;

 private:
  std::string name_;
  std::vector<std::string> deps_;
  Body body_;
};

inline FnService::Body idleBody(Probe& probe, const std::string& name) {
  return [&probe, name](RunContext& ctx) {
    probe.record("start " + name);
    ctx.ready();
    ctx.idleUntilStopped();
    probe.record("stop " + name);
    return okStatus();
  };
}

inline std::unique_ptr<FnService> idleService(Probe& probe, const std::string& name,
                                              std::vector<std::string> deps = {}) {
  return std::make_unique<FnService>(name, std::move(deps), idleBody(probe, name));
}

// Watchdog settings for tests: generous heartbeat deadlines (so moving the clock far does not look
// like a hang unless a test wants one), no jitter, a high intensity limit.
inline WatchdogConfig testWatchdogConfig() {
  WatchdogConfig c;
  c.interval_ms = 10;
  c.heartbeat_deadline_ms = 3600'000;
  c.kill_deadline_ms = 7200'000;
  c.start_timeout_ms = 1000;
  c.stop_timeout_ms = 1000;
  c.backoff_initial_ms = 100;
  c.backoff_max_ms = 1000;
  c.backoff_jitter = 0.0;
  c.backoff_reset_after_ms = 30'000;
  c.intensity_max_restarts = 100;
  c.intensity_period_s = 30;
  return c;
}

// Records every runtime event, thread-safely.
class EventLog {
 public:
  std::function<void(const RuntimeEvent&)> hook() {
    return [this](const RuntimeEvent& e) {
      {
        std::lock_guard<std::mutex> lock(mutex_);
        events_.push_back(e);
      }
      cv_.notify_all();
    };
  }
  // Waits until an event of `kind` for `service` has happened (bounded in real time).
  bool await(RuntimeEventKind kind, const std::string& service) {
    std::unique_lock<std::mutex> lock(mutex_);
    return cv_.wait_for(lock, std::chrono::seconds(20), [&] {
      for (const auto& e : events_) {
        if (e.kind == kind && e.service == service) return true;
      }
      return false;
    });
  }
  std::vector<RuntimeEvent> of(RuntimeEventKind kind) const {
    std::lock_guard<std::mutex> lock(mutex_);
    std::vector<RuntimeEvent> out;
    for (const auto& e : events_) {
      if (e.kind == kind) out.push_back(e);
    }
    return out;
  }
  std::vector<Duration> restartDelays(const std::string& service) const {
    std::vector<Duration> out;
    for (const auto& e : of(RuntimeEventKind::restart_scheduled)) {
      if (e.service == service) out.push_back(e.delay);
    }
    return out;
  }

 private:
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<RuntimeEvent> events_;
};

inline std::optional<ServiceStatus> statusOf(const ServiceManager& m, const std::string& name) {
  for (auto& s : m.status()) {
    if (s.name == name) return s;
  }
  return std::nullopt;
}

inline ServiceState stateOf(const ServiceManager& m, const std::string& name) {
  return statusOf(m, name)->state;
}

// Runs watchdog passes until `pred` holds: for effects that need a service thread to get somewhere
// (a crash unwinding, say) without moving the clock. Bounded in real time.
inline bool settle(ServiceManager& m, const std::function<bool()>& pred) {
  const auto give_up = std::chrono::steady_clock::now() + 20s;
  std::mutex mu;
  std::condition_variable cv;
  while (std::chrono::steady_clock::now() < give_up) {
    m.checkOnce();
    if (pred()) return true;
    std::unique_lock<std::mutex> lock(mu);
    cv.wait_for(lock, 1ms);
  }
  return false;
}

}  // namespace seams::testing
