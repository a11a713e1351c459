#include "core/runtime/env.h"

#include <pthread.h>

#include <string>

namespace seams {
namespace {

void nameThread(std::thread& t, std::string_view name) {
  std::string short_name(name.substr(0, 15));  // the kernel's limit for a thread name
  pthread_setname_np(t.native_handle(), short_name.c_str());
}

}  // namespace

SystemEnv::SystemEnv() : rng_(std::random_device{}()) {}

bool SystemEnv::waitUntil(std::unique_lock<std::mutex>& lock, std::condition_variable& cv,
                          MonoTime deadline, const std::function<bool()>& pred) {
  return cv.wait_until(lock, deadline, pred);
}

std::thread SystemEnv::spawn(std::string_view name, std::function<void()> body) {
  std::thread t(std::move(body));
  nameThread(t, name);
  return t;
}

double SystemEnv::jitter() {
  MutexLock lock(rng_mutex_);
  return std::uniform_real_distribution<double>(-1.0, 1.0)(rng_);
}

bool SimulatedEnv::waitUntil(std::unique_lock<std::mutex>& lock, std::condition_variable& cv,
                             MonoTime deadline, const std::function<bool()>& pred) {
  if (pred()) return true;
  const MonoTime start = clock_.now();
  if (start >= deadline) return false;
  {
    // Lock order: the caller's mutex, then mutex_ (mutex_ is never held while taking another).
    MutexLock guard(mutex_);
    ++timed_waiters_;
    timeouts_seen_.push_back(deadline - start);
  }
  waiters_cv_.notify_all();
  bool result = false;
  for (;;) {
    if (pred()) {
      result = true;
      break;
    }
    if (clock_.now() >= deadline) break;
    // The clock is not a condition anyone notifies, so re-read it every millisecond.
    cv.wait_for(lock, std::chrono::milliseconds(1));
  }
  {
    MutexLock guard(mutex_);
    --timed_waiters_;
  }
  return result;
}

std::thread SimulatedEnv::spawn(std::string_view name, std::function<void()> body) {
  {
    MutexLock guard(mutex_);
    ++threads_spawned_;
  }
  std::thread t(std::move(body));
  nameThread(t, name);
  return t;
}

double SimulatedEnv::jitter() {
  MutexLock guard(mutex_);
  return jitter_;
}

void SimulatedEnv::setJitter(double value) {
  MutexLock guard(mutex_);
  jitter_ = value;
}

void SimulatedEnv::awaitTimedWaiters(int n) {
  MutexLock lock(mutex_);
  waiters_cv_.wait(lock.native(), [&] {
    mutex_.assertHeld();
    return timed_waiters_ >= n;
  });
}

int SimulatedEnv::threadsSpawned() const {
  MutexLock guard(mutex_);
  return threads_spawned_;
}

std::vector<Duration> SimulatedEnv::timeoutsSeen() const {
  MutexLock guard(mutex_);
  return timeouts_seen_;
}

}  // namespace seams
